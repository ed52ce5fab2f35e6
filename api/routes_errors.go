package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/node"
	"github.com/hearthnet/hearth/protocol"
)

// errorMapping turns one sentinel error of the node (or of the protocol
// and crypto layers it passes through) into the API's answer.
type errorMapping struct {
	err     error
	status  int
	code    string
	message string
}

// nodeErrorTable is the one place node errors become API errors. It is
// searched in order with errors.Is, so a more specific sentinel comes
// before one it may wrap (crypto.ErrInviteVersion is wrapped together with
// node.ErrInviteMalformed). Messages are for the member reading them: what
// happened and what to do, never an internal detail.
func nodeErrorTable() []errorMapping {
	return []errorMapping{
		{node.ErrClosed, http.StatusServiceUnavailable, CodeUnavailable,
			"the node is shutting down; start it again with 'hearth up' and try again"},
		{context.DeadlineExceeded, http.StatusServiceUnavailable, CodeUnavailable,
			"the node did not finish this in time; check that you are online and try again"},
		// Unlocking a home from the web UI (routes_unlock.go). 403, not
		// 401: the caller is authenticated, and 401 tells the web UI its
		// session ended.
		{crypto.ErrBadPassphrase, http.StatusForbidden, CodeBadPassphrase,
			"this passphrase does not open this Hearth home; check it (capital letters, spaces) and try again"},
		{crypto.ErrBadID, http.StatusBadRequest, CodeBadID,
			"an ID in the request is not valid; copy it again from where you found it"},
		{node.ErrNoGroup, http.StatusNotFound, CodeNoGroup,
			"this node is not in a group with that ID; list your groups to find the right one"},
		{node.ErrRemoved, http.StatusConflict, CodeRemoved,
			"you are no longer in this group, so nothing can be done in it; its history stays readable here"},
		{node.ErrNotAdmin, http.StatusForbidden, CodeNotAdmin,
			"only a host or moderator of the group can do this (and only a host can change roles); ask one of them"},
		{node.ErrNoInvite, http.StatusNotFound, CodeNoInvite,
			"this group has no invite with that ID; list the group's invites to find it"},
		{node.ErrNotWaiting, http.StatusNotFound, CodeNotWaiting,
			"nobody with that ID is waiting to join; they may have been admitted or declined already"},
		{node.ErrNoMember, http.StatusNotFound, CodeNoMember,
			"nobody with that ID is in the group; list the members to find them"},
		{node.ErrNoMessage, http.StatusNotFound, CodeNotFound,
			"no message with that ID is held here (it may have expired); ask for the newest messages instead"},
		{crypto.ErrInviteVersion, http.StatusBadRequest, CodeInviteMalformed,
			"this invite was made by a newer version of Hearth; update Hearth and try again"},
		{node.ErrInviteMistyped, http.StatusBadRequest, CodeInviteMistyped,
			"this invite looks mistyped; copy it again exactly, or ask for it again"},
		{node.ErrInviteMalformed, http.StatusBadRequest, CodeInviteMalformed,
			"this is not a Hearth invite; an invite starts with \"hearth:\", so copy the whole of it"},
		{node.ErrInviteExpired, http.StatusGone, CodeInviteExpired,
			"this invite has expired; ask the group's host for a new one"},
		{node.ErrInviteRevoked, http.StatusGone, CodeInviteRevoked,
			"this invite was withdrawn by the group's hosts; ask them for a new one"},
		{node.ErrInviteUsedUp, http.StatusGone, CodeInviteUsedUp,
			"this invite has been used as many times as it allows; ask the group's host for a new one"},
		{node.ErrInviteUnknown, http.StatusNotFound, CodeInviteUnknown,
			"the group's host does not recognise this invite (it may be mistyped, or meant for another group); ask for a new one"},
		{node.ErrJoinDenied, http.StatusForbidden, CodeJoinDenied,
			"a host of the group declined the request to join"},
		{node.ErrJoinFailed, http.StatusServiceUnavailable, CodeUnavailable,
			"the group's host could not add you right now (the group may be full); try again later"},
		{node.ErrAdminUnreachable, http.StatusBadGateway, CodeAdminUnreachable,
			"could not reach the group's host; check that they are online, and that you are, and try again"},
		{node.ErrAlreadyMember, http.StatusConflict, CodeAlreadyMember,
			"you are already a member of this group"},
		{protocol.ErrBadPseudonym, http.StatusBadRequest, CodeBadPseudonym,
			fmt.Sprintf("a pseudonym must be 1 to %d characters, with no control or text-direction characters; choose another", protocol.MaxPseudonymChars)},
		{protocol.ErrBadGroupName, http.StatusBadRequest, CodeBadGroupName,
			fmt.Sprintf("a group name must be 1 to %d characters, with no control or text-direction characters; choose another", protocol.MaxGroupNameChars)},
		{protocol.ErrBadPost, http.StatusBadRequest, CodeBadText,
			fmt.Sprintf("the message cannot be posted as it is: it must be 1 to %d bytes of text", protocol.MaxPostText)},
		{protocol.ErrBadRole, http.StatusBadRequest, CodeBadRequest,
			"the role must be host, moderator or member"},
		{protocol.ErrLastHost, http.StatusConflict, CodeConflict,
			"the group must keep at least one host; make someone else a host first"},
		{protocol.ErrBadChange, http.StatusConflict, CodeConflict,
			"this change does not apply to the group as it is now (for example, the member already has that role)"},
		{protocol.ErrRosterFull, http.StatusConflict, CodeConflict,
			"the group is full; nobody more can be added"},
		// SOS, crisis resources and mentorship (routes_care.go).
		{node.ErrSOSTooSoon, http.StatusTooManyRequests, CodeSOSTooSoon,
			"you sent an SOS to this group less than a minute ago and its members have it; if you are in danger, call a crisis line or your local emergency number now"},
		{node.ErrNoSOS, http.StatusNotFound, CodeNoSOS,
			"no SOS with that ID is held here (they are kept for a week); list the group's SOSes to find it"},
		{node.ErrNoSOSTarget, http.StatusBadRequest, CodeNoSOSTarget,
			"say where to send the SOS: one of your groups, or your mentor if you have one"},
		{node.ErrNoMentorship, http.StatusNotFound, CodeNoMentorship,
			"no mentorship or request with that ID is held here; list your mentorships and requests to find it"},
		{node.ErrMentorshipExists, http.StatusConflict, CodeMentorshipExists,
			"you already asked this member, or are paired with them, in this group"},
		{node.ErrNotAPair, http.StatusConflict, CodeNotAPair,
			"this request led to a group with other people in it, not a private pair, so you left it at once; nothing you write reached it"},
		{node.ErrMentorPair, http.StatusConflict, CodeConflict, "this is a private mentorship pair, so nobody else can be invited to it or let in"},
		{node.ErrBadCrisisResource, http.StatusBadRequest, CodeBadRegion,
			"the region must be a two-letter country code such as US or GB, or INTL"},
	}
}

// nodeError turns an error from the node into what a handler returns: the
// mapped *APIError for a known sentinel, err itself when it already is an
// *APIError, and otherwise err unchanged, which the server logs and
// answers with 500 "internal" and no details.
func nodeError(err error) error {
	if err == nil {
		return nil
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	for _, m := range append(nodeErrorTable(), moderationErrors()...) {
		if errors.Is(err, m.err) {
			return NewError(m.status, m.code, m.message)
		}
	}
	return err
}
