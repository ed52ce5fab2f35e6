package node_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/hearthnet/hearth/node"
	"github.com/hearthnet/hearth/protocol"
)

// ExampleGroup_ScheduleMeeting schedules a weekly meeting that keeps its
// local hour when the clocks change, lists its next sittings, and runs its
// live room.
func ExampleGroup_ScheduleMeeting() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tmp, err := os.MkdirTemp("", "hearth-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	host, stop := startExampleNode(ctx, filepath.Join(tmp, "host"))
	defer stop()
	g, err := host.CreateGroup(ctx, node.GroupOptions{Name: "Evening circle", Pseudonym: "Ann"})
	if err != nil {
		log.Fatal(err)
	}

	// Mondays and Thursdays at 19:00 in London, from Monday 25 March 2030;
	// the clocks go forward on the 31st.
	london, _ := time.LoadLocation("Europe/London")
	first := time.Date(2030, 3, 25, 19, 0, 0, 0, london)
	m, err := g.ScheduleMeeting(ctx, node.MeetingInput{
		Title: "Evening share", Start: first, Zone: "Europe/London", Minutes: 60,
		Weekdays: []time.Weekday{time.Monday, time.Thursday}, Format: protocol.FormatSpeaker,
	})
	if err != nil {
		log.Fatal(err)
	}
	next, err := g.UpcomingMeetings(first.Add(-time.Hour), 3)
	if err != nil {
		log.Fatal(err)
	}
	for _, o := range next {
		fmt.Printf("%s (%s UTC)\n", o.Start.In(london).Format("Mon 2 Jan 15:04 MST"), o.Start.UTC().Format("15:04"))
	}

	// The host opens the room and checks in, anonymous in the count.
	room, err := g.OpenRoom(ctx, m.ID)
	if err != nil {
		log.Fatal(err)
	}
	room, err = g.CheckIn(ctx, room.ID, true)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d present, %d named, chaired by %s\n", room.Present, len(room.Attendees), room.ChairName)
	// Output:
	// Mon 25 Mar 19:00 GMT (19:00 UTC)
	// Thu 28 Mar 19:00 GMT (19:00 UTC)
	// Mon 1 Apr 19:00 BST (18:00 UTC)
	// 1 present, 0 named, chaired by Ann
}
