package node

import (
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// testRendezvousInterval makes rendezvous rounds quick enough for tests.
const testRendezvousInterval = 250 * time.Millisecond

// withDiscovery sets the node's discovery config, with a quick rendezvous.
func withDiscovery(d DiscoveryConfig) func(*Config) {
	return func(c *Config) {
		d.interval = testRendezvousInterval
		c.Discovery = d
	}
}

// connected reports whether a has a connection to b.
func connected(a, b *testNode) bool {
	return a.host.Network().Connectedness(b.PeerID()) == network.Connected
}

// TestRendezvousFindsMembersWhoNeverMet: b and c join a's group through
// invites and only ever talk to a; once a is gone, they find each other
// through the DHT key of their group (a bootstrap DHT node that is no
// member holds the provider records) and a post from one reaches the other.
// Then both restart on new ports and find each other again the same way.
func TestRendezvousFindsMembersWhoNeverMet(t *testing.T) {
	boot := newTestNode(t, withDiscovery(DiscoveryConfig{DHTServer: true}))
	bootAddr := boot.Addrs()[0].String()
	// Members run the DHT in client mode: only boot stores records.
	member := withDiscovery(DiscoveryConfig{BootstrapPeers: []string{bootAddr}})
	a := newTestNode(t, member)
	b := newTestNode(t, member)
	c := newTestNode(t, member)

	ga, gb := twoMembers(t, a, b)
	inv, _, err := ga.CreateInvite(ctxT(t), InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Join(ctxT(t), inv, "cy")
	if err != nil || res.Status != JoinJoined {
		t.Fatalf("c joins: %+v, %v", res, err)
	}
	gc := res.Group
	poll(t, "b seeing c in the roster", func() bool { return len(gb.Members()) == 3 })
	a.stop()

	// Neither b nor c has the other's address except through the DHT:
	// gossipsub's peer exchange is off and both only heard from a.
	poll(t, "b and c connecting through their rendezvous key", func() bool { return connected(b, c) || connected(c, b) })
	poll(t, "b and c meshed", func() bool { return hasTopicPeer(c, gc, b) && hasTopicPeer(b, gb, c) })
	if _, err := gc.Post(ctxT(t), "found you", MessageID{}); err != nil {
		t.Fatal(err)
	}
	waitMessage(t, b, gb.ID(), "found you")

	// Both move to new ports while stopped: each remembers only the
	// other's old address, so only the rendezvous record brings them
	// together again.
	oldAddrs := append(b.host.Addrs(), c.host.Addrs()...)
	c.stop()
	b = b.restart(t, member)
	c = startTestNode(t, c.dir, member)
	for _, old := range oldAddrs {
		for _, now := range append(b.host.Addrs(), c.host.Addrs()...) {
			if old.Equal(now) {
				t.Fatalf("restarted node kept address %s", now)
			}
		}
	}
	poll(t, "b and c finding each other at their new addresses", func() bool { return connected(b, c) })
}

// hasTopicPeer reports whether other is in tn's gossipsub mesh for g's
// current topic (only then does a post reach it at once).
func hasTopicPeer(tn *testNode, g *Group, other *testNode) bool {
	g.mu.Lock()
	name := g.currentTopicNameLocked()
	g.mu.Unlock()
	_, ok := tn.mesh.peers(name)[other.PeerID()]
	return ok
}

// TestRelayOnlyHidesMemberAddress: a relay-only member makes a group and
// invites another node; the invite carries only the relay's circuit
// address, the joiner reaches the member through the relay, messages flow
// both ways, and the member's own listen address appears nowhere in what
// the joiner holds about it (peerstore, connections). A direct connection
// to the member's real address is refused.
func TestRelayOnlyHidesMemberAddress(t *testing.T) {
	relay := newTestNode(t, withDiscovery(DiscoveryConfig{RelayService: true}))
	relayAddr := relay.Addrs()[0].String()
	hidden := newTestNode(t, withDiscovery(DiscoveryConfig{StaticRelays: []string{relayAddr}, RelayOnly: true}))
	other := newTestNode(t, withDiscovery(DiscoveryConfig{StaticRelays: []string{relayAddr}}))

	var real []ma.Multiaddr // the hidden node's own IP and port
	for _, a := range hidden.host.Network().ListenAddresses() {
		if !isRelayed(a) {
			real = append(real, a)
		}
	}
	if len(real) == 0 {
		t.Fatal("the relay-only node listens nowhere directly; the test needs an address to hide")
	}
	poll(t, "the relay-only node holding a reservation", func() bool { return len(hidden.Addrs()) > 0 })
	for _, a := range hidden.Addrs() {
		if !isRelayed(a) {
			t.Fatalf("relay-only node advertises a direct address %s", a)
		}
	}

	gh, gother := twoMembers(t, hidden, other)
	if _, err := gother.Post(ctxT(t), "through the relay", MessageID{}); err != nil {
		t.Fatal(err)
	}
	waitMessage(t, hidden, gh.ID(), "through the relay")
	if _, err := gh.Post(ctxT(t), "and back", MessageID{}); err != nil {
		t.Fatal(err)
	}
	waitMessage(t, other, gother.ID(), "and back")

	assertNoRealAddr(t, other, hidden.PeerID(), real)

	// Someone who learnt the real address anyway cannot keep a connection
	// to it: the hidden node refuses it once the handshake names the peer
	// (the dialer's side of the handshake may finish first, so Connect's
	// own result says nothing either way).
	stranger := newTestNode(t)
	_ = stranger.Connect(ctxT(t), peer.AddrInfo{ID: hidden.PeerID(), Addrs: real})
	if c := hidden.host.Network().ConnsToPeer(stranger.PeerID()); len(c) != 0 {
		t.Fatalf("the relay-only node accepted a direct connection from %s", c[0].RemoteMultiaddr())
	}
	poll(t, "the refused connection closing on the dialer's side", func() bool { return !connected(stranger, hidden) })
	// And the hidden node's own connections to its peer are relayed too.
	for _, c := range hidden.host.Network().ConnsToPeer(other.PeerID()) {
		if !isRelayed(c.RemoteMultiaddr()) {
			t.Errorf("the relay-only node holds a direct connection %s", c.RemoteMultiaddr())
		}
	}
}

// assertNoRealAddr fails if tn's peerstore or connections hold any
// address of p that is not relayed, or that contains one of real (the
// hidden node's IP and port).
func assertNoRealAddr(t testing.TB, tn *testNode, p peer.ID, real []ma.Multiaddr) {
	t.Helper()
	check := func(where string, a ma.Multiaddr) {
		if !isRelayed(a) {
			t.Errorf("%s holds a direct address %s of the relay-only node", where, a)
		}
		for _, r := range real {
			if strings.Contains(a.String(), r.String()) {
				t.Errorf("%s holds the relay-only node's real address %s in %s", where, r, a)
			}
		}
	}
	for _, a := range tn.host.Peerstore().Addrs(p) {
		check("peerstore", a)
	}
	conns := tn.host.Network().ConnsToPeer(p)
	if len(conns) == 0 {
		t.Errorf("no connection to the relay-only node")
	}
	for _, c := range conns {
		check("connection", c.RemoteMultiaddr())
	}
}
