package client

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/hearthnet/hearth/node"
)

// The methods of this file drive the member's private space (journal,
// check-ins, habits, insight, well-being, export). The bodies are the
// node's own types, whose JSON names are the API's. Errors as the group
// methods: an *Error when the daemon refuses (codes bad_request, bad_id,
// not_found, no_group), the transport's error, wrapped, otherwise.

// JournalInput is the body of POST /api/v1/private/journal.
type JournalInput struct {
	Kind string   `json:"kind,omitempty"`
	Text string   `json:"text"`
	Tags []string `json:"tags,omitempty"`
}

// CheckInInput is the body of POST /api/v1/private/checkins. At is RFC
// 3339, empty for now.
type CheckInInput struct {
	At         string   `json:"at,omitempty"`
	Mood       int      `json:"mood"`
	Craving    int      `json:"craving"`
	SleepHours float64  `json:"sleep_hours,omitempty"`
	Triggers   []string `json:"triggers,omitempty"`
	Note       string   `json:"note,omitempty"`
}

// Habit is a habit with its counter as the daemon computed it.
type Habit struct {
	node.Habit
	Status node.HabitStatus `json:"status"`
}

// Insight is the body of GET /api/v1/private/insight.
type Insight struct {
	node.Insight
	Summary []string `json:"summary"`
}

// Shared is the answer of the share routes: the post's ID and its text.
type Shared struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

func privatePath(rest string) string { return "/api/v1/private" + rest }

func itemPath(kind, id, rest string) (string, error) {
	s, err := segment("item", id)
	if err != nil {
		return "", err
	}
	return privatePath("/" + kind + "/" + s + rest), nil
}

// AddJournal writes a journal entry.
func (c *Client) AddJournal(ctx context.Context, in JournalInput) (node.JournalEntry, error) {
	var e node.JournalEntry
	err := c.Do(ctx, http.MethodPost, privatePath("/journal"), in, &e)
	return e, err
}

// EditJournal replaces an entry's text, and its tags unless tags is nil
// (nil keeps them; an empty, non-nil slice removes them all).
func (c *Client) EditJournal(ctx context.Context, id, text string, tags []string) (node.JournalEntry, error) {
	var e node.JournalEntry
	p, err := itemPath("journal", id, "")
	if err != nil {
		return e, err
	}
	in := editJournalRequest{Text: text}
	if tags != nil {
		in.Tags = &tags
	}
	err = c.Do(ctx, http.MethodPut, p, in, &e)
	return e, err
}

// editJournalRequest is the body of PUT /api/v1/private/journal/{id}: no
// "tags" keeps the entry's tags, [] removes them.
type editJournalRequest struct {
	Text string    `json:"text"`
	Tags *[]string `json:"tags,omitempty"`
}

// Journal reads one entry.
func (c *Client) Journal(ctx context.Context, id string) (node.JournalEntry, error) {
	var e node.JournalEntry
	p, err := itemPath("journal", id, "")
	if err != nil {
		return e, err
	}
	err = c.Do(ctx, http.MethodGet, p, nil, &e)
	return e, err
}

// SearchJournal lists the entries matching q (words), tag and kind, any of
// them empty; newest first.
func (c *Client) SearchJournal(ctx context.Context, q, tag, kind string) ([]node.JournalEntry, error) {
	v := url.Values{}
	for k, s := range map[string]string{"q": q, "tag": tag, "kind": kind} {
		if s != "" {
			v.Set(k, s)
		}
	}
	p := privatePath("/journal")
	if len(v) > 0 {
		p += "?" + v.Encode()
	}
	var out []node.JournalEntry
	err := c.Do(ctx, http.MethodGet, p, nil, &out)
	return out, err
}

// DeleteJournal deletes an entry.
func (c *Client) DeleteJournal(ctx context.Context, id string) error {
	return c.deleteItem(ctx, "journal", id)
}

func (c *Client) deleteItem(ctx context.Context, kind, id string) error {
	p, err := itemPath(kind, id, "")
	if err != nil {
		return err
	}
	return c.Do(ctx, http.MethodDelete, p, nil, nil)
}

// AddCheckIn records a check-in.
func (c *Client) AddCheckIn(ctx context.Context, in CheckInInput) (node.CheckIn, error) {
	var out node.CheckIn
	err := c.Do(ctx, http.MethodPost, privatePath("/checkins"), in, &out)
	return out, err
}

// CheckIns lists every check-in, oldest first.
func (c *Client) CheckIns(ctx context.Context) ([]node.CheckIn, error) {
	var out []node.CheckIn
	err := c.Do(ctx, http.MethodGet, privatePath("/checkins"), nil, &out)
	return out, err
}

// DeleteCheckIn deletes a check-in.
func (c *Client) DeleteCheckIn(ctx context.Context, id string) error {
	return c.deleteItem(ctx, "checkins", id)
}

// ShareCheckIn posts one check-in to group.
func (c *Client) ShareCheckIn(ctx context.Context, id, group string) (Shared, error) {
	return c.share(ctx, "checkins", id, group)
}

// ShareMilestone posts a habit's milestone to group.
func (c *Client) ShareMilestone(ctx context.Context, id, group string) (Shared, error) {
	return c.share(ctx, "habits", id, group)
}

func (c *Client) share(ctx context.Context, kind, id, group string) (Shared, error) {
	var out Shared
	p, err := itemPath(kind, id, "/share")
	if err != nil {
		return out, err
	}
	err = c.Do(ctx, http.MethodPost, p, struct {
		Group string `json:"group"`
	}{group}, &out)
	return out, err
}

// AddHabit starts a counter; start is RFC 3339, empty for now.
func (c *Client) AddHabit(ctx context.Context, name, start string) (Habit, error) {
	var out Habit
	err := c.Do(ctx, http.MethodPost, privatePath("/habits"), struct {
		Name  string `json:"name"`
		Start string `json:"start,omitempty"`
	}{name, start}, &out)
	return out, err
}

// Habits lists the habits with their counters.
func (c *Client) Habits(ctx context.Context) ([]Habit, error) {
	var out []Habit
	err := c.Do(ctx, http.MethodGet, privatePath("/habits"), nil, &out)
	return out, err
}

// RecordSlip records a slip at (RFC 3339, empty for now).
func (c *Client) RecordSlip(ctx context.Context, id, at, note string) (Habit, error) {
	var out Habit
	p, err := itemPath("habits", id, "/slip")
	if err != nil {
		return out, err
	}
	err = c.Do(ctx, http.MethodPost, p, struct {
		At   string `json:"at,omitempty"`
		Note string `json:"note,omitempty"`
	}{at, note}, &out)
	return out, err
}

// DeleteHabit deletes a habit and its history.
func (c *Client) DeleteHabit(ctx context.Context, id string) error {
	return c.deleteItem(ctx, "habits", id)
}

// Insight reads the analysis of the member's history.
func (c *Client) Insight(ctx context.Context) (Insight, error) {
	var out Insight
	err := c.Do(ctx, http.MethodGet, privatePath("/insight"), nil, &out)
	return out, err
}

// Wellbeing reads the well-being settings.
func (c *Client) Wellbeing(ctx context.Context) (node.Wellbeing, error) {
	var out node.Wellbeing
	err := c.Do(ctx, http.MethodGet, privatePath("/wellbeing"), nil, &out)
	return out, err
}

// SetWellbeing replaces the well-being settings.
func (c *Client) SetWellbeing(ctx context.Context, w node.Wellbeing) error {
	return c.Do(ctx, http.MethodPut, privatePath("/wellbeing"), w, &w)
}

// Export copies everything the member owns, as format "json" or "csv", to
// w.
func (c *Client) Export(ctx context.Context, format string, w io.Writer) error {
	resp, err := c.send(ctx, http.MethodGet, privatePath("/export?format="+url.QueryEscape(format)), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}
