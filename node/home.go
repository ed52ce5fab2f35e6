package node

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/storage"
)

// A home directory holds everything a node keeps:
//
//	DataDir/keystore   the passphrase-sealed keystore (crypto package)
//	DataDir/store/     the Badger store (storage package)
const (
	keystoreFile = "keystore"
	storeDir     = "store"
)

// InitHome creates a node's home in dir: the directory (mode 0700) if it is
// missing, a keystore holding a fresh device key and storage root sealed
// under passphrase with params, and an empty store. Randomness comes from r
// (crypto/rand when nil).
//
// It returns ErrHomeExists (wrapped) when dir already holds a keystore, and
// never overwrites one. It returns crypto.ErrEmptyPassphrase for an empty
// passphrase and the file system's error otherwise. On error after the
// keystore was written, the keystore and store are removed again.
func InitHome(dir string, passphrase []byte, params crypto.KDFParams, r io.Reader) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("node: creating home: %w", err)
	}
	ksPath := filepath.Join(dir, keystoreFile)
	if _, err := os.Lstat(ksPath); err == nil {
		return fmt.Errorf("node: %s: %w", dir, ErrHomeExists)
	}
	ks, err := crypto.CreateKeystore(ksPath, passphrase, params, r)
	if err != nil {
		if errors.Is(err, crypto.ErrKeystoreExists) {
			return fmt.Errorf("node: %s: %w", dir, ErrHomeExists)
		}
		return fmt.Errorf("node: creating keystore: %w", err)
	}
	defer ks.Close()
	keys := crypto.DeriveStorageKeys(ks.StorageRoot())
	defer keys.Wipe()
	st, err := storage.Open(filepath.Join(dir, storeDir), keys, storage.Options{Create: true})
	if err != nil {
		_ = os.Remove(ksPath)
		return fmt.Errorf("node: creating store: %w", err)
	}
	if err := st.Close(); err != nil {
		return fmt.Errorf("node: closing new store: %w", err)
	}
	return nil
}

// UnlockHome opens the keystore of the home in dir with passphrase. The
// caller passes it to New in Config.Keystore and closes it after the node.
//
// It returns ErrNoHome (wrapped) when dir holds no keystore, and the
// keystore's errors wrapped otherwise: crypto.ErrBadPassphrase,
// crypto.ErrKeystoreCorrupt, crypto.ErrKeystoreVersion,
// crypto.ErrEmptyPassphrase.
func UnlockHome(dir string, passphrase []byte) (*crypto.Keystore, error) {
	ks, err := crypto.OpenKeystore(filepath.Join(dir, keystoreFile), passphrase)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("node: %s: %w", dir, ErrNoHome)
	}
	if err != nil {
		return nil, fmt.Errorf("node: unlocking home: %w", err)
	}
	return ks, nil
}
