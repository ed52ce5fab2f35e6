package protocol

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hearthnet/hearth/crypto"
)

// Role is what a member may do in a group. Roles are ordered: a host can do
// everything a moderator can, and a moderator everything a member can.
type Role uint8

const (
	// RoleMember reads and posts, and may ask to leave (LeaveRequest).
	RoleMember Role = 1
	// RoleModerator may also add members and remove plain members.
	RoleModerator Role = 2
	// RoleHost may also change roles and add or remove moderators and
	// hosts. A group always has at least one host.
	RoleHost Role = 3
)

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r >= RoleMember && r <= RoleHost }

// IsAdmin reports whether r may sign commits: host or moderator.
func (r Role) IsAdmin() bool { return r == RoleModerator || r == RoleHost }

// String returns "host", "moderator" or "member".
func (r Role) String() string {
	switch r {
	case RoleMember:
		return "member"
	case RoleModerator:
		return "moderator"
	case RoleHost:
		return "host"
	default:
		return fmt.Sprintf("role(%d)", uint8(r))
	}
}

// ErrBadRole is returned (wrapped) for a role name or number that is not
// host, moderator or member.
var ErrBadRole = errors.New("hearth/protocol: not a role")

// ParseRole parses the names String returns. It returns ErrBadRole for
// anything else.
func ParseRole(s string) (Role, error) {
	for _, r := range []Role{RoleMember, RoleModerator, RoleHost} {
		if s == r.String() {
			return r, nil
		}
	}
	return 0, fmt.Errorf("%w: %q (use host, moderator or member)", ErrBadRole, s)
}

// Limits on names, in Unicode characters (runes) after trimming, and the
// byte maximums the wire format enforces (four bytes per rune at most).
const (
	MaxPseudonymChars = 64
	MaxPseudonymBytes = 4 * MaxPseudonymChars
	MaxGroupNameChars = 100
	MaxGroupNameBytes = 4 * MaxGroupNameChars
)

// MaxMembers is the largest roster a group may have. It bounds the size of a
// commit (one sealed epoch secret per member) so that any valid commit fits
// in one envelope.
const MaxMembers = 500

// ErrBadPseudonym is returned (wrapped, with the reason) when a pseudonym
// breaks the rules of ValidatePseudonym.
var ErrBadPseudonym = errors.New("pseudonym not allowed")

// ErrBadGroupName is returned (wrapped, with the reason) when a group name
// breaks the rules of ValidateGroupName.
var ErrBadGroupName = errors.New("group name not allowed")

// ValidatePseudonym checks a pseudonym a person typed and returns it with
// surrounding white space trimmed. A pseudonym must be valid UTF-8, be 1 to
// MaxPseudonymChars characters long after trimming, and contain no control
// characters, line or paragraph separators, or bidirectional formatting
// characters (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069).
//
// Security: bidirectional overrides let a name display as another name
// ("evil\u202Eeman" reads as "evilname" reversed) and control characters can
// rewrite a terminal; refusing them keeps what other members see equal to
// what was typed. Two members may still choose the same or confusable
// pseudonyms: interfaces show the member's key fingerprint when that
// matters. It returns ErrBadPseudonym.
func ValidatePseudonym(s string) (string, error) {
	return validateName(s, MaxPseudonymChars, "pseudonym", ErrBadPseudonym)
}

// ValidateGroupName applies the rules of ValidatePseudonym to a group name,
// with a limit of MaxGroupNameChars characters. It returns ErrBadGroupName.
func ValidateGroupName(s string) (string, error) {
	return validateName(s, MaxGroupNameChars, "group name", ErrBadGroupName)
}

func validateName(s string, maxChars int, what string, sentinel error) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: the %s is not valid UTF-8 text", sentinel, what)
	}
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return "", fmt.Errorf("%w: the %s is empty", sentinel, what)
	}
	if n > maxChars {
		return "", fmt.Errorf("%w: the %s is %d characters long, at most %d are allowed", sentinel, what, n, maxChars)
	}
	for _, r := range s {
		if ForbiddenInName(r) {
			return "", fmt.Errorf("%w: the %s contains the invisible or control character %U", sentinel, what, r)
		}
	}
	return s, nil
}

// ForbiddenInName reports whether r may not appear in a pseudonym or group
// name: control characters, line and paragraph separators, and the
// bidirectional marks, embeddings, overrides and isolates. The same runes
// are unsafe to print on a terminal, so the CLI escapes them in whatever it
// shows of other people's words.
func ForbiddenInName(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r == '\u2028' || r == '\u2029':
		return true
	case r == '\u061C' || r == '\u200E' || r == '\u200F':
		return true
	case r >= '\u202A' && r <= '\u202E':
		return true
	case r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

// Member is one entry of a group's roster.
type Member struct {
	// Index is the member's stable position, given when the member is added
	// and never reused: it is the sender index in the member's envelopes.
	Index uint32
	// ID is derived from Public (Public.ID()); it is not encoded.
	ID crypto.MemberID
	// Public holds the member's per-group signing and HPKE keys.
	Public crypto.MemberPublic
	// Pseudonym is the name the member chose for this group (valid under
	// ValidatePseudonym and already trimmed).
	Pseudonym string
	// Role is host, moderator or member.
	Role Role
	// Joined is the epoch the member was added in.
	Joined uint64
}

// memberMinSize is the smallest encoded Member: index, public keys, an
// empty pseudonym's length, role and joined epoch.
const memberMinSize = 4 + crypto.MemberPublicSize + 2 + 1 + 8

func (m *Member) encode(w *writer) {
	w.u32(m.Index)
	w.fixed(m.Public.Marshal())
	w.string16("pseudonym", m.Pseudonym, MaxPseudonymBytes)
	w.u8(uint8(m.Role))
	w.u64(m.Joined)
}

func decodeMember(r *reader) Member {
	var m Member
	m.Index = r.u32("member index")
	pub := r.take("member public keys", crypto.MemberPublicSize)
	m.Pseudonym = r.string16("pseudonym", MaxPseudonymBytes)
	m.Role = Role(r.u8("role"))
	m.Joined = r.u64("joined epoch")
	if r.err != nil {
		return Member{}
	}
	p, err := crypto.UnmarshalMemberPublic(pub)
	r.check("member public keys", err)
	m.Public = p
	m.ID = p.ID()
	return m
}

// GroupState is a group as its members agree it is at one epoch: the roster
// of that epoch and the settings that go with it. It is the result of
// applying the chain of commits from the group's creation, and it is what a
// welcome gives a joiner.
//
// A GroupState value is never changed in place by this package: ApplyCommit
// returns a new one. Roster is ordered by Index.
type GroupState struct {
	ID   crypto.GroupID
	Name string
	// Epoch is the epoch this state describes; epoch 0 is the group's
	// creation.
	Epoch  uint64
	Roster []Member
	// Retention is how long members keep messages, in seconds; 0 keeps
	// them until the member deletes them.
	Retention uint64
	// LastCommit is the CommitID of the commit that made this epoch, zero
	// for epoch 0. The next commit must name it as its parent.
	LastCommit [32]byte
	// NextIndex is the index the next added member receives. Indexes are
	// never reused, so an old envelope's sender index can never be taken
	// for a newer member's.
	NextIndex uint32
	// Mailbox is the group's mailbox (mailbox.go), nil for none.
	Mailbox *Mailbox
}

// groupStateVersion is the first byte of an encoded GroupState.
const groupStateVersion = 1

// ErrInvalidState is returned (wrapped, with the reason) when a GroupState
// breaks one of the invariants listed at Validate.
var ErrInvalidState = errors.New("hearth/protocol: invalid group state")

// NewGroupState returns epoch 0 of a new group whose only member is its
// creator, a host at index 0. It returns ErrBadGroupName or ErrBadPseudonym
// (wrapped) when the name or pseudonym is not allowed; both are trimmed.
func NewGroupState(id crypto.GroupID, name string, creator crypto.MemberPublic, pseudonym string, retention uint64) (*GroupState, error) {
	name, err := ValidateGroupName(name)
	if err != nil {
		return nil, err
	}
	pseudonym, err = ValidatePseudonym(pseudonym)
	if err != nil {
		return nil, err
	}
	s := &GroupState{
		ID:        id,
		Name:      name,
		Retention: retention,
		Roster: []Member{{
			Index:     0,
			ID:        creator.ID(),
			Public:    creator,
			Pseudonym: pseudonym,
			Role:      RoleHost,
		}},
		NextIndex: 1,
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// MemberByIndex returns the member at the given sender index.
func (s *GroupState) MemberByIndex(index uint32) (Member, bool) {
	i, ok := slices.BinarySearchFunc(s.Roster, index, func(m Member, idx uint32) int {
		switch {
		case m.Index < idx:
			return -1
		case m.Index > idx:
			return 1
		}
		return 0
	})
	if !ok {
		return Member{}, false
	}
	return s.Roster[i], true
}

// MemberByID returns the member with the given ID.
func (s *GroupState) MemberByID(id crypto.MemberID) (Member, bool) {
	for _, m := range s.Roster {
		if m.ID == id {
			return m, true
		}
	}
	return Member{}, false
}

// Hosts returns how many hosts the roster holds.
func (s *GroupState) Hosts() int {
	n := 0
	for _, m := range s.Roster {
		if m.Role == RoleHost {
			n++
		}
	}
	return n
}

// Clone returns a deep copy of s.
func (s *GroupState) Clone() *GroupState {
	c := *s
	c.Roster = slices.Clone(s.Roster)
	c.Mailbox = s.Mailbox.Clone()
	return &c
}

// Validate checks the invariants every GroupState holds, and returns
// ErrInvalidState (wrapped, with the reason) for the first one broken:
//
//   - the name is a valid, trimmed group name;
//   - the roster holds 1 to MaxMembers members, ordered by strictly
//     increasing Index, each below NextIndex;
//   - no member ID appears twice, and each ID matches its public keys;
//   - every pseudonym is valid and trimmed, every role valid, and no member
//     joined after the state's epoch;
//   - at least one member is a host;
//   - LastCommit is zero exactly when Epoch is 0.
func (s *GroupState) Validate() error {
	if n, err := ValidateGroupName(s.Name); err != nil || n != s.Name {
		return fmt.Errorf("%w: group name %q is not valid and trimmed", ErrInvalidState, s.Name)
	}
	if len(s.Roster) == 0 || len(s.Roster) > MaxMembers {
		return fmt.Errorf("%w: roster has %d members, want 1 to %d", ErrInvalidState, len(s.Roster), MaxMembers)
	}
	seen := make(map[crypto.MemberID]bool, len(s.Roster))
	for i, m := range s.Roster {
		if i > 0 && m.Index <= s.Roster[i-1].Index {
			return fmt.Errorf("%w: roster is not ordered by index at position %d", ErrInvalidState, i)
		}
		if m.Index >= s.NextIndex {
			return fmt.Errorf("%w: member index %d is not below the next index %d", ErrInvalidState, m.Index, s.NextIndex)
		}
		if m.ID != m.Public.ID() {
			return fmt.Errorf("%w: member %d's ID does not match its keys", ErrInvalidState, m.Index)
		}
		if seen[m.ID] {
			return fmt.Errorf("%w: member %s appears twice", ErrInvalidState, m.ID)
		}
		seen[m.ID] = true
		if p, err := ValidatePseudonym(m.Pseudonym); err != nil || p != m.Pseudonym {
			return fmt.Errorf("%w: member %d's pseudonym is not valid and trimmed", ErrInvalidState, m.Index)
		}
		if !m.Role.Valid() {
			return fmt.Errorf("%w: member %d has %v", ErrInvalidState, m.Index, m.Role)
		}
		if m.Joined > s.Epoch {
			return fmt.Errorf("%w: member %d joined in epoch %d, after epoch %d", ErrInvalidState, m.Index, m.Joined, s.Epoch)
		}
	}
	if s.Hosts() == 0 {
		return fmt.Errorf("%w: no host", ErrInvalidState)
	}
	if (s.Epoch == 0) != (s.LastCommit == [32]byte{}) {
		return fmt.Errorf("%w: last commit must be zero exactly at epoch 0", ErrInvalidState)
	}
	if s.Mailbox != nil {
		if err := s.Mailbox.check(); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidState, err)
		}
	}
	return nil
}

func (s *GroupState) encode(w *writer) {
	if s.Mailbox != nil {
		w.u8(groupStateMailboxVersion)
	} else {
		w.u8(groupStateVersion)
	}
	w.fixed(s.ID[:])
	w.string16("group name", s.Name, MaxGroupNameBytes)
	w.u64(s.Epoch)
	w.u64(s.Retention)
	w.fixed(s.LastCommit[:])
	w.u32(s.NextIndex)
	w.count16("roster", len(s.Roster), MaxMembers)
	for i := range s.Roster {
		s.Roster[i].encode(w)
	}
	if s.Mailbox != nil {
		s.Mailbox.encode(w)
	}
}

func decodeGroupState(r *reader) *GroupState {
	v := r.u8("group state version")
	if r.err == nil && v != groupStateVersion && v != groupStateMailboxVersion {
		r.failf("group state version", "%d is not supported", v)
	}
	s := new(GroupState)
	r.fixed("group ID", s.ID[:])
	s.Name = r.string16("group name", MaxGroupNameBytes)
	s.Epoch = r.u64("epoch")
	s.Retention = r.u64("retention")
	r.fixed("last commit", s.LastCommit[:])
	s.NextIndex = r.u32("next index")
	n := r.count16("roster", MaxMembers, memberMinSize)
	if r.err != nil {
		return nil
	}
	s.Roster = make([]Member, 0, n)
	for range n {
		s.Roster = append(s.Roster, decodeMember(r))
	}
	if v == groupStateMailboxVersion {
		s.Mailbox = decodeMailbox(r)
	}
	if r.err != nil {
		return nil
	}
	r.check("group state", s.Validate())
	return s
}

// Marshal encodes the state (see docs/PROTOCOL.md, "Group state"). It
// returns ErrInvalidState (wrapped) if s breaks an invariant, so nothing
// that UnmarshalGroupState would refuse is ever produced.
func (s *GroupState) Marshal() ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var w writer
	s.encode(&w)
	return w.finish()
}

// UnmarshalGroupState decodes what Marshal produces, and checks every
// invariant Validate lists. It returns an error wrapping ErrMalformed for
// anything else.
func UnmarshalGroupState(b []byte) (*GroupState, error) {
	r := newReader(b)
	s := decodeGroupState(r)
	if err := r.finish(); err != nil {
		return nil, err
	}
	return s, nil
}
