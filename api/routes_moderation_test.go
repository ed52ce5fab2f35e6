package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hearthnet/hearth/api/client"
	"github.com/hearthnet/hearth/node"
)

// TestRoutesModeration drives moderation between two real daemons through
// the client: guidelines pinned before the member joined reach them and are
// accepted; an edit, a removal and a deletion reach the other member's
// event stream and history; a report reaches the host only; and mute and
// block change only what the muting member's daemon serves.
func TestRoutesModeration(t *testing.T) {
	t.Parallel()
	ann, bo := startDaemonNode(t, "ann"), startDaemonNode(t, "bo")
	ctx := e2eContext(t)
	group, err := ann.c.CreateGroup(ctx, "Tuesday circle", "ann", "")
	if err != nil {
		t.Fatal(err)
	}
	const rules = "Be kind. Share your own story, not others'."
	gl, err := ann.c.SetGuidelines(ctx, group, "  "+rules+"\n")
	if err != nil || gl.Version != 1 || gl.Text != rules || !gl.Current || gl.Pseudonym != "ann" {
		t.Fatalf("SetGuidelines = %+v, %v", gl, err)
	}
	inv, err := ann.c.CreateInvite(ctx, group, client.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	annEv, boEv := ann.watch(t), bo.watch(t)
	if _, err := bo.c.Join(ctx, inv.Invite, "bo"); err != nil {
		t.Fatal(err)
	}
	annEv.wait("bo's arrival", client.EventMemberJoined, nil)
	got := boEv.wait("the guidelines", client.EventGuidelines, func(d client.EventData) bool { return d.Group == group })
	if got.Guidelines == nil || got.Guidelines.Text != rules || got.Guidelines.Current {
		t.Fatalf("bo's guidelines event: %+v", got.Guidelines)
	}
	if d, err := bo.c.Group(ctx, group); err != nil || d.Guidelines != 1 || d.GuidelinesAccepted {
		t.Fatalf("bo's group before accepting: %+v, %v", d, err)
	}
	// Bo cannot post until he accepts them.
	_, err = bo.c.Post(ctx, group, "too early", "")
	wantCode(t, "posting before accepting the guidelines", err, http.StatusForbidden, "guidelines_not_accepted")
	if msgs, err := bo.c.Messages(ctx, group, 10, ""); err != nil || len(msgs) != 0 {
		t.Fatalf("bo's history after the refused post: %+v, %v", msgs, err)
	}
	if _, err := bo.c.SetGuidelines(ctx, group, "no rules"); err == nil {
		t.Fatal("a member pinned guidelines")
	} else {
		wantCode(t, "a member pinning guidelines", err, http.StatusForbidden, "not_admin")
	}
	if gl, err := bo.c.AcceptGuidelines(ctx, group); err != nil || !gl.Current || gl.Accepted != 1 {
		t.Fatalf("AcceptGuidelines = %+v, %v", gl, err)
	}
	if gs, err := bo.c.Groups(ctx); err != nil || len(gs) != 1 || !gs[0].GuidelinesAccepted {
		t.Fatalf("bo's groups after accepting: %+v, %v", gs, err)
	}

	// An edit.
	first := postSeen(t, group, "first words", bo, annEv)
	edited, err := bo.c.EditMessage(ctx, group, first, "better words")
	if err != nil || edited.Text != "better words" || edited.Edited == "" {
		t.Fatalf("EditMessage = %+v, %v", edited, err)
	}
	ed := annEv.wait("the edit", client.EventMessageEdited, func(d client.EventData) bool { return d.Message != nil && d.Message.ID == first })
	if ed.Message.Text != "better words" || ed.Message.Edited == "" {
		t.Fatalf("the edit as ann's stream has it: %+v", ed.Message)
	}
	_, err = ann.c.EditMessage(ctx, group, first, "ann's words")
	wantCode(t, "editing another's post", err, http.StatusForbidden, "not_author")
	_, err = bo.c.EditMessage(ctx, group, first, "")
	wantCode(t, "an empty edit", err, http.StatusBadRequest, "bad_text")

	// A report reaches the host only.
	hello := postSeen(t, group, "hello from ann", ann, boEv)
	wantCode(t, "reporting one's own post", bo.c.ReportMessage(ctx, group, first, "mine"), http.StatusBadRequest, "self")
	wantCode(t, "a long reason", bo.c.ReportMessage(ctx, group, hello, strings.Repeat("x", 1025)), http.StatusBadRequest, "bad_text")
	if err := bo.c.ReportMessage(ctx, group, hello, "felt dismissive"); err != nil {
		t.Fatal(err)
	}
	rep := annEv.wait("the report", client.EventReport, nil).Report
	if rep == nil || rep.Post != hello || rep.Excerpt != "hello from ann" || rep.Reason != "felt dismissive" ||
		rep.ReporterPseudonym != "bo" || rep.Status != "open" {
		t.Fatalf("the report: %+v", rep)
	}
	if reps, err := ann.c.Reports(ctx, group); err != nil || len(reps) != 1 || reps[0].ID != rep.ID {
		t.Fatalf("ann's Reports = %+v, %v", reps, err)
	}
	if reps, err := bo.c.Reports(ctx, group); err != nil || len(reps) != 0 {
		t.Fatalf("bo's Reports = %+v, %v", reps, err)
	}
	if err := ann.c.DismissReport(ctx, group, rep.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "dismissing twice", ann.c.DismissReport(ctx, group, rep.ID), http.StatusNotFound, "no_report")

	// A removal by the host, a deletion by the author.
	wantCode(t, "a member removing a post", bo.c.RemoveMessage(ctx, group, hello, ""), http.StatusForbidden, "not_admin")
	if err := ann.c.RemoveMessage(ctx, group, first, "please keep to your own story"); err != nil {
		t.Fatal(err)
	}
	rm := boEv.wait("the removal", client.EventMessageRemoved, func(d client.EventData) bool { return d.Removal != nil && d.Removal.Post == first })
	if rm.Removal.By != "moderator" || rm.Removal.Reason != "please keep to your own story" {
		t.Fatalf("the removal: %+v", rm.Removal)
	}
	msgs, err := bo.c.Messages(ctx, group, 0, "")
	if err != nil || len(msgs) != 2 || msgs[0].ID != first || msgs[0].Text != "" || msgs[0].Removed == nil || msgs[0].Removed.By != "moderator" {
		t.Fatalf("bo's history after the removal: %+v, %v", msgs, err)
	}
	second := postSeen(t, group, "second words", bo, annEv)
	if err := bo.c.DeleteMessage(ctx, group, second); err != nil {
		t.Fatal(err)
	}
	del := annEv.wait("the deletion", client.EventMessageRemoved, func(d client.EventData) bool { return d.Removal != nil && d.Removal.Post == second })
	if del.Removal.By != "author" {
		t.Fatalf("the deletion: %+v", del.Removal)
	}
	wantCode(t, "deleting a removed post", bo.c.DeleteMessage(ctx, group, second), http.StatusNotFound, "not_found")

	// Mute and block, on ann's daemon only.
	boID, annID := bo.mustMe(t, group), ann.mustMe(t, group)
	wantCode(t, "muting oneself", ann.c.Mute(ctx, group, annID), http.StatusBadRequest, "self")
	wantCode(t, "muting a stranger", ann.c.Mute(ctx, group, strings.Repeat("ab", 16)), http.StatusNotFound, "no_member")
	if err := ann.c.Mute(ctx, group, boID); err != nil {
		t.Fatal(err)
	}
	if ms, err := ann.c.MutedMembers(ctx, group); err != nil || len(ms) != 1 || ms[0] != (client.Muted{Member: boID, Level: "muted"}) {
		t.Fatalf("MutedMembers = %+v, %v", ms, err)
	}
	quiet, err := bo.c.Post(ctx, group, "muted words", "")
	if err != nil {
		t.Fatal(err)
	}
	if d := annEv.wait("the muted post", client.EventMessage, func(d client.EventData) bool { return d.Message != nil && d.Message.ID == quiet }); !d.Message.Muted {
		t.Fatalf("ann's stream does not mark the muted member's post: %+v", d.Message)
	}
	if page, err := ann.c.Messages(ctx, group, 1, ""); err != nil || len(page) != 1 || page[0].ID != quiet || !page[0].Muted {
		t.Fatalf("ann's history shows the muted post as %+v, %v", page, err)
	}
	if page, err := bo.c.Messages(ctx, group, 1, ""); err != nil || page[0].Muted {
		t.Fatalf("bo's own history marks his post muted: %+v, %v", page, err)
	}
	if err := ann.c.Block(ctx, group, boID); err != nil {
		t.Fatal(err)
	}
	sub := ann.n.Subscribe()
	defer sub.Close()
	hidden, err := bo.c.Post(ctx, group, "blocked words", "")
	if err != nil {
		t.Fatal(err)
	}
	// Ann's node receives it, but her daemon does not serve it: not in
	// history, not on the stream.
	for received := false; !received; {
		select {
		case ev := <-sub.Events():
			received = ev.Kind == node.EventMessage && ev.Message != nil && ev.Message.ID.String() == hidden
		case <-time.After(e2eBound):
			t.Fatal("ann's node never received the blocked post")
		}
	}
	page, err := ann.c.Messages(ctx, group, 500, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range page {
		if m.Author == boID {
			t.Fatalf("ann's history serves a blocked member's post: %+v", m)
		}
	}
	if len(page) != 1 || page[0].ID != hello {
		t.Fatalf("ann's history with bo blocked: %+v", page)
	}
	// The daemon's event bridge judges each event as it handles it, on
	// its own goroutine: the blocked post must be judged before the
	// unblock. Ann's own marker comes after it on the node's one event
	// stream, so once the marker is on hers, the blocked post was judged.
	// readUntil reads ann's stream until the post want arrives (unmuted),
	// failing if the blocked post comes first.
	readUntil := func(want, what string) {
		t.Helper()
		for seen := false; !seen; {
			select {
			case e := <-annEv.ch:
				d, err := e.Decode()
				if err != nil || d.Message == nil {
					continue
				}
				if d.Message.ID == hidden {
					t.Fatal("ann's event stream carried a blocked member's post")
				}
				seen = d.Message.ID == want && !d.Message.Muted
			case <-time.After(e2eBound):
				t.Fatalf("%s never reached ann's stream", what)
			}
		}
	}
	readUntil(postSeen(t, group, "marker before unblocking", ann), "ann's own marker")
	if err := ann.c.Unblock(ctx, group, boID); err != nil {
		t.Fatal(err)
	}
	readUntil(postSeen(t, group, "after the block", bo), "the post after unblocking")
	if ms, err := ann.c.MutedMembers(ctx, group); err != nil || len(ms) != 0 {
		t.Fatalf("MutedMembers after Unblock = %+v, %v", ms, err)
	}
}
