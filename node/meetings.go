package node

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"
	_ "time/tzdata" // meetings keep their IANA zone even where the OS has no zoneinfo

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// This file records meetings: schedules and live meeting rooms
// (docs/PROTOCOL.md, "Meetings").
//
// A schedule is a protocol.Meeting from a host or moderator (by the roster
// of the envelope's epoch); for one meeting ID the newest by send time wins
// (ties: the larger envelope ID). The node keeps the winning version in a
// KindLocal record and computes occurrences from it in the meeting's own
// time zone.
//
// A live room is the set of its protocol.MeetingEvent and
// protocol.MeetingSnapshot envelopes. The node keeps every one (KindLocal,
// keyed by room, send time and envelope ID, so a scan reads them in replay
// order) and computes the room's state by replaying them (replayRoom): the
// state is a function of the set alone, so every member holding the same
// events sees the same room, whatever order they arrived in. Events that
// break the rules at their point in the replay are skipped there.
//
// A member who joins while a room is open cannot open the room's earlier
// events (they were sealed in an epoch before it joined). The chair's node
// therefore restates each open room it chairs in a MeetingSnapshot in every
// new epoch, and each admin's node re-sends the schedules it last sent
// (meetingLoop), so the newcomer sees the meetings and the room as everyone
// else does.

// Errors of meetings, wrapped with context.
var (
	// ErrNoMeeting: the group has no meeting with this ID (or it was
	// cancelled, for opening a room).
	ErrNoMeeting = errors.New("no such meeting")
	// ErrNoRoom: the group has no meeting room with this ID.
	ErrNoRoom = errors.New("no such meeting room")
	// ErrRoomClosed: the chair has closed the meeting room.
	ErrRoomClosed = errors.New("the meeting room is closed")
	// ErrNotChair: only the room's chair can do this.
	ErrNotChair = errors.New("only the meeting's chair can do this")
	// ErrNotFirst: the floor goes to the first member in the speaker
	// queue, and this member is not first (or not in the queue).
	ErrNotFirst = errors.New("the floor goes to the first member in the queue")
	// ErrNotPresent: the member has not checked in to the room.
	ErrNotPresent = errors.New("check in to the meeting first")
	// ErrUnknownZone: the time zone is not an IANA name this node knows.
	ErrUnknownZone = errors.New("unknown time zone")
	// ErrBadMeeting: the meeting's details break a rule (the wrapped
	// protocol.ErrBadContent says which).
	ErrBadMeeting = protocol.ErrBadContent
)

// KindLocal record prefixes of meetings, under the group's ID.
var (
	prefixMeeting  = []byte("mtg/s/") // + meeting ID: the winning schedule
	prefixRoomEvt  = []byte("mtg/e/") // + room ID + send time + envelope ID: one room event
	prefixReminded = []byte("mtg/n/") // + meeting ID: start of the last occurrence reminded of
)

// DefaultMeetingReminder is how long before a meeting EventMeetingSoon is
// emitted when Config.MeetingReminder is zero.
const DefaultMeetingReminder = 10 * time.Minute

// MeetingID names a scheduled meeting: the random ID its first sender drew.
type MeetingID [16]byte

// String returns the ID as 32 lower-case hex digits.
func (id MeetingID) String() string { return hex.EncodeToString(id[:]) }

// ParseMeetingID parses the form String returns, wrapping crypto.ErrBadID
// for anything else.
func ParseMeetingID(s string) (MeetingID, error) {
	var id MeetingID
	if err := parseHexID(id[:], s); err != nil {
		return MeetingID{}, fmt.Errorf("node: meeting ID: %w", err)
	}
	return id, nil
}

// RoomID names one sitting of a meeting: a live room, drawn by the chair.
type RoomID [16]byte

// String returns the ID as 32 lower-case hex digits.
func (id RoomID) String() string { return hex.EncodeToString(id[:]) }

// ParseRoomID parses the form String returns, wrapping crypto.ErrBadID for
// anything else.
func ParseRoomID(s string) (RoomID, error) {
	var id RoomID
	if err := parseHexID(id[:], s); err != nil {
		return RoomID{}, fmt.Errorf("node: room ID: %w", err)
	}
	return id, nil
}

func parseHexID(dst []byte, s string) error {
	if len(s) != 2*len(dst) {
		return crypto.ErrBadID
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return crypto.ErrBadID
	}
	return nil
}

// MeetingInput is what a host or moderator schedules.
type MeetingInput struct {
	Title string
	// Start is the first possible start; its time of day in Zone is the
	// meeting's local time.
	Start time.Time
	// Zone is an IANA time zone name ("Europe/London"); empty means UTC.
	Zone    string
	Minutes int
	// Weekdays repeat the meeting weekly on these days, on or after
	// Start's date; none means a one-off meeting at Start.
	Weekdays []time.Weekday
	Format   protocol.MeetingFormat
	Reading  string
}

// MeetingInfo is a scheduled meeting as this node holds it.
type MeetingInfo struct {
	ID    MeetingID
	Title string
	Start time.Time
	Zone  string
	// Minutes is the duration.
	Minutes   int
	Weekdays  []time.Weekday
	Format    protocol.MeetingFormat
	Reading   string
	Cancelled bool
	// By is the host or moderator who sent this version, ByName their
	// pseudonym, Updated its send time.
	By      crypto.MemberID
	ByName  string
	Updated time.Time
}

// MeetingOccurrence is one sitting of a meeting on the calendar.
type MeetingOccurrence struct {
	Meeting MeetingInfo
	Start   time.Time
	End     time.Time
}

// MeetingRoom is a live meeting room's state, the same on every member's
// node that holds the same events. Anonymous attendees are counted in
// Present and never named: in Queue and Speaker they appear with a zero ID
// and no pseudonym.
type MeetingRoom struct {
	ID        RoomID
	Meeting   MeetingID
	Chair     crypto.MemberID
	ChairName string
	Opened    time.Time
	Closed    bool
	ClosedAt  time.Time
	// Present counts everyone checked in, anonymous ones included.
	Present int
	// Attendees are the named attendees, in check-in order.
	Attendees []RoomMember
	// Queue is the speaker queue, first first.
	Queue []RoomMember
	// Speaker has the floor since SpeakerSince; nil for no one.
	Speaker      *RoomMember
	SpeakerSince time.Time
	// ShareSeconds is the share timer, 0 for none; a share ends at
	// SpeakerSince plus it.
	ShareSeconds int
	// You is this member's own place in the room. It differs from one
	// member's node to the next; everything else is shared.
	You RoomSelf
}

// RoomMember is one person in a room. ID and Pseudonym are empty for an
// anonymous attendee.
type RoomMember struct {
	ID        crypto.MemberID
	Pseudonym string
	Anonymous bool
	// Since is when they checked in (attendees only).
	Since time.Time
}

// RoomSelf is this member's place in a room.
type RoomSelf struct {
	Chair     bool
	Present   bool
	Anonymous bool
	// Position is this member's place in the queue, from 1; 0 when not
	// queued.
	Position int
	Speaking bool
}

// ShareEnds returns when the current share's timer runs out, and false
// when there is no speaker or no timer.
func (r *MeetingRoom) ShareEnds() (time.Time, bool) {
	if r.Speaker == nil || r.ShareSeconds == 0 {
		return time.Time{}, false
	}
	return r.SpeakerSince.Add(time.Duration(r.ShareSeconds) * time.Second), true
}

// --- schedules ---

// ScheduleMeeting schedules a meeting and returns it as members will see
// it. It returns ErrNotAdmin (wrapped) unless this member is a host or
// moderator, ErrUnknownZone for a zone this node does not know, and
// ErrBadMeeting (wrapped) for details that break the rules (an empty title,
// a duration outside 1 minute to a day, ...).
func (g *Group) ScheduleMeeting(ctx context.Context, in MeetingInput) (*MeetingInfo, error) {
	var id MeetingID
	if _, err := io.ReadFull(g.n.randReader(), id[:]); err != nil {
		return nil, fmt.Errorf("node: drawing a meeting ID: %w", err)
	}
	return g.sendSchedule(ctx, id, in, false)
}

// UpdateMeeting replaces a meeting's details. It returns ErrNoMeeting when
// the group has no meeting with this ID, and the errors of
// ScheduleMeeting.
func (g *Group) UpdateMeeting(ctx context.Context, id MeetingID, in MeetingInput) (*MeetingInfo, error) {
	if _, err := g.Meeting(id); err != nil {
		return nil, err
	}
	return g.sendSchedule(ctx, id, in, false)
}

// CancelMeeting cancels a meeting: members keep it, marked cancelled, and
// no longer see occurrences of it. It returns ErrNoMeeting and
// ErrNotAdmin (wrapped).
func (g *Group) CancelMeeting(ctx context.Context, id MeetingID) error {
	m, err := g.Meeting(id)
	if err != nil {
		return err
	}
	in := MeetingInput{Title: m.Title, Start: m.Start, Zone: m.Zone, Minutes: m.Minutes,
		Weekdays: m.Weekdays, Format: m.Format, Reading: m.Reading}
	_, err = g.sendSchedule(ctx, id, in, true)
	return err
}

func (g *Group) sendSchedule(ctx context.Context, id MeetingID, in MeetingInput, cancel bool) (*MeetingInfo, error) {
	if err := g.requireAdmin(); err != nil {
		return nil, err
	}
	if _, err := loadZone(in.Zone); err != nil {
		return nil, err
	}
	if in.Minutes <= 0 || in.Minutes > protocol.MaxMeetingMinutes {
		return nil, fmt.Errorf("node: scheduling: %w: a meeting lasts 1 to %d minutes", ErrBadMeeting, protocol.MaxMeetingMinutes)
	}
	c := protocol.Meeting{
		ID: id, Title: in.Title, Start: in.Start.UnixMilli(), Minutes: uint16(in.Minutes),
		Weekdays: weekdayMask(in.Weekdays), Zone: in.Zone, Format: in.Format, Reading: in.Reading,
		Cancelled: cancel,
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("node: scheduling: %w", err)
	}
	// The newest version by send time wins: a change must be sent after
	// the version it replaces, even within the same millisecond.
	if b, err := g.n.store.Get(storage.KindLocal, g.id, withPrefix(prefixMeeting, id[:])); err == nil {
		if old, err := decodeStoredMeeting(b); err == nil {
			if err := g.waitPast(ctx, old.sent); err != nil {
				return nil, err
			}
		}
	}
	if _, err := g.sendContent(ctx, c); err != nil {
		return nil, err
	}
	return g.Meeting(id)
}

// requireAdmin returns ErrNotAdmin (wrapped) unless this member is a host
// or moderator now, ErrRemoved after removal, ErrClosed after Close.
func (g *Group) requireAdmin() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.closed:
		return ErrClosed
	case g.sess.Removed():
		return fmt.Errorf("node: %w", ErrRemoved)
	case !g.sess.Me().Role.IsAdmin():
		return fmt.Errorf("node: %w", ErrNotAdmin)
	}
	return nil
}

// loadZone loads an IANA zone; "" is UTC.
func loadZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if len(name) > protocol.MaxZoneName {
		return nil, fmt.Errorf("node: %q: %w", name, ErrUnknownZone)
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		return nil, fmt.Errorf("node: %q: %w", name, ErrUnknownZone)
	}
	return loc, nil
}

func weekdayMask(days []time.Weekday) uint8 {
	var m uint8
	for _, d := range days {
		if d >= time.Sunday && d <= time.Saturday {
			m |= 1 << d
		}
	}
	return m
}

func maskWeekdays(m uint8) []time.Weekday {
	var out []time.Weekday
	for d := time.Sunday; d <= time.Saturday; d++ {
		if m&(1<<d) != 0 {
			out = append(out, d)
		}
	}
	return out
}

// storedMeeting is the winning version of a schedule.
type storedMeeting struct {
	m       protocol.Meeting
	by      crypto.MemberID
	byName  string
	sent    int64
	envelop [32]byte
}

func (s *storedMeeting) encode() ([]byte, error) {
	b, err := protocol.MarshalContent(s.m)
	if err != nil {
		return nil, err
	}
	e := newEnc()
	e.fixed(s.by[:])
	e.str(s.byName)
	e.u64(uint64(s.sent))
	e.fixed(s.envelop[:])
	e.bytes32(b)
	return e.bytes(), nil
}

func decodeStoredMeeting(b []byte) (*storedMeeting, error) {
	d := newDec(b)
	var s storedMeeting
	d.fixed(s.by[:])
	s.byName = d.str(protocol.MaxPseudonymBytes)
	s.sent = int64(d.u64())
	d.fixed(s.envelop[:])
	cb := d.bytes32(crypto.MaxContentSize)
	if err := d.finish(); err != nil {
		return nil, err
	}
	c, err := protocol.UnmarshalContent(cb)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errRecord, err)
	}
	m, ok := c.(protocol.Meeting)
	if !ok {
		return nil, fmt.Errorf("%w: not a meeting", errRecord)
	}
	s.m = m
	return &s, nil
}

func (s *storedMeeting) info() MeetingInfo {
	return MeetingInfo{
		ID: s.m.ID, Title: s.m.Title, Start: time.UnixMilli(s.m.Start), Zone: s.m.Zone,
		Minutes: int(s.m.Minutes), Weekdays: maskWeekdays(s.m.Weekdays), Format: s.m.Format,
		Reading: s.m.Reading, Cancelled: s.m.Cancelled, By: s.by, ByName: s.byName,
		Updated: time.UnixMilli(s.sent),
	}
}

// authorRoleLocked returns the role of rec's author in the roster of the
// envelope's epoch. An envelope of the previous epoch (opened during its
// grace period) gives its author no more than a host's or moderator's
// powers they still hold now: a moderator demoted by the commit that ended
// that epoch still holds its keys, and could otherwise go on scheduling,
// cancelling and chairing for the ten minutes of grace by sealing in the
// old epoch. (A node that has not yet applied the demotion still accepts
// such an envelope: the demotion had not reached it.) The caller holds
// g.mu.
func (g *Group) authorRoleLocked(rec *protocol.Received) protocol.Role {
	roster, err := g.sess.RosterAt(rec.Epoch)
	if err != nil {
		return 0
	}
	m, ok := memberIn(roster, rec.Author)
	if !ok {
		return 0
	}
	if st := g.sess.GroupState(); rec.Epoch != st.Epoch && m.Role.IsAdmin() {
		if now, ok := st.MemberByID(rec.Author); !ok || !now.Role.IsAdmin() {
			return now.Role
		}
	}
	return m.Role
}

// applyMeetingLocked records a schedule from a host or moderator if it is
// newer than the version held. The caller holds g.mu.
func (g *Group) applyMeetingLocked(rec *protocol.Received, c protocol.Meeting, now time.Time) ([]Event, error) {
	if !g.authorRoleLocked(rec).IsAdmin() {
		g.n.log.Debug("ignoring a meeting schedule from a member who is not a host or moderator")
		return nil, nil
	}
	key := withPrefix(prefixMeeting, c.ID[:])
	next := &storedMeeting{m: c, by: rec.Author, byName: rec.Pseudonym, sent: rec.Timestamp, envelop: rec.ID}
	if b, err := g.n.store.Get(storage.KindLocal, g.id, key); err == nil {
		old, err := decodeStoredMeeting(b)
		if err == nil && (old.sent > next.sent || old.sent == next.sent && bytes.Compare(old.envelop[:], next.envelop[:]) >= 0) {
			return nil, nil
		}
		if err == nil && old.m == next.m {
			// The same details re-sent (a new epoch's restatement):
			// keep the newer copy, tell no one.
			b, err := next.encode()
			if err != nil {
				return nil, err
			}
			return nil, g.n.store.Put(storage.KindLocal, g.id, key, b)
		}
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("node: reading a meeting: %w", err)
	}
	b, err := next.encode()
	if err != nil {
		return nil, err
	}
	if err := g.n.store.Put(storage.KindLocal, g.id, key, b); err != nil {
		return nil, fmt.Errorf("node: storing a meeting: %w", err)
	}
	info := next.info()
	return []Event{{Kind: EventMeeting, Group: g.id, Meeting: &info}}, nil
}

// Meeting returns one meeting, cancelled or not. It returns ErrNoMeeting
// (wrapped) when the group has none with this ID.
func (g *Group) Meeting(id MeetingID) (*MeetingInfo, error) {
	b, err := g.n.store.Get(storage.KindLocal, g.id, withPrefix(prefixMeeting, id[:]))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("node: meeting %s: %w", id, ErrNoMeeting)
	}
	if err != nil {
		return nil, fmt.Errorf("node: reading a meeting: %w", err)
	}
	s, err := decodeStoredMeeting(b)
	if err != nil {
		return nil, err
	}
	info := s.info()
	return &info, nil
}

// Meetings returns every meeting of the group, cancelled ones included,
// by first start.
func (g *Group) Meetings() ([]MeetingInfo, error) {
	stored, err := g.storedMeetings()
	if err != nil {
		return nil, err
	}
	out := make([]MeetingInfo, 0, len(stored))
	for _, s := range stored {
		out = append(out, s.info())
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out, nil
}

func (g *Group) storedMeetings() ([]*storedMeeting, error) {
	var out []*storedMeeting
	err := g.n.store.Scan(storage.KindLocal, g.id, prefixMeeting, func(_, value []byte) error {
		s, err := decodeStoredMeeting(value)
		if err != nil {
			g.n.log.Warn("skipping an unreadable meeting record", "err", err)
			return nil
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("node: reading meetings: %w", err)
	}
	return out, nil
}

// UpcomingMeetings returns the next n occurrences of the group's meetings
// that have not ended by from (one in progress included), by start.
// Cancelled meetings have none.
func (g *Group) UpcomingMeetings(from time.Time, n int) ([]MeetingOccurrence, error) {
	return g.occurrencesBetween(from, time.Time{}, n)
}

// occurrencesBetween lists occurrences ending after from and starting
// before to (zero: no bound), at most n (n <= 0: no bound, to must be
// set), by start.
func (g *Group) occurrencesBetween(from, to time.Time, n int) ([]MeetingOccurrence, error) {
	stored, err := g.storedMeetings()
	if err != nil {
		return nil, err
	}
	var out []MeetingOccurrence
	for _, s := range stored {
		if s.m.Cancelled {
			continue
		}
		info := s.info()
		d := time.Duration(s.m.Minutes) * time.Minute
		for _, start := range occurrences(s.m, from, to, n) {
			out = append(out, MeetingOccurrence{Meeting: info, Start: start, End: start.Add(d)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return bytes.Compare(out[i].Meeting.ID[:], out[j].Meeting.ID[:]) < 0
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// maxOccurrenceScan bounds how many days occurrences walks: ten years.
const maxOccurrenceScan = 3660

// occurrences returns the starts of m's sittings that end after from and
// start before to (zero: unbounded), at most max of them (max <= 0 with
// to set: all). A weekly meeting sits on each listed weekday on or after
// the local date of m.Start, at m.Start's local time of day in m.Zone, so
// it keeps its local hour across daylight-saving changes (a local time
// that does not exist that day is moved forward as time.Date does). A zone
// this node does not know is read as UTC.
func occurrences(m protocol.Meeting, from, to time.Time, max int) []time.Time {
	if max <= 0 && to.IsZero() {
		return nil
	}
	d := time.Duration(m.Minutes) * time.Minute
	first := time.UnixMilli(m.Start)
	keep := func(start time.Time) bool {
		return start.Add(d).After(from) && (to.IsZero() || start.Before(to))
	}
	if m.Weekdays == 0 {
		if keep(first) {
			return []time.Time{first.UTC()}
		}
		return nil
	}
	loc, err := loadZone(m.Zone)
	if err != nil {
		loc = time.UTC
	}
	local := first.In(loc)
	y, mo, day := local.Date()
	h, mi, sec := local.Clock()
	// Start from the later of the first date and the day before from (a
	// meeting lasts at most a day, so nothing earlier can still run).
	startDay := time.Date(y, mo, day, 12, 0, 0, 0, loc)
	if fy, fm, fd := from.In(loc).AddDate(0, 0, -1).Date(); time.Date(fy, fm, fd, 12, 0, 0, 0, loc).After(startDay) {
		startDay = time.Date(fy, fm, fd, 12, 0, 0, 0, loc)
	}
	var out []time.Time
	for i := 0; i < maxOccurrenceScan; i++ {
		dy, dm, dd := startDay.AddDate(0, 0, i).Date()
		start := time.Date(dy, dm, dd, h, mi, sec, 0, loc)
		if !to.IsZero() && !start.Before(to) {
			break
		}
		if m.Weekdays&(1<<start.Weekday()) == 0 || start.Before(first) || !keep(start) {
			continue
		}
		out = append(out, start.UTC())
		if max > 0 && len(out) >= max {
			break
		}
	}
	return out
}

// --- live rooms ---

// roomEvent is one stored event of a room, in the form the replay needs.
type roomEvent struct {
	sent     int64
	envelope [32]byte
	author   crypto.MemberID
	name     string
	admin    bool
	// content is a protocol.MeetingEvent or protocol.MeetingSnapshot.
	content protocol.Content
}

func roomEventKey(room [16]byte, sent int64, envelope [32]byte) []byte {
	k := withPrefix(prefixRoomEvt, room[:])
	k = append(k, byte(uint64(sent)>>56), byte(uint64(sent)>>48), byte(uint64(sent)>>40), byte(uint64(sent)>>32),
		byte(uint64(sent)>>24), byte(uint64(sent)>>16), byte(uint64(sent)>>8), byte(uint64(sent)))
	return append(k, envelope[:]...)
}

func (e *roomEvent) encode() ([]byte, error) {
	b, err := protocol.MarshalContent(e.content)
	if err != nil {
		return nil, err
	}
	w := newEnc()
	w.u64(uint64(e.sent))
	w.fixed(e.envelope[:])
	w.fixed(e.author[:])
	w.str(e.name)
	w.bool(e.admin)
	w.bytes32(b)
	return w.bytes(), nil
}

func decodeRoomEvent(b []byte) (*roomEvent, error) {
	d := newDec(b)
	var e roomEvent
	e.sent = int64(d.u64())
	d.fixed(e.envelope[:])
	d.fixed(e.author[:])
	e.name = d.str(protocol.MaxPseudonymBytes)
	e.admin = d.bool()
	cb := d.bytes32(crypto.MaxContentSize)
	if err := d.finish(); err != nil {
		return nil, err
	}
	c, err := protocol.UnmarshalContent(cb)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errRecord, err)
	}
	switch c.(type) {
	case protocol.MeetingEvent, protocol.MeetingSnapshot:
	default:
		return nil, fmt.Errorf("%w: not a meeting room event", errRecord)
	}
	e.content = c
	return &e, nil
}

// roomAttendee is one member present in the replayed state.
type roomAttendee struct {
	id    crypto.MemberID
	anon  bool
	since int64
}

// roomState is a room replayed: the pure result of replayRoom.
type roomState struct {
	meeting      [16]byte
	opened       bool
	openedAt     int64
	chair        crypto.MemberID
	closed       bool
	closedAt     int64
	attendees    []roomAttendee
	queue        []crypto.MemberID
	speaker      crypto.MemberID
	speakerSince int64
	seconds      uint16
}

func (s *roomState) attendee(id crypto.MemberID) int {
	return slices.IndexFunc(s.attendees, func(a roomAttendee) bool { return a.id == id })
}

// replayRoom computes a room's state from its events: sorted by (send
// time, envelope ID), each applied if it keeps the rules at that point
// (roomState.apply), the others skipped. The result depends only on the
// set of events.
func replayRoom(events []roomEvent) roomState {
	evs := slices.Clone(events)
	slices.SortFunc(evs, func(a, b roomEvent) int {
		if a.sent != b.sent {
			if a.sent < b.sent {
				return -1
			}
			return 1
		}
		return bytes.Compare(a.envelope[:], b.envelope[:])
	})
	var s roomState
	for i := range evs {
		s.apply(&evs[i])
	}
	return s
}

// apply applies one event if it keeps the rules, and reports whether it
// did. The rules:
//   - nothing happens before an Open (or a snapshot) or after a Close;
//   - Open, by a host or moderator, opens the room once; its sender is the
//     chair;
//   - a snapshot, by the chair (or, before any Open, by a host or
//     moderator, who becomes chair), replaces the state with its own;
//   - GiveFloor, Timer and Close are the chair's; EndShare the chair's or
//     the speaker's;
//   - every event names the room's meeting;
//   - a member checks in once (a second check-in only changes whether
//     they are anonymous), raises a hand only when present, not queued and
//     not speaking, and the floor goes only to the first in the queue.
func (s *roomState) apply(e *roomEvent) bool {
	if s.closed {
		return false
	}
	if snap, ok := e.content.(protocol.MeetingSnapshot); ok {
		switch {
		case s.opened && (e.author != s.chair || snap.Meeting != s.meeting):
			return false
		case !s.opened && !e.admin:
			return false
		}
		s.opened, s.meeting, s.chair, s.openedAt = true, snap.Meeting, e.author, snap.Opened
		s.attendees = s.attendees[:0]
		for _, a := range snap.Attendees {
			s.attendees = append(s.attendees, roomAttendee{id: a.Member, anon: a.Anonymous, since: a.Since})
		}
		s.queue = slices.Clone(snap.Queue)
		s.speaker, s.speakerSince, s.seconds = snap.Speaker, snap.SpeakerSince, snap.Seconds
		return true
	}
	ev, ok := e.content.(protocol.MeetingEvent)
	if !ok {
		return false
	}
	if ev.Action == protocol.ActionOpen {
		if s.opened || !e.admin {
			return false
		}
		s.opened, s.meeting, s.chair, s.openedAt = true, ev.Meeting, e.author, e.sent
		return true
	}
	if !s.opened || ev.Meeting != s.meeting {
		return false
	}
	chair := e.author == s.chair
	i := s.attendee(e.author)
	queued := slices.Index(s.queue, e.author)
	switch ev.Action {
	case protocol.ActionCheckIn:
		if i >= 0 {
			if s.attendees[i].anon == ev.Anonymous {
				return false
			}
			s.attendees[i].anon = ev.Anonymous
			return true
		}
		s.attendees = append(s.attendees, roomAttendee{id: e.author, anon: ev.Anonymous, since: e.sent})
	case protocol.ActionCheckOut:
		if i < 0 {
			return false
		}
		s.attendees = slices.Delete(s.attendees, i, i+1)
		if queued >= 0 {
			s.queue = slices.Delete(s.queue, queued, queued+1)
		}
		if s.speaker == e.author {
			s.speaker, s.speakerSince = crypto.MemberID{}, 0
		}
	case protocol.ActionRaiseHand:
		if i < 0 || queued >= 0 || s.speaker == e.author {
			return false
		}
		s.queue = append(s.queue, e.author)
	case protocol.ActionLowerHand:
		if queued < 0 {
			return false
		}
		s.queue = slices.Delete(s.queue, queued, queued+1)
	case protocol.ActionGiveFloor:
		if !chair || len(s.queue) == 0 || s.queue[0] != ev.Subject {
			return false
		}
		s.queue = s.queue[1:]
		s.speaker, s.speakerSince = ev.Subject, e.sent
	case protocol.ActionEndShare:
		if s.speaker == (crypto.MemberID{}) || !chair && e.author != s.speaker {
			return false
		}
		s.speaker, s.speakerSince = crypto.MemberID{}, 0
	case protocol.ActionTimer:
		if !chair {
			return false
		}
		s.seconds = ev.Seconds
	case protocol.ActionClose:
		if !chair {
			return false
		}
		s.closed, s.closedAt = true, e.sent
	default:
		return false
	}
	return true
}

// snapshot restates s as a MeetingSnapshot of room.
func (s *roomState) snapshot(room RoomID) protocol.MeetingSnapshot {
	snap := protocol.MeetingSnapshot{
		Meeting: s.meeting, Room: room, Opened: s.openedAt, Queue: slices.Clone(s.queue),
		Speaker: s.speaker, SpeakerSince: s.speakerSince, Seconds: s.seconds,
	}
	for _, a := range s.attendees {
		snap.Attendees = append(snap.Attendees, protocol.SnapshotAttendee{Member: a.id, Anonymous: a.anon, Since: a.since})
	}
	return snap
}

// applyMeetingEventLocked keeps a room event and emits the room's new
// state. The caller holds g.mu.
func (g *Group) applyMeetingEventLocked(rec *protocol.Received, c protocol.MeetingEvent, env []byte, now time.Time) ([]Event, error) {
	return g.keepRoomEventLocked(rec, c.Room, c)
}

// applyMeetingSnapshotLocked keeps a room snapshot and emits the room's
// new state. The caller holds g.mu.
func (g *Group) applyMeetingSnapshotLocked(rec *protocol.Received, c protocol.MeetingSnapshot, now time.Time) ([]Event, error) {
	return g.keepRoomEventLocked(rec, c.Room, c)
}

// maxRoomEventsPerMember bounds how many events of one member who is not
// a host or moderator a node keeps for one room. Every event is kept and
// the whole room is replayed on each new one, so without a bound a member
// could make every other member's node hold, and replay on each arrival,
// an ever longer room (a check-in toggled at the group's rate limit, all
// day). A member in an honest meeting sends a handful of events (check in,
// raise and lower a hand, check out); hosts and moderators, who chair, are
// trusted and not bounded.
const maxRoomEventsPerMember = 256

func (g *Group) keepRoomEventLocked(rec *protocol.Received, room RoomID, c protocol.Content) ([]Event, error) {
	e := roomEvent{sent: rec.Timestamp, envelope: rec.ID, author: rec.Author, name: rec.Pseudonym,
		admin: g.authorRoleLocked(rec).IsAdmin(), content: c}
	all, err := g.roomEventsLocked(&room)
	if err != nil {
		return nil, err
	}
	evs := all[room]
	if !e.admin {
		n := 0
		for i := range evs {
			if evs[i].author == e.author {
				n++
			}
		}
		if n >= maxRoomEventsPerMember {
			g.n.log.Debug("ignoring a meeting room event over the per-member bound")
			return nil, nil
		}
	}
	b, err := e.encode()
	if err != nil {
		return nil, err
	}
	if err := g.n.store.Put(storage.KindLocal, g.id, roomEventKey(room, e.sent, e.envelope), b); err != nil {
		return nil, fmt.Errorf("node: storing a meeting room event: %w", err)
	}
	if !slices.ContainsFunc(evs, func(o roomEvent) bool { return o.envelope == e.envelope }) {
		evs = append(evs, e)
	}
	st := replayRoom(evs)
	if !st.opened {
		return nil, nil
	}
	return []Event{{Kind: EventMeetingRoom, Group: g.id, Room: g.roomViewLocked(room, &st, evs)}}, nil
}

// roomEventsLocked reads every stored event of every room (room zero) or
// of one. The caller holds g.mu.
func (g *Group) roomEventsLocked(room *RoomID) (map[RoomID][]roomEvent, error) {
	prefix := prefixRoomEvt
	if room != nil {
		prefix = withPrefix(prefixRoomEvt, room[:])
	}
	out := make(map[RoomID][]roomEvent)
	err := g.n.store.Scan(storage.KindLocal, g.id, prefix, func(key, value []byte) error {
		if len(key) < len(prefixRoomEvt)+16 {
			return nil
		}
		var id RoomID
		copy(id[:], key[len(prefixRoomEvt):])
		e, err := decodeRoomEvent(value)
		if err != nil {
			g.n.log.Warn("skipping an unreadable meeting room event", "err", err)
			return nil
		}
		out[id] = append(out[id], *e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("node: reading meeting rooms: %w", err)
	}
	return out, nil
}

// roomLocked replays one room; nil when nothing has opened it yet. The
// caller holds g.mu.
func (g *Group) roomLocked(room RoomID) (*MeetingRoom, error) {
	all, err := g.roomEventsLocked(&room)
	if err != nil {
		return nil, err
	}
	evs := all[room]
	st := replayRoom(evs)
	if !st.opened {
		return nil, nil
	}
	return g.roomViewLocked(room, &st, evs), nil
}

// roomViewLocked turns a replayed state into what the node API shows:
// pseudonyms from the current roster (else from the member's own events),
// anonymous attendees counted but not named. The caller holds g.mu.
func (g *Group) roomViewLocked(id RoomID, s *roomState, evs []roomEvent) *MeetingRoom {
	names := make(map[crypto.MemberID]string)
	for _, e := range evs {
		names[e.author] = e.name
	}
	if !g.closed {
		for _, m := range g.sess.GroupState().Roster {
			names[m.ID] = m.Pseudonym
		}
	}
	me := crypto.MemberID{}
	if !g.closed {
		me = g.sess.Me().ID
	}
	anon := make(map[crypto.MemberID]bool)
	r := &MeetingRoom{
		ID: id, Meeting: s.meeting, Chair: s.chair, ChairName: names[s.chair],
		Opened: time.UnixMilli(s.openedAt), Closed: s.closed, Present: len(s.attendees),
		ShareSeconds: int(s.seconds), Attendees: []RoomMember{}, Queue: []RoomMember{},
	}
	if s.closed {
		r.ClosedAt = time.UnixMilli(s.closedAt)
	}
	for _, a := range s.attendees {
		anon[a.id] = a.anon
		if a.id == me {
			r.You.Present, r.You.Anonymous = true, a.anon
		}
		if !a.anon {
			r.Attendees = append(r.Attendees, RoomMember{ID: a.id, Pseudonym: names[a.id], Since: time.UnixMilli(a.since)})
		}
	}
	person := func(id crypto.MemberID) RoomMember {
		if anon[id] {
			return RoomMember{Anonymous: true}
		}
		return RoomMember{ID: id, Pseudonym: names[id]}
	}
	for i, q := range s.queue {
		r.Queue = append(r.Queue, person(q))
		if q == me {
			r.You.Position = i + 1
		}
	}
	if s.speaker != (crypto.MemberID{}) {
		p := person(s.speaker)
		r.Speaker = &p
		r.SpeakerSince = time.UnixMilli(s.speakerSince)
		r.You.Speaking = s.speaker == me
	}
	r.You.Chair = s.chair == me
	return r
}

// Room returns a room's state. It returns ErrNoRoom (wrapped) when the
// group has no room with this ID.
func (g *Group) Room(id RoomID) (*MeetingRoom, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r, err := g.roomLocked(id)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("node: room %s: %w", id, ErrNoRoom)
	}
	return r, nil
}

// OpenRooms returns the rooms of the group that are open now, by opening
// time.
func (g *Group) OpenRooms() ([]MeetingRoom, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.roomsLocked(false)
}

// roomsLocked returns the group's rooms (closed ones too if all), by
// opening time. The caller holds g.mu.
func (g *Group) roomsLocked(all bool) ([]MeetingRoom, error) {
	rooms, err := g.roomEventsLocked(nil)
	if err != nil {
		return nil, err
	}
	var out []MeetingRoom
	for id, evs := range rooms {
		st := replayRoom(evs)
		if !st.opened || st.closed && !all {
			continue
		}
		out = append(out, *g.roomViewLocked(id, &st, evs))
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Opened.Equal(out[j].Opened) {
			return out[i].Opened.Before(out[j].Opened)
		}
		return bytes.Compare(out[i].ID[:], out[j].ID[:]) < 0
	})
	return out, nil
}

// OpenRoom opens a live room for a meeting, with this member as chair, and
// returns it. It returns ErrNotAdmin (wrapped) unless this member is a host
// or moderator, and ErrNoMeeting for a meeting the group does not have or
// has cancelled.
func (g *Group) OpenRoom(ctx context.Context, meeting MeetingID) (*MeetingRoom, error) {
	if err := g.requireAdmin(); err != nil {
		return nil, err
	}
	m, err := g.Meeting(meeting)
	if err != nil {
		return nil, err
	}
	if m.Cancelled {
		return nil, fmt.Errorf("node: meeting %s is cancelled: %w", meeting, ErrNoMeeting)
	}
	var room RoomID
	if _, err := io.ReadFull(g.n.randReader(), room[:]); err != nil {
		return nil, fmt.Errorf("node: drawing a room ID: %w", err)
	}
	if _, err := g.sendContent(ctx, protocol.MeetingEvent{Meeting: meeting, Room: room, Action: protocol.ActionOpen}); err != nil {
		return nil, err
	}
	return g.Room(room)
}

// roomAction checks what this member may do in an open room before
// sending it: check(room) returns an error when the action breaks the
// rules now. The replay is the final word (a concurrent event may still
// make it a no-op); this spares the group events that would be skipped.
func (g *Group) roomAction(ctx context.Context, id RoomID, ev protocol.MeetingEvent, check func(*MeetingRoom, *roomState) error) (*MeetingRoom, error) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil, ErrClosed
	}
	all, err := g.roomEventsLocked(&id)
	if err != nil {
		g.mu.Unlock()
		return nil, err
	}
	st := replayRoom(all[id])
	if !st.opened {
		g.mu.Unlock()
		return nil, fmt.Errorf("node: room %s: %w", id, ErrNoRoom)
	}
	r := g.roomViewLocked(id, &st, all[id])
	g.mu.Unlock()
	if r.Closed {
		return nil, fmt.Errorf("node: room %s: %w", id, ErrRoomClosed)
	}
	ev.Meeting, ev.Room = st.meeting, id
	if check != nil {
		if err := check(r, &st); err != nil {
			return nil, err
		}
	}
	if err := g.waitPast(ctx, lastSent(all[id])); err != nil {
		return nil, err
	}
	if ev.Action == protocol.ActionGiveFloor && ev.Subject == (crypto.MemberID{}) {
		ev.Subject = st.queue[0]
	}
	if _, err := g.sendContent(ctx, ev); err != nil {
		return nil, err
	}
	return g.Room(id)
}

// maxRoomClockWait bounds how long a node waits for its clock to pass the
// newest event it holds of a room before sending into it (waitPast).
const maxRoomClockWait = 2 * time.Second

// lastSent is the newest send time among evs.
func lastSent(evs []roomEvent) int64 {
	var last int64
	for _, e := range evs {
		last = max(last, e.sent)
	}
	return last
}

// waitPast waits until the node's clock is past last (unix ms), when that
// is at most maxRoomClockWait away. The replay orders a room's events by
// send time (and schedules keep the newest), so an event sent in the same
// millisecond as the one it follows (a check-in right after the open, from
// the same node), or by a clock a little behind the sender of what it
// answers, could otherwise be placed before it and skipped. Beyond the bound the event goes out with
// the clock's time, and the replay's order is the clocks' order.
func (g *Group) waitPast(ctx context.Context, last int64) error {
	d := time.Duration(last-g.n.now().UnixMilli()+1) * time.Millisecond
	if d <= 0 || d > maxRoomClockWait {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func needChair(r *MeetingRoom, _ *roomState) error {
	if !r.You.Chair {
		return fmt.Errorf("node: %w", ErrNotChair)
	}
	return nil
}

func needPresent(r *MeetingRoom, _ *roomState) error {
	if !r.You.Present {
		return fmt.Errorf("node: %w", ErrNotPresent)
	}
	return nil
}

// CheckIn checks this member in to an open room, anonymously in the count
// if anonymous is set (other members' apps count them without a name;
// their nodes can still tell who signed the check-in). Checking in again
// changes only the anonymity. It returns ErrNoRoom and ErrRoomClosed
// (wrapped).
func (g *Group) CheckIn(ctx context.Context, room RoomID, anonymous bool) (*MeetingRoom, error) {
	return g.roomAction(ctx, room, protocol.MeetingEvent{Action: protocol.ActionCheckIn, Anonymous: anonymous}, nil)
}

// CheckOut leaves the room (and its queue, and the floor). It returns
// ErrNotPresent when this member is not checked in.
func (g *Group) CheckOut(ctx context.Context, room RoomID) (*MeetingRoom, error) {
	return g.roomAction(ctx, room, protocol.MeetingEvent{Action: protocol.ActionCheckOut}, needPresent)
}

// RaiseHand joins the speaker queue. It returns ErrNotPresent before
// checking in.
func (g *Group) RaiseHand(ctx context.Context, room RoomID) (*MeetingRoom, error) {
	return g.roomAction(ctx, room, protocol.MeetingEvent{Action: protocol.ActionRaiseHand}, needPresent)
}

// LowerHand leaves the speaker queue.
func (g *Group) LowerHand(ctx context.Context, room RoomID) (*MeetingRoom, error) {
	return g.roomAction(ctx, room, protocol.MeetingEvent{Action: protocol.ActionLowerHand}, nil)
}

// GiveFloor gives the floor to member, who must be first in the speaker
// queue; a zero member means whoever is first (the only way to give the
// floor to an anonymous attendee: naming one is refused as naming someone
// who is not first, so the answer never tells who they are). It returns
// ErrNotChair, and ErrNotFirst when member is not first (or is anonymous)
// or the queue is empty.
func (g *Group) GiveFloor(ctx context.Context, room RoomID, member crypto.MemberID) (*MeetingRoom, error) {
	return g.roomAction(ctx, room, protocol.MeetingEvent{Action: protocol.ActionGiveFloor, Subject: member}, func(r *MeetingRoom, st *roomState) error {
		if err := needChair(r, st); err != nil {
			return err
		}
		if len(st.queue) == 0 {
			return fmt.Errorf("node: %w", ErrNotFirst)
		}
		if member != (crypto.MemberID{}) {
			// Naming an anonymous first is refused like naming anyone
			// else, so the answer never tells who they are.
			if i := st.attendee(st.queue[0]); st.queue[0] != member || i >= 0 && st.attendees[i].anon {
				return fmt.Errorf("node: %w", ErrNotFirst)
			}
		}
		return nil
	})
}

// EndShare ends the current share; the chair or the speaker may. It
// returns ErrNotChair for anyone else.
func (g *Group) EndShare(ctx context.Context, room RoomID) (*MeetingRoom, error) {
	return g.roomAction(ctx, room, protocol.MeetingEvent{Action: protocol.ActionEndShare}, func(r *MeetingRoom, st *roomState) error {
		if !r.You.Chair && !r.You.Speaking {
			return fmt.Errorf("node: %w", ErrNotChair)
		}
		return nil
	})
}

// SetShareTimer sets the share timer to seconds (0 turns it off, at most
// protocol.MaxShareSeconds). It returns ErrNotChair and ErrBadMeeting
// (wrapped).
func (g *Group) SetShareTimer(ctx context.Context, room RoomID, seconds int) (*MeetingRoom, error) {
	if seconds < 0 || seconds > protocol.MaxShareSeconds {
		return nil, fmt.Errorf("node: %w: a share timer is 0 to %d seconds", ErrBadMeeting, protocol.MaxShareSeconds)
	}
	return g.roomAction(ctx, room, protocol.MeetingEvent{Action: protocol.ActionTimer, Seconds: uint16(seconds)}, needChair)
}

// CloseRoom closes the room; nothing happens in it afterwards. It returns
// ErrNotChair.
func (g *Group) CloseRoom(ctx context.Context, room RoomID) (*MeetingRoom, error) {
	return g.roomAction(ctx, room, protocol.MeetingEvent{Action: protocol.ActionClose}, needChair)
}

// --- restating in a new epoch, and reminders ---

// restateMeetings sends, in the group's current epoch, a snapshot of each
// open room this member chairs and each live schedule this member sent
// last, so members who joined in this epoch see them (they cannot open
// earlier epochs). Called by meetingLoop on every epoch change.
func (g *Group) restateMeetings(ctx context.Context) {
	g.mu.Lock()
	if g.closed || g.sess.Removed() {
		g.mu.Unlock()
		return
	}
	me := g.sess.Me()
	rooms, err := g.roomEventsLocked(nil)
	g.mu.Unlock()
	if err != nil {
		g.n.log.Warn("restating meeting rooms", "err", err)
		return
	}
	if !me.Role.IsAdmin() {
		return
	}
	for id, evs := range rooms {
		st := replayRoom(evs)
		if !st.opened || st.closed || st.chair != me.ID {
			continue
		}
		if err := g.waitPast(ctx, lastSent(evs)); err != nil {
			return
		}
		if _, err := g.sendContent(ctx, st.snapshot(id)); err != nil {
			g.n.log.Warn("restating a meeting room in a new epoch", "err", err)
		}
	}
	stored, err := g.storedMeetings()
	if err != nil {
		g.n.log.Warn("restating meetings", "err", err)
		return
	}
	now := g.n.now()
	for _, s := range stored {
		if s.by != me.ID || s.m.Cancelled || len(occurrences(s.m, now, time.Time{}, 1)) == 0 {
			continue
		}
		if _, err := g.sendContent(ctx, s.m); err != nil {
			g.n.log.Warn("restating a meeting in a new epoch", "err", err)
		}
	}
}

// remindMeetings emits EventMeetingSoon once for each occurrence that
// starts within lead of now (and has not started), remembering the last
// occurrence reminded of per meeting so a restart does not remind twice.
func (g *Group) remindMeetings(now time.Time, lead time.Duration) {
	occ, err := g.occurrencesBetween(now, now.Add(lead+time.Millisecond), 0)
	if err != nil {
		g.n.log.Warn("computing meeting reminders", "err", err)
		return
	}
	for _, o := range occ {
		if !o.Start.After(now) {
			continue
		}
		key := withPrefix(prefixReminded, o.Meeting.ID[:])
		start := uint64(o.Start.UnixMilli())
		if b, err := g.n.store.Get(storage.KindLocal, g.id, key); err == nil {
			d := newDec(b)
			last := d.u64()
			if d.finish() == nil && last >= start {
				continue
			}
		}
		e := newEnc()
		e.u64(start)
		if err := g.n.store.Put(storage.KindLocal, g.id, key, e.bytes()); err != nil {
			g.n.log.Warn("remembering a meeting reminder", "err", err)
			continue
		}
		o := o
		g.n.events.emit(Event{Kind: EventMeetingSoon, Group: g.id, Meeting: &o.Meeting, Occurrence: &o})
	}
}

// pruneMeetings applies the group's retention to meetings: once it has
// passed, the records of a room with no event since are deleted, and those
// of a meeting that is over since (cancelled, or one-off and ended). A
// weekly meeting's schedule is kept while it runs. With no retention
// (forever) nothing is deleted. The envelopes themselves are deleted by
// the store's retention pass like any other.
func (g *Group) pruneMeetings(now time.Time) {
	ret := g.Info().Retention
	if ret <= 0 {
		return
	}
	cutoff := now.Add(-ret).UnixMilli()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	rooms, err := g.roomEventsLocked(nil)
	if err != nil {
		g.n.log.Warn("pruning meeting rooms", "err", err)
		return
	}
	st := g.n.store
	for id, evs := range rooms {
		if lastSent(evs) >= cutoff {
			continue
		}
		for _, e := range evs {
			if err := st.Delete(storage.KindLocal, g.id, roomEventKey(id, e.sent, e.envelope)); err != nil {
				g.n.log.Warn("pruning a meeting room event", "err", err)
			}
		}
	}
	stored, err := g.storedMeetings()
	if err != nil {
		g.n.log.Warn("pruning meetings", "err", err)
		return
	}
	for _, m := range stored {
		ended := m.m.Start + int64(m.m.Minutes)*int64(time.Minute/time.Millisecond)
		over := m.m.Cancelled && m.sent < cutoff || m.m.Weekdays == 0 && ended < cutoff && m.sent < cutoff
		if !over {
			continue
		}
		for _, prefix := range [][]byte{prefixMeeting, prefixReminded} {
			if err := st.Delete(storage.KindLocal, g.id, withPrefix(prefix, m.m.ID[:])); err != nil {
				g.n.log.Warn("pruning a meeting", "err", err)
			}
		}
	}
}

// meetingTick is how often meetingLoop looks for reminders due;
// meetingPruneEvery how often it applies retention to meetings.
const (
	meetingTick       = time.Second
	meetingPruneEvery = time.Minute
)

// meetingLoop runs until the node closes: it restates meetings in each
// new epoch (restateMeetings), emits reminders (remindMeetings) by the
// node's clock, and applies retention to meetings (pruneMeetings). lead < 0
// turns reminders off.
func (n *Node) meetingLoop(lead time.Duration) {
	sub := n.Subscribe()
	defer sub.Close()
	tick := time.NewTicker(meetingTick)
	defer tick.Stop()
	var lastPrune time.Time
	for {
		select {
		case <-n.ctx.Done():
			return
		case ev, ok := <-sub.Events():
			if !ok {
				return
			}
			if ev.Kind != EventEpochChanged {
				continue
			}
			if g, err := n.Group(ev.Group); err == nil {
				ctx, cancel := context.WithTimeout(n.ctx, dialTimeout)
				g.restateMeetings(ctx)
				cancel()
			}
		case <-tick.C:
			now := n.now()
			prune := time.Since(lastPrune) >= meetingPruneEvery // paced by the real clock
			if prune {
				lastPrune = time.Now()
			}
			for _, g := range n.Groups() {
				if lead >= 0 {
					g.remindMeetings(now, lead)
				}
				if prune {
					g.pruneMeetings(now)
				}
			}
		}
	}
}

// randReader is the node's randomness: Config.Rand, else crypto/rand.
func (n *Node) randReader() io.Reader {
	if n.rand != nil {
		return n.rand
	}
	return crand.Reader
}

// startMeetings starts meetingLoop with the configured reminder lead.
func (n *Node) startMeetings(lead time.Duration) {
	if lead == 0 {
		lead = DefaultMeetingReminder
	}
	n.goTracked(func() { n.meetingLoop(lead) })
}
