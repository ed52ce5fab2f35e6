package storage

import "errors"

// Errors returned by the store, always wrapped with context: test them with
// errors.Is.
var (
	// ErrNotFound: the directory holds no store (and Options.Create was
	// not set), or the record, envelope or local copy asked for is absent.
	ErrNotFound = errors.New("not found")
	// ErrWrongKey: the storage keys do not open this store. Either the
	// passphrase that unlocked the keystore is not the one the store was
	// created under, or the store's keys were shredded (see ShredKeys).
	ErrWrongKey = errors.New("storage key does not open this store")
	// ErrCorrupt: the directory is not a Hearth store, a file of it is
	// damaged, or a stored value failed authentication on read (a changed
	// byte, or a value moved to another key). Corrupted data is never
	// returned as if it were good.
	ErrCorrupt = errors.New("store is corrupted or not a hearth store")
	// ErrLocked: another process (or another Store in this process) has
	// the store open.
	ErrLocked = errors.New("store is in use by another process")
	// ErrClosed: the Store was used after Close.
	ErrClosed = errors.New("store is closed")
	// ErrSchema: the store was written by a newer Hearth, or no migration
	// leads from its schema version to this one.
	ErrSchema = errors.New("unsupported store schema version")
	// ErrInvalid: an argument is out of range (unknown kind, key or value
	// too long, zero time, bad limit).
	ErrInvalid = errors.New("invalid argument")
)
