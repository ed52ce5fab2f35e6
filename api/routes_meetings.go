package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/node"
	"github.com/hearthnet/hearth/protocol"
)

// The routes of meetings (docs/PROTOCOL.md, "Meetings"): schedules, the
// upcoming sittings, the iCalendar export, and live meeting rooms. Times
// are RFC 3339 in UTC; a member's interface shows them in the member's own
// zone. A room's anonymous attendees are counted, never named: the node
// does not expose who they are, so neither does the API.

// Codes of the meeting routes.
const (
	CodeNoMeeting  = "no_meeting"
	CodeNoRoom     = "no_room"
	CodeRoomClosed = "room_closed"
	CodeNotChair   = "not_chair"
	CodeNotFirst   = "not_first"
	CodeNotPresent = "not_present"
	CodeBadZone    = "bad_zone"
)

// Bounds of GET .../meetings/upcoming.
const (
	defaultUpcoming = 10
	maxUpcoming     = 100
)

// meetingRoutes serves meeting schedules, the iCalendar export and live
// meeting rooms.
func meetingRoutes(nr *nodeRoutes) []Route {
	const g = "/api/v1/groups/{group}"
	return []Route{
		{Method: http.MethodGet, Path: g + "/meetings", Summary: "List the group's meetings, cancelled ones included", Handler: nr.listMeetings},
		{Method: http.MethodPost, Path: g + "/meetings", Summary: "Schedule a meeting (hosts and moderators)", Handler: nr.scheduleMeeting},
		{Method: http.MethodGet, Path: g + "/meetings/upcoming", Summary: "The next sittings of the group's meetings (limit=N)", Handler: nr.upcomingMeetings},
		{Method: http.MethodGet, Path: g + "/meetings.ics", Summary: "The next 90 days of sittings as an iCalendar file", Handler: nr.meetingsICS},
		{Method: http.MethodPut, Path: g + "/meetings/{meeting}", Summary: "Change a meeting's details (hosts and moderators)", Handler: nr.updateMeeting},
		{Method: http.MethodDelete, Path: g + "/meetings/{meeting}", Summary: "Cancel a meeting (hosts and moderators)", Handler: nr.cancelMeeting},
		{Method: http.MethodPost, Path: g + "/meetings/{meeting}/rooms", Summary: "Open a live room for a meeting, as its chair (hosts and moderators)", Handler: nr.openRoom},
		{Method: http.MethodGet, Path: g + "/rooms", Summary: "List the group's open meeting rooms", Handler: nr.listRooms},
		{Method: http.MethodGet, Path: g + "/rooms/{room}", Summary: "Read a meeting room's state", Handler: nr.getRoom},
		{Method: http.MethodPost, Path: g + "/rooms/{room}/checkin", Summary: "Check in to a meeting room, optionally anonymous in the count", Handler: nr.checkIn},
		{Method: http.MethodPost, Path: g + "/rooms/{room}/checkout", Summary: "Leave a meeting room", Handler: nr.roomStep((*node.Group).CheckOut)},
		{Method: http.MethodPost, Path: g + "/rooms/{room}/raise", Summary: "Raise a hand: join the speaker queue", Handler: nr.roomStep((*node.Group).RaiseHand)},
		{Method: http.MethodPost, Path: g + "/rooms/{room}/lower", Summary: "Lower a hand: leave the speaker queue", Handler: nr.roomStep((*node.Group).LowerHand)},
		{Method: http.MethodPost, Path: g + "/rooms/{room}/floor", Summary: "Give the floor to the first in the queue (the chair)", Handler: nr.giveFloor},
		{Method: http.MethodPost, Path: g + "/rooms/{room}/endshare", Summary: "End the current share (the chair or the speaker)", Handler: nr.roomStep((*node.Group).EndShare)},
		{Method: http.MethodPost, Path: g + "/rooms/{room}/timer", Summary: "Set the share timer in seconds, 0 for none (the chair)", Handler: nr.setTimer},
		{Method: http.MethodPost, Path: g + "/rooms/{room}/close", Summary: "Close the meeting room (the chair)", Handler: nr.roomStep((*node.Group).CloseRoom)},
	}
}

// meetingError maps the errors of meetings and passes the rest to
// nodeError. A schedule that breaks a rule is answered with the rule the
// protocol names ("the title is empty"), which is what the member needs.
func meetingError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, node.ErrNoMeeting):
		return NewError(http.StatusNotFound, CodeNoMeeting, "the group has no such meeting (or it was cancelled); list the meetings to find it")
	case errors.Is(err, node.ErrNoRoom):
		return NewError(http.StatusNotFound, CodeNoRoom, "the group has no such meeting room; list the open rooms to find it")
	case errors.Is(err, node.ErrRoomClosed):
		return NewError(http.StatusConflict, CodeRoomClosed, "the chair has closed this meeting room")
	case errors.Is(err, node.ErrNotChair):
		return NewError(http.StatusForbidden, CodeNotChair, "only the meeting's chair can do this")
	case errors.Is(err, node.ErrNotFirst):
		return NewError(http.StatusConflict, CodeNotFirst, "the floor goes to the first person in the queue; give it to them, or wait until someone raises a hand")
	case errors.Is(err, node.ErrNotPresent):
		return NewError(http.StatusConflict, CodeNotPresent, "check in to the meeting first")
	case errors.Is(err, node.ErrUnknownZone):
		return NewError(http.StatusBadRequest, CodeBadZone, "the time zone is not one Hearth knows; use an IANA name such as Europe/London or America/New_York")
	case errors.Is(err, node.ErrBadMeeting):
		msg := err.Error()
		if i := strings.LastIndex(msg, protocol.ErrBadContent.Error()+": "); i >= 0 {
			msg = msg[i+len(protocol.ErrBadContent.Error())+2:]
		}
		return NewError(http.StatusBadRequest, CodeBadRequest, "the meeting cannot be saved as it is: "+msg)
	}
	return nodeError(err)
}

// The wire forms. They mirror the types of api/client/meetings.go.
type meetingJSON struct {
	ID        string   `json:"id"`
	Title     string   `json:"title"`
	Start     string   `json:"start"`
	Zone      string   `json:"zone"`
	Minutes   int      `json:"minutes"`
	Weekdays  []string `json:"weekdays"`
	Format    string   `json:"format"`
	Reading   string   `json:"reading"`
	Cancelled bool     `json:"cancelled"`
	By        string   `json:"by"`
	ByName    string   `json:"by_name"`
	Updated   string   `json:"updated"`
}

type occurrenceJSON struct {
	Meeting meetingJSON `json:"meeting"`
	Start   string      `json:"start"`
	End     string      `json:"end"`
}

type roomMemberJSON struct {
	ID        string `json:"id,omitempty"`
	Pseudonym string `json:"pseudonym,omitempty"`
	Anonymous bool   `json:"anonymous"`
	Since     string `json:"since,omitempty"`
}

type roomSelfJSON struct {
	Chair     bool `json:"chair"`
	Present   bool `json:"present"`
	Anonymous bool `json:"anonymous"`
	Position  int  `json:"position"`
	Speaking  bool `json:"speaking"`
}

type roomJSON struct {
	ID           string           `json:"id"`
	Meeting      string           `json:"meeting"`
	Chair        string           `json:"chair"`
	ChairName    string           `json:"chair_name"`
	Opened       string           `json:"opened"`
	Closed       bool             `json:"closed"`
	ClosedAt     string           `json:"closed_at,omitempty"`
	Present      int              `json:"present"`
	Attendees    []roomMemberJSON `json:"attendees"`
	Queue        []roomMemberJSON `json:"queue"`
	Speaker      *roomMemberJSON  `json:"speaker"`
	SpeakerSince string           `json:"speaker_since,omitempty"`
	ShareSeconds int              `json:"share_seconds"`
	ShareEnds    string           `json:"share_ends,omitempty"`
	You          roomSelfJSON     `json:"you"`
}

// formatNames are the API's names of the meeting formats.
var formatNames = map[protocol.MeetingFormat]string{
	protocol.FormatNone: "", protocol.FormatOpenSharing: "open_sharing",
	protocol.FormatSpeaker: "speaker", protocol.FormatStepStudy: "step_study",
}

func parseFormat(s string) (protocol.MeetingFormat, error) {
	for f, name := range formatNames {
		if name == s {
			return f, nil
		}
	}
	return 0, NewError(http.StatusBadRequest, CodeBadRequest, "the format must be open_sharing, speaker, step_study or empty")
}

var weekdayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func parseWeekdays(days []string) ([]time.Weekday, error) {
	var out []time.Weekday
	seen := map[string]bool{}
	for _, d := range days {
		i := -1
		for j, n := range weekdayNames {
			if n == d {
				i = j
			}
		}
		if i < 0 || seen[d] {
			return nil, NewError(http.StatusBadRequest, CodeBadRequest, "weekdays must be distinct names from mon, tue, wed, thu, fri, sat, sun")
		}
		seen[d] = true
		out = append(out, time.Weekday(i))
	}
	return out, nil
}

func meetingOf(m node.MeetingInfo) meetingJSON {
	days := make([]string, 0, len(m.Weekdays))
	for _, d := range m.Weekdays {
		days = append(days, weekdayNames[d])
	}
	return meetingJSON{
		ID: m.ID.String(), Title: m.Title, Start: rfc3339(m.Start), Zone: m.Zone, Minutes: m.Minutes,
		Weekdays: days, Format: formatNames[m.Format], Reading: m.Reading, Cancelled: m.Cancelled,
		By: m.By.String(), ByName: m.ByName, Updated: rfc3339(m.Updated),
	}
}

func occurrenceOf(o node.MeetingOccurrence) occurrenceJSON {
	return occurrenceJSON{Meeting: meetingOf(o.Meeting), Start: rfc3339(o.Start), End: rfc3339(o.End)}
}

func roomMemberOf(m node.RoomMember) roomMemberJSON {
	out := roomMemberJSON{Anonymous: m.Anonymous, Pseudonym: m.Pseudonym}
	if m.ID != (crypto.MemberID{}) {
		out.ID = m.ID.String()
	}
	if !m.Since.IsZero() {
		out.Since = rfc3339(m.Since)
	}
	return out
}

func roomOf(r node.MeetingRoom) roomJSON {
	out := roomJSON{
		ID: r.ID.String(), Meeting: r.Meeting.String(), Chair: r.Chair.String(), ChairName: r.ChairName,
		Opened: rfc3339(r.Opened), Closed: r.Closed, Present: r.Present, ShareSeconds: r.ShareSeconds,
		Attendees: []roomMemberJSON{}, Queue: []roomMemberJSON{},
		You: roomSelfJSON{Chair: r.You.Chair, Present: r.You.Present, Anonymous: r.You.Anonymous, Position: r.You.Position, Speaking: r.You.Speaking},
	}
	if r.Closed {
		out.ClosedAt = rfc3339(r.ClosedAt)
	}
	for _, a := range r.Attendees {
		out.Attendees = append(out.Attendees, roomMemberOf(a))
	}
	for _, q := range r.Queue {
		out.Queue = append(out.Queue, roomMemberOf(q))
	}
	if r.Speaker != nil {
		s := roomMemberOf(*r.Speaker)
		out.Speaker = &s
		out.SpeakerSince = rfc3339(r.SpeakerSince)
	}
	if t, ok := r.ShareEnds(); ok {
		out.ShareEnds = rfc3339(t)
	}
	return out
}

// scheduleRequest is the body of POST and PUT .../meetings. Start is the
// first start as the local time in Zone ("2026-12-01T19:00") or RFC 3339
// with an offset.
// The bodies of the live room's check-in, floor and share-timer routes.
type (
	checkInRoomRequest struct {
		Anonymous bool `json:"anonymous"`
	}
	floorRequest struct {
		Member string `json:"member"`
	}
	timerRequest struct {
		Seconds *int `json:"seconds"`
	}
)

type scheduleRequest struct {
	Title    string   `json:"title"`
	Start    string   `json:"start"`
	Zone     string   `json:"zone"`
	Minutes  int      `json:"minutes"`
	Weekdays []string `json:"weekdays"`
	Format   string   `json:"format"`
	Reading  string   `json:"reading"`
}

func (req *scheduleRequest) input() (node.MeetingInput, error) {
	var in node.MeetingInput
	loc := time.UTC
	if req.Zone != "" {
		l, err := time.LoadLocation(req.Zone)
		if err != nil || req.Zone == "Local" {
			return in, meetingError(fmt.Errorf("%w", node.ErrUnknownZone))
		}
		loc = l
	}
	start, err := parseMeetingStart(req.Start, loc)
	if err != nil {
		return in, err
	}
	days, err := parseWeekdays(req.Weekdays)
	if err != nil {
		return in, err
	}
	format, err := parseFormat(req.Format)
	if err != nil {
		return in, err
	}
	if req.Minutes < 1 || req.Minutes > protocol.MaxMeetingMinutes {
		return in, NewError(http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("minutes must be a whole number from 1 to %d", protocol.MaxMeetingMinutes))
	}
	return node.MeetingInput{Title: req.Title, Start: start, Zone: req.Zone, Minutes: req.Minutes,
		Weekdays: days, Format: format, Reading: req.Reading}, nil
}

// parseMeetingStart reads a local wall time in loc, or RFC 3339.
func parseMeetingStart(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, NewError(http.StatusBadRequest, CodeBadRequest,
		"start must be a local time such as 2026-12-01T19:00 (in the meeting's zone) or RFC 3339")
}

func parseMeetingID(s string) (node.MeetingID, error) {
	return parseID("meeting", 2*len(node.MeetingID{}), s, node.ParseMeetingID)
}

func parseRoomID(s string) (node.RoomID, error) {
	return parseID("room", 2*len(node.RoomID{}), s, node.ParseRoomID)
}

func (nr *nodeRoutes) listMeetings(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	ms, err := g.Meetings()
	if err != nil {
		return meetingError(err)
	}
	return writeList(w, ms, meetingOf)
}

func (nr *nodeRoutes) scheduleMeeting(w http.ResponseWriter, r *http.Request) error {
	return nr.saveMeeting(w, r, false)
}

func (nr *nodeRoutes) updateMeeting(w http.ResponseWriter, r *http.Request) error {
	return nr.saveMeeting(w, r, true)
}

func (nr *nodeRoutes) saveMeeting(w http.ResponseWriter, r *http.Request, update bool) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	var id node.MeetingID
	if update {
		if id, err = parseMeetingID(r.PathValue("meeting")); err != nil {
			return err
		}
	}
	var req scheduleRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	in, err := req.input()
	if err != nil {
		return err
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	var m *node.MeetingInfo
	status := http.StatusCreated
	if update {
		m, err = g.UpdateMeeting(ctx, id, in)
		status = http.StatusOK
	} else {
		m, err = g.ScheduleMeeting(ctx, in)
	}
	if err != nil {
		return meetingError(err)
	}
	writeJSON(w, status, meetingOf(*m))
	return nil
}

func (nr *nodeRoutes) cancelMeeting(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	id, err := parseMeetingID(r.PathValue("meeting"))
	if err != nil {
		return err
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	if err := g.CancelMeeting(ctx, id); err != nil {
		return meetingError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (nr *nodeRoutes) upcomingMeetings(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return NewError(http.StatusBadRequest, CodeBadRequest, "the query string does not parse; send limit=N only")
	}
	if err := checkQuery(q, "limit"); err != nil {
		return err
	}
	limit := defaultUpcoming
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxUpcoming || strconv.Itoa(n) != s {
			return NewError(http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("limit must be a whole number from 1 to %d", maxUpcoming))
		}
		limit = n
	}
	occ, err := g.UpcomingMeetings(time.Now(), limit)
	if err != nil {
		return meetingError(err)
	}
	return writeList(w, occ, occurrenceOf)
}

func (nr *nodeRoutes) meetingsICS(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	b, err := g.ICalendar(time.Now(), 0)
	if err != nil {
		return meetingError(err)
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="hearth-meetings.ics"`)
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b)
	return err
}

func (nr *nodeRoutes) openRoom(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	id, err := parseMeetingID(r.PathValue("meeting"))
	if err != nil {
		return err
	}
	if err := decodeOptionalJSON(w, r, &noFields{}); err != nil {
		return err
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	room, err := g.OpenRoom(ctx, id)
	if err != nil {
		return meetingError(err)
	}
	writeJSON(w, http.StatusCreated, roomOf(*room))
	return nil
}

func (nr *nodeRoutes) listRooms(w http.ResponseWriter, r *http.Request) error {
	g, err := nr.group(r)
	if err != nil {
		return err
	}
	rooms, err := g.OpenRooms()
	if err != nil {
		return meetingError(err)
	}
	return writeList(w, rooms, roomOf)
}

// roomOfRequest returns the group and room the request names.
func (nr *nodeRoutes) roomOfRequest(r *http.Request) (*node.Group, node.RoomID, error) {
	g, err := nr.group(r)
	if err != nil {
		return nil, node.RoomID{}, err
	}
	id, err := parseRoomID(r.PathValue("room"))
	return g, id, err
}

func (nr *nodeRoutes) getRoom(w http.ResponseWriter, r *http.Request) error {
	g, id, err := nr.roomOfRequest(r)
	if err != nil {
		return err
	}
	room, err := g.Room(id)
	if err != nil {
		return meetingError(err)
	}
	writeJSON(w, http.StatusOK, roomOf(*room))
	return nil
}

// roomStep serves a room action that takes no fields, answering with the
// room's new state.
func (nr *nodeRoutes) roomStep(do func(*node.Group, context.Context, node.RoomID) (*node.MeetingRoom, error)) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		g, id, err := nr.roomOfRequest(r)
		if err != nil {
			return err
		}
		if err := decodeOptionalJSON(w, r, &noFields{}); err != nil {
			return err
		}
		ctx, cancel := nr.opContext(r)
		defer cancel()
		return nr.answerRoom(w, func() (*node.MeetingRoom, error) { return do(g, ctx, id) })
	}
}

func (nr *nodeRoutes) answerRoom(w http.ResponseWriter, do func() (*node.MeetingRoom, error)) error {
	room, err := do()
	if err != nil {
		return meetingError(err)
	}
	writeJSON(w, http.StatusOK, roomOf(*room))
	return nil
}

func (nr *nodeRoutes) checkIn(w http.ResponseWriter, r *http.Request) error {
	g, id, err := nr.roomOfRequest(r)
	if err != nil {
		return err
	}
	var req checkInRoomRequest
	if err := decodeOptionalJSON(w, r, &req); err != nil {
		return err
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	return nr.answerRoom(w, func() (*node.MeetingRoom, error) { return g.CheckIn(ctx, id, req.Anonymous) })
}

func (nr *nodeRoutes) giveFloor(w http.ResponseWriter, r *http.Request) error {
	g, id, err := nr.roomOfRequest(r)
	if err != nil {
		return err
	}
	var req floorRequest
	if err := decodeOptionalJSON(w, r, &req); err != nil {
		return err
	}
	var member crypto.MemberID
	if req.Member != "" {
		if member, err = parseMemberID(req.Member); err != nil {
			return err
		}
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	return nr.answerRoom(w, func() (*node.MeetingRoom, error) { return g.GiveFloor(ctx, id, member) })
}

func (nr *nodeRoutes) setTimer(w http.ResponseWriter, r *http.Request) error {
	g, id, err := nr.roomOfRequest(r)
	if err != nil {
		return err
	}
	var req timerRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Seconds == nil || *req.Seconds < 0 || *req.Seconds > protocol.MaxShareSeconds {
		return NewError(http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("seconds must be a whole number from 0 (no timer) to %d", protocol.MaxShareSeconds))
	}
	ctx, cancel := nr.opContext(r)
	defer cancel()
	return nr.answerRoom(w, func() (*node.MeetingRoom, error) { return g.SetShareTimer(ctx, id, *req.Seconds) })
}
