package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// The methods of this file drive the daemon's node: groups, invites,
// joining, the waiting room, roles, posts. Each returns an *Error (find it
// with errors.As and branch on Code) when the daemon refuses, and the
// transport's error, wrapped, when it cannot be reached. An empty ID is
// refused before anything is sent, as an *Error with code "bad_id" and
// status 0.

// CodeBadID is the Code of the *Error the daemon returns for an ID that is
// not lower-case hex of the right length; the client uses it too for an
// empty ID.
const CodeBadID = "bad_id"

// segment returns s escaped as one path segment, or an *Error naming what
// for an empty s.
func segment(what, s string) (string, error) {
	if s == "" {
		return "", &Error{Code: CodeBadID, Message: "the " + what + " ID is empty; give one"}
	}
	return url.PathEscape(s), nil
}

// groupPath returns "/api/v1/groups/<group>" followed by rest.
func groupPath(group, rest string) (string, error) {
	g, err := segment("group", group)
	if err != nil {
		return "", err
	}
	return "/api/v1/groups/" + g + rest, nil
}

// Status reports the node's peer ID, addresses, how many groups it holds
// and how many peers it is connected to.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	if err := c.Do(ctx, http.MethodGet, "/api/v1/status", nil, &s); err != nil {
		return Status{}, err
	}
	return s, nil
}

// Groups lists the node's groups, those it was removed from or left
// included, ordered by ID.
func (c *Client) Groups(ctx context.Context) ([]GroupSummary, error) {
	var out []GroupSummary
	if err := c.Do(ctx, http.MethodGet, "/api/v1/groups", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// createGroupRequest is the body of POST /api/v1/groups.
type createGroupRequest struct {
	Name      string `json:"name"`
	Pseudonym string `json:"pseudonym"`
	Retention string `json:"retention,omitempty"`
}

// CreateGroup creates a group named name with this member as its host
// under pseudonym, and returns its ID. retention is how long members keep
// messages ("30d", "12h", "90m" or "forever"); "" means forever. Codes:
// bad_group_name, bad_pseudonym, bad_duration.
func (c *Client) CreateGroup(ctx context.Context, name, pseudonym, retention string) (groupID string, err error) {
	var out struct {
		Group string `json:"group"`
	}
	in := createGroupRequest{Name: name, Pseudonym: pseudonym, Retention: retention}
	if err := c.Do(ctx, http.MethodPost, "/api/v1/groups", in, &out); err != nil {
		return "", err
	}
	return out.Group, nil
}

// Group describes one group. Codes: bad_id, no_group.
func (c *Client) Group(ctx context.Context, group string) (GroupDetail, error) {
	p, err := groupPath(group, "")
	if err != nil {
		return GroupDetail{}, err
	}
	var d GroupDetail
	if err := c.Do(ctx, http.MethodGet, p, nil, &d); err != nil {
		return GroupDetail{}, err
	}
	return d, nil
}

// Members lists the group's current roster in the order members were
// added. Codes: bad_id, no_group.
func (c *Client) Members(ctx context.Context, group string) ([]Member, error) {
	p, err := groupPath(group, "/members")
	if err != nil {
		return nil, err
	}
	var out []Member
	if err := c.Do(ctx, http.MethodGet, p, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// CreateInvite creates an invite to the group. The returned Invite string
// holds the invite's secret: hand it only to the person invited. Codes:
// bad_id, no_group, not_admin, removed, bad_duration, bad_request (uses out
// of range).
func (c *Client) CreateInvite(ctx context.Context, group string, opts InviteOptions) (CreatedInvite, error) {
	p, err := groupPath(group, "/invites")
	if err != nil {
		return CreatedInvite{}, err
	}
	var out CreatedInvite
	if err := c.Do(ctx, http.MethodPost, p, opts, &out); err != nil {
		return CreatedInvite{}, err
	}
	return out, nil
}

// Invites lists the invites this node issued for the group, revoked and
// expired ones included, ordered by expiry. Codes: bad_id, no_group.
func (c *Client) Invites(ctx context.Context, group string) ([]Invite, error) {
	p, err := groupPath(group, "/invites")
	if err != nil {
		return nil, err
	}
	var out []Invite
	if err := c.Do(ctx, http.MethodGet, p, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// RevokeInvite withdraws an invite: joins with it are refused from now on.
// Codes: bad_id, no_group, no_invite, not_admin, removed.
func (c *Client) RevokeInvite(ctx context.Context, group, invite string) error {
	inv, err := segment("invite", invite)
	if err != nil {
		return err
	}
	p, err := groupPath(group, "/invites/"+inv)
	if err != nil {
		return err
	}
	var out struct {
		Revoked bool `json:"revoked"`
	}
	return c.Do(ctx, http.MethodDelete, p, nil, &out)
}

// joinRequest is the body of POST /api/v1/join.
type joinRequest struct {
	Invite    string `json:"invite"`
	Pseudonym string `json:"pseudonym"`
}

// Join asks the host named in invite to let this node into the group under
// pseudonym. Codes: invite_mistyped, invite_malformed, invite_expired,
// invite_revoked, invite_used_up, invite_unknown, join_denied,
// already_member, admin_unreachable, bad_pseudonym, unavailable.
func (c *Client) Join(ctx context.Context, invite, pseudonym string) (JoinResult, error) {
	var out JoinResult
	if err := c.Do(ctx, http.MethodPost, "/api/v1/join", joinRequest{Invite: invite, Pseudonym: pseudonym}, &out); err != nil {
		return JoinResult{}, err
	}
	return out, nil
}

// Waiting lists the requests waiting in the group's waiting room, oldest
// first; it is empty for a member who does not administer the group.
// Codes: bad_id, no_group.
func (c *Client) Waiting(ctx context.Context, group string) ([]WaitingRequest, error) {
	p, err := groupPath(group, "/waiting")
	if err != nil {
		return nil, err
	}
	var out []WaitingRequest
	if err := c.Do(ctx, http.MethodGet, p, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// memberAction posts to /api/v1/groups/{group}/<kind>/{member}/<action>
// (or, with action "", sends method to .../<kind>/{member}) and discards
// the answer's body.
func (c *Client) memberAction(ctx context.Context, method, group, kind, member, action string, in any) error {
	m, err := segment("member", member)
	if err != nil {
		return err
	}
	rest := "/" + kind + "/" + m
	if action != "" {
		rest += "/" + action
	}
	p, err := groupPath(group, rest)
	if err != nil {
		return err
	}
	var out map[string]any
	return c.Do(ctx, method, p, in, &out)
}

// Admit lets a waiting joiner into the group. Codes: bad_id, no_group,
// not_waiting, not_admin, removed.
func (c *Client) Admit(ctx context.Context, group, member string) error {
	return c.memberAction(ctx, http.MethodPost, group, "waiting", member, "admit", nil)
}

// Deny declines a waiting joiner. Codes: bad_id, no_group, not_waiting,
// not_admin, removed.
func (c *Client) Deny(ctx context.Context, group, member string) error {
	return c.memberAction(ctx, http.MethodPost, group, "waiting", member, "deny", nil)
}

// roleRequest is the body of POST .../members/{member}/role.
type roleRequest struct {
	Role string `json:"role"`
}

// SetRole gives member the role "host", "moderator" or "member"; only a
// host may. Codes: bad_id, bad_request (not a role), no_group, no_member,
// not_admin, removed, conflict (the change would leave no host, or changes
// nothing).
func (c *Client) SetRole(ctx context.Context, group, member, role string) error {
	return c.memberAction(ctx, http.MethodPost, group, "members", member, "role", roleRequest{Role: role})
}

// Remove removes member from the group; their node can read nothing said
// afterwards. To remove oneself, use Leave. Codes: bad_id, no_group,
// no_member, not_admin, removed, conflict.
func (c *Client) Remove(ctx context.Context, group, member string) error {
	return c.memberAction(ctx, http.MethodDelete, group, "members", member, "", nil)
}

// Leave takes this member out of the group. Its history stays readable on
// this node. Codes: bad_id, no_group, removed, conflict (the last host must
// make someone else a host first).
func (c *Client) Leave(ctx context.Context, group string) error {
	p, err := groupPath(group, "/leave")
	if err != nil {
		return err
	}
	var out map[string]any
	return c.Do(ctx, http.MethodPost, p, nil, &out)
}

// postRequest is the body of POST .../messages.
type postRequest struct {
	Text    string `json:"text"`
	ReplyTo string `json:"reply_to,omitempty"`
}

// Post posts text to the group, as a reply to the message replyTo unless
// it is "", and returns the new message's ID. Codes: bad_id, bad_text,
// no_group, not_found (replyTo is not in this node's history), removed.
func (c *Client) Post(ctx context.Context, group, text, replyTo string) (messageID string, err error) {
	p, err := groupPath(group, "/messages")
	if err != nil {
		return "", err
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := c.Do(ctx, http.MethodPost, p, postRequest{Text: text, ReplyTo: replyTo}, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

// Messages returns up to limit posts of the group, oldest first: the
// newest ones when before is "", otherwise those received before the
// message before (pass the first ID of a page to get the page before it).
// limit 0 means the daemon's default of 50; at most 500. Codes: bad_id,
// bad_request (limit out of range), no_group, not_found (before is not
// held here, perhaps expired).
func (c *Client) Messages(ctx context.Context, group string, limit int, before string) ([]Message, error) {
	p, err := groupPath(group, "/messages")
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if before != "" {
		q.Set("before", before)
	}
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	var out []Message
	if err := c.Do(ctx, http.MethodGet, p, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}
