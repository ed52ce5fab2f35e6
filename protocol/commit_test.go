package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/hearthnet/hearth/crypto"
)

// testGroup is a group's state and its members' credentials, by pseudonym.
type testGroup struct {
	t     testing.TB
	r     *rand.ChaCha8
	state *GroupState
	creds map[string]*crypto.MemberCredential
}

func newTestGroup(t testing.TB, seed uint64) *testGroup {
	t.Helper()
	g := &testGroup{t: t, r: testRand(seed), creds: map[string]*crypto.MemberCredential{}}
	host := newCred(t, g.r)
	g.creds["Ann"] = host
	s, err := NewGroupState(crypto.GroupID{0xAB, byte(seed)}, "Circle", host.Public(), "Ann", 0)
	if err != nil {
		t.Fatal(err)
	}
	g.state = s
	return g
}

func (g *testGroup) id(name string) crypto.MemberID { return g.creds[name].ID() }

// newAdd draws a credential for name and returns the change that adds it.
func (g *testGroup) newAdd(name string, role Role) Add {
	c := newCred(g.t, g.r)
	g.creds[name] = c
	return Add{Public: c.Public(), Pseudonym: name, Role: role}
}

// commit builds, applies and returns a commit by the named member, failing
// the test if it is refused.
func (g *testGroup) commit(by string, changes ...Change) *Commit {
	g.t.Helper()
	c, secret, err := NewCommit(g.state, g.creds[by], changes, g.r)
	if err != nil {
		g.t.Fatalf("NewCommit by %s: %v", by, err)
	}
	secret.Wipe()
	next, err := g.state.ApplyCommit(c)
	if err != nil {
		g.t.Fatalf("ApplyCommit by %s: %v", by, err)
	}
	g.state = next
	return c
}

// fourRoles returns a group with Ann (host), Hal (host), Mo (moderator),
// Cy and Di (members).
func fourRoles(t testing.TB, seed uint64) *testGroup {
	g := newTestGroup(t, seed)
	g.commit("Ann", g.newAdd("Hal", RoleHost), g.newAdd("Mo", RoleModerator))
	g.commit("Mo", g.newAdd("Cy", RoleMember), g.newAdd("Di", RoleMember))
	return g
}

func TestCommitBuildsTheNextEpoch(t *testing.T) {
	g := fourRoles(t, 1)
	s := g.state
	if s.Epoch != 2 || len(s.Roster) != 5 || s.NextIndex != 5 {
		t.Fatalf("state = epoch %d, %d members, next index %d", s.Epoch, len(s.Roster), s.NextIndex)
	}
	for i, name := range []string{"Ann", "Hal", "Mo", "Cy", "Di"} {
		m := s.Roster[i]
		if m.Index != uint32(i) || m.Pseudonym != name || m.ID != g.id(name) {
			t.Errorf("roster[%d] = %+v, want %s at index %d", i, m, name, i)
		}
	}
	if m, _ := s.MemberByID(g.id("Cy")); m.Joined != 2 {
		t.Errorf("Cy joined in epoch %d, want 2", m.Joined)
	}
	// Removing a member never frees its index for reuse.
	c := g.commit("Mo", Remove{Member: g.id("Cy")})
	g.commit("Mo", g.newAdd("Eve", RoleMember))
	if m, _ := g.state.MemberByID(g.id("Eve")); m.Index != 5 {
		t.Errorf("Eve got index %d, want 5 (Cy's 3 is never reused)", m.Index)
	}
	id, _ := c.ID()
	if g.state.Epoch != 4 || id == g.state.LastCommit {
		t.Errorf("epoch %d, last commit %x", g.state.Epoch, g.state.LastCommit)
	}
}

func TestCommitSecretOpensForEveryNewMemberOnly(t *testing.T) {
	g := fourRoles(t, 2)
	c, secret, err := NewCommit(g.state, g.creds["Ann"], []Change{Remove{Member: g.id("Di")}, g.newAdd("Eve", RoleMember)}, g.r)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Ann", "Hal", "Mo", "Cy", "Eve"} {
		got, err := OpenCommitSecret(c, g.creds[name])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !crypto.Equal(got[:], secret[:]) {
			t.Errorf("%s opened a different epoch secret", name)
		}
	}
	if _, err := OpenCommitSecret(c, g.creds["Di"]); !errors.Is(err, ErrNotRecipient) {
		t.Errorf("removed member: %v, want ErrNotRecipient", err)
	}
	// A secret sealed to Eve does not open for Cy even if relabelled.
	forged := *c
	forged.Secrets = append([]SealedSecret(nil), c.Secrets...)
	forged.Secrets[3].Sealed = c.Secrets[4].Sealed
	if _, err := OpenCommitSecret(&forged, g.creds["Cy"]); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("swapped secret: %v, want ErrDecrypt", err)
	}
}

func TestCommitPermissions(t *testing.T) {
	type tc struct {
		by      string
		changes func(g *testGroup) []Change
		want    error
	}
	cases := map[string]tc{
		"host adds host":           {"Ann", func(g *testGroup) []Change { return []Change{g.newAdd("X", RoleHost)} }, nil},
		"host removes host":        {"Ann", func(g *testGroup) []Change { return []Change{Remove{g.id("Hal")}} }, nil},
		"host removes moderator":   {"Ann", func(g *testGroup) []Change { return []Change{Remove{g.id("Mo")}} }, nil},
		"host promotes":            {"Hal", func(g *testGroup) []Change { return []Change{SetRole{g.id("Cy"), RoleModerator}} }, nil},
		"host demotes self":        {"Hal", func(g *testGroup) []Change { return []Change{SetRole{g.id("Hal"), RoleMember}} }, nil},
		"moderator adds member":    {"Mo", func(g *testGroup) []Change { return []Change{g.newAdd("X", RoleMember)} }, nil},
		"moderator removes member": {"Mo", func(g *testGroup) []Change { return []Change{Remove{g.id("Cy")}} }, nil},
		// Nobody commits their own removal: the leaver would draw the
		// secret of the epoch that shuts it out (LeaveRequest instead).
		"moderator removes self":             {"Mo", func(g *testGroup) []Change { return []Change{Remove{g.id("Mo")}} }, ErrNotAllowed},
		"member removes self":                {"Cy", func(g *testGroup) []Change { return []Change{Remove{g.id("Cy")}} }, ErrNotAllowed},
		"host removes self, another remains": {"Ann", func(g *testGroup) []Change { return []Change{Remove{g.id("Ann")}} }, ErrNotAllowed},
		"moderator adds moderator":           {"Mo", func(g *testGroup) []Change { return []Change{g.newAdd("X", RoleModerator)} }, ErrNotAllowed},
		"moderator adds host":                {"Mo", func(g *testGroup) []Change { return []Change{g.newAdd("X", RoleHost)} }, ErrNotAllowed},
		"moderator removes host":             {"Mo", func(g *testGroup) []Change { return []Change{Remove{g.id("Ann")}} }, ErrNotAllowed},
		"moderator changes role":             {"Mo", func(g *testGroup) []Change { return []Change{SetRole{g.id("Cy"), RoleModerator}} }, ErrNotAllowed},
		"moderator promotes self":            {"Mo", func(g *testGroup) []Change { return []Change{SetRole{g.id("Mo"), RoleHost}} }, ErrNotAllowed},
		"member adds":                        {"Cy", func(g *testGroup) []Change { return []Change{g.newAdd("X", RoleMember)} }, ErrNotAllowed},
		"member removes other":               {"Cy", func(g *testGroup) []Change { return []Change{Remove{g.id("Di")}} }, ErrNotAllowed},
		"member leaves and removes":          {"Cy", func(g *testGroup) []Change { return []Change{Remove{g.id("Cy")}, Remove{g.id("Di")}} }, ErrNotAllowed},
		"member promotes self":               {"Cy", func(g *testGroup) []Change { return []Change{SetRole{g.id("Cy"), RoleHost}} }, ErrNotAllowed},
		"no changes":                         {"Ann", func(g *testGroup) []Change { return nil }, ErrBadChange},
		"add existing":                       {"Ann", func(g *testGroup) []Change { return []Change{Add{g.creds["Cy"].Public(), "Cy2", RoleMember}} }, ErrBadChange},
		"remove absent":                      {"Ann", func(g *testGroup) []Change { return []Change{Remove{crypto.MemberID{7}}} }, ErrBadChange},
		"role of absent":                     {"Ann", func(g *testGroup) []Change { return []Change{SetRole{crypto.MemberID{7}, RoleHost}} }, ErrBadChange},
		"role unchanged":                     {"Ann", func(g *testGroup) []Change { return []Change{SetRole{g.id("Cy"), RoleMember}} }, ErrBadChange},
		"bad role":                           {"Ann", func(g *testGroup) []Change { return []Change{SetRole{g.id("Cy"), 9}} }, ErrBadChange},
		"bad pseudonym":                      {"Ann", func(g *testGroup) []Change { return []Change{g.newAdd("a\u202Eb", RoleMember)} }, ErrBadChange},
		"untrimmed pseudonym":                {"Ann", func(g *testGroup) []Change { return []Change{g.newAdd(" X", RoleMember)} }, ErrBadChange},
		"same member twice":                  {"Ann", func(g *testGroup) []Change { return []Change{SetRole{g.id("Cy"), RoleHost}, Remove{g.id("Cy")}} }, ErrBadChange},
		"non-member commits":                 {"Out", func(g *testGroup) []Change { return []Change{Remove{g.id("Cy")}} }, ErrNotAllowed},
		"both hosts demoted by one":          {"Ann", func(g *testGroup) []Change { return []Change{Remove{g.id("Hal")}, SetRole{g.id("Ann"), RoleMember}} }, ErrLastHost},
		"demote both hosts": {"Ann", func(g *testGroup) []Change {
			return []Change{SetRole{g.id("Hal"), RoleMember}, SetRole{g.id("Ann"), RoleModerator}}
		}, ErrLastHost},
		"promote then demote self": {"Ann", func(g *testGroup) []Change {
			return []Change{Remove{g.id("Hal")}, SetRole{g.id("Mo"), RoleHost}, SetRole{g.id("Ann"), RoleMember}}
		}, nil},
		"demote self before promoting": {"Ann", func(g *testGroup) []Change {
			return []Change{Remove{g.id("Hal")}, SetRole{g.id("Ann"), RoleMember}, SetRole{g.id("Mo"), RoleHost}}
		}, ErrLastHost},
		"promoted moderator acts later": {"Hal", func(g *testGroup) []Change { return []Change{SetRole{g.id("Mo"), RoleHost}, g.newAdd("X", RoleHost)} }, nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			g := fourRoles(t, 3)
			g.creds["Out"] = newCred(t, g.r)
			before, _ := g.state.Marshal()
			commit, secret, err := NewCommit(g.state, g.creds[c.by], c.changes(g), g.r)
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("NewCommit: %v, want %v", err, c.want)
			}
			if err != nil {
				return
			}
			secret.Wipe()
			next, err := g.state.ApplyCommit(commit)
			if err != nil {
				t.Fatalf("ApplyCommit refused what NewCommit built: %v", err)
			}
			if err := next.Validate(); err != nil {
				t.Fatal(err)
			}
			after, _ := g.state.Marshal()
			if !bytes.Equal(before, after) {
				t.Fatal("ApplyCommit changed the parent state")
			}
		})
	}
}

// forge signs a hand-built commit with the named credential, bypassing
// NewCommit's checks, so ApplyCommit's own checks are what is tested.
func (g *testGroup) forge(by string, c *Commit) *Commit {
	body, err := c.body()
	if err != nil {
		g.t.Fatal(err)
	}
	c.Signature = g.creds[by].Sign(commitPurpose, body)
	return c
}

func TestApplyCommitRejects(t *testing.T) {
	g := fourRoles(t, 4)
	good, secret, err := NewCommit(g.state, g.creds["Mo"], []Change{Remove{g.id("Di")}}, g.r)
	if err != nil {
		t.Fatal(err)
	}
	secret.Wipe()
	clone := func() *Commit {
		c := *good
		c.Secrets = append([]SealedSecret(nil), good.Secrets...)
		c.Changes = append([]Change(nil), good.Changes...)
		c.Signature = append([]byte(nil), good.Signature...)
		return &c
	}
	for name, tc := range map[string]struct {
		c    func() *Commit
		want error
	}{
		"other group":     {func() *Commit { c := clone(); c.Group[0] ^= 1; return g.forge("Mo", c) }, ErrWrongParent},
		"skips an epoch":  {func() *Commit { c := clone(); c.Epoch++; return g.forge("Mo", c) }, ErrWrongParent},
		"same epoch":      {func() *Commit { c := clone(); c.Epoch--; return g.forge("Mo", c) }, ErrWrongParent},
		"other parent":    {func() *Commit { c := clone(); c.Parent[0] ^= 1; return g.forge("Mo", c) }, ErrWrongParent},
		"bad signature":   {func() *Commit { c := clone(); c.Signature[0] ^= 1; return c }, ErrBadCommitSignature},
		"signed by other": {func() *Commit { c := clone(); return g.forge("Ann", c) }, ErrBadCommitSignature},
		"changed after signing": {func() *Commit {
			c := clone()
			c.Changes = []Change{Remove{g.id("Cy")}}
			return c
		}, ErrBadCommitSignature},
		"missing secret": {func() *Commit { c := clone(); c.Secrets = c.Secrets[1:]; return g.forge("Mo", c) }, ErrBadSecrets},
		"extra secret": {func() *Commit {
			c := clone()
			c.Secrets = append(c.Secrets, SealedSecret{To: g.id("Di"), Sealed: c.Secrets[0].Sealed})
			return g.forge("Mo", c)
		}, ErrBadSecrets},
		"secrets out of order": {func() *Commit {
			c := clone()
			c.Secrets[0], c.Secrets[1] = c.Secrets[1], c.Secrets[0]
			return g.forge("Mo", c)
		}, ErrBadSecrets},
		"secret to removed member": {func() *Commit {
			c := clone()
			c.Secrets[3].To = g.id("Di")
			return g.forge("Mo", c)
		}, ErrBadSecrets},
		"short secret": {func() *Commit { c := clone(); c.Secrets[0].Sealed = c.Secrets[0].Sealed[:10]; return g.forge("Mo", c) }, ErrBadSecrets},
		"member removes other": {func() *Commit {
			c := clone()
			c.Committer = g.id("Cy")
			return g.forge("Cy", c)
		}, ErrNotAllowed},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := g.state.ApplyCommit(tc.c()); !errors.Is(err, tc.want) {
				t.Fatalf("ApplyCommit = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := g.state.ApplyCommit(good); err != nil {
		t.Fatalf("the unmodified commit is refused: %v", err)
	}
}

func TestCommitRoundTrip(t *testing.T) {
	g := fourRoles(t, 5)
	c, secret, err := NewCommit(g.state, g.creds["Ann"], []Change{
		g.newAdd("Eve", RoleModerator), Remove{g.id("Cy")}, SetRole{g.id("Di"), RoleHost},
	}, g.r)
	if err != nil {
		t.Fatal(err)
	}
	secret.Wipe()
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalCommit(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := got.Marshal()
	if err != nil || !bytes.Equal(b, b2) {
		t.Fatalf("re-encoding differs: %v", err)
	}
	if _, err := g.state.ApplyCommit(got); err != nil {
		t.Fatalf("decoded commit refused: %v", err)
	}
	for n := range len(b) {
		if _, err := UnmarshalCommit(b[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	if _, err := UnmarshalCommit(append(b, 0)); !errors.Is(err, ErrMalformed) {
		t.Fatal("trailing byte accepted")
	}
}

// TestForkRace plays every pair of rival commits from a fixed menu of
// changes by two admins on the same parent, and checks that the fork rule
// (ForkWinnerIn) converges and is the documented one: both orders pick the
// same winner; a commit that removes or demotes the other's committer wins
// unless the other does the same to it; then the higher committer role
// wins; only then the smaller CommitID; a host's commit always beats a
// moderator's; a committer removed by its rival never wins unless it
// removed that rival's committer too. The winner applies, and the loser's
// rebased changes make a valid commit on top of the winner (or are empty
// exactly when none of them still applies).
func TestForkRace(t *testing.T) {
	base := fourRoles(t, 6)
	eve := base.newAdd("Eve", RoleMember)
	fay := base.newAdd("Fay", RoleModerator)
	menu := map[string][]Change{
		"add Eve":          {eve},
		"add Fay mod":      {fay},
		"add Eve, Fay":     {eve, fay},
		"remove Cy":        {Remove{base.id("Cy")}},
		"remove Mo":        {Remove{base.id("Mo")}},
		"remove Hal":       {Remove{base.id("Hal")}},
		"remove Ann":       {Remove{base.id("Ann")}},
		"promote Cy":       {SetRole{base.id("Cy"), RoleModerator}},
		"demote Mo":        {SetRole{base.id("Mo"), RoleMember}},
		"demote Hal":       {SetRole{base.id("Hal"), RoleMember}},
		"demote Ann":       {SetRole{base.id("Ann"), RoleMember}},
		"Eve, remove Cy":   {eve, Remove{base.id("Cy")}},
		"remove Cy and Di": {Remove{base.id("Cy")}, Remove{base.id("Di")}},
		"Hal, remove Mo":   {SetRole{base.id("Hal"), RoleModerator}, Remove{base.id("Mo")}},
	}
	committers := []string{"Ann", "Hal", "Mo", "Cy"}
	// Build each valid (changes, committer) commit once, with its state.
	type rival struct {
		name   string
		c      *Commit
		result *GroupState
	}
	var rivals []rival
	for name, ch := range menu {
		for _, by := range committers {
			c, secret, err := NewCommit(base.state, base.creds[by], ch, base.r)
			if err != nil {
				continue
			}
			secret.Wipe()
			next, err := base.state.ApplyCommit(c)
			if err != nil {
				t.Fatal(err)
			}
			rivals = append(rivals, rival{name + " by " + by, c, next})
		}
	}
	pairs, rebased, recommitted := 0, 0, 0
	for _, a := range rivals {
		for _, b := range rivals {
			if a.c.Committer == b.c.Committer {
				continue
			}
			pairs++
			w1, w2 := ForkWinnerIn(base.state, a.c, b.c), ForkWinnerIn(base.state, b.c, a.c)
			if w1 != w2 {
				t.Fatalf("%s vs %s: winner depends on order", a.name, b.name)
			}
			winner, loser := a, b
			if w1 == b.c {
				winner, loser = b, a
			}
			if want := restatedForkWinner(base.state, a.c, b.c); w1 != want {
				t.Fatalf("%s vs %s: the rule picks the other commit", a.name, b.name)
			}
			wRole, lRole := committerRole(base.state, winner.c), committerRole(base.state, loser.c)
			if wRole < lRole {
				t.Fatalf("%s vs %s: a %s beat a %s", a.name, b.name, wRole, lRole)
			}
			if _, ok := loser.result.MemberByID(winner.c.Committer); !ok && !ousts(winner.c, loser.c.Committer, lRole) {
				t.Fatalf("%s vs %s: a committer its rival removes won without ousting the rival", a.name, b.name)
			}
			ws := winner.result
			re := RebaseChanges(loser.c, ws)
			by, stillMember := ws.MemberByID(loser.c.Committer)
			if !stillMember && len(re) != 0 {
				t.Fatalf("%s vs %s: a removed committer got changes to re-apply", a.name, b.name)
			}
			// Every change dropped must fail on top of the winner and the
			// changes kept (no valid change is lost).
			for _, ch := range loser.c.Changes {
				if containsChange(re, ch) || !stillMember {
					continue
				}
				if _, err := applyChanges(ws, by, append(append([]Change(nil), re...), ch)); err == nil {
					t.Fatalf("%s vs %s: rebase dropped %T that still applies", a.name, b.name, ch)
				}
			}
			if len(re) == 0 {
				continue
			}
			rebased++
			if _, err := applyChanges(ws, by, re); err != nil {
				t.Fatalf("%s vs %s: rebased changes do not apply: %v", a.name, b.name, err)
			}
			if rebased%10 == 0 {
				// Sign and apply a sample of the rebased commits end to end.
				cr, sr, err := NewCommit(ws, loserCred(base, loser.c), re, base.r)
				if err != nil {
					t.Fatalf("%s vs %s: rebased changes refused: %v", a.name, b.name, err)
				}
				sr.Wipe()
				final, err := ws.ApplyCommit(cr)
				if err != nil || final.Validate() != nil {
					t.Fatalf("rebased commit: %v", err)
				}
				recommitted++
			}
		}
	}
	if pairs < 500 || rebased < 100 || recommitted < 10 {
		t.Fatalf("only %d races, %d rebases, %d recommits exercised", pairs, rebased, recommitted)
	}
}

// restatedForkWinner is the fork rule as docs/PROTOCOL.md states it,
// written out independently of ForkWinnerIn.
func restatedForkWinner(parent *GroupState, a, b *Commit) *Commit {
	role := func(c *Commit) Role { m, _ := parent.MemberByID(c.Committer); return m.Role }
	hits := func(c, other *Commit) bool {
		for _, ch := range c.Changes {
			if r, ok := ch.(Remove); ok && r.Member == other.Committer {
				return true
			}
			if r, ok := ch.(SetRole); ok && r.Member == other.Committer && r.Role < role(other) {
				return true
			}
		}
		return false
	}
	if ha, hb := hits(a, b), hits(b, a); ha != hb {
		if ha {
			return a
		}
		return b
	}
	if role(a) != role(b) {
		if role(a) > role(b) {
			return a
		}
		return b
	}
	ida, _ := a.ID()
	idb, _ := b.ID()
	if bytes.Compare(ida[:], idb[:]) < 0 {
		return a
	}
	return b
}

func containsChange(list []Change, ch Change) bool {
	for _, c := range list {
		if fmt.Sprint(c) == fmt.Sprint(ch) {
			return true
		}
	}
	return false
}

func loserCred(g *testGroup, c *Commit) *crypto.MemberCredential {
	for _, cred := range g.creds {
		if cred.ID() == c.Committer {
			return cred
		}
	}
	return nil
}

// TestRandomCommitSequences drives random commits, valid and not, by random
// members, and checks that every accepted commit keeps the roster
// invariants and obeys the permission rules as restated independently here.
func TestRandomCommitSequences(t *testing.T) {
	for seed := range uint64(8) {
		g := newTestGroup(t, 100+seed)
		rng := rand.New(rand.NewPCG(seed, 7))
		everIndex := map[uint32]crypto.MemberID{}
		names := []string{"Ann"}
		accepted := 0
		for step := range 120 {
			by := names[rng.IntN(len(names))]
			var changes []Change
			for range 1 + rng.IntN(3) {
				target := names[rng.IntN(len(names))]
				switch rng.IntN(4) {
				case 0, 1:
					name := fmt.Sprintf("M%d-%d", step, len(changes))
					changes = append(changes, g.newAdd(name, Role(1+rng.IntN(3))))
				case 2:
					changes = append(changes, Remove{g.id(target)})
				case 3:
					changes = append(changes, SetRole{g.id(target), Role(1 + rng.IntN(3))})
				}
			}
			parent := g.state
			committer, _ := parent.MemberByID(g.id(by))
			c, secret, err := NewCommit(parent, g.creds[by], changes, g.r)
			if err != nil {
				continue
			}
			secret.Wipe()
			next, err := parent.ApplyCommit(c)
			if err != nil {
				t.Fatalf("seed %d step %d: built commit refused: %v", seed, step, err)
			}
			accepted++
			if err := next.Validate(); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
			// Restate the permission rules.
			for _, ch := range changes {
				switch ch := ch.(type) {
				case Add:
					if !committer.Role.IsAdmin() || (ch.Role != RoleMember && committer.Role != RoleHost) {
						t.Fatalf("step %d: %s %s added a %s", step, committer.Role, by, ch.Role)
					}
				case Remove:
					tm, _ := parent.MemberByID(ch.Member)
					self := ch.Member == committer.ID
					if !self && (!committer.Role.IsAdmin() || (tm.Role != RoleMember && committer.Role != RoleHost)) {
						t.Fatalf("step %d: %s removed a %s", step, committer.Role, tm.Role)
					}
					if self {
						t.Fatalf("step %d: a %s committed its own removal", step, committer.Role)
					}
				case SetRole:
					if committer.Role != RoleHost {
						t.Fatalf("step %d: %s changed a role", step, committer.Role)
					}
				}
			}
			for _, m := range next.Roster {
				if id, ok := everIndex[m.Index]; ok && id != m.ID {
					t.Fatalf("step %d: index %d reused", step, m.Index)
				}
				everIndex[m.Index] = m.ID
			}
			g.state = next
			names = names[:0]
			for _, m := range next.Roster {
				names = append(names, m.Pseudonym)
			}
		}
		if accepted < 20 {
			t.Fatalf("seed %d: only %d commits accepted", seed, accepted)
		}
	}
}
