package node

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPrivateJournalCRUDAndSearch(t *testing.T) {
	tn := newTestNode(t)
	p := tn.Private()
	a, err := p.AddJournal(JournalNote, "Walked to the lake, felt calmer", []string{"Walk", " outside ", "walk"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(a.Tags, ",") != "outside,walk" {
		t.Fatalf("tags not normalised: %q", a.Tags)
	}
	b, err := p.AddJournal(JournalIntention, "Call my sponsor before lunch", []string{"sponsor"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.AddJournal("diary", "x", nil); !errors.Is(err, ErrPrivateInvalid) {
		t.Fatalf("unknown kind: %v", err)
	}
	if _, err := p.AddJournal(JournalNote, "  ", nil); !errors.Is(err, ErrPrivateInvalid) {
		t.Fatalf("empty text: %v", err)
	}
	if _, err := p.AddJournal(JournalNote, "x", []string{"a,b"}); !errors.Is(err, ErrPrivateInvalid) {
		t.Fatalf("comma in tag: %v", err)
	}

	hits, err := p.SearchJournal(JournalQuery{Text: "LAKE calmer"})
	if err != nil || len(hits) != 1 || hits[0].ID != a.ID {
		t.Fatalf("search by words: %v %+v", err, hits)
	}
	hits, _ = p.SearchJournal(JournalQuery{Tag: "sponsor"})
	if len(hits) != 1 || hits[0].ID != b.ID {
		t.Fatalf("search by tag: %+v", hits)
	}
	hits, _ = p.SearchJournal(JournalQuery{Kind: JournalIntention})
	if len(hits) != 1 || hits[0].ID != b.ID {
		t.Fatalf("search by kind: %+v", hits)
	}
	if hits, _ = p.SearchJournal(JournalQuery{Text: "lake sponsor"}); len(hits) != 0 {
		t.Fatalf("every word must match: %+v", hits)
	}

	e, err := p.EditJournal(a.ID, "Walked to the river instead", []string{"walk"})
	if err != nil || !e.Created.Equal(a.Created) || e.Text != "Walked to the river instead" {
		t.Fatalf("edit: %v %+v", err, e)
	}
	// No tags given (nil) keeps them; an empty list removes them.
	if e, err = p.EditJournal(a.ID, "Walked to the river, then home", nil); err != nil || !slices.Equal(e.Tags, []string{"walk"}) {
		t.Fatalf("edit without tags: %v %+v", err, e)
	}
	if got, _ := p.Journal(a.ID); !slices.Equal(got.Tags, []string{"walk"}) || got.Text != "Walked to the river, then home" {
		t.Fatalf("stored after an edit without tags: %+v", got)
	}
	if e, err = p.EditJournal(a.ID, "Walked to the river instead", []string{}); err != nil || len(e.Tags) != 0 {
		t.Fatalf("edit with no tags: %v %+v", err, e)
	}
	if e, err = p.EditJournal(a.ID, "Walked to the river instead", []string{"walk"}); err != nil || !slices.Equal(e.Tags, []string{"walk"}) {
		t.Fatalf("edit with tags again: %v %+v", err, e)
	}
	// Survives a restart: it is in the store, not in memory.
	tn = tn.restart(t)
	p = tn.Private()
	got, err := p.Journal(a.ID)
	if err != nil || got.Text != "Walked to the river instead" {
		t.Fatalf("after restart: %v %+v", err, got)
	}
	if err := p.DeleteJournal(a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Journal(a.ID); !errors.Is(err, ErrPrivateNotFound) {
		t.Fatalf("deleted entry: %v", err)
	}
	if err := p.DeleteJournal(a.ID); !errors.Is(err, ErrPrivateNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
	if _, err := p.EditJournal(a.ID, "x", nil); !errors.Is(err, ErrPrivateNotFound) {
		t.Fatalf("editing deleted: %v", err)
	}
}

func TestPrivateCheckInRules(t *testing.T) {
	tn := newTestNode(t)
	p := tn.Private()
	c, err := p.AddCheckIn(CheckInInput{Mood: 3, Craving: 6})
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(c.At) > time.Minute {
		t.Fatalf("zero time is not now: %v", c.At)
	}
	for name, in := range map[string]CheckInInput{
		"mood 0":       {Mood: 0, Craving: 1},
		"mood 6":       {Mood: 6, Craving: 1},
		"craving -1":   {Mood: 3, Craving: -1},
		"craving 11":   {Mood: 3, Craving: 11},
		"sleep 25":     {Mood: 3, Craving: 1, SleepHours: 25},
		"future":       {Mood: 3, Craving: 1, At: time.Now().Add(time.Hour)},
		"long note":    {Mood: 3, Craving: 1, Note: strings.Repeat("x", MaxNoteText+1)},
		"invalid utf8": {Mood: 3, Craving: 1, Note: "\xff"},
	} {
		if _, err := p.AddCheckIn(in); !errors.Is(err, ErrPrivateInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	all, err := p.CheckIns()
	if err != nil || len(all) != 1 || all[0].ID != c.ID {
		t.Fatalf("only the valid check-in is kept: %v %+v", err, all)
	}
}

func TestPrivateHabitSlipKeepsHistory(t *testing.T) {
	tn := newTestNode(t)
	p := tn.Private()
	start := time.Now().AddDate(0, 0, -40)
	h, err := p.AddHabit("alcohol-free", start)
	if err != nil {
		t.Fatal(err)
	}
	if d := HabitDays(h, time.Now()); d != 40 {
		t.Fatalf("days before slip = %d, want 40", d)
	}
	slipAt := time.Now().AddDate(0, 0, -10)
	h, err = p.RecordSlip(h.ID, slipAt, "a hard evening")
	if err != nil {
		t.Fatal(err)
	}
	h, _ = p.Habit(h.ID)
	if len(h.Slips) != 1 || !h.Start.Equal(start) || h.Slips[0].Note != "a hard evening" {
		t.Fatalf("slip must be recorded, start kept: %+v", h)
	}
	st := StatusOf(h, time.Now())
	if st.Days != 10 || st.LongestRun != 30 || st.Slips != 1 || st.Milestone != 7 || st.Next != 14 {
		t.Fatalf("status %+v", st)
	}
	if _, err := p.RecordSlip(h.ID, start.Add(-time.Hour), ""); !errors.Is(err, ErrPrivateInvalid) {
		t.Fatalf("slip before start: %v", err)
	}
	if _, err := p.AddHabit("x", time.Now().Add(48*time.Hour)); !errors.Is(err, ErrPrivateInvalid) {
		t.Fatalf("future start: %v", err)
	}
	if got := RenderMilestone(h, time.Now()); got != "Milestone: 10 days of alcohol-free" {
		t.Fatalf("milestone text %q", got)
	}
}

func TestPrivateWellbeing(t *testing.T) {
	tn := newTestNode(t)
	p := tn.Private()
	if w, err := p.Wellbeing(); err != nil || w != (Wellbeing{}) {
		t.Fatalf("default settings: %v %+v", err, w)
	}
	w := Wellbeing{QuietStart: "22:00", QuietEnd: "07:00", Digest: true, DailyNoticeMinutes: 45, MorningReminder: "08:30"}
	if err := p.SetWellbeing(w); err != nil {
		t.Fatal(err)
	}
	if got, _ := p.Wellbeing(); got != w {
		t.Fatalf("settings %+v, want %+v", got, w)
	}
	for _, bad := range []Wellbeing{{QuietStart: "22:00"}, {MorningReminder: "8:30"}, {EveningReminder: "25:00"}, {DailyNoticeMinutes: -1}} {
		if err := p.SetWellbeing(bad); !errors.Is(err, ErrPrivateInvalid) {
			t.Errorf("%+v accepted: %v", bad, err)
		}
	}
	at := func(h, m int) time.Time { return time.Date(2026, 3, 1, h, m, 0, 0, time.UTC) }
	for _, c := range []struct {
		t     time.Time
		quiet bool
	}{{at(23, 0), true}, {at(3, 0), true}, {at(6, 59), true}, {at(7, 0), false}, {at(12, 0), false}, {at(22, 0), true}} {
		if w.InQuietHours(c.t) != c.quiet {
			t.Errorf("quiet at %v = %v", c.t.Format("15:04"), !c.quiet)
		}
	}
}

func TestPrivateCorruptRecordRejected(t *testing.T) {
	for _, b := range []string{
		`{"v":2,"item":{}}`, `{"v":1,"item":{},"x":1}`, `{"v":1,"item":{"mood":"x"}}`, `{"v":1,"item":{}} {}`, ``, `null x`,
	} {
		if _, err := decodePrivate[CheckIn]([]byte(b)); !errors.Is(err, ErrPrivateCorrupt) {
			t.Errorf("%q decoded: %v", b, err)
		}
	}
}

func TestPrivateExport(t *testing.T) {
	tn := newTestNode(t)
	p := tn.Private()
	if _, err := p.AddJournal(JournalNote, "first, \"quoted\"\nline two", []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.AddCheckIn(CheckInInput{Mood: 4, Craving: 2, SleepHours: 7.5, Triggers: []string{"work"}, Note: "ok"}); err != nil {
		t.Fatal(err)
	}
	h, _ := p.AddHabit("smoke-free", time.Now().AddDate(0, 0, -3))
	if _, err := p.RecordSlip(h.ID, time.Now().AddDate(0, 0, -1), "one"); err != nil {
		t.Fatal(err)
	}
	g, err := tn.CreateGroup(ctxT(t), GroupOptions{Name: "Circle", Pseudonym: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Post(ctxT(t), "hello circle", MessageID{}); err != nil {
		t.Fatal(err)
	}
	ex, err := p.Export()
	if err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := ex.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back PrivateExport
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Journal) != 1 || len(back.CheckIns) != 1 || len(back.Habits) != 1 || len(back.Habits[0].Slips) != 1 ||
		len(back.Posts) != 1 || back.Posts[0].Text != "hello circle" || back.Posts[0].GroupName != "Circle" {
		t.Fatalf("json export incomplete: %s", js.String())
	}
	var cs bytes.Buffer
	if err := ex.WriteCSV(&cs); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&cs).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, r := range rows[1:] {
		kinds[r[0]]++
	}
	if kinds["journal"] != 1 || kinds["check-in"] != 1 || kinds["habit"] != 1 || kinds["slip"] != 1 || kinds["post"] != 1 || kinds["setting"] != 6 {
		t.Fatalf("csv rows %v", kinds)
	}
	for _, r := range rows {
		if r[0] == "journal" && r[10] != "first, \"quoted\"\nline two" {
			t.Fatalf("journal text mangled in csv: %q", r[10])
		}
		if r[0] == "check-in" && (r[5] != "4" || r[6] != "2" || r[7] != "7.5" || r[8] != "work") {
			t.Fatalf("check-in row %q", r)
		}
	}
}
