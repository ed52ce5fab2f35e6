package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hearthnet/hearth/node"
)

// TestMentorshipOutsidersField: a mentorship that ended because someone
// else was added to the pair's group says so in the API (outsiders:
// true), which the web UI and 'hearth mentor ls' turn into a warning;
// any other mentorship leaves the field out.
func TestMentorshipOutsidersField(t *testing.T) {
	for _, outsiders := range []bool{false, true} {
		b, err := json.Marshal(mentorshipOf(node.Mentorship{State: node.MentorshipEnded, Outsiders: outsiders}))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(b), `"outsiders":true`); got != outsiders {
			t.Errorf("Outsiders %v: %s", outsiders, b)
		}
		if !outsiders && strings.Contains(string(b), "outsiders") {
			t.Errorf("a mentorship without outsiders names the field: %s", b)
		}
	}
}
