package protocol

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hearthnet/hearth/crypto"
)

// forgeCommit builds and signs, as n's member, a commit of changes on n's
// current state that the roster rules need not allow: what a modified
// client could send.
func forgeCommit(t *testing.T, m *sim, n *simNode, changes []Change) *Commit {
	t.Helper()
	st := n.s.cur.state
	next, err := applyChanges(st, Member{Role: RoleHost}, changes)
	if err != nil {
		t.Fatal(err)
	}
	c, secret, err := buildCommit(st, next, n.s.cred, changes, m.r)
	if err != nil {
		t.Fatal(err)
	}
	secret.Wipe()
	return c
}

// grind builds commits on state by cred until its ID sorts below beat's,
// as a committer racing beat would to win the CommitID tie-break.
func grind(t *testing.T, m *sim, state *GroupState, cred *crypto.MemberCredential, changes []Change, beat *Commit) *Commit {
	t.Helper()
	bid, _ := beat.ID()
	for {
		c, sec, err := NewCommit(state, cred, changes, m.r)
		if err != nil {
			t.Fatal(err)
		}
		sec.Wipe()
		if id, _ := c.ID(); bytes.Compare(id[:], bid[:]) < 0 {
			return c
		}
	}
}

// TestRemovedModeratorCannotWinFork is the reviewer's attack: a moderator
// being removed answers the removal with a rival commit on the same parent
// that adds a sock puppet, ground to have the smaller CommitID, and sends it
// five minutes later, inside the grace period. Every member stays on the
// removal; the puppet is never admitted, and the moderator stays out.
func TestRemovedModeratorCannotWinFork(t *testing.T) {
	m := fiveMembers(t, 77)
	bo := m.nodes["Bo"]
	boID := bo.s.Me().ID
	removal := m.commit("Ann", Remove{Member: boID})
	if !bo.s.Removed() {
		t.Fatal("Bo not removed")
	}
	puppet, _ := crypto.NewMemberCredential(m.r)
	rival := grind(t, m, bo.s.cur.state, bo.s.cred, []Change{Add{Public: puppet.Public(), Pseudonym: "Newcomer", Role: RoleMember}}, removal.Commit)
	if ForkWinner(removal.Commit, rival) != removal.Commit {
		t.Fatal("test broken: even the ID-only rule picks the removal")
	}
	env, err := bo.s.seal(bo.s.cur, bo.s.me(), CommitContent{Commit: rival}, m.now, m.r)
	if err != nil {
		t.Fatal(err)
	}
	m.now += 5 * 60 * 1000
	m.publish("Bo", env)
	m.run()
	for _, name := range []string{"Ann", "Cy", "Di", "Eve"} {
		st := m.nodes[name].s.GroupState()
		_, hasBo := st.MemberByID(boID)
		_, hasPuppet := st.MemberByID(puppet.ID())
		if st.LastCommit != m.nodes["Ann"].s.GroupState().LastCommit || hasBo || hasPuppet {
			t.Fatalf("%s: epoch %d, Bo member %v, puppet member %v", name, st.Epoch, hasBo, hasPuppet)
		}
	}
	if len(m.nodes["Ann"].rebase) != 0 {
		t.Fatal("Ann was asked to re-apply changes")
	}
}

// TestRemovedMemberCannotChooseNextSecret is the reviewer's second attack: a
// plain member being removed answers with its own ground self-removal, to
// draw the next epoch's secret. Plain members make no commits now, and no
// committer removes itself, so every member refuses it.
func TestRemovedMemberCannotChooseNextSecret(t *testing.T) {
	m := fiveMembers(t, 78)
	eve := m.nodes["Eve"]
	removal := m.commit("Ann", Remove{Member: eve.s.Me().ID})
	rival := forgeCommit(t, m, eve, []Change{Remove{Member: eve.s.Me().ID}})
	env, err := eve.s.seal(eve.s.cur, eve.s.me(), CommitContent{Commit: rival}, m.now, m.r)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Ann", "Bo", "Cy", "Di"} {
		_, err := m.nodes[name].s.Open(env, m.now+1000, m.r)
		if !errors.Is(err, ErrInvalidEnvelope) || !errors.Is(err, ErrNotAllowed) {
			t.Fatalf("%s: %v, want the commit refused", name, err)
		}
		if m.nodes[name].s.GroupState().LastCommit != removal.NewEpoch.epochID(t, m) {
			t.Fatalf("%s left the removal's epoch", name)
		}
	}
}

// epochID returns the LastCommit of the epoch change's epoch as Ann sees it.
func (c *EpochChange) epochID(t *testing.T, m *sim) [32]byte {
	t.Helper()
	st := m.nodes["Ann"].s.GroupState()
	if st.Epoch != c.Epoch {
		t.Fatalf("Ann is at epoch %d, not %d", st.Epoch, c.Epoch)
	}
	return st.LastCommit
}

// TestForkHostBeatsModerator checks in sessions that a host's commit beats
// a moderator's rival whatever their IDs: the moderator grinds its commit
// to the smaller ID, and still every member, the moderator included, ends
// on the host's, with the moderator's change handed back to re-apply.
func TestForkHostBeatsModerator(t *testing.T) {
	m := fiveMembers(t, 80)
	ann, bo := m.nodes["Ann"], m.nodes["Bo"]
	parent := bo.s.GroupState()
	m.now += 1000
	resA, err := ann.s.Commit([]Change{SetRole{Member: m.nodes["Cy"].s.Me().ID, Role: RoleModerator}}, m.now, m.r)
	if err != nil {
		t.Fatal(err)
	}
	fay, _ := crypto.NewMemberCredential(m.r)
	rival := grind(t, m, parent, bo.s.cred, []Change{Add{Public: fay.Public(), Pseudonym: "Fay", Role: RoleMember}}, resA.Commit)
	env, err := bo.s.seal(bo.s.cur, bo.s.me(), CommitContent{Commit: rival}, m.now, m.r)
	if err != nil {
		t.Fatal(err)
	}
	// Bo applies its own rival, as Session.Commit would have.
	own, err := bo.s.Open(env, m.now, m.r)
	if err != nil || own.NewEpoch == nil {
		t.Fatalf("Bo applies its commit: %v", err)
	}
	m.publish("Bo", env)
	m.publish("Bo", own.NewEpoch.Announcement)
	m.publish("Ann", resA.Envelope)
	m.publish("Ann", resA.NewEpoch.Announcement)
	m.run()
	want := ann.s.GroupState().LastCommit
	for _, name := range m.members() {
		if m.nodes[name].s.GroupState().LastCommit != want {
			t.Fatalf("%s is not on the host's commit", name)
		}
	}
	if _, ok := ann.s.GroupState().MemberByID(fay.ID()); ok {
		t.Fatal("the moderator's losing add was applied")
	}
	if len(bo.rebase) != 1 {
		t.Fatalf("Bo got %d changes back to re-apply, want 1", len(bo.rebase))
	}
}

// TestForkDetectedAfterGrace has Bo's rival of Ann's commit reach Cy only
// after the grace period, when it can no longer be opened or settled. Given
// the commit (as history sync would hand it over), Cy's session recognises
// it as a fork, names its committer, and still does after export and
// import; Ann's own commit is recognised as followed, a forged rival is
// not a fork.
func TestForkDetectedAfterGrace(t *testing.T) {
	m := fiveMembers(t, 96)
	bo, cy := m.nodes["Bo"], m.nodes["Cy"]
	parent := bo.s.GroupState()
	ours := m.commit("Ann", SetRole{Member: cy.s.Me().ID, Role: RoleModerator})
	theirs, secret, err := NewCommit(parent, bo.s.cred, []Change{Remove{Member: m.nodes["Eve"].s.Me().ID}}, m.r)
	if err != nil {
		t.Fatal(err)
	}
	secret.Wipe()
	m.now += EpochGrace
	cy.s.Expire(m.now)
	if _, err := cy.s.Keys(parent.Epoch); !errors.Is(err, ErrPastEpoch) {
		t.Fatal("test broken: the parent's keys are still held")
	}
	if err := cy.s.CheckCommit(ours.Commit); err != nil {
		t.Fatalf("the commit followed: %v", err)
	}
	b, err := cy.s.Export()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ImportSession(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Session{cy.s, back} {
		err := s.CheckCommit(theirs)
		var fe *ForkError
		if !errors.As(err, &fe) || fe.Committer != bo.s.Me().ID || fe.Epoch != parent.Epoch+1 {
			t.Fatalf("the rival: %v, want a ForkError naming Bo", err)
		}
		oursID, _ := ours.Commit.ID()
		theirsID, _ := theirs.ID()
		if fe.Ours != oursID || fe.Theirs != theirsID {
			t.Fatal("ForkError names the wrong commits")
		}
	}
	forged := *theirs
	forged.Signature = append([]byte(nil), theirs.Signature...)
	forged.Signature[0] ^= 1
	if err := cy.s.CheckCommit(&forged); !errors.Is(err, ErrCommitUnknown) {
		t.Fatalf("a forged rival: %v, want ErrCommitUnknown", err)
	}
	later := *theirs
	later.Epoch += 10
	if err := cy.s.CheckCommit(&later); !errors.Is(err, ErrCommitUnknown) {
		t.Fatalf("a commit of an epoch not reached: %v, want ErrCommitUnknown", err)
	}
}
