package storage

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Options configure Open. The zero value opens an existing store, logs
// nothing, and gives the process-crash durability contract (see the
// package documentation).
type Options struct {
	// Create makes a new store when the directory is missing or empty.
	// The directory is created with mode 0700. Without Create, opening a
	// directory that holds no store returns ErrNotFound and creates nothing.
	Create bool
	// Logger receives Badger's warnings and errors and the store's own
	// notices (schema migrations). Neither ever carries content, names,
	// pseudonyms or keys. Nil discards them.
	Logger *slog.Logger
	// SyncWrites makes every acknowledged write survive power loss and
	// operating-system crashes too, at the cost of an fsync per write
	// transaction (batch with PutEnvelopes). Without it, acknowledged
	// writes survive the process being killed, but not the machine.
	SyncWrites bool

	// Test hooks, set only by this package's tests.
	valueLogFileSize int64       // 0: the memory-budget default
	schemaVersion    uint32      // 0: SchemaVersion
	migrations       []migration // nil: schemaMigrations()
}

// hearthMagic is stored by Badger in the MANIFEST header ("external magic")
// and checked at every open: a Badger database written by another program
// is reported as ErrCorrupt before anything of it is read or changed.
const hearthMagic = 0x4854 // "HT"

// Memory budget. Badger's defaults are sized for servers (5 x 64 MB
// memtables, a 256 MB block cache, every table index in memory, 1 GB value
// log files). Hearth runs as a desktop daemon beside a browser and must stay
// small whether it holds a week of one group or years of many; the numbers
// below bound Badger's standing memory at about 65 MB however large the
// store grows (compaction adds a transient working set during bulk
// imports), and docs/PERFORMANCE.md records what a store of 1,000,000
// envelopes actually uses.
const (
	// Memtables: one being written, up to two waiting to be flushed, 8 MB
	// each. The largest transaction is 15% of a memtable (1.2 MB of keys
	// and small values); envelopes and local copies sit in the value log
	// (see valueThreshold), so only their keys count, and MaxEnvelopeBatch
	// stays far inside it.
	memTableSize = 8 << 20
	numMemtables = 3
	// Block cache: decrypted table blocks. Badger requires it to be
	// non-zero when encryption is on. The tables hold keys and small
	// records only, so 16 MB covers the hot part of the index of a large
	// store.
	blockCacheSize = 16 << 20
	// Index cache: table indexes and bloom filters. Zero would mean every
	// index of every table held in memory, growing with the store.
	indexCacheSize = 16 << 20
	// Value log files of 64 MB: value-log GC rewrites whole files, so
	// smaller files let deleted envelopes be physically reclaimed sooner
	// (see Reclaim), without a file count that grows too fast.
	valueLogFileSize = 64 << 20
	// Values of 256 bytes or more (every envelope, every local copy, large
	// records) live in the value log; keys, indexes and small records live
	// in the LSM tree. The tree stays small, so compaction rewrites little
	// and the index cache covers it, and bulk envelope inserts are written
	// about once instead of once per level.
	valueThreshold = 256
	numCompactors  = 2
)

// badgerOptions builds Badger's options for a store in dir.
func badgerOptions(dir string, badgerKey []byte, opts Options) badger.Options {
	vlogSize := int64(valueLogFileSize)
	if opts.valueLogFileSize != 0 {
		vlogSize = opts.valueLogFileSize
	}
	var logger badger.Logger
	if opts.Logger != nil {
		logger = badgerLogger{opts.Logger}
	}
	return badger.DefaultOptions(dir).
		WithLogger(logger).
		WithSyncWrites(opts.SyncWrites).
		WithEncryptionKey(badgerKey).
		WithExternalMagic(hearthMagic).
		WithMemTableSize(memTableSize).
		WithNumMemtables(numMemtables).
		WithBlockCacheSize(blockCacheSize).
		WithIndexCacheSize(indexCacheSize).
		WithValueLogFileSize(vlogSize).
		WithValueThreshold(valueThreshold).
		WithNumCompactors(numCompactors).
		WithNumVersionsToKeep(1).
		// Sealed values do not compress, and compressing before
		// encrypting would let sizes say something about contents.
		WithCompression(options.None).
		// Table blocks are checked against their checksums when read, so a
		// damaged key is reported instead of misread.
		WithChecksumVerificationMode(options.OnBlockRead).
		// Every write transaction runs under Store.wmu, so Badger's
		// conflict tracking would only cost memory.
		WithDetectConflicts(false).
		WithMetricsEnabled(false).
		// Compaction is what tells value-log GC which files hold deleted
		// values; a quiet desktop store may never fill L0 enough to
		// compact on its own, so Close pushes L0 down. That lets Reclaim
		// physically remove expired envelopes after the next restart.
		WithCompactL0OnClose(true)
}

// badgerLogger routes Badger's log to slog: errors and warnings at their
// levels, informational and debug chatter dropped. Badger never prints.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) log(level slog.Level, format string, args []any) {
	if !b.l.Enabled(context.Background(), level) {
		return
	}
	b.l.Log(context.Background(), level, "badger: "+strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (b badgerLogger) Errorf(format string, args ...any)   { b.log(slog.LevelError, format, args) }
func (b badgerLogger) Warningf(format string, args ...any) { b.log(slog.LevelWarn, format, args) }
func (b badgerLogger) Infof(string, ...any)                {}
func (b badgerLogger) Debugf(string, ...any)               {}
