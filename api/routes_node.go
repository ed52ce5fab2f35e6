package api

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/node"
	"github.com/hearthnet/hearth/protocol"
)

// NodeOptions configure NodeRoutes.
type NodeOptions struct {
	// Version is reported by GET /api/v1/status.
	Version string
	// OpTimeout bounds each operation that changes the node (a commit, a
	// join, a post); zero means DefaultOpTimeout.
	OpTimeout time.Duration
	// Wipe and Wiped serve POST /api/v1/wipe (see WipeRoutes); without
	// Wipe the route answers that this process cannot wipe its home.
	Wipe  WipeFunc
	Wiped func()
	// Passphrase serves POST /api/v1/passphrase (see PassphraseRoutes);
	// without it the route answers that this process cannot change its
	// home's passphrase.
	Passphrase PassphraseFunc
}

// DefaultOpTimeout is NodeOptions.OpTimeout when it is zero. A join dials
// the group's host and may wait for it to answer; a commit publishes on
// two topics. Neither takes more than a few seconds on a working network.
const DefaultOpTimeout = 60 * time.Second

// nodeRoutes serves the routes that drive one node.
type nodeRoutes struct {
	n         *node.Node
	version   string
	opTimeout time.Duration
}

// NodeRoutes returns the routes of the v1 API that drive n: status,
// groups, members, invites, joining, the waiting room, roles, removal,
// leaving, posts and history (docs/PROTOCOL.md, "Local control API"). Pass
// them in Config.Routes. Every route validates its input strictly (IDs are
// lower-case hex of the exact length, durations "30d", "12h" or "90m",
// names and text as the protocol allows) and answers node errors with the
// stable codes of nodeErrorTable.
func NodeRoutes(n *node.Node, opts NodeOptions) []Route {
	nr := &nodeRoutes{n: n, version: opts.Version, opTimeout: opts.OpTimeout}
	if nr.opTimeout <= 0 {
		nr.opTimeout = DefaultOpTimeout
	}
	const g = "/api/v1/groups/{group}"
	return append([]Route{
		{Method: http.MethodGet, Path: "/api/v1/status",
			Summary: "Describe the node: peer ID, addresses, groups and peers", Handler: nr.status},
		{Method: http.MethodGet, Path: "/api/v1/groups",
			Summary: "List the node's groups", Handler: nr.listGroups},
		{Method: http.MethodPost, Path: "/api/v1/groups",
			Summary: "Create a group with this member as its host", Handler: nr.createGroup},
		{Method: http.MethodGet, Path: g,
			Summary: "Describe one group", Handler: nr.getGroup},
		{Method: http.MethodGet, Path: g + "/members",
			Summary: "List the group's members", Handler: nr.members},
		{Method: http.MethodPost, Path: g + "/invites",
			Summary: "Create an invite to the group", Handler: nr.createInvite},
		{Method: http.MethodGet, Path: g + "/invites",
			Summary: "List the invites this node issued for the group", Handler: nr.listInvites},
		{Method: http.MethodDelete, Path: g + "/invites/{invite}",
			Summary: "Withdraw an invite", Handler: nr.revokeInvite},
		{Method: http.MethodPost, Path: "/api/v1/join",
			Summary: "Join a group with an invite", Handler: nr.join},
		{Method: http.MethodGet, Path: g + "/waiting",
			Summary: "List the requests in the group's waiting room", Handler: nr.waiting},
		{Method: http.MethodPost, Path: g + "/waiting/{member}/admit",
			Summary: "Let a waiting joiner into the group", Handler: nr.admit},
		{Method: http.MethodPost, Path: g + "/waiting/{member}/deny",
			Summary: "Decline a waiting joiner", Handler: nr.deny},
		{Method: http.MethodPost, Path: g + "/members/{member}/role",
			Summary: "Change a member's role", Handler: nr.setRole},
		{Method: http.MethodDelete, Path: g + "/members/{member}",
			Summary: "Remove a member from the group", Handler: nr.remove},
		{Method: http.MethodPost, Path: g + "/leave",
			Summary: "Leave the group", Handler: nr.leave},
		{Method: http.MethodPost, Path: g + "/messages",
			Summary: "Post a message to the group", Handler: nr.post},
		{Method: http.MethodGet, Path: g + "/messages",
			Summary: "Read the group's messages, a page at a time", Handler: nr.messages},
	}, slices.Concat(privateRoutes(n, nr), moderationRoutes(nr), meetingRoutes(nr), careRoutes(nr), mailboxRoutes(nr), WipeRoutes(opts.Wipe, opts.Wiped), PassphraseRoutes(opts.Passphrase, nil))...)
}

// opContext returns the context a state-changing operation runs under: the
// request's values without its cancellation, bounded by the operation
// timeout. A client that hangs up in the middle of a commit or a join must
// not cut the node's work in half; the node finishes, and the client reads
// the outcome from the group afterwards.
func (nr *nodeRoutes) opContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), nr.opTimeout)
}

// group returns the group named by the request's {group}, or bad_id or
// no_group.
func (nr *nodeRoutes) group(r *http.Request) (*node.Group, error) {
	id, err := parseGroupID(r.PathValue("group"))
	if err != nil {
		return nil, err
	}
	g, err := nr.n.Group(id)
	if err != nil {
		return nil, nodeError(err)
	}
	return g, nil
}

// rfc3339 writes t as the API writes every time: RFC 3339 in UTC, with
// fractions of a second only when there are any.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// The wire forms of the answers. They mirror the types of api/client
// (which cannot be shared: the client imports this package); the
// end-to-end tests decode every one of them with the client.

type statusJSON struct {
	PeerID       string   `json:"peer_id"`
	Addrs        []string `json:"addrs"`
	Groups       int      `json:"groups"`
	Peers        int      `json:"peers"`
	Reachability string   `json:"reachability"`
	Version      string   `json:"version"`
}

type groupSummaryJSON struct {
	Group   string `json:"group"`
	Name    string `json:"name"`
	Role    string `json:"role"`
	Members int    `json:"members"`
	Epoch   uint64 `json:"epoch"`
	Removed bool   `json:"removed"`
	// Guidelines is the version of the group's pinned guidelines (0:
	// none), GuidelinesAccepted whether this member accepted it.
	Guidelines         uint64 `json:"guidelines"`
	GuidelinesAccepted bool   `json:"guidelines_accepted"`
}

type groupDetailJSON struct {
	groupSummaryJSON
	Retention string     `json:"retention"`
	Me        memberJSON `json:"me"`
	Online    int        `json:"online"`
}

type memberJSON struct {
	Member    string `json:"member"`
	Pseudonym string `json:"pseudonym"`
	Role      string `json:"role"`
	// Online is set in the members list for a member this node is
	// connected to now (node.Group.OnlineMembers); never elsewhere.
	Online bool `json:"online,omitempty"`
}

type inviteJSON struct {
	ID       string `json:"id"`
	Expires  string `json:"expires"`
	UsesLeft int    `json:"uses_left"`
	Approval bool   `json:"approval"`
	Revoked  bool   `json:"revoked"`
}

type createdInviteJSON struct {
	Invite   string `json:"invite"`
	ID       string `json:"id"`
	Expires  string `json:"expires"`
	UsesLeft int    `json:"uses_left"`
	Approval bool   `json:"approval"`
}

type waitingJSON struct {
	Member    string `json:"member"`
	Pseudonym string `json:"pseudonym"`
	Invite    string `json:"invite"`
	Requested string `json:"requested"`
}

type messageJSON struct {
	ID        string `json:"id"`
	Group     string `json:"group"`
	Author    string `json:"author"`
	Pseudonym string `json:"pseudonym"`
	Text      string `json:"text"`
	Sent      string `json:"sent"`
	Received  string `json:"received"`
	ReplyTo   string `json:"reply_to"`
	Late      bool   `json:"late"`
	Epoch     uint64 `json:"epoch"`
	// Moderation (routes_moderation.go): Edited is "" unless the author
	// edited the post; Removed stands in for a deleted or removed post
	// (whose text is ""); Muted marks a muted member's post.
	Edited  string       `json:"edited"`
	Removed *removalJSON `json:"removed,omitempty"`
	Muted   bool         `json:"muted,omitempty"`
}

// The small answers of the routes that change something.
type (
	groupCreatedJSON struct {
		Group string `json:"group"`
	}
	revokedJSON struct {
		Revoked bool `json:"revoked"`
	}
	joinResultJSON struct {
		Group  string `json:"group"`
		Status string `json:"status"`
	}
	// memberStatusJSON answers admit, deny, remove, mute and block.
	memberStatusJSON struct {
		Member string `json:"member"`
		Status string `json:"status"`
	}
	roleResultJSON struct {
		Member string `json:"member"`
		Role   string `json:"role"`
	}
	leftJSON struct {
		Group  string `json:"group"`
		Status string `json:"status"`
	}
	postedJSON struct {
		ID string `json:"id"`
	}
)

func summaryOf(info node.GroupInfo) groupSummaryJSON {
	return groupSummaryJSON{
		Group: info.ID.String(), Name: info.Name, Role: info.Role.String(),
		Members: info.Members, Epoch: info.Epoch, Removed: info.Removed,
		Guidelines: info.Guidelines, GuidelinesAccepted: info.GuidelinesAccepted,
	}
}

func memberOf(m node.MemberInfo) memberJSON {
	return memberJSON{Member: m.ID.String(), Pseudonym: m.Pseudonym, Role: m.Role.String()}
}

func inviteOf(i node.InviteInfo) inviteJSON {
	return inviteJSON{ID: i.ID.String(), Expires: rfc3339(i.Expires), UsesLeft: i.UsesLeft, Approval: i.Approval, Revoked: i.Revoked}
}

func waitingOf(w node.JoinRequest) waitingJSON {
	return waitingJSON{Member: w.Member.String(), Pseudonym: w.Pseudonym, Invite: w.Invite.String(), Requested: rfc3339(w.Requested)}
}

func messageOf(m node.Message) messageJSON {
	out := messageJSON{
		ID: m.ID.String(), Group: m.Group.String(), Author: m.Author.String(), Pseudonym: m.Pseudonym,
		Text: m.Text, Sent: rfc3339(m.Sent), Received: rfc3339(m.Received), Late: m.Late, Epoch: m.Epoch,
	}
	if !m.ReplyTo.IsZero() {
		out.ReplyTo = m.ReplyTo.String()
	}
	if !m.Edited.IsZero() {
		out.Edited = rfc3339(m.Edited)
	}
	if m.Removed != nil {
		r := removalOf(*m.Removed)
		out.Removed = &r
	}
	return out
}

func (nr *nodeRoutes) status(w http.ResponseWriter, r *http.Request) error {
	addrs := nr.n.Addrs()
	out := statusJSON{
		PeerID:       nr.n.PeerID().String(),
		Addrs:        make([]string, 0, len(addrs)),
		Groups:       len(nr.n.Groups()),
		Peers:        len(nr.n.ConnectedPeers()),
		Reachability: nr.n.Reachability(),
		Version:      nr.version,
	}
	for _, a := range addrs {
		out.Addrs = append(out.Addrs, a.String())
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (nr *nodeRoutes) listGroups(w http.ResponseWriter, r *http.Request) error {
	groups := nr.n.Groups()
	return writeList(w, groups, func(g *node.Group) groupSummaryJSON { return summaryOf(g.Info()) })
}

type createGroupRequest struct {
	Name      string `json:"name"`
	Pseudonym string `json:"pseudonym"`
	Retention string `json:"retention"`
}

func (nr *nodeRoutes) createGroup(w http.ResponseWriter, r *http.Request) error {
	var req createGroupRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	name, err := checkGroupName(req.Name)
	if err != nil {
		return err
	}
	pseudonym, err := checkPseudonym(req.Pseudonym)
	if err != nil {
		return err
	}
	retention, err := parseRetention(req.Retention)
	if err != nil {
		return err
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	g, err := nr.n.CreateGroup(ctx, node.GroupOptions{Name: name, Pseudonym: pseudonym, Retention: retention})
	if err != nil {
		return nodeError(err)
	}
	writeJSON(w, http.StatusCreated, groupCreatedJSON{g.ID().String()})
	return nil
}

func (nr *nodeRoutes) getGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	info := g.Info()
	writeJSON(w, http.StatusOK, groupDetailJSON{
		groupSummaryJSON: summaryOf(info),
		Retention:        formatDuration(info.Retention),
		Me:               memberOf(info.Me),
		Online:           g.OnlinePeers(),
	})
	return nil
}

func (nr *nodeRoutes) members(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	online := make(map[crypto.MemberID]bool)
	for _, id := range g.OnlineMembers() {
		online[id] = true
	}
	return writeList(w, g.Members(), func(m node.MemberInfo) memberJSON {
		out := memberOf(m)
		out.Online = online[m.ID]
		return out
	})
}

type createInviteRequest struct {
	Expires  string `json:"expires"`
	Uses     *int   `json:"uses"`
	Approval bool   `json:"approval"`
}

// maxInviteUses is the most uses one invite may allow (the wire format
// counts them in 16 bits).
const maxInviteUses = 65535

func (nr *nodeRoutes) createInvite(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	var req createInviteRequest
	if err := decodeOptionalJSON(w, r, &req); err != nil {
		return err
	}
	opts := node.InviteOptions{Approval: req.Approval, Uses: 1}
	if req.Expires != "" {
		if opts.Expires, err = parseDuration("invite expiry", req.Expires, maxInviteExpiry); err != nil {
			return err
		}
	}
	if req.Uses != nil {
		// An explicit 0 would mean "one" to the node; refuse it rather than
		// hand out an invite that works more than the sender thought.
		if *req.Uses < 1 || *req.Uses > maxInviteUses {
			return NewError(http.StatusBadRequest, CodeBadRequest,
				"uses must be a whole number from 1 to 65535")
		}
		opts.Uses = *req.Uses
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	invite, info, err := g.CreateInvite(ctx, opts)
	if err != nil {
		return nodeError(err)
	}
	writeJSON(w, http.StatusCreated, createdInviteJSON{
		Invite: invite, ID: info.ID.String(), Expires: rfc3339(info.Expires),
		UsesLeft: info.UsesLeft, Approval: info.Approval,
	})
	return nil
}

func (nr *nodeRoutes) listInvites(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	invites, err := g.Invites()
	if err != nil {
		return nodeError(err)
	}
	return writeList(w, invites, inviteOf)
}

func (nr *nodeRoutes) revokeInvite(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	id, err := parseInviteID(r.PathValue("invite"))
	if err != nil {
		return err
	}
	if err := g.RevokeInvite(id); err != nil {
		return nodeError(err)
	}
	writeJSON(w, http.StatusOK, revokedJSON{true})
	return nil
}

type joinRequest struct {
	Invite    string `json:"invite"`
	Pseudonym string `json:"pseudonym"`
}

func (nr *nodeRoutes) join(w http.ResponseWriter, r *http.Request) error {
	var req joinRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	// White space around an invite is never part of it (invites are
	// base32), and pasting one often brings a line break along.
	invite := strings.TrimSpace(req.Invite)
	if invite == "" || len(invite) > maxInviteText {
		return nodeError(node.ErrInviteMalformed)
	}
	pseudonym, err := checkPseudonym(req.Pseudonym)
	if err != nil {
		return err
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	res, err := nr.n.Join(ctx, invite, pseudonym)
	if err != nil {
		return nodeError(err)
	}
	writeJSON(w, http.StatusOK, joinResultJSON{res.GroupID.String(), res.Status.String()})
	return nil
}

func (nr *nodeRoutes) waiting(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	reqs := g.WaitingRoom()
	return writeList(w, reqs, waitingOf)
}

// memberAction parses {group} and {member} and an optional empty body,
// runs do, and answers {"member": ..., "status": status}.
func (nr *nodeRoutes) memberAction(w http.ResponseWriter, r *http.Request, status string, do func(ctx context.Context, g *node.Group, m crypto.MemberID) error) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	m, err := parseMemberID(r.PathValue("member"))
	if err != nil {
		return err
	}
	if err := decodeOptionalJSON(w, r, &noFields{}); err != nil {
		return err
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	if err := do(ctx, g, m); err != nil {
		return nodeError(err)
	}
	writeJSON(w, http.StatusOK, memberStatusJSON{m.String(), status})
	return nil
}

func (nr *nodeRoutes) admit(w http.ResponseWriter, r *http.Request) error {
	return nr.memberAction(w, r, "admitted", func(ctx context.Context, g *node.Group, m crypto.MemberID) error {
		return g.Admit(ctx, m)
	})
}

func (nr *nodeRoutes) deny(w http.ResponseWriter, r *http.Request) error {
	return nr.memberAction(w, r, "denied", func(ctx context.Context, g *node.Group, m crypto.MemberID) error {
		return g.Deny(ctx, m)
	})
}

func (nr *nodeRoutes) remove(w http.ResponseWriter, r *http.Request) error {
	return nr.memberAction(w, r, "removed", func(ctx context.Context, g *node.Group, m crypto.MemberID) error {
		return g.Remove(ctx, m)
	})
}

type roleRequest struct {
	Role string `json:"role"`
}

func (nr *nodeRoutes) setRole(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	m, err := parseMemberID(r.PathValue("member"))
	if err != nil {
		return err
	}
	var req roleRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	role, err := protocol.ParseRole(req.Role)
	if err != nil {
		return nodeError(err)
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	if err := g.Promote(ctx, m, role); err != nil {
		return nodeError(err)
	}
	writeJSON(w, http.StatusOK, roleResultJSON{m.String(), role.String()})
	return nil
}

func (nr *nodeRoutes) leave(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	if err := decodeOptionalJSON(w, r, &noFields{}); err != nil {
		return err
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	if err := g.Leave(ctx); err != nil {
		return nodeError(err)
	}
	writeJSON(w, http.StatusOK, leftJSON{g.ID().String(), "left"})
	return nil
}

type postRequest struct {
	Text    string `json:"text"`
	ReplyTo string `json:"reply_to"`
}

func (nr *nodeRoutes) post(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	var req postRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := checkPostText(req.Text); err != nil {
		return err
	}
	var replyTo node.MessageID
	if req.ReplyTo != "" {
		if replyTo, err = parseMessageID(req.ReplyTo); err != nil {
			return err
		}
		// A reply names a post the member has seen, so it is in this
		// node's history; one that is not is a mistyped or expired ID,
		// which would otherwise go out as a reply to nothing. History
		// before the post answers ErrNoMessage exactly when it is not
		// held (the node has no lookup by ID).
		if _, err := g.History(replyTo, 1); err != nil {
			return nodeError(err)
		}
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	msg, err := g.Post(ctx, req.Text, replyTo)
	if msg == nil {
		return nodeError(err)
	}
	// A post that was stored but not published (err != nil with a message)
	// is in the group's history and goes out with the outbox or with sync;
	// to the member it is posted.
	writeJSON(w, http.StatusCreated, postedJSON{msg.ID.String()})
	return nil
}

func (nr *nodeRoutes) messages(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return NewError(http.StatusBadRequest, CodeBadRequest, "the query string does not parse; send limit=N and before=ID only")
	}
	if err := checkQuery(q, "limit", "before"); err != nil {
		return err
	}
	limit, err := parseLimit(q.Get("limit"))
	if err != nil {
		return err
	}
	var before node.MessageID
	if _, ok := q["before"]; ok {
		if before, err = parseMessageID(q.Get("before")); err != nil {
			return err
		}
	}
	// Without blocked members' posts, with muted ones marked.
	out, err := nr.visibleHistory(g, before, limit)
	if err != nil {
		return nodeError(err)
	}
	if out == nil {
		out = []messageJSON{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
