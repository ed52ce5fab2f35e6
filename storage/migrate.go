package storage

import (
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/hearthnet/hearth/crypto"
)

// migrateToShredKeys upgrades a schema-1 store, where every value was
// sealed under the Records key, to schema 2: it re-seals local copies and
// envelopes under their day's shred key and epoch secrets and chain state
// under their epoch's shred key, creating the keys as it goes. Each value
// is recognised by the key it opens under, so a migration interrupted
// half-way is simply run again and converts only what is left.
//
// The schema-1 copies of what it re-sealed stay in the value log, under
// the Records key, until their files are rewritten; so do the bytes of
// whatever schema 1's retention had already deleted. So the migration ends
// by reopening Badger (which flushes the memtables and compacts level 0:
// the only way Badger offers to push recent writes into the tables, where
// compaction counts what the value log holds as garbage) and reclaiming:
// every value-log file written before the migration is almost all garbage
// and is rewritten, and the old tables are compacted away.
func migrateToShredKeys(s *Store) error {
	steps := []struct {
		prefix  byte
		convert func(r *keyring, key, value []byte) (migrated []byte, drop bool, err error)
	}{
		// Copies first: they look up their envelope, in either layout.
		{prefixMessage, s.migrateMessage},
		{prefixEnvelope, s.migrateEnvelope},
		{byte(KindEpochSecret), s.migrateEpochRecord},
		{byte(KindChainState), s.migrateEpochRecord},
	}
	for _, st := range steps {
		n, dropped, err := s.migratePrefix(st.prefix, st.convert)
		if err != nil {
			return err
		}
		if n > 0 || dropped > 0 {
			s.log.Info("storage: re-sealed records under shred keys", "prefix", st.prefix, "records", n, "dropped", dropped)
		}
	}
	if err := s.reopenBadger(); err != nil {
		return err
	}
	return s.reclaim()
}

// migratePrefix runs convert over every record whose key begins with
// prefix, in transactions of bounded size, and stores what it returns: a
// new value, nothing (the record is already in the new layout), or a
// deletion.
func (s *Store) migratePrefix(prefix byte, convert func(r *keyring, key, value []byte) ([]byte, bool, error)) (converted, dropped int, err error) {
	const maxRecords, maxBytes = 256, 4 << 20
	type record struct{ key, value []byte }
	start := []byte{prefix}
	for {
		var batch []record
		size := 0
		err := s.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefix}})
			defer it.Close()
			for it.Seek(start); it.Valid() && len(batch) < maxRecords && size < maxBytes; it.Next() {
				v, err := it.Item().ValueCopy(nil)
				if err != nil {
					return fmt.Errorf("storage: reading value: %w", err)
				}
				batch = append(batch, record{it.Item().KeyCopy(nil), v})
				size += len(v)
			}
			return nil
		})
		if err != nil || len(batch) == 0 {
			return converted, dropped, err
		}
		err = s.write(func(txn *badger.Txn) error {
			r := s.keyring(txn)
			defer r.wipe()
			for _, rec := range batch {
				v, drop, err := convert(r, rec.key, rec.value)
				switch {
				case err != nil:
					return err
				case drop:
					dropped++
					if err := txn.Delete(rec.key); err != nil {
						return err
					}
				case v != nil:
					converted++
					if err := txn.Set(rec.key, v); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return converted, dropped, err
		}
		start = append(batch[len(batch)-1].key, 0)
	}
}

// openV1 opens a schema-1 value (sealed under the Records key with the
// Badger key as associated data); ok is false when it does not open.
func (s *Store) openV1(key, value []byte) (plaintext []byte, ok bool) {
	pt, err := crypto.Open(&s.rkey, value, key)
	return pt, err == nil
}

func (s *Store) migrateEnvelope(r *keyring, key, value []byte) ([]byte, bool, error) {
	f, ok := keyFields(key, EnvelopeIDSize)
	if !ok {
		return nil, false, fmt.Errorf("storage: malformed envelope key: %w", ErrCorrupt)
	}
	group := groupOfKey(key)
	pt, v1 := s.openV1(key, value)
	if !v1 {
		if _, _, err := r.openDay(key, group, value); err != nil {
			return nil, false, err
		}
		return nil, false, nil // already migrated
	}
	e, err := decodeEnvelopeRecord(toID(f[0]), pt)
	if err != nil {
		return nil, false, err
	}
	v, err := r.sealDay(key, group, dayOf(uint64(e.Meta.Received.UnixNano())), pt)
	return v, false, err
}

// migrateMessage re-seals a local copy under its envelope's day key. A
// copy whose envelope is gone (schema 1 never left one, but a damaged
// store might) is deleted: retention could never expire it.
func (s *Store) migrateMessage(r *keyring, key, value []byte) ([]byte, bool, error) {
	f, ok := keyFields(key, 8, EnvelopeIDSize)
	if !ok {
		return nil, false, fmt.Errorf("storage: malformed message key: %w", ErrCorrupt)
	}
	group := groupOfKey(key)
	pt, v1 := s.openV1(key, value)
	if !v1 {
		if _, _, err := r.openDay(key, group, value); err != nil {
			return nil, false, err
		}
		return nil, false, nil
	}
	id := toID(f[1])
	ekey := envelopeKey(group, id)
	item, err := r.txn.Get(ekey)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("storage: reading: %w", err)
	}
	ev, err := item.ValueCopy(nil)
	if err != nil {
		return nil, false, fmt.Errorf("storage: reading value: %w", err)
	}
	record, v1env := s.openV1(ekey, ev)
	if !v1env {
		if record, _, err = r.openDay(ekey, group, ev); err != nil {
			return nil, false, err
		}
	}
	e, err := decodeEnvelopeRecord(id, record)
	if err != nil {
		return nil, false, err
	}
	v, err := r.sealDay(key, group, dayOf(uint64(e.Meta.Received.UnixNano())), pt)
	return v, false, err
}

func (s *Store) migrateEpochRecord(r *keyring, key, value []byte) ([]byte, bool, error) {
	pt, v1 := s.openV1(key, value)
	if !v1 {
		if _, err := r.openEpoch(key, value); err != nil {
			return nil, false, err
		}
		return nil, false, nil
	}
	v, err := r.sealEpoch(key, pt)
	crypto.Wipe(pt)
	return v, false, err
}

// groupOfKey returns the group of a key that has one (checked by the
// caller through keyFields or epochOfRecordKey).
func groupOfKey(key []byte) crypto.GroupID {
	var g crypto.GroupID
	copy(g[:], key[1:])
	return g
}

// reopenBadger closes Badger and opens it again with the same options.
// Only Open's migrations use it, before the Store is shared. If the reopen
// fails, s.db is nil and Open reports the error.
func (s *Store) reopenBadger() error {
	err := s.db.Close()
	s.db = nil
	if err != nil {
		return fmt.Errorf("storage: closing database to compact: %w", err)
	}
	db, err := openBadger(s.bopts)
	if err != nil {
		return err
	}
	s.db = db
	return nil
}
