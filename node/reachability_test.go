package node

import "testing"

// TestReachability: a node with no judgement says "unknown"; a relay
// service, which go-libp2p is told is publicly reachable, says "public".
func TestReachability(t *testing.T) {
	plain := newTestNode(t)
	if got := plain.Reachability(); got != ReachabilityUnknown {
		t.Fatalf("a fresh loopback node's reachability: %q, want %q", got, ReachabilityUnknown)
	}
	relay := newTestNode(t, func(c *Config) { c.Discovery.RelayService = true })
	poll(t, "the relay service to learn it is public", func() bool {
		return relay.Reachability() == ReachabilityPublic
	})
}

// TestOnlinePeers: a group of one has no one else online; each of two
// members sees the other as the one peer online in their group.
func TestOnlinePeers(t *testing.T) {
	ann, bo := newTestNode(t), newTestNode(t)
	solo, err := ann.CreateGroup(ctxT(t), GroupOptions{Name: "alone", Pseudonym: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if n := solo.OnlinePeers(); n != 0 {
		t.Fatalf("a group of one has %d peers online, want 0", n)
	}
	ga, gb := twoMembers(t, ann, bo)
	poll(t, "each member to see the other online", func() bool {
		return ga.OnlinePeers() == 1 && gb.OnlinePeers() == 1
	})
}
