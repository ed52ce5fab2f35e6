package protocol

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hearthnet/hearth/crypto"
)

func TestContentRoundTrip(t *testing.T) {
	g := fourRoles(t, 20)
	c, secret, err := NewCommit(g.state, g.creds["Ann"], []Change{Remove{g.id("Di")}}, g.r)
	if err != nil {
		t.Fatal(err)
	}
	secret.Wipe()
	ann := ChainKeyAnnouncement{Epoch: 7, Sealed: []SealedSecret{
		{To: crypto.MemberID{1}, Sealed: bytes.Repeat([]byte{1}, crypto.SecretChainKey.SealedSize())},
		{To: crypto.MemberID{2}, Sealed: bytes.Repeat([]byte{2}, crypto.SecretChainKey.SealedSize())},
	}}
	for _, content := range []Content{
		Post{ID: [16]byte{1}, Text: "Day 30 today. Thank you all."},
		Post{ID: [16]byte{2}, ReplyTo: [16]byte{1}, Text: strings.Repeat("é", MaxPostText/2)},
		ann,
		ChainKeyAnnouncement{Epoch: 0},
		CommitContent{Commit: c},
		LeaveRequest{Epoch: 41},
	} {
		b, err := MarshalContent(content)
		if err != nil {
			t.Fatalf("%T: %v", content, err)
		}
		if b[0] != byte(content.Type()) {
			t.Errorf("%T: type byte %#x", content, b[0])
		}
		got, err := UnmarshalContent(b)
		if err != nil {
			t.Fatalf("%T: %v", content, err)
		}
		b2, err := MarshalContent(got)
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("%T: re-encoding differs (%v)", content, err)
		}
		for n := range len(b) {
			if _, err := UnmarshalContent(b[:n]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%T truncated to %d: %v", content, n, err)
			}
		}
		if _, err := UnmarshalContent(append(b, 0)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%T with a trailing byte: %v", content, err)
		}
	}
	if !TypeCommit.Control() || !TypeChainKeyAnnouncement.Control() || !TypeLeaveRequest.Control() || TypePost.Control() {
		t.Error("Control() is wrong")
	}
}

func TestPostRules(t *testing.T) {
	for name, p := range map[string]Post{
		"no ID":          {Text: "hi"},
		"reply to self":  {ID: [16]byte{1}, ReplyTo: [16]byte{1}, Text: "hi"},
		"empty":          {ID: [16]byte{1}},
		"too long":       {ID: [16]byte{1}, Text: strings.Repeat("a", MaxPostText+1)},
		"invalid UTF-8":  {ID: [16]byte{1}, Text: "a\xffb"},
		"truncated rune": {ID: [16]byte{1}, Text: "\xe2\x82"},
	} {
		if _, err := MarshalContent(p); !errors.Is(err, ErrBadPost) {
			t.Errorf("%s: MarshalContent = %v, want ErrBadPost", name, err)
		}
		// The decoder refuses the same posts when built by hand.
		var w writer
		w.u8(uint8(TypePost))
		w.fixed(p.ID[:])
		w.fixed(p.ReplyTo[:])
		w.bytes16("text", []byte(p.Text), 0xFFFF)
		if _, err := UnmarshalContent(w.b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: UnmarshalContent = %v, want ErrMalformed", name, err)
		}
	}
	if _, err := MarshalContent(Post{ID: [16]byte{1}, Text: strings.Repeat("a", MaxPostText)}); err != nil {
		t.Errorf("a post of exactly MaxPostText bytes is refused: %v", err)
	}
}

func TestUnknownAndReservedContent(t *testing.T) {
	for _, typ := range []byte{0x05, 0x10, 0x30, 0x31, 0x37, 0xFF} {
		if _, err := UnmarshalContent([]byte{typ, 1, 2, 3}); !errors.Is(err, ErrUnknownContent) {
			t.Errorf("type %#x: %v, want ErrUnknownContent", typ, err)
		}
	}
	for _, b := range [][]byte{nil, {0}, {0, 1}} {
		if _, err := UnmarshalContent(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%x: %v, want ErrMalformed", b, err)
		}
	}
	ann := ChainKeyAnnouncement{Sealed: []SealedSecret{{Sealed: make([]byte, 10)}}}
	b, err := MarshalContent(ann)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UnmarshalContent(b); !errors.Is(err, ErrMalformed) {
		t.Errorf("short sealed chain key accepted: %v", err)
	}
}

// TestLargestContentFitsAnEnvelope checks that the largest commit the rules
// allow, and the largest announcement, fit in one envelope: otherwise a full
// group could never change its roster again.
func TestLargestContentFitsAnEnvelope(t *testing.T) {
	if 1+maxCommitSize > crypto.MaxContentSize {
		t.Fatalf("largest commit content is %d bytes, an envelope holds %d", 1+maxCommitSize, crypto.MaxContentSize)
	}
	ann := ChainKeyAnnouncement{Epoch: 1}
	for range MaxMembers - 1 {
		ann.Sealed = append(ann.Sealed, SealedSecret{Sealed: make([]byte, crypto.SecretChainKey.SealedSize())})
	}
	b, err := MarshalContent(ann)
	if err != nil || len(b) > crypto.MaxContentSize {
		t.Fatalf("largest announcement: %d bytes, %v", len(b), err)
	}
	// And the bound is the real one: a commit with MaxChanges adds of the
	// longest pseudonyms, MaxMembers secrets and a sealed mailbox
	// capability encodes to exactly it.
	c := &Commit{Signature: make([]byte, crypto.SignatureSize)}
	pub := newCred(t, testRand(21)).Public()
	for range MaxChanges {
		c.Changes = append(c.Changes, Add{Public: pub, Pseudonym: strings.Repeat("😀", MaxPseudonymChars), Role: RoleMember})
	}
	for range MaxMembers {
		c.Secrets = append(c.Secrets, SealedSecret{Sealed: make([]byte, crypto.SecretEpoch.SealedSize())})
	}
	c.MailboxCapability = make([]byte, crypto.MailboxCapabilitySealedSize)
	cb, err := c.Marshal()
	if err != nil || len(cb) != maxCommitSize {
		t.Fatalf("largest commit encodes to %d bytes (%v), maxCommitSize is %d", len(cb), err, maxCommitSize)
	}
}
