package protocol

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hearthnet/hearth/crypto"
)

// sampleCommunity holds one valid value of every community content type.
func sampleCommunity(t *testing.T) []Content {
	t.Helper()
	sealed := make([]byte, crypto.SecretReportKey.SealedSize())
	sealed[0] = 1
	return []Content{
		Edit{Target: [16]byte{1}, Text: "better words"},
		Delete{Target: [16]byte{2}},
		Tombstone{Target: [16]byte{3}, Reason: "breaks the guidelines"},
		Tombstone{Target: [16]byte{3}},
		Guidelines{Version: 1, Text: "Be kind. What is said here stays here."},
		Guidelines{Version: 1 << 40, Text: strings.Repeat("g", MaxGuidelinesText)},
		Meeting{ID: [16]byte{4}, Title: "Tuesday sharing", Start: 1_800_000_000_000, Minutes: 60, Weekdays: 1 << 2, Zone: "America/New_York", Format: FormatOpenSharing, Reading: "Just for today."},
		Meeting{ID: [16]byte{4}, Title: "One-off", Start: 1, Minutes: MaxMeetingMinutes, Cancelled: true},
		MeetingEvent{Meeting: [16]byte{4}, Room: [16]byte{5}, Action: ActionCheckIn, Anonymous: true},
		MeetingEvent{Meeting: [16]byte{4}, Room: [16]byte{5}, Action: ActionGiveFloor, Subject: crypto.MemberID{9}},
		MeetingEvent{Meeting: [16]byte{4}, Room: [16]byte{5}, Action: ActionTimer, Seconds: 300},
		SOS{ID: [16]byte{6}, Text: "I need someone right now"},
		SOS{ID: [16]byte{6}},
		SOSReply{SOS: [16]byte{6}, Text: "I'm here"},
		Addresses{Addrs: []string{"/ip4/127.0.0.1/tcp/4747/p2p/12D3KooWexample"}},
		Addresses{},
		Report{Keys: []SealedSecret{{To: crypto.MemberID{7}, Sealed: sealed}}, Body: []byte("sealed body")},
		Note{Key: sealed, Body: []byte("sealed body")},
	}
}

func TestCommunityContentRoundTrip(t *testing.T) {
	for _, c := range sampleCommunity(t) {
		b, err := MarshalContent(c)
		if err != nil {
			t.Fatalf("%T: %v", c, err)
		}
		got, err := UnmarshalContent(b)
		if err != nil {
			t.Fatalf("%T: %v", c, err)
		}
		if !reflect.DeepEqual(normalise(got), normalise(c)) {
			t.Errorf("round trip of %T gave %+v, want %+v", c, got, c)
		}
		again, err := MarshalContent(got)
		if err != nil || !bytes.Equal(again, b) {
			t.Errorf("%T: re-encoding gave different bytes (%v)", c, err)
		}
		// Every strict prefix and one trailing byte are refused.
		for i := range b {
			if _, err := UnmarshalContent(b[:i]); err == nil {
				t.Errorf("%T: a %d-byte prefix decoded", c, i)
			}
		}
		if _, err := UnmarshalContent(append(bytes.Clone(b), 0)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%T with a trailing byte: %v, want ErrMalformed", c, err)
		}
	}
}

// normalise makes an empty address list compare equal to a nil one.
func normalise(c Content) Content {
	if a, ok := c.(Addresses); ok && len(a.Addrs) == 0 {
		return Addresses{}
	}
	return c
}

func TestCommunityContentRules(t *testing.T) {
	long := strings.Repeat("a", MaxMeetingTitle+1)
	for name, c := range map[string]Content{
		"edit of nothing":          Edit{Text: "x"},
		"empty edit":               Edit{Target: [16]byte{1}},
		"deletion of nothing":      Delete{},
		"removal of nothing":       Tombstone{},
		"guidelines of version 0":  Guidelines{Text: "be kind"},
		"empty guidelines":         Guidelines{Version: 1},
		"long guidelines":          Guidelines{Version: 1, Text: strings.Repeat("g", MaxGuidelinesText+1)},
		"meeting without an ID":    Meeting{Title: "a", Start: 1, Minutes: 1},
		"meeting with a long name": Meeting{ID: [16]byte{1}, Title: long, Start: 1, Minutes: 1},
		"meeting of no minutes":    Meeting{ID: [16]byte{1}, Title: "a", Start: 1},
		"meeting over a day":       Meeting{ID: [16]byte{1}, Title: "a", Start: 1, Minutes: MaxMeetingMinutes + 1},
		"an eighth weekday":        Meeting{ID: [16]byte{1}, Title: "a", Start: 1, Minutes: 1, Weekdays: 0x80},
		"unknown format":           Meeting{ID: [16]byte{1}, Title: "a", Start: 1, Minutes: 1, Format: 9},
		"odd time zone":            Meeting{ID: [16]byte{1}, Title: "a", Start: 1, Minutes: 1, Zone: "Europe/Paris; DROP"},
		"anonymous raised hand":    MeetingEvent{Meeting: [16]byte{1}, Room: [16]byte{2}, Action: ActionRaiseHand, Anonymous: true},
		"floor to nobody":          MeetingEvent{Meeting: [16]byte{1}, Room: [16]byte{2}, Action: ActionGiveFloor},
		"unknown action":           MeetingEvent{Meeting: [16]byte{1}, Room: [16]byte{2}, Action: 10},
		"timer over an hour":       MeetingEvent{Meeting: [16]byte{1}, Room: [16]byte{2}, Action: ActionTimer, Seconds: MaxShareSeconds + 1},
		"SOS without an ID":        SOS{},
		"reply to no SOS":          SOSReply{},
		"too many addresses":       Addresses{Addrs: make([]string, MaxAddresses+1)},
		"empty address":            Addresses{Addrs: []string{""}},
		"report to nobody":         Report{Body: []byte{1}},
		"note with a short key":    Note{Key: []byte{1}},
	} {
		if _, err := MarshalContent(c); err == nil {
			t.Errorf("%s: MarshalContent accepted it", name)
		}
	}
}

func TestReportAndNoteBodies(t *testing.T) {
	rb := ReportBody{Post: [16]byte{1}, Author: crypto.MemberID{2}, Excerpt: "the post", Reason: "unkind"}
	b, err := rb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := UnmarshalReportBody(b); err != nil || got != rb {
		t.Fatalf("report body round trip: %+v, %v", got, err)
	}
	if _, err := UnmarshalReportBody(b[:len(b)-1]); !errors.Is(err, ErrMalformed) {
		t.Errorf("a truncated report body: %v", err)
	}
	nb := NoteBody{Kind: NoteMentorRequest, ID: [16]byte{3}, Text: "would you?", Invite: "hearth:invite", Offer: true}
	b, err = nb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := UnmarshalNoteBody(b); err != nil || got != nb {
		t.Fatalf("note body round trip: %+v, %v", got, err)
	}
	if _, err := UnmarshalNoteBody(append(b, 0)); !errors.Is(err, ErrMalformed) {
		t.Errorf("a note body with a trailing byte: %v", err)
	}
	bad := NoteBody{Kind: 9, ID: [16]byte{1}}
	if _, err := bad.Marshal(); err == nil {
		t.Error("a note of unknown kind was encoded")
	}
}

func TestGuidelines(t *testing.T) {
	// The decoder refuses what the encoder would: version 0, empty text,
	// text over the limit and invalid UTF-8, all hand-built.
	for name, body := range map[string][]byte{
		"version 0":    append([]byte{byte(TypeGuidelines), 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 'a'),
		"empty text":   {byte(TypeGuidelines), 0, 0, 0, 0, 0, 0, 0, 1, 0, 0},
		"invalid text": {byte(TypeGuidelines), 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0xff},
		"long text": append([]byte{byte(TypeGuidelines), 0, 0, 0, 0, 0, 0, 0, 1, byte((MaxGuidelinesText + 1) >> 8), byte((MaxGuidelinesText + 1) & 0xff)},
			strings.Repeat("g", MaxGuidelinesText+1)...),
	} {
		if c, err := UnmarshalContent(body); err == nil {
			t.Errorf("%s: decoded as %+v", name, c)
		}
	}
	v1 := Guidelines{Version: 1, Text: "be kind"}
	v2 := Guidelines{Version: 2, Text: "a"}
	other := Guidelines{Version: 1, Text: "be patient"}
	switch {
	case !v2.Supersedes(v1) || v1.Supersedes(v2):
		t.Error("a higher version does not win")
	case !other.Supersedes(v1) == !v1.Supersedes(other):
		t.Error("two texts of one version do not order one way")
	case v1.Supersedes(v1):
		t.Error("guidelines supersede themselves, so a re-send would count as a change")
	}
}
