package node

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/storage"
)

// Private space: a member's journal, check-ins, habits (milestones) and
// well-being settings. None of it crosses the network: it is stored only as
// sealed KindLocal records under the zero group ID, and the only way any of
// it leaves the machine is ShareCheckIn or ShareMilestone, which post the
// text of one item to one group as an ordinary encrypted post, on the
// member's explicit request.
//
// Record keys (not sealed by storage, so they hold only fixed ASCII tags and
// random IDs, never times, tags or text):
//
//	priv/j/<id 16>   a journal entry (also morning intentions and evening reviews)
//	priv/c/<id 16>   a check-in
//	priv/h/<id 16>   a habit with its start date and slips
//	priv/w           the well-being settings
//
// Each value is a JSON object with "v": 1, decoded strictly (unknown fields,
// trailing data and other versions are rejected as ErrPrivateCorrupt).
var (
	prefixPrivJournal = []byte("priv/j/")
	prefixPrivCheckIn = []byte("priv/c/")
	prefixPrivHabit   = []byte("priv/h/")
	keyPrivWellbeing  = []byte("priv/w")
)

// privateVersion is the "v" of every private record.
const privateVersion = 1

// Limits on private items. They bound what one record can hold (storage
// refuses values over storage.MaxValueSize) and keep the UI readable.
const (
	MaxJournalText = 64 << 10
	MaxNoteText    = 4 << 10
	MaxTagLen      = 40
	MaxTags        = 20
	MaxHabitName   = 80
	MaxSlips       = 10000
)

// Errors of the private space, wrapped with context.
var (
	// ErrPrivateNotFound: no journal entry, check-in or habit with this ID.
	ErrPrivateNotFound = errors.New("no such private item")
	// ErrPrivateInvalid: the item breaks a rule (a mood outside 1 to 5, a
	// craving outside 0 to 10, text too long or not UTF-8, a bad tag or
	// time).
	ErrPrivateInvalid = errors.New("invalid private item")
	// ErrPrivateCorrupt: a stored private record does not decode.
	ErrPrivateCorrupt = errors.New("malformed private record")
)

// PrivateIDSize is the length of a private item's ID.
const PrivateIDSize = 16

// PrivateID names a journal entry, check-in or habit. It is random, so it
// says nothing about the item.
type PrivateID [PrivateIDSize]byte

// String returns the ID in lower-case hex.
func (id PrivateID) String() string { return hex.EncodeToString(id[:]) }

// ParsePrivateID parses the hex form of a PrivateID. It returns
// ErrPrivateInvalid (wrapped) for anything else.
func ParsePrivateID(s string) (PrivateID, error) {
	var id PrivateID
	if len(s) != 2*PrivateIDSize {
		return id, fmt.Errorf("node: private id must be %d hex characters: %w", 2*PrivateIDSize, ErrPrivateInvalid)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("node: private id is not hex: %w", ErrPrivateInvalid)
	}
	return id, nil
}

// MarshalText implements encoding.TextMarshaler.
func (id PrivateID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *PrivateID) UnmarshalText(b []byte) error {
	v, err := ParsePrivateID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// Journal entry kinds.
const (
	JournalNote      = ""          // a free journal entry
	JournalIntention = "intention" // a morning intention
	JournalReview    = "review"    // an evening review
)

// JournalEntry is one private journal entry.
type JournalEntry struct {
	ID      PrivateID `json:"id"`
	Kind    string    `json:"kind,omitempty"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	Text    string    `json:"text"`
	Tags    []string  `json:"tags,omitempty"`
}

// CheckIn is one mood and craving check-in. Mood (1 very low to 5 very
// good) and Craving (0 none to 10 overwhelming) are required, the rest is
// optional: SleepHours 0 means not recorded.
type CheckIn struct {
	ID         PrivateID `json:"id"`
	At         time.Time `json:"at"`
	Mood       int       `json:"mood"`
	Craving    int       `json:"craving"`
	SleepHours float64   `json:"sleep_hours,omitempty"`
	Triggers   []string  `json:"triggers,omitempty"`
	Note       string    `json:"note,omitempty"`
}

// Habit is a day counter: a sobriety (or any) start date, and every slip
// recorded since. A slip restarts the counter from the slip's day but is
// kept: the history says what happened.
type Habit struct {
	ID    PrivateID `json:"id"`
	Name  string    `json:"name"`
	Start time.Time `json:"start"`
	Slips []Slip    `json:"slips,omitempty"`
}

// Slip is a reset of a habit's counter.
type Slip struct {
	At   time.Time `json:"at"`
	Note string    `json:"note,omitempty"`
}

// Wellbeing holds the member's well-being settings. Times of day are
// "HH:MM" in the node's local time zone; empty means off.
type Wellbeing struct {
	// QuietStart and QuietEnd bound the quiet hours (notifications are
	// held); a range may cross midnight.
	QuietStart string `json:"quiet_start,omitempty"`
	QuietEnd   string `json:"quiet_end,omitempty"`
	// Digest holds notifications and shows them as one summary.
	Digest bool `json:"digest,omitempty"`
	// DailyNoticeMinutes is the daily use after which a gentle notice
	// appears; 0 is off.
	DailyNoticeMinutes int `json:"daily_notice_minutes,omitempty"`
	// MorningReminder and EveningReminder are the times of the intention
	// and review reminders.
	MorningReminder string `json:"morning_reminder,omitempty"`
	EveningReminder string `json:"evening_reminder,omitempty"`
	// SOSAlerts opts in to SOS alerts: an interface alerts on a fellow
	// member's SOS even in quiet hours and digest mode.
	SOSAlerts bool `json:"sos_alerts,omitempty"`
}

// Private is the member's private space on this node. Get it with
// Node.Private. Its methods are safe for concurrent use and return
// ErrClosed (wrapped, from storage) after the node is closed.
type Private struct {
	n  *Node
	mu sync.Mutex // serialises read-modify-write of one record
}

// Private returns the node's private space.
func (n *Node) Private() *Private { return &Private{n: n} }

func (p *Private) newID() (PrivateID, error) {
	var id PrivateID
	r := p.n.rand
	if r == nil {
		r = crand.Reader
	}
	if _, err := io.ReadFull(r, id[:]); err != nil {
		return id, fmt.Errorf("node: private id: %w", err)
	}
	return id, nil
}

// normTags trims, lower-cases, de-duplicates and sorts tags, and checks
// them.
func normTags(tags []string) ([]string, error) {
	if len(tags) > MaxTags {
		return nil, fmt.Errorf("node: more than %d tags: %w", MaxTags, ErrPrivateInvalid)
	}
	var out []string
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		if len(t) > MaxTagLen || !utf8.ValidString(t) || strings.ContainsAny(t, ",\n\r\t") {
			return nil, fmt.Errorf("node: tag must be at most %d bytes of UTF-8 without commas or line breaks: %w", MaxTagLen, ErrPrivateInvalid)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out, nil
}

func checkText(what, s string, max int, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return fmt.Errorf("node: %s is empty: %w", what, ErrPrivateInvalid)
	}
	if len(s) > max {
		return fmt.Errorf("node: %s is longer than %d bytes: %w", what, max, ErrPrivateInvalid)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("node: %s is not UTF-8: %w", what, ErrPrivateInvalid)
	}
	return nil
}

// record wraps a stored value with its version.
type record[T any] struct {
	V    int `json:"v"`
	Item T   `json:"item"`
}

func encodePrivate[T any](item T) ([]byte, error) {
	return json.Marshal(record[T]{V: privateVersion, Item: item})
}

// decodePrivate decodes a private record strictly.
func decodePrivate[T any](b []byte) (T, error) {
	var r record[T]
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&r); err != nil {
		return r.Item, fmt.Errorf("node: %w", ErrPrivateCorrupt)
	}
	if d.More() {
		return r.Item, fmt.Errorf("node: trailing data: %w", ErrPrivateCorrupt)
	}
	if _, err := d.Token(); err != io.EOF {
		return r.Item, fmt.Errorf("node: trailing data: %w", ErrPrivateCorrupt)
	}
	if r.V != privateVersion {
		return r.Item, fmt.Errorf("node: private record version %d: %w", r.V, ErrPrivateCorrupt)
	}
	return r.Item, nil
}

func (p *Private) put(prefix []byte, id []byte, v []byte) error {
	if err := p.n.store.Put(storage.KindLocal, zeroGroup, withPrefix(prefix, id), v); err != nil {
		return fmt.Errorf("node: storing private item: %w", err)
	}
	return nil
}

func getPrivate[T any](p *Private, prefix []byte, id PrivateID) (T, error) {
	var zero T
	b, err := p.n.store.Get(storage.KindLocal, zeroGroup, withPrefix(prefix, id[:]))
	if errors.Is(err, storage.ErrNotFound) {
		return zero, fmt.Errorf("node: %s: %w", id, ErrPrivateNotFound)
	}
	if err != nil {
		return zero, fmt.Errorf("node: reading private item: %w", err)
	}
	return decodePrivate[T](b)
}

func scanPrivate[T any](p *Private, prefix []byte) ([]T, error) {
	var out []T
	err := p.n.store.Scan(storage.KindLocal, zeroGroup, prefix, func(_, value []byte) error {
		v, err := decodePrivate[T](value)
		if err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("node: reading private items: %w", err)
	}
	return out, nil
}

func (p *Private) del(prefix []byte, id PrivateID) error {
	k := withPrefix(prefix, id[:])
	if _, err := p.n.store.Get(storage.KindLocal, zeroGroup, k); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("node: %s: %w", id, ErrPrivateNotFound)
	}
	if err := p.n.store.Delete(storage.KindLocal, zeroGroup, k); err != nil {
		return fmt.Errorf("node: deleting private item: %w", err)
	}
	return nil
}

// AddJournal stores a new journal entry of kind (JournalNote,
// JournalIntention or JournalReview) and returns it. It returns
// ErrPrivateInvalid (wrapped) for an unknown kind, empty or oversized text
// or bad tags.
func (p *Private) AddJournal(kind, text string, tags []string) (JournalEntry, error) {
	if kind != JournalNote && kind != JournalIntention && kind != JournalReview {
		return JournalEntry{}, fmt.Errorf("node: journal kind %q: %w", kind, ErrPrivateInvalid)
	}
	if err := checkText("journal entry", text, MaxJournalText, true); err != nil {
		return JournalEntry{}, err
	}
	t, err := normTags(tags)
	if err != nil {
		return JournalEntry{}, err
	}
	id, err := p.newID()
	if err != nil {
		return JournalEntry{}, err
	}
	now := p.now()
	e := JournalEntry{ID: id, Kind: kind, Created: now, Updated: now, Text: text, Tags: t}
	b, err := encodePrivate(e)
	if err != nil {
		return JournalEntry{}, err
	}
	return e, p.put(prefixPrivJournal, id[:], b)
}

// EditJournal replaces the text of an entry, and its tags unless tags is
// nil (nil keeps them; an empty, non-nil slice removes them all). It
// returns ErrPrivateNotFound and ErrPrivateInvalid (wrapped).
func (p *Private) EditJournal(id PrivateID, text string, tags []string) (JournalEntry, error) {
	if err := checkText("journal entry", text, MaxJournalText, true); err != nil {
		return JournalEntry{}, err
	}
	t, err := normTags(tags)
	if err != nil {
		return JournalEntry{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e, err := getPrivate[JournalEntry](p, prefixPrivJournal, id)
	if err != nil {
		return JournalEntry{}, err
	}
	e.Text, e.Updated = text, p.now()
	if tags != nil {
		e.Tags = t
	}
	b, err := encodePrivate(e)
	if err != nil {
		return JournalEntry{}, err
	}
	return e, p.put(prefixPrivJournal, id[:], b)
}

// Journal returns one entry, or ErrPrivateNotFound (wrapped).
func (p *Private) Journal(id PrivateID) (JournalEntry, error) {
	return getPrivate[JournalEntry](p, prefixPrivJournal, id)
}

// DeleteJournal removes an entry. It returns ErrPrivateNotFound (wrapped).
func (p *Private) DeleteJournal(id PrivateID) error { return p.del(prefixPrivJournal, id) }

// JournalQuery selects journal entries: all of them when zero.
type JournalQuery struct {
	// Text matches entries containing every word of it, case-insensitive.
	Text string
	// Tag matches entries carrying this tag.
	Tag string
	// Kind matches entries of this kind when non-empty.
	Kind string
}

// SearchJournal returns the entries matching q, newest first. The search
// runs over the entries decrypted in memory: there is no index on disk, so
// nothing readable about the entries is ever written anywhere.
func (p *Private) SearchJournal(q JournalQuery) ([]JournalEntry, error) {
	all, err := scanPrivate[JournalEntry](p, prefixPrivJournal)
	if err != nil {
		return nil, err
	}
	words := strings.Fields(strings.ToLower(q.Text))
	tag := strings.ToLower(strings.TrimSpace(q.Tag))
	out := all[:0]
	for _, e := range all {
		if q.Kind != "" && e.Kind != q.Kind {
			continue
		}
		if tag != "" && !slices.Contains(e.Tags, tag) {
			continue
		}
		text := strings.ToLower(e.Text)
		ok := true
		for _, w := range words {
			if !strings.Contains(text, w) && !slices.Contains(e.Tags, w) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b JournalEntry) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// CheckInInput is what AddCheckIn records. At zero means now.
type CheckInInput struct {
	At         time.Time
	Mood       int
	Craving    int
	SleepHours float64
	Triggers   []string
	Note       string
}

// AddCheckIn records a check-in. It returns ErrPrivateInvalid (wrapped)
// for a mood outside 1 to 5, a craving outside 0 to 10, sleep outside 0 to
// 24 hours, a time in the future, bad triggers or an oversized note.
func (p *Private) AddCheckIn(in CheckInInput) (CheckIn, error) {
	now := p.now()
	if in.At.IsZero() {
		in.At = now
	}
	if in.Mood < 1 || in.Mood > 5 {
		return CheckIn{}, fmt.Errorf("node: mood must be 1 to 5: %w", ErrPrivateInvalid)
	}
	if in.Craving < 0 || in.Craving > 10 {
		return CheckIn{}, fmt.Errorf("node: craving must be 0 to 10: %w", ErrPrivateInvalid)
	}
	if in.SleepHours < 0 || in.SleepHours > 24 || in.SleepHours != in.SleepHours {
		return CheckIn{}, fmt.Errorf("node: sleep must be 0 to 24 hours: %w", ErrPrivateInvalid)
	}
	if in.At.After(now.Add(time.Minute)) {
		return CheckIn{}, fmt.Errorf("node: check-in time is in the future: %w", ErrPrivateInvalid)
	}
	if err := checkText("note", in.Note, MaxNoteText, false); err != nil {
		return CheckIn{}, err
	}
	tr, err := normTags(in.Triggers)
	if err != nil {
		return CheckIn{}, err
	}
	id, err := p.newID()
	if err != nil {
		return CheckIn{}, err
	}
	c := CheckIn{ID: id, At: in.At, Mood: in.Mood, Craving: in.Craving, SleepHours: in.SleepHours, Triggers: tr, Note: in.Note}
	b, err := encodePrivate(c)
	if err != nil {
		return CheckIn{}, err
	}
	return c, p.put(prefixPrivCheckIn, id[:], b)
}

// CheckIn returns one check-in, or ErrPrivateNotFound (wrapped).
func (p *Private) CheckIn(id PrivateID) (CheckIn, error) {
	return getPrivate[CheckIn](p, prefixPrivCheckIn, id)
}

// DeleteCheckIn removes a check-in. It returns ErrPrivateNotFound
// (wrapped).
func (p *Private) DeleteCheckIn(id PrivateID) error { return p.del(prefixPrivCheckIn, id) }

// CheckIns returns every check-in, oldest first.
func (p *Private) CheckIns() ([]CheckIn, error) {
	all, err := scanPrivate[CheckIn](p, prefixPrivCheckIn)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b CheckIn) int { return a.At.Compare(b.At) })
	return all, nil
}

// AddHabit starts a day counter named name from start (zero: now). It
// returns ErrPrivateInvalid (wrapped) for an empty or long name or a start
// in the future.
func (p *Private) AddHabit(name string, start time.Time) (Habit, error) {
	name = strings.TrimSpace(name)
	if err := checkText("habit name", name, MaxHabitName, true); err != nil {
		return Habit{}, err
	}
	now := p.now()
	if start.IsZero() {
		start = now
	}
	if start.After(now) {
		return Habit{}, fmt.Errorf("node: start date is in the future: %w", ErrPrivateInvalid)
	}
	id, err := p.newID()
	if err != nil {
		return Habit{}, err
	}
	h := Habit{ID: id, Name: name, Start: start}
	b, err := encodePrivate(h)
	if err != nil {
		return Habit{}, err
	}
	return h, p.put(prefixPrivHabit, id[:], b)
}

// RecordSlip resets a habit's counter at (zero: now), keeping the start
// date and every earlier slip. It returns ErrPrivateNotFound and
// ErrPrivateInvalid (wrapped).
func (p *Private) RecordSlip(id PrivateID, at time.Time, note string) (Habit, error) {
	if err := checkText("note", note, MaxNoteText, false); err != nil {
		return Habit{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	h, err := getPrivate[Habit](p, prefixPrivHabit, id)
	if err != nil {
		return Habit{}, err
	}
	now := p.now()
	if at.IsZero() {
		at = now
	}
	if at.After(now) || at.Before(h.Start) {
		return Habit{}, fmt.Errorf("node: a slip must fall between the start date and now: %w", ErrPrivateInvalid)
	}
	if len(h.Slips) >= MaxSlips {
		return Habit{}, fmt.Errorf("node: habit holds %d slips: %w", MaxSlips, ErrPrivateInvalid)
	}
	h.Slips = append(h.Slips, Slip{At: at, Note: note})
	slices.SortFunc(h.Slips, func(a, b Slip) int { return a.At.Compare(b.At) })
	b, err := encodePrivate(h)
	if err != nil {
		return Habit{}, err
	}
	return h, p.put(prefixPrivHabit, id[:], b)
}

// Habit returns one habit, or ErrPrivateNotFound (wrapped).
func (p *Private) Habit(id PrivateID) (Habit, error) {
	return getPrivate[Habit](p, prefixPrivHabit, id)
}

// DeleteHabit removes a habit and its history. It returns
// ErrPrivateNotFound (wrapped).
func (p *Private) DeleteHabit(id PrivateID) error { return p.del(prefixPrivHabit, id) }

// Habits returns every habit, in order of start.
func (p *Private) Habits() ([]Habit, error) {
	all, err := scanPrivate[Habit](p, prefixPrivHabit)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b Habit) int { return a.Start.Compare(b.Start) })
	return all, nil
}

// Wellbeing returns the well-being settings (the zero value until set).
func (p *Private) Wellbeing() (Wellbeing, error) {
	b, err := p.n.store.Get(storage.KindLocal, zeroGroup, keyPrivWellbeing)
	if errors.Is(err, storage.ErrNotFound) {
		return Wellbeing{}, nil
	}
	if err != nil {
		return Wellbeing{}, fmt.Errorf("node: reading settings: %w", err)
	}
	return decodePrivate[Wellbeing](b)
}

// SetWellbeing replaces the well-being settings. It returns
// ErrPrivateInvalid (wrapped) for a time that is not "HH:MM", only one end
// of the quiet hours, or a negative or longer-than-a-day notice.
func (p *Private) SetWellbeing(w Wellbeing) error {
	for _, s := range []string{w.QuietStart, w.QuietEnd, w.MorningReminder, w.EveningReminder} {
		if _, err := parseClock(s); err != nil {
			return err
		}
	}
	if (w.QuietStart == "") != (w.QuietEnd == "") {
		return fmt.Errorf("node: quiet hours need a start and an end: %w", ErrPrivateInvalid)
	}
	if w.DailyNoticeMinutes < 0 || w.DailyNoticeMinutes > 24*60 {
		return fmt.Errorf("node: daily notice must be 0 to 1440 minutes: %w", ErrPrivateInvalid)
	}
	b, err := encodePrivate(w)
	if err != nil {
		return err
	}
	return p.put(keyPrivWellbeing, nil, b)
}

// parseClock parses "HH:MM" into minutes after midnight; "" is -1.
func parseClock(s string) (int, error) {
	if s == "" {
		return -1, nil
	}
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, fmt.Errorf("node: time of day %q is not HH:MM: %w", s, ErrPrivateInvalid)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// InQuietHours reports whether t falls in the quiet hours of w (in t's
// location). A range whose end precedes its start crosses midnight.
func (w Wellbeing) InQuietHours(t time.Time) bool {
	s, err1 := parseClock(w.QuietStart)
	e, err2 := parseClock(w.QuietEnd)
	if err1 != nil || err2 != nil || s < 0 || e < 0 || s == e {
		return false
	}
	m := t.Hour()*60 + t.Minute()
	if s < e {
		return m >= s && m < e
	}
	return m >= s || m < e
}

// ShareCheckIn posts one check-in to a group, as an ordinary encrypted
// post whose text is RenderCheckIn's (every field of that check-in,
// including its note). Nothing else of the private space is sent. It
// returns ErrPrivateNotFound, ErrNoGroup (wrapped) and Group.Post's errors.
func (p *Private) ShareCheckIn(ctx context.Context, group crypto.GroupID, id PrivateID) (*Message, error) {
	c, err := p.CheckIn(id)
	if err != nil {
		return nil, err
	}
	g, err := p.n.Group(group)
	if err != nil {
		return nil, err
	}
	return g.Post(ctx, RenderCheckIn(c), MessageID{})
}

// ShareMilestone posts a habit's current milestone to a group, as an
// ordinary encrypted post whose text is RenderMilestone's (the habit's
// name and its day count, nothing of its slips or notes). It returns
// ErrPrivateNotFound, ErrNoGroup (wrapped) and Group.Post's errors.
func (p *Private) ShareMilestone(ctx context.Context, group crypto.GroupID, id PrivateID) (*Message, error) {
	h, err := p.Habit(id)
	if err != nil {
		return nil, err
	}
	g, err := p.n.Group(group)
	if err != nil {
		return nil, err
	}
	return g.Post(ctx, RenderMilestone(h, p.now()), MessageID{})
}

// RenderCheckIn is the text ShareCheckIn posts.
func RenderCheckIn(c CheckIn) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Check-in: mood %d/5, craving %d/10", c.Mood, c.Craving)
	if c.SleepHours > 0 {
		fmt.Fprintf(&b, ", slept %.1f h", c.SleepHours)
	}
	if len(c.Triggers) > 0 {
		fmt.Fprintf(&b, ", triggers: %s", strings.Join(c.Triggers, ", "))
	}
	if c.Note != "" {
		fmt.Fprintf(&b, "\n%s", c.Note)
	}
	return b.String()
}

// RenderMilestone is the text ShareMilestone posts.
func RenderMilestone(h Habit, now time.Time) string {
	d := HabitDays(h, now)
	unit := "days"
	if d == 1 {
		unit = "day"
	}
	return fmt.Sprintf("Milestone: %d %s of %s", d, unit, h.Name)
}

// now is the node's clock without its monotonic reading, so an item
// returned equals the item read back from the store.
func (p *Private) now() time.Time { return p.n.now().Round(0) }
