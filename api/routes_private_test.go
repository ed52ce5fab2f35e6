package api_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hearthnet/hearth/api/client"
	"github.com/hearthnet/hearth/node"
)

func TestPrivateRoutes(t *testing.T) {
	d := startDaemonNode(t, "ann")
	ctx := e2eContext(t)
	c := d.c

	// Check-in in its quickest form: mood and craving.
	ci, err := c.AddCheckIn(ctx, client.CheckInInput{Mood: 2, Craving: 8, Triggers: []string{"Payday"}, Note: "rough"})
	if err != nil {
		t.Fatal(err)
	}
	if ci.Mood != 2 || ci.Craving != 8 || len(ci.Triggers) != 1 || ci.Triggers[0] != "payday" {
		t.Fatalf("check-in %+v", ci)
	}
	_, err = c.AddCheckIn(ctx, client.CheckInInput{Mood: 9, Craving: 1})
	wantCode(t, "mood 9", err, http.StatusBadRequest, "bad_request")
	var e *client.Error
	if !asErr(err, &e) || !strings.Contains(e.Message, "mood must be 1 to 5") {
		t.Errorf("mood error does not name the rule: %v", err)
	}
	_, err = c.AddCheckIn(ctx, client.CheckInInput{Mood: 3, Craving: 1, At: "yesterday"})
	wantCode(t, "bad time", err, http.StatusBadRequest, "bad_request")
	wantCode(t, "unknown field", d.raw(t, http.MethodPost, "/api/v1/private/checkins", map[string]any{"mood": 3, "craving": 1, "location": "x"}), http.StatusBadRequest, "unknown_field")

	// Journal: write, search, edit, delete.
	j, err := c.AddJournal(ctx, client.JournalInput{Text: "Long walk by the canal", Tags: []string{"walk"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddJournal(ctx, client.JournalInput{Kind: "intention", Text: "Be kind to myself"}); err != nil {
		t.Fatal(err)
	}
	hits, err := c.SearchJournal(ctx, "canal", "", "")
	if err != nil || len(hits) != 1 || hits[0].ID != j.ID {
		t.Fatalf("search: %v %+v", err, hits)
	}
	if hits, _ = c.SearchJournal(ctx, "", "", "intention"); len(hits) != 1 || hits[0].Text != "Be kind to myself" {
		t.Fatalf("by kind: %+v", hits)
	}
	if _, err := c.EditJournal(ctx, j.ID.String(), "Long walk by the river", []string{"walk", "river"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Journal(ctx, j.ID.String()); got.Text != "Long walk by the river" || len(got.Tags) != 2 {
		t.Fatalf("after edit %+v", got)
	}
	// An edit without tags keeps them, from the client (nil) and in a
	// raw body without the field; [] removes them.
	if got, err := c.EditJournal(ctx, j.ID.String(), "Long walk by the river at dusk", nil); err != nil || len(got.Tags) != 2 {
		t.Fatalf("edit without tags: %v %+v", err, got)
	}
	var raw map[string]any
	if err := c.Do(ctx, http.MethodPut, "/api/v1/private/journal/"+j.ID.String(), map[string]any{"text": "At dusk"}, &raw); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Journal(ctx, j.ID.String()); got.Text != "At dusk" || len(got.Tags) != 2 {
		t.Fatalf("after a PUT without tags: %+v", got)
	}
	if got, err := c.EditJournal(ctx, j.ID.String(), "At dusk", []string{}); err != nil || len(got.Tags) != 0 {
		t.Fatalf("edit with no tags: %v %+v", err, got)
	}
	if err := c.DeleteJournal(ctx, j.ID.String()); err != nil {
		t.Fatal(err)
	}
	_, err = c.Journal(ctx, j.ID.String())
	wantCode(t, "deleted entry", err, http.StatusNotFound, "not_found")
	_, err = c.Journal(ctx, "XYZ")
	wantCode(t, "bad id", err, http.StatusBadRequest, "bad_id")
	_, err = c.Journal(ctx, strings.ToUpper(j.ID.String()))
	wantCode(t, "upper-case id", err, http.StatusBadRequest, "bad_id")

	// Habit with a slip; the counter restarts, the history stays.
	start := time.Now().AddDate(0, 0, -30).UTC().Format(time.RFC3339)
	h, err := c.AddHabit(ctx, "drink-free", start)
	if err != nil {
		t.Fatal(err)
	}
	if h.Status.Days != 30 || h.Status.Milestone != 30 {
		t.Fatalf("habit %+v", h.Status)
	}
	h, err = c.RecordSlip(ctx, h.ID.String(), time.Now().AddDate(0, 0, -2).UTC().Format(time.RFC3339), "party")
	if err != nil {
		t.Fatal(err)
	}
	if h.Status.Days != 2 || h.Status.Slips != 1 || h.Status.LongestRun != 28 {
		t.Fatalf("after slip %+v", h.Status)
	}

	// Insight: the summary says what the charts show.
	in, err := c.Insight(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Trends) != 3 || in.Trends[0].Count != 1 || len(in.Summary) == 0 || !strings.Contains(strings.Join(in.Summary, " "), "payday") {
		t.Fatalf("insight %+v", in)
	}

	// Sharing one check-in posts exactly its text to the group.
	gid, err := c.CreateGroup(ctx, "Circle", "ann", "")
	if err != nil {
		t.Fatal(err)
	}
	sh, err := c.ShareCheckIn(ctx, ci.ID.String(), gid)
	if err != nil {
		t.Fatal(err)
	}
	if sh.Text != "Check-in: mood 2/5, craving 8/10, triggers: payday\nrough" {
		t.Fatalf("shared %q", sh.Text)
	}
	_, err = c.ShareMilestone(ctx, h.ID.String(), strings.Repeat("0", 32))
	wantCode(t, "share to unknown group", err, http.StatusNotFound, "no_group")
	sm, err := c.ShareMilestone(ctx, h.ID.String(), gid)
	if err != nil || sm.Text != "Milestone: 2 days of drink-free" {
		t.Fatalf("milestone share: %v %q", err, sm.Text)
	}

	// Well-being settings.
	wantCode(t, "half quiet hours", d.raw(t, http.MethodPut, "/api/v1/private/wellbeing", map[string]any{"quiet_start": "22:00"}), http.StatusBadRequest, "bad_request")
	if err := c.SetWellbeing(ctx, node.Wellbeing{QuietStart: "22:00", QuietEnd: "07:00", Digest: true}); err != nil {
		t.Fatal(err)
	}
	if w, err := c.Wellbeing(ctx); err != nil || !w.Digest || w.QuietEnd != "07:00" {
		t.Fatalf("wellbeing %v %+v", err, w)
	}

	// Export, both formats.
	var js bytes.Buffer
	if err := c.Export(ctx, "json", &js); err != nil {
		t.Fatal(err)
	}
	var ex struct {
		CheckIns []json.RawMessage `json:"check_ins"`
		Journal  []json.RawMessage `json:"journal"`
		Posts    []json.RawMessage `json:"posts"`
	}
	if err := json.Unmarshal(js.Bytes(), &ex); err != nil || len(ex.CheckIns) != 1 || len(ex.Journal) != 1 || len(ex.Posts) != 2 {
		t.Fatalf("json export: %v %s", err, js.String())
	}
	var cs bytes.Buffer
	if err := c.Export(ctx, "csv", &cs); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&cs).ReadAll()
	if err != nil || rows[0][0] != "type" || len(rows) != 1+1+1+1+1+6+2 {
		t.Fatalf("csv export: %v %d rows", err, len(rows))
	}
	wantCode(t, "bad format", c.Export(ctx, "xml", &cs), http.StatusBadRequest, "bad_request")
}

func asErr(err error, e **client.Error) bool {
	ce, ok := err.(*client.Error)
	if ok {
		*e = ce
	}
	return ok
}
