package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/node"
	"github.com/hearthnet/hearth/protocol"
)

// Moderation routes: a post's author edits or deletes it; a host or
// moderator removes it; any member reports it to the hosts and moderators;
// hosts and moderators read and dismiss reports and pin the group's
// guidelines, which members accept; and a member mutes or blocks another,
// on this node only.
//
// Mute and block are applied here, to what the API serves: a muted
// member's posts carry "muted": true (the web UI folds them behind a
// button), a blocked member's posts are left out of history pages and of
// the event stream. node.Group.History itself returns every post, so an
// app embedding the node chooses its own policy.

// Codes of the moderation routes.
const (
	// CodeNotAuthor: only a post's author can edit or delete it.
	CodeNotAuthor = "not_author"
	// CodeNoReport: no report with that ID is held here.
	CodeNoReport = "no_report"
	// CodeNoGuidelines: the group has no guidelines to accept.
	CodeNoGuidelines = "no_guidelines"
	// CodeGuidelinesNotAccepted: the group has pinned guidelines this
	// member has not accepted, and a post waits until they do (403).
	CodeGuidelinesNotAccepted = "guidelines_not_accepted"
	// CodeSelf: the request names the member making it (muting, blocking
	// or reporting oneself).
	CodeSelf = "self"
)

// The live events of moderation (the SSE "event:" field).
const (
	EventMessageEdited  = "message_edited"
	EventMessageRemoved = "message_removed"
	EventReport         = "report"
	EventGuidelines     = "guidelines"
)

// moderationErrors are the node errors of moderation, for nodeErrorTable.
func moderationErrors() []errorMapping {
	return []errorMapping{
		{node.ErrNotAuthor, http.StatusForbidden, CodeNotAuthor,
			"only the person who wrote a post can edit or delete it; a host or moderator can remove it, and anyone can report it"},
		{node.ErrNoReport, http.StatusNotFound, CodeNoReport,
			"no report with that ID is held here; it may have been dismissed already"},
		{node.ErrNoGuidelines, http.StatusNotFound, CodeNoGuidelines,
			"this group has no guidelines yet; a host or moderator can pin some"},
		{node.ErrGuidelinesNotAccepted, http.StatusForbidden, CodeGuidelinesNotAccepted,
			"this group asks its members to accept its guidelines before posting; read them and accept them first (the group's Guidelines tab in the web UI, or 'hearth guidelines GROUP --accept')"},
		{node.ErrSelf, http.StatusBadRequest, CodeSelf,
			"you cannot do this to yourself or your own post"},
		{protocol.ErrBadContent, http.StatusBadRequest, CodeBadRequest,
			"the request cannot be sent as it is (too long, or empty where text is needed); shorten or fill it in"},
	}
}

type messageStatusJSON struct {
	Message string `json:"message"`
	Status  string `json:"status"`
}

type reportDismissedJSON struct {
	Report string `json:"report"`
	Status string `json:"status"`
}

type removalJSON struct {
	Post    string `json:"post"`
	By      string `json:"by"`
	Remover string `json:"remover"`
	Reason  string `json:"reason"`
	At      string `json:"at"`
}

func removalOf(r node.Removal) removalJSON {
	return removalJSON{Post: r.Post.String(), By: r.By.String(), Remover: r.Remover.String(), Reason: r.Reason, At: rfc3339(r.At)}
}

type reportJSON struct {
	ID                string `json:"id"`
	Post              string `json:"post"`
	Author            string `json:"author"`
	Pseudonym         string `json:"pseudonym"`
	Excerpt           string `json:"excerpt"`
	Reason            string `json:"reason"`
	Reporter          string `json:"reporter"`
	ReporterPseudonym string `json:"reporter_pseudonym"`
	Sent              string `json:"sent"`
	Status            string `json:"status"`
}

func reportOf(r node.Report) reportJSON {
	return reportJSON{
		ID: r.ID.String(), Post: r.Post.String(), Author: r.Author.String(), Pseudonym: r.Pseudonym,
		Excerpt: r.Excerpt, Reason: r.Reason, Reporter: r.Reporter.String(), ReporterPseudonym: r.ReporterPseudonym,
		Sent: rfc3339(r.Sent), Status: r.Status.String(),
	}
}

type guidelinesJSON struct {
	Version   uint64 `json:"version"`
	Text      string `json:"text"`
	SetBy     string `json:"set_by"`
	Pseudonym string `json:"pseudonym"`
	Set       string `json:"set"`
	Accepted  uint64 `json:"accepted"`
	Current   bool   `json:"current"`
}

func guidelinesOf(g node.Guidelines) guidelinesJSON {
	out := guidelinesJSON{Version: g.Version, Text: g.Text, Pseudonym: g.Pseudonym, Accepted: g.Accepted, Current: g.Current()}
	if g.Version != 0 {
		out.SetBy, out.Set = g.SetBy.String(), rfc3339(g.Set)
	}
	return out
}

type mutedJSON struct {
	Member string `json:"member"`
	Level  string `json:"level"`
}

// moderationRoutes serves edits, deletions, removals by moderators,
// reports, guidelines, mute and block.
func moderationRoutes(nr *nodeRoutes) []Route {
	const g = "/api/v1/groups/{group}"
	return []Route{
		{Method: http.MethodPut, Path: g + "/messages/{message}",
			Summary: "Edit one of your own posts", Handler: nr.editPost},
		{Method: http.MethodDelete, Path: g + "/messages/{message}",
			Summary: "Delete one of your own posts", Handler: nr.deletePost},
		{Method: http.MethodPost, Path: g + "/messages/{message}/remove",
			Summary: "Remove a post as a host or moderator", Handler: nr.removePost},
		{Method: http.MethodPost, Path: g + "/messages/{message}/report",
			Summary: "Report a post to the group's hosts and moderators", Handler: nr.reportPost},
		{Method: http.MethodGet, Path: g + "/reports",
			Summary: "List the reports this host or moderator received", Handler: nr.reports},
		{Method: http.MethodDelete, Path: g + "/reports/{report}",
			Summary: "Dismiss a report", Handler: nr.dismissReport},
		{Method: http.MethodGet, Path: g + "/guidelines",
			Summary: "Read the group's guidelines", Handler: nr.guidelines},
		{Method: http.MethodPut, Path: g + "/guidelines",
			Summary: "Pin new guidelines for the group", Handler: nr.setGuidelines},
		{Method: http.MethodPost, Path: g + "/guidelines/accept",
			Summary: "Accept the group's current guidelines", Handler: nr.acceptGuidelines},
		{Method: http.MethodGet, Path: g + "/muted",
			Summary: "List the members you muted or blocked in the group", Handler: nr.muted},
		{Method: http.MethodPost, Path: g + "/members/{member}/mute",
			Summary: "Mute a member, on this node only", Handler: nr.muteAction(node.MuteMuted)},
		{Method: http.MethodPost, Path: g + "/members/{member}/block",
			Summary: "Block a member, on this node only", Handler: nr.muteAction(node.MuteBlocked)},
		{Method: http.MethodPost, Path: g + "/members/{member}/unmute",
			Summary: "Unmute a member", Handler: nr.muteAction(node.NotMuted)},
		{Method: http.MethodPost, Path: g + "/members/{member}/unblock",
			Summary: "Unblock a member", Handler: nr.muteAction(node.NotMuted)},
	}
}

// groupMessage parses {group} and {message}.
func (nr *nodeRoutes) groupMessage(r *http.Request) (*node.Group, node.MessageID, error) {
	g, err := nr.group(r)
	if err != nil {
		return nil, node.MessageID{}, err
	}
	id, err := parseMessageID(r.PathValue("message"))
	if err != nil {
		return nil, node.MessageID{}, err
	}
	return g, id, nil
}

// checkReason refuses a reason over the protocol's limit or with control
// characters other than line breaks and tabs.
func checkReason(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > protocol.MaxReasonText || !utf8.ValidString(s) {
		return "", NewError(http.StatusBadRequest, CodeBadText,
			fmt.Sprintf("the reason must be UTF-8 text of at most %d bytes; shorten it", protocol.MaxReasonText))
	}
	for _, c := range s {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c >= 0x7f && c <= 0x9f {
			return "", NewError(http.StatusBadRequest, CodeBadText,
				fmt.Sprintf("the reason holds the control character U+%04X; remove it", c))
		}
	}
	return s, nil
}

// messageAnswer writes {"message": id, "status": status}.
func messageAnswer(w http.ResponseWriter, id node.MessageID, status string) {
	writeJSON(w, http.StatusOK, messageStatusJSON{id.String(), status})
}

type editRequest struct {
	Text string `json:"text"`
}

func (nr *nodeRoutes) editPost(w http.ResponseWriter, r *http.Request) error {
	g, id, err := nr.groupMessage(r)
	if err != nil {
		return err
	}
	var req editRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := checkPostText(req.Text); err != nil {
		return err
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	msg, err := g.Edit(ctx, id, req.Text)
	if err != nil {
		return nodeError(err)
	}
	writeJSON(w, http.StatusOK, messageOf(*msg))
	return nil
}

func (nr *nodeRoutes) deletePost(w http.ResponseWriter, r *http.Request) error {
	g, id, err := nr.groupMessage(r)
	if err != nil {
		return err
	}
	if err := decodeOptionalJSON(w, r, &noFields{}); err != nil {
		return err
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	if err := g.Delete(ctx, id); err != nil {
		return nodeError(err)
	}
	messageAnswer(w, id, "deleted")
	return nil
}

type reasonRequest struct {
	Reason string `json:"reason"`
}

func (nr *nodeRoutes) removePost(w http.ResponseWriter, r *http.Request) error {
	return nr.reasonAction(w, r, "removed", func(ctx context.Context, g *node.Group, id node.MessageID, reason string) error {
		return g.RemovePost(ctx, id, reason)
	})
}

func (nr *nodeRoutes) reportPost(w http.ResponseWriter, r *http.Request) error {
	return nr.reasonAction(w, r, "reported", func(ctx context.Context, g *node.Group, id node.MessageID, reason string) error {
		return g.Report(ctx, id, reason)
	})
}

// reasonAction parses {group}, {message} and an optional {"reason": ...},
// runs do and answers {"message": id, "status": status}.
func (nr *nodeRoutes) reasonAction(w http.ResponseWriter, r *http.Request, status string, do func(context.Context, *node.Group, node.MessageID, string) error) error {
	g, id, err := nr.groupMessage(r)
	if err != nil {
		return err
	}
	var req reasonRequest
	if err := decodeOptionalJSON(w, r, &req); err != nil {
		return err
	}
	reason, err := checkReason(req.Reason)
	if err != nil {
		return err
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	if err := do(ctx, g, id, reason); err != nil {
		return nodeError(err)
	}
	messageAnswer(w, id, status)
	return nil
}

func (nr *nodeRoutes) reports(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	reps, err := g.Reports()
	if err != nil {
		return nodeError(err)
	}
	return writeList(w, reps, reportOf)
}

func (nr *nodeRoutes) dismissReport(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	id, err := parseID("report ID", 32, r.PathValue("report"), node.ParseReportID)
	if err != nil {
		return err
	}
	if err := decodeOptionalJSON(w, r, &noFields{}); err != nil {
		return err
	}
	if err := g.DismissReport(id); err != nil {
		return nodeError(err)
	}
	writeJSON(w, http.StatusOK, reportDismissedJSON{id.String(), "dismissed"})
	return nil
}

func (nr *nodeRoutes) guidelines(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	gl, err := g.Guidelines()
	if err != nil {
		return nodeError(err)
	}
	writeJSON(w, http.StatusOK, guidelinesOf(gl))
	return nil
}

type guidelinesRequest struct {
	Text string `json:"text"`
}

func (nr *nodeRoutes) setGuidelines(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	var req guidelinesRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	text := strings.TrimSpace(req.Text)
	if text == "" || len(text) > protocol.MaxGuidelinesText || !utf8.ValidString(text) {
		return NewError(http.StatusBadRequest, CodeBadText,
			fmt.Sprintf("guidelines must be 1 to %d bytes of text", protocol.MaxGuidelinesText))
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	gl, err := g.SetGuidelines(ctx, text)
	if err != nil {
		return nodeError(err)
	}
	writeJSON(w, http.StatusOK, guidelinesOf(gl))
	return nil
}

func (nr *nodeRoutes) acceptGuidelines(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	if err := decodeOptionalJSON(w, r, &noFields{}); err != nil {
		return err
	}
	gl, err := g.AcceptGuidelines()
	if err != nil {
		return nodeError(err)
	}
	writeJSON(w, http.StatusOK, guidelinesOf(gl))
	return nil
}

func (nr *nodeRoutes) muted(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	all, err := nr.n.Muted()
	if err != nil {
		return nodeError(err)
	}
	out := []mutedJSON{}
	for _, m := range all {
		if m.Group == g.ID() {
			out = append(out, mutedJSON{Member: m.Member.String(), Level: m.Level.String()})
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (nr *nodeRoutes) muteAction(level node.MuteLevel) HandlerFunc {
	status := map[node.MuteLevel]string{node.MuteMuted: "muted", node.MuteBlocked: "blocked", node.NotMuted: "none"}[level]
	return func(w http.ResponseWriter, r *http.Request) error {
		return nr.memberAction(w, r, status, func(_ context.Context, g *node.Group, m crypto.MemberID) error {
			switch level {
			case node.MuteMuted:
				return nr.n.Mute(g.ID(), m)
			case node.MuteBlocked:
				return nr.n.Block(g.ID(), m)
			}
			return nr.n.Unmute(g.ID(), m)
		})
	}
}

// muteLevels returns how this member hides each member of group.
func (nr *nodeRoutes) muteLevels(group crypto.GroupID) map[crypto.MemberID]node.MuteLevel {
	all, err := nr.n.Muted()
	if err != nil {
		return nil
	}
	out := make(map[crypto.MemberID]node.MuteLevel)
	for _, m := range all {
		if m.Group == group {
			out[m.Member] = m.Level
		}
	}
	return out
}

// maxHiddenPages bounds how many pages of history visibleHistory reads
// past a blocked member's posts to fill one page.
const maxHiddenPages = 50

// visibleHistory is the page of g's history the API serves: up to limit
// posts before before, oldest first, without blocked members' posts
// (reading further back to fill the page) and with muted members' posts
// marked.
func (nr *nodeRoutes) visibleHistory(g *node.Group, before node.MessageID, limit int) ([]messageJSON, error) {
	levels := nr.muteLevels(g.ID())
	var out []messageJSON // newest first until the end
	for range maxHiddenPages {
		page, err := g.History(before, limit)
		if err != nil {
			return nil, err
		}
		for i := len(page) - 1; i >= 0 && len(out) < limit; i-- {
			m := page[i]
			level := levels[m.Author]
			if level == node.MuteBlocked {
				continue
			}
			j := messageOf(m)
			j.Muted = level == node.MuteMuted
			out = append(out, j)
		}
		if len(out) >= limit || len(page) < limit {
			break
		}
		before = page[0].ID
	}
	slices.Reverse(out)
	return out, nil
}

// moderateEvent applies mute and block to a node event on its way to the
// event stream: false for a blocked member's post, which is not served; a
// muted member's post is marked.
func moderateEvent(n *node.Node, ev node.Event, data *eventJSON) bool {
	if ev.Message == nil || data.Message == nil {
		return true
	}
	switch n.MuteLevelOf(ev.Group, ev.Message.Author) {
	case node.MuteBlocked:
		return false
	case node.MuteMuted:
		data.Message.Muted = true
	}
	return true
}

// moderationEventOf converts the node's moderation events; ok is false for
// other kinds.
func moderationEventOf(ev node.Event, data eventJSON) (typ string, out eventJSON, ok bool) {
	switch {
	case ev.Kind == node.EventMessageEdited && ev.Message != nil:
		m := messageOf(*ev.Message)
		data.Message = &m
		return EventMessageEdited, data, true
	case ev.Kind == node.EventMessageRemoved && ev.Removal != nil:
		r := removalOf(*ev.Removal)
		data.Removal = &r
		return EventMessageRemoved, data, true
	case ev.Kind == node.EventReport && ev.Report != nil:
		r := reportOf(*ev.Report)
		data.Report = &r
		return EventReport, data, true
	case ev.Kind == node.EventGuidelines && ev.Guidelines != nil:
		g := guidelinesOf(*ev.Guidelines)
		data.Guidelines = &g
		return EventGuidelines, data, true
	}
	return "", data, false
}
