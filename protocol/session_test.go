package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hearthnet/hearth/crypto"
)

// simNode is one member's node in the in-memory simulation: its session,
// what it has shown the user, and what it holds for later.
type simNode struct {
	name    string
	s       *Session
	got     map[[16]byte]int    // post ID -> times delivered
	authors map[[16]byte]string // post ID -> pseudonym shown
	held    [][]byte
	removed bool
	rebase  []Change
}

// sim is a group of nodes and a broadcast bus, with no network.
type sim struct {
	t     *testing.T
	r     *rand.ChaCha8
	now   int64
	nodes map[string]*simNode
	queue []simMsg
	// expect records, per post, the members who must read it.
	expect map[[16]byte]postExpect
	// envs keeps each post's envelope for replay tests.
	envs map[[16]byte][]byte
}

type simMsg struct {
	from string
	env  []byte
}

type postExpect struct {
	author  string
	readers []string
	epoch   uint64
}

func newSim(t *testing.T, seed uint64) *sim {
	m := &sim{t: t, r: testRand(seed), now: 1_700_000_000_000, nodes: map[string]*simNode{},
		expect: map[[16]byte]postExpect{}, envs: map[[16]byte][]byte{}}
	s, err := NewGroup("Thursday circle", "Ann", 30*86400, m.r)
	if err != nil {
		t.Fatal(err)
	}
	m.nodes["Ann"] = m.node("Ann", s)
	return m
}

func (m *sim) node(name string, s *Session) *simNode {
	return &simNode{name: name, s: s, got: map[[16]byte]int{}, authors: map[[16]byte]string{}}
}

func (m *sim) members() []string {
	var out []string
	for name, n := range m.nodes {
		if !n.removed {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func (m *sim) publish(from string, env []byte) {
	if env != nil {
		m.queue = append(m.queue, simMsg{from, env})
	}
}

// run delivers everything queued to every node but its sender, in order.
func (m *sim) run() {
	m.t.Helper()
	for len(m.queue) > 0 {
		msg := m.queue[0]
		m.queue = m.queue[1:]
		names := make([]string, 0, len(m.nodes))
		for name := range m.nodes {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			if name != msg.from {
				m.deliver(m.nodes[name], msg.env)
			}
		}
	}
}

func (m *sim) deliver(n *simNode, env []byte) {
	m.t.Helper()
	rec, err := n.s.Open(env, m.now, m.r)
	switch {
	case err == nil:
		m.handle(n, rec)
		m.retryHeld(n)
	case errors.Is(err, ErrNoChainKey), errors.Is(err, ErrFutureEpoch):
		n.held = append(n.held, env)
	case errors.Is(err, ErrPastEpoch):
		// A commit that made the epoch a newcomer joined in, or anything
		// a newcomer was never meant to read.
	default:
		m.t.Fatalf("%s: Open: %v", n.name, err)
	}
}

func (m *sim) retryHeld(n *simNode) {
	for progress := true; progress; {
		progress = false
		held := n.held
		n.held = nil
		for _, env := range held {
			rec, err := n.s.Open(env, m.now, m.r)
			switch {
			case err == nil:
				progress = true
				m.handle(n, rec)
			case errors.Is(err, ErrNoChainKey), errors.Is(err, ErrFutureEpoch):
				n.held = append(n.held, env)
			case errors.Is(err, ErrPastEpoch), errors.Is(err, ErrDuplicate):
			default:
				m.t.Fatalf("%s: Open held: %v", n.name, err)
			}
		}
	}
}

func (m *sim) handle(n *simNode, rec *Received) {
	if p, ok := rec.Content.(Post); ok {
		n.got[p.ID]++
		n.authors[p.ID] = rec.Pseudonym
	}
	if rec.Removed {
		n.removed = true
	}
	if rec.NewEpoch != nil {
		if rec.NewEpoch.Topic != n.s.Topic() {
			m.t.Errorf("%s: event topic is not the session's", n.name)
		}
		m.publish(n.name, rec.NewEpoch.Announcement)
		n.rebase = rec.NewEpoch.Rebase
	}
}

// commit makes by commit changes and delivers everything that follows.
func (m *sim) commit(by string, changes ...Change) *CommitResult {
	m.t.Helper()
	m.now += 1000
	res, err := m.nodes[by].s.Commit(changes, m.now, m.r)
	if err != nil {
		m.t.Fatalf("%s commits: %v", by, err)
	}
	m.publish(by, res.Envelope)
	if res.NewEpoch != nil {
		m.publish(by, res.NewEpoch.Announcement)
	} else {
		m.nodes[by].removed = true
	}
	m.run()
	return res
}

// add has by add a new member called name, and welcomes it.
func (m *sim) add(by, name string, role Role) {
	m.t.Helper()
	cred, err := crypto.NewMemberCredential(m.r)
	if err != nil {
		m.t.Fatal(err)
	}
	m.now += 1000
	res, err := m.nodes[by].s.Commit([]Change{Add{Public: cred.Public(), Pseudonym: name, Role: role}}, m.now, m.r)
	if err != nil {
		m.t.Fatalf("%s adds %s: %v", by, name, err)
	}
	m.publish(by, res.Envelope)
	m.publish(by, res.NewEpoch.Announcement)
	w, err := m.nodes[by].s.Welcome(res.Commit, cred.ID())
	if err != nil {
		m.t.Fatal(err)
	}
	wb, err := w.Marshal()
	if err != nil {
		m.t.Fatal(err)
	}
	w2, err := UnmarshalWelcome(wb)
	if err != nil {
		m.t.Fatal(err)
	}
	s, change, err := JoinFromWelcome(w2, cred, m.now, m.r)
	if err != nil {
		m.t.Fatalf("%s joins: %v", name, err)
	}
	if change.Topic != m.nodes[by].s.Topic() {
		m.t.Fatalf("%s joined topic %s, the group is on %s", name, change.Topic, m.nodes[by].s.Topic())
	}
	m.nodes[name] = m.node(name, s)
	m.publish(name, change.Announcement)
	m.run()
}

// post has name post text and records who must read it.
func (m *sim) post(name, text string) [16]byte {
	m.t.Helper()
	m.now += 10
	n := m.nodes[name]
	env, p, err := n.s.SealPost(text, [16]byte{}, m.now, m.r)
	if err != nil {
		m.t.Fatalf("%s posts: %v", name, err)
	}
	var readers []string
	for _, other := range m.members() {
		if other != name {
			readers = append(readers, other)
		}
	}
	m.expect[p.ID] = postExpect{author: name, readers: readers, epoch: n.s.GroupState().Epoch}
	m.envs[p.ID] = env
	m.publish(name, env)
	m.run()
	return p.ID
}

// check asserts that every post was read exactly once, under its author's
// pseudonym, by exactly the members of its epoch other than its author.
func (m *sim) check() {
	m.t.Helper()
	for id, e := range m.expect {
		for name, n := range m.nodes {
			want := 0
			if slices.Contains(e.readers, name) {
				want = 1
			}
			if n.got[id] != want {
				m.t.Errorf("%s read %s's post (epoch %d) %d times, want %d", name, e.author, e.epoch, n.got[id], want)
			}
			if want == 1 && n.authors[id] != e.author {
				m.t.Errorf("%s saw %s's post as from %q", name, e.author, n.authors[id])
			}
		}
	}
}

// fiveMembers builds a group of Ann (host), Bo (moderator), Cy, Di and Eve.
func fiveMembers(t *testing.T, seed uint64) *sim {
	m := newSim(t, seed)
	m.add("Ann", "Bo", RoleModerator)
	m.add("Bo", "Cy", RoleMember)
	m.add("Ann", "Di", RoleMember)
	m.add("Bo", "Eve", RoleMember)
	return m
}

func TestSessionFiveMembers(t *testing.T) {
	m := fiveMembers(t, 1)
	epoch := m.nodes["Ann"].s.GroupState().Epoch
	for _, name := range m.members() {
		if n := m.nodes[name]; n.s.GroupState().Epoch != epoch || n.s.Topic() != m.nodes["Ann"].s.Topic() || len(n.held) != 0 {
			t.Fatalf("%s is at epoch %d with %d held envelopes; Ann at %d", name, n.s.GroupState().Epoch, len(n.held), epoch)
		}
	}
	var ids [][16]byte
	for round := range 3 {
		for _, name := range m.members() {
			ids = append(ids, m.post(name, fmt.Sprintf("%s says hello, round %d", name, round)))
		}
	}
	m.check()

	// A replayed envelope is reported as a duplicate and shown no more.
	for _, id := range ids[:5] {
		e := m.expect[id]
		reader := m.nodes[e.readers[0]]
		if _, err := reader.s.Open(m.envs[id], m.now, m.r); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("replay to %s: %v, want ErrDuplicate", reader.name, err)
		}
		// The author's own envelope coming back is a duplicate too.
		if _, err := m.nodes[e.author].s.Open(m.envs[id], m.now, m.r); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("echo to %s: %v, want ErrDuplicate", e.author, err)
		}
	}

	// A tampered envelope is reported as invalid and changes nothing: the
	// genuine one still opens afterwards.
	fresh, _, err := m.nodes["Ann"].s.SealPost("not yet delivered", [16]byte{}, m.now, m.r)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(fresh)
	bad[len(bad)-1] ^= 1
	cy := m.nodes["Cy"].s
	before, err := cy.Export()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cy.Open(bad, m.now, m.r); !errors.Is(err, ErrInvalidEnvelope) {
		t.Fatalf("tampered: %v, want ErrInvalidEnvelope", err)
	}
	if _, err := cy.Open([]byte("not an envelope"), m.now, m.r); !errors.Is(err, ErrInvalidEnvelope) {
		t.Fatalf("garbage: %v, want ErrInvalidEnvelope", err)
	}
	after, _ := cy.Export()
	if !bytes.Equal(before, after) {
		t.Fatal("a failed Open changed the session")
	}
	if rec, err := cy.Open(fresh, m.now, m.r); err != nil || rec.Pseudonym != "Ann" {
		t.Fatalf("genuine envelope after a tampered copy: %v", err)
	}

	// Di is removed: she learns it, and reads nothing sealed afterwards.
	m.commit("Bo", Remove{Member: m.nodes["Di"].s.Me().ID})
	if !m.nodes["Di"].removed || !m.nodes["Di"].s.Removed() {
		t.Fatal("Di was not told she was removed")
	}
	if _, _, err := m.nodes["Di"].s.SealPost("still here?", [16]byte{}, m.now, m.r); !errors.Is(err, ErrRemoved) {
		t.Fatalf("removed member posts: %v", err)
	}
	if m.nodes["Di"].s.Topic() == m.nodes["Ann"].s.Topic() {
		t.Fatal("the removed member still knows the group's topic")
	}
	after1 := m.post("Ann", "after Di left")
	m.post("Eve", "me too")
	if _, err := m.nodes["Di"].s.Open(m.envs[after1], m.now, m.r); !errors.Is(err, ErrUnknownEpoch) {
		t.Fatalf("removed member opened a later envelope: %v", err)
	}

	// Fay joins later: she reads from her join on, nothing before.
	before1 := m.post("Cy", "before Fay")
	m.add("Ann", "Fay", RoleMember)
	if _, err := m.nodes["Fay"].s.Open(m.envs[before1], m.now, m.r); !errors.Is(err, ErrPastEpoch) {
		t.Fatalf("newcomer opened an earlier post: %v", err)
	}
	for _, name := range m.members() {
		m.post(name, "welcome Fay")
	}
	m.check()
}

func TestSessionWaitsForChainKey(t *testing.T) {
	m := fiveMembers(t, 2)
	// Cy enters a new epoch (Ann adds Gus) and posts before Eve has Cy's
	// announcement: Eve is told to wait, then reads it.
	cred, _ := crypto.NewMemberCredential(m.r)
	res, err := m.nodes["Ann"].s.Commit([]Change{Add{Public: cred.Public(), Pseudonym: "Gus", Role: RoleMember}}, m.now, m.r)
	if err != nil {
		t.Fatal(err)
	}
	cyRec, err := m.nodes["Cy"].s.Open(res.Envelope, m.now, m.r)
	if err != nil || cyRec.NewEpoch == nil {
		t.Fatalf("Cy applies the commit: %v", err)
	}
	eve := m.nodes["Eve"].s
	if _, err := eve.Open(res.Envelope, m.now, m.r); err != nil {
		t.Fatal(err)
	}
	post, _, err := m.nodes["Cy"].s.SealPost("hi Gus", [16]byte{}, m.now, m.r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eve.Open(post, m.now, m.r); !errors.Is(err, ErrNoChainKey) {
		t.Fatalf("before the announcement: %v, want ErrNoChainKey", err)
	}
	if _, err := eve.Open(cyRec.NewEpoch.Announcement, m.now, m.r); err != nil {
		t.Fatalf("announcement: %v", err)
	}
	if _, err := eve.Open(cyRec.NewEpoch.Announcement, m.now, m.r); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("second announcement: %v, want ErrDuplicate", err)
	}
	rec, err := eve.Open(post, m.now, m.r)
	if err != nil || rec.Pseudonym != "Cy" || rec.Content.(Post).Text != "hi Gus" || rec.Timestamp != m.now {
		t.Fatalf("after the announcement: %+v, %v", rec, err)
	}
	// A commit Eve has already applied is a duplicate.
	if _, err := eve.Open(res.Envelope, m.now, m.r); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("commit again: %v, want ErrDuplicate", err)
	}
}

func TestSessionGracePeriod(t *testing.T) {
	m := fiveMembers(t, 3)
	// Eve seals a post in the old epoch, then Bo's commit moves everyone on.
	old, _, err := m.nodes["Eve"].s.SealPost("sent just before the change", [16]byte{}, m.now, m.r)
	if err != nil {
		t.Fatal(err)
	}
	m.commit("Bo", Remove{Member: m.nodes["Cy"].s.Me().ID})
	start := m.now
	ann := m.nodes["Ann"].s
	oldEpoch := ann.GroupState().Epoch - 1
	if _, err := ann.Keys(oldEpoch); err != nil {
		t.Fatalf("old keys gone during grace: %v", err)
	}
	if roster, err := ann.RosterAt(oldEpoch); err != nil || len(roster) != 5 {
		t.Fatalf("RosterAt(old) = %d members, %v", len(roster), err)
	}
	rec, err := ann.Open(old, start+EpochGrace-1, m.r)
	if err != nil || rec.Pseudonym != "Eve" || rec.Epoch != oldEpoch {
		t.Fatalf("old-epoch post within grace: %v", err)
	}
	bo := m.nodes["Bo"].s
	if _, err := bo.Open(old, start+EpochGrace, m.r); !errors.Is(err, ErrPastEpoch) {
		t.Fatalf("old-epoch post after grace: %v, want ErrPastEpoch", err)
	}
	if _, err := bo.Keys(oldEpoch); !errors.Is(err, ErrPastEpoch) {
		t.Fatalf("old keys kept after grace: %v", err)
	}
	if _, err := bo.RosterAt(oldEpoch + 5); !errors.Is(err, ErrFutureEpoch) {
		t.Fatalf("RosterAt(future): %v", err)
	}
}

// TestSessionFork has a host and a moderator commit at the same time on the
// same parent. Whatever order the commits reach each member in, all settle
// on the winner; the loser's committer gets its changes back, commits them
// again, and the group converges with both changes.
func TestSessionFork(t *testing.T) {
	for seed := range uint64(6) {
		m := fiveMembers(t, 10+seed)
		ann, bo := m.nodes["Ann"], m.nodes["Bo"]
		eve := m.nodes["Eve"].s.Me().ID
		cy := m.nodes["Cy"].s.Me().ID
		parent := ann.s.GroupState()
		m.now += 1000
		resA, err := ann.s.Commit([]Change{SetRole{Member: cy, Role: RoleModerator}}, m.now, m.r)
		if err != nil {
			t.Fatal(err)
		}
		resB, err := bo.s.Commit([]Change{Remove{Member: eve}}, m.now, m.r)
		if err != nil {
			t.Fatal(err)
		}
		// Alternate which commit arrives first, by seed.
		if seed%2 == 0 {
			m.publish("Ann", resA.Envelope)
			m.publish("Bo", resB.Envelope)
		} else {
			m.publish("Bo", resB.Envelope)
			m.publish("Ann", resA.Envelope)
		}
		m.publish("Ann", resA.NewEpoch.Announcement)
		m.publish("Bo", resB.NewEpoch.Announcement)
		m.run()

		winner := ForkWinnerIn(parent, resA.Commit, resB.Commit)
		if winner != resA.Commit {
			t.Fatalf("seed %d: the moderator's commit beat the host's", seed)
		}
		wid, _ := winner.ID()
		loserName := "Bo"
		if winner == resB.Commit {
			loserName = "Ann"
		}
		for _, name := range m.members() {
			if got := m.nodes[name].s.GroupState().LastCommit; got != wid {
				t.Fatalf("seed %d: %s is on another chain", seed, name)
			}
		}
		if winner == resB.Commit && !m.nodes["Eve"].removed {
			t.Fatalf("seed %d: Eve was not told the winning commit removed her", seed)
		}
		rebase := m.nodes[loserName].rebase
		if len(rebase) != 1 {
			t.Fatalf("seed %d: %s got %d changes back, want 1", seed, loserName, len(rebase))
		}
		m.commit(loserName, rebase...)
		st := m.nodes["Ann"].s.GroupState()
		if c, _ := st.MemberByID(cy); c.Role != RoleModerator {
			t.Fatalf("seed %d: Cy's promotion was lost", seed)
		}
		if _, ok := st.MemberByID(eve); ok {
			t.Fatalf("seed %d: Eve's removal was lost", seed)
		}
		for _, name := range m.members() {
			if m.nodes[name].s.GroupState().LastCommit != st.LastCommit {
				t.Fatalf("seed %d: %s did not converge", seed, name)
			}
			m.post(name, "after the fork")
		}
		m.check()
	}
}

// TestSessionLeave has Cy ask to leave: Cy's session is left at once and
// erases its keys, the admins who may remove Cy are told, a host commits
// the removal with a secret Cy never sees, and Cy reads nothing after.
func TestSessionLeave(t *testing.T) {
	m := fiveMembers(t, 4)
	cy := m.nodes["Cy"]
	cyID := cy.s.Me().ID
	m.now += 1000
	res, err := cy.s.Leave(m.now, m.r)
	if err != nil {
		t.Fatal(err)
	}
	if res.Commit != nil || res.NewEpoch != nil || res.Envelope == nil || !cy.s.Removed() || !cy.s.Left() || cy.s.Topic() != "" {
		t.Fatalf("leaving: %+v, removed %v", res, cy.s.Removed())
	}
	if _, _, err := cy.s.SealPost("still here?", [16]byte{}, m.now, m.r); !errors.Is(err, ErrRemoved) {
		t.Fatalf("posting after leaving: %v", err)
	}
	if _, err := cy.s.Leave(m.now, m.r); !errors.Is(err, ErrRemoved) {
		t.Fatalf("leaving twice: %v", err)
	}
	if _, err := cy.s.Keys(cy.s.GroupState().Epoch); !errors.Is(err, ErrPastEpoch) {
		t.Fatalf("keys after leaving: %v", err)
	}
	if roster, err := cy.s.RosterAt(cy.s.GroupState().Epoch); err != nil || len(roster) != 5 {
		t.Fatalf("the roster of history after leaving: %d members, %v", len(roster), err)
	}
	// Only the admins who may remove Cy are asked to.
	for name, want := range map[string]bool{"Ann": true, "Bo": true, "Di": false, "Eve": false} {
		rec, err := m.nodes[name].s.Open(res.Envelope, m.now, m.r)
		if err != nil {
			t.Fatalf("%s opens the leave request: %v", name, err)
		}
		if _, ok := rec.Content.(LeaveRequest); !ok || rec.Author != cyID {
			t.Fatalf("%s: %T from %s", name, rec.Content, rec.Author)
		}
		if got := rec.LeaveRequested == cyID; got != want {
			t.Fatalf("%s: LeaveRequested %v, want %v", name, got, want)
		}
	}
	if _, err := cy.s.Open(res.Envelope, m.now, m.r); !errors.Is(err, ErrPastEpoch) {
		t.Fatalf("the leaver opens its own request: %v", err)
	}
	// The left session survives export and import.
	b, err := cy.s.Export()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ImportSession(b)
	if err != nil || !back.Left() || back.Topic() != "" || back.GroupState().Epoch != cy.s.GroupState().Epoch {
		t.Fatalf("left session round trip: %v", err)
	}
	if bytes.Contains(b, cy.s.cur.secret[:]) {
		t.Fatal("test broken: the wiped secret is all zeros")
	}

	delete(m.nodes, "Cy")
	m.commit("Ann", Remove{Member: cyID})
	for _, name := range m.members() {
		if _, ok := m.nodes[name].s.GroupState().MemberByID(cyID); ok {
			t.Fatalf("%s still lists Cy", name)
		}
	}
	id := m.post("Ann", "bye Cy")
	if _, err := cy.s.Open(m.envs[id], m.now, m.r); !errors.Is(err, ErrUnknownEpoch) {
		t.Fatalf("Cy opened a post after leaving: %v", err)
	}
	m.check()

	// A moderator's request reaches only hosts; the only host cannot leave.
	res, err = m.nodes["Bo"].s.Leave(m.now, m.r)
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := m.nodes["Ann"].s.Open(res.Envelope, m.now, m.r); err != nil || rec.LeaveRequested != m.nodes["Bo"].s.Me().ID {
		t.Fatalf("the host is not asked to remove the moderator: %v", err)
	}
	if rec, err := m.nodes["Di"].s.Open(res.Envelope, m.now, m.r); err != nil || rec.LeaveRequested != (crypto.MemberID{}) {
		t.Fatalf("a plain member is asked to remove the moderator: %v", err)
	}
	if _, err := m.nodes["Ann"].s.Leave(m.now, m.r); !errors.Is(err, ErrLastHost) {
		t.Fatalf("the only host leaves: %v, want ErrLastHost", err)
	}
	if m.nodes["Ann"].s.Removed() {
		t.Fatal("a refused leave left the session")
	}
}

// TestLeaverCannotDrawNextSecret is the reviewer's proof that a leaver who
// commits its own removal draws (and so knows) the next epoch's secret: such
// a commit is now refused by every member.
func TestLeaverCannotDrawNextSecret(t *testing.T) {
	m := fiveMembers(t, 79)
	cy := m.nodes["Cy"]
	m.now += 1000
	self := []Change{Remove{Member: cy.s.Me().ID}}
	if _, err := cy.s.Commit(self, m.now, m.r); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("Session.Commit of its own removal: %v, want ErrNotAllowed", err)
	}
	c := forgeCommit(t, m, cy, self)
	env, err := cy.s.seal(cy.s.cur, cy.s.me(), CommitContent{Commit: c}, m.now, m.r)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Ann", "Bo", "Di", "Eve"} {
		if _, err := m.nodes[name].s.Open(env, m.now, m.r); !errors.Is(err, ErrInvalidEnvelope) || !errors.Is(err, ErrNotAllowed) {
			t.Fatalf("%s accepts a self-removal commit: %v", name, err)
		}
	}
}

func TestSessionExportImport(t *testing.T) {
	m := fiveMembers(t, 5)
	m.post("Ann", "one")
	m.commit("Ann", Remove{Member: m.nodes["Eve"].s.Me().ID}) // Bo now has a previous epoch
	m.post("Cy", "two")
	for _, name := range []string{"Bo", "Eve"} {
		n := m.nodes[name]
		b, err := n.s.Export()
		if err != nil {
			t.Fatal(err)
		}
		s2, err := ImportSession(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b2, err := s2.Export()
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("%s: re-export differs (%v)", name, err)
		}
		for cut := 0; cut < len(b); cut += 1 + cut/8 {
			if _, err := ImportSession(b[:cut]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s: truncated to %d: %v", name, cut, err)
			}
		}
		if _, err := ImportSession(append(bytes.Clone(b), 0)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s: trailing byte accepted", name)
		}
		if s2.Removed() != n.s.Removed() || s2.Topic() != n.s.Topic() {
			t.Fatalf("%s: imported session differs", name)
		}
		n.s = s2 // carry on with the imported session
	}
	m.post("Di", "three")
	m.post("Bo", "four")
	m.check()
}

func TestImportSessionRejectsInconsistent(t *testing.T) {
	m := fiveMembers(t, 6)
	ann, _ := m.nodes["Ann"].s.Export()
	bo, _ := m.nodes["Bo"].s.Export()
	// Ann's epoch material with Bo's credential: Bo is in the roster, but
	// swap in a credential that is not.
	stranger := newCred(t, m.r)
	forged := bytes.Clone(ann)
	copy(forged[1:], stranger.Marshal())
	if _, err := ImportSession(forged); !errors.Is(err, ErrBadSessionExport) {
		t.Fatalf("credential of a non-member: %v", err)
	}
	bad := bytes.Clone(bo)
	bad[0] = 2
	if _, err := ImportSession(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown version: %v", err)
	}
	bad = bytes.Clone(bo)
	bad[1+crypto.MemberCredentialSize] |= 0x80
	if _, err := ImportSession(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown flag: %v", err)
	}
}

func TestWelcomeChecks(t *testing.T) {
	m := fiveMembers(t, 7)
	ann := m.nodes["Ann"].s
	cred := newCred(t, m.r)
	res, err := ann.Commit([]Change{Add{Public: cred.Public(), Pseudonym: "Gus", Role: RoleMember}}, m.now, m.r)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ann.Welcome(res.Commit, cred.ID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ann.Welcome(res.Commit, newCred(t, m.r).ID()); !errors.Is(err, ErrBadWelcome) {
		t.Fatalf("welcome for a non-member: %v", err)
	}
	b, err := w.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(b) {
		if _, err := UnmarshalWelcome(b[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("truncated welcome %d: %v", n, err)
		}
	}
	// Someone else's credential is not admitted.
	if _, _, err := JoinFromWelcome(w, newCred(t, m.r), m.now, m.r); !errors.Is(err, ErrBadWelcome) {
		t.Fatalf("wrong credential: %v", err)
	}
	// A roster other than the one the commit seals to is refused.
	w2 := &Welcome{State: w.State.Clone(), Commit: w.Commit}
	w2.State.Roster = slices.DeleteFunc(w2.State.Roster, func(x Member) bool { return x.Pseudonym == "Eve" })
	if _, _, err := JoinFromWelcome(w2, cred, m.now, m.r); !errors.Is(err, ErrBadWelcome) {
		t.Fatalf("roster without Eve: %v", err)
	}
	w3 := &Welcome{State: w.State.Clone(), Commit: w.Commit}
	w3.State.LastCommit[0] ^= 1
	if _, _, err := JoinFromWelcome(w3, cred, m.now, m.r); !errors.Is(err, ErrBadWelcome) {
		t.Fatalf("state from another commit: %v", err)
	}
	forged := *w.Commit
	forged.Signature = bytes.Clone(w.Commit.Signature)
	forged.Signature[3] ^= 1
	w4 := &Welcome{State: w.State.Clone(), Commit: &forged}
	w4.State.LastCommit, _ = forged.ID()
	if _, _, err := JoinFromWelcome(w4, cred, m.now, m.r); !errors.Is(err, ErrBadWelcome) {
		t.Fatalf("forged commit signature: %v", err)
	}
	// A welcome for another group than the invite's is refused.
	if _, _, err := JoinFromWelcomeFor(w, crypto.GroupID{1, 2, 3}, cred, m.now, m.r); !errors.Is(err, ErrBadWelcome) {
		t.Fatalf("welcome for another group: %v", err)
	}
	s, change, err := JoinFromWelcomeFor(w, ann.GroupState().ID, cred, m.now, m.r)
	if err != nil || change.Topic != ann.Topic() || s.Me().Pseudonym != "Gus" || change.Announcement == nil {
		t.Fatalf("genuine welcome: %v", err)
	}
}

// TestSessionUnknownContent checks that authentic content of a type this
// version does not know is reported as unreadable (not an attack) and is
// consumed, so a replay is a duplicate.
func TestSessionUnknownContent(t *testing.T) {
	m := fiveMembers(t, 8)
	ann := m.nodes["Ann"].s
	ep := ann.cur
	gen, key, err := ep.send.Next()
	if err != nil {
		t.Fatal(err)
	}
	env, err := crypto.SealEnvelope(crypto.SealInput{
		Group: ep.state.ID, Epoch: ep.state.Epoch, SenderDataKey: &ep.keys.SenderData,
		Sender:     crypto.SenderData{Index: ann.Me().Index, Generation: gen},
		MessageKey: &key, Author: ann.cred, Timestamp: m.now,
		Content: []byte{0x10, 1, 2, 3}, // a reaction, from a newer Hearth
	}, m.r)
	if err != nil {
		t.Fatal(err)
	}
	bo := m.nodes["Bo"].s
	if _, err := bo.Open(env, m.now, m.r); !errors.Is(err, ErrUnreadable) || !errors.Is(err, ErrUnknownContent) {
		t.Fatalf("unknown content: %v", err)
	}
	if _, err := bo.Open(env, m.now, m.r); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("unknown content again: %v", err)
	}
	// Control content smuggled under a sender chain is an attack.
	gen, key, _ = ep.send.Next()
	ann2, _ := MarshalContent(ChainKeyAnnouncement{Epoch: ep.state.Epoch})
	env, _ = crypto.SealEnvelope(crypto.SealInput{
		Group: ep.state.ID, Epoch: ep.state.Epoch, SenderDataKey: &ep.keys.SenderData,
		Sender:     crypto.SenderData{Index: ann.Me().Index, Generation: gen},
		MessageKey: &key, Author: ann.cred, Timestamp: m.now, Content: ann2,
	}, m.r)
	if _, err := bo.Open(env, m.now, m.r); !errors.Is(err, ErrInvalidEnvelope) {
		t.Fatalf("control content under a chain: %v", err)
	}
	if _, err := ann.SealContent(CommitContent{}, m.now, m.r); err == nil {
		t.Fatal("SealContent sealed control content")
	}
}

// TestSessionImpersonation checks that a member cannot pass a post off as
// another's: sealing with someone else's sender index fails the signature.
func TestSessionImpersonation(t *testing.T) {
	m := fiveMembers(t, 9)
	cy := m.nodes["Cy"].s
	bo := m.nodes["Bo"].s
	ep := cy.cur
	// Cy holds Di's chain key (every member does) and claims to be Di.
	di := m.nodes["Di"].s.Me()
	rc := ep.recv[di.Index]
	key, err := rc.Peek(0)
	if err != nil {
		t.Fatal(err)
	}
	content, _ := MarshalContent(Post{ID: [16]byte{7}, Text: "I am Di"})
	env, err := crypto.SealEnvelope(crypto.SealInput{
		Group: ep.state.ID, Epoch: ep.state.Epoch, SenderDataKey: &ep.keys.SenderData,
		Sender:     crypto.SenderData{Index: di.Index, Generation: 0},
		MessageKey: &key, Author: cy.cred, Timestamp: m.now, Content: content,
	}, m.r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bo.Open(env, m.now, m.r); !errors.Is(err, ErrInvalidEnvelope) || !errors.Is(err, crypto.ErrBadSignature) {
		t.Fatalf("impersonation: %v", err)
	}
	// Di's genuine generation 0 still opens for Bo afterwards.
	id := m.post("Di", "the real Di")
	if m.nodes["Bo"].got[id] != 1 || m.nodes["Bo"].authors[id] != "Di" {
		t.Fatal("Di's real post was not read after the forgery")
	}
}

// TestSessionOpenNote: a note sealed to one member opens with that member's
// session only; the others (the sender included) get crypto.ErrDecrypt.
func TestSessionOpenNote(t *testing.T) {
	m := newSim(t, 7)
	m.add("Ann", "Bo", RoleMember)
	m.add("Ann", "Cy", RoleMember)
	ann, bo, cy := m.nodes["Ann"].s, m.nodes["Bo"].s, m.nodes["Cy"].s
	st := ann.GroupState()
	keys, body, err := crypto.SealNote(crypto.SecretNoteKey, []crypto.MemberPublic{bo.Me().Public}, ann.Me().ID, st.ID, st.Epoch, []byte("for Bo only"), m.r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := bo.OpenNote(crypto.SecretNoteKey, ann.Me().ID, st.Epoch, keys[0], body)
	if err != nil || string(got) != "for Bo only" {
		t.Fatalf("Bo opened %q, %v", got, err)
	}
	for name, s := range map[string]*Session{"Ann": ann, "Cy": cy} {
		if _, err := s.OpenNote(crypto.SecretNoteKey, ann.Me().ID, st.Epoch, keys[0], body); !errors.Is(err, crypto.ErrDecrypt) {
			t.Fatalf("%s opening Bo's note: %v, want ErrDecrypt", name, err)
		}
	}
	// Bound to its kind and epoch: a report key or another epoch does not open.
	if _, err := bo.OpenNote(crypto.SecretReportKey, ann.Me().ID, st.Epoch, keys[0], body); err == nil {
		t.Fatal("the note opened as a report")
	}
	if _, err := bo.OpenNote(crypto.SecretNoteKey, ann.Me().ID, st.Epoch+1, keys[0], body); err == nil {
		t.Fatal("the note opened in another epoch")
	}
}
