package node

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/storage"
)

// copyHome copies dir to a fresh directory, as someone seizing the device
// would, and returns the copy.
func copyHome(t *testing.T, dir string) string {
	t.Helper()
	cp := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command("cp", "-a", dir, cp).CombinedOutput(); err != nil {
		t.Fatalf("copying %s: %v %s", dir, err, out)
	}
	return cp
}

// homeOpens reports whether a copy of a home opens: its keystore with the
// passphrase, and its store with the storage keys the member had.
func homeOpens(t *testing.T, dir string, keys crypto.StorageKeys) (keystore, store error) {
	t.Helper()
	if ks, err := UnlockHome(dir, []byte("pass")); err == nil {
		ks.Close()
	} else {
		keystore = err
	}
	st, err := storage.Open(filepath.Join(dir, storeDir), keys, storage.Options{})
	if err == nil {
		st.Close()
	}
	return keystore, err
}

// TestWipeHomeKeysFirst stops the wipe between its two steps, inside
// WipeHome's own sequence (the hook wipeHome calls there), copies the
// directory, and shows the copy cannot be opened even with the passphrase
// and even with the store keys the member had; the wipe then finishes and
// the directory is gone. A copy taken before the wipe opens, so the checks
// can tell; and were the steps reordered (files first, or keys after the
// hook), the copy would fail or open, and so would the test.
func TestWipeHomeKeysFirst(t *testing.T) {
	tn := newTestNode(t)
	p := tn.Private()
	if _, err := p.AddJournal(JournalNote, "wipe me", nil); err != nil {
		t.Fatal(err)
	}
	// While the node runs, the wipe refuses and destroys nothing.
	called := false
	if err := wipeHome(tn.dir, func() { called = true }); !errors.Is(err, storage.ErrLocked) {
		t.Fatalf("wipe of an open home: %v", err)
	}
	if called {
		t.Fatal("a refused wipe went on to its second step")
	}
	keys := crypto.DeriveStorageKeys(tn.ks.StorageRoot())
	defer keys.Wipe()
	tn.stop()

	before := copyHome(t, tn.dir)
	if ksErr, stErr := homeOpens(t, before, keys); ksErr != nil || stErr != nil {
		t.Fatalf("a copy taken before the wipe does not open (keystore %v, store %v): the checks below would prove nothing", ksErr, stErr)
	}

	var during string
	if err := wipeHome(tn.dir, func() { during = copyHome(t, tn.dir) }); err != nil {
		t.Fatal(err)
	}
	if during == "" {
		t.Fatal("the wipe never called its hook")
	}
	ksErr, stErr := homeOpens(t, during, keys)
	if ksErr == nil {
		t.Error("the keystore in the copy taken mid-wipe still opens with the passphrase")
	}
	if !errors.Is(stErr, storage.ErrWrongKey) {
		t.Errorf("the store in the copy taken mid-wipe, with the member's own keys: %v, want ErrWrongKey", stErr)
	}
	if _, err := os.Stat(tn.dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("home still there after the wipe: %v", err)
	}
	if err := WipeHome(tn.dir); !errors.Is(err, ErrNoHome) {
		t.Fatalf("wiping nothing: %v", err)
	}
}

func TestWipeHomeWhole(t *testing.T) {
	tn := newTestNode(t)
	tn.stop()
	if err := WipeHome(tn.dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tn.dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("home still there: %v", err)
	}
}
