package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/fb"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/badger/v4/y"
	"github.com/dgraph-io/ristretto/v2"
	"github.com/dgraph-io/ristretto/v2/z"

	"github.com/hearthnet/hearth/crypto"
)

// diskRecord is one key/value pair found in a file of the store: a live or
// stale entry of a table, a value log or a memtable's write-ahead log.
type diskRecord struct {
	key, value []byte // key without Badger's version suffix
}

// diskRecords reads every entry of every file of the closed store in dir,
// as a thief who has the passphrase (hence both storage keys) would: each
// table with its data key, each value log and write-ahead log entry by
// entry, decrypted with every data key in the key registry. Stale versions
// and entries that Badger no longer points to are included. It works on a
// copy, since closing a table Badger opened deletes its file.
func diskRecords(t *testing.T, dir string, keys crypto.StorageKeys) []diskRecord {
	t.Helper()
	scratch := filepath.Join(t.TempDir(), "copy")
	copyDir(t, dir, scratch)
	kr, err := badger.OpenKeyRegistry(badger.KeyRegistryOptions{Dir: scratch, ReadOnly: true, EncryptionKey: keys.Badger[:]})
	if err != nil {
		t.Fatal(err)
	}
	defer kr.Close()
	mf, err := os.Open(filepath.Join(scratch, badger.ManifestFilename))
	if err != nil {
		t.Fatal(err)
	}
	manifest, _, err := badger.ReplayManifestFile(mf, hearthMagic, badgerOptions("", nil, Options{}))
	mf.Close()
	if err != nil {
		t.Fatal(err)
	}

	var out []diskRecord
	entries, err := os.ReadDir(scratch)
	if err != nil {
		t.Fatal(err)
	}
	logs, tables := 0, 0
	for _, de := range entries {
		name := filepath.Join(scratch, de.Name())
		switch {
		case strings.HasSuffix(name, ".vlog"), strings.HasSuffix(name, ".mem"):
			logs++
			out = append(out, logRecords(t, name, kr)...)
		case strings.HasSuffix(name, ".sst"):
			tables++
			id, ok := table.ParseFileID(name)
			tm, inManifest := manifest.Tables[id]
			if !ok || !inManifest {
				t.Fatalf("table %s is not in the manifest", de.Name())
			}
			out = append(out, tableRecords(t, name, kr, tm.KeyID)...)
		}
	}
	if logs == 0 || tables == 0 {
		t.Fatalf("scanned %d logs and %d tables; the store has both", logs, tables)
	}
	return out
}

// logRecords parses a value log or write-ahead log: a header of data key
// ID (8) and base IV (12), then entries of header ‖ key ‖ value ‖ CRC32,
// key and value AES-CTR-encrypted with IV = base IV ‖ entry offset.
func logRecords(t *testing.T, name string, kr *badger.KeyRegistry) []diskRecord {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 20 {
		return nil
	}
	dk, err := kr.DataKey(binary.BigEndian.Uint64(b[:8]))
	if err != nil || dk == nil {
		t.Fatalf("%s: data key: %v", filepath.Base(name), err)
	}
	var out []diskRecord
	for off := 20; off+2 < len(b); {
		p := off + 2 // meta, user meta
		klen, c1 := binary.Uvarint(b[p:])
		p += max(c1, 0)
		vlen, c2 := binary.Uvarint(b[p:])
		p += max(c2, 0)
		_, c3 := binary.Uvarint(b[p:])
		p += max(c3, 0)
		if klen <= 8 || c1 <= 0 || c2 <= 0 || c3 <= 0 || uint64(p)+klen+vlen+4 > uint64(len(b)) {
			break
		}
		iv := make([]byte, 16)
		copy(iv, b[8:20])
		binary.BigEndian.PutUint32(iv[12:], uint32(off))
		kv, err := y.XORBlockAllocate(b[p:p+int(klen+vlen)], dk.Data, iv)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, diskRecord{key: kv[:klen-8], value: kv[klen:]})
		off = p + int(klen+vlen) + 4
	}
	return out
}

// tableRecords lists every entry of a table, every version.
func tableRecords(t *testing.T, name string, kr *badger.KeyRegistry, keyID uint64) []diskRecord {
	t.Helper()
	dk, err := kr.DataKey(keyID)
	if err != nil {
		t.Fatal(err)
	}
	mf, err := z.OpenMmapFile(name, os.O_RDONLY, 0)
	if err != nil && !errors.Is(err, z.NewFile) {
		t.Fatal(err)
	}
	// Encrypted tables need an index cache to open.
	icache, err := ristretto.NewCache(&ristretto.Config[uint64, *fb.TableIndex]{NumCounters: 1000, MaxCost: 16 << 20, BufferItems: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer icache.Close()
	tbl, err := table.OpenTable(mf, table.Options{DataKey: dk, ChkMode: options.OnBlockRead, Compression: options.None, IndexCache: icache})
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(name), err)
	}
	defer tbl.DecrRef()
	var out []diskRecord
	it := tbl.NewIterator(0)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		out = append(out, diskRecord{key: bytes.Clone(y.ParseKey(it.Key())), value: bytes.Clone(it.Value().Value)})
	}
	return out
}

// recovered is what a thief reads back from the files.
type recovered struct {
	envelopes, copies map[EnvelopeID]bool
	epochRecords      map[uint64]int // by epoch: epoch secrets and chain state
	shredKeys         int            // distinct shred keys found
}

// recover tries every key the store still has on every value found in its
// files: the Records key, and every shred key that opens under the Records
// key from any entry of any file (live or stale), each tried both on
// day-sealed values and on plain seals. Badger's data keys are all in
// play already: diskRecords decrypted every file with them.
func recoverFromDisk(t *testing.T, dir string, keys crypto.StorageKeys) recovered {
	t.Helper()
	recs := diskRecords(t, dir, keys)
	var shred []*[crypto.KeySize]byte
	for _, r := range recs {
		if len(r.key) < 1 || (r.key[0] != prefixDayShredKey && r.key[0] != prefixEpochShredKey) {
			continue
		}
		k, err := crypto.Open(&keys.Records, r.value, r.key)
		if err != nil || len(k) != crypto.KeySize {
			continue
		}
		if !slices.ContainsFunc(shred, func(s *[crypto.KeySize]byte) bool { return bytes.Equal(s[:], k) }) {
			shred = append(shred, (*[crypto.KeySize]byte)(k))
		}
	}
	candidates := append([]*[crypto.KeySize]byte{&keys.Records}, shred...)
	open := func(key, value []byte) ([]byte, bool) {
		for _, k := range candidates {
			if pt, err := crypto.Open(k, value, key); err == nil {
				return pt, true
			}
			if _, header, sealed, err := splitDaySealed(value); err == nil {
				if pt, err := crypto.Open(k, sealed, daySealedAD(key, header)); err == nil {
					return pt, true
				}
			}
		}
		return nil, false
	}
	got := recovered{envelopes: map[EnvelopeID]bool{}, copies: map[EnvelopeID]bool{}, epochRecords: map[uint64]int{}, shredKeys: len(shred)}
	for _, r := range recs {
		if len(r.key) < 1+crypto.GroupIDSize {
			continue
		}
		switch r.key[0] {
		case prefixEnvelope:
			if pt, ok := open(r.key, r.value); ok && len(pt) > envelopeHeaderSize {
				got.envelopes[EnvelopeIDOf(pt[envelopeHeaderSize:])] = true
			}
		case prefixMessage:
			if f, ok := keyFields(r.key, 8, EnvelopeIDSize); ok {
				if _, ok := open(r.key, r.value); ok {
					got.copies[toID(f[1])] = true
				}
			}
		case byte(KindEpochSecret), byte(KindChainState):
			if _, epoch, ok := epochOfRecordKey(r.key); ok {
				if _, ok := open(r.key, r.value); ok {
					got.epochRecords[epoch]++
				}
			}
		}
	}
	return got
}

func countIn(set map[EnvelopeID]bool, ids map[EnvelopeID]bool) int {
	n := 0
	for id := range ids {
		if set[id] {
			n++
		}
	}
	return n
}

const confession = "I relapsed last night and nobody knows"

// reviewFixture is the security review's scenario: 3000 envelopes with a
// local copy each, 40% of them received 100 days before t0 in epoch 1
// (which ended then), the rest at t0 in epoch 2; both epochs have a secret
// and a chain state large enough for the value log. A 40% share of garbage
// is below the old value-log GC ratio (0.5), which is why nothing was
// rewritten and everything stayed readable.
func reviewFixture(t *testing.T, put func(meta EnvelopeMeta, raw, content []byte), putEpoch func(epoch uint64)) (expired, kept map[EnvelopeID]bool) {
	t.Helper()
	expired, kept = map[EnvelopeID]bool{}, map[EnvelopeID]bool{}
	content := []byte(confession + string(make([]byte, 300)))
	for j := 0; j < 3000; j++ {
		meta := EnvelopeMeta{Epoch: 2, Generation: uint32(j), Received: t0}
		if j%5 < 2 {
			meta = EnvelopeMeta{Epoch: 1, Generation: uint32(j), Received: t0.Add(-100 * day)}
		}
		raw := testEnvelope(testGroup, meta.Epoch, 0, uint32(j))
		put(meta, raw, content)
		if meta.Epoch == 1 {
			expired[EnvelopeIDOf(raw)] = true
		} else {
			kept[EnvelopeIDOf(raw)] = true
		}
	}
	putEpoch(1)
	putEpoch(2)
	return expired, kept
}

// TestExpiredUnrecoverableFromFiles is the regression test for the
// review's finding (retention's deletions could be decrypted from the
// value log with the passphrase). Before Expire, the decoder reads every
// envelope, copy and epoch record back from the files, which shows it
// works; after Expire, and again after Reclaim, it reads none of what
// expired, from any file, with any key the store still has, while
// everything kept is still there.
func TestExpiredUnrecoverableFromFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s")
	opts := Options{Create: true, valueLogFileSize: 1 << 20}
	s, err := Open(dir, testKeys(1), opts)
	if err != nil {
		t.Fatal(err)
	}
	var batch []EnvelopeInput
	var contents [][]byte
	flush := func() {
		if _, err := s.PutEnvelopes(testGroup, batch); err != nil {
			t.Fatal(err)
		}
		for i, in := range batch {
			if err := s.PutMessage(testGroup, EnvelopeIDOf(in.Raw), uint64(i), contents[i]); err != nil {
				t.Fatal(err)
			}
		}
		batch, contents = batch[:0], contents[:0]
	}
	expired, kept := reviewFixture(t, func(meta EnvelopeMeta, raw, content []byte) {
		batch = append(batch, EnvelopeInput{Meta: meta, Raw: raw})
		contents = append(contents, content)
		if len(batch) == 100 {
			flush()
		}
	}, func(epoch uint64) {
		if err := s.Put(KindEpochSecret, testGroup, EpochKey(epoch, nil), []byte("epoch secret")); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(KindChainState, testGroup, EpochKey(epoch, []byte{0}), bytes.Repeat([]byte{'c'}, 700)); err != nil {
			t.Fatal(err)
		}
	})
	if err := s.MarkEpochEnded(testGroup, 1, t0.Add(-99*day)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRetention(testGroup, 30*day); err != nil {
		t.Fatal(err)
	}
	mustClose(t, s)
	keys := testKeys(1)

	before := recoverFromDisk(t, dir, keys)
	if n := countIn(before.envelopes, expired); n != len(expired) || countIn(before.copies, expired) != len(expired) || before.epochRecords[1] != 2 {
		t.Fatalf("decoder sanity: before Expire it reads %d of %d envelopes, %d copies, %d epoch-1 records",
			n, len(expired), countIn(before.copies, expired), before.epochRecords[1])
	}

	s, err = Open(dir, testKeys(1), Options{valueLogFileSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Expire(t0)
	if err != nil || st.Envelopes != 1200 || st.Messages != 1200 || st.Epochs != 1 || st.ShredKeys != 2 {
		t.Fatalf("Expire = %+v, %v", st, err)
	}
	logsBefore, _ := filepath.Glob(filepath.Join(dir, "*.vlog"))
	mustClose(t, s)

	check := func(stage string) {
		t.Helper()
		got := recoverFromDisk(t, dir, keys)
		if n, m := countIn(got.envelopes, expired), countIn(got.copies, expired); n != 0 || m != 0 || got.epochRecords[1] != 0 {
			t.Errorf("%s: %d of %d expired envelopes, %d deleted copies and %d records of the expired epoch decrypt from the files",
				stage, n, len(expired), m, got.epochRecords[1])
		}
		if n, m := countIn(got.envelopes, kept), countIn(got.copies, kept); n != len(kept) || m != len(kept) || got.epochRecords[2] == 0 {
			t.Errorf("%s: decoder reads only %d of %d kept envelopes, %d copies, %d records of epoch 2", stage, n, len(kept), m, got.epochRecords[2])
		}
		if got.shredKeys != 2 { // t0's day, epoch 2
			t.Errorf("%s: %d shred keys in the files, want 2", stage, got.shredKeys)
		}
	}
	check("after Expire")

	s, err = Open(dir, testKeys(1), Options{valueLogFileSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Reclaim(); err != nil {
		t.Fatal(err)
	}
	if env, msg := present(t, s, testGroup, slices.Collect(func(yield func(EnvelopeID) bool) {
		for id := range kept {
			if !yield(id) {
				return
			}
		}
	})); env != len(kept) || msg != len(kept) {
		t.Fatalf("after Reclaim the API reads %d kept envelopes and %d copies, want %d", env, msg, len(kept))
	}
	mustClose(t, s)
	check("after Reclaim")
	logsAfter, _ := filepath.Glob(filepath.Join(dir, "*.vlog"))
	rewritten := 0
	for _, f := range logsBefore {
		if !slices.Contains(logsAfter, f) {
			rewritten++
		}
	}
	if rewritten == 0 {
		t.Errorf("Reclaim rewrote none of %d value-log files with 40%% garbage", len(logsBefore))
	}
}

// TestDeleteGroupShreds: after DeleteGroup nothing of the group decrypts
// from the files, while another group's data does.
func TestDeleteGroupShreds(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s")
	s := openNew(t, dir)
	other := crypto.GroupID{0x4b}
	gone, _ := epochFixture(t, s, testGroup)
	stays, _ := epochFixture(t, s, other)
	if err := s.DeleteGroup(testGroup); err != nil {
		t.Fatal(err)
	}
	mustClose(t, s)
	got := recoverFromDisk(t, dir, testKeys(1))
	for _, id := range gone {
		if got.envelopes[id] || got.copies[id] {
			t.Fatal("an envelope or copy of the deleted group decrypts from the files")
		}
	}
	for _, id := range stays {
		if !got.envelopes[id] || !got.copies[id] {
			t.Fatal("decoder does not read the other group's envelopes")
		}
	}
}

// TestShredKeyOutlivesNoRecord: a day's key is kept while any envelope of
// that day remains (a late arrival), and an envelope stored again for a
// shredded day gets a new key and stays readable.
func TestShredKeyOutlivesNoRecord(t *testing.T) {
	s := openNew(t, t.TempDir())
	defer mustClose(t, s)
	if err := s.SetRetention(testGroup, day); err != nil {
		t.Fatal(err)
	}
	early := testEnvelope(testGroup, 1, 0, 0)
	if _, err := s.PutEnvelope(testGroup, EnvelopeMeta{Epoch: 1, Received: t0}, early); err != nil {
		t.Fatal(err)
	}
	// Cutoff in the middle of t0's day's successor: t0's day is over.
	st, err := s.Expire(t0.Add(2 * day))
	if err != nil || st.Envelopes != 1 || st.ShredKeys != 1 {
		t.Fatalf("Expire = %+v, %v", st, err)
	}
	// A late envelope for the same, shredded day: a fresh key.
	late := testEnvelope(testGroup, 1, 0, 1)
	if _, err := s.PutEnvelope(testGroup, EnvelopeMeta{Epoch: 1, Generation: 1, Received: t0.Add(time.Hour)}, late); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMessage(testGroup, EnvelopeIDOf(late), 1, []byte(confession)); err != nil {
		t.Fatal(err)
	}
	if m, err := s.GetMessage(testGroup, EnvelopeIDOf(late)); err != nil || string(m.Content) != confession {
		t.Fatalf("late copy = %q, %v", m.Content, err)
	}
	// Retention forever: nothing expires, the key stays.
	if err := s.SetRetention(testGroup, 0); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Expire(t0.Add(1000 * day)); err != nil || st != (ExpireStats{}) {
		t.Fatalf("Expire with retention forever = %+v, %v", st, err)
	}
	if _, err := s.GetEnvelope(testGroup, EnvelopeIDOf(late)); err != nil {
		t.Fatal(err)
	}
}

// writeV1Store writes the review's scenario in the schema-1 layout, the
// way the previous code did: every value sealed under the Records key,
// and retention's deletions as plain deletions of the same keys. It uses
// Badger directly, since the package no longer writes that layout.
func writeV1Store(t *testing.T, dir string) (expired, kept map[EnvelopeID]bool) {
	t.Helper()
	s, err := Open(dir, testKeys(1), Options{Create: true, valueLogFileSize: 1 << 20, schemaVersion: 1, migrations: []migration{}})
	if err != nil {
		t.Fatal(err)
	}
	var arrival uint64
	set := func(txn *badger.Txn, key, value []byte) {
		if value == nil {
			if err := txn.Set(key, nil); err != nil {
				t.Fatal(err)
			}
			return
		}
		if err := s.setSealed(txn, key, value); err != nil {
			t.Fatal(err)
		}
	}
	update := func(fn func(txn *badger.Txn)) {
		if err := s.db.Update(func(txn *badger.Txn) error { fn(txn); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	type stored struct {
		meta    EnvelopeMeta
		id      EnvelopeID
		arrival uint64
	}
	var all []stored
	expired, kept = reviewFixture(t, func(meta EnvelopeMeta, raw, content []byte) {
		arrival++
		id := EnvelopeIDOf(raw)
		update(func(txn *badger.Txn) {
			set(txn, envelopeKey(testGroup, id), encodeEnvelopeRecord(meta, arrival, raw))
			set(txn, envByGenerationKey(testGroup, meta.Epoch, meta.Sender, meta.Generation, id), nil)
			set(txn, envByArrivalKey(testGroup, arrival, id), nil)
			set(txn, envByReceivedKey(testGroup, uint64(meta.Received.UnixNano()), id), nil)
			set(txn, metaKey(metaArrival), encodeUint(arrival, 8))
			set(txn, messageKey(testGroup, arrival, id), content)
			set(txn, messageLinkKey(testGroup, id), encodeUint(arrival, 8))
		})
		all = append(all, stored{meta, id, arrival})
	}, func(epoch uint64) {
		update(func(txn *badger.Txn) {
			set(txn, recordKey(KindEpochSecret, testGroup, EpochKey(epoch, nil)), []byte("epoch secret"))
			set(txn, recordKey(KindChainState, testGroup, EpochKey(epoch, []byte{0})), bytes.Repeat([]byte{'c'}, 700))
		})
	})
	// Schema 1's Expire: the expired envelopes, their indexes and copies,
	// and the ended epoch's records, deleted.
	update(func(txn *badger.Txn) {
		set(txn, retentionKey(testGroup), encodeUint(uint64(30*day), 8))
		set(txn, epochEndedKey(testGroup, 2), encodeUint(uint64(t0.Add(day).UnixNano()), 8))
	})
	for i := 0; i < len(all); i += 200 {
		update(func(txn *badger.Txn) {
			for _, e := range all[i:min(i+200, len(all))] {
				if !expired[e.id] {
					continue
				}
				for _, k := range [][]byte{
					envelopeKey(testGroup, e.id),
					envByGenerationKey(testGroup, e.meta.Epoch, e.meta.Sender, e.meta.Generation, e.id),
					envByArrivalKey(testGroup, e.arrival, e.id),
					envByReceivedKey(testGroup, uint64(e.meta.Received.UnixNano()), e.id),
					messageKey(testGroup, e.arrival, e.id),
					messageLinkKey(testGroup, e.id),
				} {
					if err := txn.Delete(k); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	}
	update(func(txn *badger.Txn) {
		for _, k := range [][]byte{recordKey(KindEpochSecret, testGroup, EpochKey(1, nil)), recordKey(KindChainState, testGroup, EpochKey(1, []byte{0}))} {
			if err := txn.Delete(k); err != nil {
				t.Fatal(err)
			}
		}
	})
	mustClose(t, s)
	return expired, kept
}

// TestMigrateV1 opens a store written in schema 1 whose retention had
// already deleted 40% of it, in the review's scenario: the old layout
// leaves all of it decryptable from the files; the migration re-seals
// every kept record under shred keys, still readable through the API, and
// leaves nothing of what was deleted decryptable.
func TestMigrateV1(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s")
	expired, kept := writeV1Store(t, dir)
	keys := testKeys(1)
	old := recoverFromDisk(t, dir, keys)
	if n := countIn(old.envelopes, expired); n != len(expired) || countIn(old.copies, expired) != len(expired) || old.epochRecords[1] != 2 {
		t.Fatalf("schema 1 store: %d of %d deleted envelopes, %d copies, %d epoch-1 records decrypt; the review found all of them",
			n, len(expired), countIn(old.copies, expired), old.epochRecords[1])
	}

	s, err := Open(dir, keys, Options{valueLogFileSize: 1 << 20})
	if err != nil {
		t.Fatalf("migrating open: %v", err)
	}
	ids := slices.Collect(func(yield func(EnvelopeID) bool) {
		for id := range kept {
			if !yield(id) {
				return
			}
		}
	})
	if env, msg := present(t, s, testGroup, ids); env != len(kept) || msg != len(kept) {
		t.Fatalf("after migration the API reads %d of %d envelopes, %d copies", env, len(kept), msg)
	}
	if m, err := s.GetMessage(testGroup, ids[0]); err != nil || !strings.HasPrefix(string(m.Content), confession) {
		t.Fatalf("migrated copy = %.40q, %v", m.Content, err)
	}
	if v, err := s.Get(KindEpochSecret, testGroup, EpochKey(2, nil)); err != nil || string(v) != "epoch secret" {
		t.Fatalf("migrated epoch secret = %q, %v", v, err)
	}
	// Running the migration again (as after an interruption) changes
	// nothing and breaks nothing.
	if err := migrateToShredKeys(s); err != nil {
		t.Fatalf("second migration: %v", err)
	}
	if env, msg := present(t, s, testGroup, ids); env != len(kept) || msg != len(kept) {
		t.Fatalf("after a second migration the API reads %d envelopes, %d copies", env, msg)
	}
	mustClose(t, s)
	if v := storedSchema(t, dir); v != uint64(SchemaVersion) {
		t.Fatalf("schema after migration = %d", v)
	}

	got := recoverFromDisk(t, dir, keys)
	if n, m := countIn(got.envelopes, expired), countIn(got.copies, expired); n != 0 || m != 0 || got.epochRecords[1] != 0 {
		t.Errorf("after migration %d deleted envelopes, %d copies and %d epoch-1 records still decrypt from the files", n, m, got.epochRecords[1])
	}
	if n := countIn(got.envelopes, kept); n != len(kept) {
		t.Errorf("decoder reads %d of %d kept envelopes", n, len(kept))
	}

	// The migrated store expires by shredding like a new one.
	s = reopen(t, dir)
	defer mustClose(t, s)
	if st, err := s.Expire(t0.Add(60 * day)); err != nil || st.Envelopes != len(kept) || st.ShredKeys != 2 {
		t.Fatalf("Expire of the migrated store = %+v, %v", st, err)
	}
}
