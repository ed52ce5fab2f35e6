package node

import (
	"reflect"
	"testing"
)

// FuzzDecodePrivate: the private-record decoder never panics, and whatever
// it accepts encodes to a record that decodes to the same item.
func FuzzDecodePrivate(f *testing.F) {
	f.Add([]byte(`{"v":1,"item":{"id":"00112233445566778899aabbccddeeff","at":"2026-01-02T03:04:05Z","mood":3,"craving":4,"triggers":["a"],"note":"n"}}`))
	f.Add([]byte(`{"v":1,"item":{"id":"00112233445566778899aabbccddeeff","name":"x","start":"2026-01-02T03:04:05Z","slips":[{"at":"2026-01-03T00:00:00Z"}]}}`))
	f.Add([]byte(`{"v":1,"item":{"quiet_start":"22:00","quiet_end":"06:00","digest":true}}`))
	f.Add([]byte(`{"v":2,"item":{}}`))
	f.Add([]byte(`{"v":1,"item":{"id":"zz"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		roundTrip[CheckIn](t, b)
		roundTrip[JournalEntry](t, b)
		roundTrip[Habit](t, b)
		roundTrip[Wellbeing](t, b)
	})
}

func roundTrip[T any](t *testing.T, b []byte) {
	v, err := decodePrivate[T](b)
	if err != nil {
		return
	}
	enc, err := encodePrivate(v)
	if err != nil {
		t.Fatalf("accepted %q but cannot encode it: %v", b, err)
	}
	w, err := decodePrivate[T](enc)
	if err != nil {
		t.Fatalf("re-encoded %q does not decode: %v", enc, err)
	}
	e2, _ := encodePrivate(w)
	if !reflect.DeepEqual(enc, e2) {
		t.Fatalf("round trip changed %q into %q", enc, e2)
	}
}
