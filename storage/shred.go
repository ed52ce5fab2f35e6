package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/hearthnet/hearth/crypto"
)

// Crypto-shredding by period. Deleting a record in Badger only writes a
// tombstone: the old value stays in the value log until garbage collection
// rewrites its file, and GC rewrites a file only once enough of it is
// garbage, so an expired envelope can sit in a live file for months. Under
// one store-wide Records key, anyone with the passphrase could then read
// back what retention deleted. So what retention deletes is not sealed
// under the Records key but under a shred key of its own period:
//
//   - envelopes and their local copies under a random 32-byte key per
//     (group, UTC day on which the envelope was received). Retention
//     expires by receive time, so a whole day of a group expires together;
//     an envelope's bytes are unreadable from every copy once its day is
//     past retention, at most a day after the envelope itself expired;
//   - epoch secrets and chain state (KindEpochSecret, KindChainState) under
//     a random 32-byte key per (group, epoch), which Expire drops with the
//     epoch.
//
// Each shred key is a record of its own (0x32, 0x33 in keys.go), sealed
// under the Records key. Sealed, it is 72 bytes, below valueThreshold, so
// Badger keeps it inline in the LSM tree and the memtable's write-ahead
// log, never in the value log (asserted below). When the period expires
// (and after DeleteGroup), the key is dropped with Badger's DropPrefix,
// which (in badger v4.9.6, db.go and levels.go) blocks writes, flushes
// every memtable to a level-0 table and deletes the memtables' write-ahead
// logs, then rewrites every table, at every level, whose key range holds
// the prefix, leaving out every version of those keys. A plain Delete would
// not do: it writes a tombstone, and compaction drops the older versions
// under it only when the tombstone reaches the bottom level with no overlap
// below and a version at or below the discard timestamp (the oldest open
// read), while Flatten compacts only when more than one level holds tables
// and never flushes the memtable. After DropPrefix the store reads the key
// back and reports an error if any version survived.
//
// What then remains of a shredded key is the blocks of table and log files
// that Badger unlinked: the file system frees them but does not overwrite
// them, and a program cannot reach them (flash remaps writes, copy-on-write
// file systems keep snapshots). Full-disk encryption answers that; docs and
// SECURITY.md say so. Groups kept forever never lose their keys.

// shredKeyRecordSize is the size of a sealed shred-key record's value.
const shredKeyRecordSize = crypto.KeySize + crypto.SealOverhead

// A shred key must stay in the LSM tree: valueThreshold-shredKeyRecordSize-1
// would be negative, and fail to compile, if the value log could take it.
const _ = uint(valueThreshold - shredKeyRecordSize - 1)

// daySealedVersion begins every day-sealed value.
const daySealedVersion = 1

// daySealedHeaderSize: version(1) day(4).
const daySealedHeaderSize = 1 + 4

// dayNanos is the length of a shred period for envelopes: one UTC day.
const dayNanos = uint64(24 * time.Hour)

// dayOf returns the UTC day number (days since 1970-01-01) of a receive
// time in Unix nanoseconds.
func dayOf(ns uint64) uint32 { return uint32(ns / dayNanos) }

// splitDaySealed parses a day-sealed value: version(1) ‖ day u32 ‖ sealed,
// where sealed is crypto.Seal output. It returns ErrCorrupt for an unknown
// version or a value too short to hold a seal; it never panics.
func splitDaySealed(v []byte) (day uint32, header, sealed []byte, err error) {
	if len(v) < daySealedHeaderSize+crypto.SealOverhead {
		return 0, nil, nil, fmt.Errorf("storage: day-sealed value of %d bytes: %w", len(v), ErrCorrupt)
	}
	if v[0] != daySealedVersion {
		return 0, nil, nil, fmt.Errorf("storage: day-sealed value version %d: %w", v[0], ErrCorrupt)
	}
	return binary.BigEndian.Uint32(v[1:5]), v[:daySealedHeaderSize], v[daySealedHeaderSize:], nil
}

// daySealedAD is the associated data of a day-sealed value: the full
// Badger key, then the value's header, so neither the record's place nor
// its day can be changed without the seal failing.
func daySealedAD(key, header []byte) []byte {
	ad := make([]byte, 0, len(key)+len(header))
	return append(append(ad, key...), header...)
}

// keyring holds the shred keys one transaction has opened or created, so a
// page of envelopes of one day opens its key once. It belongs to a single
// operation and is wiped when that operation ends; nothing outlives it.
type keyring struct {
	s    *Store
	txn  *badger.Txn
	keys map[string]*[crypto.KeySize]byte // by the shred-key record's Badger key
}

func (s *Store) keyring(txn *badger.Txn) *keyring {
	return &keyring{s: s, txn: txn, keys: map[string]*[crypto.KeySize]byte{}}
}

// wipe erases every key the ring holds.
func (r *keyring) wipe() {
	for name, k := range r.keys {
		crypto.Wipe(k[:])
		delete(r.keys, name)
	}
}

// key returns the shred key stored at record, creating and storing a new
// random one in the ring's transaction when there is none and create is
// set. Without create, a missing key is ErrCorrupt: a record that needs it
// exists, and shred keys are only dropped once nothing sealed under them
// remains (see Store.shred).
func (r *keyring) key(record []byte, create bool) (*[crypto.KeySize]byte, error) {
	if k, ok := r.keys[string(record)]; ok {
		return k, nil
	}
	b, err := r.s.getSealed(r.txn, record)
	switch {
	case errors.Is(err, ErrNotFound) && create:
		k, err := crypto.NewKey(nil)
		if err != nil {
			return nil, fmt.Errorf("storage: new shred key: %w", err)
		}
		if err := r.s.setSealed(r.txn, record, k[:]); err != nil {
			crypto.Wipe(k[:])
			return nil, err
		}
		r.keys[string(record)] = k
		return k, nil
	case errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("storage: shred key of a live record is missing: %w", ErrCorrupt)
	case err != nil:
		return nil, err
	}
	if len(b) != crypto.KeySize {
		crypto.Wipe(b)
		return nil, fmt.Errorf("storage: shred key of %d bytes: %w", len(b), ErrCorrupt)
	}
	k := new([crypto.KeySize]byte)
	copy(k[:], b)
	crypto.Wipe(b)
	r.keys[string(record)] = k
	return k, nil
}

// sealDay seals plaintext for storage at key under group's shred key for
// day, creating that key if the day has none yet.
func (r *keyring) sealDay(key []byte, group crypto.GroupID, day uint32, plaintext []byte) ([]byte, error) {
	k, err := r.key(dayShredKey(group, day), true)
	if err != nil {
		return nil, err
	}
	header := binary.BigEndian.AppendUint32([]byte{daySealedVersion}, day)
	out, err := crypto.Seal(k, plaintext, daySealedAD(key, header), nil)
	if err != nil {
		return nil, fmt.Errorf("storage: sealing: %w", err)
	}
	return append(header, out...), nil
}

// openDay opens a day-sealed value stored at key of group and returns its
// plaintext and day. Anything that does not open is ErrCorrupt.
func (r *keyring) openDay(key []byte, group crypto.GroupID, value []byte) ([]byte, uint32, error) {
	day, header, sealed, err := splitDaySealed(value)
	if err != nil {
		return nil, 0, err
	}
	k, err := r.key(dayShredKey(group, day), false)
	if err != nil {
		return nil, 0, err
	}
	pt, err := crypto.Open(k, sealed, daySealedAD(key, header))
	if err != nil {
		return nil, 0, fmt.Errorf("storage: %w: %w", ErrCorrupt, err)
	}
	return pt, day, nil
}

// setDaySealed stores plaintext at key, day-sealed.
func (r *keyring) setDaySealed(key []byte, group crypto.GroupID, day uint32, plaintext []byte) error {
	v, err := r.sealDay(key, group, day, plaintext)
	if err != nil {
		return err
	}
	return r.txn.Set(key, v)
}

// getDaySealed reads and opens the day-sealed value at key; ErrNotFound
// when there is none.
func (r *keyring) getDaySealed(key []byte, group crypto.GroupID) ([]byte, uint32, error) {
	item, err := r.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, 0, fmt.Errorf("storage: %w", ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("storage: reading: %w", err)
	}
	return r.openDayItem(item, group)
}

// openDayItem opens the day-sealed value of an iterator or Get item.
func (r *keyring) openDayItem(item *badger.Item, group crypto.GroupID) ([]byte, uint32, error) {
	v, err := item.ValueCopy(nil)
	if err != nil {
		return nil, 0, fmt.Errorf("storage: reading value: %w", err)
	}
	return r.openDay(item.Key(), group, v)
}

// sealEpoch seals plaintext for storage at key, an epoch-scoped record's
// Badger key, under the shred key of the record's group and epoch,
// creating that key if needed. The associated data is the Badger key, as
// for Records-sealed values; the epoch comes from the key itself.
func (r *keyring) sealEpoch(key, plaintext []byte) ([]byte, error) {
	group, epoch, ok := epochOfRecordKey(key)
	if !ok {
		return nil, fmt.Errorf("storage: malformed epoch-scoped key: %w", ErrInvalid)
	}
	k, err := r.key(epochShredKey(group, epoch), true)
	if err != nil {
		return nil, err
	}
	v, err := crypto.Seal(k, plaintext, key, nil)
	if err != nil {
		return nil, fmt.Errorf("storage: sealing: %w", err)
	}
	return v, nil
}

// openEpoch opens the epoch-sealed value stored at key.
func (r *keyring) openEpoch(key, sealed []byte) ([]byte, error) {
	group, epoch, ok := epochOfRecordKey(key)
	if !ok {
		return nil, fmt.Errorf("storage: malformed epoch-scoped key: %w", ErrCorrupt)
	}
	k, err := r.key(epochShredKey(group, epoch), false)
	if err != nil {
		return nil, err
	}
	pt, err := crypto.Open(k, sealed, key)
	if err != nil {
		return nil, fmt.Errorf("storage: %w: %w", ErrCorrupt, err)
	}
	return pt, nil
}

// epochOfRecordKey returns the group and epoch of an epoch-scoped record's
// Badger key: prefix(1) ‖ group(16) ‖ epoch(8) ‖ caller key.
func epochOfRecordKey(key []byte) (crypto.GroupID, uint64, bool) {
	var g crypto.GroupID
	if len(key) < 1+crypto.GroupIDSize+8 {
		return g, 0, false
	}
	copy(g[:], key[1:])
	return g, binary.BigEndian.Uint64(key[1+crypto.GroupIDSize:]), true
}

// shredCandidate is a shred-key record (or the prefix of a group's shred
// keys) that an operation wants dropped, with the test that nothing sealed
// under it is left: a key is dropped only when inUse reports false, read
// while every write is held off.
type shredCandidate struct {
	prefix []byte
	inUse  func(txn *badger.Txn) (bool, error)
}

// shred drops the candidates' shred keys from every live file (see the
// comment at the top of this file) and returns how many prefixes it
// dropped. It holds maint (no Reclaim runs: DropPrefix refuses Badger's own
// value-log rewrite while it works), wmu (no write runs: a record sealed
// under a key being dropped would be lost, and DropPrefix refuses writes)
// and shredMu (no read runs: DropPrefix removes every version at once,
// under the feet of open snapshots). The caller holds the shared lock.
func (s *Store) shred(cands []shredCandidate) (int, error) {
	if len(cands) == 0 {
		return 0, nil
	}
	s.maint.Lock()
	defer s.maint.Unlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.shredMu.Lock()
	defer s.shredMu.Unlock()

	var drop [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		for _, c := range cands {
			busy, err := c.inUse(txn)
			if err != nil {
				return err
			}
			if !busy {
				drop = append(drop, c.prefix)
			}
		}
		return nil
	})
	if err != nil || len(drop) == 0 {
		return 0, err
	}
	if err := s.db.DropPrefix(drop...); err != nil {
		return 0, fmt.Errorf("storage: dropping shred keys: %w", err)
	}
	// DropPrefix logs and carries on when its level-0 compaction fails;
	// read back, so a surviving key is an error and the next Expire or
	// DeleteGroup tries again.
	err = s.db.View(func(txn *badger.Txn) error {
		for _, p := range drop {
			if anyKey(txn, p) {
				return errors.New("storage: a shred key survived dropping")
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(drop), nil
}

// anyKey reports whether a live key begins with prefix.
func anyKey(txn *badger.Txn, prefix []byte) bool {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	it.Rewind()
	return it.Valid()
}
