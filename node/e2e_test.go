package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
)

// The end-to-end tests: several real nodes on loopback, each with its own
// home, Badger store and gossipsub, driven only through the embedder API
// (and, where a test must show what an attacker holds, through the keys
// the node keeps). SECURITY.md ("End-to-end tests") maps each security
// property to the test that shows it.

// e2eMarker returns a string that appears nowhere but where the test puts
// it, to search for on the wire.
func e2eMarker(t testing.TB, what string) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return what + "-" + hex.EncodeToString(b)
}

// e2eMember is one member's view of a group under test.
type e2eMember struct {
	*e2eNode
	pseudonym string
}

// e2eGroupOf has host create a group and every joiner join it with one
// invite, then waits until every member sees the whole roster at the same
// epoch and is ready to receive on its topic. It returns the group ID.
func e2eGroupOf(t testing.TB, host *e2eMember, joiners ...*e2eMember) crypto.GroupID {
	t.Helper()
	ctx := e2eCtx(t)
	g, err := host.n.CreateGroup(ctx, GroupOptions{Name: "Thursday evening circle", Pseudonym: host.pseudonym})
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	if len(joiners) == 0 {
		return g.ID()
	}
	invite, _, err := g.CreateInvite(ctx, InviteOptions{Uses: len(joiners)})
	if err != nil {
		t.Fatalf("CreateInvite: %v", err)
	}
	// One join at a time, each waited for, so every test starts from a
	// settled group: a commit published before a member has grafted onto
	// the topic of the epoch before reaches that member only later, by
	// history sync. TestE2EQuickSuccessiveJoins covers the quick case.
	in := []*e2eMember{host}
	for _, j := range joiners {
		res, err := j.n.Join(e2eCtx(t), invite, j.pseudonym)
		if err != nil {
			t.Fatalf("%s: Join: %v", j.name, err)
		}
		if res.Status != JoinJoined || res.Group == nil || res.GroupID != g.ID() {
			t.Fatalf("%s: Join returned status %v, group %v, ID %s; want joined %s", j.name, res.Status, res.Group, res.GroupID, g.ID())
		}
		in = append(in, j)
		e2eSettle(t, g.ID(), in...)
	}
	return g.ID()
}

// e2eSettle waits until every one of members sees a roster of exactly
// members at one common epoch, and is meshed on that epoch's topic with
// every other member that is online, so what is posted next reaches
// everyone.
func e2eSettle(t testing.TB, id crypto.GroupID, members ...*e2eMember) {
	t.Helper()
	e2ePoll(t, "every member to see the same roster", func() bool {
		var epoch uint64
		for i, m := range members {
			g, err := m.n.Group(id)
			if err != nil {
				return false
			}
			info := g.Info()
			if info.Members != len(members) || info.Removed {
				return false
			}
			if i == 0 {
				epoch = info.Epoch
			} else if info.Epoch != epoch {
				return false
			}
		}
		return true
	})
	e2eWaitMeshed(t, id, members...)
}

// e2eAllPost has every member post one message of its own and returns,
// by message ID, what each poster's node returned.
func e2eAllPost(t testing.TB, id crypto.GroupID, prefix string, members ...*e2eMember) map[MessageID]Message {
	t.Helper()
	ctx := e2eCtx(t)
	posted := make(map[MessageID]Message)
	for _, m := range members {
		msg, err := m.group(t, id).Post(ctx, prefix+" from "+m.pseudonym, MessageID{})
		if err != nil {
			t.Fatalf("%s: Post: %v", m.name, err)
		}
		posted[msg.ID] = *msg
	}
	return posted
}

// e2eWaitAll waits until every member's app has shown every one of msgs
// (a node shows its own posts too).
func e2eWaitAll(t testing.TB, id crypto.GroupID, msgs map[MessageID]Message, members ...*e2eMember) {
	t.Helper()
	for _, m := range members {
		m.rec.waitFor(t, m.name+" to receive every message", func(evs []Event) bool {
			seen := make(map[MessageID]bool)
			for _, ev := range evs {
				if ev.Kind == EventMessage && ev.Group == id && ev.Message != nil {
					seen[ev.Message.ID] = true
				}
			}
			for mid := range msgs {
				if !seen[mid] {
					return false
				}
			}
			return true
		})
	}
}

// TestE2EFiveMembersEveryMessageOnce has a host create a group and invite
// four people, who join; each of the five posts once. Every node shows
// every message (its own included) exactly once, as an event and in its
// history, attributed to the right member and pseudonym, and its history
// holds every message of the group exactly once.
func TestE2EFiveMembersEveryMessageOnce(t *testing.T) {
	names := []string{"ash", "birch", "cedar", "dogwood", "elm"}
	members := make([]*e2eMember, len(names))
	for i, name := range names {
		members[i] = &e2eMember{e2eNode: newE2ENode(t, name), pseudonym: name + " (she/her)"}
	}
	nodes := make([]*e2eNode, len(members))
	for i, m := range members {
		nodes[i] = m.e2eNode
	}
	e2eMesh(t, nodes...)
	id := e2eGroupOf(t, members[0], members[1:]...)

	// Every member sees the same roster, with the host as host.
	for _, m := range members {
		roster := m.group(t, id).Members()
		if len(roster) != len(members) {
			t.Fatalf("%s sees %d members, want %d", m.name, len(roster), len(members))
		}
		byName := make(map[string]MemberInfo)
		for _, r := range roster {
			byName[r.Pseudonym] = r
		}
		for _, other := range members {
			info, ok := byName[other.pseudonym]
			if !ok {
				t.Errorf("%s's roster lacks %q", m.name, other.pseudonym)
				continue
			}
			if info.ID != other.group(t, id).Info().Me.ID {
				t.Errorf("%s's roster gives %q the ID %s, not the one it has", m.name, other.pseudonym, info.ID)
			}
		}
		if byName[members[0].pseudonym].Role != protocol.RoleHost {
			t.Errorf("%s sees the host with role %v", m.name, byName[members[0].pseudonym].Role)
		}
	}

	posted := e2eAllPost(t, id, "hello", members...)
	e2eWaitAll(t, id, posted, members...)
	// A last message from the host: once it has arrived everywhere, a
	// second copy of any earlier message would have had every chance to.
	marker := e2eAllPost(t, id, "marker", members[0])
	e2eWaitAll(t, id, marker, members...)

	for _, m := range members {
		events := make(map[MessageID]int)
		for _, msg := range m.rec.messages(id) {
			events[msg.ID]++
			want, ok := posted[msg.ID]
			if !ok {
				if _, isMarker := marker[msg.ID]; !isMarker {
					t.Errorf("%s received a message nobody posted: %+v", m.name, msg)
				}
				continue
			}
			if msg.Author != want.Author || msg.Pseudonym != want.Pseudonym || msg.Text != want.Text || msg.Group != id {
				t.Errorf("%s received %q from %s (%q), want %q from %s (%q)",
					m.name, msg.Text, msg.Author, msg.Pseudonym, want.Text, want.Author, want.Pseudonym)
			}
		}
		for mid, want := range posted {
			if n := events[mid]; n != 1 {
				t.Errorf("%s was shown %q %d times, want once", m.name, want.Text, n)
			}
		}

		inHistory := make(map[MessageID]int)
		for _, msg := range e2eHistory(t, m.group(t, id)) {
			inHistory[msg.ID]++
			if want, ok := posted[msg.ID]; ok && (msg.Author != want.Author || msg.Pseudonym != want.Pseudonym || msg.Text != want.Text) {
				t.Errorf("%s's history has %q from %q, want %q from %q", m.name, msg.Text, msg.Pseudonym, want.Text, want.Pseudonym)
			}
		}
		for mid, want := range posted {
			if n := inHistory[mid]; n != 1 {
				t.Errorf("%s's history holds %q %d times, want once", m.name, want.Text, n)
			}
		}
		if d := m.rec.sub.Dropped(); d != 0 {
			t.Errorf("%s's subscription dropped %d events", m.name, d)
		}
	}

	// The pseudonym each poster chose is the one the others see.
	for _, want := range posted {
		var poster *e2eMember
		for _, m := range members {
			if m.group(t, id).Info().Me.ID == want.Author {
				poster = m
			}
		}
		if poster == nil || want.Pseudonym != poster.pseudonym {
			t.Errorf("message %q attributed to %q, which no member chose", want.Text, want.Pseudonym)
		}
	}
}

// TestE2EInviteRefusals shows each way an invite can fail is refused with
// its own error, distinguishable with errors.Is, that the refusal never
// repeats the invite (which holds its secret), and that a refused joiner
// is in no group.
func TestE2EInviteRefusals(t *testing.T) {
	clock := &e2eClock{}
	host := &e2eMember{e2eNode: newE2ENode(t, "host", func(c *Config) { c.Now = clock.now }), pseudonym: "host"}
	joiner := &e2eMember{e2eNode: newE2ENode(t, "joiner"), pseudonym: "joiner"}
	first := &e2eMember{e2eNode: newE2ENode(t, "first"), pseudonym: "first"}
	ctx := e2eCtx(t)
	g, err := host.n.CreateGroup(ctx, GroupOptions{Name: "Grief circle", Pseudonym: host.pseudonym})
	if err != nil {
		t.Fatal(err)
	}

	sentinels := []error{ErrInviteMistyped, ErrInviteMalformed, ErrInviteExpired, ErrInviteRevoked,
		ErrInviteUsedUp, ErrInviteUnknown, ErrJoinDenied, ErrAdminUnreachable, ErrAlreadyMember}
	refused := func(name, invite string, want error) {
		t.Helper()
		res, err := joiner.n.Join(ctx, invite, joiner.pseudonym)
		if !errors.Is(err, want) {
			t.Errorf("%s: Join returned %v (result %+v), want %v", name, err, res, want)
			return
		}
		for _, other := range sentinels {
			if other != want && errors.Is(err, other) {
				t.Errorf("%s: error %q also matches %v", name, err, other)
			}
		}
		if strings.Contains(err.Error(), strings.TrimPrefix(invite, crypto.InvitePrefix)) && len(invite) > len(crypto.InvitePrefix)+8 {
			t.Errorf("%s: the error repeats the invite: %q", name, err)
		}
		if gs := joiner.n.Groups(); len(gs) != 0 {
			t.Errorf("%s: refused joiner is in %d groups", name, len(gs))
		}
	}

	// Mistyped: one character of a good invite changed.
	good, _, err := g.CreateInvite(ctx, InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pos := len(crypto.InvitePrefix) + 10
	swap := byte('a')
	if good[pos] == 'a' {
		swap = 'b'
	}
	refused("mistyped", good[:pos]+string(swap)+good[pos+1:], ErrInviteMistyped)
	refused("malformed", "hearth:this-is-not-base32!", ErrInviteMalformed)
	refused("not an invite", "https://example.com/join", ErrInviteMalformed)

	// Unknown: a well-formed invite naming the host's node, for the right
	// group, with a secret the host never issued.
	var addrs [][]byte
	for _, a := range host.n.Addrs() {
		bare, _ := peer.SplitAddr(a)
		addrs = append(addrs, bare.Bytes())
	}
	pid, err := host.n.PeerID().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	forged, err := crypto.NewInvite(g.ID(), time.Now().Add(time.Hour).Unix(), 1, pid, addrs, nil)
	if err != nil {
		t.Fatal(err)
	}
	refused("unknown", forged.String(), ErrInviteUnknown)

	// Revoked.
	revoked, info, err := g.CreateInvite(ctx, InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.RevokeInvite(info.ID); err != nil {
		t.Fatal(err)
	}
	refused("revoked", revoked, ErrInviteRevoked)
	if err := g.RevokeInvite(crypto.InviteID{1, 2, 3}); !errors.Is(err, ErrNoInvite) {
		t.Errorf("revoking an invite that does not exist: %v, want ErrNoInvite", err)
	}

	// Used up: a one-use invite works once.
	once, _, err := g.CreateInvite(ctx, InviteOptions{Uses: 1})
	if err != nil {
		t.Fatal(err)
	}
	res, err := first.n.Join(ctx, once, first.pseudonym)
	if err != nil || res.Status != JoinJoined {
		t.Fatalf("first use of a one-use invite: %+v, %v", res, err)
	}
	refused("used up", once, ErrInviteUsedUp)
	// Already a member: refused before the admin is asked, so the invite
	// keeps its use.
	spare, spareInfo, err := g.CreateInvite(ctx, InviteOptions{Uses: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.n.Join(ctx, spare, "again"); !errors.Is(err, ErrAlreadyMember) {
		t.Errorf("joining a group again: %v, want ErrAlreadyMember", err)
	}
	e2eCheckUses(t, g, spareInfo.ID, 1)

	// Expired, seen by the joiner itself: the invite says so.
	short, _, err := g.CreateInvite(ctx, InviteOptions{Expires: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	local := &e2eMember{e2eNode: newE2ENode(t, "late joiner", func(c *Config) {
		c.Now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	}), pseudonym: "late"}
	if _, err := local.n.Join(ctx, short, local.pseudonym); !errors.Is(err, ErrInviteExpired) {
		t.Errorf("joining with an invite expired by the joiner's clock: %v, want ErrInviteExpired", err)
	}
	// Expired, seen by the admin: the joiner's clock says it is still
	// good, the host's says it is not.
	clock.advance(2 * time.Minute)
	refused("expired at the admin", short, ErrInviteExpired)

	// Unreachable: the invite names an admin that is gone.
	gone := newE2ENode(t, "gone")
	gg, err := gone.n.CreateGroup(ctx, GroupOptions{Name: "Gone", Pseudonym: "gone"})
	if err != nil {
		t.Fatal(err)
	}
	orphan, _, err := gg.CreateInvite(ctx, InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gone.stop(t)
	shortCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := joiner.n.Join(shortCtx, orphan, joiner.pseudonym); !errors.Is(err, ErrAdminUnreachable) {
		t.Errorf("joining through an admin that is offline: %v, want ErrAdminUnreachable", err)
	}

	// The good invite still works after all that.
	if res, err := joiner.n.Join(ctx, good, joiner.pseudonym); err != nil || res.Status != JoinJoined {
		t.Errorf("the untouched invite: %+v, %v", res, err)
	}
}

// e2eCheckUses fails the test unless g lists invite id with left uses.
func e2eCheckUses(t testing.TB, g *Group, id crypto.InviteID, left int) {
	t.Helper()
	invites, err := g.Invites()
	if err != nil {
		t.Fatal(err)
	}
	for _, inv := range invites {
		if inv.ID == id {
			if inv.UsesLeft != left {
				t.Errorf("invite %s has %d uses left, want %d", id, inv.UsesLeft, left)
			}
			return
		}
	}
	t.Errorf("invite %s is not listed", id)
}

// TestE2EApprovalWaitingRoom shows an invite that needs approval puts the
// joiner in the waiting room: the host sees the request (as an event and in
// WaitingRoom), an admitted joiner becomes a member and hears the group, a
// denied one is told so and is in no group, and neither can be admitted or
// denied twice.
func TestE2EApprovalWaitingRoom(t *testing.T) {
	host := &e2eMember{e2eNode: newE2ENode(t, "host"), pseudonym: "host"}
	admitted := &e2eMember{e2eNode: newE2ENode(t, "admitted"), pseudonym: "river"}
	denied := &e2eMember{e2eNode: newE2ENode(t, "denied"), pseudonym: "stone"}
	ctx := e2eCtx(t)
	g, err := host.n.CreateGroup(ctx, GroupOptions{Name: "Newcomers", Pseudonym: host.pseudonym})
	if err != nil {
		t.Fatal(err)
	}
	invite, info, err := g.CreateInvite(ctx, InviteOptions{Uses: 2, Approval: true})
	if err != nil {
		t.Fatal(err)
	}
	if !info.Approval || info.UsesLeft != 2 {
		t.Errorf("invite info %+v, want approval with 2 uses", info)
	}

	for _, j := range []*e2eMember{admitted, denied} {
		res, err := j.n.Join(ctx, invite, j.pseudonym)
		if err != nil {
			t.Fatalf("%s: Join: %v", j.name, err)
		}
		if res.Status != JoinWaiting || res.Group != nil || res.GroupID != g.ID() {
			t.Fatalf("%s: Join returned %+v, want waiting for %s", j.name, res, g.ID())
		}
		if gs := j.n.Groups(); len(gs) != 0 {
			t.Errorf("%s is in %d groups while waiting", j.name, len(gs))
		}
		host.rec.waitEvent(t, EventJoinRequest, g.ID(), func(ev Event) bool {
			return ev.Request != nil && ev.Request.Pseudonym == j.pseudonym
		})
	}
	room := g.WaitingRoom()
	if len(room) != 2 {
		t.Fatalf("waiting room holds %d requests, want 2: %+v", len(room), room)
	}
	ids := make(map[string]crypto.MemberID)
	for _, r := range room {
		if r.Invite != info.ID {
			t.Errorf("request from %q names invite %s, want %s", r.Pseudonym, r.Invite, info.ID)
		}
		ids[r.Pseudonym] = r.Member
	}

	if err := g.Deny(ctx, ids[denied.pseudonym]); err != nil {
		t.Fatalf("Deny: %v", err)
	}
	denied.rec.waitEvent(t, EventJoinDenied, g.ID(), nil)
	if gs := denied.n.Groups(); len(gs) != 0 {
		t.Errorf("denied joiner is in %d groups", len(gs))
	}
	if err := g.Admit(ctx, ids[denied.pseudonym]); !errors.Is(err, ErrNotWaiting) {
		t.Errorf("admitting a denied joiner: %v, want ErrNotWaiting", err)
	}

	if err := g.Admit(ctx, ids[admitted.pseudonym]); err != nil {
		t.Fatalf("Admit: %v", err)
	}
	admitted.rec.waitEvent(t, EventJoined, g.ID(), nil)
	if err := g.Admit(ctx, ids[admitted.pseudonym]); !errors.Is(err, ErrNotWaiting) {
		t.Errorf("admitting twice: %v, want ErrNotWaiting", err)
	}
	if err := g.Deny(ctx, ids[admitted.pseudonym]); !errors.Is(err, ErrNotWaiting) {
		t.Errorf("denying an admitted member: %v, want ErrNotWaiting", err)
	}
	if len(g.WaitingRoom()) != 0 {
		t.Errorf("waiting room not empty: %+v", g.WaitingRoom())
	}

	// The admitted member is a member: it can be addressed as one and the
	// two hear each other.
	e2eConnect(t, admitted.e2eNode, host.e2eNode)
	e2eSettle(t, g.ID(), host, admitted)
	if role := admitted.group(t, g.ID()).Info().Role; role != protocol.RoleMember {
		t.Errorf("admitted member has role %v", role)
	}
	posted := e2eAllPost(t, g.ID(), "welcome", host, admitted)
	e2eWaitAll(t, g.ID(), posted, host, admitted)

	// A plain member cannot admit anyone or make invites.
	if _, _, err := admitted.group(t, g.ID()).CreateInvite(ctx, InviteOptions{}); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("a plain member creating an invite: %v, want ErrNotAdmin", err)
	}
}

// e2eForgedEnvelope returns bytes with the exact shape of an envelope of
// the given epoch (version 1, the smallest size, a bucket-sized
// ciphertext) that nobody sealed: it passes crypto.ParseEnvelope and fails
// to authenticate, which is the best a non-member can produce. It names
// the group's current epoch: an envelope of an epoch a node has not
// reached is held unjudged (it cannot be checked yet), not rejected.
func e2eForgedEnvelope(t testing.TB, epoch uint64) []byte {
	t.Helper()
	b := make([]byte, crypto.MinEnvelopeSize)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	b[0] = crypto.EnvelopeVersion
	binary.BigEndian.PutUint64(b[1:9], epoch)
	env, err := crypto.ParseEnvelope(b)
	if err != nil || env.Epoch != epoch {
		t.Fatalf("forged envelope does not even parse as one of epoch %d: %v", epoch, err)
	}
	return b
}

// TestE2EOutsiderSeesNothingAndIsGraylisted connects a plain
// go-libp2p-pubsub peer, a member of nothing, to two members of a group.
// It learns the group's topics from the SUBSCRIBE messages it receives (as
// any connected peer can) and subscribes. The messages it then receives
// carry no author, sequence number, signature or key; their bytes hold
// neither the text, nor the pseudonyms, the group's name or ID, the
// authors' member IDs or peer IDs; they parse as envelopes and do not open.
//
// Then it publishes garbage. Each piece is validated and rejected (the
// members' logs say so), none reaches a member's app, and two of them get
// the outsider graylisted: a message it relays afterwards is dropped
// before validation even though it is one the members would accept (a
// member sealed it), whereas the same kind of message relayed before the
// garbage was delivered.
func TestE2EOutsiderSeesNothingAndIsGraylisted(t *testing.T) {
	hostLog, memberLog := newE2ERejectLog(), newE2ERejectLog()
	host := &e2eMember{e2eNode: newE2ENode(t, "host", func(c *Config) { c.Logger = hostLog.logger() }), pseudonym: "lantern"}
	member := &e2eMember{e2eNode: newE2ENode(t, "member", func(c *Config) { c.Logger = memberLog.logger() }), pseudonym: "harbor"}
	e2eConnect(t, member.e2eNode, host.e2eNode)
	id := e2eGroupOf(t, host, member)

	outsider := newE2ESniffer(t)
	outsider.connect(t, host.e2eNode)
	outsider.connect(t, member.e2eNode)
	// The members are on the current epoch's topic (and, for its grace
	// period, the previous one's). The outsider learns both names from
	// their SUBSCRIBE messages and subscribes to everything it learned.
	topic := e2eTopic(t, host.e2eNode, id)
	e2eWaitAnnounced(t, outsider, topic, host.e2eNode, member.e2eNode)
	outsider.subscribeAll(t)
	transportWaitForBound(t, "the outsider in the mesh", e2eWait, &outsider.tracer.sig, func() bool {
		return outsider.tracer.inMesh(topic, host.n.PeerID(), member.n.PeerID())
	})

	texts := []string{e2eMarker(t, "i relapsed last night"), e2eMarker(t, "day ninety today")}
	ctx := e2eCtx(t)
	posted := make(map[MessageID]Message)
	for i, m := range []*e2eMember{host, member} {
		msg, err := m.group(t, id).Post(ctx, texts[i], MessageID{})
		if err != nil {
			t.Fatal(err)
		}
		posted[msg.ID] = *msg
	}
	e2eWaitAll(t, id, posted, host, member)
	envelopes := outsider.waitCaptured(t, topic, len(posted))

	secrets := [][]byte{
		[]byte(texts[0]), []byte(texts[1]),
		[]byte(host.pseudonym), []byte(member.pseudonym),
		[]byte("Thursday evening circle"),
		id[:],
		[]byte(host.n.PeerID()), []byte(member.n.PeerID()),
	}
	for _, m := range posted {
		secrets = append(secrets, m.Author[:], m.ID[:])
	}
	for _, r := range outsider.captured() {
		if r.hasAuthor || r.hasSeqno || r.hasSig || len(r.pubKey) > 0 {
			t.Errorf("message from %s carries author=%x seqno=%x signature=%x key=%x", r.from, r.author, r.seqno, r.sig, r.pubKey)
		}
	}
	for _, data := range envelopes {
		for _, s := range secrets {
			if bytes.Contains(data, s) {
				t.Errorf("an envelope on the wire contains %q", s)
			}
		}
		env, err := crypto.ParseEnvelope(data)
		if err != nil {
			t.Errorf("captured payload is not an envelope: %v", err)
			continue
		}
		// The outsider holds no key of the group. The best it can try is
		// a key of its own, here one drawn at random.
		guess, err := crypto.NewKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.OpenSender(guess); !errors.Is(err, crypto.ErrDecrypt) {
			t.Errorf("opening the sender data with a guessed key: %v, want ErrDecrypt", err)
		}
	}

	// Before any garbage: what the outsider relays is validated and, if
	// authentic, delivered. The member sealed this one but never
	// published it, so the outsider is the only way it reaches the host.
	tp := outsider.topic(topic)
	early := e2eMarker(t, "relayed by the outsider while in good standing")
	if err := tp.Publish(ctx, e2eSealUnpublished(t, member, id, early)); err != nil {
		t.Fatal(err)
	}
	host.rec.waitFor(t, "the relayed message", func([]Event) bool { return host.rec.countText(id, early) == 1 })

	// Garbage, one piece at a time, each seen rejected by both members'
	// validators: a forged envelope and then something that is not an
	// envelope at all. Two invalid messages cost 4000 points, past the
	// graylist threshold of -2500.
	epoch := host.group(t, id).Info().Epoch
	garbage := [][]byte{e2eForgedEnvelope(t, epoch), []byte("not an envelope at all")}
	for i, g := range garbage {
		if err := tp.Publish(ctx, g); err != nil {
			t.Fatal(err)
		}
		hostLog.waitOf(t, outsider.h.ID(), i+1)
		memberLog.waitOf(t, outsider.h.ID(), i+1)
	}
	// The score also takes the outsider out of the members' meshes at
	// their next heartbeat.
	e2ePoll(t, "the members to prune the outsider from their meshes", func() bool {
		for _, m := range []*e2eMember{host, member} {
			if _, ok := m.n.mesh.peers(topic)[outsider.h.ID()]; ok {
				return false
			}
		}
		return true
	})

	// Now a message the host would accept, and more garbage. Neither is
	// even validated.
	late := e2eMarker(t, "relayed by the outsider after its garbage")
	if err := tp.Publish(ctx, e2eSealUnpublished(t, member, id, late)); err != nil {
		t.Fatal(err)
	}
	if err := tp.Publish(ctx, e2eForgedEnvelope(t, epoch)); err != nil {
		t.Fatal(err)
	}
	// The members keep talking. The outsider published before these
	// posts were made, so by the time they have arrived, the outsider's
	// messages had every chance to.
	after := e2eAllPost(t, id, "still here", host, member)
	e2eWaitAll(t, id, after, host, member)
	after2 := e2eAllPost(t, id, "and still here", host, member)
	e2eWaitAll(t, id, after2, host, member)
	if n := host.rec.countText(id, late); n != 0 {
		t.Errorf("a message relayed by the graylisted outsider was delivered %d times", n)
	}
	if n := hostLog.of(outsider.h.ID()); n != len(garbage) {
		t.Errorf("the host's validator ran on %d invalid messages from the outsider, want only the first %d", n, len(garbage))
	}
	if n := memberLog.of(outsider.h.ID()); n != len(garbage) {
		t.Errorf("the member's validator ran on %d invalid messages from the outsider, want only the first %d", n, len(garbage))
	}

	// No garbage ever reached an app.
	for _, m := range []*e2eMember{host, member} {
		for _, msg := range m.rec.messages(id) {
			_, a := posted[msg.ID]
			_, b := after[msg.ID]
			_, c := after2[msg.ID]
			if !a && !b && !c && msg.Text != early {
				t.Errorf("%s's app showed a message nobody posted: %+v", m.name, msg)
			}
		}
	}
	if n := len(e2eHistory(t, host.group(t, id))); n != len(posted)+len(after)+len(after2)+1 {
		t.Errorf("the host's history holds %d messages, want %d", n, len(posted)+len(after)+len(after2)+1)
	}
}

// TestE2ERemovedMemberCannotRead removes a member from a group of four.
// The other three keep talking on the group's new topic. The removed node
// is shown as removed and cannot post; and although an accomplice of it,
// connected to every member from the start, subscribes to every topic the
// removed node ever announced and every topic anyone announced since (so
// it captures the envelopes posted after the removal), none of those
// envelopes opens with any key the removed node holds, and the removed
// node's app never shows them.
func TestE2ERemovedMemberCannotRead(t *testing.T) {
	host := &e2eMember{e2eNode: newE2ENode(t, "host"), pseudonym: "host"}
	a := &e2eMember{e2eNode: newE2ENode(t, "a"), pseudonym: "alder"}
	b := &e2eMember{e2eNode: newE2ENode(t, "b"), pseudonym: "bramble"}
	removed := &e2eMember{e2eNode: newE2ENode(t, "removed"), pseudonym: "rowan"}
	ear := newE2ESniffer(t)
	all := []*e2eMember{host, a, b, removed}
	for _, m := range all {
		ear.connect(t, m.e2eNode)
	}
	e2eMesh(t, host.e2eNode, a.e2eNode, b.e2eNode, removed.e2eNode)
	id := e2eGroupOf(t, host, a, b, removed)

	before := e2eAllPost(t, id, "before the removal", all...)
	e2eWaitAll(t, id, before, all...)

	ctx := e2eCtx(t)
	rg := removed.group(t, id)
	rID := rg.Info().Me.ID
	lastEpoch := rg.Info().Epoch
	if err := host.group(t, id).Remove(ctx, rID); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	removed.rec.waitEvent(t, EventRemoved, id, nil)
	for _, m := range []*e2eMember{host, a, b} {
		m.rec.waitEvent(t, EventMemberRemoved, id, func(ev Event) bool { return ev.Member != nil && ev.Member.ID == rID })
	}
	remaining := []*e2eMember{host, a, b}
	e2eSettle(t, id, remaining...)
	newEpoch := host.group(t, id).Info().Epoch
	if newEpoch <= lastEpoch {
		t.Fatalf("removal left the group at epoch %d (was %d)", newEpoch, lastEpoch)
	}
	info := rg.Info()
	if !info.Removed {
		t.Errorf("the removed node's group info does not say removed: %+v", info)
	}
	if _, err := rg.Post(ctx, "can anyone hear me", MessageID{}); !errors.Is(err, ErrRemoved) {
		t.Errorf("posting after removal: %v, want ErrRemoved", err)
	}

	// The accomplice listens everywhere it can.
	newTopics := func() []string {
		old := make(map[string]bool)
		for _, tp := range ear.everOf(removed.n.PeerID()) {
			old[tp] = true
		}
		var out []string
		for _, tp := range ear.currentOf(host.n.PeerID()) {
			if !old[tp] {
				out = append(out, tp)
			}
		}
		return out
	}
	transportWaitForBound(t, "the host to announce a topic the removed node never had", e2eWait, &ear.sig, func() bool { return len(newTopics()) == 1 })
	newTopic := newTopics()[0]
	if want := e2eTopic(t, host.e2eNode, id); newTopic != want {
		t.Fatalf("the accomplice took %s for the new topic; the host is on %s", newTopic, want)
	}
	oldTopics := ear.everOf(removed.n.PeerID())
	if len(oldTopics) == 0 {
		t.Fatal("the accomplice never saw the removed node announce a topic")
	}
	ear.subscribeAll(t)
	transportWaitForBound(t, "the accomplice in the new topic's mesh", e2eWait, &ear.tracer.sig, func() bool {
		return ear.tracer.inMesh(newTopic, host.n.PeerID())
	})

	after := e2eAllPost(t, id, "after the removal", remaining...)
	e2eWaitAll(t, id, after, remaining...)
	captured := ear.waitCaptured(t, newTopic, len(after))

	for _, data := range captured {
		env, err := crypto.ParseEnvelope(data)
		if err != nil {
			t.Errorf("captured payload is not an envelope: %v", err)
			continue
		}
		if env.Epoch <= lastEpoch {
			t.Errorf("an envelope on the new topic is of epoch %d, which the removed member had", env.Epoch)
		}
		for _, k := range e2eSenderKeys(t, removed.e2eNode, id) {
			if _, err := env.OpenSender(&k); !errors.Is(err, crypto.ErrDecrypt) {
				t.Errorf("a post-removal envelope's sender data opened (or failed oddly) with a key the removed member holds: %v", err)
			}
		}
		if err := e2eSessionOpens(t, removed.e2eNode, id, data); err == nil {
			t.Error("the removed member's session opened a post-removal envelope")
		}
	}
	// Nothing posted on the old topics after the removal would help
	// either; whatever the accomplice caught there is from before.
	for _, tp := range oldTopics {
		for _, data := range ear.payloadsOn(tp) {
			env, err := crypto.ParseEnvelope(data)
			if err == nil && env.Epoch > lastEpoch {
				t.Errorf("an envelope of epoch %d was published on a topic the removed member knew", env.Epoch)
			}
		}
	}

	for _, msg := range removed.rec.messages(id) {
		if _, ok := after[msg.ID]; ok {
			t.Errorf("the removed node's app showed %q", msg.Text)
		}
	}
	hist := e2eHistory(t, rg)
	for _, msg := range hist {
		if _, ok := after[msg.ID]; ok {
			t.Errorf("the removed node's history holds %q", msg.Text)
		}
	}
	// What it heard before the removal stays readable on its own node.
	for mid, want := range before {
		found := false
		for _, msg := range hist {
			found = found || msg.ID == mid
		}
		if !found {
			t.Errorf("the removed node's history lost %q from before the removal", want.Text)
		}
	}
}

// TestE2ENewMemberCannotReadThePast has two members talk, with a sniffer
// capturing their envelopes, and then a third join. The newcomer's history
// starts at its join and its app never shows the earlier messages, even
// when a fresh peer hands it the captured envelopes on its own topic; they
// do not open with any key it holds. What is posted after it joined, it
// reads.
func TestE2ENewMemberCannotReadThePast(t *testing.T) {
	host := &e2eMember{e2eNode: newE2ENode(t, "host"), pseudonym: "host"}
	old := &e2eMember{e2eNode: newE2ENode(t, "old"), pseudonym: "oak"}
	e2eConnect(t, old.e2eNode, host.e2eNode)
	id := e2eGroupOf(t, host, old)

	ear := newE2ESniffer(t)
	ear.connect(t, host.e2eNode)
	topic := e2eTopic(t, host.e2eNode, id)
	e2eWaitAnnounced(t, ear, topic, host.e2eNode)
	ear.subscribeAll(t)
	transportWaitForBound(t, "the sniffer in the mesh", e2eWait, &ear.tracer.sig, func() bool {
		return ear.tracer.inMesh(topic, host.n.PeerID())
	})
	past := e2eAllPost(t, id, "before you came", host, old)
	e2eWaitAll(t, id, past, host, old)
	pastEnvelopes := ear.waitCaptured(t, topic, len(past))

	ctx := e2eCtx(t)
	newcomer := &e2eMember{e2eNode: newE2ENode(t, "newcomer"), pseudonym: "new leaf"}
	invite, _, err := host.group(t, id).CreateInvite(ctx, InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newcomer.n.Join(ctx, invite, newcomer.pseudonym); err != nil {
		t.Fatalf("Join: %v", err)
	}
	e2eConnect(t, newcomer.e2eNode, old.e2eNode)
	e2eSettle(t, id, host, old, newcomer)

	// A fresh peer (one that never saw the envelopes, so its gossipsub
	// will send them) hands the past envelopes to the newcomer on the
	// newcomer's own topic.
	current := e2eTopic(t, newcomer.e2eNode, id)
	if current == topic {
		t.Fatal("the group did not move to a new topic when the newcomer joined")
	}
	courier := e2eCourier(t, newcomer, current)
	for _, data := range pastEnvelopes {
		if err := courier.topic(current).Publish(ctx, data); err != nil {
			t.Fatal(err)
		}
	}

	present := e2eAllPost(t, id, "welcome", host, old)
	e2eWaitAll(t, id, present, host, old, newcomer)

	for _, msg := range newcomer.rec.messages(id) {
		if _, ok := past[msg.ID]; ok {
			t.Errorf("the newcomer's app showed %q from before it joined", msg.Text)
		}
	}
	hist := e2eHistory(t, newcomer.group(t, id))
	for _, msg := range hist {
		if _, ok := past[msg.ID]; ok {
			t.Errorf("the newcomer's history holds %q from before it joined", msg.Text)
		}
	}
	if len(hist) != len(present) {
		t.Errorf("the newcomer's history holds %d messages, want the %d posted since it joined", len(hist), len(present))
	}
	for _, data := range pastEnvelopes {
		env, err := crypto.ParseEnvelope(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range e2eSenderKeys(t, newcomer.e2eNode, id) {
			if _, err := env.OpenSender(&k); !errors.Is(err, crypto.ErrDecrypt) {
				t.Errorf("a past envelope's sender data with the newcomer's key: %v, want ErrDecrypt", err)
			}
		}
		if err := e2eSessionOpens(t, newcomer.e2eNode, id, data); err == nil {
			t.Error("the newcomer's session opened an envelope from before it joined")
		}
	}
}

// TestE2EReplayReachesTheAppOnce shows a replayed envelope is shown once,
// at two layers.
//
// Within gossipsub's seen-message window, a second peer that never saw the
// envelope publishes the very same bytes to a member: gossipsub's
// content-hash message ID drops it as a duplicate.
//
// The replay that matters is the one gossipsub cannot catch: the member
// restarts (its seen-message cache is gone with the process), and a fresh
// peer publishes the captured envelope to it again. Gossipsub now sees new
// bytes and runs the node's validator, so only the node's own defence (the
// sender's generation, consumed and persisted before the restart) stands
// between the replay and the app. The restarted node's recorder starts
// empty, so any event for the old message would be the replay.
func TestE2EReplayReachesTheAppOnce(t *testing.T) {
	host := &e2eMember{e2eNode: newE2ENode(t, "host"), pseudonym: "host"}
	member := &e2eMember{e2eNode: newE2ENode(t, "member"), pseudonym: "willow"}
	e2eConnect(t, member.e2eNode, host.e2eNode)
	id := e2eGroupOf(t, host, member)

	ear := newE2ESniffer(t)
	ear.connect(t, host.e2eNode)
	topic := e2eTopic(t, host.e2eNode, id)
	e2eWaitAnnounced(t, ear, topic, host.e2eNode)
	ear.subscribeAll(t)
	transportWaitForBound(t, "the sniffer in the mesh", e2eWait, &ear.tracer.sig, func() bool {
		return ear.tracer.inMesh(topic, host.n.PeerID())
	})
	first := e2eAllPost(t, id, "said once", host)
	e2eWaitAll(t, id, first, host, member)
	captured := ear.waitCaptured(t, topic, 1)
	var firstText string
	for _, m := range first {
		firstText = m.Text
	}

	// Layer one: the same bytes from a second peer, inside the window.
	courier := e2eCourier(t, member, topic)
	if err := courier.topic(topic).Publish(e2eCtx(t), captured[0]); err != nil {
		t.Fatal(err)
	}
	marker := e2eAllPost(t, id, "marker one", host)
	e2eWaitAll(t, id, marker, member)
	if n := member.rec.countText(id, firstText); n != 1 {
		t.Errorf("replayed within the seen window: shown %d times, want 1", n)
	}

	// Layer two: after a restart, from another fresh peer.
	member.restart(t)
	e2eConnect(t, member.e2eNode, host.e2eNode)
	e2eSettle(t, id, host, member)
	late := e2eCourier(t, member, topic)
	if err := late.topic(topic).Publish(e2eCtx(t), captured[0]); err != nil {
		t.Fatal(err)
	}
	// The replay was sent before this marker and on a link of its own; by
	// the time a second marker has made the round trip too, a delivered
	// replay would long have shown.
	for i := 0; i < 2; i++ {
		m := e2eAllPost(t, id, fmt.Sprintf("marker after restart %d", i), host)
		e2eWaitAll(t, id, m, member)
	}
	if n := member.rec.countText(id, firstText); n != 0 {
		t.Errorf("replayed after a restart: shown %d more times", n)
	}
	n := 0
	for _, msg := range e2eHistory(t, member.group(t, id)) {
		if msg.Text == firstText {
			n++
		}
	}
	if n != 1 {
		t.Errorf("history holds the replayed message %d times, want 1", n)
	}
}

// e2eWaitAnnounced waits until every one of nodes has told the sniffer,
// in a SUBSCRIBE message, that it is subscribed to topic.
func e2eWaitAnnounced(t testing.TB, s *e2eSniffer, topic string, nodes ...*e2eNode) {
	t.Helper()
	transportWaitForBound(t, "the topic to be announced", e2eWait, &s.sig, func() bool {
		for _, e := range nodes {
			if !slices.Contains(s.currentOf(e.n.PeerID()), topic) {
				return false
			}
		}
		return true
	})
}

// e2eCourier returns a fresh plain peer connected to m only and in its
// mesh for topic: a peer that has seen nothing, so its gossipsub sends
// whatever it is asked to publish.
func e2eCourier(t testing.TB, m *e2eMember, topic string) *e2eSniffer {
	t.Helper()
	c := newE2ESniffer(t)
	c.connect(t, m.e2eNode)
	e2eWaitAnnounced(t, c, topic, m.e2eNode)
	c.subscribeAll(t)
	transportWaitForBound(t, "the courier in the mesh", e2eWait, &c.tracer.sig, func() bool {
		return c.tracer.inMesh(topic, m.n.PeerID())
	})
	return c
}

// e2eRateGroup makes a group of a host, a member and a spammer in which
// the host and the member accept at most burst posts at once from any one
// member (refilled at one a minute), while the spammer's own node would let
// it send anything: the limit that matters is the one its peers enforce.
func e2eRateGroup(t *testing.T, burst int) (id crypto.GroupID, host, a, spammer *e2eMember) {
	t.Helper()
	strict := func(c *Config) { c.RateLimit = RateLimit{PerMinute: 1, Burst: burst} }
	loose := func(c *Config) { c.RateLimit = RateLimit{PerMinute: 1 << 20, Burst: 1 << 20} }
	host = &e2eMember{e2eNode: newE2ENode(t, "host", strict), pseudonym: "host"}
	a = &e2eMember{e2eNode: newE2ENode(t, "a", strict), pseudonym: "aspen"}
	spammer = &e2eMember{e2eNode: newE2ENode(t, "spammer", loose), pseudonym: "loud"}
	e2eMesh(t, host.e2eNode, a.e2eNode, spammer.e2eNode)
	id = e2eGroupOf(t, host, a, spammer)
	return id, host, a, spammer
}

// e2eSpam posts n messages from m as fast as its node takes them.
func e2eSpam(t *testing.T, m *e2eMember, id crypto.GroupID, n int) {
	t.Helper()
	ctx := e2eCtx(t)
	g := m.group(t, id)
	for i := 0; i < n; i++ {
		if _, err := g.Post(ctx, fmt.Sprintf("spam %d", i), MessageID{}); err != nil {
			t.Fatalf("spam %d: %v", i, err)
		}
	}
}

// TestE2ERateLimitThrottlesOnlyTheSpammer has one member post far more than
// the others' rate limit allows. The others show at most a burst of its
// posts (and at least one), and their own messages keep flowing both ways.
func TestE2ERateLimitThrottlesOnlyTheSpammer(t *testing.T) {
	const burst, spam = 5, 30
	id, host, a, spammer := e2eRateGroup(t, burst)
	// Everyone's chain key has reached everyone once a first post from
	// each has been read.
	hello := e2eAllPost(t, id, "hello", host, a, spammer)
	e2eWaitAll(t, id, hello, host, a, spammer)

	e2eSpam(t, spammer, id, spam)
	for _, m := range []*e2eMember{host, a} {
		m.rec.waitFor(t, m.name+" to receive some spam", func([]Event) bool {
			return e2eCountPrefix(m.rec.messages(id), "spam ") > 0
		})
	}
	honest := e2eAllPost(t, id, "meeting at eight", host, a)
	e2eWaitAll(t, id, honest, host, a)
	// A second round, so spam still in flight has had a round trip to land.
	again := e2eAllPost(t, id, "see you there", host, a)
	e2eWaitAll(t, id, again, host, a)

	for _, m := range []*e2eMember{host, a} {
		// The hello took one token.
		if n := e2eCountPrefix(m.rec.messages(id), "spam "); n > burst {
			t.Errorf("%s showed %d of %d spam messages, want at most the %d tokens left of the burst (+1 for refill)", m.name, n, spam, burst-1)
		}
	}
	// The spammer's own node holds all of its own posts: the limit is
	// enforced by the receivers, not by trusting the sender.
	if n := e2eCountPrefix(e2eHistory(t, spammer.group(t, id)), "spam "); n != spam {
		t.Errorf("the spammer's history holds %d of its %d posts", n, spam)
	}
}

// TestE2ERateLimitCoversHeldEnvelopes has a member's node misbehave in one
// way: it withholds its chain-key announcement for the epoch it joined,
// publishes a flood of posts, and only then the announcement. The host
// cannot open the posts without the chain key and holds them; when the
// announcement arrives it opens the held posts, and the rate limit must
// apply to them as to any other (RateLimit's promise: messages over the
// limit are dropped).
//
// With the node as of this test's writing it fails: held envelopes are
// retried with live=false in receive.go's openLocked, which skips the
// limit check, and the token taken after they open is not required. An
// honest node cannot trip this (its outbox sends the announcement before
// any post), but a modified one gets up to maxHeld posts past its peers'
// limit at once.
func TestE2ERateLimitCoversHeldEnvelopes(t *testing.T) {
	const burst, spam = 5, 30
	host := &e2eMember{e2eNode: newE2ENode(t, "host", func(c *Config) { c.RateLimit = RateLimit{PerMinute: 1, Burst: burst} }), pseudonym: "host"}
	spammer := &e2eMember{e2eNode: newE2ENode(t, "spammer"), pseudonym: "loud"}
	e2eConnect(t, spammer.e2eNode, host.e2eNode)
	ctx := e2eCtx(t)
	g, err := host.n.CreateGroup(ctx, GroupOptions{Name: "Evening", Pseudonym: host.pseudonym})
	if err != nil {
		t.Fatal(err)
	}
	invite, _, err := g.CreateInvite(ctx, InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spammer.n.Join(ctx, invite, spammer.pseudonym); err != nil {
		t.Fatal(err)
	}
	id := g.ID()

	// The spammer's node takes its announcement out of its outbox before
	// the outbox is flushed (that waits for the mesh to settle, seconds
	// away), and seals its flood.
	topic := e2eTopic(t, spammer.e2eNode, id)
	sg := spammer.group(t, id)
	sg.mu.Lock()
	ob := sg.outboxes[topic]
	if ob == nil || ob.announce == nil {
		sg.mu.Unlock()
		t.Skip("the spammer's announcement went out before it could be withheld; the case under test did not arise")
	}
	announce := ob.announce
	delete(sg.outboxes, topic)
	flood := make([][]byte, spam)
	for i := range flood {
		env, _, err := sg.sess.SealPost(fmt.Sprintf("spam %d", i), [16]byte{}, time.Now().UnixMilli(), nil)
		if err != nil {
			sg.mu.Unlock()
			t.Fatal(err)
		}
		flood[i] = env
	}
	err = sg.persistLocked()
	et := sg.topics[topic]
	sg.mu.Unlock()
	if err != nil || et == nil {
		t.Fatalf("spammer: persisting %v, topic joined %v", err, et != nil)
	}

	e2eSettle(t, id, host, spammer)
	for _, env := range flood {
		if err := et.t.publish(ctx, env, ownPublish{}); err != nil {
			t.Fatal(err)
		}
	}
	hg := host.group(t, id)
	e2ePoll(t, "the host to hold the flood until the chain key arrives", func() bool {
		hg.mu.Lock()
		defer hg.mu.Unlock()
		return len(hg.held) >= spam
	})
	if n := e2eCountPrefix(host.rec.messages(id), "spam "); n != 0 {
		t.Fatalf("the host showed %d posts it had no chain key for", n)
	}
	if err := et.t.publish(ctx, announce, ownPublish{}); err != nil {
		t.Fatal(err)
	}
	host.rec.waitFor(t, "the held posts to be opened", func([]Event) bool {
		return e2eCountPrefix(host.rec.messages(id), "spam ") > 0
	})
	// The held posts are opened and shown together, under the group's
	// lock; the host's own post, which needs that lock, comes after.
	mine := e2eAllPost(t, id, "after the flood", host)
	e2eWaitAll(t, id, mine, host)
	if n := e2eCountPrefix(host.rec.messages(id), "spam "); n > burst+1 {
		t.Errorf("the host showed %d of %d posts held for the chain key, want at most the burst of %d (+1 for refill)", n, spam, burst)
	}
}

// e2eCountPrefix counts the messages whose text starts with prefix.
func e2eCountPrefix(msgs []Message, prefix string) int {
	n := 0
	for _, m := range msgs {
		if strings.HasPrefix(m.Text, prefix) {
			n++
		}
	}
	return n
}

// TestE2ERestartMidConversation closes a member in the middle of a
// conversation while the others keep posting, and starts it again from the
// same home: same peer ID, same group, same epoch, its history intact (no
// message lost or doubled), and it rejoins the group's topic, receiving
// and being heard.
func TestE2ERestartMidConversation(t *testing.T) {
	host := &e2eMember{e2eNode: newE2ENode(t, "host"), pseudonym: "host"}
	a := &e2eMember{e2eNode: newE2ENode(t, "a"), pseudonym: "acorn"}
	r := &e2eMember{e2eNode: newE2ENode(t, "restarted"), pseudonym: "phoenix"}
	e2eMesh(t, host.e2eNode, a.e2eNode, r.e2eNode)
	id := e2eGroupOf(t, host, a, r)
	before := e2eAllPost(t, id, "before the restart", host, a, r)
	e2eWaitAll(t, id, before, host, a, r)

	pid := r.n.PeerID()
	infoBefore := r.group(t, id).Info()
	r.stop(t)
	away := e2eAllPost(t, id, "while you were away", host, a)
	e2eWaitAll(t, id, away, host, a)
	r.start(t)

	if r.n.PeerID() != pid {
		t.Errorf("peer ID changed across the restart: %s, was %s", r.n.PeerID(), pid)
	}
	gs := r.n.Groups()
	if len(gs) != 1 || gs[0].ID() != id {
		t.Fatalf("after the restart the node is in %d groups", len(gs))
	}
	infoAfter := r.group(t, id).Info()
	if infoAfter.Epoch != infoBefore.Epoch || infoAfter.Me != infoBefore.Me || infoAfter.Name != infoBefore.Name || infoAfter.Members != infoBefore.Members {
		t.Errorf("group info changed across the restart: %+v, was %+v", infoAfter, infoBefore)
	}
	hist := e2eHistory(t, r.group(t, id))
	count := make(map[MessageID]int)
	for _, m := range hist {
		count[m.ID]++
	}
	for mid, want := range before {
		if count[mid] != 1 {
			t.Errorf("after the restart, history holds %q %d times, want once", want.Text, count[mid])
		}
	}

	e2eConnect(t, r.e2eNode, host.e2eNode)
	e2eConnect(t, r.e2eNode, a.e2eNode)
	e2eSettle(t, id, host, a, r)
	back := e2eAllPost(t, id, "after the restart", host, a, r)
	e2eWaitAll(t, id, back, host, a, r)
	for _, m := range []*e2eMember{host, a, r} {
		for _, want := range back {
			if n := m.rec.countText(id, want.Text); n != 1 {
				t.Errorf("%s showed %q %d times, want once", m.name, want.Text, n)
			}
		}
	}
	// Whatever was posted while it was away may come back through history
	// sync; if it does, it comes once.
	count = make(map[MessageID]int)
	for _, m := range e2eHistory(t, r.group(t, id)) {
		count[m.ID]++
	}
	for mid, want := range away {
		if count[mid] > 1 {
			t.Errorf("%q, posted while the node was away, is in its history %d times", want.Text, count[mid])
		}
	}
}

// TestE2EQuickSuccessiveJoins has four people join with one invite as fast
// as they can, as at the start of a meeting when the host shares the link,
// and checks that all five end up in the same epoch and hear each other.
//
// When it was written it failed every time: the first joiners stayed
// behind in the epochs they joined, because each join's commit went out on
// the previous epoch's topic before the newest joiner had grafted there,
// and gossipsub sends a node's message to its mesh peers only. The node's
// outbox now waits for the mesh, and history sync fetches a commit that was
// missed anyway.
func TestE2EQuickSuccessiveJoins(t *testing.T) {
	names := []string{"ash", "birch", "cedar", "dogwood", "elm"}
	members := make([]*e2eMember, len(names))
	nodes := make([]*e2eNode, len(names))
	for i, name := range names {
		members[i] = &e2eMember{e2eNode: newE2ENode(t, name), pseudonym: name}
		nodes[i] = members[i].e2eNode
	}
	e2eMesh(t, nodes...)
	ctx := e2eCtx(t)
	g, err := members[0].n.CreateGroup(ctx, GroupOptions{Name: "Monday check-in", Pseudonym: members[0].pseudonym})
	if err != nil {
		t.Fatal(err)
	}
	invite, _, err := g.CreateInvite(ctx, InviteOptions{Uses: len(members) - 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range members[1:] {
		if _, err := j.n.Join(e2eCtx(t), invite, j.pseudonym); err != nil {
			t.Fatalf("%s: Join: %v", j.name, err)
		}
	}
	// Settling normally takes a few seconds; four chained epochs on a
	// loaded machine under -race can take longer, so the usual bound.
	var behind string
	caughtUp := e2ePollFor(e2eWait, func() bool {
		behind = ""
		for _, m := range members {
			info := m.group(t, g.ID()).Info()
			if info.Members != len(members) {
				behind += fmt.Sprintf(" %s (epoch %d, %d members)", m.name, info.Epoch, info.Members)
			}
		}
		return behind == ""
	})
	if !caughtUp {
		t.Fatalf("after four quick joins these members never caught up:%s", behind)
	}
	e2eSettle(t, g.ID(), members...)
	posted := e2eAllPost(t, g.ID(), "hello", members...)
	e2eWaitAll(t, g.ID(), posted, members...)
}
