package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearthnet/hearth/api"
)

func writePassFile(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPassphraseFileFirstLine(t *testing.T) {
	for content, want := range map[string]string{
		"correct horse\n":                  "correct horse",
		"correct horse":                    "correct horse",
		"correct horse\r\n":                "correct horse",
		"correct horse\nsecond\n":          "correct horse",
		" spaces kept \n":                  " spaces kept ",
		"ünïcödé pässphrase\n":             "ünïcödé pässphrase",
		"trailing tab\t\n":                 "trailing tab\t",
		"line one is long\r\nline two\r\n": "line one is long",
	} {
		e, _, stderr := testEnv(nil)
		path := writePassFile(t, content, 0o600)
		got, err := getPassphrase(context.Background(), e, passphraseSource{flagFile: path}, "/h", true)
		if err != nil {
			t.Fatalf("%q: %v", content, err)
		}
		if string(got) != want {
			t.Errorf("%q: passphrase %q, want %q", content, got, want)
		}
		if stderr.Len() != 0 {
			t.Errorf("%q: unexpected stderr %q for a 0600 file", content, stderr)
		}
	}
}

func TestPassphraseFileFromEnvironment(t *testing.T) {
	path := writePassFile(t, "from env\n", 0o600)
	e, _, _ := testEnv(map[string]string{"HEARTH_PASSPHRASE_FILE": path})
	got, err := getPassphrase(context.Background(), e, passphraseSource{}, "/h", false)
	if err != nil || string(got) != "from env" {
		t.Fatalf("got %q, %v", got, err)
	}
	// The flag wins over the environment.
	flagPath := writePassFile(t, "from flag\n", 0o600)
	got, err = getPassphrase(context.Background(), e, passphraseSource{flagFile: flagPath}, "/h", false)
	if err != nil || string(got) != "from flag" {
		t.Fatalf("with flag: got %q, %v", got, err)
	}
}

func TestPassphraseFileRefusesEmpty(t *testing.T) {
	for _, content := range []string{"", "\n", "\r\n", "\nsecond line"} {
		e, _, _ := testEnv(nil)
		path := writePassFile(t, content, 0o600)
		_, err := getPassphrase(context.Background(), e, passphraseSource{flagFile: path}, "/h", false)
		wantUsage(t, err)
		if !strings.Contains(err.Error(), "empty line") {
			t.Errorf("%q: error %q does not say the line is empty", content, err)
		}
	}
}

func TestPassphraseFileWarnsWhenReadableByOthers(t *testing.T) {
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604} {
		e, _, stderr := testEnv(nil)
		path := writePassFile(t, "secret\n", mode)
		if _, err := getPassphrase(context.Background(), e, passphraseSource{flagFile: path}, "/h", false); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(stderr.String(), "warning: other users can read the passphrase file") ||
			!strings.Contains(stderr.String(), "chmod 600") {
			t.Errorf("mode %04o: stderr %q has no warning", mode, stderr)
		}
		if strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("mode %04o: warning is not one line: %q", mode, stderr)
		}
	}
}

func TestPassphraseFileMissing(t *testing.T) {
	e, _, _ := testEnv(nil)
	_, err := getPassphrase(context.Background(), e, passphraseSource{flagFile: filepath.Join(t.TempDir(), "nope")}, "/h", false)
	wantUsage(t, err)
	if !strings.Contains(err.Error(), "--passphrase-file") {
		t.Fatalf("error %q does not say where the file name came from", err)
	}
}

func TestPassphraseFileTooLarge(t *testing.T) {
	e, _, _ := testEnv(nil)
	path := writePassFile(t, strings.Repeat("x", maxPassphraseFile+1), 0o600)
	_, err := getPassphrase(context.Background(), e, passphraseSource{flagFile: path}, "/h", false)
	wantUsage(t, err)
}

func TestPassphraseNoFileNoTerminal(t *testing.T) {
	e, _, _ := testEnv(nil)
	_, err := getPassphrase(context.Background(), e, passphraseSource{}, "/h", true)
	wantUsage(t, err)
	for _, want := range []string{"--passphrase-file", "HEARTH_PASSPHRASE_FILE", "not a terminal"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestPassphrasePromptNewAsksTwice(t *testing.T) {
	e, _, _ := testEnv(nil)
	ft := &fakeTerminal{answers: []string{"same words", "same words"}}
	e.terminal = ft
	got, err := getPassphrase(context.Background(), e, passphraseSource{}, "/h", true)
	if err != nil || string(got) != "same words" {
		t.Fatalf("got %q, %v", got, err)
	}
	if len(ft.prompts) != 2 || !strings.Contains(ft.prompts[0], "new Hearth home /h") || !strings.Contains(ft.prompts[1], "again") {
		t.Fatalf("prompts %q", ft.prompts)
	}
}

func TestPassphrasePromptNewMismatch(t *testing.T) {
	e, _, _ := testEnv(nil)
	e.terminal = &fakeTerminal{answers: []string{"one long thing", "another long thing"}}
	_, err := getPassphrase(context.Background(), e, passphraseSource{}, "/h", true)
	if err == nil || !strings.Contains(err.Error(), "the two passphrases differ") {
		t.Fatalf("mismatch: %v", err)
	}
}

func TestPassphrasePromptExistingAsksOnce(t *testing.T) {
	e, _, _ := testEnv(nil)
	ft := &fakeTerminal{answers: []string{"open sesame"}}
	e.terminal = ft
	got, err := getPassphrase(context.Background(), e, passphraseSource{}, "/h", false)
	if err != nil || string(got) != "open sesame" || len(ft.prompts) != 1 {
		t.Fatalf("got %q, %v after prompts %q", got, err, ft.prompts)
	}
}

func TestPassphrasePromptEmpty(t *testing.T) {
	for _, isNew := range []bool{true, false} {
		e, _, _ := testEnv(nil)
		e.terminal = &fakeTerminal{answers: []string{"", ""}}
		_, err := getPassphrase(context.Background(), e, passphraseSource{}, "/h", isNew)
		if err == nil || !strings.Contains(err.Error(), "empty") {
			t.Fatalf("new=%v: empty passphrase gave %v", isNew, err)
		}
	}
}

func TestPassphraseFileBeatsTerminal(t *testing.T) {
	e, _, _ := testEnv(nil)
	ft := &fakeTerminal{answers: []string{"typed"}}
	e.terminal = ft
	path := writePassFile(t, "filed\n", 0o600)
	got, err := getPassphrase(context.Background(), e, passphraseSource{flagFile: path}, "/h", false)
	if err != nil || string(got) != "filed" || len(ft.prompts) != 0 {
		t.Fatalf("got %q, %v, prompts %q", got, err, ft.prompts)
	}
}

// TestPassphraseMinimumForNewHomes: a new home's passphrase, from a file or
// the terminal, must have at least api.MinPassphraseLen characters (not
// bytes), as in the web UI's setup; a home that exists opens with any.
func TestPassphraseMinimumForNewHomes(t *testing.T) {
	short := strings.Repeat("ä", api.MinPassphraseLen-1) // more bytes than the minimum, fewer characters
	long := strings.Repeat("ä", api.MinPassphraseLen)

	e, _, _ := testEnv(nil)
	_, err := getPassphrase(context.Background(), e, passphraseSource{flagFile: writePassFile(t, short+"\n", 0o600)}, "/h", true)
	wantUsage(t, err)
	if want := fmt.Sprintf("is %d characters long, and a new home's passphrase must have at least %d", api.MinPassphraseLen-1, api.MinPassphraseLen); !strings.Contains(err.Error(), want) {
		t.Errorf("file: error %q does not say %q", err, want)
	}
	if got, err := getPassphrase(context.Background(), e, passphraseSource{flagFile: writePassFile(t, long+"\n", 0o600)}, "/h", true); err != nil || string(got) != long {
		t.Errorf("file with %d characters: %q, %v", api.MinPassphraseLen, got, err)
	}
	// Unlocking a home that exists: the passphrase is whatever it is.
	if got, err := getPassphrase(context.Background(), e, passphraseSource{flagFile: writePassFile(t, "x\n", 0o600)}, "/h", false); err != nil || string(got) != "x" {
		t.Errorf("unlocking with a short passphrase from a file: %q, %v", got, err)
	}

	ft := &fakeTerminal{answers: []string{short, short}}
	e.terminal = ft
	_, err = getPassphrase(context.Background(), e, passphraseSource{}, "/h", true)
	if err == nil || !strings.Contains(err.Error(), "must have at least") || exitCode(err) != exitError {
		t.Errorf("terminal: %v", err)
	}
	if len(ft.prompts) != 1 {
		t.Errorf("a too short passphrase was asked for again: prompts %q", ft.prompts)
	}
	e.terminal = &fakeTerminal{answers: []string{"x"}}
	if got, err := getPassphrase(context.Background(), e, passphraseSource{}, "/h", false); err != nil || string(got) != "x" {
		t.Errorf("unlocking with a short passphrase at the terminal: %q, %v", got, err)
	}
}
