package node

import (
	"bytes"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearthnet/hearth/crypto"
)

// FuzzRecords feeds arbitrary bytes to every stored-record decoder: none
// may panic, and what decodes re-encodes to the same bytes.
func FuzzRecords(f *testing.F) {
	msg := &Message{Pseudonym: "ann", Text: "hello", Sent: time.UnixMilli(1), Received: time.Unix(0, 2), Epoch: 3, Late: true}
	f.Add(encodeMessage(msg))
	f.Add(encodeAnnounce(&outbox{epoch: 1, topic: "/hearth/1/x", announce: []byte{1, 2, 3}}))
	f.Add(encodePeers([]peer.AddrInfo{{ID: "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"}}))
	f.Add([]byte{recordVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := decodeMessage(crypto.GroupID{}, b); err == nil {
			if !bytes.Equal(encodeMessage(&m), b) {
				t.Fatal("message does not round-trip")
			}
		}
		if a, err := decodeAnnounce(b); err == nil {
			if !bytes.Equal(encodeAnnounce(a), b) {
				t.Fatal("announcement does not round-trip")
			}
		}
		decodePeers(b)
		decodeWait(b)
		if pj, err := decodePendingJoin(b); err == nil {
			pj.wipe()
		}
	})
}

// FuzzReadFrame: a frame reader never panics, never returns more than its
// maximum, and reads back what writeFrame wrote.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, intentJoin})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := readFrame(bytes.NewReader(b), maxJoinRequestFrame)
		if err == nil {
			if len(got) > maxJoinRequestFrame {
				t.Fatalf("frame of %d bytes", len(got))
			}
			var w bytes.Buffer
			if err := writeFrame(&w, got); err != nil || !bytes.Equal(w.Bytes(), b[:4+len(got)]) {
				t.Fatal("frame does not round-trip")
			}
		}
	})
}
