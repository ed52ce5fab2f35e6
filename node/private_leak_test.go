package node

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearthnet/hearth/storage"
)

// TestPrivateDataNeverLeaves: two nodes in a group; one records a week of
// check-ins and journal entries, each with a unique marker, and shares one
// check-in. The other node ends up holding exactly that one post: no other
// marker in anything it decrypted from the network, no private record in
// its store, and no marker anywhere in its files.
func TestPrivateDataNeverLeaves(t *testing.T) {
	a, b := newTestNode(t), newTestNode(t)
	connect(t, b, a)
	ga, gb := twoMembers(t, a, b)
	gid := ga.ID()
	waitEvent(t, a, "b joined", func(e Event) bool { return e.Kind == EventMemberJoined })
	if _, err := ga.Post(ctxT(t), "first ordinary post", MessageID{}); err != nil {
		t.Fatal(err)
	}
	waitMessage(t, b, gid, "first ordinary post")
	if err := a.Private().SetWellbeing(Wellbeing{QuietStart: "22:00", QuietEnd: "06:00"}); err != nil {
		t.Fatal(err)
	}

	p := a.Private()
	var markers []string
	var shareID PrivateID
	week := time.Now().AddDate(0, 0, -7)
	for day := range 7 {
		for slot := range 3 {
			at := week.AddDate(0, 0, day).Add(time.Duration(slot*5) * time.Hour)
			m := fmt.Sprintf("checkin-marker-%d-%d", day, slot)
			c, err := p.AddCheckIn(CheckInInput{At: at, Mood: 1 + (day+slot)%5, Craving: (day * slot) % 11, SleepHours: 6, Triggers: []string{fmt.Sprintf("trig%dx%d", day, slot)}, Note: m})
			if err != nil {
				t.Fatal(err)
			}
			markers = append(markers, m, c.Triggers[0])
			if day == 3 && slot == 1 {
				shareID = c.ID
			}
		}
		m := fmt.Sprintf("journal-marker-%d", day)
		if _, err := p.AddJournal(JournalNote, m, []string{fmt.Sprintf("jtag%d", day)}); err != nil {
			t.Fatal(err)
		}
		markers = append(markers, m, fmt.Sprintf("jtag%d", day))
	}
	h, err := p.AddHabit("habit-marker", week)
	if err != nil {
		t.Fatal(err)
	}
	markers = append(markers, "habit-marker")
	if _, err := p.RecordSlip(h.ID, week.AddDate(0, 0, 2), "slip-marker"); err != nil {
		t.Fatal(err)
	}
	markers = append(markers, "slip-marker")

	shared, err := p.ShareCheckIn(ctxT(t), gid, shareID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(shared.Text, "checkin-marker-3-1") || !strings.Contains(shared.Text, "trig3x1") {
		t.Fatalf("shared text %q lacks the check-in", shared.Text)
	}
	waitMessage(t, b, gid, shared.Text)
	// A post after it, sent the ordinary way, so that once b holds it b
	// has had every chance to receive anything a sent before.
	if _, err := ga.Post(ctxT(t), "last ordinary post", MessageID{}); err != nil {
		t.Fatal(err)
	}
	waitMessage(t, b, gid, "last ordinary post")

	hist, err := gb.History(MessageID{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 || hist[1].Text != shared.Text {
		t.Fatalf("b holds %d posts: %+v", len(hist), hist)
	}
	for _, m := range markers {
		if m == "checkin-marker-3-1" || m == "trig3x1" {
			continue
		}
		for _, msg := range hist {
			if strings.Contains(msg.Text, m) {
				t.Fatalf("%s reached the other node in %q", m, msg.Text)
			}
		}
	}
	// No private record at all on b.
	n := 0
	if err := b.store.Scan(storage.KindLocal, zeroGroup, []byte("priv/"), func(_, _ []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("b's store holds %d private records", n)
	}
	// And no marker in any of b's files (a plaintext index or log would
	// show here; the store itself is encrypted).
	b.stop()
	err = filepath.WalkDir(b.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range markers {
			if bytes.Contains(data, []byte(m)) {
				t.Errorf("%s found in %s", m, path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The sender still has everything.
	all, err := p.CheckIns()
	if err != nil || len(all) != 21 {
		t.Fatalf("a lost check-ins: %v %d", err, len(all))
	}
}
