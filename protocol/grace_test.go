package protocol

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hearthnet/hearth/crypto"
)

// sealAs seals application content from n in its current epoch with the
// given timestamp, as a member's own (possibly modified) client would.
func sealAs(t *testing.T, m *sim, n *simNode, c Content, timestamp int64) []byte {
	t.Helper()
	env, err := n.s.seal(n.s.cur, n.s.me(), c, timestamp, m.r)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestRemovedMemberCannotPostDuringGrace is the reviewer's proof: nine
// minutes after her removal, inside the grace period, Eve seals a post in
// the epoch she was removed from. Nobody shows it, and no forwarder is
// penalised for it; a member still in the group posting in the same old
// epoch is read, marked late.
func TestRemovedMemberCannotPostDuringGrace(t *testing.T) {
	m := fiveMembers(t, 92)
	eve, di := m.nodes["Eve"], m.nodes["Di"]
	stale := sealAs(t, m, di, Post{ID: [16]byte{8}, Text: "sent before I saw the commit"}, m.now)
	m.commit("Ann", Remove{Member: eve.s.Me().ID})
	m.now += 9 * 60 * 1000
	env := sealAs(t, m, eve, Post{ID: [16]byte{9}, Text: "posted 9 minutes after my removal"}, m.now)
	for _, name := range []string{"Ann", "Bo", "Cy", "Di"} {
		if _, err := m.nodes[name].s.Open(env, m.now, m.r); !errors.Is(err, ErrPastEpoch) {
			t.Fatalf("%s: a removed member's post in the grace epoch: %v, want ErrPastEpoch", name, err)
		}
	}
	rec, err := m.nodes["Cy"].s.Open(stale, m.now, m.r)
	if err != nil || rec.Pseudonym != "Di" || !rec.Late {
		t.Fatalf("a current member's post in the grace epoch: %+v, %v", rec, err)
	}
}

// TestTimestampBounds checks that content signed more than MaxClockSkew
// ahead of the receive time is refused without changing the session (and
// opens once the clocks agree), that content at the bound is read, and
// that content older than the bound is read and marked late.
func TestTimestampBounds(t *testing.T) {
	m := fiveMembers(t, 93)
	di, cy := m.nodes["Di"], m.nodes["Cy"].s
	future := sealAs(t, m, di, Post{ID: [16]byte{1}, Text: "from an hour ahead"}, m.now+3_600_000)
	before, _ := cy.Export()
	_, err := cy.Open(future, m.now, m.r)
	if !errors.Is(err, ErrBadTimestamp) || !errors.Is(err, ErrUnreadable) || errors.Is(err, ErrInvalidEnvelope) {
		t.Fatalf("an hour ahead: %v, want ErrBadTimestamp", err)
	}
	if after, _ := cy.Export(); !bytes.Equal(before, after) {
		t.Fatal("a refused timestamp changed the session")
	}
	if _, err := cy.Open(future, m.now+3_600_000-MaxClockSkew, m.r); err != nil {
		t.Fatalf("the same envelope once the clocks agree: %v", err)
	}
	edge := sealAs(t, m, di, Post{ID: [16]byte{2}, Text: "just inside"}, m.now+MaxClockSkew)
	if rec, err := cy.Open(edge, m.now, m.r); err != nil || rec.Late {
		t.Fatalf("at the bound: %v", err)
	}
	old := sealAs(t, m, di, Post{ID: [16]byte{3}, Text: "from yesterday"}, m.now-86_400_000)
	if rec, err := cy.Open(old, m.now, m.r); err != nil || !rec.Late || rec.Timestamp != m.now-86_400_000 {
		t.Fatalf("an old post: %+v, %v", rec, err)
	}
	fresh := sealAs(t, m, di, Post{ID: [16]byte{4}, Text: "now"}, m.now)
	if rec, err := cy.Open(fresh, m.now, m.r); err != nil || rec.Late {
		t.Fatalf("a fresh post: %+v, %v", rec, err)
	}
}

// TestRemovedSessionWipesKeysAfterGrace checks that a removed member's
// session keeps the keys of its last epoch through the grace period (a
// rival commit may still readmit it) and erases them afterwards, keeping
// only the roster of history; the export then holds no key material.
func TestRemovedSessionWipesKeysAfterGrace(t *testing.T) {
	m := fiveMembers(t, 94)
	eve := m.nodes["Eve"]
	last := eve.s.GroupState().Epoch
	secret := eve.s.cur.secret
	post := sealAs(t, m, m.nodes["Di"], Post{ID: [16]byte{5}, Text: "sent just before"}, m.now)
	m.commit("Ann", Remove{Member: eve.s.Me().ID})
	start := m.now
	eve.s.Expire(start + EpochGrace - 1)
	if _, err := eve.s.Keys(last); err != nil {
		t.Fatalf("keys gone during the grace period: %v", err)
	}
	eve.s.Expire(start + EpochGrace)
	if _, err := eve.s.Keys(last); !errors.Is(err, ErrPastEpoch) {
		t.Fatalf("keys kept after the grace period: %v", err)
	}
	if _, err := eve.s.Open(post, start+EpochGrace, m.r); !errors.Is(err, ErrPastEpoch) {
		t.Fatalf("opening after the keys are wiped: %v", err)
	}
	if eve.s.Topic() != "" || eve.s.cur.secret != (crypto.EpochSecret{}) || eve.s.cur.send != nil || len(eve.s.cur.recv) != 0 {
		t.Fatal("key material left in the session")
	}
	if roster, err := eve.s.RosterAt(last); err != nil || len(roster) != 5 {
		t.Fatalf("the roster of history: %d members, %v", len(roster), err)
	}
	b, err := eve.s.Export()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, secret[:]) {
		t.Fatal("the export still holds the epoch secret")
	}
	back, err := ImportSession(b)
	if err != nil || !back.Removed() || back.Topic() != "" {
		t.Fatalf("import of a wiped session: %v", err)
	}
	if b2, _ := back.Export(); !bytes.Equal(b, b2) {
		t.Fatal("re-export differs")
	}
}
