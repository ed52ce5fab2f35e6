package storage

import (
	"bytes"
	"testing"
	"time"
)

// FuzzDecodeEnvelopeRecord feeds arbitrary plaintext to the envelope
// record decoder (what a damaged or forged record would decrypt to if it
// ever authenticated): it never panics, and whatever it accepts encodes
// back to the same bytes.
func FuzzDecodeEnvelopeRecord(f *testing.F) {
	f.Add(encodeEnvelopeRecord(EnvelopeMeta{Epoch: 3, Sender: 1, Generation: 9, Received: t0}, 7, []byte("envelope")))
	f.Add(encodeEnvelopeRecord(EnvelopeMeta{Received: time.Unix(0, 1)}, 0, []byte{0}))
	f.Add([]byte{envelopeRecordVersion})
	f.Add(make([]byte, envelopeHeaderSize+1))
	f.Fuzz(func(t *testing.T, b []byte) {
		var id EnvelopeID
		if len(b) > envelopeHeaderSize {
			id = EnvelopeIDOf(b[envelopeHeaderSize:])
		}
		e, err := decodeEnvelopeRecord(id, b)
		if err != nil {
			return
		}
		if again := encodeEnvelopeRecord(e.Meta, e.Arrival, e.Raw); !bytes.Equal(again, b) {
			t.Fatalf("round trip changed the record:\n%x\n%x", b, again)
		}
		if _, err := decodeEnvelopeRecord(EnvelopeID{1}, b); err == nil && id != (EnvelopeID{1}) {
			t.Fatal("record accepted under an ID its bytes do not hash to")
		}
	})
}

// FuzzDecodeUint: integer records are exactly their size, never more or
// less.
func FuzzDecodeUint(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1}, uint8(4))
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8}, uint8(8))
	f.Add([]byte{}, uint8(8))
	f.Fuzz(func(t *testing.T, b []byte, size uint8) {
		sz := int(size%8) + 1
		v, err := decodeUint(b, sz)
		if (err == nil) != (len(b) == sz) {
			t.Fatalf("decodeUint(%x, %d) err = %v", b, sz, err)
		}
		if err == nil && !bytes.Equal(encodeUint(v, sz), b) {
			t.Fatalf("round trip of %x gave %x", b, encodeUint(v, sz))
		}
	})
}
