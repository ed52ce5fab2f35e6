package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// The methods of this file drive meetings: schedules, upcoming sittings,
// the iCalendar export and live meeting rooms. Errors as the group
// methods: an *Error when the daemon refuses (codes no_group, not_admin,
// no_meeting, no_room, room_closed, not_chair, not_first, not_present,
// bad_zone, bad_request), the transport's error, wrapped, otherwise.

// Meeting is a scheduled meeting.
type Meeting struct {
	ID    string    `json:"id"`
	Title string    `json:"title"`
	Start time.Time `json:"start"`
	// Zone is the IANA zone the meeting keeps its local hour in ("" for
	// UTC).
	Zone    string `json:"zone"`
	Minutes int    `json:"minutes"`
	// Weekdays are "mon" to "sun"; none for a one-off meeting.
	Weekdays []string `json:"weekdays"`
	// Format is "", "open_sharing", "speaker" or "step_study".
	Format    string    `json:"format"`
	Reading   string    `json:"reading"`
	Cancelled bool      `json:"cancelled"`
	By        string    `json:"by"`
	ByName    string    `json:"by_name"`
	Updated   time.Time `json:"updated"`
}

// MeetingInput is the body of POST and PUT .../meetings. Start is the
// local time in Zone ("2026-12-01T19:00") or RFC 3339.
type MeetingInput struct {
	Title    string   `json:"title"`
	Start    string   `json:"start"`
	Zone     string   `json:"zone,omitempty"`
	Minutes  int      `json:"minutes"`
	Weekdays []string `json:"weekdays,omitempty"`
	Format   string   `json:"format,omitempty"`
	Reading  string   `json:"reading,omitempty"`
}

// Occurrence is one sitting of a meeting.
type Occurrence struct {
	Meeting Meeting   `json:"meeting"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
}

// RoomMember is one person in a meeting room; ID and Pseudonym are empty
// for an anonymous attendee.
type RoomMember struct {
	ID        string    `json:"id,omitempty"`
	Pseudonym string    `json:"pseudonym,omitempty"`
	Anonymous bool      `json:"anonymous"`
	Since     time.Time `json:"since,omitzero"`
}

// RoomSelf is this member's own place in a room.
type RoomSelf struct {
	Chair     bool `json:"chair"`
	Present   bool `json:"present"`
	Anonymous bool `json:"anonymous"`
	Position  int  `json:"position"`
	Speaking  bool `json:"speaking"`
}

// Room is a live meeting room's state. Present counts anonymous attendees
// too; Attendees lists only the named ones.
type Room struct {
	ID           string       `json:"id"`
	Meeting      string       `json:"meeting"`
	Chair        string       `json:"chair"`
	ChairName    string       `json:"chair_name"`
	Opened       time.Time    `json:"opened"`
	Closed       bool         `json:"closed"`
	ClosedAt     time.Time    `json:"closed_at,omitzero"`
	Present      int          `json:"present"`
	Attendees    []RoomMember `json:"attendees"`
	Queue        []RoomMember `json:"queue"`
	Speaker      *RoomMember  `json:"speaker"`
	SpeakerSince time.Time    `json:"speaker_since,omitzero"`
	ShareSeconds int          `json:"share_seconds"`
	ShareEnds    time.Time    `json:"share_ends,omitzero"`
	You          RoomSelf     `json:"you"`
}

// MeetingEventData is the data of the "meeting", "meeting_room" and
// "meeting_soon" events.
type MeetingEventData struct {
	Group      string      `json:"group"`
	Meeting    *Meeting    `json:"meeting,omitempty"`
	Room       *Room       `json:"room,omitempty"`
	Occurrence *Occurrence `json:"occurrence,omitempty"`
}

// MeetingData decodes the data of a meeting event.
func (ev Event) MeetingData() (MeetingEventData, error) {
	var d MeetingEventData
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return d, fmt.Errorf("hearth/api/client: %s event data does not decode: %w", ev.Type, err)
	}
	return d, nil
}

// Meetings lists a group's meetings, cancelled ones included.
func (c *Client) Meetings(ctx context.Context, group string) ([]Meeting, error) {
	p, err := groupPath(group, "/meetings")
	if err != nil {
		return nil, err
	}
	var out []Meeting
	return out, c.Do(ctx, http.MethodGet, p, nil, &out)
}

// ScheduleMeeting schedules a meeting (hosts and moderators).
func (c *Client) ScheduleMeeting(ctx context.Context, group string, in MeetingInput) (Meeting, error) {
	var m Meeting
	p, err := groupPath(group, "/meetings")
	if err != nil {
		return m, err
	}
	return m, c.Do(ctx, http.MethodPost, p, in, &m)
}

// UpdateMeeting replaces a meeting's details.
func (c *Client) UpdateMeeting(ctx context.Context, group, meeting string, in MeetingInput) (Meeting, error) {
	var m Meeting
	p, err := meetingPath(group, meeting, "")
	if err != nil {
		return m, err
	}
	return m, c.Do(ctx, http.MethodPut, p, in, &m)
}

// CancelMeeting cancels a meeting.
func (c *Client) CancelMeeting(ctx context.Context, group, meeting string) error {
	p, err := meetingPath(group, meeting, "")
	if err != nil {
		return err
	}
	return c.Do(ctx, http.MethodDelete, p, nil, nil)
}

// UpcomingMeetings returns the next limit sittings (0: the daemon's
// default of 10).
func (c *Client) UpcomingMeetings(ctx context.Context, group string, limit int) ([]Occurrence, error) {
	rest := "/meetings/upcoming"
	if limit > 0 {
		rest += "?limit=" + strconv.Itoa(limit)
	}
	p, err := groupPath(group, rest)
	if err != nil {
		return nil, err
	}
	var out []Occurrence
	return out, c.Do(ctx, http.MethodGet, p, nil, &out)
}

// MeetingsICS returns the iCalendar file of the next 90 days of sittings.
func (c *Client) MeetingsICS(ctx context.Context, group string) ([]byte, error) {
	p, err := groupPath(group, "/meetings.ics")
	if err != nil {
		return nil, err
	}
	resp, err := c.send(ctx, http.MethodGet, p, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
}

// OpenRoom opens a live room for a meeting, with this member as chair.
func (c *Client) OpenRoom(ctx context.Context, group, meeting string) (Room, error) {
	var r Room
	p, err := meetingPath(group, meeting, "/rooms")
	if err != nil {
		return r, err
	}
	return r, c.Do(ctx, http.MethodPost, p, struct{}{}, &r)
}

// Rooms lists a group's open meeting rooms.
func (c *Client) Rooms(ctx context.Context, group string) ([]Room, error) {
	p, err := groupPath(group, "/rooms")
	if err != nil {
		return nil, err
	}
	var out []Room
	return out, c.Do(ctx, http.MethodGet, p, nil, &out)
}

// Room reads a meeting room's state.
func (c *Client) Room(ctx context.Context, group, room string) (Room, error) {
	var r Room
	p, err := roomPath(group, room, "")
	if err != nil {
		return r, err
	}
	return r, c.Do(ctx, http.MethodGet, p, nil, &r)
}

// RoomAction does one of "checkout", "raise", "lower", "endshare" and
// "close" in a room and returns its new state.
func (c *Client) RoomAction(ctx context.Context, group, room, action string) (Room, error) {
	return c.roomPost(ctx, group, room, "/"+action, struct{}{})
}

// CheckIn checks in to a room, anonymous in the count if anonymous.
func (c *Client) CheckIn(ctx context.Context, group, room string, anonymous bool) (Room, error) {
	return c.roomPost(ctx, group, room, "/checkin", struct {
		Anonymous bool `json:"anonymous"`
	}{anonymous})
}

// GiveFloor gives the floor to member, who must be first in the queue; ""
// gives it to whoever is first.
func (c *Client) GiveFloor(ctx context.Context, group, room, member string) (Room, error) {
	return c.roomPost(ctx, group, room, "/floor", struct {
		Member string `json:"member,omitempty"`
	}{member})
}

// SetShareTimer sets the share timer (0 turns it off).
func (c *Client) SetShareTimer(ctx context.Context, group, room string, seconds int) (Room, error) {
	return c.roomPost(ctx, group, room, "/timer", struct {
		Seconds int `json:"seconds"`
	}{seconds})
}

func (c *Client) roomPost(ctx context.Context, group, room, rest string, in any) (Room, error) {
	var r Room
	p, err := roomPath(group, room, rest)
	if err != nil {
		return r, err
	}
	return r, c.Do(ctx, http.MethodPost, p, in, &r)
}

func meetingPath(group, meeting, rest string) (string, error) {
	m, err := segment("meeting", meeting)
	if err != nil {
		return "", err
	}
	return groupPath(group, "/meetings/"+m+rest)
}

func roomPath(group, room, rest string) (string, error) {
	r, err := segment("room", room)
	if err != nil {
		return "", err
	}
	return groupPath(group, "/rooms/"+r+rest)
}
