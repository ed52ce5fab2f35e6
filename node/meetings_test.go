package node

import (
	"bufio"
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	pubsub "github.com/libp2p/go-libp2p-pubsub"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
)

// TestMeetingOccurrencesAcrossDST shows a weekly meeting keeps its local
// hour when the clocks change, in both directions, and that one-off and
// mid-series queries give the right sittings.
func TestMeetingOccurrencesAcrossDST(t *testing.T) {
	london, err := loadZone("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	// Monday 19 October 2026, 19:00 in London (BST, UTC+1); the clocks go
	// back on Sunday 25 October.
	first := time.Date(2026, 10, 19, 19, 0, 0, 0, london)
	m := protocol.Meeting{ID: [16]byte{1}, Title: "Monday and Thursday", Start: first.UnixMilli(), Minutes: 60,
		Weekdays: weekdayMask([]time.Weekday{time.Monday, time.Thursday}), Zone: "Europe/London"}
	got := occurrences(m, first.Add(-time.Hour), time.Time{}, 4)
	want := []time.Time{
		time.Date(2026, 10, 19, 18, 0, 0, 0, time.UTC),
		time.Date(2026, 10, 22, 18, 0, 0, 0, time.UTC),
		time.Date(2026, 10, 26, 19, 0, 0, 0, time.UTC),
		time.Date(2026, 10, 29, 19, 0, 0, 0, time.UTC),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("London across the end of BST:\n got %v\nwant %v", got, want)
	}
	for _, o := range got {
		if h := o.In(london).Hour(); h != 19 {
			t.Errorf("%v is %d:00 in London, want 19:00", o, h)
		}
	}

	// New York springs forward on Sunday 8 March 2026: a Saturday and
	// Sunday 18:30 meeting moves from 23:30 to 22:30 UTC.
	ny, _ := loadZone("America/New_York")
	m2 := protocol.Meeting{ID: [16]byte{2}, Title: "Weekend", Start: time.Date(2026, 3, 7, 18, 30, 0, 0, ny).UnixMilli(),
		Minutes: 90, Weekdays: weekdayMask([]time.Weekday{time.Saturday, time.Sunday}), Zone: "America/New_York"}
	got = occurrences(m2, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC), 0)
	want = []time.Time{time.Date(2026, 3, 7, 23, 30, 0, 0, time.UTC), time.Date(2026, 3, 8, 22, 30, 0, 0, time.UTC)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("New York across the start of DST:\n got %v\nwant %v", got, want)
	}

	// A query a year on starts there, not at the first sitting; one still
	// running at from is included.
	// BST ends on Sunday 31 October 2027.
	from := time.Date(2027, 10, 28, 18, 30, 0, 0, time.UTC) // Thursday 19:30 BST
	got = occurrences(m, from, time.Time{}, 2)
	want = []time.Time{time.Date(2027, 10, 28, 18, 0, 0, 0, time.UTC), time.Date(2027, 11, 1, 19, 0, 0, 0, time.UTC)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("a year on:\n got %v\nwant %v", got, want)
	}

	once := protocol.Meeting{ID: [16]byte{3}, Title: "Once", Start: first.UnixMilli(), Minutes: 30}
	if got := occurrences(once, first.Add(-time.Hour), time.Time{}, 5); len(got) != 1 || !got[0].Equal(first) {
		t.Errorf("one-off: %v", got)
	}
	if got := occurrences(once, first.Add(31*time.Minute), time.Time{}, 5); len(got) != 0 {
		t.Errorf("one-off after it ended: %v", got)
	}
	if _, err := loadZone("Mars/Olympus_Mons"); !errors.Is(err, ErrUnknownZone) {
		t.Errorf("unknown zone: %v, want ErrUnknownZone", err)
	}
}

// TestMeetingReplayRules shows the replay skips events that break the
// rules at their point in the order, and that the state depends only on
// the set of events, not the order they arrived in.
func TestMeetingReplayRules(t *testing.T) {
	chair, mod, a, b, c := crypto.MemberID{1}, crypto.MemberID{2}, crypto.MemberID{3}, crypto.MemberID{4}, crypto.MemberID{5}
	mtg, room := [16]byte{9}, [16]byte{8}
	var seq int64
	ev := func(author crypto.MemberID, admin bool, action protocol.MeetingAction, mutate ...func(*protocol.MeetingEvent)) roomEvent {
		seq++
		e := protocol.MeetingEvent{Meeting: mtg, Room: room, Action: action}
		for _, f := range mutate {
			f(&e)
		}
		return roomEvent{sent: 1000 + seq, envelope: [32]byte{byte(seq)}, author: author, admin: admin, content: e}
	}
	subject := func(m crypto.MemberID) func(*protocol.MeetingEvent) {
		return func(e *protocol.MeetingEvent) { e.Subject = m }
	}
	events := []roomEvent{
		ev(a, false, protocol.ActionCheckIn), // before the open: skipped
		ev(a, false, protocol.ActionOpen),    // not an admin: skipped
		ev(chair, true, protocol.ActionOpen), // opens; chair
		ev(mod, true, protocol.ActionOpen),   // second open: skipped
		ev(a, false, protocol.ActionCheckIn), // a present
		ev(b, false, protocol.ActionCheckIn, func(e *protocol.MeetingEvent) { e.Anonymous = true }),
		ev(c, false, protocol.ActionRaiseHand),                                                    // not present: skipped
		ev(c, false, protocol.ActionCheckIn),                                                      // c present
		ev(c, false, protocol.ActionRaiseHand),                                                    // queue c
		ev(a, false, protocol.ActionRaiseHand),                                                    // queue c, a
		ev(a, false, protocol.ActionRaiseHand),                                                    // already queued: skipped
		ev(chair, true, protocol.ActionGiveFloor, subject(a)),                                     // a is not first: skipped
		ev(mod, true, protocol.ActionGiveFloor, subject(c)),                                       // not the chair: skipped
		ev(mod, true, protocol.ActionTimer, func(e *protocol.MeetingEvent) { e.Seconds = 60 }),    // not the chair
		ev(chair, true, protocol.ActionTimer, func(e *protocol.MeetingEvent) { e.Seconds = 180 }), // timer 180
		ev(chair, true, protocol.ActionGiveFloor, subject(c)),                                     // c speaks; queue a
		ev(b, false, protocol.ActionRaiseHand),                                                    // queue a, b
	}
	wrong := ev(b, false, protocol.ActionLowerHand)
	wrong.content = protocol.MeetingEvent{Meeting: [16]byte{7}, Room: room, Action: protocol.ActionLowerHand}
	events = append(events, wrong) // another meeting's event: skipped
	floorC := events[15].sent
	st := replayRoom(events)
	want := roomState{
		meeting: mtg, opened: true, openedAt: events[2].sent, chair: chair,
		attendees: []roomAttendee{{a, false, events[4].sent}, {b, true, events[5].sent}, {c, false, events[7].sent}},
		queue:     []crypto.MemberID{a, b}, speaker: c, speakerSince: floorC, seconds: 180,
	}
	if !reflect.DeepEqual(st, want) {
		t.Fatalf("replay:\n got %+v\nwant %+v", st, want)
	}

	// Any arrival order gives the same state.
	for range 20 {
		shuffled := append([]roomEvent(nil), events...)
		rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if got := replayRoom(shuffled); !reflect.DeepEqual(got, want) {
			t.Fatalf("a shuffled replay differs:\n got %+v\nwant %+v", got, want)
		}
	}

	// A snapshot of the state, replayed alone, gives the same state (what a
	// late joiner sees); replayed after everything, it changes nothing.
	snap := st.snapshot(room)
	snapEv := roomEvent{sent: 5000, envelope: [32]byte{0xee}, author: chair, admin: true, content: snap}
	if got := replayRoom([]roomEvent{snapEv}); !reflect.DeepEqual(got, want) {
		t.Errorf("the snapshot alone:\n got %+v\nwant %+v", got, want)
	}
	if got := replayRoom(append(slicesClone(events), snapEv)); !reflect.DeepEqual(got, want) {
		t.Errorf("everything and the snapshot:\n got %+v\nwant %+v", got, want)
	}
	// A snapshot from someone other than the chair is skipped.
	fake := snapEv
	fake.author, fake.content = mod, protocol.MeetingSnapshot{Meeting: mtg, Room: room, Opened: 1}
	if got := replayRoom(append(slicesClone(events), fake)); !reflect.DeepEqual(got, want) {
		t.Errorf("a moderator's snapshot changed the chair's room: %+v", got)
	}

	// Close ends everything.
	closed := append(slicesClone(events), ev(chair, true, protocol.ActionClose), ev(a, false, protocol.ActionCheckOut),
		ev(chair, true, protocol.ActionGiveFloor, subject(a)))
	got := replayRoom(closed)
	if !got.closed || len(got.attendees) != 3 || got.speaker != c {
		t.Errorf("events after the close were applied: %+v", got)
	}
	// Checking out leaves the queue and the floor.
	out := replayRoom(append(slicesClone(events), ev(c, false, protocol.ActionCheckOut), ev(a, false, protocol.ActionCheckOut)))
	if len(out.attendees) != 1 || len(out.queue) != 1 || out.queue[0] != b || out.speaker != (crypto.MemberID{}) {
		t.Errorf("after check-outs: %+v", out)
	}
}

func slicesClone(evs []roomEvent) []roomEvent { return append([]roomEvent(nil), evs...) }

// roomShared is the part of a room every member's node must agree on.
func roomShared(r *MeetingRoom) MeetingRoom {
	c := *r
	c.You = RoomSelf{}
	return c
}

// TestE2EMeeting runs a whole meeting over real nodes on loopback: a host
// schedules a weekly meeting and three members see it; an ordinary
// member's schedule is refused locally and ignored when forced onto the
// wire; the host opens the room, members check in (one anonymously), two
// raise hands, the chair gives the floor in queue order (out of order it
// is refused locally and skipped by every member when forced onto the
// wire), sets a timer; a fourth member joins in a later epoch and sees the
// same room (the chair restates it in the new epoch); the chair gives the
// floor to the next and closes. Every node's room is compared for
// equality. The iCalendar export and reminders are checked on the way.
func TestE2EMeeting(t *testing.T) {
	host := &e2eMember{e2eNode: newE2ENode(t, "host"), pseudonym: "host"}
	ash := &e2eMember{e2eNode: newE2ENode(t, "ash"), pseudonym: "ash"}
	birch := &e2eMember{e2eNode: newE2ENode(t, "birch"), pseudonym: "birch"}
	cedar := &e2eMember{e2eNode: newE2ENode(t, "cedar"), pseudonym: "cedar"}
	e2eMesh(t, host.e2eNode, ash.e2eNode, birch.e2eNode, cedar.e2eNode)
	id := e2eGroupOf(t, host, ash, birch, cedar)
	ctx := e2eCtx(t)
	hg := host.group(t, id)

	// Schedule: Tuesdays and Thursdays at 19:00 London time, from a
	// week ahead.
	london, _ := loadZone("Europe/London")
	day := time.Now().In(london).AddDate(0, 0, 7)
	start := time.Date(day.Year(), day.Month(), day.Day(), 19, 0, 0, 0, london)
	in := MeetingInput{Title: "Evening share; all welcome, bring tea", Start: start, Zone: "Europe/London", Minutes: 60,
		Weekdays: []time.Weekday{time.Tuesday, time.Thursday}, Format: protocol.FormatSpeaker, Reading: "Just for today."}
	if _, err := hg.ScheduleMeeting(ctx, MeetingInput{Title: "x", Start: start, Zone: "Nowhere/City", Minutes: 60}); !errors.Is(err, ErrUnknownZone) {
		t.Errorf("scheduling in an unknown zone: %v, want ErrUnknownZone", err)
	}
	if _, err := ash.group(t, id).ScheduleMeeting(ctx, in); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("a member scheduling: %v, want ErrNotAdmin", err)
	}
	// Forced onto the wire, a member's schedule is recorded as nothing.
	rogue := protocol.Meeting{ID: [16]byte{0xba, 0xd}, Title: "Not a real meeting", Start: start.UnixMilli(), Minutes: 60}
	if _, err := ash.group(t, id).sendContent(ctx, rogue); err != nil {
		t.Fatal(err)
	}
	mtg, err := hg.ScheduleMeeting(ctx, in)
	if err != nil {
		t.Fatalf("ScheduleMeeting: %v", err)
	}
	members := []*e2eMember{host, ash, birch, cedar}
	for _, m := range members {
		m.rec.waitEvent(t, EventMeeting, id, func(ev Event) bool { return ev.Meeting.ID == mtg.ID })
		list, err := m.group(t, id).Meetings()
		if err != nil || len(list) != 1 || list[0].Title != in.Title || list[0].Zone != "Europe/London" || list[0].By != hg.Info().Me.ID {
			t.Fatalf("%s: Meetings = %+v, %v; want only the host's meeting", m.name, list, err)
		}
		up, err := m.group(t, id).UpcomingMeetings(time.Now(), 3)
		if err != nil || len(up) != 3 {
			t.Fatalf("%s: UpcomingMeetings = %v, %v", m.name, up, err)
		}
		for _, o := range up {
			if l := o.Start.In(london); l.Hour() != 19 || l.Minute() != 0 || (l.Weekday() != time.Tuesday && l.Weekday() != time.Thursday) {
				t.Errorf("%s: an occurrence at %v London time", m.name, l)
			}
		}
	}

	// The iCalendar export: one event per sitting in 90 days, stable UIDs,
	// escaped text, folded lines, and nothing that names the group.
	ics, err := hg.ICalendar(time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	checkICalendar(t, ics, mtg.Title, hg)
	again, _ := ash.group(t, id).ICalendar(time.Now(), 0)
	if uids(ics) == "" || uids(ics) != uids(again) {
		t.Error("two members' exports give different UIDs")
	}

	// Reminders by the node's clock: once per occurrence.
	up, _ := hg.UpcomingMeetings(time.Now(), 1)
	soon := up[0].Start.Add(-5 * time.Minute)
	hg.remindMeetings(soon, 10*time.Minute)
	hg.remindMeetings(soon.Add(time.Minute), 10*time.Minute)
	ev := host.rec.waitEvent(t, EventMeetingSoon, id, nil)
	if !ev.Occurrence.Start.Equal(up[0].Start) || ev.Meeting.ID != mtg.ID {
		t.Errorf("reminder for %v, want %v", ev.Occurrence.Start, up[0].Start)
	}
	n := 0
	for _, e := range host.rec.all() {
		if e.Kind == EventMeetingSoon {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d reminders for one occurrence, want 1", n)
	}

	// The live room.
	if _, err := ash.group(t, id).OpenRoom(ctx, mtg.ID); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("a member opening a room: %v, want ErrNotAdmin", err)
	}
	room, err := hg.OpenRoom(ctx, mtg.ID)
	if err != nil {
		t.Fatalf("OpenRoom: %v", err)
	}
	if !room.You.Chair || room.Closed {
		t.Fatalf("the host's new room: %+v", room)
	}
	waitRoom := func(ms []*e2eMember, what string, cond func(*MeetingRoom) bool) {
		t.Helper()
		e2ePoll(t, what, func() bool {
			for _, m := range ms {
				r, err := m.group(t, id).Room(room.ID)
				if err != nil || !cond(r) {
					return false
				}
			}
			return true
		})
	}
	waitRoom(members, "everyone to see the room open", func(r *MeetingRoom) bool { return !r.Closed })
	ag, bg, cg := ash.group(t, id), birch.group(t, id), cedar.group(t, id)
	if _, err := ag.RaiseHand(ctx, room.ID); !errors.Is(err, ErrNotPresent) {
		t.Errorf("raising a hand before checking in: %v, want ErrNotPresent", err)
	}
	for _, step := range []func() (*MeetingRoom, error){
		func() (*MeetingRoom, error) { return ag.CheckIn(ctx, room.ID, false) },
		func() (*MeetingRoom, error) { return bg.CheckIn(ctx, room.ID, true) },
		func() (*MeetingRoom, error) { return cg.CheckIn(ctx, room.ID, false) },
	} {
		if _, err := step(); err != nil {
			t.Fatalf("check-in: %v", err)
		}
	}
	waitRoom(members, "three present", func(r *MeetingRoom) bool { return r.Present == 3 })
	if _, err := cg.RaiseHand(ctx, room.ID); err != nil {
		t.Fatal(err)
	}
	waitRoom(members, "cedar queued", func(r *MeetingRoom) bool { return len(r.Queue) == 1 })
	if _, err := ag.RaiseHand(ctx, room.ID); err != nil {
		t.Fatal(err)
	}
	waitRoom(members, "two queued", func(r *MeetingRoom) bool { return len(r.Queue) == 2 })

	ashID, cedarID := ag.Info().Me.ID, cg.Info().Me.ID
	if _, err := hg.GiveFloor(ctx, room.ID, ashID); !errors.Is(err, ErrNotFirst) {
		t.Errorf("the floor out of queue order: %v, want ErrNotFirst", err)
	}
	if _, err := ag.GiveFloor(ctx, room.ID, cedarID); !errors.Is(err, ErrNotChair) {
		t.Errorf("a member giving the floor: %v, want ErrNotChair", err)
	}
	// Forced onto the wire, the out-of-order floor is skipped everywhere.
	if _, err := hg.sendContent(ctx, protocol.MeetingEvent{Meeting: mtg.ID, Room: room.ID, Action: protocol.ActionGiveFloor, Subject: ashID}); err != nil {
		t.Fatal(err)
	}
	if _, err := hg.GiveFloor(ctx, room.ID, cedarID); err != nil {
		t.Fatalf("GiveFloor to the first: %v", err)
	}
	if _, err := hg.SetShareTimer(ctx, room.ID, 180); err != nil {
		t.Fatal(err)
	}
	waitRoom(members, "cedar speaking with a timer", func(r *MeetingRoom) bool {
		return r.Speaker != nil && r.Speaker.ID == cedarID && r.ShareSeconds == 180
	})
	r, _ := hg.Room(room.ID)
	if len(r.Queue) != 1 || r.Queue[0].ID != ashID || r.Present != 3 || len(r.Attendees) != 2 {
		t.Fatalf("after the floor: %+v", r)
	}
	birchID := bg.Info().Me.ID
	for _, a := range r.Attendees {
		if a.ID == birchID || a.Pseudonym == "birch" {
			t.Error("the anonymous attendee is named in the room")
		}
	}
	if br, _ := bg.Room(room.ID); !br.You.Present || !br.You.Anonymous {
		t.Errorf("birch's own view: %+v", br.You)
	}

	// A fourth member joins now, in a later epoch.
	dune := &e2eMember{e2eNode: newE2ENode(t, "dune"), pseudonym: "dune"}
	e2eMesh(t, dune.e2eNode, host.e2eNode, ash.e2eNode)
	invite, _, err := hg.CreateInvite(ctx, InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dune.n.Join(ctx, invite, dune.pseudonym); err != nil {
		t.Fatalf("Join: %v", err)
	}
	all := append(members, dune)
	e2eSettle(t, id, all...)
	dg := dune.group(t, id)
	e2ePoll(t, "the newcomer to see the meeting and the room", func() bool {
		ms, _ := dg.Meetings()
		_, err := dg.Room(room.ID)
		return len(ms) == 1 && err == nil
	})
	same := func(what string) {
		t.Helper()
		var want MeetingRoom
		e2ePoll(t, what, func() bool {
			hr, err := hg.Room(room.ID)
			if err != nil {
				return false
			}
			want = roomShared(hr)
			for _, m := range all {
				r, err := m.group(t, id).Room(room.ID)
				if err != nil || !reflect.DeepEqual(roomShared(r), want) {
					return false
				}
			}
			return true
		})
	}
	same("every member, the newcomer included, to see the same room")

	if _, err := dg.CheckIn(ctx, room.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := dg.RaiseHand(ctx, room.ID); err != nil {
		t.Fatal(err)
	}
	waitRoom(all, "dune queued after ash", func(r *MeetingRoom) bool { return len(r.Queue) == 2 && r.Present == 4 })
	if _, err := hg.GiveFloor(ctx, room.ID, crypto.MemberID{}); err != nil { // the next, whoever
		t.Fatal(err)
	}
	waitRoom(all, "ash speaking", func(r *MeetingRoom) bool { return r.Speaker != nil && r.Speaker.ID == ashID })
	if _, err := hg.CloseRoom(ctx, room.ID); err != nil {
		t.Fatal(err)
	}
	waitRoom(all, "the room closed", func(r *MeetingRoom) bool { return r.Closed })
	same("every member to see the same closed room")
	final, _ := dg.Room(room.ID)
	if final.Present != 4 || len(final.Queue) != 1 || final.Queue[0].Pseudonym != "dune" || final.ChairName != "host" {
		t.Errorf("the final room: %+v", final)
	}
	if _, err := ag.CheckOut(ctx, room.ID); !errors.Is(err, ErrRoomClosed) {
		t.Errorf("checking out of a closed room: %v, want ErrRoomClosed", err)
	}
	if open, _ := dg.OpenRooms(); len(open) != 0 {
		t.Errorf("open rooms after the close: %d", len(open))
	}
	// The rogue schedule is nowhere.
	for _, m := range all {
		if _, err := m.group(t, id).Meeting(MeetingID(rogue.ID)); !errors.Is(err, ErrNoMeeting) {
			t.Errorf("%s holds the member's schedule: %v", m.name, err)
		}
	}

	// Cancelling: members keep the meeting, marked, with no occurrences.
	if err := hg.CancelMeeting(ctx, mtg.ID); err != nil {
		t.Fatal(err)
	}
	dune.rec.waitEvent(t, EventMeeting, id, func(ev Event) bool { return ev.Meeting.Cancelled })
	if up, _ := dg.UpcomingMeetings(time.Now(), 5); len(up) != 0 {
		t.Errorf("a cancelled meeting has occurrences: %v", up)
	}
}

func uids(ics []byte) string {
	var out []string
	for _, l := range strings.Split(string(ics), "\r\n") {
		if strings.HasPrefix(l, "UID:") {
			out = append(out, l)
		}
	}
	return strings.Join(out, ",")
}

// checkICalendar parses an export: CRLF lines of at most 75 octets,
// unfolded into properties, one VEVENT per sitting with UTC times, the
// title escaped, and no group ID, member ID or key anywhere.
func checkICalendar(t *testing.T, ics []byte, title string, g *Group) {
	t.Helper()
	if !bytes.HasSuffix(ics, []byte("\r\n")) {
		t.Fatal("the export does not end in CRLF")
	}
	var props []string
	sc := bufio.NewScanner(bytes.NewReader(ics))
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.Index(data, []byte("\r\n")); i >= 0 {
			return i + 2, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			return 0, nil, errors.New("a line without CRLF")
		}
		return 0, nil, nil
	})
	for sc.Scan() {
		l := sc.Text()
		if len(l) > 75 {
			t.Errorf("a line of %d octets: %q", len(l), l)
		}
		if strings.HasPrefix(l, " ") && len(props) > 0 {
			props[len(props)-1] += l[1:]
			continue
		}
		props = append(props, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if props[0] != "BEGIN:VCALENDAR" || props[len(props)-1] != "END:VCALENDAR" {
		t.Fatalf("not a calendar: %v", props)
	}
	events, seen := 0, map[string]bool{}
	for _, p := range props {
		name, value, _ := strings.Cut(p, ":")
		switch name {
		case "BEGIN":
			if value == "VEVENT" {
				events++
			}
		case "UID":
			if seen[value] {
				t.Errorf("UID %s twice", value)
			}
			seen[value] = true
		case "DTSTART", "DTEND":
			if _, err := time.Parse("20060102T150405Z", value); err != nil {
				t.Errorf("%s %q is not a UTC time", name, value)
			}
		case "SUMMARY":
			want := strings.NewReplacer(";", `\;`, ",", `\,`).Replace(title)
			if value != want {
				t.Errorf("SUMMARY %q, want %q", value, want)
			}
		}
	}
	// Two sittings a week for 90 days: 25 to 27.
	if events < 24 || events > 27 {
		t.Errorf("%d events in 90 days of a twice-weekly meeting", events)
	}
	info := g.Info()
	text := strings.ToLower(strings.ReplaceAll(string(ics), "\r\n ", ""))
	for what, secret := range map[string]string{
		"group ID": info.ID.String(), "member ID": info.Me.ID.String(), "group name": strings.ToLower(info.Name),
	} {
		if strings.Contains(text, strings.ToLower(secret)) {
			t.Errorf("the export holds the %s", what)
		}
	}
	for _, m := range mustMeetings(t, g) {
		if strings.Contains(text, m.ID.String()) {
			t.Error("the export holds the meeting ID itself")
		}
	}
}

func mustMeetings(t *testing.T, g *Group) []MeetingInfo {
	t.Helper()
	ms, err := g.Meetings()
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// TestICalendarFoldingAndEscaping shows long lines fold at 75 octets
// without splitting a UTF-8 sequence, unfold back to the text, and that
// TEXT values are escaped.
func TestICalendarFoldingAndEscaping(t *testing.T) {
	reading := strings.Repeat("Grant me the serenity; courage, wisdom — ", 6) + "\nNext line \\ done 🌱🌱🌱🌱🌱🌱🌱🌱"
	occ := []MeetingOccurrence{{
		Meeting: MeetingInfo{ID: MeetingID{1}, Title: "Étape, one; two", Format: protocol.FormatStepStudy, Reading: reading},
		Start:   time.Date(2026, 12, 1, 19, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC),
	}}
	ics := string(renderICalendar(occ, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)))
	for _, l := range strings.Split(strings.TrimSuffix(ics, "\r\n"), "\r\n") {
		if len(l) > 75 {
			t.Errorf("a line of %d octets", len(l))
		}
		if !utf8.ValidString(l) {
			t.Errorf("a folded line splits a UTF-8 sequence: %q", l)
		}
	}
	unfolded := strings.ReplaceAll(ics, "\r\n ", "")
	want := `DESCRIPTION:Format: step study\nReading: ` + strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`).Replace(reading) + "\r\n"
	if !strings.Contains(unfolded, want) {
		t.Errorf("the description does not unfold to the escaped text:\n%s", unfolded)
	}
	if !strings.Contains(unfolded, "SUMMARY:Étape\\, one\\; two\r\n") || !strings.Contains(unfolded, "DTSTART:20261201T190000Z\r\n") {
		t.Errorf("summary or start wrong:\n%s", unfolded)
	}
	if uid := occurrenceUID(MeetingID{1}, occ[0].Start); !strings.Contains(ics, "UID:"+uid+"@hearth.invalid\r\n") || uid == occurrenceUID(MeetingID{1}, occ[0].Start.Add(time.Hour)) {
		t.Error("the UID is not the hash of the meeting and the start")
	}
}

// TestMeetingRetention shows the group's retention deletes what is over:
// a closed room with no event since, a one-off meeting that ended, a
// cancelled one; a weekly meeting stays while it runs.
func TestMeetingRetention(t *testing.T) {
	e := newE2ENode(t, "host", func(c *Config) { c.MeetingReminder = -1 })
	ctx := e2eCtx(t)
	g, err := e.n.CreateGroup(ctx, GroupOptions{Name: "Short memory", Pseudonym: "host", Retention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	once, err := g.ScheduleMeeting(ctx, MeetingInput{Title: "Once", Start: now.Add(-time.Minute), Minutes: 30})
	if err != nil {
		t.Fatal(err)
	}
	weekly, err := g.ScheduleMeeting(ctx, MeetingInput{Title: "Weekly", Start: now, Minutes: 60, Weekdays: []time.Weekday{time.Monday}})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := g.ScheduleMeeting(ctx, MeetingInput{Title: "Gone", Start: now.Add(24 * time.Hour), Minutes: 60})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.CancelMeeting(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	room, err := g.OpenRoom(ctx, once.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.CloseRoom(ctx, room.ID); err != nil {
		t.Fatal(err)
	}
	g.pruneMeetings(now.Add(30 * time.Minute)) // within retention: nothing goes
	if ms := mustMeetings(t, g); len(ms) != 3 {
		t.Fatalf("%d meetings within retention, want 3", len(ms))
	}
	if _, err := g.Room(room.ID); err != nil {
		t.Fatalf("the room within retention: %v", err)
	}
	g.pruneMeetings(now.Add(2 * time.Hour))
	if ms := mustMeetings(t, g); len(ms) != 1 || ms[0].ID != weekly.ID {
		t.Errorf("after retention: %+v, want only the weekly meeting", ms)
	}
	if _, err := g.Room(room.ID); !errors.Is(err, ErrNoRoom) {
		t.Errorf("the room after retention: %v, want ErrNoRoom", err)
	}
}

// TestRoomEventsPerMemberBounded: a member who is not a host or moderator
// cannot make a node keep (and replay on every arrival) an ever longer
// room: past maxRoomEventsPerMember of their events in one room the node
// stores no more of them, while the chair's events and another member's
// still count.
func TestRoomEventsPerMemberBounded(t *testing.T) {
	e := newE2ENode(t, "host")
	ctx := e2eCtx(t)
	g, err := e.n.CreateGroup(ctx, GroupOptions{Name: "circle", Pseudonym: "host"})
	if err != nil {
		t.Fatal(err)
	}
	mtg, err := g.ScheduleMeeting(ctx, MeetingInput{Title: "Share", Start: time.Now().Add(time.Hour), Zone: "UTC", Minutes: 60})
	if err != nil {
		t.Fatal(err)
	}
	room, err := g.OpenRoom(ctx, mtg.ID)
	if err != nil {
		t.Fatal(err)
	}
	flooder, other := crypto.MemberID{0xf1}, crypto.MemberID{0xf2}
	sent := time.Now().UnixMilli()
	arrive := func(author crypto.MemberID, anon bool) {
		t.Helper()
		sent++
		rec := &protocol.Received{Epoch: g.Info().Epoch, Author: author, Pseudonym: "x", Timestamp: sent}
		for i := range 8 {
			rec.ID[i] = byte(sent >> (8 * i))
		}
		g.mu.Lock()
		_, err := g.keepRoomEventLocked(rec, room.ID, protocol.MeetingEvent{Meeting: mtg.ID, Room: room.ID, Action: protocol.ActionCheckIn, Anonymous: anon})
		g.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range maxRoomEventsPerMember + 40 {
		arrive(flooder, i%2 == 1)
	}
	arrive(other, false)
	count := func() map[crypto.MemberID]int {
		g.mu.Lock()
		defer g.mu.Unlock()
		all, err := g.roomEventsLocked(&room.ID)
		if err != nil {
			t.Fatal(err)
		}
		n := make(map[crypto.MemberID]int)
		for _, ev := range all[room.ID] {
			n[ev.author]++
		}
		return n
	}
	n := count()
	if n[flooder] != maxRoomEventsPerMember || n[other] != 1 {
		t.Fatalf("stored events: flooder %d, other %d; want %d and 1", n[flooder], n[other], maxRoomEventsPerMember)
	}
	if _, err := g.SetShareTimer(ctx, room.ID, 120); err != nil {
		t.Fatal(err)
	}
	if r, err := g.Room(room.ID); err != nil || r.ShareSeconds != 120 || r.Present != 2 {
		t.Fatalf("the room after the flood: %+v, %v; want the chair's timer and two present", r, err)
	}
}

// TestDemotedModeratorGraceHasNoAdminPower: a moderator demoted by a
// commit still holds the keys of the epoch before it, and its envelopes of
// that epoch still open during the grace period. A modified node sealing
// in the old epoch after the demotion gets no admin power from it: a new
// schedule, a cancellation and a room opened are recorded as nothing by a
// node that applied the demotion, while the same moderator's schedule sent
// before the demotion counts.
func TestDemotedModeratorGraceHasNoAdminPower(t *testing.T) {
	host := &e2eMember{e2eNode: newE2ENode(t, "host"), pseudonym: "host"}
	mod := &e2eMember{e2eNode: newE2ENode(t, "mod"), pseudonym: "mod"}
	e2eMesh(t, host.e2eNode, mod.e2eNode)
	id := e2eGroupOf(t, host, mod)
	ctx := e2eCtx(t)
	hg, mg := host.group(t, id), mod.group(t, id)
	modID := mg.Info().Me.ID
	if err := hg.Promote(ctx, modID, protocol.RoleModerator); err != nil {
		t.Fatal(err)
	}
	e2ePoll(t, "the moderator's promotion", func() bool { return mg.Info().Me.Role == protocol.RoleModerator })
	// A schedule in the moderator's epoch reaches the host (and with it
	// the moderator's chain key of that epoch).
	start := time.Now().Add(48 * time.Hour)
	honest, err := mg.ScheduleMeeting(ctx, MeetingInput{Title: "Honest", Start: start, Zone: "UTC", Minutes: 60})
	if err != nil {
		t.Fatal(err)
	}
	host.rec.waitEvent(t, EventMeeting, id, func(ev Event) bool { return ev.Meeting.ID == honest.ID })
	old := e2eSessionCopy(t, mod.e2eNode, id)
	oldEpoch := old.GroupState().Epoch

	if err := hg.Promote(ctx, modID, protocol.RoleMember); err != nil {
		t.Fatal(err)
	}
	if hg.Info().Epoch == oldEpoch {
		t.Fatal("the demotion did not start a new epoch")
	}
	// The demoted moderator's modified node seals in the old epoch.
	forge := func(c protocol.Content) {
		t.Helper()
		env, err := old.SealContent(c, time.Now().UnixMilli(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if res, _ := hg.validate(ctx, mod.n.host.ID(), env); res != pubsub.ValidationAccept {
			t.Fatalf("the old epoch's envelope was not accepted (%v): the test no longer shows the grace period", res)
		}
	}
	rogue := protocol.Meeting{ID: [16]byte{0xd3, 0x40}, Title: "Not a real meeting", Start: start.UnixMilli(), Minutes: 60}
	forge(rogue)
	forge(protocol.Meeting{ID: honest.ID, Title: "Honest", Start: start.UnixMilli(), Minutes: 60, Cancelled: true})
	room := RoomID{0xd3, 0x41}
	forge(protocol.MeetingEvent{Meeting: honest.ID, Room: room, Action: protocol.ActionOpen})
	if _, err := hg.Meeting(MeetingID(rogue.ID)); !errors.Is(err, ErrNoMeeting) {
		t.Errorf("a demoted moderator's schedule, sealed in the grace epoch: %v, want ErrNoMeeting", err)
	}
	if m, err := hg.Meeting(honest.ID); err != nil || m.Cancelled {
		t.Errorf("the meeting after a demoted moderator's cancellation: %+v, %v; want it still on", m, err)
	}
	if _, err := hg.Room(room); !errors.Is(err, ErrNoRoom) {
		t.Errorf("a room opened by a demoted moderator: %v, want ErrNoRoom", err)
	}
}
