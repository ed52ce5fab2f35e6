package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/node"
)

// The private space's routes (journal, check-ins, habits, insight,
// well-being, export, sharing one item). Everything they serve is read from
// and written to this node's sealed store only; the two share routes are
// the only ones that send anything, and they send exactly one item as an
// ordinary group post (see node.Private).

// privateRoutes returns the private-space routes. They touch n only when a
// request is served, so the route table can be built with a nil node.
func privateRoutes(n *node.Node, nr *nodeRoutes) []Route {
	pr := &privateRoutesT{n: n, nr: nr}
	const p = "/api/v1/private"
	return []Route{
		{Method: http.MethodGet, Path: p + "/journal", Summary: "Search the private journal (in memory; q, tag and kind filter)", Handler: pr.searchJournal},
		{Method: http.MethodPost, Path: p + "/journal", Summary: "Write a private journal entry", Handler: pr.addJournal},
		{Method: http.MethodGet, Path: p + "/journal/{id}", Summary: "Read one private journal entry", Handler: pr.getJournal},
		{Method: http.MethodPut, Path: p + "/journal/{id}", Summary: "Edit a private journal entry's text and tags", Handler: pr.editJournal},
		{Method: http.MethodDelete, Path: p + "/journal/{id}", Summary: "Delete a private journal entry", Handler: pr.deleteJournal},
		{Method: http.MethodGet, Path: p + "/checkins", Summary: "List the private check-ins, oldest first", Handler: pr.listCheckIns},
		{Method: http.MethodPost, Path: p + "/checkins", Summary: "Record a private check-in", Handler: pr.addCheckIn},
		{Method: http.MethodDelete, Path: p + "/checkins/{id}", Summary: "Delete a private check-in", Handler: pr.deleteCheckIn},
		{Method: http.MethodPost, Path: p + "/checkins/{id}/share", Summary: "Share one check-in with a group as a post", Handler: pr.shareCheckIn},
		{Method: http.MethodGet, Path: p + "/habits", Summary: "List the habits with their day counters", Handler: pr.listHabits},
		{Method: http.MethodPost, Path: p + "/habits", Summary: "Start a habit's day counter", Handler: pr.addHabit},
		{Method: http.MethodPost, Path: p + "/habits/{id}/slip", Summary: "Record a slip: the counter restarts, the history is kept", Handler: pr.slip},
		{Method: http.MethodDelete, Path: p + "/habits/{id}", Summary: "Delete a habit and its history", Handler: pr.deleteHabit},
		{Method: http.MethodPost, Path: p + "/habits/{id}/share", Summary: "Share a habit's milestone with a group as a post", Handler: pr.shareMilestone},
		{Method: http.MethodGet, Path: p + "/insight", Summary: "Trends, trigger and time-of-day patterns, streaks and counters, with a text summary", Handler: pr.insight},
		{Method: http.MethodGet, Path: p + "/wellbeing", Summary: "Read the well-being settings", Handler: pr.getWellbeing},
		{Method: http.MethodPut, Path: p + "/wellbeing", Summary: "Replace the well-being settings", Handler: pr.setWellbeing},
		{Method: http.MethodGet, Path: p + "/export", Summary: "Export everything the member owns (format=json or csv)", Handler: pr.export},
	}
}

type privateRoutesT struct {
	n  *node.Node
	nr *nodeRoutes
}

// privateError maps the private space's errors, and passes the rest to
// nodeError. The node's message for an invalid item names the rule that
// was broken ("mood must be 1 to 5"), which is what the member needs.
func privateError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, node.ErrPrivateNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "there is no such item in your private space; list them to find its ID")
	case errors.Is(err, node.ErrPrivateInvalid):
		msg := strings.TrimPrefix(err.Error(), "node: ")
		msg = strings.TrimSuffix(msg, ": "+node.ErrPrivateInvalid.Error())
		return NewError(http.StatusBadRequest, CodeBadRequest, msg)
	}
	return nodeError(err)
}

func privateID(r *http.Request) (node.PrivateID, error) {
	id, err := node.ParsePrivateID(r.PathValue("id"))
	if err != nil {
		return id, NewError(http.StatusBadRequest, CodeBadID, fmt.Sprintf("the item ID must be %d lower-case hex digits; copy it again", 2*node.PrivateIDSize))
	}
	if id.String() != r.PathValue("id") {
		return id, NewError(http.StatusBadRequest, CodeBadID, "the item ID must be lower-case hex")
	}
	return id, nil
}

// optionalTime parses an RFC 3339 time; "" is the zero time (now).
func optionalTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, NewError(http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("%s must be an RFC 3339 time such as 2026-03-01T08:30:00Z", field))
	}
	return t, nil
}

func (pr *privateRoutesT) searchJournal(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for k := range q {
		if k != "q" && k != "tag" && k != "kind" {
			return NewError(http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("unknown query parameter %q; use q, tag or kind", k))
		}
	}
	es, err := pr.n.Private().SearchJournal(node.JournalQuery{Text: q.Get("q"), Tag: q.Get("tag"), Kind: q.Get("kind")})
	if err != nil {
		return privateError(err)
	}
	if es == nil {
		es = []node.JournalEntry{}
	}
	writeJSON(w, http.StatusOK, es)
	return nil
}

type journalRequest struct {
	Kind string   `json:"kind"`
	Text string   `json:"text"`
	Tags []string `json:"tags"`
}

func (pr *privateRoutesT) addJournal(w http.ResponseWriter, r *http.Request) error {
	var req journalRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	e, err := pr.n.Private().AddJournal(req.Kind, req.Text, req.Tags)
	if err != nil {
		return privateError(err)
	}
	writeJSON(w, http.StatusCreated, e)
	return nil
}

func (pr *privateRoutesT) getJournal(w http.ResponseWriter, r *http.Request) error {
	id, err := privateID(r)
	if err != nil {
		return err
	}
	e, err := pr.n.Private().Journal(id)
	if err != nil {
		return privateError(err)
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

// editJournalRequest is the body of an edit: no "tags" (or null) keeps the
// entry's tags, [] removes them.
type editJournalRequest struct {
	Text string   `json:"text"`
	Tags []string `json:"tags"`
}

func (pr *privateRoutesT) editJournal(w http.ResponseWriter, r *http.Request) error {
	id, err := privateID(r)
	if err != nil {
		return err
	}
	var req editJournalRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	e, err := pr.n.Private().EditJournal(id, req.Text, req.Tags)
	if err != nil {
		return privateError(err)
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

func (pr *privateRoutesT) deleteItem(w http.ResponseWriter, r *http.Request, del func(node.PrivateID) error) error {
	id, err := privateID(r)
	if err != nil {
		return err
	}
	if err := del(id); err != nil {
		return privateError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (pr *privateRoutesT) deleteJournal(w http.ResponseWriter, r *http.Request) error {
	return pr.deleteItem(w, r, pr.n.Private().DeleteJournal)
}

func (pr *privateRoutesT) listCheckIns(w http.ResponseWriter, r *http.Request) error {
	cs, err := pr.n.Private().CheckIns()
	if err != nil {
		return privateError(err)
	}
	if cs == nil {
		cs = []node.CheckIn{}
	}
	writeJSON(w, http.StatusOK, cs)
	return nil
}

type checkInRequest struct {
	At         string   `json:"at"`
	Mood       int      `json:"mood"`
	Craving    int      `json:"craving"`
	SleepHours float64  `json:"sleep_hours"`
	Triggers   []string `json:"triggers"`
	Note       string   `json:"note"`
}

func (pr *privateRoutesT) addCheckIn(w http.ResponseWriter, r *http.Request) error {
	var req checkInRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	at, err := optionalTime("at", req.At)
	if err != nil {
		return err
	}
	c, err := pr.n.Private().AddCheckIn(node.CheckInInput{At: at, Mood: req.Mood, Craving: req.Craving, SleepHours: req.SleepHours, Triggers: req.Triggers, Note: req.Note})
	if err != nil {
		return privateError(err)
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (pr *privateRoutesT) deleteCheckIn(w http.ResponseWriter, r *http.Request) error {
	return pr.deleteItem(w, r, pr.n.Private().DeleteCheckIn)
}

// shareTarget is what a share route shares, where.
type shareTarget struct {
	ctx   context.Context
	group crypto.GroupID
	id    node.PrivateID
}

// sharedJSON answers a share: the post's ID and the text that went out.
type sharedJSON struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// insightJSON is node.Insight with its summary sentences.
type insightJSON struct {
	node.Insight
	Summary []string `json:"summary"`
}

type shareRequest struct {
	Group string `json:"group"`
}

func (pr *privateRoutesT) share(w http.ResponseWriter, r *http.Request, do func(*node.Private, shareTarget) (*node.Message, error)) error {
	id, err := privateID(r)
	if err != nil {
		return err
	}
	var req shareRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	g, err := parseGroupID(req.Group)
	if err != nil {
		return err
	}
	ctx, cancel := pr.nr.opContext(r)
	defer cancel()
	msg, err := do(pr.n.Private(), shareTarget{ctx: ctx, group: g, id: id})
	if msg == nil {
		return privateError(err)
	}
	writeJSON(w, http.StatusCreated, sharedJSON{msg.ID.String(), msg.Text})
	return nil
}

func (pr *privateRoutesT) shareCheckIn(w http.ResponseWriter, r *http.Request) error {
	return pr.share(w, r, func(p *node.Private, t shareTarget) (*node.Message, error) {
		return p.ShareCheckIn(t.ctx, t.group, t.id)
	})
}

func (pr *privateRoutesT) shareMilestone(w http.ResponseWriter, r *http.Request) error {
	return pr.share(w, r, func(p *node.Private, t shareTarget) (*node.Message, error) {
		return p.ShareMilestone(t.ctx, t.group, t.id)
	})
}

// habitJSON is a habit with its counter now.
type habitJSON struct {
	node.Habit
	Status node.HabitStatus `json:"status"`
}

func (pr *privateRoutesT) habitOut(h node.Habit) habitJSON {
	return habitJSON{Habit: h, Status: node.StatusOf(h, time.Now())}
}

func (pr *privateRoutesT) listHabits(w http.ResponseWriter, r *http.Request) error {
	hs, err := pr.n.Private().Habits()
	if err != nil {
		return privateError(err)
	}
	return writeList(w, hs, pr.habitOut)
}

type habitRequest struct {
	Name  string `json:"name"`
	Start string `json:"start"`
}

func (pr *privateRoutesT) addHabit(w http.ResponseWriter, r *http.Request) error {
	var req habitRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	start, err := optionalTime("start", req.Start)
	if err != nil {
		return err
	}
	h, err := pr.n.Private().AddHabit(req.Name, start)
	if err != nil {
		return privateError(err)
	}
	writeJSON(w, http.StatusCreated, pr.habitOut(h))
	return nil
}

type slipRequest struct {
	At   string `json:"at"`
	Note string `json:"note"`
}

func (pr *privateRoutesT) slip(w http.ResponseWriter, r *http.Request) error {
	id, err := privateID(r)
	if err != nil {
		return err
	}
	var req slipRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	at, err := optionalTime("at", req.At)
	if err != nil {
		return err
	}
	h, err := pr.n.Private().RecordSlip(id, at, req.Note)
	if err != nil {
		return privateError(err)
	}
	writeJSON(w, http.StatusOK, pr.habitOut(h))
	return nil
}

func (pr *privateRoutesT) deleteHabit(w http.ResponseWriter, r *http.Request) error {
	return pr.deleteItem(w, r, pr.n.Private().DeleteHabit)
}

func (pr *privateRoutesT) insight(w http.ResponseWriter, r *http.Request) error {
	p := pr.n.Private()
	cs, err := p.CheckIns()
	if err != nil {
		return privateError(err)
	}
	hs, err := p.Habits()
	if err != nil {
		return privateError(err)
	}
	in := node.Analyze(cs, hs, time.Now())
	writeJSON(w, http.StatusOK, insightJSON{in, in.Summary()})
	return nil
}

func (pr *privateRoutesT) getWellbeing(w http.ResponseWriter, r *http.Request) error {
	wb, err := pr.n.Private().Wellbeing()
	if err != nil {
		return privateError(err)
	}
	writeJSON(w, http.StatusOK, wb)
	return nil
}

func (pr *privateRoutesT) setWellbeing(w http.ResponseWriter, r *http.Request) error {
	var wb node.Wellbeing
	if err := decodeJSON(w, r, &wb); err != nil {
		return err
	}
	if err := pr.n.Private().SetWellbeing(wb); err != nil {
		return privateError(err)
	}
	writeJSON(w, http.StatusOK, wb)
	return nil
}

func (pr *privateRoutesT) export(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" {
		return NewError(http.StatusBadRequest, CodeBadRequest, "format must be json or csv")
	}
	ex, err := pr.n.Private().Export()
	if err != nil {
		return privateError(err)
	}
	var buf bytes.Buffer
	ct := "application/json; charset=utf-8"
	if format == "csv" {
		ct = "text/csv; charset=utf-8"
		err = ex.WriteCSV(&buf)
	} else {
		err = ex.WriteJSON(&buf)
	}
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	// Not cached anywhere: it is everything the member owns, in the clear.
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=\"hearth-export.%s\"", format))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return nil
}
