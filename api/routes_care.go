package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hearthnet/hearth/node"
	"github.com/hearthnet/hearth/protocol"
)

// The care routes: "I need help now" (SOS) and the answers to it, the
// crisis resources shown with it, and mentorship (docs/PROTOCOL.md, "SOS"
// and "Mentors"). Sending an SOS answers with the crisis resources at once:
// the member sees them before anyone has had time to answer, whatever the
// network does.

// Codes of the care routes.
const (
	CodeSOSTooSoon       = "sos_too_soon"
	CodeNoSOS            = "no_sos"
	CodeNoSOSTarget      = "no_sos_target"
	CodeNoMentorship     = "no_mentorship"
	CodeMentorshipExists = "mentorship_exists"
	CodeNotAPair         = "not_a_pair"
	CodeBadRegion        = "bad_region"
)

// careRoutes serves SOS, answers to it, crisis resources and mentorship.
func careRoutes(nr *nodeRoutes) []Route {
	const g = "/api/v1/groups/{group}"
	return []Route{
		{Method: http.MethodGet, Path: "/api/v1/crisis-resources",
			Summary: "List the crisis resources for a region", Handler: nr.crisisResources},
		{Method: http.MethodPost, Path: "/api/v1/sos",
			Summary: "Ask for help now: send an SOS to groups, to your mentor, or both", Handler: nr.sendSOS},
		{Method: http.MethodGet, Path: "/api/v1/sos",
			Summary: "List the SOSes of the last week in every group, with who answered", Handler: nr.listAllSOS},
		{Method: http.MethodGet, Path: g + "/sos",
			Summary: "List the group's SOSes of the last week, with who answered", Handler: nr.listSOS},
		{Method: http.MethodPost, Path: g + "/sos/{sos}/answer",
			Summary: "Answer an SOS: \"I'm here\"", Handler: nr.answerSOS},
		{Method: http.MethodGet, Path: "/api/v1/mentorships",
			Summary: "List your mentorships", Handler: nr.mentorships},
		{Method: http.MethodPost, Path: "/api/v1/mentorships/{mentorship}/end",
			Summary: "End a mentorship (or withdraw a request)", Handler: nr.endMentorship},
		{Method: http.MethodGet, Path: "/api/v1/mentor-requests",
			Summary: "List the mentorship requests and pairing suggestions waiting for your answer", Handler: nr.mentorRequests},
		{Method: http.MethodPost, Path: "/api/v1/mentor-requests/{mentorship}/accept",
			Summary: "Accept a mentorship request (or act on a pairing suggestion)", Handler: nr.acceptMentor},
		{Method: http.MethodPost, Path: "/api/v1/mentor-requests/{mentorship}/decline",
			Summary: "Decline a mentorship request (or dismiss a pairing suggestion)", Handler: nr.declineMentor},
		{Method: http.MethodPost, Path: g + "/members/{member}/mentor",
			Summary: "Ask a member to be your mentor, or offer to be theirs", Handler: nr.askMentor},
		{Method: http.MethodPost, Path: g + "/pairings",
			Summary: "Suggest to a member that they pair with another (hosts and moderators)", Handler: nr.suggestPairing},
	}
}

// crisisJSON is the crisis resources for one region, with the plain
// statement every interface shows beside them.
type crisisJSON struct {
	Region    string               `json:"region"`
	Regions   []string             `json:"regions"`
	Notice    string               `json:"notice"`
	Resources []crisisResourceJSON `json:"resources"`
}

type crisisResourceJSON struct {
	Region string `json:"region"`
	Name   string `json:"name"`
	Phone  string `json:"phone,omitempty"`
	SMS    string `json:"sms,omitempty"`
	URL    string `json:"url,omitempty"`
	Note   string `json:"note,omitempty"`
}

type sosJSON struct {
	ID        string         `json:"id"`
	Group     string         `json:"group"`
	Author    string         `json:"author"`
	Pseudonym string         `json:"pseudonym"`
	Text      string         `json:"text"`
	Sent      string         `json:"sent"`
	Received  string         `json:"received"`
	Mine      bool           `json:"mine"`
	Late      bool           `json:"late"`
	Replies   []sosReplyJSON `json:"replies"`
}

type sosReplyJSON struct {
	SOS       string `json:"sos"`
	Group     string `json:"group"`
	Author    string `json:"author"`
	Pseudonym string `json:"pseudonym"`
	Text      string `json:"text"`
	Sent      string `json:"sent"`
	Received  string `json:"received"`
	Mine      bool   `json:"mine"`
}

type sosSentJSON struct {
	Group string       `json:"group"`
	SOS   *sosJSON     `json:"sos,omitempty"`
	Error *errorDetail `json:"error,omitempty"`
}

// sosSentAllJSON answers POST /api/v1/sos: the crisis resources, and
// per target the SOS or its error.
type sosSentAllJSON struct {
	Crisis crisisJSON    `json:"crisis"`
	Sent   []sosSentJSON `json:"sent"`
}

type declinedJSON struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

type pairingSuggestedJSON struct {
	Member string `json:"member"`
	With   string `json:"with"`
	Status string `json:"status"`
}

type mentorshipJSON struct {
	ID            string `json:"id"`
	Parent        string `json:"parent"`
	Pair          string `json:"pair"`
	Peer          string `json:"peer"`
	PeerPseudonym string `json:"peer_pseudonym"`
	Role          string `json:"role"`
	State         string `json:"state"`
	Asker         bool   `json:"asker"`
	Text          string `json:"text"`
	Created       string `json:"created"`
	Updated       string `json:"updated"`
	// Outsiders: the mentorship ended because the pair's group held, or
	// had held, someone besides the two (node.Mentorship.Outsiders).
	Outsiders bool `json:"outsiders,omitempty"`
}

type mentorRequestJSON struct {
	ID               string `json:"id"`
	Group            string `json:"group"`
	Kind             string `json:"kind"`
	From             string `json:"from"`
	FromPseudonym    string `json:"from_pseudonym"`
	Text             string `json:"text"`
	Subject          string `json:"subject,omitempty"`
	SubjectPseudonym string `json:"subject_pseudonym,omitempty"`
	Received         string `json:"received"`
}

func crisisOf(n *node.Node, region string) crisisJSON {
	dir := n.CrisisDirectory()
	used, list := dir.For(region)
	out := crisisJSON{Region: used, Regions: dir.Regions(), Notice: node.CrisisNotice, Resources: []crisisResourceJSON{}}
	if out.Regions == nil {
		out.Regions = []string{}
	}
	for _, c := range list {
		out.Resources = append(out.Resources, crisisResourceJSON(c))
	}
	return out
}

func sosOf(s node.SOS) sosJSON {
	out := sosJSON{
		ID: s.ID.String(), Group: s.Group.String(), Author: s.Author.String(), Pseudonym: s.Pseudonym,
		Text: s.Text, Sent: rfc3339(s.Sent), Received: rfc3339(s.Received), Mine: s.Mine, Late: s.Late,
		Replies: []sosReplyJSON{},
	}
	for _, r := range s.Replies {
		out.Replies = append(out.Replies, sosReplyOf(r))
	}
	return out
}

func sosReplyOf(r node.SOSReply) sosReplyJSON {
	return sosReplyJSON{
		SOS: r.SOS.String(), Group: r.Group.String(), Author: r.Author.String(), Pseudonym: r.Pseudonym,
		Text: r.Text, Sent: rfc3339(r.Sent), Received: rfc3339(r.Received), Mine: r.Mine,
	}
}

func mentorshipOf(m node.Mentorship) mentorshipJSON {
	return mentorshipJSON{
		ID: m.ID.String(), Parent: m.Parent.String(), Pair: m.Pair.String(), Peer: m.Peer.String(),
		PeerPseudonym: m.PeerPseudonym, Role: m.Role.String(), State: m.State.String(), Asker: m.Asker,
		Text: m.Text, Created: rfc3339(m.Created), Updated: rfc3339(m.Updated), Outsiders: m.Outsiders,
	}
}

func mentorRequestOf(r node.MentorRequest) mentorRequestJSON {
	out := mentorRequestJSON{
		ID: r.ID.String(), Group: r.Group.String(), Kind: r.Kind.String(), From: r.From.String(),
		FromPseudonym: r.FromPseudonym, Text: r.Text, Received: rfc3339(r.Received),
	}
	if r.Kind == node.MentorPairing {
		out.Subject, out.SubjectPseudonym = r.Subject.String(), r.SubjectPseudonym
	}
	return out
}

func parseSOSID(s string) (node.SOSID, error) {
	return parseID("SOS", 2*len(node.SOSID{}), s, node.ParseSOSID)
}

func parseMentorshipID(s string) (node.MentorshipID, error) {
	return parseID("mentorship", 2*len(node.MentorshipID{}), s, node.ParseMentorshipID)
}

// parseRegion checks the region query parameter: "" (the configured
// default) or a two-letter code or INTL, in either case.
func parseRegion(s string) (string, error) {
	r := node.NormalizeRegion(s)
	if r == "" {
		return "", nil
	}
	if r != node.RegionInternational && (len(r) != 2 || strings.IndexFunc(r, func(c rune) bool { return c < 'A' || c > 'Z' }) >= 0) {
		return "", NewError(http.StatusBadRequest, CodeBadRegion,
			"the region must be a two-letter country code such as US or GB, or INTL")
	}
	return r, nil
}

// checkOptionalText refuses what checkPostText refuses, except that text
// may be empty: an SOS needs no words.
func checkOptionalText(what, s string, max int) error {
	switch {
	case len(s) > max:
		return NewError(http.StatusBadRequest, CodeBadText,
			fmt.Sprintf("the %s is %d bytes long, and at most %d are allowed; shorten it", what, len(s), max))
	case !utf8.ValidString(s):
		return NewError(http.StatusBadRequest, CodeBadText, fmt.Sprintf("the %s is not valid UTF-8 text", what))
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r >= 0x7f && r <= 0x9f {
			return NewError(http.StatusBadRequest, CodeBadText,
				fmt.Sprintf("the %s holds the control character U+%04X; remove it", what, r))
		}
	}
	return nil
}

func (nr *nodeRoutes) crisisResources(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := checkQuery(q, "region"); err != nil {
		return err
	}
	region, err := parseRegion(q.Get("region"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, crisisOf(nr.n, region))
	return nil
}

type sosRequest struct {
	Groups  []string `json:"groups"`
	Mentors bool     `json:"mentors"`
	Text    string   `json:"text"`
	Region  string   `json:"region"`
}

// sendSOS sends an SOS to every target and answers with the crisis
// resources and, per target, the SOS or the error. It answers 201 when at
// least one SOS was sent; when none was, the first target's error (so a
// member is never left believing an SOS went out that did not).
func (nr *nodeRoutes) sendSOS(w http.ResponseWriter, r *http.Request) error {
	var req sosRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := checkOptionalText("SOS text", req.Text, protocol.MaxSOSText); err != nil {
		return err
	}
	region, err := parseRegion(req.Region)
	if err != nil {
		return err
	}
	in := node.SOSInput{Mentors: req.Mentors, Text: req.Text}
	for _, s := range req.Groups {
		id, err := parseGroupID(s)
		if err != nil {
			return err
		}
		in.Groups = append(in.Groups, id)
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	sent, err := nr.n.SendSOS(ctx, in)
	if errors.Is(err, node.ErrNoSOSTarget) && req.Mentors {
		// Asked for the mentor alone and there is none: say that, not
		// the general "say where to send it".
		return NewError(http.StatusBadRequest, CodeNoSOSTarget,
			"you have no mentor (no active mentorship in which you are the mentee), so the SOS went nowhere; send it to one of your groups instead. "+
				"If you are in danger, call a crisis line or your local emergency number now")
	}
	if err != nil {
		return nodeError(err)
	}
	out := sosSentAllJSON{Crisis: crisisOf(nr.n, region), Sent: []sosSentJSON{}}
	for _, s := range sent {
		e := sosSentJSON{Group: s.Group.String()}
		if s.SOS != nil {
			j := sosOf(*s.SOS)
			e.SOS = &j
		} else {
			var ae *APIError
			if !errors.As(nodeError(s.Err), &ae) {
				ae = errInternal()
			}
			e.Error = &errorDetail{Code: ae.Code, Message: ae.Message}
		}
		out.Sent = append(out.Sent, e)
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (nr *nodeRoutes) listAllSOS(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r.URL.Query()); err != nil {
		return err
	}
	var all []node.SOS
	for _, g := range nr.n.Groups() {
		list, err := g.SOSes()
		if err != nil {
			return nodeError(err)
		}
		all = append(all, list...)
	}
	slices.SortFunc(all, func(a, b node.SOS) int { return b.Sent.Compare(a.Sent) })
	return writeList(w, all, sosOf)
}

func (nr *nodeRoutes) listSOS(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	if err := checkQuery(r.URL.Query()); err != nil {
		return err
	}
	list, err := g.SOSes()
	if err != nil {
		return nodeError(err)
	}
	return writeList(w, list, sosOf)
}

type textRequest struct {
	Text string `json:"text"`
}

func (nr *nodeRoutes) answerSOS(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	id, err := parseSOSID(r.PathValue("sos"))
	if err != nil {
		return err
	}
	var req textRequest
	if err := decodeOptionalJSON(w, r, &req); err != nil {
		return err
	}
	if err := checkOptionalText("answer", req.Text, protocol.MaxSOSText); err != nil {
		return err
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	reply, err := g.AnswerSOS(ctx, id, req.Text)
	if reply == nil {
		return nodeError(err)
	}
	writeJSON(w, http.StatusCreated, sosReplyOf(*reply))
	return nil
}

func (nr *nodeRoutes) mentorships(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r.URL.Query()); err != nil {
		return err
	}
	list, err := nr.n.Mentorships()
	if err != nil {
		return nodeError(err)
	}
	return writeList(w, list, mentorshipOf)
}

func (nr *nodeRoutes) mentorRequests(w http.ResponseWriter, r *http.Request) error {
	if err := checkQuery(r.URL.Query()); err != nil {
		return err
	}
	list, err := nr.n.MentorRequests()
	if err != nil {
		return nodeError(err)
	}
	return writeList(w, list, mentorRequestOf)
}

type askMentorRequest struct {
	Text  string `json:"text"`
	Offer bool   `json:"offer"`
}

func (nr *nodeRoutes) askMentor(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	m, err := parseMemberID(r.PathValue("member"))
	if err != nil {
		return err
	}
	var req askMentorRequest
	if err := decodeOptionalJSON(w, r, &req); err != nil {
		return err
	}
	if err := checkOptionalText("request text", req.Text, protocol.MaxNoteText); err != nil {
		return err
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	ms, err := g.AskMentor(ctx, m, req.Text, req.Offer)
	if err != nil {
		return nodeError(err)
	}
	writeJSON(w, http.StatusCreated, mentorshipOf(*ms))
	return nil
}

// mentorshipAction parses {mentorship} and an optional empty body, and
// runs do.
func (nr *nodeRoutes) mentorshipAction(w http.ResponseWriter, r *http.Request, do func(ctx context.Context, id node.MentorshipID) error) error {
	id, err := parseMentorshipID(r.PathValue("mentorship"))
	if err != nil {
		return err
	}
	if err := decodeOptionalJSON(w, r, &noFields{}); err != nil {
		return err
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	return do(ctx, id)
}

func (nr *nodeRoutes) acceptMentor(w http.ResponseWriter, r *http.Request) error {
	return nr.mentorshipAction(w, r, func(ctx context.Context, id node.MentorshipID) error {
		m, err := nr.n.AcceptMentor(ctx, id)
		if err != nil {
			return nodeError(err)
		}
		writeJSON(w, http.StatusOK, mentorshipOf(*m))
		return nil
	})
}

func (nr *nodeRoutes) declineMentor(w http.ResponseWriter, r *http.Request) error {
	return nr.mentorshipAction(w, r, func(ctx context.Context, id node.MentorshipID) error {
		if err := nr.n.DeclineMentor(ctx, id); err != nil {
			return nodeError(err)
		}
		writeJSON(w, http.StatusOK, declinedJSON{id.String(), "declined"})
		return nil
	})
}

func (nr *nodeRoutes) endMentorship(w http.ResponseWriter, r *http.Request) error {
	return nr.mentorshipAction(w, r, func(ctx context.Context, id node.MentorshipID) error {
		if err := nr.n.EndMentorship(ctx, id); err != nil {
			return nodeError(err)
		}
		m, err := nr.n.Mentorship(id)
		if err != nil {
			return nodeError(err)
		}
		writeJSON(w, http.StatusOK, mentorshipOf(*m))
		return nil
	})
}

type pairingRequest struct {
	Member string `json:"member"`
	With   string `json:"with"`
	Text   string `json:"text"`
}

func (nr *nodeRoutes) suggestPairing(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	var req pairingRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	a, err := parseMemberID(req.Member)
	if err != nil {
		return err
	}
	b, err := parseMemberID(req.With)
	if err != nil {
		return err
	}
	if err := checkOptionalText("suggestion text", req.Text, protocol.MaxNoteText); err != nil {
		return err
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	if err := g.SuggestPairing(ctx, a, b, req.Text); err != nil {
		return nodeError(err)
	}
	writeJSON(w, http.StatusOK, pairingSuggestedJSON{a.String(), b.String(), "suggested"})
	return nil
}
