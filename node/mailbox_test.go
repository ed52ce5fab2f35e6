package node

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// mailboxNode starts a node that runs as a mailbox.
func mailboxNode(t *testing.T) *e2eNode {
	return newE2ENode(t, "mailbox", syncUnlimited, func(c *Config) { c.Mailbox = MailboxConfig{Enabled: true} })
}

// mailboxStored returns every envelope the mailbox holds for the group.
func mailboxStored(t *testing.T, mb *e2eNode, id crypto.GroupID) []storage.Envelope {
	t.Helper()
	var out []storage.Envelope
	var after uint64
	for {
		page, err := mb.n.store.EnvelopesSince(id, after, 256)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if len(page) < 256 {
			return out
		}
		after = page[len(page)-1].Arrival
	}
}

// TestMailboxCatchUpAndCannotRead is the mailbox end to end: a host names
// a mailbox; member bo goes offline; ann and the host post, the host
// removes cy (a new epoch, whose capability the host hands the mailbox),
// and they post again; then everyone but the mailbox goes offline. Bo
// comes back and catches up from the mailbox alone: every message, in send
// order, marked late, and the commit that took the group to the new
// epoch. Cy, removed, comes back too and gets nothing of the epoch after
// its removal. And the mailbox, which stored all of it, cannot read any of
// it: it has no session for the group, no key it holds opens the sender
// data or the content of any envelope it stored (while bo's keys do), and
// no plaintext is in its store.
func TestMailboxCatchUpAndCannotRead(t *testing.T) {
	host, ann, bo, cy := syncMember(t, "host"), syncMember(t, "ann"), syncMember(t, "bo"), syncMember(t, "cy")
	mb := mailboxNode(t)
	e2eMesh(t, host.e2eNode, ann.e2eNode, bo.e2eNode, cy.e2eNode)
	id := e2eGroupOf(t, host, ann, bo, cy)
	ctx := e2eCtx(t)

	// A member cannot name a mailbox; a host can, with the string the
	// mailbox prints.
	reg, err := mb.n.MailboxRegistration()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := host.n.MailboxRegistration(); !errors.Is(err, ErrNotMailbox) {
		t.Fatalf("a plain node gave a registration: %v", err)
	}
	if err := ann.group(t, id).SetMailbox(ctx, reg); !errors.Is(err, ErrNotAdmin) {
		t.Fatalf("a member named the mailbox: %v", err)
	}
	if err := host.group(t, id).SetMailbox(ctx, "hearth-mailbox:nonsense"); !errors.Is(err, ErrBadMailboxRegistration) {
		t.Fatalf("a bad registration: %v", err)
	}
	if err := host.group(t, id).SetMailbox(ctx, reg); err != nil {
		t.Fatalf("SetMailbox: %v", err)
	}
	regEpoch := host.group(t, id).Info().Epoch
	// The hand-off waits a bounded time for the mailbox; a slow one takes
	// the group when the host's node next syncs with it.
	e2ePoll(t, "the mailbox serving the group", func() bool {
		s, _ := mb.n.MailboxStats()
		return s.Groups == 1
	})
	e2eSettle(t, id, host, ann, bo, cy)
	for _, m := range []*e2eMember{ann, bo, cy} {
		if info, ok := m.group(t, id).Mailbox(); !ok || info.PeerID != mb.n.PeerID() {
			t.Fatalf("%s does not know the group's mailbox", m.name)
		}
	}

	// Gossip is all a mailbox hears: wait until every member's chain-key
	// announcement of the epoch has gone out, and reached it.
	mailboxHoldsHosts := func() bool {
		held, err := host.n.store.EnvelopesSince(id, 0, 4096)
		if err != nil {
			return false
		}
		announced := make(map[uint32]bool)
		for _, e := range held {
			if e.Meta.Epoch < regEpoch {
				continue
			}
			if e.Meta.Epoch == regEpoch && e.Meta.Generation == crypto.ControlGeneration {
				announced[e.Meta.Sender] = true
			}
			if ok, err := mb.n.store.HasEnvelope(id, e.ID); err != nil || !ok {
				return false
			}
		}
		return len(announced) == 4
	}
	e2ePoll(t, "the mailbox to hold every member's announcement", mailboxHoldsHosts)
	bo.stop(t)
	marker := e2eMarker(t, "mailbox-plaintext")
	before := syncPosts(t, id, marker+" before", 6, ann, host)
	cyID := cy.group(t, id).Info().Me.ID
	if err := host.group(t, id).Remove(ctx, cyID); err != nil {
		t.Fatalf("removing cy: %v", err)
	}
	e2ePoll(t, "ann to enter the epoch without cy", func() bool { return ann.group(t, id).Info().Members == 3 })
	after := syncPosts(t, id, marker+" after", 6, ann, host)
	texts := append(slices.Clone(before), after...)
	e2ePoll(t, "the host to hold every message", func() bool { return syncHistoryLen(host.group(t, id)) >= len(texts) })
	lastEpoch := host.group(t, id).Info().Epoch
	if lastEpoch != regEpoch+1 {
		t.Fatalf("epoch %d after the removal, want %d", lastEpoch, regEpoch+1)
	}

	// The mailbox holds everything the host holds of the epochs since it
	// was named (posts, chain-key announcements, the commit).
	e2ePoll(t, "the mailbox to hold every envelope of the epochs it serves", mailboxHoldsHosts)

	host.stop(t)
	ann.stop(t)
	cy.stop(t)

	// Bo returns to a group where only the mailbox is online.
	bo.start(t)
	g := bo.group(t, id)
	e2ePoll(t, "bo to catch up from the mailbox", func() bool { return syncHistoryLen(g) >= len(texts) })
	if info := g.Info(); info.Epoch != lastEpoch || info.Members != 3 {
		t.Fatalf("bo is at epoch %d with %d members, want %d with 3", info.Epoch, info.Members, lastEpoch)
	}
	have := syncHistoryTexts(t, g)
	for _, text := range texts {
		m, ok := have[text]
		if !ok {
			t.Fatalf("bo lacks %q", text)
		}
		if !m.Late {
			t.Errorf("%q caught up from the mailbox is not marked late", text)
		}
	}
	// The app was shown each of them once, in send order (posts sent in
	// the same millisecond may come in either order). A fetch stores its
	// page before it hands the page's posts to the app, so the store may
	// hold them all a moment before the events arrive: wait for those.
	var shown []Message
	bo.rec.waitFor(t, "bo to be shown every caught-up message", func([]Event) bool {
		shown = shown[:0]
		for _, m := range bo.rec.messages(id) {
			if strings.HasPrefix(m.Text, marker) {
				shown = append(shown, m)
			}
		}
		return len(shown) >= len(texts)
	})
	if len(shown) != len(texts) {
		t.Errorf("bo was shown %d messages, want %d", len(shown), len(texts))
	}
	seen := make(map[string]bool)
	for _, m := range shown {
		if seen[m.Text] {
			t.Errorf("bo was shown %q twice", m.Text)
		}
		seen[m.Text] = true
	}
	if !slices.IsSortedFunc(shown, func(a, b Message) int { return a.Sent.Compare(b.Sent) }) {
		t.Errorf("bo was shown the messages out of send order")
	}
	bo.rec.waitEvent(t, EventMemberRemoved, id, nil)

	// Cy, removed, catches up on the epoch it belonged to and nothing
	// after: the mailbox gives an epoch only to whoever proves its sync
	// key, which the removal commit never sealed to cy.
	cy.start(t)
	if _, err := cy.group(t, id).Sync(ctx); err != nil {
		t.Fatalf("cy's sync with the mailbox: %v", err)
	}
	cyHave := syncHistoryTexts(t, cy.group(t, id))
	for _, text := range after {
		if _, ok := cyHave[text]; ok {
			t.Fatalf("cy, removed, has %q, posted after its removal", text)
		}
	}
	cg := cy.group(t, id)
	cg.mu.Lock()
	cyKeys, err := cg.sess.Keys(regEpoch)
	cg.mu.Unlock()
	if err != nil {
		t.Fatalf("cy holds no keys of its last epoch: %v", err)
	}
	if err := mailboxRawFetch(t, cy.n, mb.n, id, lastEpoch, cyKeys.SyncAuth); !errors.Is(err, errMailboxRefused) {
		t.Fatalf("cy's fetch of the epoch after its removal: %v", err)
	}
	if err := mailboxRawFetch(t, cy.n, mb.n, id, regEpoch, cyKeys.SyncAuth); err != nil {
		t.Fatalf("cy's fetch of its own last epoch: %v", err)
	}

	// The mailbox cannot read what it holds.
	if gs := mb.n.Groups(); len(gs) != 0 {
		t.Fatalf("the mailbox has %d group sessions", len(gs))
	}
	if gs, err := mb.n.store.Groups(); err != nil || len(gs) != 0 {
		t.Fatalf("the mailbox's store holds group records: %v %v", gs, err)
	}
	var keys [][crypto.KeySize]byte
	mb.n.mbox.mu.Lock()
	for _, epochs := range mb.n.mbox.groups {
		for _, forks := range epochs {
			for _, me := range forks {
				keys = append(keys, me.cap.TopicID, me.cap.SyncAuth)
			}
		}
	}
	var priv [crypto.KeySize]byte
	copy(priv[:], mb.n.mbox.key.Marshal())
	keys = append(keys, priv, mb.n.mbox.token)
	mb.n.mbox.mu.Unlock()
	if len(keys) < 2*2+2 {
		t.Fatalf("the mailbox holds %d keys; it should hold two epochs' capabilities", len(keys))
	}
	stored := mailboxStored(t, mb, id)
	if len(stored) < len(texts) {
		t.Fatalf("the mailbox stored %d envelopes", len(stored))
	}
	boKeys := e2eSenderKeys(t, bo.e2eNode, id)
	bg := bo.group(t, id)
	bg.mu.Lock()
	author, err := bg.sess.RosterAt(lastEpoch)
	bg.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	boOpened := 0
	for _, e := range stored {
		if bytes.Contains(e.Raw, []byte(marker)) {
			t.Fatal("a plaintext marker is in the mailbox's store")
		}
		env, err := crypto.ParseEnvelope(e.Raw)
		if err != nil {
			t.Fatalf("the mailbox stored a malformed envelope: %v", err)
		}
		for i := range keys {
			if _, err := env.OpenSender(&keys[i]); err == nil {
				t.Fatalf("a key the mailbox holds opens an envelope's sender data")
			}
			mk := crypto.MessageKey(keys[i])
			if _, err := env.OpenContent(id, crypto.SenderData{}, &mk, author[0].Public); err == nil {
				t.Fatalf("a key the mailbox holds opens an envelope's content")
			}
		}
		for i := range boKeys {
			if _, err := env.OpenSender(&boKeys[i]); err == nil {
				boOpened++
			}
		}
	}
	if boOpened == 0 {
		t.Fatal("bo's own keys open none of the mailbox's envelopes: the check above shows nothing")
	}
	for _, kind := range []storage.Kind{storage.KindLocal, storage.KindEpochSecret} {
		err := mb.n.store.Scan(kind, id, nil, func(_, v []byte) error {
			if bytes.Contains(v, []byte(marker)) {
				t.Fatalf("a plaintext marker is in a mailbox record")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	// Retention: past it, the ended epoch's capability and every envelope
	// are gone from the mailbox's store, and from its memory; the newest
	// epoch's capability stays until a newer one arrives.
	if _, err := mb.n.store.Expire(time.Now().Add(15 * 24 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	mb.n.mbox.prune()
	if len(mb.n.mbox.forksOf(id, regEpoch)) != 0 || len(mb.n.mbox.forksOf(id, lastEpoch)) != 1 {
		t.Fatal("retention did not drop the ended epoch's capability, or dropped the current one")
	}
	if left := mailboxStored(t, mb, id); len(left) != 0 {
		t.Fatalf("the mailbox still holds %d envelopes past retention", len(left))
	}
}

// mailboxRawFetch asks the mailbox mb, from n, for epoch of group with a
// proof under key, and returns errMailboxRefused when it answers nothing.
func mailboxRawFetch(t *testing.T, n *Node, mb *Node, group crypto.GroupID, epoch uint64, key [crypto.KeySize]byte) error {
	t.Helper()
	s, err := n.host.NewStream(e2eCtx(t), mb.PeerID(), mailboxProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Reset()
	hello := protocol.MailboxHello{Op: protocol.MailboxFetchOp, Group: group, Epoch: epoch}
	if err := writeFrame(s, hello.Marshal()); err != nil {
		t.Fatal(err)
	}
	b, err := readFrame(s, protocol.MailboxChallengeSize)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := protocol.UnmarshalMailboxChallenge(b)
	if err != nil {
		t.Fatal(err)
	}
	var f protocol.MailboxFetch
	msg, _ := protocol.MailboxProofMessage(ch.Nonce, []byte(mb.PeerID()), &hello, f.FetchRequest())
	f.Proof = crypto.MailboxProof(&key, msg)
	if err := writeFrame(s, f.Marshal()); err != nil {
		t.Fatal(err)
	}
	if _, err := readFrame(s, protocol.MaxMailboxFrame); errors.Is(err, io.EOF) {
		return errMailboxRefused
	} else if err != nil {
		return err
	}
	return nil
}

// TestMailboxRefusesStrangers checks the mailbox's side of the protocol
// against peers that prove nothing: before a group is registered, and
// after, a fetch proven under a key other than the epoch's sync key gets
// nothing; a registration needs the mailbox's token, and a delivery the
// sync key of the epoch before.
func TestMailboxRefusesStrangers(t *testing.T) {
	host := syncMember(t, "host")
	mb := mailboxNode(t)
	e2eConnect(t, host.e2eNode, mb)
	id := e2eGroupOf(t, host)
	ctx := e2eCtx(t)
	g := host.group(t, id)

	reg, err := mb.n.MailboxRegistration()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := parseMailboxRegistration(reg)
	if err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	keys, err := g.sess.Keys(0)
	g.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := mailboxRawFetch(t, host.n, mb.n, id, 0, keys.SyncAuth); !errors.Is(err, errMailboxRefused) {
		t.Fatalf("a fetch for a group the mailbox does not serve: %v", err)
	}
	capability := keys.MailboxCapability()
	sealed, err := crypto.SealMailboxCapability(parsed.Mailbox.Key, id, 0, &capability)
	if err != nil {
		t.Fatal(err)
	}
	bad := &mailboxHandoff{op: protocol.MailboxRegisterOp, epoch: 0, authEpoch: 0, authKey: [32]byte{1}, sealed: sealed}
	if err := g.deliverToMailbox(ctx, mb.n.PeerID(), bad); !errors.Is(err, errMailboxRefused) {
		t.Fatalf("a registration with a wrong token: %v", err)
	}
	if s, _ := mb.n.MailboxStats(); s.Groups != 0 {
		t.Fatal("a registration with a wrong token was kept")
	}
	good := &mailboxHandoff{op: protocol.MailboxRegisterOp, epoch: 0, authEpoch: 0, authKey: parsed.Token, sealed: sealed}
	if err := g.deliverToMailbox(ctx, mb.n.PeerID(), good); err != nil {
		t.Fatalf("registration with the token: %v", err)
	}
	if err := mailboxRawFetch(t, host.n, mb.n, id, 0, keys.SyncAuth); err != nil {
		t.Fatalf("a fetch proven with the sync key: %v", err)
	}
	for _, k := range [][crypto.KeySize]byte{keys.TopicID, keys.SenderData, {}} {
		if err := mailboxRawFetch(t, host.n, mb.n, id, 0, k); !errors.Is(err, errMailboxRefused) {
			t.Fatalf("a fetch proven with another key: %v", err)
		}
	}
	// A delivery of epoch 1 proven with a made-up key is refused; with
	// epoch 0's sync key it is taken.
	next := *good
	next.op, next.epoch, next.authKey = protocol.MailboxDeliverOp, 1, [32]byte{2}
	next.sealed, err = crypto.SealMailboxCapability(parsed.Mailbox.Key, id, 1, &capability)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.deliverToMailbox(ctx, mb.n.PeerID(), &next); !errors.Is(err, errMailboxRefused) {
		t.Fatalf("a delivery with a made-up key: %v", err)
	}
	next.authKey = keys.SyncAuth
	if err := g.deliverToMailbox(ctx, mb.n.PeerID(), &next); err != nil {
		t.Fatalf("a delivery proven with the epoch before's sync key: %v", err)
	}
	keys.Wipe()
}

// TestMailboxTakesWhatItMissed stops the mailbox while members post, then
// starts it again: it still serves the group (its capabilities and
// envelopes were kept), and a member's sync pushes it what it missed, so
// a member who returns later finds those posts in the mailbox too.
func TestMailboxTakesWhatItMissed(t *testing.T) {
	host, ann := syncMember(t, "host"), syncMember(t, "ann")
	mb := mailboxNode(t)
	e2eMesh(t, host.e2eNode, ann.e2eNode, mb)
	id := e2eGroupOf(t, host, ann)
	ctx := e2eCtx(t)
	reg, err := mb.n.MailboxRegistration()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.group(t, id).SetMailbox(ctx, reg); err != nil {
		t.Fatal(err)
	}
	e2eSettle(t, id, host, ann)
	regEpoch := host.group(t, id).Info().Epoch

	missing := func() int {
		held, err := host.n.store.EnvelopesSince(id, 0, 4096)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range held {
			if e.Meta.Epoch < regEpoch {
				continue
			}
			if ok, err := mb.n.store.HasEnvelope(id, e.ID); err != nil || !ok {
				n++
			}
		}
		return n
	}
	mb.stop(t)
	syncPosts(t, id, "while the mailbox was down", 6, host, ann)
	e2ePoll(t, "the host to hold every post", func() bool { return syncHistoryLen(host.group(t, id)) >= 6 })
	mb.start(t)
	if s, err := mb.n.MailboxStats(); err != nil || s.Groups != 1 {
		t.Fatalf("the restarted mailbox serves %d groups (%v), want 1", s.Groups, err)
	}
	if n := missing(); n < 6 {
		t.Fatalf("the mailbox lacks only %d envelopes after its downtime; the test shows nothing", n)
	}
	e2eConnect(t, host.e2eNode, mb)
	if _, err := host.group(t, id).Sync(ctx); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if n := missing(); n != 0 {
		t.Fatalf("after the host's sync the mailbox still lacks %d of its envelopes", n)
	}
}

// TestMailboxHostilePeers speaks /hearth/mailbox/1 with hostile frames to a
// mailbox (a 4 GiB claimed length, garbage, an oversized request frame, a
// forged proof), which answers nothing but the challenge and goes on
// serving the group; and makes a member fetch from a hostile "mailbox"
// that streams pages without end, which the member stops at its byte
// budget.
func TestMailboxHostilePeers(t *testing.T) {
	host := syncMember(t, "host")
	mb := mailboxNode(t)
	e2eConnect(t, host.e2eNode, mb)
	id := e2eGroupOf(t, host)
	ctx := e2eCtx(t)
	reg, err := mb.n.MailboxRegistration()
	if err != nil {
		t.Fatal(err)
	}
	g := host.group(t, id)
	if err := g.SetMailbox(ctx, reg); err != nil {
		t.Fatal(err)
	}
	epoch := g.Info().Epoch

	evil := transportHost(t)
	if err := evil.Connect(ctx, mb.addrInfo(t)); err != nil {
		t.Fatal(err)
	}
	talk := func(frames ...[]byte) []byte {
		s, err := evil.NewStream(ctx, mb.n.PeerID(), mailboxProtocolID)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Reset()
		_ = s.SetDeadline(time.Now().Add(10 * time.Second))
		for _, f := range frames {
			if _, err := s.Write(f); err != nil {
				break
			}
		}
		got, _ := io.ReadAll(s)
		return got
	}
	framed := func(b []byte) []byte { return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...) }
	if got := talk([]byte{0xFF, 0xFF, 0xFF, 0xFF}); len(got) != 0 {
		t.Errorf("a 4 GiB frame answered with %d bytes", len(got))
	}
	if got := talk(framed([]byte("garbage, not a hello at all"))); len(got) != 0 {
		t.Errorf("garbage answered with %d bytes", len(got))
	}
	hello := (&protocol.MailboxHello{Op: protocol.MailboxFetchOp, Group: id, Epoch: epoch}).Marshal()
	challengeOnly := 4 + protocol.MailboxChallengeSize
	// (The stream is reset, which may discard the challenge in flight.)
	if got := talk(framed(hello), binary.BigEndian.AppendUint32(nil, 1<<20)); len(got) > challengeOnly {
		t.Errorf("an oversized fetch frame answered with %d bytes, want at most the challenge", len(got))
	}
	forged := (&protocol.MailboxFetch{}).Marshal()
	if got := talk(framed(hello), framed(forged)); len(got) != challengeOnly {
		t.Errorf("a forged proof answered with %d bytes, want only the challenge", len(got))
	}
	push := (&protocol.MailboxHello{Op: protocol.MailboxPushOp, Group: id, Epoch: epoch}).Marshal()
	if got := talk(framed(push), framed(forged)); len(got) != challengeOnly {
		t.Errorf("a forged push answered with %d bytes, want only the challenge", len(got))
	}
	if _, _, _, err := g.fetchRound(ctx, mb.n.PeerID(), epoch); err != nil {
		t.Fatalf("the mailbox no longer serves the member: %v", err)
	}

	// A hostile "mailbox": a challenge, then pages without end.
	evil.SetStreamHandler(mailboxProtocolID, func(s network.Stream) {
		defer s.Reset()
		if _, err := readFrame(s, protocol.MailboxHelloSize); err != nil {
			return
		}
		_ = writeFrame(s, (&protocol.MailboxChallenge{}).Marshal())
		if _, err := readFrame(s, protocol.MailboxFetchSize); err != nil {
			return
		}
		var envs [][]byte
		for range 15 {
			envs = append(envs, bytes.Repeat([]byte{1}, crypto.MaxEnvelopeSize))
		}
		page, _ := (&protocol.MailboxPage{Cursor: 1 << 31, Envelopes: envs}).Marshal()
		for {
			if err := writeFrame(s, page); err != nil {
				return
			}
		}
	})
	host.n.host.Peerstore().AddAddrs(evil.ID(), evil.Addrs(), time.Hour)
	got, _, _, err := g.fetchRound(ctx, evil.ID(), epoch)
	if err == nil || !strings.Contains(err.Error(), "byte budget") {
		t.Fatalf("endless pages: %v after %d envelopes, want the byte budget to stop it", err, got)
	}
	if got*crypto.MaxEnvelopeSize > syncResponseBudget+15*crypto.MaxEnvelopeSize {
		t.Fatalf("the member took %d envelopes past its budget", got)
	}
}
