package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/node"
)

// TestPassphraseChangeAtTerminal: `hearth passphrase` asks for the current
// passphrase, then the new one twice; afterwards only the new one opens
// the home, the keys inside are the same (so the peer ID is), and
// Argon2id parameters stronger than this build's are kept, never lowered.
func TestPassphraseChangeAtTerminal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home")
	strong := crypto.KDFParams{Time: 2, MemoryKiB: 128, Threads: 2}
	if err := node.InitHome(dir, []byte("old passphrase here"), strong, nil); err != nil {
		t.Fatal(err)
	}
	before := devicePublic(t, dir, "old passphrase here")

	e, stdout, stderr := testEnv(nil)
	ft := &fakeTerminal{answers: []string{"old passphrase here", "new passphrase here", "new passphrase here"}}
	e.terminal = ft
	if code := run(context.Background(), e, []string{"passphrase", "--home", dir}); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if len(ft.prompts) != 3 || !strings.Contains(ft.prompts[0], "Passphrase for "+dir) ||
		!strings.Contains(ft.prompts[1], "New passphrase for "+dir) || !strings.Contains(ft.prompts[2], "again") {
		t.Fatalf("prompts %q", ft.prompts)
	}
	if !strings.HasPrefix(stdout.String(), "Changed. From now on the new passphrase opens "+dir) {
		t.Fatalf("stdout %q", stdout)
	}
	if _, err := node.UnlockHome(dir, []byte("old passphrase here")); !errors.Is(err, crypto.ErrBadPassphrase) {
		t.Fatalf("the old passphrase after the change: %v", err)
	}
	ks, err := node.UnlockHome(dir, []byte("new passphrase here"))
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	if got := ks.Params(); got != strong {
		t.Errorf("parameters after the change %+v, want the stronger %+v kept", got, strong)
	}
	if after := devicePublic(t, dir, "new passphrase here"); after != before {
		t.Error("the device key changed with the passphrase")
	}
}

// TestPassphraseChangeRefusals: a wrong current passphrase, a short or
// mistyped new one, or a directory with no home change nothing.
func TestPassphraseChangeRefusals(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home")
	if err := node.InitHome(dir, []byte("old passphrase here"), testKDF(), nil); err != nil {
		t.Fatal(err)
	}
	keystore, err := os.ReadFile(filepath.Join(dir, homeKeystoreName))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		answers []string
		code    int
		want    string
	}{
		{"wrong current", []string{"not the passphrase"}, exitError, "that is not the passphrase of " + dir + "; nothing was changed"},
		{"short new", []string{"old passphrase here", "short"}, exitError, "that passphrase is 5 characters long, and a new passphrase must have at least 10; nothing was changed"},
		{"mismatch", []string{"old passphrase here", "new passphrase here", "new passphrase herE"}, exitError, "the two passphrases differ; nothing was changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _, stderr := testEnv(nil)
			e.terminal = &fakeTerminal{answers: tc.answers}
			if code := run(context.Background(), e, []string{"passphrase", "--home", dir}); code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, stderr)
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr %q, want %q", stderr, tc.want)
			}
			now, err := os.ReadFile(filepath.Join(dir, homeKeystoreName))
			if err != nil || string(now) != string(keystore) {
				t.Fatalf("the keystore file changed (%v)", err)
			}
		})
	}

	e, _, stderr := testEnv(nil)
	empty := t.TempDir()
	if code := run(context.Background(), e, []string{"passphrase", "--home", empty}); code != exitError ||
		!strings.Contains(stderr.String(), "there is no Hearth home in "+empty) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(empty, lockFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a directory with no home got a lock file: %v", err)
	}
}

// devicePublic returns the public device key of the home in dir.
func devicePublic(t *testing.T, dir, pass string) string {
	t.Helper()
	ks, err := node.UnlockHome(dir, []byte(pass))
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	return string(ks.DeviceKey().PublicKey())
}
