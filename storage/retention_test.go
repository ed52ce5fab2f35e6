package storage

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/hearthnet/hearth/crypto"
)

const day = 24 * time.Hour

// epochFixture stores, for one group, envelopes of epoch 1 received at
// t0+0h..9h and of epoch 2 at t0+20h..29h, a local copy of each, and a
// secret and chain state for both epochs; epoch 1 ended at t0+15h.
func epochFixture(t *testing.T, s *Store, group crypto.GroupID) (epoch1, epoch2 []EnvelopeID) {
	t.Helper()
	for e, first := range map[uint64]int{1: 0, 2: 20} {
		for gen := 0; gen < 10; gen++ {
			raw := testEnvelope(group, e, 0, uint32(gen))
			meta := EnvelopeMeta{Epoch: e, Generation: uint32(gen), Received: t0.Add(time.Duration(first+gen) * time.Hour)}
			if _, err := s.PutEnvelope(group, meta, raw); err != nil {
				t.Fatal(err)
			}
			id := EnvelopeIDOf(raw)
			if err := s.PutMessage(group, id, uint64(meta.Received.UnixNano()), []byte("content")); err != nil {
				t.Fatal(err)
			}
			if e == 1 {
				epoch1 = append(epoch1, id)
			} else {
				epoch2 = append(epoch2, id)
			}
		}
		if err := s.Put(KindEpochSecret, group, EpochKey(e, nil), []byte("epoch secret")); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(KindChainState, group, EpochKey(e, []byte{0}), []byte("chain key")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.MarkEpochEnded(group, 1, t0.Add(15*time.Hour)); err != nil {
		t.Fatal(err)
	}
	return epoch1, epoch2
}

func present(t *testing.T, s *Store, group crypto.GroupID, ids []EnvelopeID) (envelopes, messages int) {
	t.Helper()
	for _, id := range ids {
		if _, err := s.GetEnvelope(group, id); err == nil {
			envelopes++
		} else if !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
		if _, err := s.GetMessage(group, id); err == nil {
			messages++
		} else if !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
	}
	return envelopes, messages
}

func hasRecord(t *testing.T, s *Store, kind Kind, group crypto.GroupID, key []byte) bool {
	t.Helper()
	_, err := s.Get(kind, group, key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func TestExpireRemovesEnvelopesCopiesAndEpochKeysTogether(t *testing.T) {
	s := openNew(t, t.TempDir())
	defer mustClose(t, s)
	kept := crypto.GroupID{0x4b} // no retention: forever
	e1, e2 := epochFixture(t, s, testGroup)
	k1, _ := epochFixture(t, s, kept)
	if err := s.SetRetention(testGroup, 30*day); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.Retention(testGroup); d != 30*day {
		t.Fatalf("Retention = %v", d)
	}

	// Half of epoch 1 is past retention; the epoch is not yet.
	st, err := s.Expire(t0.Add(30*day + 4*time.Hour + 30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if st != (ExpireStats{Envelopes: 5, Messages: 5}) {
		t.Fatalf("first Expire = %+v", st)
	}
	if env, msg := present(t, s, testGroup, e1); env != 5 || msg != 5 {
		t.Fatalf("epoch 1 keeps %d envelopes, %d copies; want 5, 5", env, msg)
	}
	if !hasRecord(t, s, KindEpochSecret, testGroup, EpochKey(1, nil)) {
		t.Fatal("epoch 1 secret deleted while its envelopes remain")
	}
	vec, _ := s.GenerationVector(testGroup)
	if vec[0].Epoch != 1 || !reflect.DeepEqual(vec[0].Held, []GenerationRange{{5, 9}}) {
		t.Fatalf("vector after partial expiry = %+v", vec)
	}

	// All of epoch 1 is past retention: envelopes, copies and keys go.
	st, err = s.Expire(t0.Add(30*day + 16*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// Epoch 1's envelopes all arrived on t0's day, which is now wholly past
	// retention: that day's shred key goes, and so does epoch 1's.
	if st != (ExpireStats{Envelopes: 5, Messages: 5, Epochs: 1, ShredKeys: 2}) {
		t.Fatalf("second Expire = %+v", st)
	}
	for _, k := range [][]byte{dayShredKey(testGroup, dayOf(uint64(t0.UnixNano()))), epochShredKey(testGroup, 1)} {
		if err := s.db.View(func(txn *badger.Txn) error { _, err := txn.Get(k); return err }); !errors.Is(err, badger.ErrKeyNotFound) {
			t.Fatalf("shred key %x survived its period: %v", k, err)
		}
	}
	if env, msg := present(t, s, testGroup, e1); env != 0 || msg != 0 {
		t.Fatalf("expired epoch keeps %d envelopes, %d copies", env, msg)
	}
	for _, k := range []struct {
		kind Kind
		key  []byte
	}{{KindEpochSecret, EpochKey(1, nil)}, {KindChainState, EpochKey(1, []byte{0})}} {
		if hasRecord(t, s, k.kind, testGroup, k.key) {
			t.Fatalf("%v of the expired epoch survived", k.kind)
		}
	}
	// Epoch 2 is current and within retention: untouched.
	if env, msg := present(t, s, testGroup, e2); env != 10 || msg != 10 {
		t.Fatalf("epoch 2 keeps %d envelopes, %d copies; want 10, 10", env, msg)
	}
	if !hasRecord(t, s, KindEpochSecret, testGroup, EpochKey(2, nil)) || !hasRecord(t, s, KindChainState, testGroup, EpochKey(2, []byte{0})) {
		t.Fatal("epoch 2 keys deleted")
	}
	// The group kept forever lost nothing.
	if env, msg := present(t, s, kept, k1); env != 10 || msg != 10 || !hasRecord(t, s, KindEpochSecret, kept, EpochKey(1, nil)) {
		t.Fatalf("group without retention lost data: %d envelopes, %d copies", env, msg)
	}
	// Pages no longer show what expired.
	page, _ := s.EnvelopesSince(testGroup, 0, 100)
	msgs, _ := s.Messages(testGroup, nil, 100)
	if len(page) != 10 || len(msgs) != 10 {
		t.Fatalf("after expiry: %d envelopes, %d messages listed; want 10, 10", len(page), len(msgs))
	}

	// Forever again: nothing more expires, however late.
	if err := s.SetRetention(testGroup, 0); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Expire(t0.Add(1000 * day)); st != (ExpireStats{}) {
		t.Fatalf("Expire with retention forever deleted %+v", st)
	}
}

// TestExpireWaitsForLateEnvelopes: an envelope of an ended epoch that
// arrived late (sync after a long absence) keeps the epoch's keys until it
// expires itself.
func TestExpireWaitsForLateEnvelopes(t *testing.T) {
	s := openNew(t, t.TempDir())
	defer mustClose(t, s)
	epochFixture(t, s, testGroup)
	late := testEnvelope(testGroup, 1, 4, 0)
	if _, err := s.PutEnvelope(testGroup, EnvelopeMeta{Epoch: 1, Sender: 4, Received: t0.Add(5 * day)}, late); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRetention(testGroup, 7*day); err != nil {
		t.Fatal(err)
	}
	st, err := s.Expire(t0.Add(8 * day))
	if err != nil {
		t.Fatal(err)
	}
	if st.Epochs != 0 || !hasRecord(t, s, KindEpochSecret, testGroup, EpochKey(1, nil)) {
		t.Fatalf("epoch keys deleted while a late envelope remains: %+v", st)
	}
	st, err = s.Expire(t0.Add(12 * day))
	if err != nil {
		t.Fatal(err)
	}
	if st.Epochs != 1 || hasRecord(t, s, KindEpochSecret, testGroup, EpochKey(1, nil)) {
		t.Fatalf("epoch 1 not expired once its late envelope was: %+v", st)
	}
}

// allKeys lists every live key in the database.
func allKeys(t *testing.T, s *Store) [][]byte {
	t.Helper()
	var keys [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func keysOfGroup(t *testing.T, s *Store, group crypto.GroupID) int {
	n := 0
	for _, k := range allKeys(t, s) {
		if len(k) >= 17 && bytes.Equal(k[1:17], group[:]) {
			n++
		}
	}
	return n
}

func TestDeleteGroup(t *testing.T) {
	s := openNew(t, t.TempDir())
	defer mustClose(t, s)
	other := crypto.GroupID{0x4b}
	for _, g := range []crypto.GroupID{testGroup, other} {
		epochFixture(t, s, g)
		for _, k := range []Kind{KindGroup, KindRoster, KindCommit, KindInvite, KindLocal} {
			if err := s.Put(k, g, []byte("k"), []byte("v")); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SetRetention(g, day); err != nil {
			t.Fatal(err)
		}
	}
	before := keysOfGroup(t, s, other)
	if err := s.DeleteGroup(testGroup); err != nil {
		t.Fatal(err)
	}
	if n := keysOfGroup(t, s, testGroup); n != 0 {
		t.Fatalf("%d keys of the deleted group remain", n)
	}
	if n := keysOfGroup(t, s, other); n != before {
		t.Fatalf("other group has %d keys, had %d", n, before)
	}
	if groups, _ := s.Groups(); !reflect.DeepEqual(groups, []crypto.GroupID{other}) {
		t.Fatalf("Groups = %v", groups)
	}
}

// TestDeletedStaysDeletedAfterGC guards against Badger's old bug in which
// keys deleted from the value log came back after value-log GC: values in
// the value log are deleted, the tree is compacted, GC rewrites the logs,
// and across reopenings the deleted records stay deleted while the kept
// ones stay intact.
func TestDeletedStaysDeletedAfterGC(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s")
	opts := Options{Create: true, valueLogFileSize: 1 << 20}
	s, err := Open(dir, testKeys(1), opts)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000
	var ids []EnvelopeID
	for i := 0; i < n; i += 100 {
		var batch []EnvelopeInput
		for j := i; j < i+100; j++ {
			raw := testEnvelope(testGroup, 1, 0, uint32(j))
			received := t0
			if j%3 != 0 {
				received = t0.Add(-100 * day) // two thirds will expire
			}
			batch = append(batch, EnvelopeInput{Meta: EnvelopeMeta{Epoch: 1, Generation: uint32(j), Received: received}, Raw: raw})
			ids = append(ids, EnvelopeIDOf(raw))
		}
		if _, err := s.PutEnvelopes(testGroup, batch); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i += 2 {
		if err := s.PutMessage(testGroup, ids[i], uint64(i), bytes.Repeat([]byte{'m'}, 700)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetRetention(testGroup, 30*day); err != nil {
		t.Fatal(err)
	}
	st, err := s.Expire(t0)
	if err != nil || st.Envelopes != 2000 || st.Messages != 1000 {
		t.Fatalf("Expire = %+v, %v", st, err)
	}
	logsBefore, _ := filepath.Glob(filepath.Join(dir, "*.vlog"))
	mustClose(t, s) // flushes the memtable holding the deletions

	check := func(stage string) {
		t.Helper()
		s, err := Open(dir, testKeys(1), Options{valueLogFileSize: 1 << 20})
		if err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		defer mustClose(t, s)
		for i, id := range ids {
			e, err := s.GetEnvelope(testGroup, id)
			switch {
			case i%3 == 0 && (err != nil || !bytes.Equal(e.Raw, testEnvelope(testGroup, 1, 0, uint32(i)))):
				t.Fatalf("%s: kept envelope %d: %v", stage, i, err)
			case i%3 != 0 && !errors.Is(err, ErrNotFound):
				t.Fatalf("%s: deleted envelope %d came back (err %v)", stage, i, err)
			}
			m, err := s.GetMessage(testGroup, id)
			switch {
			case i%3 == 0 && i%2 == 0 && (err != nil || len(m.Content) != 700):
				t.Fatalf("%s: kept copy %d: %v", stage, i, err)
			case (i%3 != 0 || i%2 != 0) && !errors.Is(err, ErrNotFound):
				t.Fatalf("%s: deleted copy %d came back (err %v)", stage, i, err)
			}
		}
		if vec, _ := s.GenerationVector(testGroup); len(vec) != 1 || len(vec[0].Held) != n/3 {
			t.Fatalf("%s: vector %+v", stage, vec)
		}
		if keys := len(allKeys(t, s)); keys != 2+1+1+1000*4+500*2 { // meta, retention, t0's shred key, 4 keys per envelope, 2 per copy
			t.Fatalf("%s: %d keys live", stage, keys)
		}
	}
	check("before GC")

	s, err = Open(dir, testKeys(1), Options{valueLogFileSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ {
		if err := s.Reclaim(); err != nil {
			t.Fatal(err)
		}
	}
	mustClose(t, s)
	logsAfter, _ := filepath.Glob(filepath.Join(dir, "*.vlog"))
	rewritten := 0
	for _, f := range logsBefore {
		if !slices.Contains(logsAfter, f) {
			rewritten++
		}
	}
	if rewritten == 0 {
		t.Fatalf("value-log GC removed none of %d files; the test did not exercise it", len(logsBefore))
	}
	t.Logf("value-log GC rewrote %d of %d files", rewritten, len(logsBefore))
	check("after GC")
	check("after GC, reopened again")
}
