package node

import (
	"errors"
	"testing"
	"time"

	"github.com/hearthnet/hearth/protocol"
)

func TestJoinWithApproval(t *testing.T) {
	ann, bo, cy := newTestNode(t), newTestNode(t), newTestNode(t)
	g, err := ann.CreateGroup(ctxT(t), GroupOptions{Name: "grief group", Pseudonym: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	inv, info, err := g.CreateInvite(ctxT(t), InviteOptions{Uses: 2, Approval: true})
	if err != nil {
		t.Fatal(err)
	}
	if !info.Approval || info.UsesLeft != 2 {
		t.Fatalf("invite info %+v", info)
	}

	// Bo waits, and is admitted.
	res, err := bo.Join(ctxT(t), inv, "bo")
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != JoinWaiting || res.Group != nil || res.GroupID != g.ID() {
		t.Fatalf("join result %+v", res)
	}
	req := waitEvent(t, ann, "bo's request", func(e Event) bool { return e.Kind == EventJoinRequest }).Request
	if req.Pseudonym != "bo" || req.Invite != info.ID {
		t.Fatalf("request %+v", req)
	}
	if w := g.WaitingRoom(); len(w) != 1 || w[0].Member != req.Member {
		t.Fatalf("waiting room %+v", w)
	}
	if _, err := bo.Group(g.ID()); !errors.Is(err, ErrNoGroup) {
		t.Fatalf("waiting joiner already has the group: %v", err)
	}
	if err := g.Admit(ctxT(t), req.Member); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, bo, "admission", func(e Event) bool { return e.Kind == EventJoined && e.Group == g.ID() })
	gb, err := bo.Group(g.ID())
	if err != nil {
		t.Fatal(err)
	}
	if gb.Info().Me.ID != req.Member || len(g.WaitingRoom()) != 0 {
		t.Fatalf("admitted member %+v, waiting room %+v", gb.Info(), g.WaitingRoom())
	}
	if _, err := g.Post(ctxT(t), "welcome bo", MessageID{}); err != nil {
		t.Fatal(err)
	}
	waitMessage(t, bo, g.ID(), "welcome bo")
	if err := g.Admit(ctxT(t), req.Member); !errors.Is(err, ErrNotWaiting) {
		t.Fatalf("admitting twice: %v", err)
	}

	// Cy waits, and is denied; asking again gets the same answer.
	res, err = cy.Join(ctxT(t), inv, "cy")
	if err != nil || res.Status != JoinWaiting {
		t.Fatalf("cy's join: %+v, %v", res, err)
	}
	req = waitEvent(t, ann, "cy's request", func(e Event) bool { return e.Kind == EventJoinRequest }).Request
	if err := g.Deny(ctxT(t), req.Member); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, cy, "denial", func(e Event) bool { return e.Kind == EventJoinDenied && e.Group == g.ID() })
	if _, err := cy.Group(g.ID()); !errors.Is(err, ErrNoGroup) {
		t.Fatalf("denied joiner has the group: %v", err)
	}
	if n := len(g.Members()); n != 2 {
		t.Fatalf("%d members after a denial", n)
	}
}

func TestJoinWaitsAcrossRestart(t *testing.T) {
	ann, bo := newTestNode(t), newTestNode(t)
	g, err := ann.CreateGroup(ctxT(t), GroupOptions{Name: "sober sundays", Pseudonym: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	inv, _, err := g.CreateInvite(ctxT(t), InviteOptions{Approval: true})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := bo.Join(ctxT(t), inv, "bo"); err != nil || res.Status != JoinWaiting {
		t.Fatalf("join: %+v, %v", res, err)
	}
	req := waitEvent(t, ann, "request", func(e Event) bool { return e.Kind == EventJoinRequest }).Request
	// Both restart: the waiting room and the pending join persist.
	ann = ann.restart(t)
	bo = bo.restart(t)
	g, err = ann.Group(g.ID())
	if err != nil {
		t.Fatal(err)
	}
	if w := g.WaitingRoom(); len(w) != 1 || w[0].Member != req.Member {
		t.Fatalf("waiting room after restart %+v", w)
	}
	// The admin delivers to the joiner's new address only if it knows it;
	// the joiner asks again on reconnecting in any case.
	connect(t, bo, ann)
	if err := g.Admit(ctxT(t), req.Member); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, bo, "admission", func(e Event) bool { return e.Kind == EventJoined })
	if _, err := bo.Group(g.ID()); err != nil {
		t.Fatal(err)
	}
}

func TestJoinInviteErrors(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	ann := newTestNode(t, func(c *Config) { c.Now = func() time.Time { return clock() } })
	bo := newTestNode(t)
	g, err := ann.CreateGroup(ctxT(t), GroupOptions{Name: "circle", Pseudonym: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(o InviteOptions) (string, InviteInfo) {
		t.Helper()
		s, info, err := g.CreateInvite(ctxT(t), o)
		if err != nil {
			t.Fatal(err)
		}
		return s, info
	}

	// Mistyped: one character changed.
	good, _ := mk(InviteOptions{})
	bad := []byte(good)
	i := len(bad) - 3
	bad[i] = map[bool]byte{true: 'a', false: 'b'}[bad[i] != 'a']
	if _, err := bo.Join(ctxT(t), string(bad), "bo"); !errors.Is(err, ErrInviteMistyped) {
		t.Fatalf("mistyped: %v", err)
	}
	if _, err := bo.Join(ctxT(t), "hello there", "bo"); !errors.Is(err, ErrInviteMalformed) {
		t.Fatalf("malformed: %v", err)
	}

	// Revoked.
	revoked, rinfo := mk(InviteOptions{})
	if err := g.RevokeInvite(rinfo.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := bo.Join(ctxT(t), revoked, "bo"); !errors.Is(err, ErrInviteRevoked) {
		t.Fatalf("revoked: %v", err)
	}

	// Expired at the admin but not at the joiner (clocks differ).
	soon, _ := mk(InviteOptions{Expires: time.Minute})
	now = now.Add(2 * time.Minute)
	if _, err := bo.Join(ctxT(t), soon, "bo"); !errors.Is(err, ErrInviteExpired) {
		t.Fatalf("expired at the admin: %v", err)
	}
	// Expired at the joiner: refused before dialling.
	old, _ := mk(InviteOptions{Expires: time.Nanosecond})
	cy := newTestNode(t, func(c *Config) { c.Now = func() time.Time { return now.Add(time.Hour) } })
	if _, err := cy.Join(ctxT(t), old, "cy"); !errors.Is(err, ErrInviteExpired) {
		t.Fatalf("expired at the joiner: %v", err)
	}

	// Unknown: a valid invite for this admin that it never issued (its
	// record deleted), and an invite of another admin's group.
	other := newTestNode(t)
	og, err := other.CreateGroup(ctxT(t), GroupOptions{Name: "elsewhere", Pseudonym: "oz"})
	if err != nil {
		t.Fatal(err)
	}
	foreign, finfo, err := og.CreateInvite(ctxT(t), InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = foreign
	lost, linfo := mk(InviteOptions{})
	if err := ann.store.Delete(kindInvite(), g.ID(), linfo.ID[:]); err != nil {
		t.Fatal(err)
	}
	ann.mu.Lock()
	delete(ann.invites, linfo.ID)
	ann.mu.Unlock()
	if _, err := bo.Join(ctxT(t), lost, "bo"); !errors.Is(err, ErrInviteUnknown) {
		t.Fatalf("unknown: %v", err)
	}
	_ = finfo

	// Used up: a one-use invite, used by bo; dee cannot use it.
	once, oinfo := mk(InviteOptions{Expires: time.Hour})
	if _, err := bo.Join(ctxT(t), once, "bo"); err != nil {
		t.Fatal(err)
	}
	dee := newTestNode(t)
	if _, err := dee.Join(ctxT(t), once, "dee"); !errors.Is(err, ErrInviteUsedUp) {
		t.Fatalf("used up: %v", err)
	}
	if _, err := bo.Join(ctxT(t), once, "bo"); !errors.Is(err, ErrAlreadyMember) {
		t.Fatalf("joining twice: %v", err)
	}
	invs, err := g.Invites()
	if err != nil {
		t.Fatal(err)
	}
	var sawRevoked, sawUsed bool
	for _, in := range invs {
		sawRevoked = sawRevoked || (in.ID == rinfo.ID && in.Revoked)
		sawUsed = sawUsed || (in.ID == oinfo.ID && in.UsesLeft == 0)
	}
	if !sawRevoked || !sawUsed {
		t.Fatalf("invites %+v", invs)
	}
	if err := g.RevokeInvite(linfo.ID); !errors.Is(err, ErrNoInvite) {
		t.Fatalf("revoking an unknown invite: %v", err)
	}

	// Unreachable admin: the other node closes.
	other.stop()
	if _, err := bo.Join(ctxT(t), foreign, "bo"); !errors.Is(err, ErrAdminUnreachable) {
		t.Fatalf("unreachable: %v", err)
	}
	// Bad pseudonym is the joiner's own error.
	fresh, _ := mk(InviteOptions{})
	if _, err := dee.Join(ctxT(t), fresh, "\u202eevil"); !errors.Is(err, protocol.ErrBadPseudonym) {
		t.Fatalf("bad pseudonym: %v", err)
	}
}

// TestJoinAgainAtOnce: a joiner refused by an admin who asks again at once,
// as a person trying a second invite would, gets the admin's answer every
// time, never "could not reach the group's host": the admin's resource
// manager may still hold the stream that just ended when the next one
// arrives, and the joiner waits a moment and asks again (askJoin).
func TestJoinAgainAtOnce(t *testing.T) {
	ann, bo := newTestNode(t), newTestNode(t)
	g, err := ann.CreateGroup(ctxT(t), GroupOptions{Name: "circle", Pseudonym: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	revoked, info, err := g.CreateInvite(ctxT(t), InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.RevokeInvite(info.ID); err != nil {
		t.Fatal(err)
	}
	// Fewer than the admin's burst of join attempts per peer.
	for i := range joinAttemptsBurst - 2 {
		if _, err := bo.Join(ctxT(t), revoked, "bo"); !errors.Is(err, ErrInviteRevoked) {
			t.Fatalf("attempt %d: %v, want ErrInviteRevoked", i, err)
		}
	}
}
