package storage

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/hearthnet/hearth/crypto"
)

// testKeys derives storage keys from a root filled with b.
func testKeys(b byte) crypto.StorageKeys {
	var root [crypto.KeySize]byte
	for i := range root {
		root[i] = b
	}
	return crypto.DeriveStorageKeys(&root)
}

var testGroup = crypto.GroupID{0x47, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

func openNew(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir, testKeys(1), Options{Create: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func reopen(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir, testKeys(1), Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	return s
}

func mustClose(t testing.TB, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// storeWithData creates a closed store holding a record and enough
// envelopes that Badger has written tables and value-log files.
func storeWithData(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	s := openNew(t, dir)
	if err := s.Put(KindGroup, testGroup, nil, []byte("group record")); err != nil {
		t.Fatal(err)
	}
	putEnvelopes(t, s, testGroup, 0, 0, 200)
	mustClose(t, s)
	return dir
}

// hashDir returns the SHA-256 of every file under dir, by relative path.
func hashDir(t testing.TB, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out[rel] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameFiles(t testing.TB, before, after map[string][32]byte) {
	t.Helper()
	if len(before) != len(after) {
		t.Fatalf("file set changed: %d files before, %d after", len(before), len(after))
	}
	for name, h := range before {
		if after[name] != h {
			t.Fatalf("%s was modified or removed", name)
		}
	}
}

func TestCreateCloseReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s := openNew(t, dir)
	if err := s.Put(KindGroup, testGroup, nil, []byte("Tuesday evening circle")); err != nil {
		t.Fatal(err)
	}
	mustClose(t, s)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("store directory mode %v, want 0700", fi.Mode().Perm())
	}

	s = reopen(t, dir)
	defer mustClose(t, s)
	got, err := s.Get(KindGroup, testGroup, nil)
	if err != nil || string(got) != "Tuesday evening circle" {
		t.Fatalf("after reopen Get = %q, %v", got, err)
	}
}

func TestOpenMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "absent")
	_, err := Open(dir, testKeys(1), Options{})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open(missing) = %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open without Create created %s", dir)
	}
	empty := t.TempDir()
	if _, err := Open(empty, testKeys(1), Options{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open(empty dir) = %v, want ErrNotFound", err)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Fatalf("Open without Create wrote %d files into an empty directory", len(entries))
	}
}

// TestOpenErrorsLeaveFilesUntouched opens damaged, foreign and wrongly
// keyed stores: each gives its error, none panics, and not one byte of the
// directory changes.
func TestOpenErrorsLeaveFilesUntouched(t *testing.T) {
	cases := []struct {
		name    string
		damage  func(t *testing.T, dir string)
		keys    crypto.StorageKeys
		want    error
		crashed bool // start from a store left open, as a crash leaves it
	}{
		{"wrong key", func(*testing.T, string) {}, testKeys(2), ErrWrongKey, false},
		{"not a store", func(t *testing.T, dir string) {
			clearDir(t, dir)
			writeFile(t, filepath.Join(dir, "notes.txt"), []byte("shopping list"))
		}, testKeys(1), ErrCorrupt, false},
		{"no key registry", func(t *testing.T, dir string) {
			removeFile(t, filepath.Join(dir, badger.KeyRegistryFileName))
		}, testKeys(1), ErrCorrupt, false},
		{"truncated key registry", func(t *testing.T, dir string) {
			truncate(t, filepath.Join(dir, badger.KeyRegistryFileName), 10)
		}, testKeys(1), ErrCorrupt, false},
		{"damaged data key", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, badger.KeyRegistryFileName), -3)
		}, testKeys(1), ErrCorrupt, false},
		{"no manifest", func(t *testing.T, dir string) {
			removeFile(t, filepath.Join(dir, badger.ManifestFilename))
		}, testKeys(1), ErrCorrupt, false},
		{"damaged manifest", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, badger.ManifestFilename), 12)
		}, testKeys(1), ErrCorrupt, false},
		{"foreign magic", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, badger.ManifestFilename), 5)
		}, testKeys(1), ErrCorrupt, false},
		{"missing table", func(t *testing.T, dir string) {
			tables, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
			if len(tables) == 0 {
				t.Fatal("store has no tables to remove")
			}
			removeFile(t, tables[0])
		}, testKeys(1), ErrCorrupt, false},
		{"a file, not a directory", func(t *testing.T, dir string) {
			clearDir(t, dir)
			if err := os.Remove(dir); err != nil {
				t.Fatal(err)
			}
			writeFile(t, dir, []byte("not a directory"))
		}, testKeys(1), ErrCorrupt, false},
		// Badger would replay these logs up to the damage, cut them
		// there and carry on without every envelope stored after it.
		{"damaged memtable log", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, "00001.mem"), 20000)
		}, testKeys(1), ErrCorrupt, true},
		{"damaged memtable log entry header", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, "00001.mem"), logHeaderSize+2) // first key length
		}, testKeys(1), ErrCorrupt, true},
		{"damaged newest value log", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, "000001.vlog"), 100000)
		}, testKeys(1), ErrCorrupt, true},
		{"wrong key, crashed", func(*testing.T, string) {}, testKeys(2), ErrWrongKey, true},
	}
	base := storeWithData(t)
	crashed := crashedStore(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			if tc.crashed {
				copyDir(t, crashed, dir)
			} else {
				copyDir(t, base, dir)
			}
			tc.damage(t, dir)
			before := hashPath(t, dir)
			s, err := Open(dir, tc.keys, Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open = %v, want %v", err, tc.want)
			}
			t.Logf("Open: %v", err)
			sameFiles(t, before, hashPath(t, dir))
		})
	}
}

// crashedStore returns a copy of a store taken while it was still open,
// which is what a crash leaves: a memtable's write-ahead log (00001.mem)
// and the value log (000001.vlog) at their full preallocated size, written
// up to the last acknowledged write, and no tables. It holds the group
// record and 200 envelopes (generations 0 to 199 of sender 0, epoch 0).
func crashedStore(t testing.TB) string {
	t.Helper()
	live := filepath.Join(t.TempDir(), "live")
	s, err := Open(live, testKeys(1), Options{Create: true, valueLogFileSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, s)
	if err := s.Put(KindGroup, testGroup, nil, []byte("group record")); err != nil {
		t.Fatal(err)
	}
	putEnvelopes(t, s, testGroup, 0, 0, 200)
	dir := filepath.Join(t.TempDir(), "crashed")
	copyDir(t, live, dir)
	// The damage cases flip bytes well inside what each log holds.
	for name, least := range map[string]int{"00001.mem": 40000, "000001.vlog": 200000} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatalf("a store left open has no %s: %v", name, err)
		}
		if end := writtenEnd(t, filepath.Join(dir, name)); end < least {
			t.Fatalf("%s holds %d written bytes, want at least %d", name, end, least)
		}
	}
	return dir
}

// writtenEnd is the offset just past the last nonzero byte of a file.
func writtenEnd(t testing.TB, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	end := len(b)
	for end > 0 && b[end-1] == 0 {
		end--
	}
	return end
}

// TestCrashedLogsOpen: what a crash can leave in the logs opens, with every
// acknowledged write: a store left open as it is, one whose log ends in a
// half-written entry (a kill during a write), and one whose log lost a
// sector of its unsynced tail (power loss), which opens with the writes
// before the lost sector.
func TestCrashedLogsOpen(t *testing.T) {
	crashed := crashedStore(t)
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
		min    uint32 // envelopes that must remain
	}{
		{"as left", func(*testing.T, string) {}, 200},
		{"half-written entry in the memtable log", func(t *testing.T, dir string) {
			tornEntry(t, filepath.Join(dir, "00001.mem"), 2+3+49+12+4)
		}, 200},
		{"half-written entry in the value log", func(t *testing.T, dir string) {
			tornEntry(t, filepath.Join(dir, "000001.vlog"), 2+4+49+1100+4)
		}, 200},
		{"lost sector in the memtable log", func(t *testing.T, dir string) {
			name := filepath.Join(dir, "00001.mem")
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			at := writtenEnd(t, name) / 2 &^ (sectorSize - 1)
			clear(b[at : at+sectorSize])
			writeFile(t, name, b)
		}, 50},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			copyDir(t, crashed, dir)
			tc.damage(t, dir)
			s, err := Open(dir, testKeys(1), Options{valueLogFileSize: 1 << 20})
			if err != nil {
				t.Fatalf("Open = %v", err)
			}
			defer mustClose(t, s)
			v, err := s.GenerationVector(testGroup)
			if err != nil {
				t.Fatal(err)
			}
			if len(v) != 1 || len(v[0].Held) != 1 || v[0].Held[0].First != 0 {
				t.Fatalf("generation vector %v, want generations 0 to n of one sender", v)
			}
			n := v[0].Held[0].Last + 1
			if n < tc.min {
				t.Fatalf("%d envelopes after reopening, want at least %d", n, tc.min)
			}
			t.Logf("%d envelopes", n)
			if _, err := s.GetEnvelope(testGroup, EnvelopeIDOf(testEnvelope(testGroup, 0, 0, n-1))); err != nil {
				t.Fatalf("last envelope kept: %v", err)
			}
		})
	}
}

// tornEntry leaves after the last entry of a log what a process killed
// while copying one more entry of size bytes into it leaves: some of the
// entry's bytes, then the zeros the file was created with. Go's memmove
// stores the first bytes of a long copy last, so the entry's header is
// among the bytes still missing, and nothing says how long the entry was.
func tornEntry(t *testing.T, name string, size int) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	end := writtenEnd(t, name)
	written := b[end+32 : end+size*3/4]
	mrand.NewChaCha8([32]byte{byte(size)}).Read(written)
	writeFile(t, name, b)
}

// hashPath hashes a directory's files, or a single file.
func hashPath(t *testing.T, path string) map[string][32]byte {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.IsDir() {
		b, _ := os.ReadFile(path)
		return map[string][32]byte{".": sha256.Sum256(b)}
	}
	return hashDir(t, path)
}

func TestOpenLocked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s := openNew(t, dir)
	defer mustClose(t, s)
	_, err := Open(dir, testKeys(1), Options{})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	if err := Wipe(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("Wipe of an open store = %v, want ErrLocked", err)
	}
	if err := s.Put(KindLocal, testGroup, []byte("k"), []byte("still usable")); err != nil {
		t.Fatalf("store unusable after refused second open: %v", err)
	}
}

// TestMismatchedRecordsKey: keys that open Badger but are not the pair the
// store was made with are refused at open, not discovered record by record.
func TestMismatchedRecordsKey(t *testing.T) {
	dir := storeWithData(t)
	keys := testKeys(1)
	keys.Records = testKeys(3).Records
	if _, err := Open(dir, keys, Options{}); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Open with a foreign Records key = %v, want ErrWrongKey", err)
	}
}

func TestUseAfterClose(t *testing.T) {
	s := openNew(t, t.TempDir())
	mustClose(t, s)
	checks := map[string]error{
		"Close":       s.Close(),
		"Put":         s.Put(KindGroup, testGroup, nil, []byte("x")),
		"Sync":        s.Sync(),
		"Expire":      func() error { _, err := s.Expire(time.Now()); return err }(),
		"DeleteGroup": s.DeleteGroup(testGroup),
		"Reclaim":     s.Reclaim(),
	}
	_, checks["Get"] = s.Get(KindGroup, testGroup, nil)
	_, checks["PutEnvelope"] = s.PutEnvelope(testGroup, EnvelopeMeta{Received: time.Now()}, []byte("e"))
	_, checks["GenerationVector"] = s.GenerationVector(testGroup)
	_, checks["Messages"] = s.Messages(testGroup, nil, 10)
	for name, err := range checks {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

func TestSchemaVersionAndMigrations(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s := openNew(t, dir)
	mustClose(t, s)

	step := func(from uint32, mark string) migration {
		return migration{from: from, apply: func(s *Store) error {
			return s.Put(KindLocal, testGroup, []byte(mark), []byte("done"))
		}}
	}
	// The current version to two beyond through two migrations, in order.
	v := SchemaVersion
	s, err := Open(dir, testKeys(1), Options{schemaVersion: v + 2, migrations: []migration{step(v+1, "second"), step(v, "first")}})
	if err != nil {
		t.Fatalf("migrating open: %v", err)
	}
	for _, mark := range []string{"first", "second"} {
		if _, err := s.Get(KindLocal, testGroup, []byte(mark)); err != nil {
			t.Errorf("migration %s did not run: %v", mark, err)
		}
	}
	mustClose(t, s)
	if got := storedSchema(t, dir); got != uint64(v+2) {
		t.Fatalf("schema after migration = %d, want %d", got, v+2)
	}

	// A Hearth that only knows the version before refuses the newer store.
	if _, err := Open(dir, testKeys(1), Options{schemaVersion: v + 1}); !errors.Is(err, ErrSchema) {
		t.Fatalf("open of a newer store = %v, want ErrSchema", err)
	}
	// No path to the next version: refused, version unchanged.
	if _, err := Open(dir, testKeys(1), Options{schemaVersion: v + 3, migrations: []migration{step(v, "x")}}); !errors.Is(err, ErrSchema) {
		t.Fatalf("open without a migration = %v, want ErrSchema", err)
	}
	// A failing migration leaves the version where it was.
	boom := errors.New("boom")
	failing := []migration{{from: v + 2, apply: func(*Store) error { return boom }}}
	if _, err := Open(dir, testKeys(1), Options{schemaVersion: v + 3, migrations: failing}); !errors.Is(err, boom) {
		t.Fatalf("failing migration = %v, want boom", err)
	}
	if got := storedSchema(t, dir); got != uint64(v+2) {
		t.Fatalf("schema after failed migration = %d, want %d", got, v+2)
	}
}

func storedSchema(t *testing.T, dir string) uint64 {
	t.Helper()
	// Only the stored version opens with no migrations: a lower target is
	// refused as newer, a higher one as unmigratable.
	for v := uint32(1); v < 100; v++ {
		s, err := Open(dir, testKeys(1), Options{schemaVersion: v, migrations: []migration{}})
		if err == nil {
			mustClose(t, s)
			return uint64(v)
		}
	}
	t.Fatal("no schema version opens the store")
	return 0
}

func clearDir(t *testing.T, dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}

func writeFile(t testing.TB, path string, b []byte) {
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func removeFile(t *testing.T, path string) {
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

func truncate(t *testing.T, path string, n int64) {
	if err := os.Truncate(path, n); err != nil {
		t.Fatal(err)
	}
}

// flipByte flips one byte of a file; a negative offset counts from the end.
func flipByte(t testing.TB, path string, off int) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += len(b)
	}
	b[off] ^= 0x40
	writeFile(t, path, b)
}

func copyDir(t testing.TB, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(to, 0o700); err != nil {
		t.Fatal(err)
	}
}

func TestLimitsRejected(t *testing.T) {
	s := openNew(t, t.TempDir())
	defer mustClose(t, s)
	big := bytes.Repeat([]byte{1}, MaxValueSize+1)
	for name, err := range map[string]error{
		"unknown kind":      s.Put(Kind(0x08), testGroup, nil, nil),
		"kind zero":         s.Put(Kind(0), testGroup, nil, nil),
		"long key":          s.Put(KindLocal, testGroup, make([]byte, MaxRecordKeySize+1), nil),
		"big value":         s.Put(KindLocal, testGroup, nil, big),
		"epoch key missing": s.Put(KindEpochSecret, testGroup, []byte("short"), nil),
		"negative keep":     s.SetRetention(testGroup, -time.Second),
		"zero end time":     s.MarkEpochEnded(testGroup, 1, time.Time{}),
	} {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	for name, in := range map[string]EnvelopeInput{
		"empty envelope": {Meta: EnvelopeMeta{Received: time.Now()}},
		"big envelope":   {Meta: EnvelopeMeta{Received: time.Now()}, Raw: big},
		"zero received":  {Raw: []byte("e")},
		"before 1970":    {Meta: EnvelopeMeta{Received: time.Unix(-5, 0)}, Raw: []byte("e")},
	} {
		if _, err := s.PutEnvelope(testGroup, in.Meta, in.Raw); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := s.PutEnvelopes(testGroup, make([]EnvelopeInput, MaxEnvelopeBatch+1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("oversized batch: %v, want ErrInvalid", err)
	}
	if _, err := s.EnvelopesSince(testGroup, 0, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("zero limit: %v, want ErrInvalid", err)
	}
}
