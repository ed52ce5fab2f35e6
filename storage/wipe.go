package storage

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	badger "github.com/dgraph-io/badger/v4"
)

// Crypto-shredding. Everything Badger writes (tables, value logs, memtable
// logs) is encrypted under data keys that exist in one place only: the
// KEYREGISTRY file, itself encrypted under the Badger key. Destroying that
// file makes every other file unreadable at once, even to someone who has
// the passphrase and the keystore, however long the rest takes to delete
// and whatever copies of it exist.

// ShredKeys destroys the key material of the closed store in dir: it
// overwrites the key registry (and a registry rewrite left by a crash) with
// random bytes of the same length and flushes them to the device. After it
// returns, the directory cannot be opened with any key (Open reports
// ErrWrongKey). It returns ErrNotFound when dir holds no key registry,
// ErrLocked when the store is open, and the file system's error otherwise.
//
// On flash storage and copy-on-write file systems an overwrite may land on
// new blocks while the old ones linger until reused; what then protects the
// old registry is its encryption under the Badger key, which exists only in
// the passphrase-sealed keystore: wipe the keystore too.
func ShredKeys(dir string) error {
	if err := probeLock(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("storage: no store in %s: %w", dir, ErrNotFound)
		}
		return err
	}
	shredded := 0
	for _, name := range []string{badger.KeyRegistryFileName, badger.KeyRegistryRewriteFileName} {
		err := ShredFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("storage: shredding %s: %w", name, err)
		}
		shredded++
	}
	if shredded == 0 {
		return fmt.Errorf("storage: no key registry in %s: %w", dir, ErrNotFound)
	}
	return nil
}

// ShredFile replaces the contents of path, in place, with random bytes of
// the same length, and syncs them to the device. Hearth uses it on small
// files that hold key material (Badger's key registry, the keystore) before
// removing them. On flash and copy-on-write file systems the old blocks may
// survive until the device reuses them; that is why what these files hold
// is itself sealed (under the Badger master key, or the passphrase).
func ShredFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	junk := make([]byte, fi.Size())
	if _, err := rand.Read(junk); err != nil {
		return err
	}
	if _, err := f.WriteAt(junk, 0); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// RemoveFiles deletes the store directory dir and everything in it. Run
// ShredKeys first: removal alone leaves the files' blocks on the device,
// encrypted under keys that still exist. It returns ErrLocked when the store
// is open; a missing directory is not an error.
func RemoveFiles(dir string) error {
	if err := probeLock(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("storage: removing %s: %w", dir, err)
	}
	return nil
}

// Wipe crypto-shreds the closed store in dir and then removes its files:
// ShredKeys followed by RemoveFiles. Errors as those two.
func Wipe(dir string) error {
	if err := ShredKeys(dir); err != nil {
		return err
	}
	return RemoveFiles(dir)
}

// Wipe closes the store and wipes it (see the function Wipe). After Wipe
// the store's data is unreadable whether or not the removal finished.
func (s *Store) Wipe() error {
	if err := s.Close(); err != nil {
		return err
	}
	return Wipe(s.dir)
}
