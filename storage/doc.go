// Package storage is Hearth's only way to disk: one Badger v4 database per
// node, in which nothing is readable without the member's passphrase.
//
// # What it promises
//
// Two layers of encryption. Badger is opened with StorageKeys.Badger
// (AES-256-CTR over every file: keys, values, indexes, logs). That layer
// does not authenticate, so on top of it every value that carries content,
// pseudonyms, group names or keys is sealed by Hearth with
// XChaCha20-Poly1305, with the value's full Badger key as associated data:
// a changed byte is reported as ErrCorrupt on read, never returned, and a
// value moved to another key does not open. What retention deletes
// (envelopes, local copies, epoch secrets, chain state) is sealed under
// shred keys of its own period; everything else under StorageKeys.Records.
// Both keys come from the keystore (crypto.DeriveStorageKeys) and are never
// written to disk. Keys are not sealed by Hearth: they hold only random IDs,
// counters and times (the layout is in keys.go and docs/PROTOCOL.md).
//
// The store knows nothing of protocol types. It stores the bytes the node
// gives it, keyed by what the node tells it: an envelope's ID is the
// SHA-256 of its bytes, and its epoch, sender index, generation and
// receive time are passed in by the node, which learns them by opening it.
//
// # Durability
//
// A write is acknowledged when the call that makes it returns nil. Every
// acknowledged write survives the process being killed at any moment
// (kill -9, a crash, the OOM killer): Badger has copied it into its
// memory-mapped log files before the call returns, and the kernel writes
// those out even after the process is gone. With Options.SyncWrites, an
// acknowledged write also survives power loss and kernel crashes, because
// Badger fsyncs before acknowledging; without it, the last writes before
// such a failure may be lost (call Sync to narrow the window). Envelopes
// lost that way are fetched again from other members by sync.
//
// Badger replays its logs when it opens a store and cuts each at the first
// entry that does not verify. After a crash that is the half-written last
// entry, which was never acknowledged; a log damaged in the middle is
// refused with ErrCorrupt instead, before Badger can drop the acknowledged
// writes after the damage (logcheck.go).
//
// Each call is atomic: a PutEnvelopes batch, an envelope with its index
// entries, an expired envelope with its local copy, are all stored or all
// absent after a crash, never half. The calls that are documented as
// running in several transactions (DeleteGroup, the epoch part of Expire)
// can each be run again after an interruption.
//
// TestKillDurability shows the contract: a child process stores envelopes
// and reports each one only after PutEnvelope returns, it is killed with
// SIGKILL at a random moment, and every reported envelope is found intact
// on reopening, with no partial batch.
//
// # Memory budget
//
// Badger's defaults are for servers (five 64 MB memtables, a 256 MB block
// cache, an unbounded index cache). Hearth runs on members' own machines,
// so options.go bounds Badger's standing memory at about 65 MB however
// large the store grows: three 8 MB memtables (about 10.5 MB of arena
// each), a 16 MB block cache (Badger requires one when encryption is on), a
// 16 MB index cache (unbounded if left at zero), 64 MB value-log files and
// two compactors. Envelopes and local copies are stored in the value log
// (values of 256 bytes or more), so the LSM tree holds only keys and small
// records and stays small enough for those caches. Compaction has a
// working set of its own while a bulk import (a long-absent member's sync)
// is being merged, and the value log is memory-mapped, so pages of it
// recently written or read count as resident file pages, which the kernel
// reclaims under pressure. docs/PERFORMANCE.md records the resident memory
// of an idle store and of one holding 1,000,000 envelopes of 1 KiB.
//
// # Lifetime of data
//
// Retention (SetRetention, Expire) deletes envelopes together with their
// local copies, and the secrets and chain state of ended epochs once
// nothing in them is left. Deleting a record in Badger leaves its old
// bytes in the files until compaction and value-log GC rewrite them, which
// may be never; so the store crypto-shreds instead (shred.go). Envelopes
// and their copies are sealed under a random key per (group, UTC day of
// receipt), epoch-scoped records under a random key per (group, epoch),
// each key a small record in the LSM tree sealed under the Records key.
// Expire destroys the key of every day wholly past retention (so at most a
// day after the envelopes themselves expired) and of every epoch it
// expires, and DeleteGroup every key of the group: Badger's DropPrefix
// flushes the memtables (deleting their write-ahead logs) and rewrites
// every table holding the key without any version of it, and the store
// checks that none survived. From then on, what the key sealed cannot be
// read from any file by anyone, passphrase or not. Groups kept forever
// never lose their keys.
//
// What remains: the blocks of files Badger has unlinked (old tables, logs,
// value-log files GC replaced) stay on the device until the file system
// reuses them, and flash storage and copy-on-write file systems may keep
// them longer. A program cannot reach them; full-disk encryption is the
// answer. The expired values' bytes stay in live value-log files, sealed
// under destroyed keys, until Reclaim rewrites those files to free the
// space: it rewrites every file (other than the one being written) that is
// at least a tenth garbage. A node runs Expire and then Reclaim at start-up
// and periodically. Wipe crypto-shreds the whole store: it destroys the key
// registry first, so every file is unreadable at once, and then removes the
// files.
//
// # Schema
//
// The database holds its schema version. Open refuses a newer one
// (ErrSchema) and upgrades an older one through the migration table in
// store.go, one version at a time, before it returns. Schema 1 sealed
// everything under the Records key; the migration to schema 2 (migrate.go)
// re-seals envelopes, copies and epoch records under shred keys, then
// reopens Badger and reclaims, so the value-log files holding the schema-1
// copies (and whatever schema 1's retention had deleted) are rewritten.
package storage
