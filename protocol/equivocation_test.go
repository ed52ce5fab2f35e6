package protocol

import (
	"errors"
	"testing"

	"github.com/hearthnet/hearth/crypto"
)

// TestWelcomeRolesSigned is the reviewer's proof that a welcome could lie
// about roles and pseudonyms: Bo adds Fay and hands her a state where he is
// the host and Ann a renamed plain member. The commit signs the hash of the
// real state, so Fay refuses the doctored welcome and accepts the real one.
func TestWelcomeRolesSigned(t *testing.T) {
	m := fiveMembers(t, 90)
	bo := m.nodes["Bo"]
	fay, _ := crypto.NewMemberCredential(m.r)
	m.now += 1000
	res, err := bo.s.Commit([]Change{Add{Public: fay.Public(), Pseudonym: "Fay", Role: RoleMember}}, m.now, m.r)
	if err != nil {
		t.Fatal(err)
	}
	w, err := bo.s.Welcome(res.Commit, fay.ID())
	if err != nil {
		t.Fatal(err)
	}
	lie := &Welcome{State: w.State.Clone(), Commit: w.Commit}
	for i := range lie.State.Roster {
		switch lie.State.Roster[i].Pseudonym {
		case "Bo":
			lie.State.Roster[i].Role = RoleHost
		case "Ann":
			lie.State.Roster[i].Role = RoleMember
			lie.State.Roster[i].Pseudonym = "Ann (guest)"
		}
	}
	if err := lie.State.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := JoinFromWelcome(lie, fay, m.now, m.r); !errors.Is(err, ErrBadWelcome) {
		t.Fatalf("doctored roles and pseudonyms: %v, want ErrBadWelcome", err)
	}
	renamed := &Welcome{State: w.State.Clone(), Commit: w.Commit}
	renamed.State.Name = "Another name"
	if _, _, err := JoinFromWelcome(renamed, fay, m.now, m.r); !errors.Is(err, ErrBadWelcome) {
		t.Fatalf("doctored group name: %v, want ErrBadWelcome", err)
	}
	if _, _, err := JoinFromWelcome(w, fay, m.now, m.r); err != nil {
		t.Fatalf("the real welcome: %v", err)
	}
}

// TestCommitStateHashChecked checks that members refuse a commit whose
// signed state hash is not that of the state its changes make.
func TestCommitStateHashChecked(t *testing.T) {
	g := fourRoles(t, 41)
	c, secret, err := NewCommit(g.state, g.creds["Ann"], []Change{Remove{g.id("Di")}}, g.r)
	if err != nil {
		t.Fatal(err)
	}
	secret.Wipe()
	c.State[0] ^= 1
	g.forge("Ann", c)
	if _, err := g.state.ApplyCommit(c); !errors.Is(err, ErrBadChange) {
		t.Fatalf("wrong state hash: %v, want ErrBadChange", err)
	}
}

// TestAnnouncementEquivocation is the reviewer's proof that a member could
// seal one chain key to Cy and another to Di, and post different text to
// each under one generation. The announcement commits to one key: Cy, who
// got it, reads the post sealed with it; Di, who got another, is told Eve
// misbehaved (not that the forwarder did), and reads no post of Eve's in
// that epoch rather than a different one.
func TestAnnouncementEquivocation(t *testing.T) {
	m := fiveMembers(t, 91)
	eve := m.nodes["Eve"]
	m.commit("Ann", SetRole{Member: m.nodes["Cy"].s.Me().ID, Role: RoleModerator})
	ep, me := eve.s.cur, eve.s.me()
	for _, n := range []string{"Cy", "Di"} {
		delete(m.nodes[n].s.cur.recv, me.Index) // as if Eve's honest announcement never came
	}
	k1, _ := crypto.NewChainKey(m.r)
	k2, _ := crypto.NewChainKey(m.r)
	ann := ChainKeyAnnouncement{Epoch: ep.state.Epoch, Commitment: crypto.CommitChainKey(k1)}
	for _, mem := range ep.state.Roster {
		if mem.ID == me.ID {
			continue
		}
		k := k1
		if mem.Pseudonym == "Di" {
			k = k2
		}
		sealed, err := crypto.SealToMember(mem.Public, me.ID, crypto.SecretChainKey, ep.state.ID, ep.state.Epoch, k[:])
		if err != nil {
			t.Fatal(err)
		}
		ann.Sealed = append(ann.Sealed, SealedSecret{To: mem.ID, Sealed: sealed})
	}
	env, err := eve.s.seal(ep, me, ann, m.now, m.r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.nodes["Cy"].s.Open(env, m.now, m.r); err != nil {
		t.Fatalf("Cy, who got the committed key: %v", err)
	}
	_, err = m.nodes["Di"].s.Open(env, m.now, m.r)
	var mis *MisbehaviorError
	if !errors.As(err, &mis) || !errors.Is(err, ErrMisbehaved) || errors.Is(err, ErrInvalidEnvelope) || mis.Author != me.ID {
		t.Fatalf("Di, who got another key: %v, want a MisbehaviorError naming Eve", err)
	}
	post := func(k *crypto.ChainKey, text string) []byte {
		gen, mk, _ := crypto.NewSendChain(k).Next()
		b, _ := MarshalContent(Post{ID: [16]byte{1, byte(len(text))}, Text: text})
		e, err := crypto.SealEnvelope(crypto.SealInput{Group: ep.state.ID, Epoch: ep.state.Epoch, SenderDataKey: &ep.keys.SenderData,
			Sender: crypto.SenderData{Index: me.Index, Generation: gen}, MessageKey: &mk, Author: eve.s.cred, Timestamp: m.now, Content: b}, m.r)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	if rec, err := m.nodes["Cy"].s.Open(post(k1, "meet at 6"), m.now, m.r); err != nil || rec.Content.(Post).Text != "meet at 6" {
		t.Fatalf("Cy reads the committed key's post: %v", err)
	}
	if _, err := m.nodes["Di"].s.Open(post(k2, "meeting cancelled"), m.now, m.r); !errors.Is(err, ErrNoChainKey) {
		t.Fatalf("Di reads a post under the uncommitted key: %v, want ErrNoChainKey", err)
	}
}

// TestCommitSecretEquivocation has Ann seal the new epoch secret to Di
// different from the one the commit commits to. Everyone else moves on; Di
// is told Ann misbehaved, and her session stays where it was.
func TestCommitSecretEquivocation(t *testing.T) {
	m := fiveMembers(t, 95)
	ann, di := m.nodes["Ann"], m.nodes["Di"]
	m.now += 1000
	c, secret, err := NewCommit(ann.s.cur.state, ann.s.cred, []Change{Remove{Member: m.nodes["Eve"].s.Me().ID}}, m.r)
	if err != nil {
		t.Fatal(err)
	}
	secret.Wipe()
	other, _ := crypto.NewEpochSecret(m.r)
	for i, x := range c.Secrets {
		if x.To == di.s.Me().ID {
			c.Secrets[i].Sealed, err = crypto.SealToMember(di.s.Me().Public, c.Committer, crypto.SecretEpoch, c.Group, c.Epoch, other[:])
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	body, _ := c.body()
	c.Signature = ann.s.cred.Sign(commitPurpose, body)
	env, err := ann.s.seal(ann.s.cur, ann.s.me(), CommitContent{Commit: c}, m.now, m.r)
	if err != nil {
		t.Fatal(err)
	}
	before := di.s.GroupState().Epoch
	_, err = di.s.Open(env, m.now, m.r)
	var mis *MisbehaviorError
	if !errors.As(err, &mis) || errors.Is(err, ErrInvalidEnvelope) || mis.Author != ann.s.Me().ID || mis.Epoch != c.Epoch {
		t.Fatalf("Di: %v, want a MisbehaviorError naming Ann", err)
	}
	if di.s.GroupState().Epoch != before {
		t.Fatal("Di's session moved on a secret it could not check")
	}
	if rec, err := m.nodes["Cy"].s.Open(env, m.now, m.r); err != nil || rec.NewEpoch == nil {
		t.Fatalf("Cy, who got the committed secret: %v", err)
	}
	if _, err := OpenCommitSecret(c, di.s.cred); !errors.Is(err, ErrMisbehaved) {
		t.Fatalf("OpenCommitSecret for Di: %v", err)
	}
}
