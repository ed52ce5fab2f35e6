package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/node"
	"github.com/hearthnet/hearth/protocol"
)

// This file parses and checks what the node routes take from a request:
// IDs in the path, durations, names, post text and query parameters. Every
// check here refuses with an *APIError whose code is one of the contract's
// and whose message says what to send instead; nothing is corrected
// silently, because a request that means something other than what was
// typed (an ID in another case, a duration of "-1d") is a mistake to
// report, not to guess at.

// Codes of the node routes (see also the Code constants of errors.go).
const (
	CodeBadPseudonym     = "bad_pseudonym"
	CodeBadGroupName     = "bad_group_name"
	CodeBadText          = "bad_text"
	CodeBadDuration      = "bad_duration"
	CodeBadID            = "bad_id"
	CodeNoGroup          = "no_group"
	CodeNoInvite         = "no_invite"
	CodeNotWaiting       = "not_waiting"
	CodeNoMember         = "no_member"
	CodeNotAdmin         = "not_admin"
	CodeRemoved          = "removed"
	CodeAlreadyMember    = "already_member"
	CodeInviteMistyped   = "invite_mistyped"
	CodeInviteMalformed  = "invite_malformed"
	CodeInviteExpired    = "invite_expired"
	CodeInviteRevoked    = "invite_revoked"
	CodeInviteUsedUp     = "invite_used_up"
	CodeInviteUnknown    = "invite_unknown"
	CodeJoinDenied       = "join_denied"
	CodeAdminUnreachable = "admin_unreachable"
)

// Bounds of the durations the API takes. An invite is a bearer secret, so
// it may not live longer than a year; a retention longer than ten years is
// written "forever".
const (
	maxInviteExpiry = 365 * 24 * time.Hour
	maxRetention    = 3650 * 24 * time.Hour
	// maxDurationDigits keeps the number of a duration within int64 when
	// it is parsed; the bound itself is checked before multiplying.
	maxDurationDigits = 6
)

// Bounds of GET .../messages.
const (
	defaultMessageLimit = 50
	maxMessageLimit     = 500
)

// maxInviteText bounds the invite string POST /api/v1/join takes; real
// invites are a few hundred characters.
const maxInviteText = 4096

// parseDuration parses "<n>d", "<n>h" or "<n>m" with n a positive decimal
// integer without sign or leading zeros, at most max. It refuses
// everything else ("", "0h", "-1d", "1.5h", "1h30m", "01d", " 1d", "1D",
// Go's "1h0m0s") with bad_duration; what is whose name goes in the
// message.
func parseDuration(what, s string, max time.Duration) (time.Duration, error) {
	bad := func(why string) error {
		return NewError(http.StatusBadRequest, CodeBadDuration,
			fmt.Sprintf("the %s %q is not a duration this API takes: %s; write a whole number of days, hours or minutes, such as \"30d\", \"12h\" or \"90m\"", what, s, why))
	}
	if len(s) < 2 {
		return 0, bad("it is too short")
	}
	num, unit := s[:len(s)-1], s[len(s)-1]
	var per time.Duration
	switch unit {
	case 'd':
		per = 24 * time.Hour
	case 'h':
		per = time.Hour
	case 'm':
		per = time.Minute
	default:
		return 0, bad("it must end in d, h or m")
	}
	if len(num) > maxDurationDigits {
		return 0, bad("the number is too large")
	}
	for i := 0; i < len(num); i++ {
		if num[i] < '0' || num[i] > '9' {
			return 0, bad("the number must be digits only")
		}
	}
	if num[0] == '0' {
		return 0, bad("it must be more than zero, without leading zeros")
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, bad("the number does not parse")
	}
	// Compared before multiplying: n*per could pass 2^63 ns (292 years)
	// and wrap around to a small or negative duration.
	if n > int64(max/per) {
		return 0, NewError(http.StatusBadRequest, CodeBadDuration,
			fmt.Sprintf("the %s %q is longer than the most this API allows, %s", what, s, formatDuration(max)))
	}
	d := time.Duration(n) * per
	return d, nil
}

// parseRetention parses a group's retention: a duration, or "forever"
// (also what "" means), which is 0 to the node.
func parseRetention(s string) (time.Duration, error) {
	if s == "" || s == "forever" {
		return 0, nil
	}
	return parseDuration("retention", s, maxRetention)
}

// formatDuration writes d in the largest unit that divides it: "30d",
// "12h", "90m", and "45s" for the odd retention another client chose
// (the protocol counts retention in seconds). Zero is "forever".
func formatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "forever"
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// isLowerHex reports whether s is lower-case hex digits only. The crypto
// parsers accept upper case too; the API names every object in exactly one
// spelling, so that two spellings never name one group in a URL, a log or
// a cache.
func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// badID is the refusal of an ID that is not digits lower-case hex of the
// right length.
func badID(what string, digits int) error {
	return NewError(http.StatusBadRequest, CodeBadID,
		fmt.Sprintf("the %s ID must be %d lower-case hex digits; copy it again from where you found it", what, digits))
}

// parseID parses s with parse after checking that it is lower-case hex;
// what and digits name the kind of ID in the refusal.
func parseID[T any](what string, digits int, s string, parse func(string) (T, error)) (T, error) {
	var zero T
	if len(s) != digits || !isLowerHex(s) {
		return zero, badID(what, digits)
	}
	id, err := parse(s)
	if err != nil {
		return zero, badID(what, digits)
	}
	return id, nil
}

func parseGroupID(s string) (crypto.GroupID, error) {
	return parseID("group", 2*len(crypto.GroupID{}), s, crypto.ParseGroupID)
}

func parseMemberID(s string) (crypto.MemberID, error) {
	return parseID("member", 2*crypto.MemberIDSize, s, crypto.ParseMemberID)
}

func parseInviteID(s string) (crypto.InviteID, error) {
	return parseID("invite", 2*crypto.InviteIDSize, s, crypto.ParseInviteID)
}

func parseMessageID(s string) (node.MessageID, error) {
	return parseID("message", 2*len(node.MessageID{}), s, node.ParseMessageID)
}

// checkPseudonym returns the pseudonym as the protocol keeps it (trimmed),
// or bad_pseudonym.
func checkPseudonym(s string) (string, error) {
	p, err := protocol.ValidatePseudonym(s)
	if err != nil {
		return "", NewError(http.StatusBadRequest, CodeBadPseudonym,
			fmt.Sprintf("a pseudonym must be 1 to %d characters, with no control or text-direction characters; choose another", protocol.MaxPseudonymChars))
	}
	return p, nil
}

// checkGroupName returns the name as the protocol keeps it (trimmed), or
// bad_group_name.
func checkGroupName(s string) (string, error) {
	n, err := protocol.ValidateGroupName(s)
	if err != nil {
		return "", NewError(http.StatusBadRequest, CodeBadGroupName,
			fmt.Sprintf("a group name must be 1 to %d characters, with no control or text-direction characters; choose another", protocol.MaxGroupNameChars))
	}
	return n, nil
}

// checkPostText refuses text the protocol would refuse (empty, more than
// protocol.MaxPostText bytes, not UTF-8) and, beyond it, text that is only
// white space or holds control characters other than tab, line feed and
// carriage return. Control characters have no place in a post and can
// rewrite a terminal that prints it; the protocol lets them through
// because it cannot know how a reader displays text, so the API, which
// takes what people type, refuses them at the source. Bidirectional
// marks stay allowed: people who write Arabic or Hebrew need them, and
// unlike in a pseudonym they cannot impersonate anyone.
func checkPostText(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return NewError(http.StatusBadRequest, CodeBadText, "the message is empty; write something")
	case len(s) > protocol.MaxPostText:
		return NewError(http.StatusBadRequest, CodeBadText,
			fmt.Sprintf("the message is %d bytes long, and at most %d fit in one post; split it into several", len(s), protocol.MaxPostText))
	case !utf8.ValidString(s):
		return NewError(http.StatusBadRequest, CodeBadText, "the message is not valid UTF-8 text")
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r >= 0x7f && r <= 0x9f {
			return NewError(http.StatusBadRequest, CodeBadText,
				fmt.Sprintf("the message holds the control character U+%04X; remove it", r))
		}
	}
	return nil
}

// checkQuery refuses query parameters other than allowed, and any given
// twice: a strict reader never guesses which of two values was meant.
func checkQuery(q url.Values, allowed ...string) error {
	for k, v := range q {
		ok := false
		for _, a := range allowed {
			if k == a {
				ok = true
			}
		}
		if !ok {
			return NewError(http.StatusBadRequest, CodeBadRequest,
				fmt.Sprintf("the query parameter %q is not one this endpoint takes; remove it", k))
		}
		if len(v) != 1 {
			return NewError(http.StatusBadRequest, CodeBadRequest,
				fmt.Sprintf("the query parameter %q is given %d times; give it once", k, len(v)))
		}
	}
	return nil
}

// parseLimit parses the limit query parameter: "" is the default, and
// otherwise a decimal integer from 1 to maxMessageLimit without sign or
// leading zeros.
func parseLimit(s string) (int, error) {
	if s == "" {
		return defaultMessageLimit, nil
	}
	bad := NewError(http.StatusBadRequest, CodeBadRequest,
		fmt.Sprintf("limit must be a whole number from 1 to %d", maxMessageLimit))
	if len(s) > 3 || s[0] == '0' {
		return 0, bad
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxMessageLimit || strconv.Itoa(n) != s {
		return 0, bad
	}
	return n, nil
}

// decodeOptionalJSON decodes the body into dst when there is one, and
// accepts a request without a body (no Content-Type and no content) as an
// empty object. A body that is there is decoded as strictly as
// decodeJSON decodes any.
func decodeOptionalJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return nil
	}
	return decodeJSON(w, r, dst)
}

// noFields is what routes that take no fields decode into: only {} (or no
// body at all) passes.
type noFields struct{}
