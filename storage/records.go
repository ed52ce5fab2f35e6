package storage

import (
	"bytes"
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/hearthnet/hearth/crypto"
)

// checkRecord validates the arguments of the generic record API.
func checkRecord(kind Kind, key []byte) error {
	if !kind.valid() {
		return fmt.Errorf("storage: unknown record %v: %w", kind, ErrInvalid)
	}
	if len(key) > MaxRecordKeySize {
		return fmt.Errorf("storage: %v key of %d bytes exceeds %d: %w", kind, len(key), MaxRecordKeySize, ErrInvalid)
	}
	if kind.epochScoped() && len(key) < 8 {
		return fmt.Errorf("storage: %v key must begin with an 8-byte epoch (see EpochKey): %w", kind, ErrInvalid)
	}
	return nil
}

// Put stores value as the record (kind, group, key), replacing any record
// already there. The value is sealed with the full record key as associated
// data: under the Records key, or, for the epoch-scoped kinds
// (KindEpochSecret, KindChainState), under the shred key of the group's
// epoch, which Expire destroys with the epoch. Keys of epoch-scoped kinds
// must begin with the epoch (EpochKey).
// Keys are not sealed: they must not hold content, names or pseudonyms.
// Put returns ErrInvalid for an unknown kind or an oversized key or value,
// and ErrClosed after Close.
func (s *Store) Put(kind Kind, group crypto.GroupID, key, value []byte) error {
	if err := checkRecord(kind, key); err != nil {
		return err
	}
	if len(value) > MaxValueSize {
		return fmt.Errorf("storage: %v value of %d bytes exceeds %d: %w", kind, len(value), MaxValueSize, ErrInvalid)
	}
	k := recordKey(kind, group, key)
	return s.update(func(txn *badger.Txn) error {
		return s.setRecord(txn, kind, k, value)
	})
}

// setRecord seals and stores a generic record's value, under the key its
// kind calls for.
func (s *Store) setRecord(txn *badger.Txn, kind Kind, key, value []byte) error {
	if !kind.epochScoped() {
		return s.setSealed(txn, key, value)
	}
	r := s.keyring(txn)
	defer r.wipe()
	v, err := r.sealEpoch(key, value)
	if err != nil {
		return err
	}
	return txn.Set(key, v)
}

// openRecord opens a generic record's value read by a Get or an iterator.
func (s *Store) openRecord(r *keyring, kind Kind, item *badger.Item) ([]byte, error) {
	if !kind.epochScoped() {
		return s.openItem(item)
	}
	sealed, err := item.ValueCopy(nil)
	if err != nil {
		return nil, fmt.Errorf("storage: reading value: %w", err)
	}
	return r.openEpoch(item.Key(), sealed)
}

// Get returns the value of the record (kind, group, key). It returns
// ErrNotFound when there is none, ErrCorrupt when the stored value does not
// authenticate, ErrInvalid and ErrClosed as Put does.
func (s *Store) Get(kind Kind, group crypto.GroupID, key []byte) ([]byte, error) {
	if err := checkRecord(kind, key); err != nil {
		return nil, err
	}
	k := recordKey(kind, group, key)
	var value []byte
	err := s.view(func(txn *badger.Txn) error {
		item, err := txn.Get(k)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("storage: %w", ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("storage: reading: %w", err)
		}
		r := s.keyring(txn)
		defer r.wipe()
		value, err = s.openRecord(r, kind, item)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("storage: %v record: %w", kind, err)
	}
	return value, nil
}

// Delete removes the record (kind, group, key). Deleting a record that is
// not there is not an error. It returns ErrInvalid and ErrClosed as Put
// does.
func (s *Store) Delete(kind Kind, group crypto.GroupID, key []byte) error {
	if err := checkRecord(kind, key); err != nil {
		return err
	}
	k := recordKey(kind, group, key)
	return s.update(func(txn *badger.Txn) error { return txn.Delete(k) })
}

// Scan calls fn, in ascending key order, for every record of kind in group
// whose key begins with prefix (nil: all of them). fn receives its own
// copies of the key and value. Scan stops at the first error fn returns and
// returns it; it returns ErrCorrupt, without calling fn for that record,
// when a stored value does not authenticate. Writes made by fn's caller
// during the scan are not seen by it.
func (s *Store) Scan(kind Kind, group crypto.GroupID, prefix []byte, fn func(key, value []byte) error) error {
	if !kind.valid() {
		return fmt.Errorf("storage: unknown record %v: %w", kind, ErrInvalid)
	}
	if len(prefix) > MaxRecordKeySize {
		return fmt.Errorf("storage: %v prefix too long: %w", kind, ErrInvalid)
	}
	full := recordKey(kind, group, prefix)
	start := 1 + crypto.GroupIDSize
	return s.view(func(txn *badger.Txn) error {
		r := s.keyring(txn)
		defer r.wipe()
		it := txn.NewIterator(badger.IteratorOptions{Prefix: full, PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			value, err := s.openRecord(r, kind, item)
			if err != nil {
				return fmt.Errorf("storage: %v record: %w", kind, err)
			}
			key := bytes.Clone(item.Key()[start:])
			if err := fn(key, value); err != nil {
				return err
			}
		}
		return nil
	})
}

// Groups returns the IDs of every group that has a KindGroup record, in
// ascending order. It returns ErrClosed after Close.
func (s *Store) Groups() ([]crypto.GroupID, error) {
	var groups []crypto.GroupID
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{byte(KindGroup)}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) < 1+crypto.GroupIDSize {
				return fmt.Errorf("storage: short group key: %w", ErrCorrupt)
			}
			var g crypto.GroupID
			copy(g[:], k[1:])
			if n := len(groups); n == 0 || groups[n-1] != g {
				groups = append(groups, g)
			}
		}
		return nil
	})
	return groups, err
}
