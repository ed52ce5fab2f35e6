package storage

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
)

// TestDeleteEnvelope deletes one envelope of three: it, its three index
// entries and its local copy are gone, across a reopening; the others are
// untouched; the generation vector no longer lists it; deleting it again,
// or one never stored, is not an error.
func TestDeleteEnvelope(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s")
	s := openNew(t, dir)
	ids := putEnvelopes(t, s, testGroup, 1, 0, 3)
	for i, id := range ids {
		if err := s.PutMessage(testGroup, id, uint64(i), []byte("copy")); err != nil {
			t.Fatal(err)
		}
	}
	keysBefore := len(allKeys(t, s))
	for range 2 {
		if err := s.DeleteEnvelope(testGroup, ids[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteEnvelope(testGroup, EnvelopeIDOf([]byte("never stored"))); err != nil {
		t.Fatalf("deleting what is not there: %v", err)
	}
	if n := len(allKeys(t, s)); n != keysBefore-6 {
		t.Fatalf("%d keys left of %d; want the envelope's 4 and its copy's 2 gone", n, keysBefore)
	}
	mustClose(t, s)
	s, err := Open(dir, testKeys(1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, s)
	if _, err := s.GetEnvelope(testGroup, ids[1]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted envelope: %v", err)
	}
	if _, err := s.GetMessage(testGroup, ids[1]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted copy: %v", err)
	}
	for _, i := range []int{0, 2} {
		if e, err := s.GetEnvelope(testGroup, ids[i]); err != nil || !bytes.Equal(e.Raw, testEnvelope(testGroup, 1, 0, uint32(i))) {
			t.Fatalf("kept envelope %d: %v", i, err)
		}
		if _, err := s.GetMessage(testGroup, ids[i]); err != nil {
			t.Fatalf("kept copy %d: %v", i, err)
		}
	}
	vec, err := s.GenerationVector(testGroup)
	if err != nil || len(vec) != 1 || len(vec[0].Held) != 2 || vec[0].Held[0] != (GenerationRange{0, 0}) || vec[0].Held[1] != (GenerationRange{2, 2}) {
		t.Fatalf("vector after the deletion: %+v, %v", vec, err)
	}
	since, err := s.EnvelopesSince(testGroup, 0, 10)
	if err != nil || len(since) != 2 {
		t.Fatalf("EnvelopesSince after the deletion: %d envelopes, %v", len(since), err)
	}
	if msgs, err := s.Messages(testGroup, nil, 10); err != nil || len(msgs) != 2 {
		t.Fatalf("Messages after the deletion: %d, %v", len(msgs), err)
	}
}
