package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearthnet/hearth/api/client"
)

const unknownID = "0123456789abcdef0123456789abcdef"

// TestRoutesGroupLifecycle: a host and a member, each on their own node
// and daemon: create, invite, join, live messages both ways, paging,
// roles, leaving, invites withdrawn, history kept after leaving.
func TestRoutesGroupLifecycle(t *testing.T) {
	t.Parallel()
	ann, bo := startDaemonNode(t, "ann"), startDaemonNode(t, "bo")
	ctx := e2eContext(t)

	st, err := ann.c.Status(ctx)
	if err != nil || st.PeerID != ann.n.PeerID().String() || len(st.Addrs) == 0 || st.Groups != 0 || st.Version != "v0-test" ||
		st.Reachability != ann.n.Reachability() {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	for _, a := range st.Addrs {
		if !strings.HasPrefix(a, "/ip4/127.0.0.1/tcp/") || !strings.HasSuffix(a, "/p2p/"+st.PeerID) {
			t.Errorf("address %q is not a loopback multiaddr of the node", a)
		}
	}

	group, err := ann.c.CreateGroup(ctx, "  Tuesday circle ", "ann", "30d")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ann.c.Group(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if d.Group != group || d.Name != "Tuesday circle" || d.Role != "host" || d.Members != 1 || d.Removed ||
		d.Retention != "30d" || d.Me.Pseudonym != "ann" || d.Me.Role != "host" || len(d.Me.Member) != 32 || d.Online != 0 {
		t.Fatalf("Group = %+v", d)
	}
	if gs, err := ann.c.Groups(ctx); err != nil || len(gs) != 1 || gs[0].Group != group || gs[0].Name != "Tuesday circle" {
		t.Fatalf("Groups = %+v, %v", gs, err)
	}

	inv, err := ann.c.CreateInvite(ctx, group, client.InviteOptions{Expires: "12h", Uses: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(inv.Invite, "hearth:") || len(inv.ID) != 16 || inv.UsesLeft != 2 || inv.Approval ||
		inv.Expires.Sub(time.Now().Add(12*time.Hour)).Abs() > time.Minute {
		t.Fatalf("CreateInvite = %+v", inv)
	}

	annEv, boEv := ann.watch(t), bo.watch(t)
	res, err := bo.c.Join(ctx, inv.Invite+"\n", " bo ")
	if err != nil {
		t.Fatal(err)
	}
	if res.Group != group || res.Status != client.JoinJoined {
		t.Fatalf("Join = %+v", res)
	}
	joined := annEv.wait("bo's arrival", client.EventMemberJoined, func(d client.EventData) bool {
		return d.Group == group && d.Member != nil && d.Member.Pseudonym == "bo"
	})
	boID := joined.Member.Member
	if joined.Member.Role != "member" {
		t.Errorf("bo joined as %q", joined.Member.Role)
	}
	if invs, err := ann.c.Invites(ctx, group); err != nil || len(invs) != 1 || invs[0].ID != inv.ID || invs[0].UsesLeft != 1 {
		t.Errorf("Invites after one use = %+v, %v", invs, err)
	}
	ms, err := bo.c.Members(ctx, group)
	if err != nil || len(ms) != 2 || ms[0].Pseudonym != "ann" || ms[1].Member != boID {
		t.Fatalf("bo's Members = %+v, %v", ms, err)
	}

	// Live messages both ways: what one member posts arrives at the other
	// member's event stream, with its author and reply.
	welcome := postSeen(t, group, "welcome, bo", ann, boEv)
	reply, err := bo.c.Post(ctx, group, "thank you", welcome)
	if err != nil {
		t.Fatal(err)
	}
	got := annEv.wait("bo's reply", client.EventMessage, func(d client.EventData) bool {
		return d.Message != nil && d.Message.ID == reply
	})
	if m := got.Message; m.Group != group || m.Author != boID || m.Pseudonym != "bo" || m.Text != "thank you" ||
		m.ReplyTo != welcome || m.Received.IsZero() || m.Sent.IsZero() {
		t.Errorf("reply event = %+v", m)
	}

	// Paging: pages of two, oldest first, going back with before.
	for i := range 4 {
		if _, err := ann.c.Post(ctx, group, "note "+string(rune('a'+i)), ""); err != nil {
			t.Fatal(err)
		}
	}
	all, err := ann.c.Messages(ctx, group, 0, "")
	if err != nil || len(all) != 6 || all[0].ID != welcome || all[1].ID != reply || all[5].Text != "note d" {
		t.Fatalf("Messages = %+v, %v", all, err)
	}
	var paged []client.Message
	before := ""
	for {
		page, err := ann.c.Messages(ctx, group, 2, before)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 2 {
			t.Fatalf("a page of %d with limit 2", len(page))
		}
		paged = append(slices.Clone(page), paged...)
		before = page[0].ID
	}
	if len(paged) != len(all) {
		t.Fatalf("paging gave %d messages, want %d", len(paged), len(all))
	}
	for i := range all {
		if paged[i].ID != all[i].ID {
			t.Errorf("paged message %d is %s, want %s", i, paged[i].ID, all[i].ID)
		}
	}
	wantCode(t, "before an unknown message", ann.raw(t, "GET", "/api/v1/groups/"+group+"/messages?before="+unknownID, nil), 404, "not_found")

	// Roles: a member may not invite; a host makes them a moderator, who
	// then may invite but not change roles.
	_, err = bo.c.CreateInvite(ctx, group, client.InviteOptions{})
	wantCode(t, "a member inviting", err, 403, "not_admin")
	if err := ann.c.SetRole(ctx, group, boID, "moderator"); err != nil {
		t.Fatal(err)
	}
	boEv.wait("bo's promotion", client.EventRoleChanged, func(d client.EventData) bool {
		return d.Member != nil && d.Member.Member == boID && d.Member.Role == "moderator"
	})
	if d, err := bo.c.Group(ctx, group); err != nil || d.Role != "moderator" || d.Me.Role != "moderator" {
		t.Errorf("bo after promotion = %+v, %v", d, err)
	}
	wantCode(t, "the same role again", ann.c.SetRole(ctx, group, boID, "moderator"), 409, "conflict")
	wantCode(t, "a moderator changing roles", bo.c.SetRole(ctx, group, ann.mustMe(t, group), "member"), 403, "not_admin")
	if _, err := bo.c.CreateInvite(ctx, group, client.InviteOptions{}); err != nil {
		t.Errorf("a moderator inviting: %v", err)
	}
	wantCode(t, "the last host leaving", ann.c.Leave(ctx, group), 409, "conflict")

	// Withdrawing an invite.
	if err := ann.c.RevokeInvite(ctx, group, inv.ID); err != nil {
		t.Fatal(err)
	}
	invs, err := ann.c.Invites(ctx, group)
	if err != nil || len(invs) != 1 || !invs[0].Revoked {
		t.Errorf("Invites after revoking = %+v, %v", invs, err)
	}
	wantCode(t, "revoking an unknown invite", ann.c.RevokeInvite(ctx, group, "0011223344556677"), 404, "no_invite")

	// Leaving: the host sees it, the leaver keeps the history and can send
	// nothing.
	if err := bo.c.Leave(ctx, group); err != nil {
		t.Fatal(err)
	}
	annEv.wait("bo leaving", client.EventMemberLeft, func(d client.EventData) bool {
		return d.Member != nil && d.Member.Member == boID
	})
	boEv.wait("bo's own removal", client.EventRemoved, func(d client.EventData) bool { return d.Group == group })
	if d, err := bo.c.Group(ctx, group); err != nil || !d.Removed {
		t.Errorf("bo after leaving = %+v, %v", d, err)
	}
	_, err = bo.c.Post(ctx, group, "still here?", "")
	wantCode(t, "posting after leaving", err, 409, "removed")
	wantCode(t, "leaving twice", bo.c.Leave(ctx, group), 409, "removed")
	if h, err := bo.c.Messages(ctx, group, 0, ""); err != nil || len(h) != 6 {
		t.Errorf("bo's history after leaving: %d messages, %v", len(h), err)
	}
	if ms, err := ann.c.Members(ctx, group); err != nil || len(ms) != 1 {
		t.Errorf("ann's Members after bo left = %+v, %v", ms, err)
	}
}

// mustMe returns this daemon's member ID in group.
func (d *daemon) mustMe(t *testing.T, group string) string {
	t.Helper()
	g, err := d.c.Group(e2eContext(t), group)
	if err != nil {
		t.Fatal(err)
	}
	return g.Me.Member
}

// mistype changes one character in the middle of an invite to another
// character of the invite's own alphabet: its checksum no longer matches.
func mistype(inv string) string {
	i := len(inv) / 2
	for _, c := range inv[len("hearth:"):] {
		if byte(c) != inv[i] {
			return inv[:i] + string(c) + inv[i+1:]
		}
	}
	return inv
}

// TestRoutesJoiningAndWaitingRoom: every refusal a joiner can meet, the
// waiting room (deny, then admit), and removal.
func TestRoutesJoiningAndWaitingRoom(t *testing.T) {
	t.Parallel()
	ann, cy, dee := startDaemonNode(t, "ann"), startDaemonNode(t, "cy"), startDaemonNode(t, "dee")
	ctx := e2eContext(t)
	annEv, cyEv, deeEv := ann.watch(t), cy.watch(t), dee.watch(t)

	group, err := ann.c.CreateGroup(ctx, "Grief group", "ann", "")
	if err != nil {
		t.Fatal(err)
	}
	if d, err := ann.c.Group(ctx, group); err != nil || d.Retention != "forever" {
		t.Fatalf("Group = %+v, %v", d, err)
	}
	once, err := ann.c.CreateInvite(ctx, group, client.InviteOptions{})
	if err != nil || once.UsesLeft != 1 {
		t.Fatalf("CreateInvite = %+v, %v", once, err)
	}
	if res, err := cy.c.Join(ctx, once.Invite, "cy"); err != nil || res.Status != client.JoinJoined {
		t.Fatalf("cy Join = %+v, %v", res, err)
	}
	postSeen(t, group, "hello cy", ann, cyEv)

	_, err = dee.c.Join(ctx, once.Invite, "dee")
	wantCode(t, "a used-up invite", err, 410, "invite_used_up")
	_, err = cy.c.Join(ctx, once.Invite, "cy again")
	wantCode(t, "joining twice", err, 409, "already_member")

	withdrawn, err := ann.c.CreateInvite(ctx, group, client.InviteOptions{Uses: 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := ann.c.RevokeInvite(ctx, group, withdrawn.ID); err != nil {
		t.Fatal(err)
	}
	_, err = dee.c.Join(ctx, withdrawn.Invite, "dee")
	wantCode(t, "a withdrawn invite", err, 410, "invite_revoked")
	_, err = dee.c.Join(ctx, mistype(withdrawn.Invite), "dee")
	wantCode(t, "a mistyped invite", err, 400, "invite_mistyped")
	for _, bad := range []string{"", "hello", "hearth:", "hearth:!!!!", strings.Repeat("a", 5000)} {
		_, err = dee.c.Join(ctx, bad, "dee")
		wantCode(t, "not an invite: "+bad[:min(len(bad), 12)], err, 400, "invite_malformed")
	}
	_, err = dee.c.Join(ctx, withdrawn.Invite, "dee\x07")
	wantCode(t, "a pseudonym with a control character", err, 400, "bad_pseudonym")

	short, err := ann.c.CreateInvite(ctx, group, client.InviteOptions{Expires: "60m"})
	if err != nil {
		t.Fatal(err)
	}
	dee.clock.set(2 * time.Hour)
	_, err = dee.c.Join(ctx, short.Invite, "dee")
	wantCode(t, "an expired invite", err, 410, "invite_expired")
	dee.clock.set(0)

	// The waiting room: dee asks, ann declines; dee asks again with a
	// new invite, ann admits.
	waitInv, err := ann.c.CreateInvite(ctx, group, client.InviteOptions{Approval: true, Uses: 2})
	if err != nil || !waitInv.Approval {
		t.Fatalf("CreateInvite(approval) = %+v, %v", waitInv, err)
	}
	res, err := dee.c.Join(ctx, waitInv.Invite, "dee")
	if err != nil || res.Status != client.JoinWaiting || res.Group != group {
		t.Fatalf("dee Join = %+v, %v", res, err)
	}
	req := annEv.wait("dee's request", client.EventJoinRequest, func(d client.EventData) bool {
		return d.Group == group && d.Request != nil && d.Request.Pseudonym == "dee"
	}).Request
	if req.Invite != waitInv.ID || req.Requested.IsZero() {
		t.Errorf("join request = %+v", req)
	}
	waiting, err := ann.c.Waiting(ctx, group)
	if err != nil || len(waiting) != 1 || waiting[0].Member != req.Member {
		t.Fatalf("Waiting = %+v, %v", waiting, err)
	}
	if w, err := cy.c.Waiting(ctx, group); err != nil || len(w) != 0 {
		t.Errorf("a member sees the waiting room: %+v, %v", w, err)
	}
	if gs, err := dee.c.Groups(ctx); err != nil || len(gs) != 0 {
		t.Errorf("a waiting joiner already lists the group: %+v, %v", gs, err)
	}
	if err := ann.c.Deny(ctx, group, req.Member); err != nil {
		t.Fatal(err)
	}
	deeEv.wait("the refusal", client.EventJoinDenied, func(d client.EventData) bool { return d.Group == group })
	wantCode(t, "denying twice", ann.c.Deny(ctx, group, req.Member), 404, "not_waiting")
	wantCode(t, "admitting the denied", ann.c.Admit(ctx, group, req.Member), 404, "not_waiting")

	res, err = dee.c.Join(ctx, waitInv.Invite, "dee")
	if err != nil || res.Status != client.JoinWaiting {
		t.Fatalf("dee Join again = %+v, %v", res, err)
	}
	req = annEv.wait("dee's second request", client.EventJoinRequest, func(d client.EventData) bool {
		return d.Request != nil && d.Request.Pseudonym == "dee" && d.Request.Member != req.Member
	}).Request
	wantCode(t, "a member admitting", cy.c.Admit(ctx, group, req.Member), 403, "not_admin")
	if err := ann.raw(t, http.MethodPost, "/api/v1/groups/"+group+"/waiting/"+req.Member+"/admit", map[string]any{}); err != nil {
		t.Fatalf("Admit with {}: %v", err)
	}
	deeEv.wait("being let in", client.EventJoined, func(d client.EventData) bool { return d.Group == group })
	if d, err := dee.c.Group(ctx, group); err != nil || d.Me.Member != req.Member || d.Role != "member" {
		t.Errorf("dee's group = %+v, %v", d, err)
	}
	postSeen(t, group, "welcome dee", ann, cyEv, deeEv)

	// Removal: cy is removed, sees it, and can post no more; dee stays.
	cyID := cy.mustMe(t, group)
	wantCode(t, "a member removing", dee.c.Remove(ctx, group, cyID), 403, "not_admin")
	if err := ann.c.Remove(ctx, group, cyID); err != nil {
		t.Fatal(err)
	}
	cyEv.wait("cy's removal", client.EventRemoved, func(d client.EventData) bool { return d.Group == group })
	deeEv.wait("cy's removal, seen by dee", client.EventMemberRemoved, func(d client.EventData) bool {
		return d.Member != nil && d.Member.Member == cyID
	})
	_, err = cy.c.Post(ctx, group, "let me back", "")
	wantCode(t, "posting after removal", err, 409, "removed")
	wantCode(t, "removing twice", ann.c.Remove(ctx, group, cyID), 404, "no_member")
	if ms, err := ann.c.Members(ctx, group); err != nil || len(ms) != 2 {
		t.Errorf("Members after the removal = %+v, %v", ms, err)
	}
}

// TestRoutesRefuseBadInput: every input check of the routes, on one node:
// the status and code a client branches on, and nothing created.
func TestRoutesRefuseBadInput(t *testing.T) {
	t.Parallel()
	ann := startDaemonNode(t, "ann")
	ctx := e2eContext(t)
	group, err := ann.c.CreateGroup(ctx, "Circle", "ann", "12h")
	if err != nil {
		t.Fatal(err)
	}
	me := ann.mustMe(t, group)

	for _, id := range []string{"xyz", strings.ToUpper(group), group[:31], group + "00", "%2e%2e"} {
		_, err := ann.c.Group(ctx, id)
		wantCode(t, "group ID "+id, err, 400, "bad_id")
	}
	_, err = ann.c.Group(ctx, unknownID)
	wantCode(t, "unknown group", err, 404, "no_group")
	_, err = ann.c.Messages(ctx, unknownID, 0, "")
	wantCode(t, "messages of an unknown group", err, 404, "no_group")
	wantCode(t, "member ID", ann.c.Admit(ctx, group, "nothex"), 400, "bad_id")
	wantCode(t, "invite ID", ann.c.RevokeInvite(ctx, group, group), 400, "bad_id")
	wantCode(t, "unknown waiting member", ann.c.Admit(ctx, group, unknownID), 404, "not_waiting")
	wantCode(t, "unknown member", ann.c.Remove(ctx, group, unknownID), 404, "no_member")
	wantCode(t, "not a role", ann.c.SetRole(ctx, group, me, "admin"), 400, "bad_request")
	wantCode(t, "the host's own role again", ann.c.SetRole(ctx, group, me, "host"), 409, "conflict")

	names := map[string]string{
		"empty": "", "blank": "   ", "control character": "Circle\x1b[31m", "line break": "Circle\nTwo",
		"text-direction override": "evil\u202eeman", "101 characters": strings.Repeat("n", 101),
	}
	for what, name := range names {
		_, err := ann.c.CreateGroup(ctx, name, "ann", "")
		wantCode(t, "group name: "+what, err, 400, "bad_group_name")
	}
	for what, p := range map[string]string{"empty": "", "control character": "a\x00b", "65 characters": strings.Repeat("p", 65), "bidi": "\u2067ann"} {
		_, err := ann.c.CreateGroup(ctx, "Circle", p, "")
		wantCode(t, "pseudonym: "+what, err, 400, "bad_pseudonym")
	}
	for _, r := range []string{"-1d", "0d", "1y", "1.5d", "3651d", "99999999999d", "never"} {
		_, err := ann.c.CreateGroup(ctx, "Circle", "ann", r)
		wantCode(t, "retention "+r, err, 400, "bad_duration")
	}
	for _, e := range []string{"0h", "-1d", "366d", "24", "1h30m", "forever"} {
		_, err := ann.c.CreateInvite(ctx, group, client.InviteOptions{Expires: e})
		wantCode(t, "invite expiry "+e, err, 400, "bad_duration")
	}
	invites := "/api/v1/groups/" + group + "/invites"
	wantCode(t, "zero uses", ann.raw(t, "POST", invites, map[string]any{"uses": 0}), 400, "bad_request")
	wantCode(t, "too many uses", ann.raw(t, "POST", invites, map[string]any{"uses": 65536}), 400, "bad_request")
	wantCode(t, "negative uses", ann.raw(t, "POST", invites, map[string]any{"uses": -1}), 400, "bad_request")
	if invs, err := ann.c.Invites(ctx, group); err != nil || len(invs) != 0 {
		t.Errorf("refused invites were made: %+v, %v", invs, err)
	}

	for what, text := range map[string]string{
		"empty": "", "blank": " \n ", "escape sequence": "hi \x1b]0;pwned\x07", "NUL": "a\x00", "16385 bytes": strings.Repeat("x", 16385),
	} {
		_, err := ann.c.Post(ctx, group, text, "")
		wantCode(t, "text: "+what, err, 400, "bad_text")
	}
	_, err = ann.c.Post(ctx, group, "fine", "not-an-id")
	wantCode(t, "reply_to", err, 400, "bad_id")
	_, err = ann.c.Post(ctx, group, "fine", unknownID)
	wantCode(t, "reply to a message not held", err, 404, "not_found")
	_, err = ann.c.Post(ctx, group, strings.Repeat("x", 2<<20), "")
	wantCode(t, "oversized body", err, 413, "body_too_large")
	if h, err := ann.c.Messages(ctx, group, 0, ""); err != nil || len(h) != 0 {
		t.Errorf("refused posts were stored: %+v, %v", h, err)
	}

	msgs := "/api/v1/groups/" + group + "/messages"
	for _, q := range []string{"?limit=0", "?limit=501", "?limit=ten", "?limit=5&limit=6", "?page=2", "?before=XYZ", "?before=" + strings.ToUpper(unknownID), "?limit=%zz"} {
		err := ann.raw(t, "GET", msgs+q, nil)
		code := "bad_request"
		if strings.HasPrefix(q, "?before=") {
			code = "bad_id"
		}
		wantCode(t, "query "+q, err, 400, code)
	}

	wantCode(t, "unknown field", ann.raw(t, "POST", "/api/v1/groups", map[string]any{"name": "x", "pseudonym": "y", "colour": "red"}), 400, "unknown_field")
	wantCode(t, "unknown field in admit", ann.raw(t, "POST", "/api/v1/groups/"+group+"/waiting/"+unknownID+"/admit", map[string]any{"force": true}), 400, "unknown_field")
	wantCode(t, "unknown field in join", ann.raw(t, "POST", "/api/v1/join", map[string]any{"invite": "x", "pseudonym": "y", "group": group}), 400, "unknown_field")
	wantCode(t, "wrong type", ann.raw(t, "POST", "/api/v1/groups", map[string]any{"name": 5, "pseudonym": "y"}), 400, "bad_request")
	wantCode(t, "no body", ann.raw(t, "POST", "/api/v1/groups", nil), 415, "unsupported_media_type")
	wantCode(t, "role of nobody", ann.raw(t, "POST", "/api/v1/groups/"+group+"/members/"+unknownID+"/role", map[string]any{"role": "member"}), 404, "no_member")

	if gs, err := ann.c.Groups(ctx); err != nil || len(gs) != 1 {
		t.Errorf("refused groups were made: %+v, %v", gs, err)
	}
	if st, err := ann.c.Status(ctx); err != nil || st.Groups != 1 {
		t.Errorf("Status = %+v, %v", st, err)
	}
}
