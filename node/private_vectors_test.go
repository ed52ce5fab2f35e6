package node

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// privateVectors are the exact stored bytes of each private record kind,
// pinned in testdata/private-records.json: a change to the layout of data
// already on members' disks shows up here. HEARTH_UPDATE_VECTORS=1
// regenerates the file.
func privateVectors(t *testing.T) map[string]string {
	t.Helper()
	at := time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC)
	var id PrivateID
	for i := range id {
		id[i] = byte(i)
	}
	items := map[string]any{
		"journal":   JournalEntry{ID: id, Kind: JournalReview, Created: at, Updated: at.Add(time.Hour), Text: "A good day.\nMostly.", Tags: []string{"calm", "walk"}},
		"check-in":  CheckIn{ID: id, At: at, Mood: 4, Craving: 2, SleepHours: 7.5, Triggers: []string{"payday"}, Note: "ok"},
		"habit":     Habit{ID: id, Name: "alcohol-free", Start: at, Slips: []Slip{{At: at.AddDate(0, 0, 10), Note: "party"}}},
		"wellbeing": Wellbeing{QuietStart: "22:00", QuietEnd: "07:00", Digest: true, DailyNoticeMinutes: 45, MorningReminder: "08:00", EveningReminder: "21:30"},
	}
	out := map[string]string{}
	for k, v := range items {
		var b []byte
		var err error
		switch x := v.(type) {
		case JournalEntry:
			b, err = encodePrivate(x)
		case CheckIn:
			b, err = encodePrivate(x)
		case Habit:
			b, err = encodePrivate(x)
		case Wellbeing:
			b, err = encodePrivate(x)
		}
		if err != nil {
			t.Fatal(err)
		}
		out[k] = string(b)
	}
	return out
}

func TestPrivateRecordVectors(t *testing.T) {
	got := privateVectors(t)
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", "private-records.json")
	if os.Getenv("HEARTH_UPDATE_VECTORS") == "1" {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("private record layout changed:\n%s\nwant\n%s", b, want)
	}
	// And each pinned record decodes back.
	var pinned map[string]string
	if err := json.Unmarshal(want, &pinned); err != nil {
		t.Fatal(err)
	}
	if c, err := decodePrivate[CheckIn]([]byte(pinned["check-in"])); err != nil || c.Mood != 4 || c.SleepHours != 7.5 {
		t.Fatalf("pinned check-in: %v %+v", err, c)
	}
	if h, err := decodePrivate[Habit]([]byte(pinned["habit"])); err != nil || len(h.Slips) != 1 {
		t.Fatalf("pinned habit: %v %+v", err, h)
	}
}
