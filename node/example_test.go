package node_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/node"
)

// startExampleNode makes a home in dir and starts a node on loopback;
// configure, if given, adjusts the Config first. The returned function
// stops it.
func startExampleNode(ctx context.Context, dir string, configure ...func(*node.Config)) (*node.Node, func()) {
	pass := []byte("correct horse battery staple")
	// Cheap Argon2id for the example; use crypto.DefaultKDFParams() in an app.
	if err := node.InitHome(dir, pass, crypto.KDFParams{Time: 1, MemoryKiB: 8, Threads: 1}, nil); err != nil {
		log.Fatal(err)
	}
	ks, err := node.UnlockHome(dir, pass)
	if err != nil {
		log.Fatal(err)
	}
	cfg := node.Config{DataDir: dir, Keystore: ks, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}}
	for _, c := range configure {
		c(&cfg)
	}
	n, err := node.New(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	return n, func() { n.Close(); ks.Close() }
}

// Example creates a group, invites a second member, and has them talk.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tmp, err := os.MkdirTemp("", "hearth-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	host, stopHost := startExampleNode(ctx, filepath.Join(tmp, "host"))
	defer stopHost()
	guest, stopGuest := startExampleNode(ctx, filepath.Join(tmp, "guest"))
	defer stopGuest()
	events := guest.Subscribe()
	defer events.Close()

	// The host creates a group and an invite (a one-use invite that lets
	// the guest in at once; Approval would put them in a waiting room).
	g, err := host.CreateGroup(ctx, node.GroupOptions{Name: "Tuesday circle", Pseudonym: "Ann"})
	if err != nil {
		log.Fatal(err)
	}
	invite, _, err := g.CreateInvite(ctx, node.InviteOptions{Expires: time.Hour})
	if err != nil {
		log.Fatal(err)
	}

	// The guest joins with the invite string it was given.
	res, err := guest.Join(ctx, invite, "Bo")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("join:", res.Status, "members:", res.Group.Info().Members)

	// The host posts; the guest's event stream delivers it.
	if _, err := g.Post(ctx, "Welcome, Bo.", node.MessageID{}); err != nil {
		log.Fatal(err)
	}
	for e := range events.Events() {
		if e.Kind == node.EventMessage {
			fmt.Printf("%s: %s\n", e.Message.Pseudonym, e.Message.Text)
			break
		}
	}
	// Output:
	// join: joined members: 2
	// Ann: Welcome, Bo.
}

// ExampleGroup_History pages through a group's history, newest page first.
func ExampleGroup_History() {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "hearth-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	n, stop := startExampleNode(ctx, filepath.Join(tmp, "home"))
	defer stop()

	g, err := n.CreateGroup(ctx, node.GroupOptions{Name: "Journal club", Pseudonym: "Ann"})
	if err != nil {
		log.Fatal(err)
	}
	for _, text := range []string{"one", "two", "three"} {
		if _, err := g.Post(ctx, text, node.MessageID{}); err != nil {
			log.Fatal(err)
		}
	}
	page, err := g.History(node.MessageID{}, 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(page[0].Text, page[1].Text)
	older, err := g.History(page[0].ID, 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(older), older[0].Text)
	// Output:
	// two three
	// 1 one
}
