package node

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// TestPrivateDataNeverLeaves: two nodes in a group; the writer records a
// week of check-ins and journal entries, a habit and a slip, each with a
// unique marker, posts one ordinary message a day, and shares one
// check-in. A plain gossipsub peer in the writer's mesh records every
// envelope published on the group's topic; with every envelope either node
// stored meanwhile, that is everything that crossed. Each one opens with
// the reader's keys for the group (a copy of its session taken before the
// week began), and the application payloads are exactly the week's
// ordinary posts, the shared check-in and a last post: no other content,
// and no marker in any payload of any type but the shared one. The reader
// holds exactly those posts, no private record, and no marker in its
// files; nor do the writer's own files hold any marker (no plaintext index
// or log on disk).
func TestPrivateDataNeverLeaves(t *testing.T) {
	writer := &e2eMember{e2eNode: newE2ENode(t, "writer"), pseudonym: "writer"}
	reader := &e2eMember{e2eNode: newE2ENode(t, "reader"), pseudonym: "reader"}
	ear := newE2ESniffer(t)
	ear.connect(t, writer.e2eNode)
	ear.connect(t, reader.e2eNode)
	e2eMesh(t, writer.e2eNode, reader.e2eNode)
	gid := e2eGroupOf(t, writer, reader)
	ctx := e2eCtx(t)
	e2eWaitAll(t, gid, e2eAllPost(t, gid, "first ordinary post", writer), writer, reader)

	// The listener joins the group's topic and waits to be in the writer's
	// mesh, so that it receives everything the writer publishes from now on.
	topic := e2eTopic(t, writer.e2eNode, gid)
	transportWaitForBound(t, "the writer to announce the group's topic", e2eWait, &ear.sig, func() bool {
		return slices.Contains(ear.currentOf(writer.n.PeerID()), topic)
	})
	ear.subscribeAll(t)
	transportWaitForBound(t, "the listener in the writer's mesh", e2eWait, &ear.tracer.sig, func() bool {
		return ear.tracer.inMesh(topic, writer.n.PeerID())
	})
	// What both stores hold before the week, and the reader's keys as they
	// are now: they open whatever is sent from here on.
	storedBefore := make(map[[32]byte]bool)
	for _, e := range []*e2eNode{writer.e2eNode, reader.e2eNode} {
		for _, env := range storedEnvelopes(t, e, gid) {
			storedBefore[crypto.EnvelopeID(env)] = true
		}
	}
	keys := e2eSessionCopy(t, reader.e2eNode, gid)

	p := writer.n.Private()
	if err := p.SetWellbeing(Wellbeing{QuietStart: "22:00", QuietEnd: "06:00"}); err != nil {
		t.Fatal(err)
	}
	var markers, ordinary []string
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
		text := fmt.Sprintf("ordinary post of day %d", day)
		if _, err := writer.group(t, gid).Post(ctx, text, MessageID{}); err != nil {
			t.Fatal(err)
		}
		ordinary = append(ordinary, text)
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
	sharedMarkers := []string{"checkin-marker-3-1", "trig3x1"}

	shared, err := p.ShareCheckIn(ctx, gid, shareID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range sharedMarkers {
		if !strings.Contains(shared.Text, m) {
			t.Fatalf("shared text %q lacks %s", shared.Text, m)
		}
	}
	// A post after it, sent the ordinary way, so that once the reader
	// holds every post, it has had every chance to receive anything sent
	// before.
	if _, err := writer.group(t, gid).Post(ctx, "last ordinary post", MessageID{}); err != nil {
		t.Fatal(err)
	}
	want := append(append(slices.Clone(ordinary), shared.Text), "last ordinary post")
	for _, text := range want {
		reader.rec.waitText(t, gid, text)
	}
	ear.waitCaptured(t, topic, len(want))

	// Everything that crossed: what the listener captured, and every
	// envelope either node stored during the week.
	crossed := make(map[[32]byte][]byte)
	for _, r := range ear.captured() {
		if r.topic == topic {
			crossed[crypto.EnvelopeID(r.data)] = r.data
		}
	}
	for _, e := range []*e2eNode{writer.e2eNode, reader.e2eNode} {
		for _, env := range storedEnvelopes(t, e, gid) {
			if id := crypto.EnvelopeID(env); !storedBefore[id] {
				crossed[id] = env
			}
		}
	}
	var posts []string
	for _, env := range crossed {
		rec, err := keys.Open(env, time.Now().UnixMilli(), nil)
		if err != nil {
			t.Fatalf("an envelope crossed that the group's keys do not open: %v", err)
		}
		payload, err := protocol.MarshalContent(rec.Content)
		if err != nil {
			t.Fatal(err)
		}
		post, isPost := rec.Content.(protocol.Post)
		for _, m := range markers {
			if bytes.Contains(payload, []byte(m)) && !(isPost && post.Text == shared.Text && slices.Contains(sharedMarkers, m)) {
				t.Errorf("%s crossed the network in content of type %#x", m, rec.Content.Type())
			}
		}
		switch c := rec.Content.(type) {
		case protocol.Post:
			posts = append(posts, c.Text)
		case protocol.Addresses:
			// The node's own addresses, which it sends by itself.
		default:
			if !c.Type().Control() {
				t.Errorf("application content of type %#x crossed; the writer sent only posts", c.Type())
			}
		}
	}
	slices.Sort(posts)
	slices.Sort(want)
	if !slices.Equal(posts, want) {
		t.Fatalf("the posts that crossed:\n%q\nwant exactly:\n%q", posts, want)
	}

	// The reader's own view: exactly those posts, no private record.
	hist := e2eHistory(t, reader.group(t, gid))
	if len(hist) != len(want)+1 || !slices.ContainsFunc(hist, func(m Message) bool { return m.Text == shared.Text }) {
		t.Fatalf("the reader holds %d posts: %+v", len(hist), hist)
	}
	for _, m := range markers {
		if slices.Contains(sharedMarkers, m) {
			continue
		}
		for _, msg := range hist {
			if strings.Contains(msg.Text, m) {
				t.Fatalf("%s reached the other node in %q", m, msg.Text)
			}
		}
	}
	n := 0
	if err := reader.n.store.Scan(storage.KindLocal, zeroGroup, []byte("priv/"), func(_, _ []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("the reader's store holds %d private records", n)
	}
	// The writer still has everything.
	if all, err := p.CheckIns(); err != nil || len(all) != 21 {
		t.Fatalf("the writer lost check-ins: %v %d", err, len(all))
	}

	// No marker in any file of either home: the stores are encrypted, so
	// a marker here would be a plaintext index, log or copy. The writer's
	// home holds them all, the shared ones included, only sealed.
	reader.stop(t)
	writer.stop(t)
	for _, e := range []*e2eNode{reader.e2eNode, writer.e2eNode} {
		files := 0
		err := filepath.WalkDir(e.dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			for _, m := range markers {
				if bytes.Contains(data, []byte(m)) {
					t.Errorf("%s found in %s's %s", m, e.name, path)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if files == 0 {
			t.Fatalf("%s's home holds no file: the walk would show nothing", e.name)
		}
	}
}
