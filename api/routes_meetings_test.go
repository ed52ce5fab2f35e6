package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hearthnet/hearth/api/client"
)

// waitMeeting returns the data of the first event of type typ whose
// meeting data match.
func (ev *events) waitMeeting(what, typ string, match func(client.MeetingEventData) bool) client.MeetingEventData {
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
			d, err := e.MeetingData()
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

// TestRoutesMeetings drives meetings through two real daemons: a host
// schedules (a member may not), both see the schedule live and upcoming
// in the meeting's zone, the iCalendar export names no group secret, the
// room runs (anonymous check-in counted but never named, queue, floor in
// order, timer, close), the reminder arrives by the node's clock, and a
// cancellation reaches the member. Bad input is refused with its code.
func TestRoutesMeetings(t *testing.T) {
	t.Parallel()
	ann, bo := startDaemonNode(t, "ann"), startDaemonNode(t, "bo")
	ctx := e2eContext(t)
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

	london, _ := time.LoadLocation("Europe/London")
	day := time.Now().In(london).AddDate(0, 0, 3)
	in := client.MeetingInput{
		Title: "Evening share, all welcome; tea", Start: day.Format("2006-01-02") + "T19:00", Zone: "Europe/London",
		Minutes: 60, Weekdays: []string{"mon", "thu"}, Format: "speaker", Reading: "Just for today.",
	}
	_, err = bo.c.ScheduleMeeting(ctx, group, in)
	wantCode(t, "a member scheduling", err, http.StatusForbidden, "not_admin")
	for name, c := range map[string]struct {
		edit func(*client.MeetingInput)
		code string
	}{
		"unknown zone":   {func(m *client.MeetingInput) { m.Zone = "Mars/Base" }, "bad_zone"},
		"bad weekday":    {func(m *client.MeetingInput) { m.Weekdays = []string{"funday"} }, "bad_request"},
		"no minutes":     {func(m *client.MeetingInput) { m.Minutes = 0 }, "bad_request"},
		"bad start":      {func(m *client.MeetingInput) { m.Start = "tomorrow evening" }, "bad_request"},
		"unknown format": {func(m *client.MeetingInput) { m.Format = "silent" }, "bad_request"},
		"empty title":    {func(m *client.MeetingInput) { m.Title = "" }, "bad_request"},
	} {
		bad := in
		c.edit(&bad)
		_, err := ann.c.ScheduleMeeting(ctx, group, bad)
		wantCode(t, name, err, http.StatusBadRequest, c.code)
	}
	err = ann.raw(t, http.MethodPost, "/api/v1/groups/"+group+"/meetings", map[string]any{"title": "x", "start": in.Start, "minutes": 5, "colour": "red"})
	wantCode(t, "an unknown field", err, http.StatusBadRequest, "unknown_field")

	m, err := ann.c.ScheduleMeeting(ctx, group, in)
	if err != nil {
		t.Fatal(err)
	}
	if m.Title != in.Title || m.Zone != "Europe/London" || m.Format != "speaker" || len(m.Weekdays) != 2 || m.ByName != "ann" {
		t.Fatalf("ScheduleMeeting = %+v", m)
	}
	if got := m.Start.In(london); got.Hour() != 19 || got.Format("2006-01-02") != day.Format("2006-01-02") {
		t.Errorf("start %v, want 19:00 London on %s", got, day.Format("2006-01-02"))
	}
	seen := boEv.waitMeeting("the schedule", "meeting", func(d client.MeetingEventData) bool {
		return d.Group == group && d.Meeting != nil && d.Meeting.ID == m.ID
	})
	if seen.Meeting.Reading != in.Reading {
		t.Errorf("bo's meeting event: %+v", seen.Meeting)
	}
	up, err := bo.c.UpcomingMeetings(ctx, group, 3)
	if err != nil || len(up) != 3 {
		t.Fatalf("UpcomingMeetings = %+v, %v", up, err)
	}
	for _, o := range up {
		l := o.Start.In(london)
		if l.Hour() != 19 || (l.Weekday() != time.Monday && l.Weekday() != time.Thursday) || o.End.Sub(o.Start) != time.Hour {
			t.Errorf("a sitting at %v London time, ending %v", l, o.End)
		}
	}
	err = bo.raw(t, http.MethodGet, "/api/v1/groups/"+group+"/meetings/upcoming?limit=0", nil)
	wantCode(t, "limit 0", err, http.StatusBadRequest, "bad_request")

	ics, err := bo.c.MeetingsICS(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	text := string(ics)
	if !strings.HasPrefix(text, "BEGIN:VCALENDAR\r\n") || !strings.Contains(text, "SUMMARY:Evening share\\, all welcome\\; tea\r\n") ||
		strings.Count(text, "BEGIN:VEVENT") < 24 {
		t.Errorf("the export:\n%s", text)
	}
	annMe, boMe := ann.mustMe(t, group), bo.mustMe(t, group)
	for what, secret := range map[string]string{"group ID": group, "invite": inv.Invite, "invite ID": inv.ID,
		"host's member ID": annMe, "member's ID": boMe, "meeting ID": m.ID, "group name": "Evening circle"} {
		if strings.Contains(strings.ReplaceAll(text, "\r\n ", ""), secret) {
			t.Errorf("the export holds the %s", what)
		}
	}
	for _, l := range strings.Split(text, "\r\n") {
		if len(l) > 75 {
			t.Errorf("an unfolded line: %q", l)
		}
	}

	// The live room.
	_, err = bo.c.OpenRoom(ctx, group, m.ID)
	wantCode(t, "a member opening a room", err, http.StatusForbidden, "not_admin")
	room, err := ann.c.OpenRoom(ctx, group, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !room.You.Chair || room.ChairName != "ann" || room.Present != 0 {
		t.Fatalf("OpenRoom = %+v", room)
	}
	boEv.waitMeeting("the room", "meeting_room", func(d client.MeetingEventData) bool { return d.Room != nil && d.Room.ID == room.ID })
	_, err = bo.c.RoomAction(ctx, group, room.ID, "raise")
	wantCode(t, "raising a hand before checking in", err, http.StatusConflict, "not_present")
	r, err := bo.c.CheckIn(ctx, group, room.ID, true)
	if err != nil || !r.You.Present || !r.You.Anonymous {
		t.Fatalf("CheckIn = %+v, %v", r, err)
	}
	if _, err := bo.c.RoomAction(ctx, group, room.ID, "raise"); err != nil {
		t.Fatal(err)
	}
	got := annEv.waitMeeting("bo's raised hand", "meeting_room", func(d client.MeetingEventData) bool {
		return d.Room != nil && len(d.Room.Queue) == 1
	})
	if got.Room.Present != 1 || len(got.Room.Attendees) != 0 || got.Room.Queue[0].ID != "" || got.Room.Queue[0].Pseudonym != "" || !got.Room.Queue[0].Anonymous {
		t.Errorf("the host's view of an anonymous attendee: %+v", got.Room)
	}
	_, err = bo.c.GiveFloor(ctx, group, room.ID, "")
	wantCode(t, "a member giving the floor", err, http.StatusForbidden, "not_chair")
	_, err = ann.c.GiveFloor(ctx, group, room.ID, annMe)
	wantCode(t, "the floor out of order", err, http.StatusConflict, "not_first")
	// Naming the anonymous first is refused the same way: the answer must
	// not confirm who they are.
	_, err = ann.c.GiveFloor(ctx, group, room.ID, boMe)
	wantCode(t, "the floor by the anonymous member's ID", err, http.StatusConflict, "not_first")
	r, err = ann.c.GiveFloor(ctx, group, room.ID, "")
	if err != nil || r.Speaker == nil || !r.Speaker.Anonymous || len(r.Queue) != 0 {
		t.Fatalf("GiveFloor = %+v, %v", r, err)
	}
	_, err = ann.c.SetShareTimer(ctx, group, room.ID, 99999)
	wantCode(t, "a timer over an hour", err, http.StatusBadRequest, "bad_request")
	r, err = ann.c.SetShareTimer(ctx, group, room.ID, 120)
	if err != nil || r.ShareSeconds != 120 || r.ShareEnds.Sub(r.SpeakerSince) != 2*time.Minute {
		t.Fatalf("SetShareTimer = %+v, %v", r, err)
	}
	got = boEv.waitMeeting("the timer", "meeting_room", func(d client.MeetingEventData) bool {
		return d.Room != nil && d.Room.ShareSeconds == 120
	})
	if !got.Room.You.Speaking {
		t.Errorf("bo does not see itself speaking: %+v", got.Room.You)
	}
	if rooms, err := bo.c.Rooms(ctx, group); err != nil || len(rooms) != 1 || rooms[0].ID != room.ID {
		t.Errorf("Rooms = %+v, %v", rooms, err)
	}
	if _, err := ann.c.RoomAction(ctx, group, room.ID, "close"); err != nil {
		t.Fatal(err)
	}
	boEv.waitMeeting("the close", "meeting_room", func(d client.MeetingEventData) bool { return d.Room != nil && d.Room.Closed })
	_, err = bo.c.RoomAction(ctx, group, room.ID, "checkout")
	wantCode(t, "checking out of a closed room", err, http.StatusConflict, "room_closed")
	_, err = bo.c.Room(ctx, group, strings.Repeat("ab", 16))
	wantCode(t, "an unknown room", err, http.StatusNotFound, "no_room")
	_, err = bo.c.Room(ctx, group, "ABC")
	wantCode(t, "a bad room ID", err, http.StatusBadRequest, "bad_id")

	// The reminder, by the node's clock: five minutes before the first
	// sitting.
	ann.clock.set(time.Until(up[0].Start) - 5*time.Minute)
	soon := annEv.waitMeeting("the reminder", "meeting_soon", nil)
	if soon.Occurrence == nil || !soon.Occurrence.Start.Equal(up[0].Start) || soon.Meeting.ID != m.ID {
		t.Errorf("meeting_soon = %+v", soon)
	}
	ann.clock.set(0)

	if err := ann.c.CancelMeeting(ctx, group, m.ID); err != nil {
		t.Fatal(err)
	}
	boEv.waitMeeting("the cancellation", "meeting", func(d client.MeetingEventData) bool { return d.Meeting != nil && d.Meeting.Cancelled })
	if up, err := bo.c.UpcomingMeetings(ctx, group, 0); err != nil || len(up) != 0 {
		t.Errorf("upcoming after the cancellation: %+v, %v", up, err)
	}
	err = ann.c.CancelMeeting(ctx, group, strings.Repeat("cd", 16))
	wantCode(t, "cancelling an unknown meeting", err, http.StatusNotFound, "no_meeting")
}
