package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	pbv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/pb"
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

// noAnnouncements turns the node's address announcements off, so members
// can find each other only by other means.
func noAnnouncements(c *Config) { c.addrAnnounceEvery = -1 }

// TestRendezvousFindsMembersWhoNeverMet: b and c join a's group through
// invites and only ever talk to a; once a is gone, they find each other
// through the DHT key of their group (a bootstrap DHT node that is no
// member holds the provider records) and a post from one reaches the other.
// Then both restart on new ports and find each other again the same way.
// Address announcements are off throughout, so only the DHT can bring b
// and c together, and the DHT speaks Hearth's protocol, never IPFS's.
func TestRendezvousFindsMembersWhoNeverMet(t *testing.T) {
	boot := newTestNode(t, withDiscovery(DiscoveryConfig{DHTServer: true}))
	bootAddr := boot.Addrs()[0].String()
	protos := boot.host.Mux().Protocols()
	if !slices.Contains(protos, "/hearth/kad/1.0.0") || slices.Contains(protos, "/ipfs/kad/1.0.0") {
		t.Fatalf("the DHT server answers %v; want /hearth/kad/1.0.0 and not /ipfs/kad/1.0.0", protos)
	}
	// Members run the DHT in client mode: only boot stores records.
	member := withDiscovery(DiscoveryConfig{BootstrapPeers: []string{bootAddr}})
	a := newTestNode(t, member, noAnnouncements)
	b := newTestNode(t, member, noAnnouncements)
	c := newTestNode(t, member, noAnnouncements)

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
	// gossipsub's peer exchange is off, announcements are off, and both
	// only heard from a.
	poll(t, "b and c connecting through their rendezvous key", func() bool { return connected(b, c) || connected(c, b) })
	poll(t, "b and c meshed", func() bool { return hasTopicPeer(c, gc, b) && hasTopicPeer(b, gb, c) })
	if _, err := gc.Post(ctxT(t), "found you", MessageID{}); err != nil {
		t.Fatal(err)
	}
	waitMessage(t, b, gb.ID(), "found you")
	if got := append(gb.announcedPeers(), gc.announcedPeers()...); len(got) != 0 {
		t.Fatalf("members recorded address announcements %v; only the DHT was to bring them together", got)
	}

	// Both move to new ports while stopped: each remembers only the
	// other's old address, so only the rendezvous record brings them
	// together again.
	oldAddrs := append(b.host.Addrs(), c.host.Addrs()...)
	c.stop()
	b = b.restart(t, member, noAnnouncements)
	c = startTestNode(t, c.dir, member, noAnnouncements)
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

// relayFor has relay's relay service serve nodes, as DiscoveryConfig's
// RelayFor would have had their peer IDs been known when it started.
func relayFor(t testing.TB, relay *testNode, nodes ...*testNode) {
	t.Helper()
	ids := make([]peer.ID, len(nodes))
	for i, n := range nodes {
		ids[i] = n.PeerID()
	}
	relayForIDs(t, relay, ids...)
}

// relayForIDs is relayFor by peer ID.
func relayForIDs(t testing.TB, relay *testNode, ids ...peer.ID) {
	t.Helper()
	relay.mu.Lock()
	d := relay.disc
	relay.mu.Unlock()
	if d == nil || d.relay == nil {
		t.Fatal("relayFor: the node runs no relay service")
	}
	d.relay.acl.mu.Lock()
	defer d.relay.acl.mu.Unlock()
	for _, id := range ids {
		d.relay.acl.serve[id] = true
	}
}

// TestRelayOnlyHidesMemberAddress: a relay-only member makes a group and
// invites another node; the invite carries only the relay's circuit
// address, the joiner reaches the member through the relay, messages flow
// both ways, and the member's own listen address appears nowhere in what
// the joiner holds about it (peerstore, connections). A direct connection
// to the member's real address is refused before any handshake, so a
// stranger who dials it with the member's peer ID cannot even tell the
// member is there.
func TestRelayOnlyHidesMemberAddress(t *testing.T) {
	relay := newTestNode(t, withDiscovery(DiscoveryConfig{RelayService: true}))
	relayAddr := relay.Addrs()[0].String()
	hidden := newTestNode(t, withDiscovery(DiscoveryConfig{StaticRelays: []string{relayAddr}, RelayOnly: true}))
	other := newTestNode(t, withDiscovery(DiscoveryConfig{StaticRelays: []string{relayAddr}}))
	relayFor(t, relay, hidden, other)

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

	// Someone who learnt the real address anyway cannot connect to it,
	// nor confirm the peer ID: the hidden node closes the connection
	// before the security handshake that would prove who it is.
	stranger := newTestNode(t)
	if err := stranger.host.Connect(ctxT(t), peer.AddrInfo{ID: hidden.PeerID(), Addrs: real}); err == nil {
		t.Fatal("a stranger connected to the relay-only node's real address")
	}
	if c := hidden.host.Network().ConnsToPeer(stranger.PeerID()); len(c) != 0 {
		t.Fatalf("the relay-only node accepted a direct connection from %s", c[0].RemoteMultiaddr())
	}
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

// TestRelayServiceServesOnlyMembers: a relay service grants a reservation
// to a member of its group and to a peer its operator named, and refuses
// one to a stranger, who could otherwise use it as a free proxy.
func TestRelayServiceServesOnlyMembers(t *testing.T) {
	friend := newTestNode(t)
	relay := newTestNode(t, withDiscovery(DiscoveryConfig{RelayService: true, RelayFor: []string{friend.PeerID().String()}}))
	member := newTestNode(t)
	stranger := newTestNode(t)
	twoMembers(t, relay, member)
	at := peer.AddrInfo{ID: relay.PeerID(), Addrs: relay.host.Addrs()}
	reserve := func(tn *testNode) error {
		ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
		defer cancel()
		_, err := client.Reserve(ctx, tn.host, at)
		return err
	}
	if err := reserve(friend); err != nil {
		t.Fatalf("the peer the operator named: %v", err)
	}
	// The relay knows the member once the member's first envelope or
	// history sync reaches it, moments after the join.
	poll(t, "the member's reservation", func() bool { return reserve(member) == nil })
	err := reserve(stranger)
	var re client.ReservationError
	if !errors.As(err, &re) || re.Status != pbv2.Status_PERMISSION_DENIED {
		t.Fatalf("a stranger's reservation: %v, want permission denied", err)
	}
}

// TestRelayOnlyDialsNamedRelayOnlyWhereItResolves: a relay-only member
// whose relays are configured by DNS name reserves on the one that answers
// where its name resolves, and never dials an address someone else put
// beside a relay's peer ID, directly or as a circuit's relay hop, even
// while that relay is unreachable (so the node would have to dial it
// anew).
func TestRelayOnlyDialsNamedRelayOnlyWhereItResolves(t *testing.T) {
	relay := newTestNode(t, withDiscovery(DiscoveryConfig{RelayService: true}))
	port, err := directAddrs(relay.host.Network().ListenAddresses())[0].ValueForProtocol(ma.P_TCP)
	if err != nil {
		t.Fatal(err)
	}
	down := testPeerID(t, 7) // a relay that is not running
	liar, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { liar.Close() })
	var dialled atomic.Int32
	go func() {
		for {
			c, err := liar.Accept()
			if err != nil {
				return
			}
			dialled.Add(1)
			c.Close()
		}
	}()
	hidden := newTestNode(t, withDiscovery(DiscoveryConfig{RelayOnly: true, StaticRelays: []string{
		"/dns4/localhost/tcp/" + port + "/p2p/" + relay.PeerID().String(),
		"/dns4/localhost/tcp/1/p2p/" + down.String(),
	}}))
	relayFor(t, relay, hidden)
	poll(t, "a reservation on the relay configured by name", func() bool { return len(hidden.Addrs()) > 0 })

	liarAddr := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", liar.Addr().(*net.TCPAddr).Port)
	for _, ai := range []peer.AddrInfo{
		{ID: down, Addrs: []ma.Multiaddr{maddr(t, liarAddr)}},
		{ID: testPeerID(t, 8), Addrs: []ma.Multiaddr{maddr(t, liarAddr+"/p2p/"+down.String()+"/p2p-circuit")}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
		err := hidden.host.Connect(ctx, ai)
		cancel()
		if err == nil {
			t.Fatalf("connected to %v", ai)
		}
	}
	if n := dialled.Load(); n != 0 {
		t.Fatalf("the relay-only node dialled the liar's address %d times", n)
	}
}
