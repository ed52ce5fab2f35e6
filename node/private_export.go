package node

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PrivateExport is everything the member owns on this node: the private
// space, and the posts this member wrote that the node still holds, with
// the name of their group.
type PrivateExport struct {
	Version   int            `json:"version"`
	Exported  time.Time      `json:"exported"`
	Journal   []JournalEntry `json:"journal"`
	CheckIns  []CheckIn      `json:"check_ins"`
	Habits    []Habit        `json:"habits"`
	Wellbeing Wellbeing      `json:"wellbeing"`
	Posts     []ExportedPost `json:"posts"`
}

// ExportedPost is one of the member's own posts.
type ExportedPost struct {
	Group     string    `json:"group"`
	GroupName string    `json:"group_name"`
	ID        string    `json:"id"`
	Sent      time.Time `json:"sent"`
	Text      string    `json:"text"`
}

// Export gathers everything the member owns (see PrivateExport). It
// returns the store's errors, ErrPrivateCorrupt and ErrClosed (wrapped).
func (p *Private) Export() (*PrivateExport, error) {
	ex := &PrivateExport{Version: privateVersion, Exported: p.now()}
	var err error
	if ex.Journal, err = p.SearchJournal(JournalQuery{}); err != nil {
		return nil, err
	}
	if ex.CheckIns, err = p.CheckIns(); err != nil {
		return nil, err
	}
	if ex.Habits, err = p.Habits(); err != nil {
		return nil, err
	}
	if ex.Wellbeing, err = p.Wellbeing(); err != nil {
		return nil, err
	}
	for _, g := range p.n.Groups() {
		info := g.Info()
		var before MessageID
		for {
			page, err := g.History(before, maxHistoryPage)
			if err != nil {
				return nil, fmt.Errorf("node: exporting posts: %w", err)
			}
			for i := len(page) - 1; i >= 0; i-- {
				m := page[i]
				if m.Author == info.Me.ID {
					ex.Posts = append(ex.Posts, ExportedPost{Group: g.ID().String(), GroupName: info.Name, ID: m.ID.String(), Sent: m.Sent, Text: m.Text})
				}
			}
			if len(page) < maxHistoryPage {
				break
			}
			before = page[0].ID
		}
	}
	slices.SortStableFunc(ex.Posts, func(a, b ExportedPost) int { return a.Sent.Compare(b.Sent) })
	return ex, nil
}

// WriteJSON writes the export as one indented JSON document.
func (ex *PrivateExport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(ex)
}

// ExportCSVHeader is the header row of WriteCSV.
var exportCSVHeader = []string{"type", "id", "time", "updated", "kind", "mood", "craving", "sleep_hours", "tags", "name", "text"}

// WriteCSV writes the export as one CSV table, a row per item, the first
// column saying what the row is: journal, check-in, habit, slip, setting or
// post. Tags and triggers are joined with "; ". Times are RFC 3339.
func (ex *PrivateExport) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	row := func(f ...string) { _ = cw.Write(f) }
	ts := func(t time.Time) string { return t.Format(time.RFC3339) }
	row(exportCSVHeader...)
	for _, e := range ex.Journal {
		row("journal", e.ID.String(), ts(e.Created), ts(e.Updated), e.Kind, "", "", "", strings.Join(e.Tags, "; "), "", e.Text)
	}
	for _, c := range ex.CheckIns {
		sleep := ""
		if c.SleepHours > 0 {
			sleep = strconv.FormatFloat(c.SleepHours, 'f', -1, 64)
		}
		row("check-in", c.ID.String(), ts(c.At), "", "", strconv.Itoa(c.Mood), strconv.Itoa(c.Craving), sleep, strings.Join(c.Triggers, "; "), "", c.Note)
	}
	for _, h := range ex.Habits {
		row("habit", h.ID.String(), ts(h.Start), "", "", "", "", "", "", h.Name, "")
		for _, s := range h.Slips {
			row("slip", h.ID.String(), ts(s.At), "", "", "", "", "", "", h.Name, s.Note)
		}
	}
	w8 := ex.Wellbeing
	for _, kv := range [][2]string{
		{"quiet_start", w8.QuietStart}, {"quiet_end", w8.QuietEnd}, {"digest", strconv.FormatBool(w8.Digest)},
		{"daily_notice_minutes", strconv.Itoa(w8.DailyNoticeMinutes)},
		{"morning_reminder", w8.MorningReminder}, {"evening_reminder", w8.EveningReminder},
	} {
		row("setting", "", "", "", "", "", "", "", "", kv[0], kv[1])
	}
	for _, p := range ex.Posts {
		row("post", p.ID, ts(p.Sent), "", "", "", "", "", "", p.GroupName, p.Text)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("node: writing csv: %w", err)
	}
	return nil
}
