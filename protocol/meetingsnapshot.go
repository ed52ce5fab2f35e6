package protocol

import (
	"github.com/hearthnet/hearth/crypto"
)

// TypeMeetingSnapshot is the content type of MeetingSnapshot.
const TypeMeetingSnapshot ContentType = 0x22

// MeetingSnapshot restates a live meeting room in full: who is present, the
// speaker queue in order, the speaker and since when, the share timer. The
// chair sends it in a new epoch while the room is open, because a member
// who joined in that epoch cannot open the room's earlier events (no past
// for newcomers) and would otherwise see an empty room.
//
// In the replay of a room (docs/PROTOCOL.md, "Meetings") a snapshot from
// the room's chair (or, in a room not yet opened, from a host or moderator,
// who becomes its chair) replaces the room's state with its own at its
// place in the order, so members who hold every event and a member who
// holds only the snapshot and what followed reach the same state.
type MeetingSnapshot struct {
	Meeting [16]byte
	Room    [16]byte
	// Opened is the send time of the room's Open, unix milliseconds.
	Opened int64
	// Attendees are the members present, in the order they checked in.
	Attendees []SnapshotAttendee
	// Queue is the speaker queue, first first; each is an attendee.
	Queue []crypto.MemberID
	// Speaker has the floor since SpeakerSince (unix milliseconds); zero
	// for no one (and SpeakerSince is then 0).
	Speaker      crypto.MemberID
	SpeakerSince int64
	// Seconds is the share timer, 0 for none.
	Seconds uint16
}

// SnapshotAttendee is one member present in a MeetingSnapshot.
type SnapshotAttendee struct {
	Member    crypto.MemberID
	Anonymous bool
	// Since is the send time of the member's check-in, unix milliseconds.
	Since int64
}

// Type returns TypeMeetingSnapshot.
func (MeetingSnapshot) Type() ContentType { return TypeMeetingSnapshot }

// Validate checks the rules of MeetingSnapshot: a named room, at most
// MaxMembers attendees, each once, a queue of distinct attendees, and a
// speaker with a start time (or neither).
func (s *MeetingSnapshot) Validate() error {
	switch {
	case s.Meeting == ([16]byte{}) || s.Room == ([16]byte{}):
		return badContent("the meeting snapshot names no meeting or room")
	case s.Opened <= 0 || s.Opened > 1<<62:
		return badContent("the meeting snapshot has no open time")
	case len(s.Attendees) > MaxMembers || len(s.Queue) > MaxMembers:
		return badContent("the meeting snapshot lists more than %d members", MaxMembers)
	case (s.Speaker == crypto.MemberID{}) != (s.SpeakerSince == 0):
		return badContent("a speaker goes with the time they were given the floor, and only with it")
	case s.SpeakerSince < 0 || s.SpeakerSince > 1<<62:
		return badContent("the speaker's start time is out of range")
	case s.Seconds > MaxShareSeconds:
		return badContent("a share timer of %d seconds is over the %d allowed", s.Seconds, MaxShareSeconds)
	}
	present := make(map[crypto.MemberID]bool, len(s.Attendees))
	for _, a := range s.Attendees {
		if a.Member == (crypto.MemberID{}) || present[a.Member] {
			return badContent("the meeting snapshot lists an attendee twice or without an ID")
		}
		if a.Since <= 0 || a.Since > 1<<62 {
			return badContent("an attendee's check-in time is out of range")
		}
		present[a.Member] = true
	}
	queued := make(map[crypto.MemberID]bool, len(s.Queue))
	for _, m := range s.Queue {
		if !present[m] || queued[m] || m == s.Speaker {
			return badContent("the speaker queue names someone twice, absent, or speaking")
		}
		queued[m] = true
	}
	if s.Speaker != (crypto.MemberID{}) && !present[s.Speaker] {
		return badContent("the speaker is not present")
	}
	return nil
}

func (s MeetingSnapshot) encode(w *writer) {
	encodeChecked(w, s.Validate, func() {
		w.fixed(s.Meeting[:])
		w.fixed(s.Room[:])
		w.u64(uint64(s.Opened))
		w.count16("attendees", len(s.Attendees), MaxMembers)
		for _, a := range s.Attendees {
			w.fixed(a.Member[:])
			w.boolean(a.Anonymous)
			w.u64(uint64(a.Since))
		}
		w.count16("speaker queue", len(s.Queue), MaxMembers)
		for _, m := range s.Queue {
			w.fixed(m[:])
		}
		w.fixed(s.Speaker[:])
		w.u64(uint64(s.SpeakerSince))
		w.u16(s.Seconds)
	})
}

func decodeMeetingSnapshot(r *reader) MeetingSnapshot {
	var s MeetingSnapshot
	r.fixed("meeting ID", s.Meeting[:])
	r.fixed("room ID", s.Room[:])
	s.Opened = int64(r.u64("opened"))
	n := r.count16("attendees", MaxMembers, crypto.MemberIDSize+1+8)
	for range n {
		var a SnapshotAttendee
		r.fixed("attendee", a.Member[:])
		a.Anonymous = r.boolean("anonymous")
		a.Since = int64(r.u64("checked in"))
		s.Attendees = append(s.Attendees, a)
	}
	n = r.count16("speaker queue", MaxMembers, crypto.MemberIDSize)
	for range n {
		var m crypto.MemberID
		r.fixed("queued member", m[:])
		s.Queue = append(s.Queue, m)
	}
	r.fixed("speaker", s.Speaker[:])
	s.SpeakerSince = int64(r.u64("speaker since"))
	s.Seconds = r.u16("seconds")
	if r.err == nil {
		r.check("meeting snapshot", s.Validate())
	}
	return s
}
