package protocol

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/hearthnet/hearth/crypto"
)

// The community content of a group: what a recovery group does besides
// posting (docs/PROTOCOL.md, "Community content"). All of it is application
// content under the author's sender chain, so it is end-to-end encrypted and
// signed like a post. Who may send what (only the author edits a post, only
// a host or moderator removes one or runs a meeting) depends on the roster
// and is checked by whoever applies the content (node), never trusted from
// the bytes.

// Content types of the community features.
const (
	TypeEdit         ContentType = 0x11
	TypeDelete       ContentType = 0x12
	TypeTombstone    ContentType = 0x13
	TypeGuidelines   ContentType = 0x14
	TypeMeeting      ContentType = 0x20
	TypeMeetingEvent ContentType = 0x21
	TypeSOS          ContentType = 0x32
	TypeReport       ContentType = 0x33
	TypeAddresses    ContentType = 0x34
	TypeSOSReply     ContentType = 0x35
	TypeNote         ContentType = 0x36
)

// Limits of the community content, each enforced by encoder and decoder.
const (
	// MaxReasonText bounds a report's or a removal's reason.
	MaxReasonText = 1024
	// MaxMeetingTitle bounds a meeting's title.
	MaxMeetingTitle = 200
	// MaxMeetingReading bounds a meeting's reading.
	MaxMeetingReading = 4096
	// MaxMeetingMinutes is the longest meeting: a day.
	MaxMeetingMinutes = 24 * 60
	// MaxZoneName bounds an IANA time zone name ("America/New_York").
	MaxZoneName = 64
	// MaxSOSText bounds the words that may go with an SOS or an answer to
	// one.
	MaxSOSText = 1024
	// MaxAddresses and MaxAddressLen bound an address announcement.
	MaxAddresses  = 16
	MaxAddressLen = 512
	// MaxNoteText and MaxNoteInvite bound a note's body.
	MaxNoteText   = 2048
	MaxNoteInvite = 4096
	// MaxShareSeconds is the longest share timer: an hour.
	MaxShareSeconds = 3600
	// MaxGuidelinesText bounds a group's pinned guidelines.
	MaxGuidelinesText = 8 * 1024
)

// ErrBadContent is returned (wrapped, with the reason) when community
// content breaks its rules.
var ErrBadContent = errors.New("hearth/protocol: content not allowed")

func badContent(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadContent, fmt.Sprintf(format, args...))
}

func checkText(field string, s string, min, max int) error {
	switch {
	case len(s) < min:
		return badContent("the %s is empty", field)
	case len(s) > max:
		return badContent("the %s is %d bytes, at most %d are allowed", field, len(s), max)
	case !utf8.ValidString(s):
		return badContent("the %s is not valid UTF-8", field)
	}
	return nil
}

// encodeChecked writes c's fields with write after c passes validate.
func encodeChecked(w *writer, validate func() error, write func()) {
	if err := validate(); err != nil {
		w.fail(err)
		return
	}
	write()
}

func (w *writer) boolean(v bool) {
	if v {
		w.u8(1)
	} else {
		w.u8(0)
	}
}

func (r *reader) boolean(field string) bool {
	switch v := r.u8(field); {
	case r.err != nil:
		return false
	case v > 1:
		r.failf(field, "is %d, want 0 or 1", v)
		return false
	default:
		return v == 1
	}
}

// Edit replaces the text of one of the author's own posts. Only the post's
// author may edit it; members keep the newest edit by send time.
type Edit struct {
	Target [16]byte
	Text   string
}

// Type returns TypeEdit.
func (Edit) Type() ContentType { return TypeEdit }

// Validate checks the rules of Edit.
func (e *Edit) Validate() error {
	if e.Target == ([16]byte{}) {
		return badContent("the edit names no post")
	}
	return checkText("edited text", e.Text, 1, MaxPostText)
}

func (e Edit) encode(w *writer) {
	encodeChecked(w, e.Validate, func() {
		w.fixed(e.Target[:])
		w.string16("edited text", e.Text, MaxPostText)
	})
}

func decodeEdit(r *reader) Edit {
	var e Edit
	r.fixed("edited post", e.Target[:])
	e.Text = r.string16("edited text", MaxPostText)
	if r.err == nil {
		r.check("edit", e.Validate())
	}
	return e
}

// Delete is the author's deletion of one of their own posts: every member
// erases the post's content from its store.
type Delete struct {
	Target [16]byte
}

// Type returns TypeDelete.
func (Delete) Type() ContentType { return TypeDelete }

func (d Delete) encode(w *writer) {
	encodeChecked(w, func() error {
		if d.Target == ([16]byte{}) {
			return badContent("the deletion names no post")
		}
		return nil
	}, func() { w.fixed(d.Target[:]) })
}

func decodeDelete(r *reader) Delete {
	var d Delete
	r.fixed("deleted post", d.Target[:])
	if r.err == nil && d.Target == ([16]byte{}) {
		r.check("deletion", badContent("the deletion names no post"))
	}
	return d
}

// Tombstone is a host's or moderator's removal of a post: every member
// erases the post's content from its store (and refuses it if it arrives
// later), keeping only the tombstone.
type Tombstone struct {
	Target [16]byte
	// Reason is shown to members in place of the post; it may be empty.
	Reason string
}

// Type returns TypeTombstone.
func (Tombstone) Type() ContentType { return TypeTombstone }

// Validate checks the rules of Tombstone.
func (t *Tombstone) Validate() error {
	if t.Target == ([16]byte{}) {
		return badContent("the removal names no post")
	}
	return checkText("reason", t.Reason, 0, MaxReasonText)
}

func (t Tombstone) encode(w *writer) {
	encodeChecked(w, t.Validate, func() {
		w.fixed(t.Target[:])
		w.string16("reason", t.Reason, MaxReasonText)
	})
}

func decodeTombstone(r *reader) Tombstone {
	var t Tombstone
	r.fixed("removed post", t.Target[:])
	t.Reason = r.string16("reason", MaxReasonText)
	if r.err == nil {
		r.check("removal", t.Validate())
	}
	return t
}

// Guidelines are the group's pinned guidelines, which members see and
// accept on joining. Only a host or moderator may send them. Members keep
// the highest Version; at equal versions, the Text that sorts last bytewise,
// so that every member settles on the same text whatever the order of
// arrival. A member who joins later cannot read earlier epochs, so the
// admin who commits an Add sends the current guidelines again in the new
// epoch.
type Guidelines struct {
	// Version counts up from 1 with every change.
	Version uint64
	// Text is 1 to MaxGuidelinesText bytes of UTF-8.
	Text string
}

// Type returns TypeGuidelines.
func (Guidelines) Type() ContentType { return TypeGuidelines }

// Validate checks the rules of Guidelines.
func (g *Guidelines) Validate() error {
	if g.Version == 0 {
		return badContent("guidelines have no version")
	}
	return checkText("guidelines", g.Text, 1, MaxGuidelinesText)
}

// Supersedes reports whether g replaces old under the rule above.
func (g *Guidelines) Supersedes(old Guidelines) bool {
	if g.Version != old.Version {
		return g.Version > old.Version
	}
	return g.Text > old.Text
}

func (g Guidelines) encode(w *writer) {
	encodeChecked(w, g.Validate, func() {
		w.u64(g.Version)
		w.string16("guidelines", g.Text, MaxGuidelinesText)
	})
}

func decodeGuidelines(r *reader) Guidelines {
	var g Guidelines
	g.Version = r.u64("guidelines version")
	g.Text = r.string16("guidelines", MaxGuidelinesText)
	if r.err == nil {
		r.check("guidelines", g.Validate())
	}
	return g
}

// MeetingFormat is the kind of a meeting.
type MeetingFormat uint8

// Meeting formats.
const (
	FormatNone        MeetingFormat = 0
	FormatOpenSharing MeetingFormat = 1
	FormatSpeaker     MeetingFormat = 2
	FormatStepStudy   MeetingFormat = 3
)

// Meeting schedules a meeting, or changes or cancels one already scheduled
// (the same ID; members keep the newest by send time). Only a host or
// moderator may send it.
type Meeting struct {
	ID    [16]byte
	Title string
	// Start is the first (or only) start, unix milliseconds.
	Start int64
	// Minutes is the duration, 1 to MaxMeetingMinutes.
	Minutes uint16
	// Weekdays is the weekly recurrence: bit d set (d = 0 for Sunday to 6
	// for Saturday, as time.Weekday) for each day the meeting repeats on,
	// at Start's time of day in Zone. Zero means a one-off meeting.
	Weekdays uint8
	// Zone is the IANA time zone the recurrence is kept in, so a weekly
	// meeting stays at its local hour across daylight-saving changes. It
	// may be empty (UTC). Members see times in their own zone.
	Zone    string
	Format  MeetingFormat
	Reading string
	// Cancelled is set to cancel the meeting.
	Cancelled bool
}

// Type returns TypeMeeting.
func (Meeting) Type() ContentType { return TypeMeeting }

// Validate checks the rules of Meeting.
func (m *Meeting) Validate() error {
	switch {
	case m.ID == ([16]byte{}):
		return badContent("the meeting has no ID")
	case m.Start <= 0:
		return badContent("the meeting has no start time")
	case m.Minutes == 0 || m.Minutes > MaxMeetingMinutes:
		return badContent("a meeting lasts 1 to %d minutes, not %d", MaxMeetingMinutes, m.Minutes)
	case m.Weekdays >= 1<<7:
		return badContent("weekdays 0x%02x name a day after Saturday", m.Weekdays)
	case m.Format > FormatStepStudy:
		return badContent("meeting format %d is not known", m.Format)
	}
	if err := checkText("title", m.Title, 1, MaxMeetingTitle); err != nil {
		return err
	}
	if err := checkText("reading", m.Reading, 0, MaxMeetingReading); err != nil {
		return err
	}
	if len(m.Zone) > MaxZoneName {
		return badContent("the time zone name is %d bytes, at most %d are allowed", len(m.Zone), MaxZoneName)
	}
	for _, c := range []byte(m.Zone) {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '/' || c == '_' || c == '-' || c == '+') {
			return badContent("the time zone name %q is not an IANA name", m.Zone)
		}
	}
	return nil
}

func (m Meeting) encode(w *writer) {
	encodeChecked(w, m.Validate, func() {
		w.fixed(m.ID[:])
		w.string16("title", m.Title, MaxMeetingTitle)
		w.u64(uint64(m.Start))
		w.u16(m.Minutes)
		w.u8(m.Weekdays)
		w.string16("time zone", m.Zone, MaxZoneName)
		w.u8(uint8(m.Format))
		w.string16("reading", m.Reading, MaxMeetingReading)
		w.boolean(m.Cancelled)
	})
}

func decodeMeeting(r *reader) Meeting {
	var m Meeting
	r.fixed("meeting ID", m.ID[:])
	m.Title = r.string16("title", MaxMeetingTitle)
	start := r.u64("start")
	if r.err == nil && start > 1<<62 {
		r.failf("start", "is out of range")
	}
	m.Start = int64(start)
	m.Minutes = r.u16("duration")
	m.Weekdays = r.u8("weekdays")
	m.Zone = r.string16("time zone", MaxZoneName)
	m.Format = MeetingFormat(r.u8("format"))
	m.Reading = r.string16("reading", MaxMeetingReading)
	m.Cancelled = r.boolean("cancelled")
	if r.err == nil {
		r.check("meeting", m.Validate())
	}
	return m
}

// MeetingAction is what one MeetingEvent does in a live meeting room.
type MeetingAction uint8

// Meeting actions. Open, GiveFloor, EndShare, Timer and Close are the
// chair's (a host or moderator; the one who opened the room); the others
// are any member's, about themselves.
const (
	ActionOpen      MeetingAction = 1
	ActionCheckIn   MeetingAction = 2
	ActionCheckOut  MeetingAction = 3
	ActionRaiseHand MeetingAction = 4
	ActionLowerHand MeetingAction = 5
	// ActionGiveFloor gives the floor to Subject, who must be first in
	// the speaker queue.
	ActionGiveFloor MeetingAction = 6
	// ActionEndShare ends the current share; the speaker may send it too.
	ActionEndShare MeetingAction = 7
	// ActionTimer sets the share timer to Seconds (0 turns it off).
	ActionTimer MeetingAction = 8
	ActionClose MeetingAction = 9
)

// MeetingEvent is one step in a live meeting room. Every member applies
// a room's events in the order of their signed send time (ties broken by
// envelope ID), so all members see the same room.
type MeetingEvent struct {
	// Meeting is the scheduled meeting the room is for.
	Meeting [16]byte
	// Room names this sitting of the meeting, chosen by the chair at Open.
	Room   [16]byte
	Action MeetingAction
	// Anonymous, on a check-in, asks members' apps to count the member
	// without showing their pseudonym.
	Anonymous bool
	// Subject is the member given the floor (ActionGiveFloor only).
	Subject crypto.MemberID
	// Seconds is the share timer (ActionTimer only).
	Seconds uint16
}

// Type returns TypeMeetingEvent.
func (MeetingEvent) Type() ContentType { return TypeMeetingEvent }

// Validate checks the rules of MeetingEvent.
func (e *MeetingEvent) Validate() error {
	switch {
	case e.Meeting == ([16]byte{}) || e.Room == ([16]byte{}):
		return badContent("the meeting event names no meeting or room")
	case e.Action < ActionOpen || e.Action > ActionClose:
		return badContent("meeting action %d is not known", e.Action)
	case e.Anonymous && e.Action != ActionCheckIn:
		return badContent("only a check-in can be anonymous")
	case (e.Subject != crypto.MemberID{}) != (e.Action == ActionGiveFloor):
		return badContent("a subject goes with giving the floor, and only with it")
	case e.Seconds != 0 && e.Action != ActionTimer:
		return badContent("seconds go with the share timer only")
	case e.Seconds > MaxShareSeconds:
		return badContent("a share timer of %d seconds is over the %d allowed", e.Seconds, MaxShareSeconds)
	}
	return nil
}

func (e MeetingEvent) encode(w *writer) {
	encodeChecked(w, e.Validate, func() {
		w.fixed(e.Meeting[:])
		w.fixed(e.Room[:])
		w.u8(uint8(e.Action))
		w.boolean(e.Anonymous)
		w.fixed(e.Subject[:])
		w.u16(e.Seconds)
	})
}

func decodeMeetingEvent(r *reader) MeetingEvent {
	var e MeetingEvent
	r.fixed("meeting ID", e.Meeting[:])
	r.fixed("room ID", e.Room[:])
	e.Action = MeetingAction(r.u8("meeting action"))
	e.Anonymous = r.boolean("anonymous")
	r.fixed("subject", e.Subject[:])
	e.Seconds = r.u16("seconds")
	if r.err == nil {
		r.check("meeting event", e.Validate())
	}
	return e
}

// SOS is a member's urgent request for help. Members who opted in to SOS
// alerts are alerted even in quiet hours.
type SOS struct {
	ID [16]byte
	// Text is what the member wants to say; it may be empty.
	Text string
}

// Type returns TypeSOS.
func (SOS) Type() ContentType { return TypeSOS }

func (s SOS) validate() error {
	if s.ID == ([16]byte{}) {
		return badContent("the SOS has no ID")
	}
	return checkText("SOS text", s.Text, 0, MaxSOSText)
}

func (s SOS) encode(w *writer) {
	encodeChecked(w, s.validate, func() {
		w.fixed(s.ID[:])
		w.string16("SOS text", s.Text, MaxSOSText)
	})
}

func decodeSOS(r *reader) SOS {
	var s SOS
	r.fixed("SOS ID", s.ID[:])
	s.Text = r.string16("SOS text", MaxSOSText)
	if r.err == nil {
		r.check("SOS", s.validate())
	}
	return s
}

// SOSReply is a member's "I'm here" to an SOS.
type SOSReply struct {
	SOS  [16]byte
	Text string
}

// Type returns TypeSOSReply.
func (SOSReply) Type() ContentType { return TypeSOSReply }

func (s SOSReply) validate() error {
	if s.SOS == ([16]byte{}) {
		return badContent("the reply names no SOS")
	}
	return checkText("reply text", s.Text, 0, MaxSOSText)
}

func (s SOSReply) encode(w *writer) {
	encodeChecked(w, s.validate, func() {
		w.fixed(s.SOS[:])
		w.string16("reply text", s.Text, MaxSOSText)
	})
}

func decodeSOSReply(r *reader) SOSReply {
	var s SOSReply
	r.fixed("SOS ID", s.SOS[:])
	s.Text = r.string16("reply text", MaxSOSText)
	if r.err == nil {
		r.check("SOS reply", s.validate())
	}
	return s
}

// Addresses announces the author's node: its libp2p peer ID and current
// listen or relay addresses (multiaddrs with /p2p/), so members can dial it
// without the invite and after it moves. Inside the envelope, only members
// learn them.
type Addresses struct {
	Addrs []string
}

// Type returns TypeAddresses.
func (Addresses) Type() ContentType { return TypeAddresses }

func (a Addresses) validate() error {
	if len(a.Addrs) > MaxAddresses {
		return badContent("%d addresses, at most %d are allowed", len(a.Addrs), MaxAddresses)
	}
	for _, s := range a.Addrs {
		if err := checkText("address", s, 1, MaxAddressLen); err != nil {
			return err
		}
	}
	return nil
}

func (a Addresses) encode(w *writer) {
	encodeChecked(w, a.validate, func() {
		w.count16("addresses", len(a.Addrs), MaxAddresses)
		for _, s := range a.Addrs {
			w.string16("address", s, MaxAddressLen)
		}
	})
}

func decodeAddresses(r *reader) Addresses {
	var a Addresses
	n := r.count16("addresses", MaxAddresses, 3)
	for range n {
		a.Addrs = append(a.Addrs, r.string16("address", MaxAddressLen))
	}
	if r.err == nil {
		r.check("addresses", a.validate())
	}
	return a
}

// maxSealedBody bounds the sealed body of a report or note: the largest
// plaintext body (a report quoting a whole post) plus the AEAD overhead.
const maxSealedBody = MaxPostText + MaxReasonText + 256 + crypto.SealOverhead

// Report is a member's report of a post, sealed (crypto.SealNote, kind
// crypto.SecretReportKey) to the hosts and moderators of the epoch it is
// sent in, so no ordinary member can read it. Body opens to a ReportBody.
type Report struct {
	Keys []SealedSecret
	Body []byte
}

// Type returns TypeReport.
func (Report) Type() ContentType { return TypeReport }

func (r Report) encode(w *writer) {
	if len(r.Keys) == 0 {
		w.fail(badContent("a report is sealed to nobody"))
		return
	}
	encodeSealed(w, r.Keys, MaxMembers)
	w.bytes16("report body", r.Body, maxSealedBody)
}

func decodeReport(r *reader) Report {
	var rep Report
	rep.Keys = decodeSealed(r, crypto.SecretReportKey, MaxMembers)
	if r.err == nil && len(rep.Keys) == 0 {
		r.failf("report", "is sealed to nobody")
	}
	rep.Body = r.bytes16("report body", maxSealedBody)
	return rep
}

// ReportBody is what a Report's body opens to.
type ReportBody struct {
	// Post is the reported post, Author its author, Excerpt its text as
	// the reporter saw it (so moderators see what was reported even if
	// the post was edited or they never received it).
	Post    [16]byte
	Author  crypto.MemberID
	Excerpt string
	Reason  string
}

// Marshal encodes the body for crypto.SealNote.
func (b *ReportBody) Marshal() ([]byte, error) {
	var w writer
	encodeChecked(&w, b.validate, func() {
		w.fixed(b.Post[:])
		w.fixed(b.Author[:])
		w.string16("excerpt", b.Excerpt, MaxPostText)
		w.string16("reason", b.Reason, MaxReasonText)
	})
	return w.finish()
}

func (b *ReportBody) validate() error {
	if b.Post == ([16]byte{}) {
		return badContent("the report names no post")
	}
	if err := checkText("excerpt", b.Excerpt, 0, MaxPostText); err != nil {
		return err
	}
	return checkText("reason", b.Reason, 0, MaxReasonText)
}

// UnmarshalReportBody decodes an opened report body strictly.
func UnmarshalReportBody(data []byte) (ReportBody, error) {
	r := newReader(data)
	var b ReportBody
	r.fixed("reported post", b.Post[:])
	r.fixed("author", b.Author[:])
	b.Excerpt = r.string16("excerpt", MaxPostText)
	b.Reason = r.string16("reason", MaxReasonText)
	if r.err == nil {
		r.check("report", b.validate())
	}
	return b, r.finish()
}

// Note is sealed (crypto.SealNote, kind crypto.SecretNoteKey) to exactly one
// member, who is not named: every member tries to open it, and only the
// recipient can. Other members learn that the author sent a note, and its
// size bucket, but not to whom or what. Body opens to a NoteBody.
type Note struct {
	Key  []byte
	Body []byte
}

// Type returns TypeNote.
func (Note) Type() ContentType { return TypeNote }

func (n Note) encode(w *writer) {
	if len(n.Key) != crypto.SecretNoteKey.SealedSize() {
		w.fail(badContent("a note's sealed key is %d bytes, want %d", len(n.Key), crypto.SecretNoteKey.SealedSize()))
		return
	}
	w.fixed(n.Key)
	w.bytes16("note body", n.Body, maxSealedBody)
}

func decodeNote(r *reader) Note {
	var n Note
	n.Key = make([]byte, crypto.SecretNoteKey.SealedSize())
	r.fixed("note key", n.Key)
	n.Body = r.bytes16("note body", maxSealedBody)
	return n
}

// NoteKind says what a NoteBody is.
type NoteKind uint8

// Note kinds.
const (
	// NoteMentorRequest asks the recipient to be the sender's mentor
	// (or, with Offer set, offers to be theirs). Invite is an invite to
	// the private group of two the sender created for the pair.
	NoteMentorRequest NoteKind = 1
	// NoteMentorDecline answers a request (Ref) with no.
	NoteMentorDecline NoteKind = 2
	// NotePairing is a host's suggestion that the recipient and the
	// member named in Text pair up; the recipient decides whether to ask.
	NotePairing NoteKind = 3
)

// NoteBody is what a Note's body opens to.
type NoteBody struct {
	Kind NoteKind
	ID   [16]byte
	Ref  [16]byte
	// Offer turns a mentor request around: the sender offers to mentor.
	Offer  bool
	Text   string
	Invite string
	// Subject is the other member of a pairing suggestion.
	Subject crypto.MemberID
}

func (b *NoteBody) validate() error {
	if b.Kind < NoteMentorRequest || b.Kind > NotePairing {
		return badContent("note kind %d is not known", b.Kind)
	}
	if b.ID == ([16]byte{}) {
		return badContent("the note has no ID")
	}
	if err := checkText("note text", b.Text, 0, MaxNoteText); err != nil {
		return err
	}
	return checkText("invite", b.Invite, 0, MaxNoteInvite)
}

// Marshal encodes the body for crypto.SealNote.
func (b *NoteBody) Marshal() ([]byte, error) {
	var w writer
	encodeChecked(&w, b.validate, func() {
		w.u8(uint8(b.Kind))
		w.fixed(b.ID[:])
		w.fixed(b.Ref[:])
		w.boolean(b.Offer)
		w.string16("note text", b.Text, MaxNoteText)
		w.string16("invite", b.Invite, MaxNoteInvite)
		w.fixed(b.Subject[:])
	})
	return w.finish()
}

// UnmarshalNoteBody decodes an opened note body strictly.
func UnmarshalNoteBody(data []byte) (NoteBody, error) {
	r := newReader(data)
	var b NoteBody
	b.Kind = NoteKind(r.u8("note kind"))
	r.fixed("note ID", b.ID[:])
	r.fixed("note ref", b.Ref[:])
	b.Offer = r.boolean("offer")
	b.Text = r.string16("note text", MaxNoteText)
	b.Invite = r.string16("invite", MaxNoteInvite)
	r.fixed("subject", b.Subject[:])
	if r.err == nil {
		r.check("note", b.validate())
	}
	return b, r.finish()
}

// decodeCommunity decodes the community content types; ok is false for a
// type that is not one of them.
func decodeCommunity(t ContentType, r *reader) (c Content, ok bool) {
	switch t {
	case TypeEdit:
		return decodeEdit(r), true
	case TypeDelete:
		return decodeDelete(r), true
	case TypeTombstone:
		return decodeTombstone(r), true
	case TypeGuidelines:
		return decodeGuidelines(r), true
	case TypeMeeting:
		return decodeMeeting(r), true
	case TypeMeetingEvent:
		return decodeMeetingEvent(r), true
	case TypeMeetingSnapshot:
		return decodeMeetingSnapshot(r), true
	case TypeSOS:
		return decodeSOS(r), true
	case TypeSOSReply:
		return decodeSOSReply(r), true
	case TypeAddresses:
		return decodeAddresses(r), true
	case TypeReport:
		return decodeReport(r), true
	case TypeNote:
		return decodeNote(r), true
	}
	return nil, false
}
