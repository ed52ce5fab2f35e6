package protocol

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/hearthnet/hearth/crypto"
)

func TestMeetingSnapshotRoundTrip(t *testing.T) {
	s := MeetingSnapshot{
		Meeting: [16]byte{1}, Room: [16]byte{2}, Opened: 1_800_000_000_000,
		Attendees: []SnapshotAttendee{
			{Member: crypto.MemberID{3}, Since: 1_800_000_001_000},
			{Member: crypto.MemberID{4}, Anonymous: true, Since: 1_800_000_002_000},
			{Member: crypto.MemberID{5}, Since: 1_800_000_003_000},
		},
		Queue:   []crypto.MemberID{{5}, {4}},
		Speaker: crypto.MemberID{3}, SpeakerSince: 1_800_000_004_000, Seconds: 180,
	}
	for _, c := range []MeetingSnapshot{s, {Meeting: [16]byte{1}, Room: [16]byte{2}, Opened: 1}} {
		b, err := MarshalContent(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := UnmarshalContent(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("round trip gave %+v, want %+v", got, c)
		}
		again, _ := MarshalContent(got)
		if !bytes.Equal(again, b) {
			t.Error("re-encoding gave different bytes")
		}
		for i := range b {
			if _, err := UnmarshalContent(b[:i]); err == nil {
				t.Errorf("a %d-byte prefix decoded", i)
			}
		}
		if _, err := UnmarshalContent(append(b, 0)); err == nil {
			t.Error("a trailing byte was accepted")
		}
	}
}

func TestMeetingSnapshotRules(t *testing.T) {
	ok := func() MeetingSnapshot {
		return MeetingSnapshot{Meeting: [16]byte{1}, Room: [16]byte{2}, Opened: 10,
			Attendees: []SnapshotAttendee{{Member: crypto.MemberID{3}, Since: 11}, {Member: crypto.MemberID{4}, Since: 12}}}
	}
	for name, edit := range map[string]func(*MeetingSnapshot){
		"no room":              func(s *MeetingSnapshot) { s.Room = [16]byte{} },
		"never opened":         func(s *MeetingSnapshot) { s.Opened = 0 },
		"attendee twice":       func(s *MeetingSnapshot) { s.Attendees[1].Member = s.Attendees[0].Member },
		"queue of the absent":  func(s *MeetingSnapshot) { s.Queue = []crypto.MemberID{{9}} },
		"queued twice":         func(s *MeetingSnapshot) { s.Queue = []crypto.MemberID{{3}, {3}} },
		"speaker without time": func(s *MeetingSnapshot) { s.Speaker = crypto.MemberID{3} },
		"speaker absent":       func(s *MeetingSnapshot) { s.Speaker, s.SpeakerSince = crypto.MemberID{9}, 5 },
		"speaker queued": func(s *MeetingSnapshot) {
			s.Speaker, s.SpeakerSince, s.Queue = crypto.MemberID{3}, 5, []crypto.MemberID{{3}}
		},
		"long timer": func(s *MeetingSnapshot) { s.Seconds = MaxShareSeconds + 1 },
	} {
		s := ok()
		edit(&s)
		if _, err := MarshalContent(s); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
	if _, err := MarshalContent(ok()); err != nil {
		t.Fatal(err)
	}
}

// FuzzMeetingSnapshot checks that whatever decodes as a snapshot re-encodes
// to exactly the input, from seeds of real snapshots.
func FuzzMeetingSnapshot(f *testing.F) {
	for _, s := range []MeetingSnapshot{
		{Meeting: [16]byte{1}, Room: [16]byte{2}, Opened: 10},
		{Meeting: [16]byte{1}, Room: [16]byte{2}, Opened: 10,
			Attendees: []SnapshotAttendee{{Member: crypto.MemberID{3}, Since: 11}, {Member: crypto.MemberID{4}, Anonymous: true, Since: 12}},
			Queue:     []crypto.MemberID{{4}}, Speaker: crypto.MemberID{3}, SpeakerSince: 13, Seconds: 60},
	} {
		b, err := MarshalContent(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := UnmarshalContent(b)
		if err != nil {
			return
		}
		if _, ok := c.(MeetingSnapshot); !ok {
			return
		}
		out, err := MarshalContent(c)
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("decoded and re-encoded differently (%v):\n in %x\nout %x", err, b, out)
		}
	})
}
