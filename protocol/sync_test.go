package protocol

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/hearthnet/hearth/crypto"
)

// syncFixture is a two-member roster, an epoch's sync key, and an
// exchange by its second member: hello, challenge and signed proof, drawn
// from a seeded stream.
type syncFixture struct {
	roster    []Member
	cred      *crypto.MemberCredential
	key       [crypto.KeySize]byte
	req       *SyncRequest
	hello     *SyncHello
	challenge *SyncChallenge
	requester []byte
	responder []byte
	proof     *SyncProof
}

func newSyncFixture(t testing.TB) *syncFixture {
	t.Helper()
	r := testRand(0x5c)
	a, err := crypto.NewMemberCredential(r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := crypto.NewMemberCredential(r)
	if err != nil {
		t.Fatal(err)
	}
	var group crypto.GroupID
	r.Read(group[:])
	f := &syncFixture{
		roster: []Member{
			{Index: 0, ID: a.ID(), Public: a.Public(), Pseudonym: "ann", Role: RoleHost},
			{Index: 3, ID: b.ID(), Public: b.Public(), Pseudonym: "bo", Role: RoleMember, Joined: 2},
		},
		cred:      b,
		req:       &SyncRequest{Group: group, Epoch: 7, Index: 3},
		requester: []byte("requester-peer-id"),
		responder: []byte("responder-peer-id"),
	}
	r.Read(f.key[:])
	var nonce, challenge [SyncChallengeSize]byte
	r.Read(nonce[:])
	r.Read(challenge[:])
	if f.hello, err = NewSyncHello(&f.key, nonce, f.responder); err != nil {
		t.Fatal(err)
	}
	if f.challenge, err = NewSyncChallenge(&f.key, f.hello, challenge, f.requester); err != nil {
		t.Fatal(err)
	}
	sig, err := SignSyncProof(b, f.challenge.Nonce, f.responder, f.req)
	if err != nil {
		t.Fatal(err)
	}
	f.proof = &SyncProof{Index: 3, From: 5, Signature: sig, Vector: []VectorEntry{
		{Epoch: 6, Sender: 0, Runs: []GenerationRun{{0, 4}, {9, 12}}},
		{Epoch: 7, Sender: 0, Runs: []GenerationRun{{0, 0}}},
		{Epoch: 7, Sender: 3, Runs: []GenerationRun{{0, 2}, {crypto.ControlGeneration, crypto.ControlGeneration}}},
	}}
	return f
}

func TestSyncProofAcceptsOnlyTheMemberItNames(t *testing.T) {
	f := newSyncFixture(t)
	m, err := CheckSyncProof(f.roster, f.challenge.Nonce, f.responder, f.req, f.proof.Signature)
	if err != nil || m.ID != f.cred.ID() {
		t.Fatalf("member's proof refused: %v", err)
	}
	// A member removed before the epoch: not in its roster.
	if _, err := CheckSyncProof(f.roster[:1], f.challenge.Nonce, f.responder, f.req, f.proof.Signature); !errors.Is(err, ErrNotSyncMember) {
		t.Fatalf("removed member: got %v", err)
	}
	// Another member's index with this member's signature.
	other := *f.req
	other.Index = 0
	if _, err := CheckSyncProof(f.roster, f.challenge.Nonce, f.responder, &other, f.proof.Signature); !errors.Is(err, ErrNotSyncMember) {
		t.Fatalf("impersonation: got %v", err)
	}
	// The same proof replayed to another responder, for another
	// challenge, or for another epoch.
	if _, err := CheckSyncProof(f.roster, f.challenge.Nonce, []byte("someone else"), f.req, f.proof.Signature); !errors.Is(err, ErrNotSyncMember) {
		t.Fatalf("replay to another responder: got %v", err)
	}
	ch := f.challenge.Nonce
	ch[0] ^= 1
	if _, err := CheckSyncProof(f.roster, ch, f.responder, f.req, f.proof.Signature); !errors.Is(err, ErrNotSyncMember) {
		t.Fatalf("replay on another challenge: got %v", err)
	}
	later := *f.req
	later.Epoch++
	if _, err := CheckSyncProof(f.roster, f.challenge.Nonce, f.responder, &later, f.proof.Signature); !errors.Is(err, ErrNotSyncMember) {
		t.Fatalf("proof moved to another epoch: got %v", err)
	}
	// A signature for another purpose by the same key.
	msg, _ := SyncProofMessage(f.challenge.Nonce, f.responder, f.req)
	if _, err := CheckSyncProof(f.roster, f.challenge.Nonce, f.responder, f.req, f.cred.Sign("commit", msg)); !errors.Is(err, ErrNotSyncMember) {
		t.Fatalf("signature of another purpose: got %v", err)
	}
}

func TestSyncMessagesRoundTrip(t *testing.T) {
	f := newSyncFixture(t)
	h, err := UnmarshalSyncHello(f.hello.Marshal())
	if err != nil || *h != *f.hello {
		t.Fatalf("hello: %v %+v", err, h)
	}
	c, err := UnmarshalSyncChallenge(f.challenge.Marshal())
	if err != nil || *c != *f.challenge {
		t.Fatalf("challenge: %v", err)
	}
	pb, err := f.proof.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p, err := UnmarshalSyncProof(pb)
	if err != nil || !reflect.DeepEqual(p, f.proof) {
		t.Fatalf("proof: %v\n%+v\n%+v", err, p, f.proof)
	}
	page := &SyncPage{Last: true, More: true, Envelopes: [][]byte{{1, 2, 3}, bytes.Repeat([]byte{9}, 300)}}
	gb, err := page.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	g, err := UnmarshalSyncPage(gb)
	if err != nil || !reflect.DeepEqual(g, page) {
		t.Fatalf("page: %v", err)
	}
}

func TestSyncDecodersAreStrict(t *testing.T) {
	f := newSyncFixture(t)
	pb, _ := f.proof.Marshal()
	page, _ := (&SyncPage{Envelopes: [][]byte{{1}}}).Marshal()
	cases := map[string]func([]byte) error{
		"hello":     func(b []byte) error { _, err := UnmarshalSyncHello(b); return err },
		"challenge": func(b []byte) error { _, err := UnmarshalSyncChallenge(b); return err },
		"proof":     func(b []byte) error { _, err := UnmarshalSyncProof(b); return err },
		"page":      func(b []byte) error { _, err := UnmarshalSyncPage(b); return err },
	}
	good := map[string][]byte{"hello": f.hello.Marshal(), "challenge": f.challenge.Marshal(), "proof": pb, "page": page}
	for name, dec := range cases {
		b := good[name]
		if err := dec(b); err != nil {
			t.Fatalf("%s: good input refused: %v", name, err)
		}
		for _, bad := range [][]byte{nil, b[:len(b)-1], append(bytes.Clone(b), 0), append([]byte{b[0], 1}, b[2:]...), append([]byte{b[0], 3}, b[2:]...), append([]byte{99}, b[1:]...)} {
			if err := dec(bad); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s: %x accepted (%v)", name, bad, err)
			}
		}
	}
	// Out-of-order vector entries and overlapping runs.
	bad := *f.proof
	bad.Vector = []VectorEntry{f.proof.Vector[1], f.proof.Vector[0]}
	if _, err := bad.Marshal(); err == nil {
		t.Fatal("unordered vector encoded")
	}
	raw := bytes.Clone(pb)
	// The first entry's second run starts at 9; make it start at 3, inside
	// the first run (0..4).
	i := 2 + 4 + 8 + 64 + 2 + 8 + 4 + 2 + 8
	raw[i+3] = 3
	if _, err := UnmarshalSyncProof(raw); !errors.Is(err, ErrMalformed) {
		t.Fatalf("overlapping runs accepted: %v", err)
	}
	// A huge claimed envelope count or length in a page.
	if _, err := UnmarshalSyncPage([]byte{SyncTypePage, syncVersion, 1, 0xFF, 0xFF}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("huge count accepted: %v", err)
	}
	if _, err := UnmarshalSyncPage([]byte{SyncTypePage, syncVersion, 1, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 1}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("huge length accepted: %v", err)
	}
	if _, err := UnmarshalSyncPage([]byte{SyncTypePage, syncVersion, 2, 0, 0}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("more without last accepted: %v", err)
	}
	if _, err := (&SyncPage{Envelopes: [][]byte{make([]byte, MaxSyncPageBytes), {1}}}).Marshal(); err == nil {
		t.Fatal("page over its byte bound encoded")
	}
}

func TestSyncDiffListsWhatTheRequesterLacks(t *testing.T) {
	have := []VectorEntry{
		{Epoch: 1, Sender: 0, Runs: []GenerationRun{{0, 9}}},
		{Epoch: 1, Sender: 2, Runs: []GenerationRun{{0, 3}}},
		{Epoch: 2, Sender: 0, Runs: []GenerationRun{{0, 5}, {crypto.ControlGeneration, crypto.ControlGeneration}}},
	}
	theirs := []VectorEntry{
		{Epoch: 0, Sender: 5, Runs: []GenerationRun{{0, 100}}},
		{Epoch: 1, Sender: 0, Runs: []GenerationRun{{2, 3}, {6, 6}}},
		{Epoch: 2, Sender: 0, Runs: []GenerationRun{{0, 5}, {crypto.ControlGeneration, crypto.ControlGeneration}}},
	}
	want := []SyncWant{
		{1, 0, 0, 1}, {1, 0, 4, 5}, {1, 0, 7, 9},
		{1, 2, 0, 3},
	}
	if got := SyncDiff(have, theirs); !reflect.DeepEqual(got, want) {
		t.Fatalf("diff:\n got %v\nwant %v", got, want)
	}
	if got := SyncDiff(have, nil); len(got) != 4 || got[3] != (SyncWant{2, 0, crypto.ControlGeneration, crypto.ControlGeneration}) {
		t.Fatalf("diff against nothing: %v", got)
	}
	if got := SyncDiff(have, have); len(got) != 0 {
		t.Fatalf("diff against itself: %v", got)
	}
}

// TestSyncVectors checks the encodings of the fixture's messages byte for
// byte against testdata/sync.json (HEARTH_UPDATE_VECTORS=1 rewrites it).
func TestSyncVectors(t *testing.T) {
	f := newSyncFixture(t)
	pb, err := f.proof.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	msg, err := SyncProofMessage(f.challenge.Nonce, f.responder, f.req)
	if err != nil {
		t.Fatal(err)
	}
	helloMsg, err := SyncHelloMessage(f.hello.Nonce, f.responder)
	if err != nil {
		t.Fatal(err)
	}
	answerMsg, err := SyncAnswerMessage(f.hello.Nonce, f.challenge.Nonce, f.requester)
	if err != nil {
		t.Fatal(err)
	}
	page, err := (&SyncPage{Last: true, Envelopes: [][]byte{[]byte("envelope one"), []byte("two")}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{
		"member public":  hex.EncodeToString(f.cred.Public().Marshal()),
		"sync key":       hex.EncodeToString(f.key[:]),
		"hello message":  hex.EncodeToString(helloMsg),
		"hello":          hex.EncodeToString(f.hello.Marshal()),
		"answer message": hex.EncodeToString(answerMsg),
		"challenge":      hex.EncodeToString(f.challenge.Marshal()),
		"signed message": hex.EncodeToString(msg),
		"proof":          hex.EncodeToString(pb),
		"page":           hex.EncodeToString(page),
	}
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", "sync.json")
	if os.Getenv("HEARTH_UPDATE_VECTORS") == "1" {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("sync encodings differ from %s:\n%s", path, b)
	}
	// The stored proof still verifies: a second implementation can check
	// its verifier against it.
	var stored map[string]string
	if err := json.Unmarshal(want, &stored); err != nil {
		t.Fatal(err)
	}
	raw, _ := hex.DecodeString(stored["proof"])
	p, err := UnmarshalSyncProof(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CheckSyncProof(f.roster, f.challenge.Nonce, f.responder, f.req, p.Signature); err != nil {
		t.Fatalf("stored proof does not verify: %v", err)
	}
	// And the stored hello and challenge carry tags that verify.
	hb, _ := hex.DecodeString(stored["hello"])
	cb, _ := hex.DecodeString(stored["challenge"])
	h, err := UnmarshalSyncHello(hb)
	if err != nil || !h.Matches(&f.key, f.responder) {
		t.Fatalf("stored hello does not verify: %v", err)
	}
	c, err := UnmarshalSyncChallenge(cb)
	if err != nil || !c.Answers(&f.key, h, f.requester) {
		t.Fatalf("stored challenge does not verify: %v", err)
	}
}

func FuzzSyncProof(f *testing.F) {
	fx := newSyncFixture(f)
	pb, _ := fx.proof.Marshal()
	f.Add(pb)
	f.Add(fx.hello.Marshal())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := UnmarshalSyncProof(b)
		if err != nil {
			return
		}
		out, err := p.Marshal()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("round trip: %v\n in %x\nout %x", err, b, out)
		}
		SyncDiff(p.Vector, p.Vector[:len(p.Vector)/2])
	})
}

func FuzzSyncPage(f *testing.F) {
	page, _ := (&SyncPage{Last: true, Envelopes: [][]byte{[]byte("envelope"), {1}}}).Marshal()
	f.Add(page)
	f.Add([]byte{SyncTypePage, syncVersion, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := UnmarshalSyncPage(b)
		if err != nil {
			return
		}
		out, err := p.Marshal()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("round trip: %v\n in %x\nout %x", err, b, out)
		}
	})
}

func FuzzSyncHello(f *testing.F) {
	fx := newSyncFixture(f)
	f.Add(fx.hello.Marshal())
	f.Add(fx.challenge.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, err := UnmarshalSyncHello(b); err == nil && !bytes.Equal(h.Marshal(), b) {
			t.Fatalf("hello round trip differs: %x", b)
		}
		if c, err := UnmarshalSyncChallenge(b); err == nil && !bytes.Equal(c.Marshal(), b) {
			t.Fatalf("challenge round trip differs: %x", b)
		}
	})
}

// syncAsk has requester ask responder for history over a fresh challenge
// and returns the epochs responder would send.
func syncAsk(t *testing.T, requester, responder *Session) (uint64, uint64, error) {
	t.Helper()
	h := requester.SyncRequest()
	var ch [SyncChallengeSize]byte
	ch[0] = 42
	peerID := []byte("responder")
	sig, err := requester.SignSyncProof(ch, peerID, &h)
	if err != nil {
		t.Fatal(err)
	}
	return responder.CheckSyncRequest(ch, peerID, &h, sig)
}

func TestCheckSyncRequestEntitlesOnlyEpochsOfMembership(t *testing.T) {
	m := fiveMembers(t, 7) // epochs 0..4; Bo joined at 1, Eve at 4
	ann, bo, eve := m.nodes["Ann"].s, m.nodes["Bo"].s, m.nodes["Eve"].s
	first, last, err := syncAsk(t, eve, ann)
	if err != nil || first != 4 || last != 4 {
		t.Fatalf("Eve: epochs %d..%d, %v; want 4..4", first, last, err)
	}
	// Eve stops hearing the group; Bo is removed, then a re-key.
	eveBehind := sessionCopy(t, eve)
	m.commit("Ann", Remove{Member: bo.Me().ID}) // epoch 5
	m.commit("Ann", SetRole{Member: m.nodes["Cy"].s.Me().ID, Role: RoleModerator})
	// Eve, two epochs behind (beyond what Ann holds), still proves
	// membership: she is in the current roster and joined before.
	first, last, err = syncAsk(t, eveBehind, ann)
	if err != nil || first != 4 || last != 6 {
		t.Fatalf("Eve behind: epochs %d..%d, %v; want 4..6", first, last, err)
	}
	// Bo, removed at epoch 5, asking about epoch 4 (which Ann no longer
	// holds): nothing.
	if _, _, err := syncAsk(t, bo, ann); !errors.Is(err, ErrNotSyncMember) {
		t.Fatalf("removed Bo: %v", err)
	}
	// A stranger with a valid-looking index gets nothing either.
	stranger, _ := NewGroup("other", "Zed", 0, m.r)
	if _, _, err := syncAsk(t, stranger, ann); !errors.Is(err, ErrNotSyncMember) {
		t.Fatalf("stranger: %v", err)
	}
}

func TestCheckSyncRequestServesARemovedMemberUpToItsRemoval(t *testing.T) {
	m := fiveMembers(t, 8)
	ann, di := m.nodes["Ann"].s, m.nodes["Di"].s
	diBehind := sessionCopy(t, di)
	m.commit("Ann", Remove{Member: di.Me().ID}) // epoch 5; Ann holds 4 in grace
	first, last, err := syncAsk(t, diBehind, ann)
	if err != nil || first != 3 || last != 4 {
		t.Fatalf("removed Di within grace: epochs %d..%d, %v; want 3..4", first, last, err)
	}
}

// sessionCopy returns an independent copy of s, as a member who stopped
// receiving at this point would hold it.
func sessionCopy(t *testing.T, s *Session) *Session {
	t.Helper()
	b, err := s.Export()
	if err != nil {
		t.Fatal(err)
	}
	c, err := ImportSession(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestIsCommitTellsCommitsFromOtherEnvelopes checks the test a sync feed
// uses to apply an epoch's commit after the epoch's other envelopes: it
// picks out commits (of the current and the grace epoch), and nothing else:
// not announcements, posts, envelopes of epochs whose keys the session
// lacks, or garbage. It changes nothing: the commit still opens after.
func TestIsCommitTellsCommitsFromOtherEnvelopes(t *testing.T) {
	m := fiveMembers(t, 0x15)
	post, _, err := m.nodes["Eve"].s.SealPost("before the removal", [16]byte{}, m.now, m.r)
	if err != nil {
		t.Fatal(err)
	}
	// Bo commits the removal of Cy; Di has not seen it yet.
	m.now += 1000
	res, err := m.nodes["Bo"].s.Commit([]Change{Remove{Member: m.nodes["Cy"].s.Me().ID}}, m.now, m.r)
	if err != nil {
		t.Fatal(err)
	}
	di := m.nodes["Di"].s
	if !di.IsCommit(res.Envelope) {
		t.Error("a commit of the current epoch is not recognised")
	}
	if di.IsCommit(post) {
		t.Error("a post is taken for a commit")
	}
	if di.IsCommit(res.NewEpoch.Announcement) {
		t.Error("an announcement of an epoch the session has not reached is taken for a commit")
	}
	if di.IsCommit(nil) || di.IsCommit([]byte("garbage")) {
		t.Error("garbage is taken for a commit")
	}
	if _, err := di.Open(res.Envelope, m.now, m.r); err != nil {
		t.Fatalf("the commit no longer opens after IsCommit: %v", err)
	}
	// In the grace epoch, after the commit: still a commit; the new
	// epoch's announcement is not.
	if !di.IsCommit(res.Envelope) {
		t.Error("a commit of the grace epoch is not recognised")
	}
	if di.IsCommit(res.NewEpoch.Announcement) {
		t.Error("an announcement is taken for a commit")
	}
	// Eve's post still opens: the test consumed nothing.
	if _, err := di.Open(post, m.now, m.r); err != nil {
		t.Fatalf("Eve's post no longer opens: %v", err)
	}
}

// TestSyncHandshakeTagsBindKeyAndPeers checks that a hello matches only
// under its key and for its responder, that a challenge answers only under
// the same key, that hello and requester, and that two hellos under one key
// share nothing an outsider could link.
func TestSyncHandshakeTagsBindKeyAndPeers(t *testing.T) {
	f := newSyncFixture(t)
	if !f.hello.Matches(&f.key, f.responder) {
		t.Fatal("a hello does not match under its own key")
	}
	other := f.key
	other[0] ^= 1
	if f.hello.Matches(&other, f.responder) {
		t.Error("a hello matches under another key")
	}
	if f.hello.Matches(&f.key, []byte("someone else")) {
		t.Error("a hello matches for another responder")
	}
	if !f.challenge.Answers(&f.key, f.hello, f.requester) {
		t.Fatal("a challenge does not answer its hello")
	}
	if f.challenge.Answers(&other, f.hello, f.requester) {
		t.Error("a challenge answers under another key")
	}
	if f.challenge.Answers(&f.key, f.hello, []byte("someone else")) {
		t.Error("a challenge answers another requester")
	}
	again := *f.hello
	again.Nonce[0] ^= 1
	if f.challenge.Answers(&f.key, &again, f.requester) {
		t.Error("a challenge answers another hello")
	}
	var nonce [SyncChallengeSize]byte
	nonce[0] = 1
	h2, err := NewSyncHello(&f.key, nonce, f.responder)
	if err != nil {
		t.Fatal(err)
	}
	if h2.Tag == f.hello.Tag {
		t.Error("two hellos under one key share their tag")
	}
	if _, err := NewSyncHello(&f.key, nonce, make([]byte, maxSyncPeerID+1)); err == nil {
		t.Error("a hello for an oversized peer ID was made")
	}
}
