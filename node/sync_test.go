package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
)

// syncUnlimited lifts the per-member rate limit so a test can post
// hundreds of messages at once.
func syncUnlimited(c *Config) { c.RateLimit = RateLimit{PerMinute: 1 << 20, Burst: 1 << 20} }

func syncMember(t *testing.T, name string) *e2eMember {
	return &e2eMember{newE2ENode(t, name, syncUnlimited), name}
}

// syncPosts has each of posters post n messages in turn and returns their
// texts.
func syncPosts(t *testing.T, id crypto.GroupID, prefix string, n int, posters ...*e2eMember) []string {
	t.Helper()
	var texts []string
	for i := range n {
		m := posters[i%len(posters)]
		text := fmt.Sprintf("%s %d from %s", prefix, i, m.pseudonym)
		if _, err := m.group(t, id).Post(e2eCtx(t), text, MessageID{}); err != nil {
			t.Fatalf("%s: Post %d: %v", m.name, i, err)
		}
		texts = append(texts, text)
	}
	return texts
}

// syncHistoryLen counts g's history while it may be changing, reporting
// -1 when a page's first message is not yet indexed (a post's local copy
// and its index are two writes, and History may run between them).
func syncHistoryLen(g *Group) int {
	n := 0
	var before MessageID
	for {
		page, err := g.History(before, maxHistoryPage)
		if err != nil {
			return -1
		}
		n += len(page)
		if len(page) < maxHistoryPage {
			return n
		}
		before = page[0].ID
	}
}

// syncHistoryTexts returns the texts of g's history.
func syncHistoryTexts(t *testing.T, g *Group) map[string]Message {
	t.Helper()
	out := make(map[string]Message)
	for _, m := range e2eHistory(t, g) {
		out[m.Text] = m
	}
	return out
}

// TestSyncOfflineMemberCatchesUp takes a member offline while 1,000
// messages are posted around a removal and the re-key it makes, then
// brings it back: on reconnecting it has every message, marked late,
// shown in send order, within a bounded time. One of the posters is the
// member removed: what it posted before its removal is caught up too,
// although the commit that removed it is stored in the same epoch.
func TestSyncOfflineMemberCatchesUp(t *testing.T) {
	ann, bo, cy, di := syncMember(t, "ann"), syncMember(t, "bo"), syncMember(t, "cy"), syncMember(t, "di")
	e2eMesh(t, ann.e2eNode, bo.e2eNode, cy.e2eNode, di.e2eNode)
	id := e2eGroupOf(t, ann, bo, cy, di)
	di.stop(t)

	texts := syncPosts(t, id, "before", 500, ann, bo, cy)
	e2ePoll(t, "ann to hold cy's posts", func() bool { return syncHistoryLen(ann.group(t, id)) >= len(texts) })
	cyID := cy.group(t, id).Info().Me.ID
	if err := ann.group(t, id).Remove(e2eCtx(t), cyID); err != nil {
		t.Fatalf("removing cy: %v", err)
	}
	e2ePoll(t, "bo to enter the epoch without cy", func() bool { return bo.group(t, id).Info().Members == 3 })
	texts = append(texts, syncPosts(t, id, "after", 500, ann, bo)...)

	// Everything has happened once ann holds it all (ann receives bo's
	// posts by gossip, behind bo's posting).
	e2ePoll(t, "ann to hold every message", func() bool { return syncHistoryLen(ann.group(t, id)) >= len(texts) })

	start := time.Now()
	di.start(t)
	e2eConnect(t, di.e2eNode, ann.e2eNode)
	g := di.group(t, id)
	e2ePoll(t, "di to catch up", func() bool { return syncHistoryLen(g) >= len(texts) })
	took := time.Since(start)
	if took > 60*time.Second {
		t.Errorf("catching up took %v", took)
	}
	t.Logf("caught up %d messages in %v", len(texts), took)

	hist := e2eHistory(t, g)
	have := make(map[string]Message, len(hist))
	for _, m := range hist {
		have[m.Text] = m
	}
	for _, text := range texts {
		m, ok := have[text]
		if !ok {
			t.Fatalf("di lacks %q", text)
		}
		// What sync brought is marked late. (A few of the newest posts
		// may instead reach di by gossip, held until the commit before
		// them arrived, and are on time.)
		if !m.Late && strings.HasPrefix(text, "before") {
			t.Fatalf("%q, caught up by sync, not marked late", text)
		}
	}
	if len(hist) != len(texts) {
		t.Errorf("di holds %d messages, %d were posted", len(hist), len(texts))
	}
	// What sync brought sits in history in send order. (Posts gossip
	// delivered on time sit where they arrived.)
	var late []Message
	for _, m := range hist {
		if m.Late {
			late = append(late, m)
		}
	}
	if len(late) < len(texts)/2 {
		t.Errorf("only %d of %d messages came by sync", len(late), len(texts))
	}
	if !slices.IsSortedFunc(late, func(a, b Message) int { return a.Sent.Compare(b.Sent) }) {
		t.Error("caught-up history is not in send order")
	}
	var shown []Message
	for _, ev := range di.rec.all() {
		if ev.Kind == EventMessage && ev.Message != nil {
			shown = append(shown, *ev.Message)
		}
	}
	if len(shown) != len(texts) {
		t.Errorf("di's app was shown %d messages, want %d", len(shown), len(texts))
	}
	shownLate := slices.DeleteFunc(slices.Clone(shown), func(m Message) bool { return !m.Late })
	if !slices.IsSortedFunc(shownLate, func(a, b Message) int { return a.Sent.Compare(b.Sent) }) {
		for i := 1; i < len(shownLate); i++ {
			if shownLate[i].Sent.Before(shownLate[i-1].Sent) {
				t.Errorf("shown %q (sent %v) after %q (sent %v)", shownLate[i].Text, shownLate[i].Sent.Format(time.StampMilli), shownLate[i-1].Text, shownLate[i-1].Sent.Format(time.StampMilli))
				break
			}
		}
	}
	if info := g.Info(); info.Members != 3 || info.Removed {
		t.Errorf("di sees %d members (removed %v), want 3", info.Members, info.Removed)
	}
}

// TestSyncRemovedMemberGetsNothingAfterItsRemoval removes a member while it
// is offline: when it comes back it catches up to its removal and learns of
// it, and receives nothing posted after.
func TestSyncRemovedMemberGetsNothingAfterItsRemoval(t *testing.T) {
	ann, bo, di := syncMember(t, "ann"), syncMember(t, "bo"), syncMember(t, "di")
	e2eMesh(t, ann.e2eNode, bo.e2eNode, di.e2eNode)
	id := e2eGroupOf(t, ann, bo, di)
	diID := di.group(t, id).Info().Me.ID
	di.stop(t)
	before := syncPosts(t, id, "before", 40, ann, bo)
	if err := ann.group(t, id).Remove(e2eCtx(t), diID); err != nil {
		t.Fatal(err)
	}
	e2ePoll(t, "bo to enter the epoch without di", func() bool { return bo.group(t, id).Info().Members == 2 })
	after := syncPosts(t, id, "after", 40, ann, bo)

	di.start(t)
	e2eConnect(t, di.e2eNode, ann.e2eNode)
	di.rec.waitEvent(t, EventRemoved, id, nil)
	g := di.group(t, id)
	e2ePoll(t, "di to catch up to its removal", func() bool { return syncHistoryLen(g) >= len(before) })
	if _, err := g.Sync(e2eCtx(t)); err != nil && !errors.Is(err, errSyncRefused) {
		t.Logf("a second sync: %v", err)
	}
	have := syncHistoryTexts(t, g)
	for _, text := range before {
		if _, ok := have[text]; !ok {
			t.Errorf("di lacks %q, posted before its removal", text)
		}
	}
	for _, text := range after {
		if _, ok := have[text]; ok {
			t.Errorf("di holds %q, posted after its removal", text)
		}
	}
	// Nor does its store hold the later epochs' ciphertext.
	vec, err := di.n.store.GenerationVector(id)
	if err != nil {
		t.Fatal(err)
	}
	removedAt := ann.group(t, id).Info().Epoch
	for _, e := range vec {
		if e.Epoch >= removedAt {
			t.Errorf("di stored envelopes of epoch %d, after its removal", e.Epoch)
		}
	}
}

// TestSyncHostilePeerIsCutOff speaks /hearth/sync/1 to a member's node
// with a huge claimed frame length, garbage, a forged proof and a stall,
// and, as a responder, an endless stream of pages: each is cut off and the
// node goes on serving its members.
func TestSyncHostilePeerIsCutOff(t *testing.T) {
	ann, bo := syncMember(t, "ann"), syncMember(t, "bo")
	e2eConnect(t, ann.e2eNode, bo.e2eNode)
	id := e2eGroupOf(t, ann, bo)
	evil := transportHost(t)
	if err := evil.Connect(e2eCtx(t), ann.addrInfo(t)); err != nil {
		t.Fatal(err)
	}
	talk := func(frames ...[]byte) ([]byte, error) {
		s, err := evil.NewStream(e2eCtx(t), ann.n.PeerID(), syncProtocolID)
		if err != nil {
			return nil, err
		}
		defer s.Reset()
		_ = s.SetDeadline(time.Now().Add(10 * time.Second))
		for _, f := range frames {
			if _, err := s.Write(f); err != nil {
				return nil, err
			}
		}
		return io.ReadAll(s)
	}
	frame := func(b []byte) []byte { return binary.BigEndian.AppendUint32(nil, uint32(len(b))) }
	// A claimed length of 4 GiB: refused before anything is allocated.
	if got, _ := talk([]byte{0xFF, 0xFF, 0xFF, 0xFF}); len(got) != 0 {
		t.Errorf("huge frame answered with %d bytes", len(got))
	}
	// Garbage in a well-sized frame.
	if got, _ := talk(append(frame([]byte("garbage!")), "garbage!"...)); len(got) != 0 {
		t.Errorf("garbage answered with %d bytes", len(got))
	}
	// A well-formed hello for the real group (a member's key, as a
	// removed member of the epoch would hold), then a forged proof: the
	// challenge comes back, and nothing else.
	key := syncKeyOf(t, ann, id)
	hello := syncHelloTo(t, &key, ann.n.PeerID()).Marshal()
	proof, err := (&protocol.SyncProof{Signature: make([]byte, crypto.SignatureSize)}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := talk(append(frame(hello), hello...), append(frame(proof), proof...))
	if len(got) != 4+protocol.SyncHandshakeSize {
		t.Errorf("forged proof answered with %d bytes, want only the challenge", len(got))
	}

	// A hostile responder that holds the epoch's sync key: answers the
	// challenge, then streams pages without end. The requester stops at
	// its byte budget.
	evil.SetStreamHandler(syncProtocolID, func(s network.Stream) {
		defer s.Reset()
		if syncAnswerAsMember(s, &key) == nil {
			return
		}
		page, _ := (&protocol.SyncPage{Envelopes: [][]byte{bytes.Repeat([]byte{7}, 1<<19), bytes.Repeat([]byte{8}, 1<<19)}}).Marshal()
		for {
			if err := writeFrame(s, page); err != nil {
				return
			}
		}
	})
	ctx, cancel := context.WithTimeout(e2eCtx(t), 30*time.Second)
	defer cancel()
	_, err = ann.group(t, id).syncWith(ctx, evil.ID())
	if err == nil {
		t.Fatal("an endless stream of pages ended without error")
	}
	// Then a huge frame length from the responder side.
	evil.SetStreamHandler(syncProtocolID, func(s network.Stream) {
		defer s.Reset()
		if syncAnswerAsMember(s, &key) == nil {
			return
		}
		_, _ = s.Write([]byte{0x7F, 0xFF, 0xFF, 0xFF})
		_, _ = s.Read(make([]byte, 1))
	})
	if _, err := ann.group(t, id).syncWith(ctx, evil.ID()); !errors.Is(err, errFrameTooLarge) {
		t.Fatalf("huge page length: %v, want errFrameTooLarge", err)
	}

	// The node still works: bo's posts reach ann, and bo can sync.
	if _, err := bo.group(t, id).Post(e2eCtx(t), "still here", MessageID{}); err != nil {
		t.Fatal(err)
	}
	ann.rec.waitText(t, id, "still here")
	if _, err := bo.group(t, id).syncWith(e2eCtx(t), ann.n.PeerID()); err != nil {
		t.Fatalf("a member's sync after the attacks: %v", err)
	}

	// A requester that stalls after the challenge does not hold up Close.
	stall, err := evil.NewStream(e2eCtx(t), ann.n.PeerID(), syncProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	defer stall.Reset()
	if _, err := stall.Write(append(frame(hello), hello...)); err != nil {
		t.Fatal(err)
	}
	if _, err := readFrame(stall, protocol.SyncHandshakeSize); err != nil {
		t.Fatalf("reading the challenge: %v", err)
	}
	start := time.Now()
	ann.stop(t)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Close took %v with a stalled sync requester", took)
	}
}
