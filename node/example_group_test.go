package node_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/hearthnet/hearth/node"
	"github.com/hearthnet/hearth/protocol"
)

// exampleCircle starts one node per name in its own home under dir. The
// first creates a group, "Tuesday circle", under names[0]; every other
// joins it with one invite, under its own name. It returns each member's
// node and group, in the order of names, and a function that stops them
// all.
func exampleCircle(ctx context.Context, dir string, names ...string) ([]*node.Node, []*node.Group, func()) {
	var nodes []*node.Node
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	for _, name := range names {
		n, s := startExampleNode(ctx, filepath.Join(dir, name))
		nodes, stops = append(nodes, n), append(stops, s)
	}
	g, err := nodes[0].CreateGroup(ctx, node.GroupOptions{Name: "Tuesday circle", Pseudonym: names[0]})
	if err != nil {
		log.Fatal(err)
	}
	groups := []*node.Group{g}
	if len(names) == 1 {
		return nodes, groups, stop
	}
	invite, _, err := g.CreateInvite(ctx, node.InviteOptions{Uses: len(names) - 1})
	if err != nil {
		log.Fatal(err)
	}
	for i, n := range nodes[1:] {
		res, err := n.Join(ctx, invite, names[i+1])
		if err != nil {
			log.Fatal(err)
		}
		groups = append(groups, res.Group)
	}
	return nodes, groups, stop
}

// exampleDir makes a temporary directory for an example's homes; remove
// it when done.
func exampleDir() string {
	dir, err := os.MkdirTemp("", "hearth-example")
	if err != nil {
		log.Fatal(err)
	}
	return dir
}

// waitFor reads sub until an event of kind arrives, and returns it.
func waitFor(sub *node.Subscription, kind node.EventKind) node.Event {
	for ev := range sub.Events() {
		if ev.Kind == kind {
			return ev
		}
	}
	log.Fatalf("the node closed before a %v event", kind)
	return node.Event{}
}

// ExampleGroup_CreateInvite makes invites with options, lists them and
// revokes one; a join with the revoked invite is refused with
// ErrInviteRevoked.
func ExampleGroup_CreateInvite() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := exampleDir()
	defer os.RemoveAll(dir)
	_, groups, stop := exampleCircle(ctx, dir, "Ann")
	defer stop()
	g := groups[0]

	// An invite for one person, good for an hour; and one for up to ten,
	// good for a week, whose joiners wait for a host's approval.
	oneOff, _, err := g.CreateInvite(ctx, node.InviteOptions{Expires: time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	_, open, err := g.CreateInvite(ctx, node.InviteOptions{Expires: 7 * 24 * time.Hour, Uses: 10, Approval: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("the invite string starts with", oneOff[:len("hearth:")])

	list := func() {
		invites, err := g.Invites() // by expiry, soonest first
		if err != nil {
			log.Fatal(err)
		}
		for _, inv := range invites {
			fmt.Printf("uses left %d, approval %v, revoked %v\n", inv.UsesLeft, inv.Approval, inv.Revoked)
		}
	}
	list()

	// The hour-long invite is revoked: its string no longer lets anyone in.
	invites, err := g.Invites()
	if err != nil {
		log.Fatal(err)
	}
	if err := g.RevokeInvite(invites[0].ID); err != nil {
		log.Fatal(err)
	}
	list()
	fmt.Println("the week-long invite is still", open.ID == invites[1].ID)

	guest, stopGuest := startExampleNode(ctx, filepath.Join(dir, "guest"))
	defer stopGuest()
	_, err = guest.Join(ctx, oneOff, "Bo")
	fmt.Println("joining with the revoked invite:", errors.Is(err, node.ErrInviteRevoked))
	fmt.Println("members:", g.Info().Members)
	// Output:
	// the invite string starts with hearth:
	// uses left 1, approval false, revoked false
	// uses left 10, approval true, revoked false
	// uses left 1, approval false, revoked true
	// uses left 10, approval true, revoked false
	// the week-long invite is still true
	// joining with the revoked invite: true
	// members: 1
}

// ExampleGroup_Admit shows the waiting room: with an invite that needs
// approval, Join answers JoinWaiting and the host's node emits
// EventJoinRequest; the host admits one joiner (EventJoined on their node)
// and denies another (EventJoinDenied).
func ExampleGroup_Admit() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := exampleDir()
	defer os.RemoveAll(dir)
	nodes, groups, stop := exampleCircle(ctx, dir, "Ann")
	defer stop()
	host, g := nodes[0], groups[0]
	bo, stopBo := startExampleNode(ctx, filepath.Join(dir, "bo"))
	defer stopBo()
	cy, stopCy := startExampleNode(ctx, filepath.Join(dir, "cy"))
	defer stopCy()

	hostEvents, boEvents, cyEvents := host.Subscribe(), bo.Subscribe(), cy.Subscribe()
	defer hostEvents.Close()
	defer boEvents.Close()
	defer cyEvents.Close()

	invite, _, err := g.CreateInvite(ctx, node.InviteOptions{Uses: 2, Approval: true})
	if err != nil {
		log.Fatal(err)
	}
	for _, j := range []struct {
		n    *node.Node
		name string
	}{{bo, "Bo"}, {cy, "Cy"}} {
		res, err := j.n.Join(ctx, invite, j.name)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(j.name, res.Status)
		fmt.Println("the host is told:", waitFor(hostEvents, node.EventJoinRequest).Request.Pseudonym, "is waiting")
	}

	// The waiting room, oldest first.
	waiting := g.WaitingRoom()
	for _, r := range waiting {
		fmt.Println("waiting:", r.Pseudonym)
	}
	if err := g.Admit(ctx, waiting[0].Member); err != nil {
		log.Fatal(err)
	}
	if err := g.Deny(ctx, waiting[1].Member); err != nil {
		log.Fatal(err)
	}

	joined := waitFor(boEvents, node.EventJoined)
	boGroup, err := bo.Group(joined.Group)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Bo is in", boGroup.Info().Name, "with", boGroup.Info().Members, "members")
	waitFor(cyEvents, node.EventJoinDenied)
	fmt.Println("Cy was declined; groups on Cy's node:", len(cy.Groups()))
	fmt.Println("still waiting:", len(g.WaitingRoom()))
	// Output:
	// Bo waiting
	// the host is told: Bo is waiting
	// Cy waiting
	// the host is told: Cy is waiting
	// waiting: Bo
	// waiting: Cy
	// Bo is in Tuesday circle with 2 members
	// Cy was declined; groups on Cy's node: 0
	// still waiting: 0
}

// ExampleGroup_Post_reply starts a thread: a post, and a reply that names
// it. Every member's node shows the reply with ReplyTo set, so an
// interface can draw the thread.
func ExampleGroup_Post_reply() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := exampleDir()
	defer os.RemoveAll(dir)
	nodes, groups, stop := exampleCircle(ctx, dir, "Ann", "Bo")
	defer stop()
	annEvents, boEvents := nodes[0].Subscribe(), nodes[1].Subscribe()
	defer annEvents.Close()
	defer boEvents.Close()

	// Ann's node emits EventMessage for her own post too.
	question, err := groups[0].Post(ctx, "Has anyone tried a morning walk?", node.MessageID{})
	if err != nil {
		log.Fatal(err)
	}
	waitFor(annEvents, node.EventMessage)

	// Bo answers once the question has reached his node.
	got := waitFor(boEvents, node.EventMessage).Message
	if _, err := groups[1].Post(ctx, "Every day this week. It helps.", got.ID); err != nil {
		log.Fatal(err)
	}
	reply := waitFor(annEvents, node.EventMessage).Message
	fmt.Printf("%s replied to %q: %s\n", reply.Pseudonym, question.Text, reply.Text)
	fmt.Println("in the thread:", reply.ReplyTo == question.ID)
	// Output:
	// Bo replied to "Has anyone tried a morning walk?": Every day this week. It helps.
	// in the thread: true
}

// ExampleGroup_Promote lists the members and makes one a moderator, who
// may then admit, remove and moderate; only a host changes roles. The
// member's node emits EventRoleChanged.
func ExampleGroup_Promote() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := exampleDir()
	defer os.RemoveAll(dir)
	nodes, groups, stop := exampleCircle(ctx, dir, "Ann", "Bo")
	defer stop()
	g := groups[0]
	boEvents := nodes[1].Subscribe()
	defer boEvents.Close()

	members := g.Members() // in the order they were added
	for _, m := range members {
		fmt.Println(m.Pseudonym, m.Role)
	}
	if err := g.Promote(ctx, members[1].ID, protocol.RoleModerator); err != nil {
		log.Fatal(err)
	}
	ev := waitFor(boEvents, node.EventRoleChanged)
	fmt.Println("Bo's node:", ev.Member.Pseudonym, "is now", ev.Member.Role)
	fmt.Println("Bo's role as Bo's node sees it:", groups[1].Info().Role)
	// Output:
	// Ann host
	// Bo member
	// Bo's node: Bo is now moderator
	// Bo's role as Bo's node sees it: moderator
}

// ExampleGroup_Remove removes a member: the group moves to a new epoch
// whose secrets only the others receive, on a new topic. The removed
// member's node emits EventRemoved and keeps the history it had.
func ExampleGroup_Remove() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := exampleDir()
	defer os.RemoveAll(dir)
	nodes, groups, stop := exampleCircle(ctx, dir, "Ann", "Bo")
	defer stop()
	g := groups[0]
	boEvents := nodes[1].Subscribe()
	defer boEvents.Close()
	if _, err := g.Post(ctx, "Bo, please read the guidelines again.", node.MessageID{}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("Bo's node:", waitFor(boEvents, node.EventMessage).Message.Text)

	if err := g.Remove(ctx, g.Members()[1].ID); err != nil {
		log.Fatal(err)
	}
	fmt.Println("Ann's group has", g.Info().Members, "member, at epoch", g.Info().Epoch)
	waitFor(boEvents, node.EventRemoved)
	_, err := groups[1].Post(ctx, "hello?", node.MessageID{})
	fmt.Println("Bo removed:", groups[1].Info().Removed, "and can post:", !errors.Is(err, node.ErrRemoved))
	// Output:
	// Bo's node: Bo, please read the guidelines again.
	// Ann's group has 1 member, at epoch 2
	// Bo removed: true and can post: false
}

// ExampleGroup_Leave has a member say goodbye and leave: their node emits
// EventRemoved at once, and the host's node, applying the request, emits
// EventMemberLeft.
func ExampleGroup_Leave() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := exampleDir()
	defer os.RemoveAll(dir)
	nodes, groups, stop := exampleCircle(ctx, dir, "Ann", "Bo")
	defer stop()
	annEvents := nodes[0].Subscribe()
	defer annEvents.Close()

	if _, err := groups[1].Post(ctx, "Thank you all. I am moving on.", node.MessageID{}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(waitFor(annEvents, node.EventMessage).Message.Text)
	if err := groups[1].Leave(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("Bo's node: removed", groups[1].Info().Removed)
	left := waitFor(annEvents, node.EventMemberLeft)
	fmt.Println("Ann's node:", left.Member.Pseudonym, "left;", groups[0].Info().Members, "member remains")
	// Output:
	// Thank you all. I am moving on.
	// Bo's node: removed true
	// Ann's node: Bo left; 1 member remains
}

// ExampleSubscription consumes the node's events on a goroutine of its
// own, switching on the kind. Every subscription gets every event; the
// node never waits for a consumer (see ExampleSubscription_Dropped).
func ExampleSubscription() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := exampleDir()
	defer os.RemoveAll(dir)
	nodes, groups, stop := exampleCircle(ctx, dir, "Ann")
	defer stop()

	sub := nodes[0].Subscribe()
	defer sub.Close() // closes the channel, which ends the loop below
	done := make(chan struct{})
	go func() {
		defer close(done)
		seen := 0
		for ev := range sub.Events() {
			switch ev.Kind {
			case node.EventMessage:
				fmt.Printf("%s: %s\n", ev.Message.Pseudonym, ev.Message.Text)
				seen++
			case node.EventMemberJoined, node.EventMemberLeft, node.EventMemberRemoved:
				fmt.Println(ev.Kind, ev.Member.Pseudonym)
			case node.EventJoinRequest:
				fmt.Println(ev.Request.Pseudonym, "is in the waiting room")
			}
			if seen == 2 {
				return
			}
		}
	}()
	for _, text := range []string{"Meeting moved to 7pm.", "Same room as usual."} {
		if _, err := groups[0].Post(ctx, text, node.MessageID{}); err != nil {
			log.Fatal(err)
		}
	}
	<-done
	// Output:
	// Ann: Meeting moved to 7pm.
	// Ann: Same room as usual.
}

// ExampleSubscription_Dropped: a consumer that does not keep up loses the
// oldest events, never the node's progress; Dropped counts them, and
// history can always be read again from the group. Config.EventBuffer
// sets how many events a subscription holds (256 by default; 2 here).
func ExampleSubscription_Dropped() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := exampleDir()
	defer os.RemoveAll(dir)
	n, stop := startExampleNode(ctx, dir, func(c *node.Config) { c.EventBuffer = 2 })
	defer stop()
	g, err := n.CreateGroup(ctx, node.GroupOptions{Name: "Journal club", Pseudonym: "Ann"})
	if err != nil {
		log.Fatal(err)
	}

	sub := n.Subscribe()
	defer sub.Close()
	for _, text := range []string{"one", "two", "three", "four", "five"} {
		if _, err := g.Post(ctx, text, node.MessageID{}); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("dropped:", sub.Dropped())
	fmt.Println((<-sub.Events()).Message.Text, (<-sub.Events()).Message.Text)
	page, err := g.History(node.MessageID{}, 5)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("history still holds", len(page))
	// Output:
	// dropped: 3
	// four five
	// history still holds 5
}
