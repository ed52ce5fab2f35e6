package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// testEnv returns an env with empty buffers for output, the environment in
// vars, no terminal, and the cheap test key derivation.
func testEnv(vars map[string]string) (*env, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	return &env{
		stdout: &stdout,
		stderr: &stderr,
		getenv: func(k string) string { return vars[k] },
		now:    func() time.Time { return time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) },
		kdf:    testKDF(),
	}, &stdout, &stderr
}

// fakeTerminal answers passphrase prompts from a list, recording the prompts.
type fakeTerminal struct {
	answers []string
	prompts []string
}

func (f *fakeTerminal) readPassword(ctx context.Context, prompt string) ([]byte, error) {
	f.prompts = append(f.prompts, prompt)
	if len(f.answers) == 0 {
		return nil, errors.New("no more answers")
	}
	a := f.answers[0]
	f.answers = f.answers[1:]
	return []byte(a), nil
}

// wantUsage fails t unless err is a usage error (exit code 2).
func wantUsage(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if exitCode(err) != exitUsage {
		t.Fatalf("error %q exits with %d, want %d (usage)", err, exitCode(err), exitUsage)
	}
}

// dirExists reports whether path exists and is a directory.
func dirExists(path string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	return fi.IsDir(), nil
}
