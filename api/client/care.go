package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// The methods of this file ask for help now (SOS), answer it, read the
// crisis resources, and drive mentorship. Errors as the group methods: an
// *Error when the daemon refuses (codes sos_too_soon, no_sos,
// no_sos_target, no_mentorship, mentorship_exists, bad_region, and the
// group codes), the transport's error, wrapped, otherwise.

// CrisisResource is one crisis line or directory.
type CrisisResource struct {
	Region string `json:"region"`
	Name   string `json:"name"`
	Phone  string `json:"phone,omitempty"`
	SMS    string `json:"sms,omitempty"`
	URL    string `json:"url,omitempty"`
	Note   string `json:"note,omitempty"`
}

// Crisis is the crisis resources of a region, with the statement that
// members are peers, not a crisis service.
type Crisis struct {
	Region    string           `json:"region"`
	Regions   []string         `json:"regions"`
	Notice    string           `json:"notice"`
	Resources []CrisisResource `json:"resources"`
}

// SOS is a member's request for help, with who answered it.
type SOS struct {
	ID        string     `json:"id"`
	Group     string     `json:"group"`
	Author    string     `json:"author"`
	Pseudonym string     `json:"pseudonym"`
	Text      string     `json:"text"`
	Sent      string     `json:"sent"`
	Received  string     `json:"received"`
	Mine      bool       `json:"mine"`
	Late      bool       `json:"late"`
	Replies   []SOSReply `json:"replies"`
}

// SOSReply is a member's "I'm here".
type SOSReply struct {
	SOS       string `json:"sos"`
	Group     string `json:"group"`
	Author    string `json:"author"`
	Pseudonym string `json:"pseudonym"`
	Text      string `json:"text"`
	Sent      string `json:"sent"`
	Received  string `json:"received"`
	Mine      bool   `json:"mine"`
}

// SOSInput is the body of POST /api/v1/sos.
type SOSInput struct {
	Groups  []string `json:"groups,omitempty"`
	Mentors bool     `json:"mentors,omitempty"`
	Text    string   `json:"text,omitempty"`
	Region  string   `json:"region,omitempty"`
}

// SOSTarget is the outcome of an SOS in one group: the SOS, or the error.
type SOSTarget struct {
	Group string `json:"group"`
	SOS   *SOS   `json:"sos,omitempty"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// SOSSent is the answer of SendSOS.
type SOSSent struct {
	Crisis Crisis      `json:"crisis"`
	Sent   []SOSTarget `json:"sent"`
}

// Mentorship is one of this member's mentorships.
type Mentorship struct {
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
	// Outsiders is set when the mentorship ended because someone besides
	// the two was added to their private group: what either wrote after
	// that may have been read by them.
	Outsiders bool `json:"outsiders,omitempty"`
}

// MentorRequest is a request (or pairing suggestion) waiting for an answer.
type MentorRequest struct {
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

// CareEventData is the data of the "sos", "sos_reply", "mentor_request"
// and "mentorship" events: the group and the field the type calls for.
type CareEventData struct {
	Group         string         `json:"group"`
	SOS           *SOS           `json:"sos,omitempty"`
	SOSReply      *SOSReply      `json:"sos_reply,omitempty"`
	MentorRequest *MentorRequest `json:"mentor_request,omitempty"`
	Mentorship    *Mentorship    `json:"mentorship,omitempty"`
}

// CareData decodes the data of a care event.
func (ev Event) CareData() (CareEventData, error) {
	var d CareEventData
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return CareEventData{}, fmt.Errorf("hearth/api/client: %s event data does not decode: %w", ev.Type, err)
	}
	return d, nil
}

// CrisisResources returns the crisis resources of region ("" for the
// daemon's default).
func (c *Client) CrisisResources(ctx context.Context, region string) (Crisis, error) {
	var out Crisis
	p := "/api/v1/crisis-resources"
	if region != "" {
		p += "?" + url.Values{"region": {region}}.Encode()
	}
	err := c.Do(ctx, http.MethodGet, p, nil, &out)
	return out, err
}

// SendSOS asks for help now: an SOS to the groups named, to the member's
// mentor, or both. The answer carries the crisis resources.
func (c *Client) SendSOS(ctx context.Context, in SOSInput) (SOSSent, error) {
	var out SOSSent
	err := c.Do(ctx, http.MethodPost, "/api/v1/sos", in, &out)
	return out, err
}

// SOSes lists the SOSes of the last week: in group, or in every group when
// group is "".
func (c *Client) SOSes(ctx context.Context, group string) ([]SOS, error) {
	var out []SOS
	p := "/api/v1/sos"
	if group != "" {
		var err error
		if p, err = groupPath(group, "/sos"); err != nil {
			return nil, err
		}
	}
	err := c.Do(ctx, http.MethodGet, p, nil, &out)
	return out, err
}

// AnswerSOS answers an SOS: "I'm here", with text (which may be empty).
func (c *Client) AnswerSOS(ctx context.Context, group, sos, text string) (SOSReply, error) {
	var out SOSReply
	s, err := segment("SOS", sos)
	if err != nil {
		return out, err
	}
	p, err := groupPath(group, "/sos/"+s+"/answer")
	if err != nil {
		return out, err
	}
	err = c.Do(ctx, http.MethodPost, p, struct {
		Text string `json:"text"`
	}{text}, &out)
	return out, err
}

// Mentorships lists this member's mentorships.
func (c *Client) Mentorships(ctx context.Context) ([]Mentorship, error) {
	var out []Mentorship
	err := c.Do(ctx, http.MethodGet, "/api/v1/mentorships", nil, &out)
	return out, err
}

// MentorRequests lists the requests and pairing suggestions waiting for
// this member's answer.
func (c *Client) MentorRequests(ctx context.Context) ([]MentorRequest, error) {
	var out []MentorRequest
	err := c.Do(ctx, http.MethodGet, "/api/v1/mentor-requests", nil, &out)
	return out, err
}

// AskMentor asks member of group to be this member's mentor (or, with
// offer, offers to be theirs).
func (c *Client) AskMentor(ctx context.Context, group, member, text string, offer bool) (Mentorship, error) {
	var out Mentorship
	m, err := segment("member", member)
	if err != nil {
		return out, err
	}
	p, err := groupPath(group, "/members/"+m+"/mentor")
	if err != nil {
		return out, err
	}
	err = c.Do(ctx, http.MethodPost, p, struct {
		Text  string `json:"text,omitempty"`
		Offer bool   `json:"offer,omitempty"`
	}{text, offer}, &out)
	return out, err
}

func mentorRequestPath(id, action string) (string, error) {
	s, err := segment("mentorship", id)
	if err != nil {
		return "", err
	}
	return "/api/v1/mentor-requests/" + s + "/" + action, nil
}

// AcceptMentor accepts a request (for a pairing suggestion: asks the member
// it names).
func (c *Client) AcceptMentor(ctx context.Context, id string) (Mentorship, error) {
	var out Mentorship
	p, err := mentorRequestPath(id, "accept")
	if err != nil {
		return out, err
	}
	err = c.Do(ctx, http.MethodPost, p, struct{}{}, &out)
	return out, err
}

// DeclineMentor declines a request (or dismisses a pairing suggestion).
func (c *Client) DeclineMentor(ctx context.Context, id string) error {
	p, err := mentorRequestPath(id, "decline")
	if err != nil {
		return err
	}
	var out struct{}
	return c.Do(ctx, http.MethodPost, p, struct{}{}, &out)
}

// EndMentorship ends a mentorship (or withdraws a request).
func (c *Client) EndMentorship(ctx context.Context, id string) (Mentorship, error) {
	var out Mentorship
	s, err := segment("mentorship", id)
	if err != nil {
		return out, err
	}
	err = c.Do(ctx, http.MethodPost, "/api/v1/mentorships/"+s+"/end", struct{}{}, &out)
	return out, err
}

// SuggestPairing suggests to member that they pair with with (hosts and
// moderators).
func (c *Client) SuggestPairing(ctx context.Context, group, member, with, text string) error {
	p, err := groupPath(group, "/pairings")
	if err != nil {
		return err
	}
	var out struct{}
	return c.Do(ctx, http.MethodPost, p, struct {
		Member string `json:"member"`
		With   string `json:"with"`
		Text   string `json:"text,omitempty"`
	}{member, with, text}, &out)
}
