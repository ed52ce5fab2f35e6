package node

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// e2eModerationGroup has host create a group, pin guidelines while alone
// in it, and admit each joiner in turn, waiting for each to settle.
func e2eModerationGroup(t *testing.T, host *e2eMember, guidelines string, joiners ...*e2eMember) crypto.GroupID {
	t.Helper()
	ctx := e2eCtx(t)
	g, err := host.n.CreateGroup(ctx, GroupOptions{Name: "Sunday circle", Pseudonym: host.pseudonym})
	if err != nil {
		t.Fatal(err)
	}
	gl, err := g.SetGuidelines(ctx, guidelines)
	if err != nil || gl.Version != 1 || gl.Text != guidelines || !gl.Current() {
		t.Fatalf("SetGuidelines = %+v, %v", gl, err)
	}
	invite, _, err := g.CreateInvite(ctx, InviteOptions{Uses: len(joiners)})
	if err != nil {
		t.Fatal(err)
	}
	in := []*e2eMember{host}
	for _, j := range joiners {
		if _, err := j.n.Join(e2eCtx(t), invite, j.pseudonym); err != nil {
			t.Fatalf("%s: Join: %v", j.name, err)
		}
		in = append(in, j)
		e2eSettle(t, g.ID(), in...)
	}
	return g.ID()
}

// e2eReadable returns every record of group id on e's node that the store
// returns readable (opened): local copies and every generic record.
// Envelopes are left out: they are ciphertext under keys of the group.
func e2eReadable(t *testing.T, e *e2eNode, id crypto.GroupID) [][]byte {
	t.Helper()
	st := e.n.store
	var out [][]byte
	page, err := st.Messages(id, nil, 100000)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range page {
		out = append(out, m.Content)
	}
	for _, kind := range []storage.Kind{storage.KindGroup, storage.KindRoster, storage.KindCommit, storage.KindEpochSecret, storage.KindChainState, storage.KindInvite, storage.KindLocal} {
		if err := st.Scan(kind, id, nil, func(_, v []byte) error {
			out = append(out, v)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func e2eHolds(t *testing.T, e *e2eNode, id crypto.GroupID, marker string) bool {
	t.Helper()
	for _, v := range e2eReadable(t, e, id) {
		if bytes.Contains(v, []byte(marker)) {
			return true
		}
	}
	return false
}

// e2eTrace is where one post and its edits are stored on one node.
type e2eTrace struct {
	envs []storage.EnvelopeID
	gens []storage.EnvelopeMeta
}

func e2eTraceOf(t *testing.T, e *e2eNode, id crypto.GroupID, post MessageID) e2eTrace {
	t.Helper()
	g := e.group(t, id)
	p, err := g.lookupPost(post)
	if err != nil {
		t.Fatalf("%s: %v", e.name, err)
	}
	tr := e2eTrace{envs: []storage.EnvelopeID{p.env}}
	prefix := withPrefix(prefixModEdits, post[:])
	if err := e.n.store.Scan(storage.KindLocal, id, prefix, func(key, _ []byte) error {
		var eid storage.EnvelopeID
		copy(eid[:], key[len(prefix):])
		tr.envs = append(tr.envs, eid)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, eid := range tr.envs {
		env, err := e.n.store.GetEnvelope(id, eid)
		if err != nil {
			t.Fatalf("%s: %v", e.name, err)
		}
		tr.gens = append(tr.gens, env.Meta)
	}
	return tr
}

// heldIn reports whether generation gen of sender in epoch is in vector v.
func heldIn(v []storage.SenderGenerations, m storage.EnvelopeMeta) bool {
	for _, e := range v {
		if e.Epoch != m.Epoch || e.Sender != m.Sender {
			continue
		}
		for _, r := range e.Held {
			if r.First <= m.Generation && m.Generation <= r.Last {
				return true
			}
		}
	}
	return false
}

// TestE2EModeration runs moderation across three real nodes on loopback:
// guidelines pinned before anyone joined reach each joiner (the admin
// re-sends them after the Add) and are accepted locally; an author's edit
// is seen by all; a forged edit and deletion by another member are ignored
// by every node; a report is read by the host and cannot be opened by an
// ordinary member; the host's removal erases the post, its edits and the
// report's excerpt from every member's store, leaving a marker in its
// place; an author's deletion is seen by all; and muting and blocking
// send nothing.
func TestE2EModeration(t *testing.T) {
	host := &e2eMember{e2eNode: newE2ENode(t, "host"), pseudonym: "host"}
	alice := &e2eMember{e2eNode: newE2ENode(t, "alice"), pseudonym: "alice"}
	bob := &e2eMember{e2eNode: newE2ENode(t, "bob"), pseudonym: "bob"}
	all := []*e2eMember{host, alice, bob}
	ctx := e2eCtx(t)
	const rules = "Be kind. What is shared here stays here."
	id := e2eModerationGroup(t, host, rules, alice, bob)
	hg, ag, bg := host.group(t, id), alice.group(t, id), bob.group(t, id)

	// Guidelines.
	for _, m := range []*e2eMember{alice, bob} {
		ev := m.rec.waitEvent(t, EventGuidelines, id, nil)
		if ev.Guidelines.Text != rules || ev.Guidelines.Version != 1 || ev.Guidelines.Pseudonym != "host" {
			t.Fatalf("%s: guidelines %+v", m.name, ev.Guidelines)
		}
		if info := m.group(t, id).Info(); info.Guidelines != 1 || info.GuidelinesAccepted {
			t.Fatalf("%s: before accepting, info says version %d accepted %v", m.name, info.Guidelines, info.GuidelinesAccepted)
		}
	}
	if _, err := ag.AcceptGuidelines(); err != nil {
		t.Fatal(err)
	}
	if info := ag.Info(); !info.GuidelinesAccepted {
		t.Fatal("accepting the guidelines is not recorded")
	}
	if _, err := ag.SetGuidelines(ctx, "anything goes"); !errors.Is(err, ErrNotAdmin) {
		t.Fatalf("a member set the guidelines: %v", err)
	}
	// Bob has not accepted them yet: his post waits, and nothing is sealed
	// or stored for it; once he accepts, he posts.
	if _, err := bg.Post(ctx, "before accepting", MessageID{}); !errors.Is(err, ErrGuidelinesNotAccepted) {
		t.Fatalf("bob posted before accepting the guidelines: %v", err)
	}
	if h := e2eHistory(t, bg); len(h) != 0 {
		t.Fatalf("the refused post is in bob's history: %+v", h)
	}
	if _, err := bg.AcceptGuidelines(); err != nil {
		t.Fatal(err)
	}

	// An edit by the author.
	const secret = "MARKER-moss-lantern-4412"
	post, err := ag.Post(ctx, "first draft "+secret, MessageID{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		m.rec.waitText(t, id, "first draft "+secret)
	}
	edited, err := ag.Edit(ctx, post.ID, "second draft "+secret)
	if err != nil || edited.Text != "second draft "+secret || edited.Edited.IsZero() {
		t.Fatalf("Edit = %+v, %v", edited, err)
	}
	for _, m := range all {
		m.rec.waitEvent(t, EventMessageEdited, id, func(ev Event) bool {
			return ev.Message.ID == post.ID && ev.Message.Text == "second draft "+secret && !ev.Message.Edited.IsZero()
		})
		if h := e2eHistory(t, m.group(t, id)); len(h) != 1 || h[0].Text != "second draft "+secret {
			t.Fatalf("%s: history after the edit: %+v", m.name, h)
		}
	}

	// Forgeries: bob's node refuses; a modified node's are ignored.
	if _, err := bg.Edit(ctx, post.ID, "forged"); !errors.Is(err, ErrNotAuthor) {
		t.Fatalf("bob edited alice's post: %v", err)
	}
	if err := bg.Delete(ctx, post.ID); !errors.Is(err, ErrNotAuthor) {
		t.Fatalf("bob deleted alice's post: %v", err)
	}
	forgedEdit, err := bg.sendContent(ctx, protocol.Edit{Target: post.ID, Text: "forged " + secret})
	if err != nil {
		t.Fatal(err)
	}
	forgedDelete, err := bg.sendContent(ctx, protocol.Delete{Target: post.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		for _, f := range []*protocol.Received{forgedEdit, forgedDelete} {
			e2ePoll(t, m.name+" to receive the forgery", func() bool {
				has, _ := m.n.store.HasEnvelope(id, f.ID)
				return has
			})
		}
		p, err := m.group(t, id).lookupPost(post.ID)
		if err != nil || p.msg.Text != "second draft "+secret || p.msg.Removed != nil {
			t.Fatalf("%s: after the forgeries the post is %+v, %v", m.name, p.msg, err)
		}
	}

	// A report, sealed to the host only.
	if err := ag.Report(ctx, post.ID, "mine"); !errors.Is(err, ErrSelf) {
		t.Fatalf("alice reported her own post: %v", err)
	}
	rep, err := bg.sealReport(post.ID, "this is unkind")
	if err != nil {
		t.Fatal(err)
	}
	hostID, bobID := hg.Info().Me.ID, bg.Info().Me.ID
	if len(rep.Keys) != 1 || rep.Keys[0].To != hostID {
		t.Fatalf("the report is sealed to %d members, want the host only", len(rep.Keys))
	}
	epoch := bg.Info().Epoch
	aliceSess := e2eSessionCopy(t, alice.e2eNode, id)
	for _, k := range rep.Keys {
		if _, err := aliceSess.OpenNote(crypto.SecretReportKey, bobID, epoch, k.Sealed, rep.Body); !errors.Is(err, crypto.ErrDecrypt) {
			t.Fatalf("alice, an ordinary member, opened the report's key (err %v)", err)
		}
	}
	if _, err := e2eSessionCopy(t, host.e2eNode, id).OpenNote(crypto.SecretReportKey, bobID, epoch, rep.Keys[0].Sealed, rep.Body); err != nil {
		t.Fatalf("the host cannot open the report: %v", err)
	}
	sentReport, err := bg.sendContent(ctx, rep)
	if err != nil {
		t.Fatal(err)
	}
	got := host.rec.waitEvent(t, EventReport, id, nil).Report
	want := Report{ID: got.ID, Post: post.ID, Author: ag.Info().Me.ID, Pseudonym: "alice", Excerpt: "second draft " + secret,
		Reason: "this is unkind", Reporter: bobID, ReporterPseudonym: "bob", Sent: got.Sent, Status: ReportOpen}
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("the host's report:\n got %+v\nwant %+v", *got, want)
	}
	// A report with an invented quote, sealed to the host and to alice (an
	// ordinary member): the host sees the post's signed text, not the
	// quote; alice's node drops what was sealed to her.
	{
		st := bg.sess.GroupState()
		var hostPub, alicePub crypto.MemberPublic
		for _, m := range st.Roster {
			switch m.ID {
			case hostID:
				hostPub = m.Public
			case ag.Info().Me.ID:
				alicePub = m.Public
			}
		}
		plain, err := (&protocol.ReportBody{Post: post.ID, Author: ag.Info().Me.ID, Excerpt: "words alice never wrote", Reason: "forged"}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		keys, body, err := crypto.SealNote(crypto.SecretReportKey, []crypto.MemberPublic{hostPub, alicePub}, bobID, st.ID, st.Epoch, plain, nil)
		if err != nil {
			t.Fatal(err)
		}
		forged := protocol.Report{Body: body, Keys: []protocol.SealedSecret{{To: hostID, Sealed: keys[0]}, {To: ag.Info().Me.ID, Sealed: keys[1]}}}
		if _, err := bg.sendContent(ctx, forged); err != nil {
			t.Fatal(err)
		}
		fr := host.rec.waitEvent(t, EventReport, id, func(ev Event) bool { return ev.Report.Reason == "forged" }).Report
		if fr.Excerpt != "second draft "+secret {
			t.Fatalf("the host's copy of a report quotes %q, not the post it holds", fr.Excerpt)
		}
		if err := hg.DismissReport(fr.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []*e2eMember{alice, bob} {
		e2ePoll(t, m.name+" to hold the report's envelope", func() bool {
			has, _ := m.n.store.HasEnvelope(id, sentReport.ID)
			return has
		})
		if reps, err := m.group(t, id).Reports(); err != nil || len(reps) != 0 {
			t.Fatalf("%s, not an admin, holds reports %+v (%v)", m.name, reps, err)
		}
	}

	// The host removes the post: erased everywhere.
	if err := ag.RemovePost(ctx, post.ID, "no"); !errors.Is(err, ErrNotAdmin) {
		t.Fatalf("a member removed a post: %v", err)
	}
	traces := make(map[*e2eMember]e2eTrace)
	for _, m := range all {
		traces[m] = e2eTraceOf(t, m.e2eNode, id, post.ID)
		if len(traces[m].envs) != 3 { // the post, alice's edit, bob's forged edit
			t.Fatalf("%s holds %d envelopes of the post and its edits, want 3", m.name, len(traces[m].envs))
		}
		if !e2eHolds(t, m.e2eNode, id, secret) {
			t.Fatalf("%s: the scan does not find the post before its removal; it would show nothing", m.name)
		}
	}
	if err := hg.RemovePost(ctx, post.ID, "breaks guideline 1"); err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		ev := m.rec.waitEvent(t, EventMessageRemoved, id, func(ev Event) bool { return ev.Removal.Post == post.ID })
		if ev.Removal.By != RemovedByModerator || ev.Removal.Reason != "breaks guideline 1" || ev.Removal.Remover != hostID {
			t.Fatalf("%s: removal %+v", m.name, ev.Removal)
		}
		if e2eHolds(t, m.e2eNode, id, secret) {
			t.Errorf("%s: the removed post's text is still in a readable record", m.name)
		}
		held, err := m.group(t, id).heldGenerations()
		if err != nil {
			t.Fatal(err)
		}
		for i, eid := range traces[m].envs {
			if has, err := m.n.store.HasEnvelope(id, eid); err != nil || has {
				t.Errorf("%s still holds envelope %d of the removed post (%v)", m.name, i, err)
			}
			if !heldIn(held, traces[m].gens[i]) {
				t.Errorf("%s: erased envelope %d does not count as held for sync", m.name, i)
			}
		}
		h := e2eHistory(t, m.group(t, id))
		if len(h) != 1 || h[0].ID != post.ID || h[0].Text != "" || h[0].Removed == nil || h[0].Removed.By != RemovedByModerator {
			t.Fatalf("%s: history after the removal: %+v", m.name, h)
		}
	}
	if reps, err := hg.Reports(); err != nil || len(reps) != 1 || reps[0].Status != ReportPostRemoved || reps[0].Excerpt != "" {
		t.Fatalf("the host's report after the removal: %+v, %v", reps, err)
	}
	// Once retention deletes the removal's own envelope, its records go.
	rm, err := hg.loadRemovalLocked(post.ID)
	if err != nil {
		t.Fatal(err)
	}
	hg.pruneModeration()
	if _, err := hg.loadRemovalLocked(post.ID); err != nil {
		t.Fatalf("the removal record went while its envelope is held: %v", err)
	}
	if err := host.n.store.DeleteEnvelope(id, rm.envelope); err != nil {
		t.Fatal(err)
	}
	hg.pruneModeration()
	if _, err := hg.loadRemovalLocked(post.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the removal record outlived its envelope: %v", err)
	}
	// The report of the removed post went with the removal's record.
	if reps, err := hg.Reports(); err != nil || len(reps) != 0 {
		t.Fatalf("the host's reports after retention took the removal: %+v, %v", reps, err)
	}
	if err := hg.DismissReport(got.ID); !errors.Is(err, ErrNoReport) {
		t.Fatalf("dismissing a report retention took: %v", err)
	}

	// The author deletes a post.
	second, err := ag.Post(ctx, "I regret this", MessageID{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		m.rec.waitText(t, id, "I regret this")
	}
	if err := ag.Delete(ctx, second.ID); err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		ev := m.rec.waitEvent(t, EventMessageRemoved, id, func(ev Event) bool { return ev.Removal.Post == second.ID })
		if ev.Removal.By != RemovedByAuthor || ev.Removal.Remover != ag.Info().Me.ID {
			t.Fatalf("%s: deletion %+v", m.name, ev.Removal)
		}
		if e2eHolds(t, m.e2eNode, id, "I regret this") {
			t.Errorf("%s: the deleted post's text is still in a readable record", m.name)
		}
	}

	// Mute and block: local, nothing sealed or sent.
	aliceID := ag.Info().Me.ID
	lastGen := func() uint32 {
		var gen uint32
		envs, err := bob.n.store.EnvelopesSince(id, 0, 100000)
		if err != nil {
			t.Fatal(err)
		}
		me := bg.Info().Me
		for _, e := range envs {
			if e.Meta.Sender == indexOf(t, bg, me.ID) && e.Meta.Generation != crypto.ControlGeneration {
				gen = max(gen, e.Meta.Generation)
			}
		}
		return gen
	}
	before := lastGen()
	if err := bob.n.Mute(id, aliceID); err != nil {
		t.Fatal(err)
	}
	if l := bob.n.MuteLevelOf(id, aliceID); l != MuteMuted {
		t.Fatalf("after Mute the level is %v", l)
	}
	if err := bob.n.Block(id, aliceID); err != nil {
		t.Fatal(err)
	}
	if err := bob.n.Mute(id, bobID); !errors.Is(err, ErrSelf) {
		t.Fatalf("muting oneself: %v", err)
	}
	if err := bob.n.Block(id, crypto.MemberID{9}); !errors.Is(err, ErrNoMember) {
		t.Fatalf("blocking a stranger: %v", err)
	}
	if ms, err := bob.n.Muted(); err != nil || len(ms) != 1 || ms[0] != (MutedMember{Group: id, Member: aliceID, Level: MuteBlocked}) {
		t.Fatalf("Muted = %+v, %v", ms, err)
	}
	if err := bob.n.Unblock(id, aliceID); err != nil {
		t.Fatal(err)
	}
	if ms, _ := bob.n.Muted(); len(ms) != 0 || bob.n.MuteLevelOf(id, aliceID) != NotMuted {
		t.Fatalf("after Unblock: %+v", ms)
	}
	after, err := bg.Post(ctx, "after muting", MessageID{})
	if err != nil {
		t.Fatal(err)
	}
	host.rec.waitText(t, id, "after muting")
	if g := lastGen(); g != before+1 {
		t.Fatalf("bob's next post has generation %d, want %d: something was sealed while muting", g, before+1)
	}
	_ = after

	// New guidelines are accepted anew before the next post; the host who
	// pinned them has accepted them by pinning.
	if _, err := hg.SetGuidelines(ctx, rules+" Phones on silent."); err != nil {
		t.Fatal(err)
	}
	alice.rec.waitEvent(t, EventGuidelines, id, func(ev Event) bool { return ev.Guidelines.Version == 2 })
	if _, err := ag.Post(ctx, "under the old rules", MessageID{}); !errors.Is(err, ErrGuidelinesNotAccepted) {
		t.Fatalf("alice posted without accepting version 2: %v", err)
	}
	if _, err := ag.AcceptGuidelines(); err != nil {
		t.Fatal(err)
	}
	if _, err := ag.Post(ctx, "under the new rules", MessageID{}); err != nil {
		t.Fatal(err)
	}
	if _, err := hg.Post(ctx, "from the host", MessageID{}); err != nil {
		t.Fatal(err)
	}
}

// indexOf returns member's index in g's current roster.
func indexOf(t *testing.T, g *Group, member crypto.MemberID) uint32 {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	m, ok := g.sess.GroupState().MemberByID(member)
	if !ok {
		t.Fatalf("member %s not in the roster", member)
	}
	return m.Index
}

// TestE2ERemovedPostStaysAway shows a removal holding against a post that
// arrives after it: a post the host removed before bob received it is
// refused when it comes (not stored, not forwarded, a marker in its place,
// counted as held); a deletion that arrives before its post holds when it
// comes from the post's author and is void from anyone else; and a member
// who was offline during a removal, and still holds the post, erases it
// when it comes back and syncs, while the host's sync vector keeps the
// erased envelope from being offered to it again.
func TestE2ERemovedPostStaysAway(t *testing.T) {
	host := &e2eMember{e2eNode: newE2ENode(t, "host"), pseudonym: "host"}
	alice := &e2eMember{e2eNode: newE2ENode(t, "alice"), pseudonym: "alice"}
	bob := &e2eMember{e2eNode: newE2ENode(t, "bob"), pseudonym: "bob"}
	ctx := e2eCtx(t)
	id := e2eGroupOf(t, host, alice, bob)
	hg, ag, bg := host.group(t, id), alice.group(t, id), bob.group(t, id)

	// A post sealed but not yet delivered, removed before it arrives.
	ag.mu.Lock()
	env, post, err := ag.sess.SealPost("late words", [16]byte{}, time.Now().UnixMilli(), nil)
	if err == nil {
		err = ag.persistLocked()
	}
	ag.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	tomb, err := hg.sendContent(ctx, protocol.Tombstone{Target: post.ID, Reason: "off topic"})
	if err != nil {
		t.Fatal(err)
	}
	e2ePoll(t, "bob to hold the removal", func() bool {
		has, _ := bob.n.store.HasEnvelope(id, tomb.ID)
		return has
	})
	if res, _ := bg.validate(ctx, alice.n.PeerID(), env); res != pubsub.ValidationIgnore {
		t.Fatalf("a removed post arriving late was answered %v, want ignore (not forwarded)", res)
	}
	if has, _ := bob.n.store.HasEnvelope(id, storage.EnvelopeIDOf(env)); has {
		t.Fatal("bob stored a post removed before it arrived")
	}
	h := e2eHistory(t, bg)
	if len(h) != 1 || h[0].ID != MessageID(post.ID) || h[0].Removed == nil || h[0].Removed.Reason != "off topic" || h[0].Text != "" {
		t.Fatalf("bob's history: %+v", h)
	}
	if bob.rec.countText(id, "late words") != 0 {
		t.Fatal("the refused post reached bob's app")
	}
	meta := storage.EnvelopeMeta{Epoch: h[0].Epoch, Sender: indexOf(t, ag, ag.Info().Me.ID)}
	_, meta.Generation, _ = peekSender(env, bg.sess)
	if held, _ := bg.heldGenerations(); !heldIn(held, meta) {
		t.Fatal("the refused post does not count as held for sync")
	}

	// Deletions that arrive before their posts: the author's holds when
	// the post comes, another member's does not.
	seal := func() ([]byte, protocol.Post) {
		ag.mu.Lock()
		defer ag.mu.Unlock()
		env, p, err := ag.sess.SealPost("words sent then taken back", [16]byte{}, time.Now().UnixMilli(), nil)
		if err == nil {
			err = ag.persistLocked()
		}
		if err != nil {
			t.Fatal(err)
		}
		return env, p
	}
	ownEnv, own := seal()
	otherEnv, other := seal()
	byAuthor, err := ag.sendContent(ctx, protocol.Delete{Target: own.ID})
	if err != nil {
		t.Fatal(err)
	}
	forged, err := bg.sendContent(ctx, protocol.Delete{Target: other.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*protocol.Received{byAuthor, forged} {
		e2ePoll(t, "the host to hold the early deletions", func() bool {
			has, _ := host.n.store.HasEnvelope(id, d.ID)
			return has
		})
	}
	if res, _ := hg.validate(ctx, alice.n.PeerID(), ownEnv); res != pubsub.ValidationIgnore {
		t.Fatalf("a post its author deleted before it arrived was answered %v", res)
	}
	if res, _ := hg.validate(ctx, alice.n.PeerID(), otherEnv); res != pubsub.ValidationAccept {
		t.Fatalf("a post another member claimed to delete was answered %v", res)
	}
	if p, err := hg.lookupPost(MessageID(own.ID)); err != nil || p.msg.Removed == nil || p.msg.Removed.By != RemovedByAuthor {
		t.Fatalf("the host's copy of the post deleted early: %+v, %v", p.msg, err)
	}
	if p, err := hg.lookupPost(MessageID(other.ID)); err != nil || p.msg.Removed != nil || p.msg.Text != "words sent then taken back" {
		t.Fatalf("the host's copy of the post another member tried to delete: %+v, %v", p.msg, err)
	}

	// Bob is away while the host removes a post he holds.
	p2, err := ag.Post(ctx, "words to take back", MessageID{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*e2eMember{host, bob} {
		m.rec.waitText(t, id, "words to take back")
	}
	bobTrace := e2eTraceOf(t, bob.e2eNode, id, p2.ID)
	hostTrace := e2eTraceOf(t, host.e2eNode, id, p2.ID)
	bob.stop(t)
	if err := hg.RemovePost(ctx, p2.ID, "taken back"); err != nil {
		t.Fatal(err)
	}
	alice.rec.waitEvent(t, EventMessageRemoved, id, func(ev Event) bool { return ev.Removal.Post == p2.ID })
	// What the host asks for when it syncs does not include the erased
	// post, though its store no longer holds it: a peer that does (bob,
	// who has not seen the removal) is not asked to send it.
	held, err := hg.heldGenerations()
	if err != nil {
		t.Fatal(err)
	}
	stored, err := host.n.store.GenerationVector(id)
	if err != nil {
		t.Fatal(err)
	}
	if heldIn(stored, hostTrace.gens[0]) || !heldIn(held, hostTrace.gens[0]) {
		t.Fatal("the erased post should be missing from the store's vector and held in the sync vector")
	}
	bobHave := []protocol.VectorEntry{{Epoch: bobTrace.gens[0].Epoch, Sender: bobTrace.gens[0].Sender,
		Runs: []protocol.GenerationRun{{First: bobTrace.gens[0].Generation, Last: bobTrace.gens[0].Generation}}}}
	if w := protocol.SyncDiff(bobHave, requesterVector(held)); len(w) != 0 {
		t.Fatalf("a peer holding the erased post would send it again: %+v", w)
	}
	if w := protocol.SyncDiff(bobHave, requesterVector(stored)); len(w) != 1 {
		t.Fatalf("control: with the store's vector alone the post is wanted %d times, want 1", len(w))
	}

	// Bob returns, syncs, and erases the post too.
	bob.start(t)
	e2eConnect(t, bob.e2eNode, host.e2eNode)
	bob.rec.waitEvent(t, EventMessageRemoved, id, func(ev Event) bool { return ev.Removal.Post == p2.ID })
	if has, _ := bob.n.store.HasEnvelope(id, bobTrace.envs[0]); has {
		t.Fatal("bob still holds the post removed while he was away")
	}
	if e2eHolds(t, bob.e2eNode, id, "words to take back") {
		t.Fatal("bob's readable records still hold the removed post")
	}
}

// TestMessageCopyModeration round-trips local copies with the moderation
// part (edited, removed, both, neither) and refuses malformed ones.
func TestMessageCopyModeration(t *testing.T) {
	base := Message{ID: MessageID{1}, Author: crypto.MemberID{2}, Pseudonym: "sam", Text: "hello",
		Sent: time.UnixMilli(1000), Received: time.Unix(0, 2000), Epoch: 3}
	edited := base
	edited.Edited = time.UnixMilli(5000)
	removed := base
	removed.Text = ""
	removed.Removed = &Removal{Post: base.ID, By: RemovedByModerator, Remover: crypto.MemberID{4}, Reason: "unkind", At: time.UnixMilli(6000)}
	both := removed
	both.Edited = edited.Edited
	for _, m := range []Message{base, edited, removed, both} {
		b := encodeMessage(&m)
		got, err := decodeMessage(crypto.GroupID{}, b)
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip of %+v: %+v, %v", m, got, err)
		}
		if !bytes.Equal(encodeMessage(&got), b) {
			t.Fatal("re-encoding changed the bytes")
		}
	}
	plain := encodeMessage(&base)
	for name, b := range map[string][]byte{
		"zero flags":        append(bytes.Clone(plain), 0),
		"unknown flag":      append(bytes.Clone(plain), 4),
		"edited, truncated": append(bytes.Clone(plain), copyEdited, 0, 0),
		"unknown remover":   append(append(bytes.Clone(plain), copyRemoved, 3), make([]byte, 16+4+8)...),
	} {
		if _, err := decodeMessage(crypto.GroupID{}, b); !errors.Is(err, errRecord) {
			t.Errorf("%s: %v, want errRecord", name, err)
		}
	}
}

func TestMergeGenerations(t *testing.T) {
	r := func(a, b uint32) storage.GenerationRange { return storage.GenerationRange{First: a, Last: b} }
	a := []storage.SenderGenerations{
		{Epoch: 1, Sender: 0, Held: []storage.GenerationRange{r(0, 3), r(5, 9)}},
		{Epoch: 2, Sender: 4, Held: []storage.GenerationRange{r(1, 1)}},
	}
	b := []storage.SenderGenerations{
		{Epoch: 1, Sender: 0, Held: []storage.GenerationRange{r(4, 4)}},
		{Epoch: 1, Sender: 2, Held: []storage.GenerationRange{r(7, 7)}},
		{Epoch: 2, Sender: 4, Held: []storage.GenerationRange{r(3, 3), r(1, 1), r(0xffffffff, 0xffffffff)}},
	}
	want := []storage.SenderGenerations{
		{Epoch: 1, Sender: 0, Held: []storage.GenerationRange{r(0, 9)}},
		{Epoch: 1, Sender: 2, Held: []storage.GenerationRange{r(7, 7)}},
		{Epoch: 2, Sender: 4, Held: []storage.GenerationRange{r(1, 1), r(3, 3), r(0xffffffff, 0xffffffff)}},
	}
	if got := mergeGenerations(a, b); !reflect.DeepEqual(got, want) {
		t.Fatalf("merge:\n got %+v\nwant %+v", got, want)
	}
	if got := mergeGenerations(a, nil); !reflect.DeepEqual(got, a) {
		t.Fatalf("merging nothing changed the vector: %+v", got)
	}
}

// FuzzModerationRecords feeds arbitrary bytes to the moderation record
// decoders and to the local copy's decoder seeded with moderation parts:
// none may panic, and what decodes re-encodes to the same bytes.
func FuzzModerationRecords(f *testing.F) {
	rm := removalRecord{Removal: Removal{By: RemovedByModerator, Remover: crypto.MemberID{1}, Reason: "unkind", At: time.UnixMilli(7)}, envelope: storage.EnvelopeID{2}}
	f.Add(rm.encode())
	rep := reportRecord{Report: Report{Post: MessageID{3}, Pseudonym: "sam", Excerpt: "the post", Reason: "why", ReporterPseudonym: "ann", Sent: time.UnixMilli(9), Status: ReportOpen}, envelope: storage.EnvelopeID{4}}
	f.Add(rep.encode())
	f.Add(encodeGuidelines(&Guidelines{Version: 2, Text: "be kind", Pseudonym: "host", Set: time.UnixMilli(11)}))
	msg := &Message{Pseudonym: "ann", Sent: time.UnixMilli(1), Received: time.Unix(0, 2), Edited: time.UnixMilli(3), Removed: &rm.Removal}
	f.Add(encodeMessage(msg))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := decodeRemovalRecord(MessageID{}, b); err == nil && !bytes.Equal(r.encode(), b) {
			t.Fatal("removal record does not round-trip")
		}
		if r, err := decodeReportRecord(b); err == nil && !bytes.Equal(r.encode(), b) {
			t.Fatal("report record does not round-trip")
		}
		if gl, err := decodeGuidelines(b); err == nil && !bytes.Equal(encodeGuidelines(&gl), b) {
			t.Fatal("guidelines record does not round-trip")
		}
		if m, err := decodeMessage(crypto.GroupID{}, b); err == nil && !bytes.Equal(encodeMessage(&m), b) {
			t.Fatal("local copy does not round-trip")
		}
	})
}
