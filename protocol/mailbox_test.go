package protocol

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hearthnet/hearth/crypto"
)

func testMailbox(t *testing.T, seed uint64) (*crypto.MailboxKey, *Mailbox) {
	t.Helper()
	k, err := crypto.NewMailboxKey(testRand(seed))
	if err != nil {
		t.Fatal(err)
	}
	return k, &Mailbox{PeerID: []byte("peer-" + string(rune('a'+seed))), Key: k.Public(), Addrs: [][]byte{{4, 127, 0, 0, 1}}}
}

// TestMailboxCapabilityInCommits checks that once a host names a mailbox,
// every commit carries the new epoch's capability sealed to it, that the
// mailbox's key opens exactly the topic ID and sync key of that epoch (and
// nothing else is in it), and that removing the mailbox stops it.
func TestMailboxCapabilityInCommits(t *testing.T) {
	g := newTestGroup(t, 61)
	key, mb := testMailbox(t, 1)

	check := func(c *Commit, secret *crypto.EpochSecret) {
		t.Helper()
		b, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if b[0] != commitMailboxVersion {
			t.Fatalf("commit version %d, want %d", b[0], commitMailboxVersion)
		}
		back, err := UnmarshalCommit(b)
		if err != nil || !bytes.Equal(back.MailboxCapability, c.MailboxCapability) {
			t.Fatalf("round trip: %v", err)
		}
		capability, err := key.OpenCapability(c.Group, c.Epoch, c.MailboxCapability)
		if err != nil {
			t.Fatal(err)
		}
		keys := crypto.DeriveEpochKeys(c.Group, c.Epoch, secret)
		if capability.TopicID != keys.TopicID || capability.SyncAuth != keys.SyncAuth {
			t.Fatal("the capability is not the epoch's topic ID and sync key")
		}
		if capability.Topic() != keys.Topic() {
			t.Fatal("capability topic differs")
		}
		// Bound to the epoch and group.
		if _, err := key.OpenCapability(c.Group, c.Epoch+1, c.MailboxCapability); !errors.Is(err, crypto.ErrDecrypt) {
			t.Fatalf("opened for another epoch: %v", err)
		}
		other, _ := testMailbox(t, 2)
		if _, err := other.OpenCapability(c.Group, c.Epoch, c.MailboxCapability); !errors.Is(err, crypto.ErrDecrypt) {
			t.Fatalf("another mailbox opened it: %v", err)
		}
	}
	commit := func(by string, changes ...Change) (*Commit, *crypto.EpochSecret) {
		t.Helper()
		c, secret, err := NewCommit(g.state, g.creds[by], changes, g.r)
		if err != nil {
			t.Fatal(err)
		}
		next, err := g.state.ApplyCommit(c)
		if err != nil {
			t.Fatal(err)
		}
		g.state = next
		return c, secret
	}

	g.commit("Ann", g.newAdd("Mo", RoleModerator))
	if _, _, err := NewCommit(g.state, g.creds["Mo"], []Change{SetMailbox{Mailbox: mb}}, g.r); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("a moderator named the mailbox: %v", err)
	}
	c, secret := commit("Ann", SetMailbox{Mailbox: mb})
	check(c, secret)
	if !g.state.Mailbox.Equal(mb) {
		t.Fatal("state does not name the mailbox")
	}
	if _, _, err := NewCommit(g.state, g.creds["Ann"], []Change{SetMailbox{Mailbox: mb}}, g.r); !errors.Is(err, ErrBadChange) {
		t.Fatalf("naming the same mailbox again: %v", err)
	}
	// State round trip, version 2.
	sb, err := g.state.Marshal()
	if err != nil || sb[0] != groupStateMailboxVersion {
		t.Fatalf("state encoding: %v", err)
	}
	if st, err := UnmarshalGroupState(sb); err != nil || !st.Mailbox.Equal(mb) || StateHash(st) != StateHash(g.state) {
		t.Fatalf("state round trip: %v", err)
	}

	// A moderator's commit carries it too.
	c, secret = commit("Mo", g.newAdd("Bo", RoleMember))
	check(c, secret)
	// Without it, or with it in a commit whose state has none, the
	// commit is refused.
	c2, _, err := NewCommit(g.state, g.creds["Ann"], []Change{Remove{Member: g.id("Bo")}}, g.r)
	if err != nil {
		t.Fatal(err)
	}
	c2.MailboxCapability = nil
	if _, err := g.state.ApplyCommit(c2); err == nil {
		t.Fatal("a commit without the mailbox capability was applied")
	}

	c, _ = commit("Ann", SetMailbox{})
	if c.MailboxCapability != nil || g.state.Mailbox != nil {
		t.Fatal("removing the mailbox left a capability or the mailbox")
	}
	if b, _ := c.Marshal(); b[0] != commitVersion {
		t.Fatal("a commit without mailbox is not version 1")
	}
	if sb, _ := g.state.Marshal(); sb[0] != groupStateVersion {
		t.Fatal("a state without mailbox is not version 1")
	}
}

func TestMailboxMessagesRoundTrip(t *testing.T) {
	_, mb := testMailbox(t, 3)
	reg := &MailboxRegistration{Mailbox: *mb, Token: [32]byte{1, 2, 3}}
	b, err := reg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalMailboxRegistration(b)
	if err != nil || !back.Mailbox.Equal(mb) || back.Token != reg.Token {
		t.Fatalf("registration round trip: %v", err)
	}
	for i := range b {
		if _, err := UnmarshalMailboxRegistration(b[:i]); err == nil {
			t.Fatalf("truncated registration (%d bytes) accepted", i)
		}
	}

	h := &MailboxHello{Op: MailboxDeliverOp, Group: crypto.GroupID{9}, Epoch: 7}
	if got, err := UnmarshalMailboxHello(h.Marshal()); err != nil || *got != *h || len(h.Marshal()) != MailboxHelloSize {
		t.Fatalf("hello: %v", err)
	}
	bad := h.Marshal()
	bad[2] = 9
	if _, err := UnmarshalMailboxHello(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown op: %v", err)
	}
	f := &MailboxFetch{Proof: [32]byte{5}, After: 12}
	if got, err := UnmarshalMailboxFetch(f.Marshal()); err != nil || *got != *f {
		t.Fatalf("fetch: %v", err)
	}
	d := &MailboxDeliver{Proof: [32]byte{6}, Epoch: 8, Sealed: bytes.Repeat([]byte{7}, crypto.MailboxCapabilitySealedSize)}
	db, err := d.Marshal()
	if err != nil || len(db) != MailboxDeliverSize {
		t.Fatal(err)
	}
	if got, err := UnmarshalMailboxDeliver(db); err != nil || got.Epoch != 8 || !bytes.Equal(got.Sealed, d.Sealed) {
		t.Fatalf("deliver: %v", err)
	}
	p := &MailboxPage{Last: true, More: true, Cursor: 40, Envelopes: [][]byte{bytes.Repeat([]byte{1}, 400)}}
	pb, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := UnmarshalMailboxPage(pb); err != nil || got.Cursor != 40 || !got.Last || !got.More || len(got.Envelopes) != 1 {
		t.Fatalf("page: %v", err)
	}
	huge := append([]byte{MailboxTypePage, mailboxVersion, 1, 0, 0, 0, 0, 0, 1}, 0xFF, 0xFF, 0xFF, 0xFF)
	if _, err := UnmarshalMailboxPage(huge); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a huge claimed envelope: %v", err)
	}
	if err := UnmarshalMailboxAck(MailboxAck{}.Marshal()); err != nil {
		t.Fatal(err)
	}
	hv := &MailboxHave{IDs: [][MailboxHavePrefix]byte{{1}, {2}}}
	hb, err := hv.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := UnmarshalMailboxHave(hb); err != nil || len(got.IDs) != 2 || got.IDs[1] != hv.IDs[1] {
		t.Fatalf("have: %v", err)
	}
	hugeHave := []byte{MailboxTypeHave, mailboxVersion, 0xFF, 0xFF, 0xFF, 0xFF}
	if _, err := UnmarshalMailboxHave(hugeHave); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a have list claiming 4 billion IDs: %v", err)
	}

	// The proof binds the request.
	var ch [32]byte
	m1, _ := MailboxProofMessage(ch, []byte("mb"), h, d.DeliverRequest())
	d.Epoch++
	m2, _ := MailboxProofMessage(ch, []byte("mb"), h, d.DeliverRequest())
	if bytes.Equal(m1, m2) {
		t.Fatal("the proof message does not bind the delivered epoch")
	}
}

func FuzzMailboxPage(f *testing.F) {
	p := &MailboxPage{Last: true, Cursor: 3, Envelopes: [][]byte{bytes.Repeat([]byte{1}, 329)}}
	b, _ := p.Marshal()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := UnmarshalMailboxPage(b)
		if err != nil {
			return
		}
		out, err := p.Marshal()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzMailboxMessages feeds every mailbox decoder the same bytes: none
// panics, and whatever decodes re-encodes to exactly the input.
func FuzzMailboxMessages(f *testing.F) {
	f.Add((&MailboxHello{Op: MailboxPushOp, Epoch: 3}).Marshal())
	f.Add((&MailboxFetch{After: 9}).Marshal())
	f.Add((&MailboxChallenge{}).Marshal())
	if d, err := (&MailboxDeliver{Sealed: make([]byte, crypto.MailboxCapabilitySealedSize)}).Marshal(); err == nil {
		f.Add(d)
	}
	if h, err := (&MailboxHave{IDs: [][MailboxHavePrefix]byte{{1}}}).Marshal(); err == nil {
		f.Add(h)
	}
	f.Add(MailboxAck{}.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, err := decodeEncodeMailbox(b); err == nil && !bytes.Equal(v, b) {
			t.Fatalf("%x re-encodes as %x", b, v)
		}
		if r, err := UnmarshalMailboxRegistration(b); err == nil {
			out, err := r.Marshal()
			if err != nil || !bytes.Equal(out, b) {
				t.Fatalf("registration %x re-encodes as %x (%v)", b, out, err)
			}
		}
	})
}
