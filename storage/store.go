package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/hearthnet/hearth/crypto"
)

// SchemaVersion is the record layout this package reads and writes (see
// keys.go). It is stored in the database; Open refuses a store with a newer
// version and migrates an older one.
//
// Version 1 sealed every value under the Records key. Version 2 seals
// envelopes and local copies under per-(group, day) shred keys and
// epoch-scoped records under per-(group, epoch) shred keys (shred.go), so
// that what retention deletes cannot be read back from Badger's files.
const SchemaVersion uint32 = 2

// migration upgrades a store from schema version from to from+1. It runs
// inside Open on a fully working Store, before Open returns; the version is
// advanced only after apply succeeds, so apply must be safe to run again
// after an interruption.
type migration struct {
	from  uint32
	apply func(*Store) error
}

// schemaMigrations is the migration table: one entry per schema version
// after the first, appended when the layout changes.
func schemaMigrations() []migration {
	return []migration{{from: 1, apply: migrateToShredKeys}}
}

// Store is an open Hearth store. It is safe for concurrent use. Reads run in
// parallel; writes are serialised, each one an atomic Badger transaction.
type Store struct {
	db    *badger.DB
	bopts badger.Options // what db was opened with, to reopen it (migration)
	dir   string
	log   *slog.Logger
	bkey  []byte               // Badger's copy of StorageKeys.Badger, wiped at Close
	rkey  [crypto.KeySize]byte // StorageKeys.Records, wiped at Close

	// mu is held shared by every operation and exclusively by Close, so
	// Close waits for operations in flight and none starts after it.
	mu     sync.RWMutex
	closed bool

	// wmu serialises write transactions. It guards arrival, and it is why
	// Badger's conflict detection is off: no two writes ever overlap.
	wmu     sync.Mutex
	arrival uint64 // last arrival number given to an envelope

	// shredMu is held shared by every read (view) and exclusively while
	// shred keys are dropped (Store.shred): DropPrefix removes every
	// version of a key at once, which an open snapshot would notice.
	shredMu sync.RWMutex
	// maint serialises Reclaim with the dropping of shred keys: both stop
	// Badger's compactions, and DropPrefix refuses value-log GC's writes.
	// Order: mu (shared), maint, wmu, shredMu.
	maint sync.Mutex
}

// Open opens the store in dir with keys, which come from the keystore
// (crypto.DeriveStorageKeys); neither key is ever written to disk. Open
// returns:
//   - ErrNotFound when dir is missing or holds no store and opts.Create is
//     not set (nothing is created);
//   - ErrWrongKey when keys do not open the store (or it was shredded);
//   - ErrCorrupt when dir is not a Hearth store or its metadata is damaged;
//   - ErrLocked when another Store has it open;
//   - ErrSchema when the store is from a newer Hearth or cannot be migrated.
//
// Open inspects the directory by reading only before Badger opens it for
// writing, so a missing directory, a wrong Badger key, a store in use, a
// foreign or damaged key registry, MANIFEST or table set, and a write-ahead
// log or newest value log damaged in the middle (which Badger would cut
// short at the damage, dropping acknowledged writes: see logcheck.go) fail
// without a byte changed. A log whose last entry was left half written by
// a crash is not damage: Badger's replay drops that entry, which was never
// acknowledged. Only faults Badger alone can see (a damaged table block, a
// Records key that is not the Badger key's pair) are found after Badger has
// opened the files. Keys remain the caller's to wipe.
func Open(dir string, keys crypto.StorageKeys, opts Options) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("storage: empty directory name: %w", ErrInvalid)
	}
	fresh, err := inspectDir(dir, keys.Badger[:], opts)
	if err != nil {
		return nil, err
	}
	if fresh {
		if !opts.Create {
			return nil, fmt.Errorf("storage: no store in %s: %w", dir, ErrNotFound)
		}
		// The directory is the store's alone; file names and sizes say
		// when a member was active, so no one else may list it.
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("storage: creating %s: %w", dir, err)
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
	}
	if err := probeLock(dir); err != nil {
		return nil, err
	}
	if !fresh {
		// Badger truncates a log at the first entry that fails to verify,
		// damage or not; refuse damage before it can (logcheck.go).
		if err := checkLogs(dir, keys.Badger[:]); err != nil {
			return nil, err
		}
	}

	bkey := make([]byte, crypto.KeySize)
	copy(bkey, keys.Badger[:])
	bopts := badgerOptions(dir, bkey, opts)
	db, err := openBadger(bopts)
	if err != nil {
		crypto.Wipe(bkey)
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{db: db, bopts: bopts, dir: dir, log: log, bkey: bkey, rkey: keys.Records}
	if err := s.init(opts); err != nil {
		if s.db != nil {
			_ = s.db.Close()
		}
		crypto.Wipe(s.bkey)
		crypto.Wipe(s.rkey[:])
		return nil, err
	}
	return s, nil
}

// inspectDir decides, by reading only, whether dir is fresh (missing or
// empty) or an existing store that keys can open. Everything Badger would
// otherwise discover after it had begun writing (a wrong key, a foreign or
// damaged MANIFEST, missing tables) is found here first.
func inspectDir(dir string, badgerKey []byte, opts Options) (fresh bool, err error) {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("storage: %w", err)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("storage: %s is not a directory: %w", dir, ErrCorrupt)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("storage: %w", err)
	}
	if len(entries) == 0 {
		return true, nil
	}
	for _, name := range []string{badger.KeyRegistryFileName, badger.ManifestFilename} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return false, fmt.Errorf("storage: %s has no %s: %w", dir, name, ErrCorrupt)
			}
			return false, fmt.Errorf("storage: %w", err)
		}
	}
	kr, err := badger.OpenKeyRegistry(badger.KeyRegistryOptions{
		Dir:           dir,
		ReadOnly:      true,
		EncryptionKey: badgerKey,
	})
	switch {
	case errors.Is(err, badger.ErrEncryptionKeyMismatch):
		return false, fmt.Errorf("storage: %s: %w", dir, ErrWrongKey)
	case errors.Is(err, fs.ErrPermission):
		return false, fmt.Errorf("storage: %w", err)
	case err != nil:
		return false, fmt.Errorf("storage: %s: key registry unreadable (%v): %w", dir, err, ErrCorrupt)
	}
	_ = kr.Close()

	f, err := os.Open(filepath.Join(dir, badger.ManifestFilename))
	if err != nil {
		return false, fmt.Errorf("storage: %w", err)
	}
	defer f.Close()
	manifest, _, err := replayManifest(f, opts)
	if err != nil {
		return false, fmt.Errorf("storage: %s: manifest unreadable (%v): %w", dir, err, ErrCorrupt)
	}
	for id := range manifest.Tables {
		name := filepath.Join(dir, fmt.Sprintf("%06d.sst", id))
		if _, err := os.Stat(name); err != nil {
			return false, fmt.Errorf("storage: %s: table %06d is missing: %w", dir, id, ErrCorrupt)
		}
	}
	return false, nil
}

// replayManifest reads a MANIFEST without changing it, turning a panic
// inside Badger's parser into an error.
func replayManifest(f *os.File, opts Options) (m badger.Manifest, off int64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("manifest parser failed: %v", r)
		}
	}()
	return badger.ReplayManifestFile(f, hearthMagic, badgerOptions("", nil, opts))
}

// openBadger opens Badger, reporting a panic inside it (which its Open can
// raise on some damaged files) as ErrCorrupt instead of crashing the node.
func openBadger(bo badger.Options) (db *badger.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db = nil
			err = fmt.Errorf("storage: opening database failed (%v): %w", r, ErrCorrupt)
		}
	}()
	db, err = badger.Open(bo)
	if err != nil {
		// Badger flattens its errors to strings, so which file failed is
		// not recoverable; everything inspectDir could check was fine, so
		// what remains is damage to tables or logs.
		return nil, fmt.Errorf("storage: opening database (%v): %w", err, ErrCorrupt)
	}
	return db, nil
}

// init checks the schema version, runs migrations, creates the metadata of
// a new store and loads the arrival counter.
func (s *Store) init(opts Options) error {
	target := SchemaVersion
	if opts.schemaVersion != 0 {
		target = opts.schemaVersion
	}
	migrations := opts.migrations
	if migrations == nil {
		migrations = schemaMigrations()
	}

	version, err := s.readMetaUint(metaSchema, 4)
	switch {
	case errors.Is(err, ErrNotFound):
		empty, err := s.isEmpty()
		if err != nil {
			return err
		}
		if !empty {
			return fmt.Errorf("storage: %s has records but no schema version: %w", s.dir, ErrCorrupt)
		}
		if !opts.Create {
			return fmt.Errorf("storage: %s holds an empty store: %w", s.dir, ErrNotFound)
		}
		if err := s.writeMetaUint(metaSchema, 4, uint64(target)); err != nil {
			return err
		}
		return s.sync()
	case errors.Is(err, ErrCorrupt):
		// Badger's key opened the store, yet the Records key does not
		// open its first record: the two keys are not a pair.
		return fmt.Errorf("storage: %s: %w", s.dir, ErrWrongKey)
	case err != nil:
		return err
	}

	if uint32(version) > target {
		return fmt.Errorf("storage: store schema %d is newer than this hearth's %d: %w", version, target, ErrSchema)
	}
	for v := uint32(version); v < target; v++ {
		m, ok := findMigration(migrations, v)
		if !ok {
			return fmt.Errorf("storage: no migration from schema %d: %w", v, ErrSchema)
		}
		if err := m.apply(s); err != nil {
			return fmt.Errorf("storage: migrating schema %d to %d: %w", v, v+1, err)
		}
		if err := s.writeMetaUint(metaSchema, 4, uint64(v+1)); err != nil {
			return err
		}
		if err := s.sync(); err != nil {
			return err
		}
		s.log.Info("storage: migrated schema", "from", v, "to", v+1)
	}

	arrival, err := s.readMetaUint(metaArrival, 8)
	switch {
	case errors.Is(err, ErrNotFound):
		arrival = 0
	case err != nil:
		return err
	}
	s.arrival = arrival
	return nil
}

func findMigration(ms []migration, from uint32) (migration, bool) {
	for _, m := range ms {
		if m.from == from {
			return m, true
		}
	}
	return migration{}, false
}

// Names of the metadata records.
const (
	metaSchema  = "schema"
	metaArrival = "arrival"
)

// readMetaUint reads a sealed big-endian integer of exactly size bytes.
func (s *Store) readMetaUint(name string, size int) (uint64, error) {
	var v uint64
	err := s.db.View(func(txn *badger.Txn) error {
		key := metaKey(name)
		b, err := s.getSealed(txn, key)
		if err != nil {
			return err
		}
		v, err = decodeUint(b, size)
		return err
	})
	return v, err
}

func (s *Store) writeMetaUint(name string, size int, v uint64) error {
	return s.db.Update(func(txn *badger.Txn) error {
		return s.setSealed(txn, metaKey(name), encodeUint(v, size))
	})
}

func encodeUint(v uint64, size int) []byte {
	b := binary.BigEndian.AppendUint64(nil, v)
	return b[8-size:]
}

func decodeUint(b []byte, size int) (uint64, error) {
	if len(b) != size {
		return 0, fmt.Errorf("storage: integer record of %d bytes, want %d: %w", len(b), size, ErrCorrupt)
	}
	var full [8]byte
	copy(full[8-size:], b)
	return binary.BigEndian.Uint64(full[:]), nil
}

// isEmpty reports whether the database holds no key at all.
func (s *Store) isEmpty() (bool, error) {
	empty := true
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		it.Rewind()
		empty = !it.Valid()
		return nil
	})
	return empty, err
}

// Close flushes and closes the database and wipes the store's copies of
// the keys. Every write acknowledged before Close is durable afterwards,
// whatever SyncWrites was. Operations still running finish first; any
// operation after Close returns ErrClosed, as does a second Close.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("storage: %w", ErrClosed)
	}
	s.closed = true
	err := s.db.Close()
	crypto.Wipe(s.bkey)
	crypto.Wipe(s.rkey[:])
	if err != nil {
		return fmt.Errorf("storage: closing database: %w", err)
	}
	return nil
}

// Sync makes every write acknowledged so far survive power loss, for a
// store opened without SyncWrites (for example before a laptop sleeps).
// It returns ErrClosed after Close.
func (s *Store) Sync() error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	return s.sync()
}

func (s *Store) sync() error {
	if err := s.db.Sync(); err != nil {
		return fmt.Errorf("storage: sync: %w", err)
	}
	return nil
}

// acquire takes the shared lock for one operation, or fails if the store
// is closed. The caller releases with s.mu.RUnlock.
func (s *Store) acquire() error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return fmt.Errorf("storage: %w", ErrClosed)
	}
	return nil
}

// view runs fn in a read-only transaction.
func (s *Store) view(fn func(txn *badger.Txn) error) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	s.shredMu.RLock()
	defer s.shredMu.RUnlock()
	return s.db.View(fn)
}

// update runs fn in a write transaction, serialised with every other write.
// The transaction commits only if fn returns nil; then, and only then, its
// writes are acknowledged (see the package's durability contract).
func (s *Store) update(fn func(txn *badger.Txn) error) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	return s.write(fn)
}

// write is update for a caller that already holds the shared lock.
func (s *Store) write(fn func(txn *badger.Txn) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.updateLocked(fn)
}

// updateLocked is update for a caller that already holds s.wmu and the
// shared lock.
func (s *Store) updateLocked(fn func(txn *badger.Txn) error) error {
	err := s.db.Update(fn)
	if errors.Is(err, badger.ErrTxnTooBig) {
		return fmt.Errorf("storage: write too large for one transaction: %w", ErrInvalid)
	}
	return err
}

// setSealed seals value under the Records key, bound to key, and stores it.
func (s *Store) setSealed(txn *badger.Txn, key, value []byte) error {
	sealed, err := crypto.Seal(&s.rkey, value, key, nil)
	if err != nil {
		return fmt.Errorf("storage: sealing: %w", err)
	}
	return txn.Set(key, sealed)
}

// getSealed reads and opens the sealed value at key. A value that does not
// authenticate (a changed byte, or a value moved from another key) is
// ErrCorrupt; it is never returned.
func (s *Store) getSealed(txn *badger.Txn, key []byte) ([]byte, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("storage: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: reading: %w", err)
	}
	return s.openItem(item)
}

// openItem opens the sealed value of an iterator or Get item.
func (s *Store) openItem(item *badger.Item) ([]byte, error) {
	sealed, err := item.ValueCopy(nil)
	if err != nil {
		return nil, fmt.Errorf("storage: reading value: %w", err)
	}
	value, err := crypto.Open(&s.rkey, sealed, item.Key())
	if err != nil {
		return nil, fmt.Errorf("storage: %w: %w", ErrCorrupt, err)
	}
	return value, nil
}

// deletePrefix deletes every key that begins with prefix, in transactions
// of bounded size. It is used for whole-group and whole-epoch deletion,
// which need not be atomic: each is safe to run again. The caller holds the
// shared lock, not s.wmu.
func (s *Store) deletePrefix(prefix []byte) (int, error) {
	const chunk = 1000
	total := 0
	for {
		var keys [][]byte
		err := s.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			defer it.Close()
			for it.Rewind(); it.Valid() && len(keys) < chunk; it.Next() {
				keys = append(keys, it.Item().KeyCopy(nil))
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		if len(keys) == 0 {
			return total, nil
		}
		err = s.write(func(txn *badger.Txn) error {
			for _, k := range keys {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += len(keys)
	}
}
