package api

import (
	"errors"
	"net/http"

	"github.com/hearthnet/hearth/node"
	"github.com/hearthnet/hearth/protocol"
)

// The mailbox routes: what this node holds as a mailbox (and the string a
// host registers it with), and naming or removing a group's mailbox
// (docs/PROTOCOL.md, "Mailbox").

// Codes of the mailbox routes.
const (
	CodeNotMailbox      = "not_mailbox"
	CodeNoMailbox       = "no_mailbox"
	CodeBadRegistration = "bad_registration"
)

// mailboxRoutes serves the mailbox.
func mailboxRoutes(nr *nodeRoutes) []Route {
	const g = "/api/v1/groups/{group}"
	return []Route{
		{Method: http.MethodGet, Path: "/api/v1/mailbox",
			Summary: "Describe this node as a mailbox: its registration string and what it holds", Handler: nr.mailboxInfo},
		{Method: http.MethodGet, Path: g + "/mailbox",
			Summary: "Name the group's mailbox", Handler: nr.groupMailbox},
		{Method: http.MethodPut, Path: g + "/mailbox",
			Summary: "Name a mailbox for the group with its registration string (hosts)", Handler: nr.setMailbox},
		{Method: http.MethodDelete, Path: g + "/mailbox",
			Summary: "Stop naming a mailbox for the group (hosts)", Handler: nr.removeMailbox},
	}
}

// mailboxError maps the mailbox's errors, and passes the rest to
// nodeError.
func mailboxError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, node.ErrNotMailbox):
		return NewError(http.StatusConflict, CodeNotMailbox,
			"this node does not run as a mailbox; start it with 'hearth up --mailbox'")
	case errors.Is(err, node.ErrNoMailbox):
		return NewError(http.StatusNotFound, CodeNoMailbox,
			"this group has no mailbox; a host can name one with 'hearth mailbox add'")
	case errors.Is(err, node.ErrBadMailboxRegistration):
		return NewError(http.StatusBadRequest, CodeBadRegistration,
			"this is not a mailbox registration string; it starts with \"hearth-mailbox:\", so copy the whole of what 'hearth mailbox info' printed on the mailbox")
	case errors.Is(err, protocol.ErrBadChange):
		return NewError(http.StatusConflict, CodeConflict,
			"the group already names this mailbox")
	}
	return nodeError(err)
}

type mailboxInfoJSON struct {
	Registration string `json:"registration"`
	Groups       int    `json:"groups"`
	Envelopes    int    `json:"envelopes"`
	Bytes        int64  `json:"bytes"`
}

type groupMailboxJSON struct {
	PeerID string   `json:"peer_id"`
	Addrs  []string `json:"addrs"`
}

type setMailboxRequest struct {
	Registration string `json:"registration"`
}

func (nr *nodeRoutes) mailboxInfo(w http.ResponseWriter, r *http.Request) error {
	reg, err := nr.n.MailboxRegistration()
	if err != nil {
		return mailboxError(err)
	}
	st, err := nr.n.MailboxStats()
	if err != nil {
		return mailboxError(err)
	}
	writeJSON(w, http.StatusOK, mailboxInfoJSON{Registration: reg, Groups: st.Groups, Envelopes: st.Envelopes, Bytes: st.Bytes})
	return nil
}

func mailboxOf(info node.MailboxInfo) groupMailboxJSON {
	out := groupMailboxJSON{PeerID: info.PeerID.String(), Addrs: []string{}}
	for _, a := range info.Addrs {
		out.Addrs = append(out.Addrs, a.String())
	}
	return out
}

func (nr *nodeRoutes) groupMailbox(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	info, ok := g.Mailbox()
	if !ok {
		return mailboxError(node.ErrNoMailbox)
	}
	writeJSON(w, http.StatusOK, mailboxOf(info))
	return nil
}

func (nr *nodeRoutes) setMailbox(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	var req setMailboxRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	if err := g.SetMailbox(ctx, req.Registration); err != nil {
		return mailboxError(err)
	}
	info, ok := g.Mailbox()
	if !ok {
		return mailboxError(node.ErrNoMailbox)
	}
	writeJSON(w, http.StatusOK, mailboxOf(info))
	return nil
}

func (nr *nodeRoutes) removeMailbox(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	if err := g.RemoveMailbox(ctx); err != nil {
		return mailboxError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
