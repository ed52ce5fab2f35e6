package protocol

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hearthnet/hearth/crypto"
)

// testRand returns a deterministic randomness source for tests.
func testRand(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	s[2] = byte(seed >> 16)
	return rand.NewChaCha8(s)
}

// newCred draws a member credential from r.
func newCred(t testing.TB, r *rand.ChaCha8) *crypto.MemberCredential {
	t.Helper()
	c, err := crypto.NewMemberCredential(r)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestValidatePseudonym(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"Sam", "Sam", true},
		{"  Sam R. ", "Sam R.", true},
		{"佐藤", "佐藤", true},
		{"👩‍👩‍👧 family", "👩‍👩‍👧 family", true}, // zero-width joiners are allowed
		{strings.Repeat("é", 64), strings.Repeat("é", 64), true},
		{strings.Repeat("é", 65), "", false},
		{"", "", false},
		{"   \t ", "", false},
		{"Sam\nRoot", "", false},
		{"Sam\x00", "", false},
		{"Sam\u0085x", "", false}, // C1 control
		{"abc\u202Eevil", "", false},
		{"abc\u2066x\u2069", "", false},
		{"abc\u200Fx", "", false},
		{"line\u2028break", "", false},
		{"bad\xffutf8", "", false},
	} {
		got, err := ValidatePseudonym(tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("ValidatePseudonym(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrBadPseudonym) {
			t.Errorf("ValidatePseudonym(%q) error %v does not wrap ErrBadPseudonym", tc.in, err)
		}
	}
}

func TestValidateGroupName(t *testing.T) {
	if got, err := ValidateGroupName(" Tuesday grief circle "); err != nil || got != "Tuesday grief circle" {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := ValidateGroupName(strings.Repeat("a", 100)); err != nil {
		t.Fatalf("100 characters refused: %v", err)
	}
	for _, bad := range []string{"", strings.Repeat("a", 101), "a\u202Eb", "a\tb"} {
		if _, err := ValidateGroupName(bad); !errors.Is(err, ErrBadGroupName) {
			t.Errorf("ValidateGroupName(%q) = %v, want ErrBadGroupName", bad, err)
		}
	}
}

func TestParseRole(t *testing.T) {
	for _, r := range []Role{RoleMember, RoleModerator, RoleHost} {
		got, err := ParseRole(r.String())
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %v, %v", r.String(), got, err)
		}
	}
	if _, err := ParseRole("admin"); !errors.Is(err, ErrBadRole) {
		t.Errorf("ParseRole(admin) = %v, want ErrBadRole", err)
	}
	if Role(0).Valid() || Role(4).Valid() || !RoleHost.IsAdmin() || !RoleModerator.IsAdmin() || RoleMember.IsAdmin() {
		t.Error("role predicates are wrong")
	}
}

// threeMemberState returns a state at epoch 3 with a host, a moderator and a
// member, and their credentials.
func threeMemberState(t testing.TB) (*GroupState, []*crypto.MemberCredential) {
	t.Helper()
	r := testRand(1)
	creds := []*crypto.MemberCredential{newCred(t, r), newCred(t, r), newCred(t, r)}
	s, err := NewGroupState(crypto.GroupID{1, 2, 3}, "Circle", creds[0].Public(), "Ann", 86400)
	if err != nil {
		t.Fatal(err)
	}
	s.Epoch = 3
	s.LastCommit = [32]byte{9}
	s.Roster = append(s.Roster,
		Member{Index: 1, ID: creds[1].ID(), Public: creds[1].Public(), Pseudonym: "Bo", Role: RoleModerator, Joined: 1},
		Member{Index: 4, ID: creds[2].ID(), Public: creds[2].Public(), Pseudonym: "Cy", Role: RoleMember, Joined: 3},
	)
	s.NextIndex = 5
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s, creds
}

func TestGroupStateRoundTripAndLookups(t *testing.T) {
	s, creds := threeMemberState(t)
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalGroupState(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := got.Marshal()
	if err != nil || string(b2) != string(b) {
		t.Fatalf("re-encoding differs: %v", err)
	}
	if m, ok := got.MemberByIndex(4); !ok || m.ID != creds[2].ID() || m.Pseudonym != "Cy" {
		t.Errorf("MemberByIndex(4) = %+v, %v", m, ok)
	}
	if _, ok := got.MemberByIndex(2); ok {
		t.Error("MemberByIndex found an index nobody holds")
	}
	if m, ok := got.MemberByID(creds[1].ID()); !ok || m.Role != RoleModerator {
		t.Errorf("MemberByID = %+v, %v", m, ok)
	}
	if got.Hosts() != 1 {
		t.Errorf("Hosts() = %d", got.Hosts())
	}
	for n := range len(b) {
		if _, err := UnmarshalGroupState(b[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	if _, err := UnmarshalGroupState(append(b, 0)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("trailing byte accepted: %v", err)
	}
	bad := append([]byte{2}, b[1:]...)
	if _, err := UnmarshalGroupState(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown version accepted: %v", err)
	}
}

func TestGroupStateValidateRejects(t *testing.T) {
	for name, breakIt := range map[string]func(s *GroupState){
		"untrimmed name":     func(s *GroupState) { s.Name = " Circle" },
		"empty roster":       func(s *GroupState) { s.Roster = nil },
		"unordered":          func(s *GroupState) { s.Roster[1], s.Roster[2] = s.Roster[2], s.Roster[1] },
		"index >= next":      func(s *GroupState) { s.NextIndex = 4 },
		"id mismatch":        func(s *GroupState) { s.Roster[1].ID = s.Roster[2].ID },
		"duplicate member":   func(s *GroupState) { s.Roster[2].Public, s.Roster[2].ID = s.Roster[1].Public, s.Roster[1].ID },
		"bad pseudonym":      func(s *GroupState) { s.Roster[1].Pseudonym = "a\u202Eb" },
		"untrimmed pseud":    func(s *GroupState) { s.Roster[1].Pseudonym = "Bo " },
		"bad role":           func(s *GroupState) { s.Roster[1].Role = 7 },
		"joined later":       func(s *GroupState) { s.Roster[2].Joined = 4 },
		"no host":            func(s *GroupState) { s.Roster[0].Role = RoleModerator },
		"zero last commit":   func(s *GroupState) { s.LastCommit = [32]byte{} },
		"epoch 0 and commit": func(s *GroupState) { s.Epoch = 0; s.Roster[1].Joined = 0; s.Roster[2].Joined = 0 },
	} {
		s, _ := threeMemberState(t)
		breakIt(s)
		if err := s.Validate(); !errors.Is(err, ErrInvalidState) {
			t.Errorf("%s: Validate = %v, want ErrInvalidState", name, err)
		}
		if _, err := s.Marshal(); err == nil {
			t.Errorf("%s: Marshal encoded an invalid state", name)
		}
	}
}

func TestNewGroupStateChecksNames(t *testing.T) {
	r := testRand(2)
	c := newCred(t, r)
	if _, err := NewGroupState(crypto.GroupID{}, "", c.Public(), "Ann", 0); !errors.Is(err, ErrBadGroupName) {
		t.Errorf("empty name: %v", err)
	}
	if _, err := NewGroupState(crypto.GroupID{}, "G", c.Public(), "\u202E", 0); !errors.Is(err, ErrBadPseudonym) {
		t.Errorf("bad pseudonym: %v", err)
	}
	s, err := NewGroupState(crypto.GroupID{}, " G ", c.Public(), " Ann ", 0)
	if err != nil || s.Name != "G" || s.Roster[0].Pseudonym != "Ann" || s.Roster[0].Role != RoleHost || s.NextIndex != 1 {
		t.Fatalf("NewGroupState = %+v, %v", s, err)
	}
}
