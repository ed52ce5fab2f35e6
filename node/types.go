package node

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
)

// MessageID names a post: the random ID its author drew (protocol.Post.ID).
// Replies name the post they answer by it, and History pages by it.
type MessageID [16]byte

// String returns the ID as 32 lower-case hex digits.
func (id MessageID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is the zero ID (no message).
func (id MessageID) IsZero() bool { return id == MessageID{} }

// ParseMessageID parses the form String returns. It returns an error wrapping
// crypto.ErrBadID for anything else.
func ParseMessageID(s string) (MessageID, error) {
	var id MessageID
	if len(s) != 2*len(id) {
		return id, fmt.Errorf("node: message ID: %w", crypto.ErrBadID)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return MessageID{}, fmt.Errorf("node: message ID: %w", crypto.ErrBadID)
	}
	return id, nil
}

// Message is a post as this node holds it: decrypted, from its local copy.
type Message struct {
	ID    MessageID
	Group crypto.GroupID
	// Author is the member who signed the post, and Pseudonym their name
	// in the roster of the epoch it was sealed in.
	Author    crypto.MemberID
	Pseudonym string
	Text      string
	// ReplyTo is the post this one answers, zero if none.
	ReplyTo MessageID
	// Sent is the author's clock when posting (as signed by the author);
	// Received is this node's clock when it arrived. History is ordered by
	// Received, which an author cannot influence.
	Sent     time.Time
	Received time.Time
	// Epoch is the epoch the post was sealed in.
	Epoch uint64
	// Late is set when the post arrived more than lateAfter after its
	// author sent it, or was sealed in an epoch the group had already
	// left: an interface may show it out of line.
	Late bool
	// Edited is the send time of the author's newest edit, zero if the
	// post was never edited (moderation.go).
	Edited time.Time
	// Removed is set when the post was deleted by its author or removed
	// by a host or moderator: its text is erased (Text is empty) and this
	// marker stands in its place in history.
	Removed *Removal
}

// lateAfter is how long after its sending a post counts as Late.
const lateAfter = 2 * time.Minute

// MemberInfo is one member of a group as the current roster describes them.
type MemberInfo struct {
	ID        crypto.MemberID
	Pseudonym string
	Role      protocol.Role
}

// GroupInfo describes a group as this node sees it now.
type GroupInfo struct {
	ID   crypto.GroupID
	Name string
	// Role is this member's role.
	Role protocol.Role
	// Members is the size of the current roster.
	Members int
	Epoch   uint64
	// Me is this member's roster entry.
	Me        MemberInfo
	Retention time.Duration
	// Removed is set once this member was removed or left.
	Removed bool
	// Guidelines is the version of the group's pinned guidelines (0: none
	// yet), and GuidelinesAccepted whether this member accepted it (true
	// when there are none).
	Guidelines         uint64
	GuidelinesAccepted bool
}

// JoinRequest is someone waiting in a group's waiting room.
type JoinRequest struct {
	// Member is the ID the joiner will have in the group.
	Member    crypto.MemberID
	Pseudonym string
	// Invite is the invite the request was made with.
	Invite    crypto.InviteID
	Requested time.Time
}

// JoinStatus is the outcome of Node.Join.
type JoinStatus int

const (
	// JoinJoined: the node is a member now; JoinResult.Group is set.
	JoinJoined JoinStatus = iota + 1
	// JoinWaiting: the request waits for a host's approval. EventJoined
	// or EventJoinDenied follows; the node asks again by itself while it
	// waits, across restarts.
	JoinWaiting
)

// String returns "joined" or "waiting".
func (s JoinStatus) String() string {
	switch s {
	case JoinJoined:
		return "joined"
	case JoinWaiting:
		return "waiting"
	}
	return "unknown"
}

// JoinResult is what Node.Join returns.
type JoinResult struct {
	GroupID crypto.GroupID
	Status  JoinStatus
	// Group is nil while waiting.
	Group *Group
}

// InviteOptions configure Group.CreateInvite.
type InviteOptions struct {
	// Expires is how long the invite works; zero means defaultInviteExpiry
	// (24 hours).
	Expires time.Duration
	// Uses is how many people may join with it; zero means 1. At most
	// 65535.
	Uses int
	// Approval makes joiners wait in the waiting room until a host admits
	// them.
	Approval bool
}

// defaultInviteExpiry is an invite's lifetime when InviteOptions.Expires is
// zero.
const defaultInviteExpiry = 24 * time.Hour

// InviteInfo describes an invite a group's admin issued, without its secret.
type InviteInfo struct {
	ID       crypto.InviteID
	Expires  time.Time
	UsesLeft int
	Approval bool
	Revoked  bool
}

// GroupOptions configure Node.CreateGroup.
type GroupOptions struct {
	// Name is the group's name, seen only by members.
	Name string
	// Pseudonym is the creator's name in the group.
	Pseudonym string
	// Retention is how long members keep messages; 0 keeps them forever.
	// It is rounded down to whole seconds.
	Retention time.Duration
}

// memberInfo converts a roster entry.
func memberInfo(m protocol.Member) MemberInfo {
	return MemberInfo{ID: m.ID, Pseudonym: m.Pseudonym, Role: m.Role}
}
