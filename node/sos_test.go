package node

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// sosBound is how quickly an SOS must reach every member online: a few
// gossipsub heartbeats, with room for a loaded CI machine under -race.
const sosBound = 10 * time.Second

// waitEventWithin waits, at most bound, for an event of kind in group that
// match accepts.
func (r *e2eRecorder) waitEventWithin(t testing.TB, bound time.Duration, kind EventKind, group crypto.GroupID, match func(Event) bool) Event {
	t.Helper()
	var found Event
	transportWaitForBound(t, fmt.Sprintf("event %v", kind), bound, &r.sig, func() bool {
		for _, ev := range r.all() {
			if ev.Kind == kind && ev.Group == group && (match == nil || match(ev)) {
				found = ev
				return true
			}
		}
		return false
	})
	return found
}

// TestSOSReachesEveryMemberAndTheAnswerTheSender: an SOS reaches every
// member of the group within sosBound as EventSOS; a second one within a
// minute is refused with an error naming the first (never dropped
// silently); a member's "I'm here" reaches the sender (and everyone), and
// the sender's SOSes list shows who answered.
func TestSOSReachesEveryMemberAndTheAnswerTheSender(t *testing.T) {
	ash := &e2eMember{e2eNode: newE2ENode(t, "ash"), pseudonym: "ash"}
	birch := &e2eMember{e2eNode: newE2ENode(t, "birch"), pseudonym: "birch"}
	cedar := &e2eMember{e2eNode: newE2ENode(t, "cedar"), pseudonym: "cedar"}
	e2eMesh(t, ash.e2eNode, birch.e2eNode, cedar.e2eNode)
	id := e2eGroupOf(t, ash, birch, cedar)
	all := []*e2eMember{ash, birch, cedar}
	e2eWaitAll(t, id, e2eAllPost(t, id, "hello", all...), all...)
	ctx := e2eCtx(t)

	text := e2eMarker(t, "I am about to drink, please someone")
	sent := time.Now()
	s, err := birch.group(t, id).SOS(ctx, text)
	if err != nil {
		t.Fatalf("SOS: %v", err)
	}
	if !s.Mine || s.Text != text || s.Pseudonym != "birch" {
		t.Fatalf("SOS returned %+v", s)
	}
	for _, m := range all {
		ev := m.rec.waitEventWithin(t, sosBound, EventSOS, id, func(ev Event) bool { return ev.SOS != nil && ev.SOS.ID == s.ID })
		if ev.SOS.Text != text || ev.SOS.Pseudonym != "birch" || ev.SOS.Mine != (m == birch) || ev.SOS.Late {
			t.Fatalf("%s: EventSOS %+v", m.name, ev.SOS)
		}
	}
	t.Logf("the SOS reached every member within %v", time.Since(sent).Round(time.Millisecond))

	_, err = birch.group(t, id).SOS(ctx, "again")
	var soon *SOSTooSoonError
	if !errors.As(err, &soon) || !errors.Is(err, ErrSOSTooSoon) || soon.Last.ID != s.ID {
		t.Fatalf("a second SOS within a minute: %v, want SOSTooSoonError naming the first", err)
	}
	// Another member's SOS is not limited by birch's.
	other, err := cedar.group(t, id).SOS(ctx, "")
	if err != nil {
		t.Fatalf("cedar's SOS: %v", err)
	}
	ash.rec.waitEventWithin(t, sosBound, EventSOS, id, func(ev Event) bool { return ev.SOS != nil && ev.SOS.ID == other.ID })

	answer := e2eMarker(t, "I'm here, calling you now")
	if _, err := ash.group(t, id).AnswerSOS(ctx, s.ID, answer); err != nil {
		t.Fatalf("AnswerSOS: %v", err)
	}
	for _, m := range all {
		ev := m.rec.waitEventWithin(t, sosBound, EventSOSReply, id, func(ev Event) bool { return ev.SOSReply != nil && ev.SOSReply.SOS == s.ID })
		if ev.SOSReply.Pseudonym != "ash" || ev.SOSReply.Text != answer || ev.SOSReply.Mine != (m == ash) {
			t.Fatalf("%s: EventSOSReply %+v", m.name, ev.SOSReply)
		}
	}
	got, err := birch.group(t, id).SOSByID(s.ID)
	if err != nil {
		t.Fatalf("SOSByID: %v", err)
	}
	if len(got.Replies) != 1 || got.Replies[0].Pseudonym != "ash" || got.Replies[0].Author != ash.group(t, id).Info().Me.ID {
		t.Fatalf("the sender sees answers %+v, want ash's", got.Replies)
	}
	// A hostile member's node (ash's, which has sent no SOS, so the
	// minute between SOSes does not hide this) sends its own SOS under
	// birch's SOS ID, to replace birch's text and author (and take its
	// answers): every node keeps birch's.
	forged, err := ash.group(t, id).sendContent(ctx, protocol.SOS{ID: s.ID, Text: "never mind, all fine"})
	if err != nil {
		t.Fatalf("sending the forged SOS: %v", err)
	}
	for _, m := range all {
		e2ePoll(t, m.name+" holding the forged SOS", func() bool {
			ok, _ := m.n.store.HasEnvelope(id, storage.EnvelopeID(forged.ID))
			return ok
		})
		got, err := m.group(t, id).SOSByID(s.ID)
		if err != nil || got.Text != text || got.Pseudonym != "birch" || got.Mine != (m == birch) || len(got.Replies) != 1 {
			t.Fatalf("%s: after a forged SOS under the same ID: %v, %+v; want birch's with ash's answer", m.name, err, got)
		}
	}
	// The same hostile node sends a second SOS of its own at once, which
	// an honest node never does within a minute: no node records it, so
	// a modified node cannot ring everyone's alert every second.
	flood, err := cedar.group(t, id).sendContent(ctx, protocol.SOS{ID: SOSID{0xf1, 0x00, 0xd}, Text: "again and again"})
	if err != nil {
		t.Fatalf("sending the second SOS: %v", err)
	}
	for _, m := range all {
		e2ePoll(t, m.name+" holding the second SOS", func() bool {
			ok, _ := m.n.store.HasEnvelope(id, storage.EnvelopeID(flood.ID))
			return ok
		})
		if _, err := m.group(t, id).SOSByID(SOSID{0xf1, 0x00, 0xd}); !errors.Is(err, ErrNoSOS) {
			t.Fatalf("%s: an SOS within a minute of the same member's last: %v, want ErrNoSOS", m.name, err)
		}
	}
	list, err := cedar.group(t, id).SOSes()
	if err != nil || len(list) != 2 || list[0].ID != other.ID || !list[0].Mine || list[1].ID != s.ID {
		t.Fatalf("cedar's SOSes: %v, %+v; want its own then birch's, newest first", err, list)
	}
	if _, err := ash.group(t, id).AnswerSOS(ctx, SOSID{1}, ""); !errors.Is(err, ErrNoSOS) {
		t.Fatalf("answering an unknown SOS: %v, want ErrNoSOS", err)
	}
	if _, err := ash.n.SendSOS(ctx, SOSInput{}); !errors.Is(err, ErrNoSOSTarget) {
		t.Fatalf("SendSOS to nobody: %v, want ErrNoSOSTarget", err)
	}
}

// TestSOSKeptAWeek: SOSes and their answers are local records that go
// away after a week, and the minute between two SOSes of a member is
// counted from the stored record (so it holds across a restart).
func TestSOSKeptAWeek(t *testing.T) {
	var clock e2eClock
	e := newE2ENode(t, "alone", func(c *Config) { c.Now = clock.now })
	ctx := e2eCtx(t)
	g, err := e.n.CreateGroup(ctx, GroupOptions{Name: "circle", Pseudonym: "alone"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := g.SOS(ctx, "help")
	if err != nil {
		t.Fatalf("SOS: %v", err)
	}
	if _, err := g.AnswerSOS(ctx, s.ID, "I'm here for myself"); err != nil {
		t.Fatalf("AnswerSOS: %v", err)
	}
	e.restart(t)
	g = e.group(t, g.ID())
	if _, err := g.SOS(ctx, "again"); !errors.Is(err, ErrSOSTooSoon) {
		t.Fatalf("an SOS within a minute, after a restart: %v, want ErrSOSTooSoon", err)
	}
	clock.advance(2 * time.Minute)
	if _, err := g.SOS(ctx, "again"); err != nil {
		t.Fatalf("an SOS two minutes later: %v", err)
	}
	if list, err := g.SOSes(); err != nil || len(list) != 2 || len(list[1].Replies) != 1 {
		t.Fatalf("SOSes: %v, %+v", err, list)
	}
	clock.advance(sosKeep + time.Hour)
	if list, err := g.SOSes(); err != nil || len(list) != 0 {
		t.Fatalf("SOSes after a week: %v, %+v; want none", err, list)
	}
	for _, p := range [][]byte{prefixSOS, prefixSOSReply} {
		_ = e.n.store.Scan(storage.KindLocal, g.ID(), p, func(key, _ []byte) error {
			t.Errorf("a record %q is still stored after a week", key[:len(p)])
			return nil
		})
	}
}
