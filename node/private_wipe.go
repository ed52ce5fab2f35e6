package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hearthnet/hearth/storage"
)

// WipeHome is the panic wipe: it destroys everything in the home in dir,
// keys first. Step one overwrites the keystore file with random bytes of
// its length and syncs it, then crypto-shreds the store
// (storage.ShredKeys); from that moment nothing in the directory can be
// opened, with the passphrase or without, by this process or by someone
// holding a copy of the directory. Step two deletes the directory.
//
// The node using dir must be closed first. It returns ErrNoHome (wrapped)
// when dir holds no keystore, storage.ErrLocked (wrapped) when the store is
// open, and the file system's error otherwise. It carries on to the second
// step when the store has no key registry (a home whose store was never
// opened), since the keystore alone then protects it.
func WipeHome(dir string) error { return wipeHome(dir, func() {}) }

// wipeHome is WipeHome with keysGone called between its two steps, after
// every key is destroyed and before any file is deleted. WipeHome passes a
// function that does nothing; the tests copy the directory there, so the
// copy shows what someone who seized the device mid-wipe would hold.
func wipeHome(dir string, keysGone func()) error {
	if err := shredHome(dir); err != nil {
		return err
	}
	keysGone()
	return removeHome(dir)
}

// shredHome is WipeHome's first step: keys destroyed, files left.
func shredHome(dir string) error {
	ks := filepath.Join(dir, keystoreFile)
	if _, err := os.Lstat(ks); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("node: %s: %w", dir, ErrNoHome)
	}
	st := filepath.Join(dir, storeDir)
	// Refuse while the store is open, before destroying anything: a
	// running node would go on writing under keys it still holds.
	if err := storage.ShredKeys(st); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("node: wiping store keys: %w", err)
	}
	if err := storage.ShredFile(ks); err != nil {
		return fmt.Errorf("node: wiping keystore: %w", err)
	}
	return nil
}

// removeHome is WipeHome's second step.
func removeHome(dir string) error {
	if err := storage.RemoveFiles(filepath.Join(dir, storeDir)); err != nil {
		return fmt.Errorf("node: removing store: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("node: removing home: %w", err)
	}
	return nil
}
