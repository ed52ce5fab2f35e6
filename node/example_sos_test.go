package node_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/node"
)

// ExampleNode_SendSOS shows the crisis resources first, then asks the
// member's group for help; every member's node emits EventSOS, and the
// answers ("I'm here") arrive as EventSOSReply.
func ExampleNode_SendSOS() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "hearth-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	n, stop := startExampleNode(ctx, dir)
	defer stop()
	g, err := n.CreateGroup(ctx, node.GroupOptions{Name: "Evening circle", Pseudonym: "ann"})
	if err != nil {
		log.Fatal(err)
	}

	// Crisis lines before anything else: peers are not a crisis service.
	_, lines := n.CrisisResources("US")
	fmt.Println(lines[0].Name)

	sub := n.Subscribe()
	defer sub.Close()
	sent, err := n.SendSOS(ctx, node.SOSInput{Groups: []crypto.GroupID{g.ID()}, Text: "I want to drink tonight"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sent[0].SOS.Mine)
	for ev := range sub.Events() {
		if ev.Kind == node.EventSOS {
			fmt.Println(ev.SOS.Pseudonym, "needs help now")
			break
		}
	}
	// Output:
	// 988 Suicide & Crisis Lifeline
	// true
	// ann needs help now
}
