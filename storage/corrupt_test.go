package storage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/hearthnet/hearth/crypto"
)

// rawGet and rawSet reach under the sealing layer, as an attacker who can
// write to the disk (through Badger's unauthenticated AES-CTR) could.
func rawGet(t *testing.T, s *Store, key []byte) []byte {
	t.Helper()
	var v []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func rawSet(t *testing.T, s *Store, key, value []byte) {
	t.Helper()
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(key, value) }); err != nil {
		t.Fatal(err)
	}
}

// TestFlippedByteDetected flips one byte of each kind of sealed value:
// every read reports ErrCorrupt and returns nothing. A flip inside the seal
// is an authentication failure (crypto.ErrDecrypt); a flip in the clear
// header of a day-sealed value (its version or its day) is refused before
// any key is tried.
func TestFlippedByteDetected(t *testing.T) {
	s := openNew(t, t.TempDir())
	defer mustClose(t, s)
	if err := s.Put(KindRoster, testGroup, []byte("r"), []byte("pseudonym: river")); err != nil {
		t.Fatal(err)
	}
	id := putEnvelopes(t, s, testGroup, 0, 0, 1)[0]
	if err := s.PutMessage(testGroup, id, 5, []byte("I made it to thirty days")); err != nil {
		t.Fatal(err)
	}
	keys := map[string][]byte{
		"record":   recordKey(KindRoster, testGroup, []byte("r")),
		"envelope": envelopeKey(testGroup, id),
		"message":  messageKey(testGroup, 5, id),
	}
	reads := map[string]func() (any, error){
		"record":   func() (any, error) { return s.Get(KindRoster, testGroup, []byte("r")) },
		"envelope": func() (any, error) { return s.GetEnvelope(testGroup, id) },
		"message":  func() (any, error) { return s.Messages(testGroup, nil, 10) },
	}
	for name, key := range keys {
		good := rawGet(t, s, key)
		header := 0
		if name != "record" {
			header = daySealedHeaderSize
		}
		for _, off := range []int{0, 2, header + crypto.NonceSize + 3, len(good) - 1} {
			bad := bytes.Clone(good)
			bad[off] ^= 0x01
			rawSet(t, s, key, bad)
			v, err := reads[name]()
			if !errors.Is(err, ErrCorrupt) || (off >= header && !errors.Is(err, crypto.ErrDecrypt)) {
				t.Errorf("%s with byte %d flipped: err = %v, want ErrCorrupt", name, off, err)
			}
			switch v := v.(type) {
			case []byte:
				if v != nil {
					t.Errorf("%s: corrupted read returned %q", name, v)
				}
			case []Message:
				if len(v) != 0 {
					t.Errorf("%s: corrupted read returned %d messages", name, len(v))
				}
			}
		}
		rawSet(t, s, key, good)
		if _, err := reads[name](); err != nil {
			t.Errorf("%s after restoring: %v", name, err)
		}
	}
}

// TestSwappedValueDetected moves a sealed value to another key, as an
// attacker rearranging records would: it does not open there.
func TestSwappedValueDetected(t *testing.T) {
	s := openNew(t, t.TempDir())
	defer mustClose(t, s)
	other := crypto.GroupID{0x77}
	if err := s.Put(KindGroup, testGroup, nil, []byte("name A")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(KindGroup, other, nil, []byte("name B")); err != nil {
		t.Fatal(err)
	}
	rawSet(t, s, recordKey(KindGroup, other, nil), rawGet(t, s, recordKey(KindGroup, testGroup, nil)))
	if v, err := s.Get(KindGroup, other, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("swapped value read as %q, %v; want ErrCorrupt", v, err)
	}
}

// TestFlippedByteOnDisk damages a value-log file on disk, under Badger's
// encryption: the read fails with ErrCorrupt rather than returning altered
// plaintext (AES-CTR alone would have flipped the same bit and carried on).
func TestFlippedByteOnDisk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s")
	s, err := Open(dir, testKeys(1), Options{Create: true, valueLogFileSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	content := bytes.Repeat([]byte("my sponsor's phone number "), 2500) // 65 KB
	if err := s.Put(KindLocal, testGroup, []byte("note"), content); err != nil {
		t.Fatal(err)
	}
	// Fill past the first value-log file, so the damaged one is not the
	// log head that Badger re-scans (and truncates) when it opens.
	putEnvelopes(t, s, testGroup, 0, 0, 1500)
	mustClose(t, s)

	logs, _ := filepath.Glob(filepath.Join(dir, "*.vlog"))
	sort.Strings(logs)
	if len(logs) < 2 {
		t.Fatalf("want at least two value-log files, have %d", len(logs))
	}
	flipByte(t, logs[0], 30000) // inside the 65 KB value, the first entry
	s, err = Open(dir, testKeys(1), Options{valueLogFileSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, s)
	v, err := s.Get(KindLocal, testGroup, []byte("note"))
	if !errors.Is(err, ErrCorrupt) || v != nil {
		t.Fatalf("damaged value read = %d bytes, %v; want ErrCorrupt", len(v), err)
	}
	if _, err := os.Stat(logs[0]); err != nil {
		t.Fatal(err)
	}
}
