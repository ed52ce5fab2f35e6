package client

import (
	"context"
	"net/http"
	"time"
)

// The methods of this file moderate a group: an author's edits and
// deletions, a host's or moderator's removals, reports to the hosts and
// moderators, the group's pinned guidelines, and mute and block, which stay
// on this node. Errors as the group methods; the moderation codes are
// not_author, no_report, no_guidelines and self, besides bad_id, bad_text,
// not_found, no_group, no_member, not_admin and removed.

// The live events of moderation (Event.Type).
const (
	// EventMessageEdited: EventData.Message is the post as it now reads.
	EventMessageEdited = "message_edited"
	// EventMessageRemoved: EventData.Removal says which post and by whom.
	EventMessageRemoved = "message_removed"
	// EventReport: EventData.Report is a report this host or moderator
	// received.
	EventReport = "report"
	// EventGuidelines: EventData.Guidelines are the group's new
	// guidelines.
	EventGuidelines = "guidelines"
)

// Removal says that a post was deleted by its author ("author") or removed
// by a host or moderator ("moderator"); its text is erased.
type Removal struct {
	Post    string    `json:"post"`
	By      string    `json:"by"`
	Remover string    `json:"remover"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
}

// Report is a member's report of a post, as a host or moderator received
// it. Status is "open", or "removed" once the post was removed (its
// excerpt is erased then).
type Report struct {
	ID                string    `json:"id"`
	Post              string    `json:"post"`
	Author            string    `json:"author"`
	Pseudonym         string    `json:"pseudonym"`
	Excerpt           string    `json:"excerpt"`
	Reason            string    `json:"reason"`
	Reporter          string    `json:"reporter"`
	ReporterPseudonym string    `json:"reporter_pseudonym"`
	Sent              time.Time `json:"sent"`
	Status            string    `json:"status"`
}

// Guidelines are a group's pinned guidelines (Version 0: none yet), with
// the version this member accepted; Current says whether that is the
// current one.
type Guidelines struct {
	Version   uint64 `json:"version"`
	Text      string `json:"text"`
	SetBy     string `json:"set_by"`
	Pseudonym string `json:"pseudonym"`
	Set       string `json:"set"`
	Accepted  uint64 `json:"accepted"`
	Current   bool   `json:"current"`
}

// Muted is a member this member muted ("muted") or blocked ("blocked").
type Muted struct {
	Member string `json:"member"`
	Level  string `json:"level"`
}

// messagePath returns the path of message in group, followed by rest.
func messagePath(group, message, rest string) (string, error) {
	m, err := segment("message", message)
	if err != nil {
		return "", err
	}
	return groupPath(group, "/messages/"+m+rest)
}

// EditMessage replaces the text of one of this member's own posts and
// returns the post as it now reads. Codes: bad_id, bad_text, not_found,
// not_author, no_group, removed.
func (c *Client) EditMessage(ctx context.Context, group, message, text string) (Message, error) {
	var out Message
	p, err := messagePath(group, message, "")
	if err != nil {
		return out, err
	}
	err = c.Do(ctx, http.MethodPut, p, struct {
		Text string `json:"text"`
	}{text}, &out)
	return out, err
}

// DeleteMessage deletes one of this member's own posts, for every member.
// Codes as EditMessage.
func (c *Client) DeleteMessage(ctx context.Context, group, message string) error {
	p, err := messagePath(group, message, "")
	if err != nil {
		return err
	}
	var out map[string]any
	return c.Do(ctx, http.MethodDelete, p, nil, &out)
}

type reasonRequest struct {
	Reason string `json:"reason,omitempty"`
}

// RemoveMessage removes a post as a host or moderator, with a reason
// members see in its place (may be ""). Codes: bad_id, bad_text,
// not_found, not_admin, no_group, removed.
func (c *Client) RemoveMessage(ctx context.Context, group, message, reason string) error {
	p, err := messagePath(group, message, "/remove")
	if err != nil {
		return err
	}
	var out map[string]any
	return c.Do(ctx, http.MethodPost, p, reasonRequest{reason}, &out)
}

// ReportMessage reports a post to the group's hosts and moderators only.
// Codes: bad_id, bad_text, not_found, self, no_group, removed.
func (c *Client) ReportMessage(ctx context.Context, group, message, reason string) error {
	p, err := messagePath(group, message, "/report")
	if err != nil {
		return err
	}
	var out map[string]any
	return c.Do(ctx, http.MethodPost, p, reasonRequest{reason}, &out)
}

// Reports lists the reports this host or moderator received, oldest first
// (none for other members). Codes: bad_id, no_group.
func (c *Client) Reports(ctx context.Context, group string) ([]Report, error) {
	p, err := groupPath(group, "/reports")
	if err != nil {
		return nil, err
	}
	var out []Report
	if err := c.Do(ctx, http.MethodGet, p, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// DismissReport deletes a report from this node. Codes: bad_id, no_group,
// no_report.
func (c *Client) DismissReport(ctx context.Context, group, report string) error {
	r, err := segment("report", report)
	if err != nil {
		return err
	}
	p, err := groupPath(group, "/reports/"+r)
	if err != nil {
		return err
	}
	var out map[string]any
	return c.Do(ctx, http.MethodDelete, p, nil, &out)
}

// Guidelines returns the group's guidelines. Codes: bad_id, no_group.
func (c *Client) Guidelines(ctx context.Context, group string) (Guidelines, error) {
	var out Guidelines
	p, err := groupPath(group, "/guidelines")
	if err != nil {
		return out, err
	}
	err = c.Do(ctx, http.MethodGet, p, nil, &out)
	return out, err
}

// SetGuidelines pins new guidelines (a host or moderator only). Codes:
// bad_id, bad_text, not_admin, no_group, removed.
func (c *Client) SetGuidelines(ctx context.Context, group, text string) (Guidelines, error) {
	var out Guidelines
	p, err := groupPath(group, "/guidelines")
	if err != nil {
		return out, err
	}
	err = c.Do(ctx, http.MethodPut, p, struct {
		Text string `json:"text"`
	}{text}, &out)
	return out, err
}

// AcceptGuidelines records that this member accepted the current
// guidelines. Codes: bad_id, no_group, no_guidelines.
func (c *Client) AcceptGuidelines(ctx context.Context, group string) (Guidelines, error) {
	var out Guidelines
	p, err := groupPath(group, "/guidelines/accept")
	if err != nil {
		return out, err
	}
	err = c.Do(ctx, http.MethodPost, p, nil, &out)
	return out, err
}

// MutedMembers lists the members this member muted or blocked in the
// group. Codes: bad_id, no_group.
func (c *Client) MutedMembers(ctx context.Context, group string) ([]Muted, error) {
	p, err := groupPath(group, "/muted")
	if err != nil {
		return nil, err
	}
	var out []Muted
	if err := c.Do(ctx, http.MethodGet, p, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Mute folds member's posts away on this node; nothing is sent. Codes:
// bad_id, no_group, no_member, self.
func (c *Client) Mute(ctx context.Context, group, member string) error {
	return c.memberAction(ctx, http.MethodPost, group, "members", member, "mute", nil)
}

// Block hides member's posts entirely on this node; nothing is sent.
// Codes as Mute.
func (c *Client) Block(ctx context.Context, group, member string) error {
	return c.memberAction(ctx, http.MethodPost, group, "members", member, "block", nil)
}

// Unmute ends a mute or block. Codes: bad_id, no_group.
func (c *Client) Unmute(ctx context.Context, group, member string) error {
	return c.memberAction(ctx, http.MethodPost, group, "members", member, "unmute", nil)
}

// Unblock ends a block or mute. Codes as Unmute.
func (c *Client) Unblock(ctx context.Context, group, member string) error {
	return c.memberAction(ctx, http.MethodPost, group, "members", member, "unblock", nil)
}
