package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hearthnet/hearth/crypto"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testEnvelope returns a 1 KiB envelope body unique to (group, epoch,
// sender, gen).
func testEnvelope(group crypto.GroupID, epoch uint64, sender, gen uint32) []byte {
	b := make([]byte, 1024)
	copy(b, group[:])
	binary.BigEndian.PutUint64(b[16:], epoch)
	binary.BigEndian.PutUint32(b[24:], sender)
	binary.BigEndian.PutUint32(b[28:], gen)
	return b
}

// putEnvelopes stores generations 0..n-1 of one sender, received a second
// apart from t0.
func putEnvelopes(t testing.TB, s *Store, group crypto.GroupID, epoch uint64, sender uint32, n int) []EnvelopeID {
	t.Helper()
	var ids []EnvelopeID
	for gen := 0; gen < n; gen++ {
		raw := testEnvelope(group, epoch, sender, uint32(gen))
		meta := EnvelopeMeta{Epoch: epoch, Sender: sender, Generation: uint32(gen), Received: t0.Add(time.Duration(gen) * time.Second)}
		added, err := s.PutEnvelope(group, meta, raw)
		if err != nil || !added {
			t.Fatalf("PutEnvelope gen %d = %v, %v", gen, added, err)
		}
		ids = append(ids, EnvelopeIDOf(raw))
	}
	return ids
}

func TestEnvelopeStoredExactlyAndOnce(t *testing.T) {
	s := openNew(t, t.TempDir())
	defer mustClose(t, s)
	raw := []byte("an envelope exactly as gossipsub delivered it")
	meta := EnvelopeMeta{Epoch: 7, Sender: 3, Generation: 41, Received: t0}
	added, err := s.PutEnvelope(testGroup, meta, raw)
	if err != nil || !added {
		t.Fatalf("first PutEnvelope = %v, %v", added, err)
	}
	// The same bytes again, even claimed with other fields: already had it.
	added, err = s.PutEnvelope(testGroup, EnvelopeMeta{Epoch: 8, Received: t0.Add(time.Hour)}, bytes.Clone(raw))
	if err != nil || added {
		t.Fatalf("second PutEnvelope = %v, %v, want already had it", added, err)
	}
	id := EnvelopeIDOf(raw)
	e, err := s.GetEnvelope(testGroup, id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.Raw, raw) || e.ID != id || e.Arrival != 1 {
		t.Fatalf("GetEnvelope = %+v", e)
	}
	if e.Meta.Epoch != 7 || e.Meta.Sender != 3 || e.Meta.Generation != 41 || !e.Meta.Received.Equal(t0) {
		t.Fatalf("meta = %+v, want the first insert's", e.Meta)
	}
	if page, _ := s.EnvelopesSince(testGroup, 0, 10); len(page) != 1 {
		t.Fatalf("duplicate insert added index entries: %d in arrival index", len(page))
	}
	// The envelope belongs to its group only.
	other := crypto.GroupID{9}
	if _, err := s.GetEnvelope(other, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetEnvelope in another group = %v, want ErrNotFound", err)
	}
	if has, _ := s.HasEnvelope(testGroup, id); !has {
		t.Fatal("HasEnvelope = false for a stored envelope")
	}
	if has, _ := s.HasEnvelope(other, id); has {
		t.Fatal("HasEnvelope = true in another group")
	}
}

func TestPutEnvelopesBatch(t *testing.T) {
	s := openNew(t, t.TempDir())
	defer mustClose(t, s)
	a := testEnvelope(testGroup, 1, 0, 0)
	b := testEnvelope(testGroup, 1, 0, 1)
	if _, err := s.PutEnvelope(testGroup, EnvelopeMeta{Epoch: 1, Received: t0}, a); err != nil {
		t.Fatal(err)
	}
	batch := []EnvelopeInput{
		{Meta: EnvelopeMeta{Epoch: 1, Generation: 0, Received: t0}, Raw: a}, // already stored
		{Meta: EnvelopeMeta{Epoch: 1, Generation: 1, Received: t0}, Raw: b},
		{Meta: EnvelopeMeta{Epoch: 1, Generation: 1, Received: t0}, Raw: b}, // twice in the batch
	}
	added, err := s.PutEnvelopes(testGroup, batch)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{false, true, false}; !reflect.DeepEqual(added, want) {
		t.Fatalf("added = %v, want %v", added, want)
	}
	page, err := s.EnvelopesSince(testGroup, 0, 10)
	if err != nil || len(page) != 2 || page[0].Arrival != 1 || page[1].Arrival != 2 {
		t.Fatalf("arrival page = %v, %v", page, err)
	}
}

func TestArrivalPaging(t *testing.T) {
	dir := t.TempDir()
	s := openNew(t, dir)
	other := crypto.GroupID{0x99}
	ids := putEnvelopes(t, s, testGroup, 0, 0, 25)
	putEnvelopes(t, s, other, 0, 0, 5) // interleaved numbering, other group
	mustClose(t, s)
	s = reopen(t, dir) // the arrival counter survives a reopen
	defer mustClose(t, s)
	more := putEnvelopes(t, s, testGroup, 1, 0, 5)
	ids = append(ids, more...)

	var got []EnvelopeID
	var cursor uint64
	last := uint64(0)
	for {
		page, err := s.EnvelopesSince(testGroup, cursor, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if e.Arrival <= last {
				t.Fatalf("arrival %d after %d: not increasing", e.Arrival, last)
			}
			last = e.Arrival
			got = append(got, e.ID)
		}
		cursor = page[len(page)-1].Arrival
	}
	if !reflect.DeepEqual(got, ids) {
		t.Fatalf("paged %d envelopes, want %d in insertion order", len(got), len(ids))
	}
}

func TestEnvelopesForAndVector(t *testing.T) {
	s := openNew(t, t.TempDir())
	defer mustClose(t, s)
	put := func(epoch uint64, sender, gen uint32, variant byte) {
		raw := testEnvelope(testGroup, epoch, sender, gen)
		raw[100] = variant
		if _, err := s.PutEnvelope(testGroup, EnvelopeMeta{Epoch: epoch, Sender: sender, Generation: gen, Received: t0}, raw); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range []uint32{0, 1, 2, 5, 6, 9} {
		put(3, 1, g, 0)
	}
	put(3, 1, 5, 1) // a second envelope claiming generation 5
	put(3, 0, 4, 0)
	put(2, 7, 0, 0)
	put(4, 1, 1<<32-1, 0)

	want := []SenderGenerations{
		{Epoch: 2, Sender: 7, Held: []GenerationRange{{0, 0}}},
		{Epoch: 3, Sender: 0, Held: []GenerationRange{{4, 4}}},
		{Epoch: 3, Sender: 1, Held: []GenerationRange{{0, 2}, {5, 6}, {9, 9}}},
		{Epoch: 4, Sender: 1, Held: []GenerationRange{{1<<32 - 1, 1<<32 - 1}}},
	}
	got, err := s.GenerationVector(testGroup)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("GenerationVector = %+v, %v\nwant %+v", got, err, want)
	}

	es, err := s.EnvelopesFor(testGroup, 3, 1, 2, 6, 100)
	if err != nil {
		t.Fatal(err)
	}
	var gens []uint32
	for _, e := range es {
		gens = append(gens, e.Meta.Generation)
		if e.Meta.Epoch != 3 || e.Meta.Sender != 1 {
			t.Fatalf("EnvelopesFor returned %+v", e.Meta)
		}
	}
	if !reflect.DeepEqual(gens, []uint32{2, 5, 5, 6}) {
		t.Fatalf("generations %v, want [2 5 5 6]", gens)
	}
	if es, _ := s.EnvelopesFor(testGroup, 3, 1, 0, 100, 2); len(es) != 2 {
		t.Fatalf("limit 2 returned %d", len(es))
	}
	if es, _ := s.EnvelopesFor(testGroup, 3, 1, 7, 8, 10); len(es) != 0 {
		t.Fatalf("empty range returned %d", len(es))
	}
	if es, _ := s.EnvelopesFor(testGroup, 4, 1, 1<<32-1, 1<<32-1, 10); len(es) != 1 {
		t.Fatalf("top generation returned %d", len(es))
	}
}

func TestMessagesNewestFirst(t *testing.T) {
	s := openNew(t, t.TempDir())
	defer mustClose(t, s)
	ids := putEnvelopes(t, s, testGroup, 0, 0, 10)
	// Sort keys out of insertion order, two equal (ordered by ID).
	sorts := []uint64{50, 10, 90, 30, 30, 70, 20, 80, 60, 40}
	for i, id := range ids {
		if err := s.PutMessage(testGroup, id, sorts[i], []byte(fmt.Sprintf("message %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	var all []Message
	var cursor *MessageCursor
	for {
		page, err := s.Messages(testGroup, cursor, 3)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < 3 {
			break
		}
		c := page[len(page)-1].Cursor()
		cursor = &c
	}
	if len(all) != 10 {
		t.Fatalf("paged %d messages, want 10", len(all))
	}
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if a.Sort < b.Sort || (a.Sort == b.Sort && bytes.Compare(a.ID[:], b.ID[:]) <= 0) {
			t.Fatalf("page order broken at %d: %d then %d", i, a.Sort, b.Sort)
		}
	}

	// Replacing a copy moves it; deleting removes it; the envelope stays.
	if err := s.PutMessage(testGroup, ids[0], 1000, []byte("edited")); err != nil {
		t.Fatal(err)
	}
	newest, _ := s.Messages(testGroup, nil, 1)
	if len(newest) != 1 || newest[0].ID != ids[0] || string(newest[0].Content) != "edited" {
		t.Fatalf("after edit newest = %+v", newest)
	}
	if n := countMessages(t, s); n != 10 {
		t.Fatalf("edit left %d copies, want 10", n)
	}
	if err := s.DeleteMessage(testGroup, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetMessage(testGroup, ids[0]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetMessage after delete = %v", err)
	}
	if n := countMessages(t, s); n != 9 {
		t.Fatalf("%d copies after delete, want 9", n)
	}
	if _, err := s.GetEnvelope(testGroup, ids[0]); err != nil {
		t.Fatalf("DeleteMessage removed the envelope: %v", err)
	}
	// A copy without its envelope is refused.
	if err := s.PutMessage(testGroup, EnvelopeID{1}, 1, []byte("x")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("PutMessage without envelope = %v, want ErrNotFound", err)
	}
}

func countMessages(t *testing.T, s *Store) int {
	t.Helper()
	m, err := s.Messages(testGroup, nil, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

func TestRecordsPutGetScanDelete(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s")
	s := openNew(t, dir)
	defer mustClose(t, s)
	g2 := crypto.GroupID{0xaa}
	for _, g := range []crypto.GroupID{testGroup, g2} {
		if err := s.Put(KindGroup, g, nil, []byte("group "+g.String())); err != nil {
			t.Fatal(err)
		}
	}
	for e := uint64(1); e <= 3; e++ {
		for _, who := range []string{"a", "b"} {
			if err := s.Put(KindChainState, testGroup, EpochKey(e, []byte(who)), []byte(fmt.Sprint(e, who))); err != nil {
				t.Fatal(err)
			}
		}
	}
	groups, err := s.Groups()
	if err != nil || !reflect.DeepEqual(groups, []crypto.GroupID{testGroup, g2}) {
		t.Fatalf("Groups = %v, %v", groups, err)
	}
	var keys []string
	err = s.Scan(KindChainState, testGroup, EpochKey(2, nil), func(k, v []byte) error {
		keys = append(keys, fmt.Sprintf("%x=%s", k, v))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"0000000000000002" + "61=2a", "0000000000000002" + "62=2b"}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("Scan = %v, want %v", keys, want)
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.Scan(KindChainState, testGroup, nil, func(k, v []byte) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("Scan did not stop at fn's error: %v after %d calls", err, calls)
	}
	if err := s.Delete(KindGroup, g2, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(KindGroup, g2, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete = %v", err)
	}
	if _, err := s.Get(KindRoster, testGroup, []byte("absent")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of absent record = %v", err)
	}
}

// TestConcurrentWriters: envelopes stored from many goroutines at once get
// distinct arrival numbers and all arrive; reads run alongside.
func TestConcurrentWriters(t *testing.T) {
	s := openNew(t, t.TempDir())
	defer mustClose(t, s)
	const writers, each = 4, 50
	errs := make(chan error, writers+1)
	for w := 0; w < writers; w++ {
		go func() {
			for g := 0; g < each; g++ {
				raw := testEnvelope(testGroup, 1, uint32(w), uint32(g))
				_, err := s.PutEnvelope(testGroup, EnvelopeMeta{Epoch: 1, Sender: uint32(w), Generation: uint32(g), Received: t0}, raw)
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	go func() {
		for i := 0; i < 50; i++ {
			if _, err := s.GenerationVector(testGroup); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}()
	for i := 0; i < writers+1; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.EnvelopesSince(testGroup, 0, 1000)
	if err != nil || len(all) != writers*each {
		t.Fatalf("stored %d, %v; want %d", len(all), err, writers*each)
	}
	for i, e := range all {
		if e.Arrival != uint64(i+1) {
			t.Fatalf("arrival numbers not 1..n: position %d has %d", i, e.Arrival)
		}
	}
}
