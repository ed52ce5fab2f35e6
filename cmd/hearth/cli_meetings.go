package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hearthnet/hearth/api/client"
)

// The meeting commands: schedule and list a group's meetings, export them
// as iCalendar, and take part in a live meeting room. They are clients of
// the running daemon, like the group commands. Times are shown in this
// machine's local zone.

// meetingFlags holds the flags of the meeting commands.
type meetingFlags struct {
	start, zone, weekly, format, reading string
	minutes                              int
	anonymous, all                       bool
	wait, waitHand, follow               bool
	limit                                int
}

// meetingCommands lists the meeting commands; f receives their flags.
func meetingCommands(f *meetingFlags) []cliCommand {
	room := func(name, summary string, run func(context.Context, *cliRun) error) cliCommand {
		return cliCommand{name: "meeting " + name, args: "GROUP [ROOM]", minArgs: 1, maxArgs: 2, summary: summary, run: run}
	}
	return []cliCommand{
		{name: "meeting schedule", args: "GROUP TITLE", minArgs: 2, maxArgs: 2, summary: "schedule a meeting (hosts and moderators)", run: f.schedule,
			flags: func(fs *flag.FlagSet, _ *cliOpts) {
				fs.StringVar(&f.start, "start", "", "the first start as local `TIME` in the zone, such as 2026-12-01T19:00")
				fs.StringVar(&f.zone, "zone", "", "the IANA time `ZONE` the meeting keeps its hour in, such as Europe/London (default $TZ, else UTC)")
				fs.IntVar(&f.minutes, "minutes", 60, "how many `MINUTES` it lasts")
				fs.StringVar(&f.weekly, "weekly", "", "repeat weekly on these `DAYS`, such as mon,thu (default: once)")
				fs.StringVar(&f.format, "format", "", "`FORMAT`: open-sharing, speaker or step-study")
				fs.StringVar(&f.reading, "reading", "", "a short `TEXT` to read at the start")
			}},
		{name: "meeting ls", args: "GROUP", minArgs: 1, maxArgs: 1, summary: "the next sittings of a group's meetings, in your local time", run: f.list,
			flags: func(fs *flag.FlagSet, _ *cliOpts) {
				fs.IntVar(&f.limit, "limit", 10, "show at most `N` sittings")
				fs.BoolVar(&f.all, "all", false, "list the meetings themselves, cancelled ones included")
			}},
		{name: "meeting ics", args: "GROUP", minArgs: 1, maxArgs: 1, summary: "print the next 90 days of sittings as an iCalendar file (no group secret in it)", run: f.ics},
		{name: "meeting cancel", args: "GROUP MEETING", minArgs: 2, maxArgs: 2, summary: "cancel a meeting (its ID or title; hosts and moderators)", run: f.cancel},
		{name: "meeting open", args: "GROUP MEETING", minArgs: 2, maxArgs: 2, summary: "open a live room for a meeting (its ID or title), as its chair (hosts and moderators)", run: f.open},
		{name: "meeting rooms", args: "GROUP", minArgs: 1, maxArgs: 1, summary: "list the group's open meeting rooms", run: f.rooms},
		{name: "meeting room", args: "GROUP [ROOM]", minArgs: 1, maxArgs: 2, summary: "show a meeting room: who is present, the queue, the speaker", run: f.room,
			flags: func(fs *flag.FlagSet, _ *cliOpts) {
				fs.BoolVar(&f.wait, "wait", false, "wait until the room is open on this node")
				fs.BoolVar(&f.waitHand, "wait-hand", false, "wait until someone raises a hand")
				fs.BoolVar(&f.follow, "follow", false, "show every change until the room closes")
			}},
		{name: "meeting checkin", args: "GROUP [ROOM]", minArgs: 1, maxArgs: 2, summary: "check in to a meeting room", run: f.checkin,
			flags: func(fs *flag.FlagSet, _ *cliOpts) {
				fs.BoolVar(&f.anonymous, "anonymous", false, "be counted without your name (members' nodes can still tell who signed it)")
			}},
		room("checkout", "leave a meeting room", f.action("checkout", "You left the room.")),
		room("raise", "raise your hand: join the speaker queue", f.action("raise", "Your hand is raised.")),
		room("lower", "lower your hand: leave the speaker queue", f.action("lower", "Your hand is lowered.")),
		room("endshare", "end the current share (the chair or the speaker)", f.action("endshare", "The share has ended.")),
		room("close", "close the meeting room (the chair)", f.action("close", "The meeting is closed.")),
		{name: "meeting floor", args: "GROUP [ROOM]", minArgs: 1, maxArgs: 2, summary: "give the floor to the first in the queue (the chair)", run: f.floor},
		{name: "meeting timer", args: "GROUP SECONDS [ROOM]", minArgs: 2, maxArgs: 3, summary: "set the share timer, 0 for none (the chair)", run: f.timer},
	}
}

// runMeeting runs "hearth meeting ...": the entry of main.go's command
// table.
func runMeeting(ctx context.Context, e *env, args []string) int {
	return runFamily(ctx, e, "meeting", meetingCommands(&meetingFlags{}), args)
}

var weekdayArgs = map[string]string{
	"sun": "sun", "sunday": "sun", "mon": "mon", "monday": "mon", "tue": "tue", "tuesday": "tue",
	"wed": "wed", "wednesday": "wed", "thu": "thu", "thursday": "thu", "fri": "fri", "friday": "fri",
	"sat": "sat", "saturday": "sat",
}

func (f *meetingFlags) schedule(ctx context.Context, r *cliRun) error {
	if f.start == "" {
		return usagef("say when the meeting starts: --start 2026-12-01T19:00")
	}
	zone := f.zone
	if zone == "" {
		if tz := os.Getenv("TZ"); tz != "" {
			if _, err := time.LoadLocation(tz); err == nil && tz != "Local" {
				zone = tz
			}
		}
	}
	var days []string
	for _, d := range splitCommaList(f.weekly) {
		day, ok := weekdayArgs[strings.ToLower(d)]
		if !ok {
			return usagef("--weekly takes days such as mon,thu; %q is not one", d)
		}
		days = append(days, day)
	}
	in := client.MeetingInput{Title: r.args[1], Start: f.start, Zone: zone, Minutes: f.minutes, Weekdays: days,
		Format: strings.ReplaceAll(f.format, "-", "_"), Reading: f.reading}
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	m, err := c.ScheduleMeeting(ctx, id, in)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(m, func(w io.Writer) {
		fmt.Fprintf(w, "Scheduled %q: %s. Meeting ID: %s\n", clean(m.Title, false, ""), describeMeeting(m), m.ID)
	})
}

// describeMeeting says when a meeting sits, in local time.
func describeMeeting(m client.Meeting) string {
	start := m.Start.Local()
	s := start.Format("Mon 2 Jan 2006 15:04 MST")
	if len(m.Weekdays) > 0 {
		s = "weekly on " + strings.Join(m.Weekdays, ", ") + " at " + start.Format("15:04 MST") + " from " + start.Format("2 Jan 2006")
	}
	s += fmt.Sprintf(", %d minutes", m.Minutes)
	if m.Zone != "" {
		s += " (kept in " + m.Zone + ")"
	}
	return s
}

func (f *meetingFlags) list(ctx context.Context, r *cliRun) error {
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	if f.all {
		ms, err := c.Meetings(ctx, id)
		if err := r.call(ctx, err); err != nil {
			return err
		}
		return r.out(ms, func(w io.Writer) {
			if len(ms) == 0 {
				fmt.Fprintln(w, "No meetings.")
			}
			for _, m := range ms {
				state := ""
				if m.Cancelled {
					state = " [cancelled]"
				}
				fmt.Fprintf(w, "%s  %s%s\n  %s\n", m.ID, clean(m.Title, false, ""), state, describeMeeting(m))
			}
		})
	}
	if f.limit < 1 || f.limit > 100 {
		return usagef("--limit must be from 1 to 100")
	}
	occ, err := c.UpcomingMeetings(ctx, id, f.limit)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(occ, func(w io.Writer) {
		if len(occ) == 0 {
			fmt.Fprintln(w, "No upcoming meetings.")
		}
		for _, o := range occ {
			fmt.Fprintf(w, "%s-%s  %s  (meeting %s)\n", o.Start.Local().Format("Mon 2 Jan 2006 15:04"), o.End.Local().Format("15:04 MST"),
				clean(o.Meeting.Title, false, ""), o.Meeting.ID)
		}
	})
}

func (f *meetingFlags) ics(ctx context.Context, r *cliRun) error {
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	b, err := c.MeetingsICS(ctx, id)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(map[string]string{"ics": string(b)}, func(w io.Writer) { w.Write(b) })
}

func (f *meetingFlags) cancel(ctx context.Context, r *cliRun) error {
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	m, err := r.meeting(ctx, c, id, r.args[1])
	if err != nil {
		return err
	}
	if err := r.call(ctx, c.CancelMeeting(ctx, id, m)); err != nil {
		return err
	}
	return r.out(map[string]string{"cancelled": r.args[1]}, func(w io.Writer) { fmt.Fprintln(w, "The meeting is cancelled.") })
}

func (f *meetingFlags) open(ctx context.Context, r *cliRun) error {
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	m, err := r.meeting(ctx, c, id, r.args[1])
	if err != nil {
		return err
	}
	room, err := c.OpenRoom(ctx, id, m)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(room, func(w io.Writer) { fmt.Fprintf(w, "The room is open; you are its chair. Room ID: %s\n", room.ID) })
}

func (f *meetingFlags) rooms(ctx context.Context, r *cliRun) error {
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	rooms, err := c.Rooms(ctx, id)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(rooms, func(w io.Writer) {
		if len(rooms) == 0 {
			fmt.Fprintln(w, "No meeting room is open.")
		}
		for _, room := range rooms {
			fmt.Fprintf(w, "%s  opened %s by %s, %d present\n", room.ID, room.Opened.Local().Format("15:04"), clean(room.ChairName, false, ""), room.Present)
		}
	})
}

func (f *meetingFlags) room(ctx context.Context, r *cliRun) error {
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	if f.wait || f.waitHand || f.follow {
		return f.watchRoom(ctx, r, c, id)
	}
	roomID, err := r.room(ctx, c, id, 1)
	if err != nil {
		return err
	}
	room, err := c.Room(ctx, id, roomID)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(room, func(w io.Writer) { printRoom(w, room) })
}

func personName(m client.RoomMember) string {
	if m.Anonymous {
		return "(anonymous)"
	}
	return clean(m.Pseudonym, false, "")
}

// printRoom shows a room as a person reads it.
func printRoom(w io.Writer, room client.Room) {
	state := "open"
	if room.Closed {
		state = "closed at " + room.ClosedAt.Local().Format("15:04")
	}
	fmt.Fprintf(w, "Room %s (%s), chair %s\n", room.ID, state, clean(room.ChairName, false, ""))
	var names []string
	for _, a := range room.Attendees {
		names = append(names, personName(a))
	}
	anon := room.Present - len(room.Attendees)
	fmt.Fprintf(w, "Present: %d", room.Present)
	if len(names) > 0 {
		fmt.Fprintf(w, " (%s", strings.Join(names, ", "))
		if anon > 0 {
			fmt.Fprintf(w, ", and %d anonymous", anon)
		}
		fmt.Fprint(w, ")")
	} else if anon > 0 {
		fmt.Fprintf(w, " (%d anonymous)", anon)
	}
	fmt.Fprintln(w)
	if room.Speaker != nil {
		fmt.Fprintf(w, "Speaking: %s since %s", personName(*room.Speaker), room.SpeakerSince.Local().Format("15:04:05"))
		if room.ShareSeconds > 0 {
			fmt.Fprintf(w, " (timer %s, ends %s)", time.Duration(room.ShareSeconds)*time.Second, room.ShareEnds.Local().Format("15:04:05"))
		}
		fmt.Fprintln(w)
	} else if room.ShareSeconds > 0 {
		fmt.Fprintf(w, "Share timer: %s\n", time.Duration(room.ShareSeconds)*time.Second)
	}
	if len(room.Queue) == 0 {
		fmt.Fprintln(w, "Queue: empty")
	} else {
		var q []string
		for i, m := range room.Queue {
			q = append(q, fmt.Sprintf("%d. %s", i+1, personName(m)))
		}
		fmt.Fprintf(w, "Queue: %s\n", strings.Join(q, "  "))
	}
}

func (f *meetingFlags) checkin(ctx context.Context, r *cliRun) error {
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	roomID, err := r.room(ctx, c, id, 1)
	if err != nil {
		return err
	}
	room, err := c.CheckIn(ctx, id, roomID, f.anonymous)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(room, func(w io.Writer) {
		if f.anonymous {
			fmt.Fprintf(w, "You are checked in, counted without your name. %d present.\n", room.Present)
		} else {
			fmt.Fprintf(w, "You are checked in. %d present.\n", room.Present)
		}
	})
}

// action runs a room action that takes no arguments and says done.
func (f *meetingFlags) action(name, done string) func(context.Context, *cliRun) error {
	return func(ctx context.Context, r *cliRun) error {
		c, id, err := r.connectGroup(ctx)
		if err != nil {
			return err
		}
		roomID, err := r.room(ctx, c, id, 1)
		if err != nil {
			return err
		}
		room, err := c.RoomAction(ctx, id, roomID, name)
		if err := r.call(ctx, err); err != nil {
			return err
		}
		return r.out(room, func(w io.Writer) { fmt.Fprintln(w, done) })
	}
}

func (f *meetingFlags) floor(ctx context.Context, r *cliRun) error {
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	roomID, err := r.room(ctx, c, id, 1)
	if err != nil {
		return err
	}
	room, err := c.GiveFloor(ctx, id, roomID, "")
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(room, func(w io.Writer) {
		if room.Speaker != nil {
			fmt.Fprintf(w, "%s has the floor.\n", personName(*room.Speaker))
		}
	})
}

func (f *meetingFlags) timer(ctx context.Context, r *cliRun) error {
	secs, err := strconv.Atoi(r.args[1])
	if err != nil || secs < 0 || secs > 3600 {
		return usagef("SECONDS must be a whole number from 0 (no timer) to 3600")
	}
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	roomID, err := r.room(ctx, c, id, 2)
	if err != nil {
		return err
	}
	room, err := c.SetShareTimer(ctx, id, roomID, secs)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(room, func(w io.Writer) {
		if secs == 0 {
			fmt.Fprintln(w, "The share timer is off.")
		} else {
			fmt.Fprintf(w, "Shares are timed at %s.\n", time.Duration(secs)*time.Second)
		}
	})
}

// meeting resolves the argument MEETING, an ID or a title, among the
// group's meetings.
func (r *cliRun) meeting(ctx context.Context, c *client.Client, group, arg string) (string, error) {
	if isHexID(arg, memberIDLen) {
		return arg, nil
	}
	ms, err := c.Meetings(ctx, group)
	if err := r.call(ctx, err); err != nil {
		return "", err
	}
	for _, fold := range []bool{false, true} {
		var ids []string
		for _, m := range ms {
			if !m.Cancelled && (m.Title == arg || fold && strings.EqualFold(m.Title, strings.TrimSpace(arg))) {
				ids = append(ids, m.ID)
			}
		}
		switch len(ids) {
		case 0:
			continue
		case 1:
			return ids[0], nil
		default:
			return "", cliErrorf("no_meeting", "the group has %d meetings called %q; give the meeting's ID (see 'hearth meeting ls %s --all')", len(ids), clean(arg, false, ""), shellQuote(r.args[0]))
		}
	}
	return "", cliErrorf("no_meeting", "the group has no meeting called %q; see 'hearth meeting ls %s --all'", clean(arg, false, ""), shellQuote(r.args[0]))
}

// room returns the argument ROOM at index i, or when it is absent the
// group's only open room.
func (r *cliRun) room(ctx context.Context, c *client.Client, group string, i int) (string, error) {
	if len(r.args) > i {
		return r.args[i], nil
	}
	rooms, err := c.Rooms(ctx, group)
	if err := r.call(ctx, err); err != nil {
		return "", err
	}
	switch len(rooms) {
	case 0:
		return "", cliErrorf("no_room", "no meeting room of this group is open on your node yet; see 'hearth meeting room %s --wait'", shellQuote(r.args[0]))
	case 1:
		return rooms[0].ID, nil
	}
	return "", cliErrorf("no_room", "%d meeting rooms are open; give the room's ID (see 'hearth meeting rooms %s')", len(rooms), shellQuote(r.args[0]))
}

// watchRoom waits on the daemon's live events: until the room is open here
// (--wait), until someone raises a hand (--wait-hand), or showing each
// change until the room closes (--follow). It subscribes before reading
// the room, so no change falls between the two.
func (f *meetingFlags) watchRoom(ctx context.Context, r *cliRun, c *client.Client, group string) error {
	stream, err := c.Events(ctx)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	defer stream.Close()
	want := ""
	if len(r.args) > 1 {
		want = r.args[1]
	}
	done := func(room client.Room) bool {
		switch {
		case f.follow:
			return room.Closed
		case f.waitHand:
			return len(room.Queue) > 0 || room.Closed
		}
		return true
	}
	show := func(room client.Room) bool {
		if f.follow || done(room) {
			r.out(room, func(w io.Writer) { printRoom(w, room) })
		}
		return done(room)
	}
	var current []client.Room
	if want != "" {
		room, err := c.Room(ctx, group, want)
		var ce *client.Error
		if err == nil {
			current = append(current, room)
		} else if !errors.As(err, &ce) || ce.Code != "no_room" {
			return r.call(ctx, err)
		}
	} else {
		rooms, err := c.Rooms(ctx, group)
		if err := r.call(ctx, err); err != nil {
			return err
		}
		if len(rooms) > 1 {
			return cliErrorf("no_room", "%d meeting rooms are open; give the room's ID (see 'hearth meeting rooms %s')", len(rooms), shellQuote(r.args[0]))
		}
		current = rooms
	}
	if len(current) == 1 {
		want = current[0].ID
		if show(current[0]) {
			return nil
		}
	}
	for {
		ev, err := stream.Next()
		if err != nil {
			return r.call(ctx, err)
		}
		if ev.Type != "meeting_room" {
			continue
		}
		d, err := ev.MeetingData()
		if err != nil || d.Group != group || d.Room == nil || want != "" && d.Room.ID != want {
			continue
		}
		want = d.Room.ID
		if show(*d.Room) {
			return nil
		}
	}
}
