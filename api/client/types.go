package client

import (
	"encoding/json"
	"fmt"
	"time"
)

// The request and response bodies of the API's group routes, with the JSON
// names of the contract (docs/PROTOCOL.md, "Local control API"). IDs are
// lower-case hex strings: a group or member 32 digits, a message 32, an
// invite 16. Times are RFC 3339 in UTC. Roles are "host", "moderator" or
// "member".

// Status is the body of GET /api/v1/status.
type Status struct {
	// PeerID is the node's libp2p peer ID.
	PeerID string `json:"peer_id"`
	// Addrs are the node's listen addresses as multiaddrs, each ending in
	// /p2p/<peer ID>.
	Addrs []string `json:"addrs"`
	// Groups is how many groups the node holds, left ones included.
	Groups int `json:"groups"`
	// Peers is how many peers the node has a connection to now.
	Peers int `json:"peers"`
	// Reachability is "public" (other peers can dial this node), "private"
	// (behind NAT: reached by dialling out or through a relay) or
	// "unknown".
	Reachability string `json:"reachability"`
	Version      string `json:"version"`
}

// GroupSummary is one entry of GET /api/v1/groups.
type GroupSummary struct {
	Group string `json:"group"`
	Name  string `json:"name"`
	// Role is this member's role in the group.
	Role string `json:"role"`
	// Members is the size of the current roster.
	Members int    `json:"members"`
	Epoch   uint64 `json:"epoch"`
	// Removed is set once this member was removed from the group or left
	// it; its history stays readable.
	Removed bool `json:"removed"`
	// Guidelines is the version of the group's pinned guidelines (0:
	// none), GuidelinesAccepted whether this member accepted it.
	Guidelines         uint64 `json:"guidelines"`
	GuidelinesAccepted bool   `json:"guidelines_accepted"`
}

// GroupDetail is the body of GET /api/v1/groups/{group}.
type GroupDetail struct {
	Group   string `json:"group"`
	Name    string `json:"name"`
	Role    string `json:"role"`
	Members int    `json:"members"`
	Epoch   uint64 `json:"epoch"`
	Removed bool   `json:"removed"`
	// Retention is how long members keep messages, as a duration string
	// ("30d", "12h", "90m") or "forever".
	Retention string `json:"retention"`
	// Me is this member's own roster entry.
	Me Member `json:"me"`
	// Online is how many of the group's peers are connected and
	// subscribed now. Which member each one is stays unknown (sealed
	// sender).
	Online int `json:"online"`
	// Guidelines is the version of the group's pinned guidelines (0:
	// none), GuidelinesAccepted whether this member accepted it.
	Guidelines         uint64 `json:"guidelines"`
	GuidelinesAccepted bool   `json:"guidelines_accepted"`
}

// Member is one member of a group. Online is set only in Members' answer,
// for a member whose node the daemon is connected to now.
type Member struct {
	Member    string `json:"member"`
	Pseudonym string `json:"pseudonym"`
	Role      string `json:"role"`
	Online    bool   `json:"online,omitempty"`
}

// InviteOptions is the body of POST /api/v1/groups/{group}/invites. Every
// field may be left zero: Expires "" means 24 hours ("30d", "12h", "90m"
// otherwise), Uses 0 means one use (at most 65535), Approval false lets
// joiners in without waiting for a host.
type InviteOptions struct {
	Expires  string `json:"expires,omitempty"`
	Uses     int    `json:"uses,omitempty"`
	Approval bool   `json:"approval,omitempty"`
}

// CreatedInvite is the answer to creating an invite. Invite holds the
// invite's secret: hand it only to the person invited.
type CreatedInvite struct {
	Invite   string    `json:"invite"`
	ID       string    `json:"id"`
	Expires  time.Time `json:"expires"`
	UsesLeft int       `json:"uses_left"`
	Approval bool      `json:"approval"`
}

// Invite is one entry of GET /api/v1/groups/{group}/invites: an invite
// this node issued, without its secret.
type Invite struct {
	ID       string    `json:"id"`
	Expires  time.Time `json:"expires"`
	UsesLeft int       `json:"uses_left"`
	Approval bool      `json:"approval"`
	Revoked  bool      `json:"revoked"`
}

// The values of JoinResult.Status.
const (
	JoinJoined  = "joined"
	JoinWaiting = "waiting"
)

// JoinResult is the answer to POST /api/v1/join. Status is JoinJoined, or
// JoinWaiting when a host must approve: a "joined" or "join_denied" event
// follows.
type JoinResult struct {
	Group  string `json:"group"`
	Status string `json:"status"`
}

// WaitingRequest is someone waiting in a group's waiting room.
type WaitingRequest struct {
	// Member is the ID the joiner will have in the group.
	Member    string `json:"member"`
	Pseudonym string `json:"pseudonym"`
	// Invite is the ID of the invite the request was made with.
	Invite    string    `json:"invite"`
	Requested time.Time `json:"requested"`
}

// Message is a post as the node holds it.
type Message struct {
	ID    string `json:"id"`
	Group string `json:"group"`
	// Author is the member who signed the post, and Pseudonym their name
	// when they posted it.
	Author    string `json:"author"`
	Pseudonym string `json:"pseudonym"`
	// Text is what the author wrote. It may hold any character the author
	// typed: a terminal should not print it raw.
	Text string `json:"text"`
	// Sent is the author's clock, Received the node's; messages are
	// ordered by Received.
	Sent     time.Time `json:"sent"`
	Received time.Time `json:"received"`
	// ReplyTo is the ID of the post this one answers, "" if none.
	ReplyTo string `json:"reply_to"`
	// Late is set for a post that arrived long after it was sent: an
	// interface may show it out of line.
	Late  bool   `json:"late"`
	Epoch uint64 `json:"epoch"`
	// Edited is when the author last edited the post, RFC 3339, or ""
	// if never.
	Edited string `json:"edited"`
	// Removed stands in for a post its author deleted or a host or
	// moderator removed; Text is then "".
	Removed *Removal `json:"removed,omitempty"`
	// Muted is set for a post by a member this member muted.
	Muted bool `json:"muted,omitempty"`
}

// The types of the daemon's live events (Event.Type), besides
// api.OverflowEvent.
const (
	EventMessage       = "message"
	EventMemberJoined  = "member_joined"
	EventMemberLeft    = "member_left"
	EventMemberRemoved = "member_removed"
	EventRoleChanged   = "role_changed"
	EventRemoved       = "removed"
	EventJoinRequest   = "join_request"
	EventJoined        = "joined"
	EventJoinDenied    = "join_denied"
	EventEpochChanged  = "epoch_changed"
)

// EventData is the data of a live event. Group is always set; which of the
// other fields is depends on the event's type: Message for "message",
// Member for "member_joined", "member_left", "member_removed" and
// "role_changed" (with the new role), Request for "join_request", Epoch
// for "epoch_changed".
type EventData struct {
	Group   string          `json:"group"`
	Message *Message        `json:"message,omitempty"`
	Member  *Member         `json:"member,omitempty"`
	Request *WaitingRequest `json:"request,omitempty"`
	Epoch   uint64          `json:"epoch,omitempty"`
	// Moderation events (moderation.go).
	Removal    *Removal    `json:"removal,omitempty"`
	Report     *Report     `json:"report,omitempty"`
	Guidelines *Guidelines `json:"guidelines,omitempty"`
}

// Decode returns the data of a group event. It returns an error for the
// overflow marker, which carries no group, and for data that does not
// decode.
func (ev Event) Decode() (EventData, error) {
	var d EventData
	if ev.IsOverflow() {
		return d, fmt.Errorf("hearth/api/client: the %s event carries no group data", ev.Type)
	}
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return EventData{}, fmt.Errorf("hearth/api/client: %s event data does not decode: %w", ev.Type, err)
	}
	return d, nil
}
