package crypto

// StorageKeys are the two keys a node's database is opened with. Both come
// from the storage root key, which is random, lives only inside the
// passphrase-sealed keystore, and is never written anywhere else.
type StorageKeys struct {
	// Badger is given to Badger's own encryption (AES-256-CTR, without
	// authentication): the outer layer that hides keys, indexes and
	// structure on disk.
	Badger [KeySize]byte
	// Records seals, with XChaCha20-Poly1305, every stored value that
	// carries content, pseudonyms, group names or keys: the inner layer,
	// which does authenticate.
	Records [KeySize]byte
}

// DeriveStorageKeys derives the database keys from the storage root key.
// The two keys are independent: learning one does not reveal the other or
// the root.
func DeriveStorageKeys(root *[KeySize]byte) StorageKeys {
	return StorageKeys{
		Badger:  deriveKey(root[:], "storage badger", nil),
		Records: deriveKey(root[:], "storage records", nil),
	}
}

// Wipe erases both keys.
func (k *StorageKeys) Wipe() {
	Wipe(k.Badger[:])
	Wipe(k.Records[:])
}
