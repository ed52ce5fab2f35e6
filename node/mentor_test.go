package node

import (
	"errors"
	"testing"
	"time"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// storedEnvelopes returns every envelope e's store holds for group.
func storedEnvelopes(t testing.TB, e *e2eNode, group crypto.GroupID) [][]byte {
	t.Helper()
	envs, err := e.n.store.EnvelopesSince(group, 0, 10000)
	if err != nil {
		t.Fatalf("%s: EnvelopesSince: %v", e.name, err)
	}
	out := make([][]byte, len(envs))
	for i, env := range envs {
		out[i] = env.Raw
	}
	return out
}

// TestMentorPairIsPrivateToTheTwo: a member asks another for mentorship in
// a group of three. The request is a note the third member's node stores
// but cannot open (its session copy opens the envelope and fails on the
// note; the recipient's opens it). On acceptance the two share a group of
// two whose envelopes the third member's node holds no key for: no group,
// no envelope in its store, no sender-data key that opens them. An SOS to
// the mentor reaches the mentor only. A refusal, a host's pairing
// suggestion (and a member's, refused), and ending the mentorship from the
// side that hosts the pair's group, which the other side sees as ended.
func TestMentorPairIsPrivateToTheTwo(t *testing.T) {
	ann := &e2eMember{e2eNode: newE2ENode(t, "ann"), pseudonym: "ann"}
	bo := &e2eMember{e2eNode: newE2ENode(t, "bo"), pseudonym: "bo"}
	cy := &e2eMember{e2eNode: newE2ENode(t, "cy"), pseudonym: "cy"}
	e2eMesh(t, ann.e2eNode, bo.e2eNode, cy.e2eNode)
	parent := e2eGroupOf(t, ann, bo, cy)
	all := []*e2eMember{ann, bo, cy}
	e2eWaitAll(t, parent, e2eAllPost(t, parent, "hello", all...), all...)
	ctx := e2eCtx(t)
	annID := ann.group(t, parent).Info().Me.ID
	boID := bo.group(t, parent).Info().Me.ID
	cyID := cy.group(t, parent).Info().Me.ID

	// A copy of cy's session as it is before the note: it can still open
	// the envelope (the live one will have consumed it).
	cyBefore := e2eSessionCopy(t, cy.e2eNode, parent)

	ask := e2eMarker(t, "would you be my mentor")
	m, err := bo.group(t, parent).AskMentor(ctx, annID, ask, false)
	if err != nil {
		t.Fatalf("AskMentor: %v", err)
	}
	if m.State != MentorshipAsked || m.Role != RoleMentee || !m.Asker || m.Peer != annID {
		t.Fatalf("AskMentor returned %+v", m)
	}
	if _, err := bo.group(t, parent).AskMentor(ctx, annID, "again", false); !errors.Is(err, ErrMentorshipExists) {
		t.Fatalf("asking twice: %v, want ErrMentorshipExists", err)
	}
	ev := ann.rec.waitEvent(t, EventMentorRequest, parent, nil)
	req := ev.MentorRequest
	if req.ID != m.ID || req.Kind != MentorAsk || req.From != boID || req.FromPseudonym != "bo" || req.Text != ask {
		t.Fatalf("ann got request %+v", req)
	}

	// The note on the parent group's topic: every member stores it, only
	// ann can open it.
	var note *sealedNote
	e2ePoll(t, "cy to store bo's note", func() bool {
		note = noteIn(t, cyBefore, storedEnvelopes(t, cy.e2eNode, parent))
		return note != nil
	})
	for _, who := range []*e2eMember{cy, bo} {
		s := e2eSessionCopy(t, who.e2eNode, parent)
		if _, err := s.OpenNote(crypto.SecretNoteKey, boID, note.epoch, note.n.Key, note.n.Body); !errors.Is(err, crypto.ErrDecrypt) {
			t.Fatalf("%s opening the note: %v, want ErrDecrypt", who.name, err)
		}
	}
	plain, err := e2eSessionCopy(t, ann.e2eNode, parent).OpenNote(crypto.SecretNoteKey, boID, note.epoch, note.n.Key, note.n.Body)
	if err != nil {
		t.Fatalf("ann opening the note: %v", err)
	}
	if body, err := protocol.UnmarshalNoteBody(plain); err != nil || body.Kind != protocol.NoteMentorRequest || body.Invite == "" || body.Text != ask {
		t.Fatalf("the note opens to %+v, %v", body, err)
	}

	// Accepted: ann joins the pair's group as mentor.
	accepted, err := ann.n.AcceptMentor(ctx, req.ID)
	if err != nil {
		t.Fatalf("AcceptMentor: %v", err)
	}
	if accepted.State != MentorshipActive || accepted.Role != RoleMentor || accepted.Pair != m.Pair || accepted.Peer != boID {
		t.Fatalf("AcceptMentor returned %+v (bo's pair %s)", accepted, m.Pair)
	}
	bo.rec.waitEvent(t, EventMentorship, m.Pair, func(ev Event) bool { return ev.Mentorship.State == MentorshipActive })
	if reqs, err := ann.n.MentorRequests(); err != nil || len(reqs) != 0 {
		t.Fatalf("ann's requests after accepting: %v, %+v", err, reqs)
	}
	annPair := &e2eMember{e2eNode: ann.e2eNode, pseudonym: "ann"}
	boPair := &e2eMember{e2eNode: bo.e2eNode, pseudonym: "bo"}
	e2eSettle(t, m.Pair, boPair, annPair)
	if info := ann.group(t, m.Pair).Info(); info.Name != "Mentorship: bo & ann" || info.Me.Pseudonym != "ann" {
		t.Fatalf("ann's pair group: %+v", info)
	}
	secret := e2eMarker(t, "day three, the cravings are bad at night")
	if _, err := bo.group(t, m.Pair).Post(ctx, secret, MessageID{}); err != nil {
		t.Fatal(err)
	}
	ann.rec.waitText(t, m.Pair, secret)
	reply := e2eMarker(t, "call me any night")
	if _, err := ann.group(t, m.Pair).Post(ctx, reply, MessageID{}); err != nil {
		t.Fatal(err)
	}
	bo.rec.waitText(t, m.Pair, reply)

	// SOS to the mentor only.
	sent, err := bo.n.SendSOS(ctx, SOSInput{Mentors: true, Text: "help"})
	if err != nil || len(sent) != 1 || sent[0].Group != m.Pair || sent[0].SOS == nil {
		t.Fatalf("SendSOS to the mentor: %v, %+v", err, sent)
	}
	ann.rec.waitEventWithin(t, sosBound, EventSOS, m.Pair, func(ev Event) bool { return ev.SOS.ID == sent[0].SOS.ID })
	if _, err := cy.n.SendSOS(ctx, SOSInput{Mentors: true}); !errors.Is(err, ErrNoSOSTarget) {
		t.Fatalf("SendSOS to the mentor of a member without one: %v, want ErrNoSOSTarget", err)
	}

	// The third member holds nothing of the pair.
	pairEnvs := storedEnvelopes(t, ann.e2eNode, m.Pair)
	if len(pairEnvs) < 3 {
		t.Fatalf("ann's store holds %d envelopes of the pair's group", len(pairEnvs))
	}
	if _, err := cy.n.Group(m.Pair); !errors.Is(err, ErrNoGroup) {
		t.Fatalf("cy's node has the pair's group: %v", err)
	}
	if got := storedEnvelopes(t, cy.e2eNode, m.Pair); len(got) != 0 {
		t.Fatalf("cy's store holds %d envelopes of the pair's group", len(got))
	}
	keys := e2eSenderKeys(t, cy.e2eNode, parent)
	for _, env := range pairEnvs {
		e, err := crypto.ParseEnvelope(env)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if _, err := e.OpenSender(&k); err == nil {
				t.Fatal("a sender-data key of cy's opens an envelope of the pair's group")
			}
		}
		if err := e2eSessionOpens(t, cy.e2eNode, parent, env); err == nil {
			t.Fatal("cy's session opens an envelope of the pair's group")
		}
	}
	// ...and ann's own keys do open them, so the check above can fail.
	annKeys := e2eSenderKeys(t, ann.e2eNode, m.Pair)
	opened := 0
	for _, env := range pairEnvs {
		e, _ := crypto.ParseEnvelope(env)
		for _, k := range annKeys {
			if _, err := e.OpenSender(&k); err == nil {
				opened++
				break
			}
		}
	}
	if opened == 0 {
		t.Fatal("ann's own sender-data keys open none of the pair's envelopes")
	}

	// A refusal: cy offers to mentor ann, who says no.
	offer, err := cy.group(t, parent).AskMentor(ctx, annID, "", true)
	if err != nil {
		t.Fatalf("AskMentor (offer): %v", err)
	}
	ev = ann.rec.waitEvent(t, EventMentorRequest, parent, func(ev Event) bool { return ev.MentorRequest.ID == offer.ID })
	if ev.MentorRequest.Kind != MentorOffer {
		t.Fatalf("ann got %v, want an offer", ev.MentorRequest.Kind)
	}
	if err := ann.n.DeclineMentor(ctx, offer.ID); err != nil {
		t.Fatalf("DeclineMentor: %v", err)
	}
	cy.rec.waitEvent(t, EventMentorship, offer.Pair, func(ev Event) bool { return ev.Mentorship.State == MentorshipDeclined })

	// A host's pairing suggestion; a member's is refused.
	if err := bo.group(t, parent).SuggestPairing(ctx, cyID, annID, ""); !errors.Is(err, ErrNotAdmin) {
		t.Fatalf("a member suggesting a pairing: %v, want ErrNotAdmin", err)
	}
	if err := ann.group(t, parent).SuggestPairing(ctx, cyID, boID, "bo has been where you are"); err != nil {
		t.Fatalf("SuggestPairing: %v", err)
	}
	ev = cy.rec.waitEvent(t, EventMentorRequest, parent, func(ev Event) bool { return ev.MentorRequest.Kind == MentorPairing })
	if ev.MentorRequest.Subject != boID || ev.MentorRequest.SubjectPseudonym != "bo" || ev.MentorRequest.From != annID {
		t.Fatalf("cy got pairing %+v", ev.MentorRequest)
	}
	if err := cy.n.DeclineMentor(ctx, ev.MentorRequest.ID); err != nil {
		t.Fatalf("DeclineMentor (pairing): %v", err)
	}
	if reqs, _ := cy.n.MentorRequests(); len(reqs) != 0 {
		t.Fatalf("cy's requests after dismissing the suggestion: %+v", reqs)
	}

	// bo, who hosts the pair's group, ends it: ann is made host, bo
	// leaves, and both sides mark it ended.
	if err := bo.n.EndMentorship(ctx, m.ID); err != nil {
		t.Fatalf("EndMentorship: %v", err)
	}
	ann.rec.waitEvent(t, EventMentorship, m.Pair, func(ev Event) bool { return ev.Mentorship.State == MentorshipEnded })
	ms, err := bo.n.Mentorships()
	if err != nil || len(ms) != 1 || ms[0].State != MentorshipEnded {
		t.Fatalf("bo's mentorships: %v, %+v", err, ms)
	}

	// Through all of it, nothing of the pair reached cy: no request but
	// the pairing, no event of the pair's group, no SOS.
	for _, ev := range cy.rec.all() {
		switch {
		case ev.Group == m.Pair:
			t.Fatalf("cy got an event of the pair's group: %v", ev.Kind)
		case ev.Kind == EventMentorRequest && ev.MentorRequest.Kind != MentorPairing:
			t.Fatalf("cy got a mentorship request: %+v", ev.MentorRequest)
		case ev.Kind == EventSOS:
			t.Fatalf("cy got an SOS: %+v", ev.SOS)
		}
	}
}

// sealedNote is a note found in stored envelopes, with its epoch.
type sealedNote struct {
	n     protocol.Note
	epoch uint64
}

// noteIn opens envs with (a copy of) a session and returns the first note
// among them, or nil.
func noteIn(t testing.TB, s *protocol.Session, envs [][]byte) *sealedNote {
	t.Helper()
	b, err := s.Export()
	if err != nil {
		t.Fatal(err)
	}
	cp, err := protocol.ImportSession(b)
	crypto.Wipe(b)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Wipe()
	for _, env := range envs {
		rec, err := cp.Open(env, time.Now().UnixMilli(), nil)
		if err != nil {
			continue
		}
		if n, ok := rec.Content.(protocol.Note); ok {
			return &sealedNote{n: n, epoch: rec.Epoch}
		}
	}
	return nil
}

// TestMentorRequestsAreBounded: a newer request from the same member in
// the same group replaces the older one, and at most maxMentorRequests
// wait, the oldest forgotten first, so no member can fill another's disk
// with requests.
func TestMentorRequestsAreBounded(t *testing.T) {
	e := newE2ENode(t, "alone")
	group := crypto.GroupID{1}
	from := crypto.MemberID{2}
	at := time.Now()
	record := func(id byte, sender crypto.MemberID, i int) {
		t.Helper()
		r := &MentorRequest{ID: MentorshipID{id, byte(i)}, Group: group, Kind: MentorAsk, From: sender, FromPseudonym: "x",
			Received: at.Add(time.Duration(i) * time.Millisecond), invite: "hearth:x"}
		if _, err := e.n.recordMentorRequest(r); err != nil {
			t.Fatal(err)
		}
	}
	record(1, from, 0)
	record(2, from, 1)
	if reqs, err := e.n.MentorRequests(); err != nil || len(reqs) != 1 || reqs[0].ID != (MentorshipID{2, 1}) {
		t.Fatalf("after a second request from the same member: %v, %+v", err, reqs)
	}
	for i := range maxMentorRequests + 5 {
		record(3, crypto.MemberID{3, byte(i)}, 10+i)
	}
	reqs, err := e.n.MentorRequests()
	if err != nil || len(reqs) != maxMentorRequests {
		t.Fatalf("%d requests wait (%v), want %d", len(reqs), err, maxMentorRequests)
	}
	if reqs[len(reqs)-1].ID != (MentorshipID{3, byte(10 + maxMentorRequests + 4)}) || reqs[0].ID == (MentorshipID{2, 1}) {
		t.Fatalf("the newest was not kept, or the oldest not forgotten: first %v, last %v", reqs[0].ID, reqs[len(reqs)-1].ID)
	}
}

// TestMentorAcceptRefusesAGroupOfMore: a hostile member's request carries
// an invite to a group that already holds an accomplice. Accepting it
// answers ErrNotAPair, leaves that group at once and records no
// mentorship, so the member is never led to confide in a "private" pair
// that others read.
func TestMentorAcceptRefusesAGroupOfMore(t *testing.T) {
	asker := &e2eMember{e2eNode: newE2ENode(t, "asker"), pseudonym: "asker"}
	accomplice := &e2eMember{e2eNode: newE2ENode(t, "accomplice"), pseudonym: "accomplice"}
	mentor := newE2ENode(t, "mentor")
	e2eMesh(t, asker.e2eNode, accomplice.e2eNode, mentor)
	ctx := e2eCtx(t)
	fake := e2eGroupOf(t, asker, accomplice)
	inv, _, err := asker.group(t, fake).CreateInvite(ctx, InviteOptions{Uses: 1})
	if err != nil {
		t.Fatal(err)
	}
	parent, err := mentor.n.CreateGroup(ctx, GroupOptions{Name: "circle", Pseudonym: "mentor"})
	if err != nil {
		t.Fatal(err)
	}
	id := MentorshipID{0x77}
	if _, err := mentor.n.recordMentorRequest(&MentorRequest{ID: id, Group: parent.ID(), Kind: MentorAsk, From: crypto.MemberID{9},
		FromPseudonym: "asker", Received: time.Now(), invite: inv}); err != nil {
		t.Fatal(err)
	}
	if _, err := mentor.n.AcceptMentor(ctx, id); !errors.Is(err, ErrNotAPair) {
		t.Fatalf("accepting a request into a group of three: %v, want ErrNotAPair", err)
	}
	g, err := mentor.n.Group(fake)
	if err == nil && !g.Info().Removed {
		t.Error("the member stays in the group that was not a pair")
	}
	if ms, err := mentor.n.Mentorships(); err != nil || len(ms) != 0 {
		t.Errorf("mentorships after the refusal: %+v, %v; want none", ms, err)
	}
	if reqs, err := mentor.n.MentorRequests(); err != nil || len(reqs) != 0 {
		t.Errorf("requests after the refusal: %+v, %v; want none", reqs, err)
	}
}

// TestMentorRequestsFollowRetention: a waiting request's text is content
// of its group, so the retention pass forgets requests older than the
// group's retention (while its envelope goes with the other envelopes),
// and keeps a newer one and one from a group that keeps everything; a
// mentorship started that long ago keeps going without the request's text.
func TestMentorRequestsFollowRetention(t *testing.T) {
	e := newE2ENode(t, "alone")
	ctx := e2eCtx(t)
	short, err := e.n.CreateGroup(ctx, GroupOptions{Name: "short", Pseudonym: "me", Retention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	forever, err := e.n.CreateGroup(ctx, GroupOptions{Name: "forever", Pseudonym: "me"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i, r := range []struct {
		g   crypto.GroupID
		age time.Duration
	}{{short.ID(), 2 * time.Hour}, {short.ID(), time.Minute}, {forever.ID(), 48 * time.Hour}} {
		if _, err := e.n.recordMentorRequest(&MentorRequest{ID: MentorshipID{byte(i + 1)}, Group: r.g, Kind: MentorAsk,
			From: crypto.MemberID{byte(i + 1)}, FromPseudonym: "x", Text: "please", Received: now.Add(-r.age), invite: "hearth:x"}); err != nil {
			t.Fatal(err)
		}
	}
	for i, age := range []time.Duration{2 * time.Hour, time.Minute} {
		m := &Mentorship{ID: MentorshipID{0xa0 + byte(i)}, Parent: short.ID(), Pair: crypto.GroupID{0xa0 + byte(i)}, Peer: crypto.MemberID{9},
			PeerPseudonym: "x", Role: RoleMentor, State: MentorshipActive, Text: "please", Created: now.Add(-age), Updated: now}
		if err := e.n.putMentorship(m); err != nil {
			t.Fatal(err)
		}
	}
	e.n.expire()
	if old, err := e.n.Mentorship(MentorshipID{0xa0}); err != nil || old.Text != "" {
		t.Errorf("a mentorship started before the retention: %+v, %v; want it kept without the request's text", old, err)
	}
	if recent, err := e.n.Mentorship(MentorshipID{0xa1}); err != nil || recent.Text != "please" {
		t.Errorf("a recent mentorship: %+v, %v; want its text kept", recent, err)
	}
	reqs, err := e.n.MentorRequests()
	if err != nil {
		t.Fatal(err)
	}
	var ids []MentorshipID
	for _, r := range reqs {
		ids = append(ids, r.ID)
	}
	if len(ids) != 2 || ids[0] != (MentorshipID{3}) || ids[1] != (MentorshipID{2}) {
		t.Fatalf("requests after the retention pass: %v; want the forever group's and the recent one", ids)
	}
}

// TestMentorPairStaysTwo: once a mentorship is accepted, neither side's
// node invites or admits anyone into the pair's group, whatever its role
// there (ErrMentorPair); an invite to the pair made anyway (as a node from
// before this rule could) is answered "revoked"; and when a modified asker's
// node lets a third member in regardless, the accepting side ends the
// mentorship with Outsiders set and leaves the group. Then the other
// ending: the accepting side of a second mentorship, not the pair group's
// host, leaves the pair's group with a plain Leave, and the asker's node
// marks the mentorship ended (not flagged).
func TestMentorPairStaysTwo(t *testing.T) {
	ann := &e2eMember{e2eNode: newE2ENode(t, "ann"), pseudonym: "ann"}
	bo := &e2eMember{e2eNode: newE2ENode(t, "bo"), pseudonym: "bo"}
	cy := &e2eMember{e2eNode: newE2ENode(t, "cy"), pseudonym: "cy"}
	e2eMesh(t, ann.e2eNode, bo.e2eNode, cy.e2eNode)
	parent := e2eGroupOf(t, ann, bo, cy)
	all := []*e2eMember{ann, bo, cy}
	e2eWaitAll(t, parent, e2eAllPost(t, parent, "hello", all...), all...)
	ctx := e2eCtx(t)
	annID := ann.group(t, parent).Info().Me.ID
	boID := bo.group(t, parent).Info().Me.ID

	// bo asks ann; ann accepts. bo hosts the pair's group.
	m, err := bo.group(t, parent).AskMentor(ctx, annID, "", false)
	if err != nil {
		t.Fatalf("AskMentor: %v", err)
	}
	ann.rec.waitEvent(t, EventMentorRequest, parent, func(ev Event) bool { return ev.MentorRequest.ID == m.ID })
	if _, err := ann.n.AcceptMentor(ctx, m.ID); err != nil {
		t.Fatalf("AcceptMentor: %v", err)
	}
	bo.rec.waitEvent(t, EventMentorship, m.Pair, func(ev Event) bool { return ev.Mentorship.State == MentorshipActive })
	annPair := &e2eMember{e2eNode: ann.e2eNode, pseudonym: "ann"}
	boPair := &e2eMember{e2eNode: bo.e2eNode, pseudonym: "bo"}
	e2eSettle(t, m.Pair, boPair, annPair)

	// Neither side invites or admits, the host (bo) nor the member (ann).
	for _, who := range []*e2eMember{bo, ann} {
		if _, _, err := who.group(t, m.Pair).CreateInvite(ctx, InviteOptions{Uses: 3}); !errors.Is(err, ErrMentorPair) {
			t.Fatalf("%s inviting to the pair's group: %v, want ErrMentorPair", who.name, err)
		}
		if err := who.group(t, m.Pair).Admit(ctx, crypto.MemberID{7}); !errors.Is(err, ErrMentorPair) {
			t.Fatalf("%s admitting into the pair's group: %v, want ErrMentorPair", who.name, err)
		}
	}
	// An invite to the pair made all the same (by a node from before the
	// rule): bo's node answers a join with it as revoked, and the pair
	// stays two.
	stale, _, err := bo.group(t, m.Pair).createInvite(ctx, InviteOptions{Uses: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cy.n.Join(ctx, stale, "cy"); !errors.Is(err, ErrInviteRevoked) {
		t.Fatalf("cy joining the pair with an invite made anyway: %v, want ErrInviteRevoked", err)
	}
	if members, others := bo.group(t, m.Pair).pairRoster(); members != 2 || others {
		t.Fatalf("bo's pair group after the refused join: %d members, others %v", members, others)
	}
	if got, err := ann.n.Mentorship(m.ID); err != nil || got.State != MentorshipActive || got.Outsiders {
		t.Fatalf("ann's mentorship after the refused join: %+v, %v", got, err)
	}

	// A modified asker's node: it forgets the pair and lets cy in. ann's
	// node sees a third member in the pair's group, ends the mentorship,
	// says why, and leaves.
	if err := bo.n.store.Delete(storage.KindLocal, zeroGroup, withPrefix(prefixMentorship, m.ID[:])); err != nil {
		t.Fatal(err)
	}
	inv, _, err := bo.group(t, m.Pair).CreateInvite(ctx, InviteOptions{Uses: 1})
	if err != nil {
		t.Fatalf("bo's node, forgetting the pair, inviting: %v", err)
	}
	if _, err := cy.n.Join(ctx, inv, "cy"); err != nil {
		t.Fatalf("cy joining the pair's group: %v", err)
	}
	ev := ann.rec.waitEvent(t, EventMentorship, m.Pair, func(ev Event) bool { return ev.Mentorship.State == MentorshipEnded })
	if !ev.Mentorship.Outsiders {
		t.Fatalf("ann's mentorship ended without saying why: %+v", ev.Mentorship)
	}
	ann.rec.waitEvent(t, EventRemoved, m.Pair, nil)
	if !ann.group(t, m.Pair).Info().Removed {
		t.Fatal("ann stays in the pair's group that holds a third member")
	}
	if got, err := ann.n.Mentorship(m.ID); err != nil || got.State != MentorshipEnded || !got.Outsiders {
		t.Fatalf("ann's recorded mentorship: %+v, %v; want ended with Outsiders", got, err)
	}

	// The accepting side ends a mentorship with a plain Leave: cy offers
	// to mentor bo (cy hosts that pair's group), bo accepts, then leaves.
	m2, err := cy.group(t, parent).AskMentor(ctx, boID, "", true)
	if err != nil {
		t.Fatalf("AskMentor (offer): %v", err)
	}
	bo.rec.waitEvent(t, EventMentorRequest, parent, func(ev Event) bool { return ev.MentorRequest.ID == m2.ID })
	if _, err := bo.n.AcceptMentor(ctx, m2.ID); err != nil {
		t.Fatalf("AcceptMentor (offer): %v", err)
	}
	cy.rec.waitEvent(t, EventMentorship, m2.Pair, func(ev Event) bool { return ev.Mentorship.State == MentorshipActive })
	cyPair := &e2eMember{e2eNode: cy.e2eNode, pseudonym: "cy"}
	boPair2 := &e2eMember{e2eNode: bo.e2eNode, pseudonym: "bo"}
	e2eSettle(t, m2.Pair, cyPair, boPair2)
	e2eWaitMeshed(t, m2.Pair, cyPair, boPair2)
	if bo.group(t, m2.Pair).Info().Me.Role == protocol.RoleHost {
		t.Fatal("bo hosts the pair's group; the test wants the accepting side to be a plain member")
	}
	if err := bo.group(t, m2.Pair).Leave(ctx); err != nil {
		t.Fatalf("bo leaving the pair's group: %v", err)
	}
	ev = cy.rec.waitEvent(t, EventMentorship, m2.Pair, func(ev Event) bool { return ev.Mentorship.State == MentorshipEnded })
	if ev.Mentorship.Outsiders || ev.Mentorship.ID != m2.ID {
		t.Fatalf("cy's node ended the mentorship as %+v", ev.Mentorship)
	}
	if got, err := bo.n.Mentorship(m2.ID); err != nil || got.State != MentorshipEnded || got.Outsiders {
		t.Fatalf("bo's mentorship after leaving: %+v, %v; want ended", got, err)
	}
	if n := cy.group(t, m2.Pair).Info().Members; n != 1 {
		t.Fatalf("cy's pair group holds %d members after bo left, want 1", n)
	}
}

// TestMentorPairThatEverHeldOthersEnds: a pair's group whose roster shows
// two members but once gave out a third index (someone added and removed
// again) is no pair: reconciling ends the mentorship with Outsiders set.
// Its only host cannot leave it, so the group stays, and the node still
// refuses to invite anyone to it.
func TestMentorPairThatEverHeldOthersEnds(t *testing.T) {
	e := newE2ENode(t, "alone")
	ctx := e2eCtx(t)
	g, err := e.n.CreateGroup(ctx, GroupOptions{Name: "pair", Pseudonym: "me"})
	if err != nil {
		t.Fatal(err)
	}
	add := func(name string) crypto.MemberID {
		t.Helper()
		c, err := crypto.NewMemberCredential(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Wipe()
		if _, err := g.commit(ctx, []protocol.Change{protocol.Add{Public: c.Public(), Pseudonym: name, Role: protocol.RoleMember}}, requireAdmin, crypto.MemberID{}); err != nil {
			t.Fatal(err)
		}
		return c.ID()
	}
	third := add("third")
	if _, err := g.commit(ctx, []protocol.Change{protocol.Remove{Member: third}}, requireAdmin, third); err != nil {
		t.Fatal(err)
	}
	add("peer")
	// Recorded once the roster is as the test wants it: two members, three
	// indexes given out.
	m := &Mentorship{ID: MentorshipID{0x42}, Parent: crypto.GroupID{1}, Pair: g.ID(), Peer: crypto.MemberID{2},
		PeerPseudonym: "peer", Role: RoleMentee, State: MentorshipActive, Asker: true, Created: time.Now(), Updated: time.Now()}
	if err := e.n.putMentorship(m); err != nil {
		t.Fatal(err)
	}
	if got, err := e.n.Mentorship(m.ID); err != nil || got.State != MentorshipEnded || !got.Outsiders {
		t.Fatalf("a pair of two that once held a third: %+v, %v; want ended with Outsiders", got, err)
	}
	e.rec.waitEvent(t, EventMentorship, g.ID(), func(ev Event) bool { return ev.Mentorship.Outsiders })
	if info := g.Info(); info.Removed || info.Members != 2 {
		t.Fatalf("the only host's group: %+v; want it kept", info)
	}
	if _, _, err := g.CreateInvite(ctx, InviteOptions{}); !errors.Is(err, ErrMentorPair) {
		t.Fatalf("inviting to an ended pair: %v, want ErrMentorPair", err)
	}
}

// TestMentorshipRecordReadsOldLayout: a mentorship record written before
// the Outsiders flag existed (no trailing byte) still reads, as not
// flagged; the flag round-trips; anything after it is refused.
func TestMentorshipRecordReadsOldLayout(t *testing.T) {
	m := &Mentorship{ID: MentorshipID{1}, Parent: crypto.GroupID{2}, Pair: crypto.GroupID{3}, Peer: crypto.MemberID{4},
		PeerPseudonym: "p", Role: RoleMentor, State: MentorshipEnded, Text: "t", Outsiders: true,
		Created: time.UnixMilli(1000), Updated: time.UnixMilli(2000)}
	b := encodeMentorship(m)
	got, err := decodeMentorship(m.ID[:], b)
	if err != nil || !got.Outsiders || got.Text != "t" || got.State != MentorshipEnded {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	old, err := decodeMentorship(m.ID[:], b[:len(b)-1])
	if err != nil || old.Outsiders || old.Updated != m.Updated {
		t.Fatalf("a record without the flag: %+v, %v", old, err)
	}
	if _, err := decodeMentorship(m.ID[:], append(b, 0)); err == nil {
		t.Fatal("a record with a byte after the flag was accepted")
	}
	if _, err := decodeMentorship(m.ID[:], append(b[:len(b)-1], 2)); err == nil {
		t.Fatal("a flag of 2 was accepted")
	}
}
