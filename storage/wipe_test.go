package storage

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

// TestShredKeysMakesEveryCopyUnreadable copies the store directory between
// the two steps of a wipe, as a backup or a forensic image taken at that
// moment would: the copy does not open even with the right keys, while a
// copy taken before shredding does.
func TestShredKeysMakesEveryCopyUnreadable(t *testing.T) {
	dir := storeWithData(t)
	tmp := t.TempDir()
	before := filepath.Join(tmp, "before")
	copyDir(t, dir, before)
	registry, _ := os.ReadFile(filepath.Join(dir, badger.KeyRegistryFileName))

	if err := ShredKeys(dir); err != nil {
		t.Fatal(err)
	}
	after := filepath.Join(tmp, "after")
	copyDir(t, dir, after)
	if err := RemoveFiles(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("RemoveFiles left the directory: %v", err)
	}

	shredded, _ := os.ReadFile(filepath.Join(after, badger.KeyRegistryFileName))
	if len(shredded) != len(registry) || bytes.Equal(shredded, registry) {
		t.Fatalf("key registry not overwritten in place (%d bytes, was %d)", len(shredded), len(registry))
	}
	if _, err := Open(after, testKeys(1), Options{}); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Open of the shredded copy = %v, want ErrWrongKey", err)
	}
	s, err := Open(before, testKeys(1), Options{})
	if err != nil {
		t.Fatalf("the copy taken before shredding does not open: %v", err)
	}
	if _, err := s.Get(KindGroup, testGroup, nil); err != nil {
		t.Fatalf("the copy taken before shredding lost data: %v", err)
	}
	mustClose(t, s)
}

func TestStoreWipe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s")
	s := openNew(t, dir)
	putEnvelopes(t, s, testGroup, 0, 0, 10)
	if err := s.Wipe(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Wipe left the directory: %v", err)
	}
	if _, err := s.GetEnvelope(testGroup, EnvelopeID{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("store usable after Wipe: %v", err)
	}
	if err := ShredKeys(dir); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ShredKeys of a removed store = %v, want ErrNotFound", err)
	}
	if err := RemoveFiles(dir); err != nil {
		t.Fatalf("RemoveFiles of a removed store = %v, want nil", err)
	}
}
