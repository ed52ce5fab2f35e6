package protocol

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/hearthnet/hearth/crypto"
)

type joinFixture struct {
	host      *Session
	inv       *crypto.Invite
	state     *InviteState
	challenge [32]byte
	peer      []byte
	cred      *crypto.MemberCredential
	now       time.Time
}

func newJoinFixture(t *testing.T, seed uint64) *joinFixture {
	r := testRand(seed)
	host, err := NewGroup("Circle", "Ann", 0, r)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	peer := []byte("admin-peer-id")
	inv, err := crypto.NewInvite(host.GroupState().ID, now.Add(time.Hour).Unix(), 2, peer, nil, r)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := crypto.NewJoinChallenge(r)
	if err != nil {
		t.Fatal(err)
	}
	return &joinFixture{host: host, inv: inv, state: NewInviteState(inv, false), challenge: ch,
		peer: peer, cred: newCred(t, r), now: now}
}

func (f *joinFixture) request(t *testing.T, pseudonym string) *JoinRequest {
	req, err := NewJoinRequest(f.inv, f.challenge, f.peer, f.cred, pseudonym)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func (f *joinFixture) transcript(req *JoinRequest) *crypto.JoinTranscript {
	return req.Transcript(f.host.GroupState().ID, f.challenge, f.peer)
}

func TestJoinExchange(t *testing.T) {
	f := newJoinFixture(t, 1)
	// 1. Challenge.
	chb := (&JoinChallenge{Challenge: f.challenge}).Marshal()
	ch, err := UnmarshalJoinChallenge(chb)
	if err != nil || ch.Challenge != f.challenge {
		t.Fatalf("challenge: %v", err)
	}
	// 2. Request.
	req, err := NewJoinRequest(f.inv, ch.Challenge, f.peer, f.cred, "  Gus ")
	if err != nil {
		t.Fatal(err)
	}
	rb, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalJoinRequest(rb)
	if err != nil || got.Pseudonym != "Gus" {
		t.Fatalf("request: %+v, %v", got, err)
	}
	if err := CheckJoin(f.state, got, f.transcript(got), f.now); err != nil {
		t.Fatalf("CheckJoin: %v", err)
	}
	f.state.Use()
	// 3. The admin adds the joiner and answers with a welcome.
	res, err := f.host.Commit([]Change{Add{Public: got.Public, Pseudonym: got.Pseudonym, Role: RoleMember}}, f.now.UnixMilli(), nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := f.host.Welcome(res.Commit, got.Public.ID())
	if err != nil {
		t.Fatal(err)
	}
	respB, err := (&JoinResponse{Status: JoinJoined, Welcome: w}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := UnmarshalJoinResponse(respB)
	if err != nil || resp.Err() != nil {
		t.Fatalf("response: %v", err)
	}
	s, change, err := JoinFromWelcome(resp.Welcome, f.cred, f.now.UnixMilli(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if change.Topic != f.host.Topic() || s.Me().Pseudonym != "Gus" {
		t.Fatal("the joiner is not in the host's epoch")
	}
	// The joiner and the host can now talk.
	if _, err := f.host.Open(change.Announcement, f.now.UnixMilli(), nil); err != nil {
		t.Fatal(err)
	}
	env, _, err := s.SealPost("hello, I'm new", [16]byte{}, f.now.UnixMilli(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := f.host.Open(env, f.now.UnixMilli(), nil); err != nil || rec.Pseudonym != "Gus" {
		t.Fatalf("host reads the joiner: %v", err)
	}
}

func TestCheckJoinRefusals(t *testing.T) {
	for name, tc := range map[string]struct {
		tamper func(f *joinFixture, req *JoinRequest, tr *crypto.JoinTranscript) (*InviteState, time.Time)
		want   error
	}{
		"no record": {func(f *joinFixture, _ *JoinRequest, _ *crypto.JoinTranscript) (*InviteState, time.Time) {
			return nil, f.now
		}, ErrInviteUnknown},
		"other invite": {func(f *joinFixture, req *JoinRequest, tr *crypto.JoinTranscript) (*InviteState, time.Time) {
			req.Invite[0] ^= 1
			tr.Invite = req.Invite
			return f.state, f.now
		}, ErrInviteUnknown},
		"other challenge": {func(f *joinFixture, _ *JoinRequest, tr *crypto.JoinTranscript) (*InviteState, time.Time) {
			tr.Challenge[0] ^= 1
			return f.state, f.now
		}, ErrBadJoinProof},
		"other admin": {func(f *joinFixture, _ *JoinRequest, tr *crypto.JoinTranscript) (*InviteState, time.Time) {
			tr.AdminPeerID = []byte("another admin")
			return f.state, f.now
		}, ErrBadJoinProof},
		"bad proof": {func(f *joinFixture, req *JoinRequest, _ *crypto.JoinTranscript) (*InviteState, time.Time) {
			req.Proof[5] ^= 1
			return f.state, f.now
		}, ErrBadJoinProof},
		"bad proof on an expired invite": {func(f *joinFixture, req *JoinRequest, _ *crypto.JoinTranscript) (*InviteState, time.Time) {
			req.Proof[5] ^= 1
			return f.state, f.now.Add(2 * time.Hour)
		}, ErrBadJoinProof},
		"transcript of other keys": {func(f *joinFixture, _ *JoinRequest, tr *crypto.JoinTranscript) (*InviteState, time.Time) {
			tr.Joiner = newCred(t, testRand(99)).Public()
			return f.state, f.now
		}, ErrBadJoinProof},
		"signature by another key": {func(f *joinFixture, req *JoinRequest, tr *crypto.JoinTranscript) (*InviteState, time.Time) {
			req.Signature = newCred(t, testRand(98)).Sign(joinRequestPurpose, tr.Bytes())
			return f.state, f.now
		}, ErrBadJoinProof},
		"revoked": {func(f *joinFixture, _ *JoinRequest, _ *crypto.JoinTranscript) (*InviteState, time.Time) {
			f.state.Revoked = true
			return f.state, f.now
		}, ErrInviteRevoked},
		"expired at the second": {func(f *joinFixture, _ *JoinRequest, _ *crypto.JoinTranscript) (*InviteState, time.Time) {
			return f.state, time.Unix(f.state.Expires, 0)
		}, ErrInviteExpired},
		"used up": {func(f *joinFixture, _ *JoinRequest, _ *crypto.JoinTranscript) (*InviteState, time.Time) {
			f.state.Use()
			f.state.Use()
			f.state.Use()
			return f.state, f.now
		}, ErrInviteUsedUp},
	} {
		t.Run(name, func(t *testing.T) {
			f := newJoinFixture(t, 2)
			req := f.request(t, "Gus")
			tr := f.transcript(req)
			inv, now := tc.tamper(f, req, tr)
			err := CheckJoin(inv, req, tr, now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("CheckJoin = %v, want %v", err, tc.want)
			}
			resp := &JoinResponse{Status: JoinRefused, Code: JoinCodeFor(err)}
			b, mErr := resp.Marshal()
			if mErr != nil {
				t.Fatal(mErr)
			}
			// An unknown invite and a bad proof look the same on the
			// wire, so invite IDs cannot be probed.
			seen := tc.want
			if seen == ErrBadJoinProof {
				seen = ErrInviteUnknown
			}
			unknown, _ := (&JoinResponse{Status: JoinRefused, Code: JoinCodeFor(ErrInviteUnknown)}).Marshal()
			if (seen == ErrInviteUnknown) != bytes.Equal(b, unknown) {
				t.Fatalf("response bytes %x; an unknown invite's are %x", b, unknown)
			}
			back, mErr := UnmarshalJoinResponse(b)
			if mErr != nil || !errors.Is(back.Err(), seen) {
				t.Fatalf("the joiner sees %v, want %v", back.Err(), seen)
			}
		})
	}
	f := newJoinFixture(t, 3)
	if err := CheckJoin(f.state, f.request(t, "Gus"), f.transcript(f.request(t, "Gus")), time.Unix(f.state.Expires-1, 0)); err != nil {
		t.Fatalf("the last second before expiry: %v", err)
	}
}

func TestJoinMessagesStrict(t *testing.T) {
	f := newJoinFixture(t, 4)
	req := f.request(t, "Gus")
	rb, _ := req.Marshal()
	st := f.state.Marshal()
	st2, err := UnmarshalInviteState(st)
	if err != nil || *st2 != *f.state {
		t.Fatalf("invite state round trip: %v", err)
	}
	for name, b := range map[string][]byte{
		"request":   rb,
		"state":     st,
		"challenge": (&JoinChallenge{}).Marshal(),
	} {
		for n := range len(b) {
			var err error
			switch name {
			case "request":
				_, err = UnmarshalJoinRequest(b[:n])
			case "state":
				_, err = UnmarshalInviteState(b[:n])
			case "challenge":
				_, err = UnmarshalJoinChallenge(b[:n])
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s truncated to %d: %v", name, n, err)
			}
		}
	}
	// A request whose pseudonym is not trimmed is refused on decoding.
	bad := bytes.Clone(rb)
	off := 1 + crypto.InviteIDSize + crypto.MemberPublicSize + 2
	bad[off] = ' '
	if _, err := UnmarshalJoinRequest(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("untrimmed pseudonym: %v", err)
	}
	for _, resp := range [][]byte{
		{1, byte(JoinJoined), 0},                   // joined without a welcome
		{1, byte(JoinWaiting), byte(CodeFailed)},   // waiting with a code
		{1, byte(JoinRefused), byte(CodeNone)},     // refused without a code
		{1, 9, 0},                                  // unknown status
		{2, byte(JoinDenied), 0},                   // unknown version
		{1, byte(JoinDenied), 0, 0},                // trailing byte
		{1, byte(JoinJoined), 0, 0, 0, 0, 1, 0x01}, // welcome that does not decode
	} {
		if _, err := UnmarshalJoinResponse(resp); !errors.Is(err, ErrMalformed) {
			t.Errorf("response %x: %v, want ErrMalformed", resp, err)
		}
	}
	for _, status := range []JoinStatus{JoinWaiting, JoinDenied} {
		b, err := (&JoinResponse{Status: status}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := UnmarshalJoinResponse(b)
		if err != nil || back.Err() == nil {
			t.Fatalf("status %d: %v", status, err)
		}
	}
	if back, err := UnmarshalJoinResponse([]byte{1, byte(JoinRefused), 200}); err != nil || !errors.Is(back.Err(), ErrJoinFailed) {
		t.Fatalf("unknown refusal code: %v", err)
	}
	if _, err := NewJoinRequest(f.inv, f.challenge, f.peer, f.cred, "a\u202Eb"); !errors.Is(err, ErrBadPseudonym) {
		t.Fatalf("bad pseudonym: %v", err)
	}
	if JoinCodeFor(errors.New("disk full")) != CodeFailed || JoinCodeFor(ErrInviteUsedUp) != CodeInviteUsedUp {
		t.Fatal("JoinCodeFor maps wrongly")
	}
}
