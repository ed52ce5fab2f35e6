package api

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func codeOf(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{
		"1m": time.Minute, "90m": 90 * time.Minute, "12h": 12 * time.Hour, "30d": 30 * 24 * time.Hour,
		"365d": 365 * 24 * time.Hour, "8760h": 8760 * time.Hour,
	}
	for s, want := range good {
		if got, err := parseDuration("expiry", s, maxInviteExpiry); err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{
		"", "d", "0h", "0d", "00m", "01d", "-1d", "+1d", "1.5h", "1h30m", "1h0m0s", "1s", "1D", " 1d", "1d ",
		"366d", "8761h", "999999d", "9999999d", "99999999999999999999d", "1e3d", "forever", "0x10h", "١d",
	} {
		if _, err := parseDuration("expiry", s, maxInviteExpiry); codeOf(err) != CodeBadDuration {
			t.Errorf("%q: %v, want bad_duration", s, err)
		}
	}
}

func TestParseRetention(t *testing.T) {
	for s, want := range map[string]time.Duration{"": 0, "forever": 0, "30d": 30 * 24 * time.Hour, "3650d": 3650 * 24 * time.Hour} {
		if got, err := parseRetention(s); err != nil || got != want {
			t.Errorf("%q: %v, %v", s, got, err)
		}
	}
	// "0d" would mean forever to the node: refused, not reinterpreted.
	for _, s := range []string{"0d", "Forever", "never", "3651d", "-30d"} {
		if _, err := parseRetention(s); codeOf(err) != CodeBadDuration {
			t.Errorf("%q: %v, want bad_duration", s, err)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "forever", 30 * 24 * time.Hour: "30d", 36 * time.Hour: "36h", 90 * time.Minute: "90m", 45 * time.Second: "45s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
		if d > 0 && d%time.Minute == 0 {
			if back, err := parseRetention(formatDuration(d)); err != nil || back != d {
				t.Errorf("%v does not round-trip: %v, %v", d, back, err)
			}
		}
	}
}

func TestParseIDs(t *testing.T) {
	g := "00112233445566778899aabbccddeeff"
	if _, err := parseGroupID(g); err != nil {
		t.Fatal(err)
	}
	if _, err := parseMemberID(g); err != nil {
		t.Fatal(err)
	}
	if _, err := parseMessageID(g); err != nil {
		t.Fatal(err)
	}
	if _, err := parseInviteID(g[:16]); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"", g[:31], g + "0", strings.ToUpper(g), g[:30] + "zz", g[:30] + "%2", "../" + g[3:], g[:31] + "\n"} {
		if _, err := parseGroupID(s); codeOf(err) != CodeBadID {
			t.Errorf("group %q: %v", s, err)
		}
	}
	if _, err := parseInviteID(g); codeOf(err) != CodeBadID {
		t.Errorf("a 32-digit invite ID was accepted: %v", err)
	}
}

func TestCheckNames(t *testing.T) {
	if p, err := checkPseudonym("  ann  "); err != nil || p != "ann" {
		t.Errorf("trimmed pseudonym: %q, %v", p, err)
	}
	for _, s := range []string{"", "   ", "a\x00b", "a\nb", "evil\u202eeman", strings.Repeat("x", 65)} {
		if _, err := checkPseudonym(s); codeOf(err) != CodeBadPseudonym {
			t.Errorf("pseudonym %q: %v", s, err)
		}
	}
	if _, err := checkGroupName(strings.Repeat("x", 100)); err != nil {
		t.Errorf("100-character name: %v", err)
	}
	for _, s := range []string{"", strings.Repeat("x", 101), "tab\there", "\u2066x"} {
		if _, err := checkGroupName(s); codeOf(err) != CodeBadGroupName {
			t.Errorf("group name %q: %v", s, err)
		}
	}
}

func TestCheckPostText(t *testing.T) {
	for _, s := range []string{"hi", "line one\nline two\r\n\tindented", "مرحبا \u2067x\u2069", strings.Repeat("x", 16384)} {
		if err := checkPostText(s); err != nil {
			t.Errorf("%.20q: %v", s, err)
		}
	}
	for _, s := range []string{"", " \n\t ", strings.Repeat("x", 16385), "bell\a", "esc\x1b[2J", "del\x7f", "c1\u0085", "\xff"} {
		if err := checkPostText(s); codeOf(err) != CodeBadText {
			t.Errorf("%.20q: %v, want bad_text", s, err)
		}
	}
}

func TestQueryAndLimit(t *testing.T) {
	q, _ := url.ParseQuery("limit=5&before=x")
	if err := checkQuery(q, "limit", "before"); err != nil {
		t.Error(err)
	}
	for _, raw := range []string{"limit=5&limit=6", "page=2", "LIMIT=5"} {
		q, _ := url.ParseQuery(raw)
		if err := checkQuery(q, "limit", "before"); codeOf(err) != CodeBadRequest {
			t.Errorf("%q: %v", raw, err)
		}
	}
	for s, want := range map[string]int{"": 50, "1": 1, "500": 500, "42": 42} {
		if n, err := parseLimit(s); err != nil || n != want {
			t.Errorf("limit %q: %d, %v", s, n, err)
		}
	}
	for _, s := range []string{"0", "501", "-1", "+5", "05", "1e2", "abc", " 5", "5000"} {
		if _, err := parseLimit(s); codeOf(err) != CodeBadRequest {
			t.Errorf("limit %q: %v", s, err)
		}
	}
}

// FuzzParseDuration: the parser never panics, refuses only with
// bad_duration, never returns a duration outside (0, max], and what it
// returns is written by formatDuration in a form that parses back to the
// same value.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30d", "12h", "90m", "0h", "-1d", "999999d", "1h30m", "", "forever", "9223372036854775807m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDuration("expiry", s, maxRetention)
		if err != nil {
			if codeOf(err) != CodeBadDuration {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if d <= 0 || d > maxRetention {
			t.Fatalf("%q gave %v", s, d)
		}
		n, err := parseDuration("expiry", formatDuration(d), maxRetention)
		if err != nil || n != d {
			t.Fatalf("%q -> %v -> %q -> %v, %v", s, d, formatDuration(d), n, err)
		}
	})
}
