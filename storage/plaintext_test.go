package storage

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

// TestNothingReadableOnDisk writes a known marker as content, as a
// pseudonym and as a group name, through every path that stores values
// (every record kind, small and value-log-sized, envelopes and local copies),
// closes the store and reads every file byte by byte: the marker is
// nowhere. It then opens the files with Badger and the Badger key alone (an
// attacker who broke or bypassed the outer layer): the marker is still in
// no key and no value, because Hearth sealed every value itself.
func TestNothingReadableOnDisk(t *testing.T) {
	const marker = "MARKER-river-stone-7731"
	dir := filepath.Join(t.TempDir(), "s")
	s := openNew(t, dir)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Put(KindGroup, testGroup, nil, []byte("group name: "+marker)))
	must(s.Put(KindRoster, testGroup, EpochKey(1, nil), []byte("pseudonym: "+marker)))
	must(s.Put(KindInvite, testGroup, []byte("i"), []byte("invite for "+marker)))
	must(s.Put(KindEpochSecret, testGroup, EpochKey(1, nil), []byte("secret "+marker)))
	must(s.Put(KindCommit, testGroup, []byte("c1"), []byte("commit adding the member "+marker)))
	must(s.Put(KindChainState, testGroup, EpochKey(1, []byte("send")), []byte("chain key of "+marker)))
	// Large enough for the value log, not only the tree.
	must(s.Put(KindCommit, testGroup, []byte("c2"), bytes.Repeat([]byte("roster of "+marker+" "), 30)))
	must(s.Put(KindChainState, testGroup, EpochKey(1, []byte("recv")), bytes.Repeat([]byte("skipped keys of "+marker+" "), 30)))
	must(s.Put(KindLocal, testGroup, []byte("journal"), bytes.Repeat([]byte(marker+" "), 40)))
	raw := append([]byte("envelope bytes "), marker...)
	if _, err := s.PutEnvelope(testGroup, EnvelopeMeta{Epoch: 1, Received: t0}, raw); err != nil {
		t.Fatal(err)
	}
	must(s.PutMessage(testGroup, EnvelopeIDOf(raw), 1, []byte("today I said: "+marker)))
	// Enough large values that the value log is used as well as the tree.
	for i := 0; i < 50; i++ {
		raw := bytes.Repeat([]byte(marker), 60)
		raw[0] = byte(i)
		if _, err := s.PutEnvelope(testGroup, EnvelopeMeta{Epoch: 1, Generation: uint32(i + 1), Received: t0}, raw); err != nil {
			t.Fatal(err)
		}
		must(s.PutMessage(testGroup, EnvelopeIDOf(raw), uint64(i), raw))
	}
	mustClose(t, s)

	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if bytes.Contains(b, []byte(marker)) {
			t.Errorf("%s holds the marker in the clear", filepath.Base(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 4 {
		t.Fatalf("scanned only %d files", files)
	}

	// Under Badger's layer: every value is sealed.
	keys := testKeys(1)
	db, err := badger.Open(badgerOptions(dir, keys.Badger[:], Options{}))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A control record written without Hearth's sealing, to show the scan
	// below does see plaintext values when there are any.
	control := []byte{0xff, 'c'}
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set(control, []byte(marker)) }); err != nil {
		t.Fatal(err)
	}
	values, controlSeen := 0, false
	err = db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			values++
			if bytes.Equal(it.Item().Key(), control) {
				controlSeen = bytes.Contains(v, []byte(marker))
				continue
			}
			if bytes.Contains(v, []byte(marker)) || bytes.Contains(it.Item().Key(), []byte(marker)) {
				t.Errorf("record with key prefix 0x%02x holds the marker under Badger's encryption", it.Item().Key()[0])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !controlSeen {
		t.Fatal("the scan did not see the unsealed control record")
	}
	if values < 100 {
		t.Fatalf("iterated only %d records", values)
	}
}
