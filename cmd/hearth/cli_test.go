package main

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hearthnet/hearth/api/client"
)

// TestCleanDefusesTerminalControl: another member's text printed by the
// command line can neither drive the terminal (escape sequences, carriage
// returns) nor disguise itself (bidirectional overrides), while ordinary
// text in any script, and a message's own line breaks, print as written.
func TestCleanDefusesTerminalControl(t *testing.T) {
	for _, tc := range []struct {
		in, want  string
		multiline bool
	}{
		{"Bo Ørsted 🌱", "Bo Ørsted 🌱", false},
		{"\x1b]0;pwned\x07ann", `\u001b]0;pwned\u0007ann`, false},
		{"evil\u202enaive", `evil\u202enaive`, false},
		{"a\rb", `a\u000db`, true},
		{"line one\nline two\tend", "line one\n    line two\tend", true},
		{"line one\nline two", `line one\u000aline two`, false},
		{"bad \xff byte", "bad \ufffd byte", false},
		{"sep\u2028x\u2066y", `sep\u2028x\u2066y`, true},
	} {
		if got := clean(tc.in, tc.multiline, "    "); got != tc.want {
			t.Errorf("clean(%q, %v) = %q, want %q", tc.in, tc.multiline, got, tc.want)
		}
	}
}

// TestParseCLIArgsFlagsAnywhere: flags may follow the arguments, "--" lets
// a text that starts with "-" be posted, "-" stays an argument (standard
// input), and argument counts are usage errors naming what is missing.
func TestParseCLIArgsFlagsAnywhere(t *testing.T) {
	post, _ := findCLICommand("post")
	o, pos, err := parseCLIArgs(post, []string{"circle", "--reply-to", "abc", "hello", "--json"})
	if err != nil || !slices.Equal(pos, []string{"circle", "hello"}) || o.replyTo != "abc" || !o.json {
		t.Fatalf("interspersed flags: %+v %q %v", o, pos, err)
	}
	o, pos, err = parseCLIArgs(post, []string{"--json", "circle", "--", "-30 days"})
	if err != nil || !slices.Equal(pos, []string{"circle", "-30 days"}) || !o.json {
		t.Fatalf("after --: %+v %q %v", o, pos, err)
	}
	if _, pos, err = parseCLIArgs(post, []string{"circle", "-"}); err != nil || !slices.Equal(pos, []string{"circle", "-"}) {
		t.Fatalf("stdin argument: %q %v", pos, err)
	}
	_, _, err = parseCLIArgs(post, []string{"circle"})
	wantUsage(t, err)
	if err.Error() != "missing TEXT; usage: hearth post GROUP TEXT" {
		t.Errorf("missing argument: %q", err)
	}
	_, _, err = parseCLIArgs(post, []string{"circle", "hi", "there"})
	wantUsage(t, err)
	_, _, err = parseCLIArgs(post, []string{"circle", "hi", "--limit", "3"})
	wantUsage(t, err)
	if _, _, err = parseCLIArgs(post, []string{"-h"}); !errors.Is(err, errHelp) {
		t.Errorf("-h: %v, want errHelp", err)
	}
}

// TestInviteIDOf: revoke takes an invite's ID or the invite itself, whose
// ID it works out locally; a mistyped invite is named as one.
func TestInviteIDOf(t *testing.T) {
	const expired = "hearth:ahayyt7xuaskrkxklecw4l7pxry5s6axr2vjk6zrh3zfv2x3q2aqqaaaaaaf73tgaaaacjqaeqeacerad4ho5bt4g5asu72itiwntdv6lqnrxihmbmriflw3xlk4z2lsgcjaccaep4aaaaigaae233ho44"
	if id, err := inviteIDOf("0123456789abcdef"); err != nil || id != "0123456789abcdef" {
		t.Errorf("an ID: %q %v", id, err)
	}
	id, err := inviteIDOf("  " + expired + "\n")
	if err != nil || !isHexID(id, inviteIDLen) {
		t.Errorf("an invite: %q %v", id, err)
	}
	var ce *cliError
	mistyped := expired[:60] + "b" + expired[61:]
	if expired[60] == 'b' {
		mistyped = expired[:60] + "c" + expired[61:]
	}
	if _, err := inviteIDOf(mistyped); !errors.As(err, &ce) || ce.code != "invite_mistyped" {
		t.Errorf("a mistyped invite: %v", err)
	}
	if _, err := inviteIDOf("0123"); !errors.As(err, &ce) || ce.code != codeBadID {
		t.Errorf("a short ID: %v", err)
	}
}

// TestJoinOutputJSON: with --json, join prints the API's answer, and the
// group's guidelines beside it only when there are some.
func TestJoinOutputJSON(t *testing.T) {
	var b bytes.Buffer
	writeJSON(&b, joinOutput{JoinResult: client.JoinResult{Group: "g", Status: "joined"}})
	if got := b.String(); got != `{"group":"g","status":"joined"}`+"\n" {
		t.Errorf("without guidelines: %s", got)
	}
	b.Reset()
	writeJSON(&b, joinOutput{JoinResult: client.JoinResult{Group: "g", Status: "joined"},
		Guidelines: &client.Guidelines{Version: 1, Text: "Be kind.", Pseudonym: "ann"}})
	if got := b.String(); !strings.HasPrefix(got, `{"group":"g","status":"joined","guidelines":{"version":1,"text":"Be kind.",`) || !strings.Contains(got, `"current":false}}`) {
		t.Errorf("with guidelines: %s", got)
	}
}
