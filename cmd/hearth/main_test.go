package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary act as the hearth command inside scripts, so
// the scripts exercise the real argument parsing, output and exit codes.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"hearth": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs every script in testdata/script. Each script is a small
// session at a terminal: the commands a person types and what they must see.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata/script"})
}
