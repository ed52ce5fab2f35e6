package crypto

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// GroupIDSize is the size of a group ID.
const GroupIDSize = 16

// GroupID names a group for its whole life, across every epoch. It is drawn
// at random when the group is created. It never travels in the clear on the
// network (topics are derived from epoch secrets instead); it is bound into
// every signature and sealed secret so nothing can be moved between groups.
type GroupID [GroupIDSize]byte

// NewGroupID draws a random group ID from r (crypto/rand when r is nil).
func NewGroupID(r io.Reader) (GroupID, error) {
	var id GroupID
	err := readRandom(r, id[:])
	return id, err
}

// String returns the ID as 32 lower-case hex digits.
func (id GroupID) String() string { return hex.EncodeToString(id[:]) }

// ParseGroupID parses the form String returns.
func ParseGroupID(s string) (GroupID, error) {
	var id GroupID
	if err := parseHexID(id[:], s); err != nil {
		return GroupID{}, fmt.Errorf("group ID: %w", err)
	}
	return id, nil
}

// MemberIDSize is the size of a member ID.
const MemberIDSize = 16

// MemberID names a member within one group. It is derived from the member's
// per-group signing key (see MemberPublic.ID), so it is as unlinkable across
// groups as that key is, and a member cannot claim another member's ID.
type MemberID [MemberIDSize]byte

// String returns the ID as 32 lower-case hex digits.
func (id MemberID) String() string { return hex.EncodeToString(id[:]) }

// ParseMemberID parses the form String returns.
func ParseMemberID(s string) (MemberID, error) {
	var id MemberID
	if err := parseHexID(id[:], s); err != nil {
		return MemberID{}, fmt.Errorf("member ID: %w", err)
	}
	return id, nil
}

// ErrBadID is returned (wrapped) when an ID string is not the right number of
// hex digits.
var ErrBadID = errors.New("not a valid ID")

func parseHexID(dst []byte, s string) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("%w: want %d hex digits, got %d characters", ErrBadID, 2*len(dst), len(s))
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return fmt.Errorf("%w: %v", ErrBadID, err)
	}
	return nil
}
