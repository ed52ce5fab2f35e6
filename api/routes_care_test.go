package api_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hearthnet/hearth/api/client"
	"github.com/hearthnet/hearth/node"
)

// waitCare returns the data of the first event of type typ whose care
// data match.
func (ev *events) waitCare(what, typ string, match func(client.CareEventData) bool) client.CareEventData {
	ev.t.Helper()
	timer := time.NewTimer(e2eBound)
	defer timer.Stop()
	for {
		select {
		case e, ok := <-ev.ch:
			if !ok {
				ev.t.Fatalf("waiting for %s: the event stream ended", what)
			}
			if e.Type != typ {
				continue
			}
			d, err := e.CareData()
			if err != nil {
				ev.t.Fatalf("waiting for %s: %v", what, err)
			}
			if match == nil || match(d) {
				return d
			}
		case <-timer.C:
			ev.t.Fatalf("waiting for %s: no %s event within %v", what, typ, e2eBound)
		}
	}
}

// TestRoutesCare drives SOS and mentorship through two real daemons: the
// crisis resources by region; an SOS answered with the resources at once,
// live at the other member, whose "I'm here" reaches the sender; a second
// SOS within a minute refused with its code; a mentorship asked, accepted,
// used for an SOS to the mentor only, and ended, each side seeing it live;
// the SOS-alerts opt-in kept with the well-being settings; bad input
// refused with its code.
func TestRoutesCare(t *testing.T) {
	t.Parallel()
	ann, bo := startDaemonNode(t, "ann"), startDaemonNode(t, "bo")
	ctx := e2eContext(t)

	// Crisis resources.
	cr, err := bo.c.CrisisResources(ctx, "us")
	if err != nil {
		t.Fatal(err)
	}
	if cr.Region != "US" || len(cr.Resources) < 2 || cr.Resources[0].Phone != "988" || !strings.Contains(cr.Notice, "not a crisis service") {
		t.Fatalf("US crisis resources: %+v", cr)
	}
	last := cr.Resources[len(cr.Resources)-1]
	if last.Region != node.RegionInternational || !strings.Contains(last.Note, "local emergency number") {
		t.Fatalf("the international resources do not end the list: %+v", last)
	}
	if uk, err := bo.c.CrisisResources(ctx, "UK"); err != nil || uk.Region != "GB" || uk.Resources[0].Phone != "116 123" {
		t.Fatalf("UK crisis resources: %v, %+v", err, uk)
	}
	if none, err := bo.c.CrisisResources(ctx, ""); err != nil || none.Region != "" || none.Resources[0].Region != node.RegionInternational {
		t.Fatalf("crisis resources without a region: %v, %+v", err, none)
	}
	_, err = bo.c.CrisisResources(ctx, "12")
	wantCode(t, "region 12", err, http.StatusBadRequest, "bad_region")
	wantCode(t, "unknown query", bo.raw(t, http.MethodGet, "/api/v1/crisis-resources?country=US", nil), http.StatusBadRequest, "bad_request")

	group, err := ann.c.CreateGroup(ctx, "Evening circle", "ann", "30d")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := ann.c.CreateInvite(ctx, group, client.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	annEv, boEv := ann.watch(t), bo.watch(t)
	if _, err := bo.c.Join(ctx, inv.Invite, "bo"); err != nil {
		t.Fatal(err)
	}
	annEv.wait("bo's arrival", client.EventMemberJoined, nil)
	postSeen(t, group, "hello", bo, annEv)
	postSeen(t, group, "welcome", ann, boEv)
	annID, boID := ann.mustMe(t, group), bo.mustMe(t, group)

	// SOS: the answer carries the crisis resources.
	sent, err := bo.c.SendSOS(ctx, client.SOSInput{Groups: []string{group}, Text: "I want to use tonight", Region: "US"})
	if err != nil {
		t.Fatalf("SendSOS: %v", err)
	}
	if sent.Crisis.Region != "US" || len(sent.Crisis.Resources) == 0 || sent.Crisis.Notice == "" {
		t.Fatalf("the SOS answer carries no crisis resources: %+v", sent.Crisis)
	}
	if len(sent.Sent) != 1 || sent.Sent[0].SOS == nil || !sent.Sent[0].SOS.Mine || sent.Sent[0].Group != group {
		t.Fatalf("SendSOS: %+v", sent.Sent)
	}
	sosID := sent.Sent[0].SOS.ID
	got := annEv.waitCare("bo's SOS", "sos", func(d client.CareEventData) bool { return d.SOS != nil && d.SOS.ID == sosID })
	if got.SOS.Pseudonym != "bo" || got.SOS.Mine || got.SOS.Text != "I want to use tonight" || got.Group != group {
		t.Fatalf("ann's sos event: %+v", got.SOS)
	}
	if _, err := ann.c.AnswerSOS(ctx, group, sosID, "I'm here, calling you"); err != nil {
		t.Fatalf("AnswerSOS: %v", err)
	}
	rep := boEv.waitCare("ann's answer", "sos_reply", func(d client.CareEventData) bool { return d.SOSReply != nil && d.SOSReply.SOS == sosID })
	if rep.SOSReply.Pseudonym != "ann" || rep.SOSReply.Author != annID {
		t.Fatalf("bo's sos_reply event: %+v", rep.SOSReply)
	}
	list, err := bo.c.SOSes(ctx, group)
	if err != nil || len(list) != 1 || len(list[0].Replies) != 1 || list[0].Replies[0].Text != "I'm here, calling you" {
		t.Fatalf("bo's SOSes: %v, %+v", err, list)
	}
	if all, err := ann.c.SOSes(ctx, ""); err != nil || len(all) != 1 || all[0].ID != sosID {
		t.Fatalf("ann's SOSes in every group: %v, %+v", err, all)
	}
	_, err = bo.c.SendSOS(ctx, client.SOSInput{Groups: []string{group}})
	wantCode(t, "a second SOS within a minute", err, http.StatusTooManyRequests, "sos_too_soon")
	_, err = bo.c.SendSOS(ctx, client.SOSInput{})
	wantCode(t, "an SOS to nobody", err, http.StatusBadRequest, "no_sos_target")
	_, err = bo.c.SendSOS(ctx, client.SOSInput{Mentors: true})
	wantCode(t, "an SOS to a mentor bo does not have", err, http.StatusBadRequest, "no_sos_target")
	if ce := (*client.Error)(nil); !errors.As(err, &ce) || !strings.Contains(ce.Message, "you have no mentor") {
		t.Errorf("an SOS to a mentor bo does not have: %v, want it to say bo has no mentor", err)
	}
	_, err = bo.c.SendSOS(ctx, client.SOSInput{})
	if ce := (*client.Error)(nil); !errors.As(err, &ce) || strings.Contains(ce.Message, "mentor (") {
		t.Errorf("an SOS to nobody: %v, which is not about a mentor", err)
	}
	_, err = ann.c.AnswerSOS(ctx, group, strings.Repeat("0", 32), "")
	wantCode(t, "answering an unknown SOS", err, http.StatusNotFound, "no_sos")
	_, err = ann.c.AnswerSOS(ctx, group, "nope", "")
	wantCode(t, "answering a bad SOS ID", err, http.StatusBadRequest, "bad_id")
	wantCode(t, "SOS text with a control character", bo.raw(t, http.MethodPost, "/api/v1/sos", map[string]any{"groups": []string{group}, "text": "a\x1bb"}), http.StatusBadRequest, "bad_text")

	// Mentorship: bo asks ann.
	asked, err := bo.c.AskMentor(ctx, group, annID, "would you mentor me?", false)
	if err != nil {
		t.Fatalf("AskMentor: %v", err)
	}
	if asked.State != "asked" || asked.Role != "mentee" || !asked.Asker || asked.Peer != annID {
		t.Fatalf("AskMentor: %+v", asked)
	}
	_, err = bo.c.AskMentor(ctx, group, annID, "", false)
	wantCode(t, "asking twice", err, http.StatusConflict, "mentorship_exists")
	req := annEv.waitCare("bo's request", "mentor_request", func(d client.CareEventData) bool { return d.MentorRequest != nil })
	if req.MentorRequest.ID != asked.ID || req.MentorRequest.Kind != "ask" || req.MentorRequest.From != boID || req.MentorRequest.FromPseudonym != "bo" {
		t.Fatalf("ann's mentor_request event: %+v", req.MentorRequest)
	}
	if reqs, err := ann.c.MentorRequests(ctx); err != nil || len(reqs) != 1 || reqs[0].Text != "would you mentor me?" {
		t.Fatalf("ann's requests: %v, %+v", err, reqs)
	}
	m, err := ann.c.AcceptMentor(ctx, asked.ID)
	if err != nil {
		t.Fatalf("AcceptMentor: %v", err)
	}
	if m.State != "active" || m.Role != "mentor" || m.Pair != asked.Pair {
		t.Fatalf("AcceptMentor: %+v", m)
	}
	boEv.waitCare("the mentorship active", "mentorship", func(d client.CareEventData) bool {
		return d.Mentorship != nil && d.Mentorship.ID == asked.ID && d.Mentorship.State == "active"
	})
	postSeen(t, asked.Pair, "thank you for saying yes", bo, annEv)

	toMentor, err := bo.c.SendSOS(ctx, client.SOSInput{Mentors: true, Text: "it's bad again"})
	if err != nil || len(toMentor.Sent) != 1 || toMentor.Sent[0].Group != asked.Pair {
		t.Fatalf("SOS to the mentor: %v, %+v", err, toMentor)
	}
	annEv.waitCare("the SOS in the pair's group", "sos", func(d client.CareEventData) bool { return d.Group == asked.Pair && d.SOS != nil })

	ended, err := bo.c.EndMentorship(ctx, asked.ID)
	if err != nil || ended.State != "ended" {
		t.Fatalf("EndMentorship: %v, %+v", err, ended)
	}
	annEv.waitCare("the mentorship ended", "mentorship", func(d client.CareEventData) bool {
		return d.Mentorship != nil && d.Mentorship.ID == asked.ID && d.Mentorship.State == "ended"
	})
	_, err = ann.c.AcceptMentor(ctx, asked.ID)
	wantCode(t, "accepting a request already accepted", err, http.StatusNotFound, "no_mentorship")
	_, err = ann.c.EndMentorship(ctx, "xyz")
	wantCode(t, "ending a bad ID", err, http.StatusBadRequest, "bad_id")
	err = bo.c.SuggestPairing(ctx, group, annID, boID, "")
	wantCode(t, "a member suggesting a pairing", err, http.StatusForbidden, "not_admin")
	wantCode(t, "unknown field", bo.raw(t, http.MethodPost, "/api/v1/groups/"+group+"/members/"+annID+"/mentor", map[string]any{"role": "mentor"}), http.StatusBadRequest, "unknown_field")

	// The SOS-alerts opt-in lives with the well-being settings.
	if err := bo.c.SetWellbeing(ctx, node.Wellbeing{SOSAlerts: true, QuietStart: "22:00", QuietEnd: "07:00"}); err != nil {
		t.Fatal(err)
	}
	if w, err := bo.c.Wellbeing(ctx); err != nil || !w.SOSAlerts || w.QuietStart != "22:00" {
		t.Fatalf("well-being: %v, %+v", err, w)
	}
}
