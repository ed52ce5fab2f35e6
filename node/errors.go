package node

import (
	"errors"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
)

// Errors the node returns, always wrapped with context: test them with
// errors.Is. Where a lower layer already has a sentinel with the same meaning,
// the node's name is that sentinel, so errors.Is works with either.
var (
	// ErrHomeExists: InitHome found a keystore already in the directory.
	ErrHomeExists = errors.New("a hearth home already exists here")
	// ErrNoHome: UnlockHome or New found no keystore or store in the
	// directory.
	ErrNoHome = errors.New("no hearth home here")
	// ErrClosed: the node was used after Close.
	ErrClosed = errors.New("node is closed")
	// ErrNoGroup: the node is not in a group with this ID.
	ErrNoGroup = errors.New("no such group")
	// ErrNotAdmin: the operation needs a host or moderator (creating and
	// revoking invites, admitting, denying, removing) or a host (changing
	// roles), and this member is not one.
	ErrNotAdmin = errors.New("only a host or moderator of the group can do this")
	// ErrRemoved: this member was removed from the group or left it. The
	// group's history stays readable on this node; nothing can be sent.
	ErrRemoved = protocol.ErrRemoved
	// ErrNoInvite: the group has no invite with this ID.
	ErrNoInvite = errors.New("no such invite")
	// ErrNotWaiting: nobody with this member ID waits in the waiting room.
	ErrNotWaiting = errors.New("nobody with this ID is waiting to join")
	// ErrNoMember: nobody with this member ID is in the group.
	ErrNoMember = errors.New("no such member in the group")
	// ErrNoMessage: History was given a message ID this node does not hold.
	ErrNoMessage = errors.New("no such message")

	// ErrInviteMistyped: the invite's checksum does not match; almost
	// always a mistyped character.
	ErrInviteMistyped = crypto.ErrInviteChecksum
	// ErrInviteMalformed: the text is not an invite (or one from a newer
	// Hearth, in which case crypto.ErrInviteVersion is wrapped too).
	ErrInviteMalformed = crypto.ErrInviteMalformed
	// ErrInviteExpired: the invite has expired (checked by the joiner
	// before dialling, and by the admin).
	ErrInviteExpired = protocol.ErrInviteExpired
	// ErrInviteRevoked: a host withdrew the invite.
	ErrInviteRevoked = protocol.ErrInviteRevoked
	// ErrInviteUsedUp: the invite was used as many times as it allows.
	ErrInviteUsedUp = protocol.ErrInviteUsedUp
	// ErrInviteUnknown: the admin does not know the invite, or the proof
	// of holding it did not verify. The two get the same answer, so that
	// someone without the invite's secret learns nothing about it.
	ErrInviteUnknown = protocol.ErrInviteUnknown
	// ErrJoinDenied: a host declined the request in the waiting room.
	ErrJoinDenied = protocol.ErrJoinDenied
	// ErrJoinFailed: the admin could not add the joiner (for example the
	// group is full, or it answered with something this version does not
	// understand).
	ErrJoinFailed = protocol.ErrJoinFailed
	// ErrAdminUnreachable: the admin named in the invite could not be
	// reached, or stopped answering in the middle of the exchange.
	ErrAdminUnreachable = errors.New("could not reach the group's host; check that they are online and try again")
	// ErrAlreadyMember: this node is already a member of the invite's
	// group.
	ErrAlreadyMember = errors.New("already a member of this group")
)
