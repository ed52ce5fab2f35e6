package node

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hearthnet/hearth/protocol"
)

// This file exports a group's upcoming meetings as iCalendar (RFC 5545),
// for a member's own calendar app. The export carries what a calendar
// needs (title, times, format, reading) and nothing that names or opens
// the group: no group ID, invite, key or member ID. Each event's UID is a
// hash of the meeting ID and the occurrence's start, stable across exports
// so a calendar updates an event rather than doubling it.

// ICalendarHorizon is how far ahead ICalendar lists occurrences by default.
const ICalendarHorizon = 90 * 24 * time.Hour

// ICalendar returns the group's meeting occurrences that end after from
// and start within horizon of it (ICalendarHorizon when zero), as an
// iCalendar file with times in UTC.
func (g *Group) ICalendar(from time.Time, horizon time.Duration) ([]byte, error) {
	if horizon <= 0 {
		horizon = ICalendarHorizon
	}
	occ, err := g.occurrencesBetween(from, from.Add(horizon), 0)
	if err != nil {
		return nil, err
	}
	return renderICalendar(occ, g.n.now()), nil
}

// renderICalendar writes occ as a VCALENDAR stamped at stamp.
func renderICalendar(occ []MeetingOccurrence, stamp time.Time) []byte {
	var b strings.Builder
	line := func(s string) { b.WriteString(foldICalLine(s)) }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//Hearth//Meetings//EN")
	line("CALSCALE:GREGORIAN")
	line("METHOD:PUBLISH")
	for _, o := range occ {
		line("BEGIN:VEVENT")
		line("UID:" + occurrenceUID(o.Meeting.ID, o.Start) + "@hearth.invalid")
		line("DTSTAMP:" + icalTime(stamp))
		line("DTSTART:" + icalTime(o.Start))
		line("DTEND:" + icalTime(o.End))
		line("SUMMARY:" + icalText(o.Meeting.Title))
		var desc []string
		if f := formatLabel(o.Meeting.Format); f != "" {
			desc = append(desc, "Format: "+f)
		}
		if o.Meeting.Reading != "" {
			desc = append(desc, "Reading: "+o.Meeting.Reading)
		}
		if len(desc) > 0 {
			line("DESCRIPTION:" + icalText(strings.Join(desc, "\n")))
		}
		line("END:VEVENT")
	}
	line("END:VCALENDAR")
	return []byte(b.String())
}

// occurrenceUID is the hex of the first 16 bytes of SHA-256 over a label,
// the meeting ID and the start in unix milliseconds.
func occurrenceUID(id MeetingID, start time.Time) string {
	h := sha256.New()
	h.Write([]byte("hearth meeting occurrence v1"))
	h.Write(id[:])
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(start.UnixMilli())))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func icalTime(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// icalText escapes a TEXT value (RFC 5545 3.3.11): backslash, semicolon,
// comma and newline; other control characters are dropped.
func icalText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == ';':
			b.WriteString(`\;`)
		case r == ',':
			b.WriteString(`\,`)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20 || r == 0x7f:
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// foldICalLine ends s with CRLF, folding it (RFC 5545 3.1) so no line is
// longer than 75 octets: continuation lines begin with a space, and a
// UTF-8 sequence is never split.
func foldICalLine(s string) string {
	const limit = 75
	var b strings.Builder
	width := limit
	for len(s) > width {
		cut := width
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		b.WriteString(s[:cut])
		b.WriteString("\r\n ")
		s = s[cut:]
		width = limit - 1
	}
	b.WriteString(s)
	b.WriteString("\r\n")
	return b.String()
}

// formatLabel is a meeting format's name for people ("" for
// none).
func formatLabel(f protocol.MeetingFormat) string {
	switch f {
	case protocol.FormatOpenSharing:
		return "open sharing"
	case protocol.FormatSpeaker:
		return "speaker"
	case protocol.FormatStepStudy:
		return "step study"
	}
	return ""
}
