package main

import (
	"errors"
	"testing"
)

func TestOneLine(t *testing.T) {
	if oneLine(nil, nil) != nil {
		t.Fatal("no errors did not give nil")
	}
	a, b := errors.New("api failed"), usagef("bad flag")
	err := oneLine(a, nil, b)
	if err.Error() != "api failed; bad flag" {
		t.Fatalf("message %q", err)
	}
	if !errors.Is(err, a) || exitCode(err) != exitUsage {
		t.Fatal("joined error does not wrap its parts")
	}
}
