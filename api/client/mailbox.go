package client

import (
	"context"
	"net/http"
)

// MailboxInfo is what GET /api/v1/mailbox answers: the string a host gives
// 'hearth mailbox add' to name this node as a group's mailbox, and what
// the mailbox holds.
type MailboxInfo struct {
	Registration string `json:"registration"`
	Groups       int    `json:"groups"`
	Envelopes    int    `json:"envelopes"`
	Bytes        int64  `json:"bytes"`
}

// GroupMailbox names a group's mailbox.
type GroupMailbox struct {
	PeerID string   `json:"peer_id"`
	Addrs  []string `json:"addrs"`
}

// Mailbox describes this node as a mailbox. Codes: not_mailbox (the daemon
// does not run as one).
func (c *Client) Mailbox(ctx context.Context) (MailboxInfo, error) {
	var out MailboxInfo
	err := c.Do(ctx, http.MethodGet, "/api/v1/mailbox", nil, &out)
	return out, err
}

// GroupMailbox names the group's mailbox. Codes: bad_id, no_group,
// no_mailbox.
func (c *Client) GroupMailbox(ctx context.Context, group string) (GroupMailbox, error) {
	var out GroupMailbox
	p, err := groupPath(group, "/mailbox")
	if err != nil {
		return out, err
	}
	err = c.Do(ctx, http.MethodGet, p, nil, &out)
	return out, err
}

// SetMailbox names the mailbox whose registration string is given as the
// group's mailbox. Codes: bad_id, no_group, bad_registration, not_admin
// (only hosts), removed, conflict (already named).
func (c *Client) SetMailbox(ctx context.Context, group, registration string) (GroupMailbox, error) {
	var out GroupMailbox
	p, err := groupPath(group, "/mailbox")
	if err != nil {
		return out, err
	}
	err = c.Do(ctx, http.MethodPut, p, struct {
		Registration string `json:"registration"`
	}{registration}, &out)
	return out, err
}

// RemoveMailbox stops naming a mailbox for the group. Codes: bad_id,
// no_group, no_mailbox, not_admin, removed.
func (c *Client) RemoveMailbox(ctx context.Context, group string) error {
	p, err := groupPath(group, "/mailbox")
	if err != nil {
		return err
	}
	return c.Do(ctx, http.MethodDelete, p, nil, nil)
}
