package node

import (
	"bytes"
	"testing"
	"time"

	"github.com/hearthnet/hearth/crypto"
)

// FuzzCareRecords feeds arbitrary bytes to the decoders of the SOS and
// mentorship records: none may panic, and what decodes re-encodes to the
// same bytes.
func FuzzCareRecords(f *testing.F) {
	at := time.UnixMilli(1_700_000_000_000)
	f.Add(encodeSOS(&SOS{Author: crypto.MemberID{1}, Pseudonym: "bo", Text: "help", Sent: at, Received: at, Late: true}))
	f.Add(encodeSOSReply(&SOSReply{Pseudonym: "ann", Text: "I'm here", Sent: at, Received: at}))
	f.Add(encodeMentorship(&Mentorship{PeerPseudonym: "ann", Role: RoleMentee, State: MentorshipActive, Asker: true, Text: "hi", Created: at, Updated: at}))
	f.Add(encodeMentorRequest(&MentorRequest{Kind: MentorPairing, FromPseudonym: "ann", SubjectPseudonym: "cy", Received: at, invite: "hearth:x"}))
	f.Add([]byte{recordVersion})
	id := make([]byte, 16)
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := decodeSOS(crypto.GroupID{}, id, b); err == nil && !bytes.Equal(encodeSOS(&s), b) {
			t.Fatal("SOS record does not round-trip")
		}
		if r, err := decodeSOSReply(crypto.GroupID{}, make([]byte, 32), b); err == nil && !bytes.Equal(encodeSOSReply(&r), b) {
			t.Fatal("SOS reply record does not round-trip")
		}
		if m, err := decodeMentorship(id, b); err == nil && !bytes.Equal(encodeMentorship(m), b) {
			t.Fatal("mentorship record does not round-trip")
		}
		if r, err := decodeMentorRequest(id, b); err == nil && !bytes.Equal(encodeMentorRequest(r), b) {
			t.Fatal("mentorship request record does not round-trip")
		}
	})
}
