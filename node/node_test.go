package node

import (
	"testing"
)

func TestPostBetweenTwoNodes(t *testing.T) {
	ann, bo := newTestNode(t), newTestNode(t)
	ga, gb := twoMembers(t, ann, bo)
	if got := gb.Info(); got.Name != "Tuesday circle" || got.Members != 2 || got.Epoch != 1 || got.Me.Pseudonym != "bo" {
		t.Fatalf("joiner's info %+v", got)
	}
	waitEvent(t, ann, "bo joined", func(e Event) bool { return e.Kind == EventMemberJoined && e.Member.Pseudonym == "bo" })

	sent, err := ga.Post(ctxT(t), "hello from ann", MessageID{})
	if err != nil {
		t.Fatal(err)
	}
	got := waitMessage(t, bo, ga.ID(), "hello from ann")
	if got.ID != sent.ID || got.Pseudonym != "ann" || got.Author != ga.Info().Me.ID {
		t.Fatalf("bo received %+v, ann sent %+v", got, sent)
	}
	reply, err := gb.Post(ctxT(t), "hi ann", sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	r := waitMessage(t, ann, ga.ID(), "hi ann")
	if r.ReplyTo != sent.ID || r.ID != reply.ID || r.Pseudonym != "bo" {
		t.Fatalf("ann received %+v", r)
	}
	// Each side's history holds both posts once, oldest first.
	for _, g := range []*Group{ga, gb} {
		h, err := g.History(MessageID{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 2 || h[0].Text != "hello from ann" || h[1].Text != "hi ann" {
			t.Fatalf("history %+v", h)
		}
	}
}
