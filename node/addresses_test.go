package node

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
)

// withAnnounceEvery shortens the pause between two address announcements
// of a node in one group, so tests see several within seconds.
func withAnnounceEvery(d time.Duration) func(*Config) {
	return func(c *Config) { c.addrAnnounceEvery = d }
}

// e2eLinked reports whether a and b hold a connection to each other.
func e2eLinked(a, b *e2eNode) bool {
	return a.n.host.Network().Connectedness(b.n.PeerID()) == network.Connected ||
		b.n.host.Network().Connectedness(a.n.PeerID()) == network.Connected
}

// e2eJoin has e join with inv as pseudonym and returns its group.
func e2eJoin(t testing.TB, e *e2eNode, inv, pseudonym string) *Group {
	t.Helper()
	res, err := e.n.Join(e2eCtx(t), inv, pseudonym)
	if err != nil || res.Status != JoinJoined {
		t.Fatalf("%s joins: %+v, %v", e.name, res, err)
	}
	return res.Group
}

// TestAnnouncedAddressesReachMembers: b and c join the host's group through
// invites that carry only the host's address, and no DHT runs, so the only
// way they can learn each other's addresses is the announcement inside the
// group. They connect directly; then both move to new ports while stopped
// (each remembers only the other's old address) and find each other again
// from the new announcements, which the host forwards; then the host goes
// offline and they still talk. A gossipsub peer that is no member, connected
// to the host, receives the announcement envelopes and finds none of the
// addresses in them.
func TestAnnouncedAddressesReachMembers(t *testing.T) {
	fast := withAnnounceEvery(300 * time.Millisecond)
	h := newE2ENode(t, "host", fast)
	b := newE2ENode(t, "b", fast)
	c := newE2ENode(t, "c", fast)

	gh, err := h.n.CreateGroup(e2eCtx(t), GroupOptions{Name: "Tuesday circle", Pseudonym: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	id := gh.ID()
	for _, m := range []*e2eNode{b, c} {
		inv, _, err := gh.CreateInvite(e2eCtx(t), InviteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		e2eJoin(t, m, inv, m.name)
	}
	e2ePoll(t, "b and c connecting from each other's announcements", func() bool { return e2eLinked(b, c) })

	sniff := newE2ESniffer(t)
	sniff.connect(t, h)
	topic := e2eTopic(t, h, id)
	e2ePoll(t, "the sniffer learning the group's topic", func() bool {
		for _, tp := range sniff.announced() {
			if tp == topic {
				return true
			}
		}
		return false
	})
	sniff.subscribe(t, topic)
	e2ePoll(t, "the host grafting the sniffer", func() bool {
		_, ok := h.n.mesh.peers(topic)[sniff.h.ID()]
		return ok
	})

	// A copy of the host's session, taken before the announcements to
	// come, opens them later (the running session erases each message key
	// once used). It must hold b's and c's chain keys of the current epoch
	// (c's joining began it): once the host has read a post of each sent
	// in this epoch, it does. b and c finding each other says only that
	// they hold each other's, and an announcement the host stored may be
	// b's from the epoch before. Both are in this epoch: each opened the
	// other's announcement, which c sent in it.
	for _, e := range []*e2eNode{b, c} {
		if _, err := e.group(t, id).Post(e2eCtx(t), "in this epoch, from "+e.name, MessageID{}); err != nil {
			t.Fatal(err)
		}
		h.rec.waitText(t, id, "in this epoch, from "+e.name)
	}
	hs := e2eSessionCopy(t, h, id)

	// Both move while stopped.
	old := append(b.n.Addrs(), c.n.Addrs()...)
	c.stop(t)
	b.restart(t)
	c.start(t)
	var moved []ma.Multiaddr
	for _, e := range []*e2eNode{b, c} {
		for _, a := range e.n.Addrs() {
			for _, o := range old {
				if a.Equal(o) {
					t.Fatalf("%s restarted at its old address %s", e.name, a)
				}
			}
			moved = append(moved, a)
		}
	}
	e2ePoll(t, "b and c finding each other at their new addresses", func() bool { return e2eLinked(b, c) })
	for _, e := range []*e2eNode{b, c} {
		if conns := h.n.host.Network().ConnsToPeer(e.n.PeerID()); len(conns) == 0 {
			t.Fatalf("%s is not connected to the host; the test shows nothing about announcements", e.name)
		}
	}

	// b takes one more address while running: its next announcement
	// carries it, and crosses the wire only sealed. The sniffer listens in
	// b's own mesh: a copy the host already fetched by history sync (b
	// reconnecting starts one) is a duplicate there, and a duplicate is
	// never forwarded, so the host alone might never pass it on.
	sniff.connect(t, b)
	e2ePoll(t, "b grafting the sniffer", func() bool {
		_, ok := b.n.mesh.peers(topic)[sniff.h.ID()]
		return ok
	})
	before := b.n.Addrs()
	if err := b.n.host.Network().Listen(ma.StringCast("/ip4/127.0.0.1/tcp/0")); err != nil {
		t.Fatal(err)
	}
	var extra ma.Multiaddr
	e2ePoll(t, "b's host reporting its new address", func() bool {
		for _, a := range b.n.Addrs() {
			if !slices.ContainsFunc(before, a.Equal) {
				extra = a
				return true
			}
		}
		return false
	})
	opened := 0
	e2ePoll(t, "the sniffer capturing b's announcement of its new address", func() bool {
		payloads := sniff.payloadsOn(topic)
		for ; opened < len(payloads); opened++ {
			rec, err := hs.Open(payloads[opened], time.Now().UnixMilli(), nil)
			if err != nil {
				continue
			}
			if ann, ok := rec.Content.(protocol.Addresses); ok && slices.Contains(ann.Addrs, extra.String()) {
				return true
			}
		}
		return false
	})
	for _, p := range sniff.payloadsOn(topic) {
		for _, a := range append(moved, extra) {
			transport, _ := peer.SplitAddr(a)
			if bytes.Contains(p, []byte(transport.String())) || bytes.Contains(p, transport.Bytes()) {
				t.Fatalf("an envelope on the wire carries the address %s in plaintext", a)
			}
		}
	}
	e2ePoll(t, "c recording b's new address", func() bool {
		for _, ai := range c.group(t, id).announcedPeers() {
			if ai.ID == b.n.PeerID() && len(ai.Addrs) == len(b.n.Addrs()) {
				return true
			}
		}
		return false
	})

	// The host leaves; b and c talk directly.
	e2eWaitLinkedMesh(t, id, b, c)
	h.stop(t)
	if _, err := b.group(t, id).Post(e2eCtx(t), "still here without the host", MessageID{}); err != nil {
		t.Fatal(err)
	}
	c.rec.waitText(t, id, "still here without the host")
}

// e2eWaitLinkedMesh waits until a and b have each other in their mesh of
// the group's current topic.
func e2eWaitLinkedMesh(t testing.TB, id crypto.GroupID, a, b *e2eNode) {
	t.Helper()
	e2ePoll(t, "a and b meshed", func() bool {
		_, ab := a.n.mesh.peers(e2eTopic(t, a, id))[b.n.PeerID()]
		_, ba := b.n.mesh.peers(e2eTopic(t, b, id))[a.n.PeerID()]
		return ab && ba
	})
}

// TestRelayOnlyAnnouncesOnlyCircuits: a relay-only member's announcement,
// as its fellow member records it, holds only relay circuit addresses.
func TestRelayOnlyAnnouncesOnlyCircuits(t *testing.T) {
	fast := withAnnounceEvery(300 * time.Millisecond)
	relay := newTestNode(t, withDiscovery(DiscoveryConfig{RelayService: true}))
	relayAddr := relay.Addrs()[0].String()
	hidden := newTestNode(t, fast, withDiscovery(DiscoveryConfig{StaticRelays: []string{relayAddr}, RelayOnly: true}))
	other := newTestNode(t, fast, withDiscovery(DiscoveryConfig{StaticRelays: []string{relayAddr}}))
	relayFor(t, relay, hidden, other)
	poll(t, "the relay-only node holding a reservation", func() bool { return len(hidden.Addrs()) > 0 })

	_, gother := twoMembers(t, hidden, other)
	var got []peer.AddrInfo
	poll(t, "the member recording the relay-only node's announcement", func() bool {
		got = gother.announcedPeers()
		return len(got) == 1
	})
	if got[0].ID != hidden.PeerID() {
		t.Fatalf("announcement names %s, want the relay-only node %s", got[0].ID, hidden.PeerID())
	}
	for _, a := range got[0].Addrs {
		if !isRelayed(a) {
			t.Errorf("the relay-only node announced a direct address %s", a)
		}
	}
}

// TestParseAnnouncement: announced addresses are taken only when every one
// parses, is canonical, ends in /p2p/ and names the same peer, which is not
// this node.
func TestParseAnnouncement(t *testing.T) {
	self, other := newTestNode(t), newTestNode(t)
	a := other.Addrs()[0].String()
	selfAddr := self.Addrs()[0].String()
	circuit := "/ip4/10.0.0.1/tcp/4001/p2p/" + self.PeerID().String() + "/p2p-circuit/p2p/" + other.PeerID().String()
	good := []protocol.Addresses{
		{},
		{Addrs: []string{a}},
		{Addrs: []string{a, circuit}},
	}
	for _, c := range good {
		id, addrs, err := parseAnnouncement(c, self.PeerID())
		if err != nil {
			t.Errorf("%v: %v", c.Addrs, err)
			continue
		}
		if len(c.Addrs) > 0 && (id != other.PeerID() || len(addrs) != len(c.Addrs)) {
			t.Errorf("%v: got %s %v", c.Addrs, id, addrs)
		}
		for _, m := range addrs {
			if _, p := peer.SplitAddr(m); p != "" {
				t.Errorf("%v: transport address %s still ends in /p2p/", c.Addrs, m)
			}
		}
	}
	bad := map[string]protocol.Addresses{
		"not a multiaddr":  {Addrs: []string{"hello"}},
		"no peer ID":       {Addrs: []string{"/ip4/127.0.0.1/tcp/4001"}},
		"peer ID only":     {Addrs: []string{"/p2p/" + other.PeerID().String()}},
		"two peers":        {Addrs: []string{a, selfAddr}},
		"this node":        {Addrs: []string{selfAddr}},
		"not canonical":    {Addrs: []string{strings.Replace(a, "/tcp/", "/tcp/0", 1)}},
		"trailing garbage": {Addrs: []string{a + "/"}},
	}
	for name, c := range bad {
		if _, _, err := parseAnnouncement(c, self.PeerID()); !errors.Is(err, errBadAnnouncement) {
			t.Errorf("%s: %v, want errBadAnnouncement", name, err)
		}
	}
}

// TestAnnouncedRecord: the stored record round-trips and its decoder is
// strict.
func TestAnnouncedRecord(t *testing.T) {
	tn := newTestNode(t)
	in := announced{at: 1234, peer: tn.PeerID(), addrs: []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/4001"), ma.StringCast("/ip6/::1/udp/4001/quic-v1")}}
	b := encodeAnnounced(in)
	out, err := decodeAnnounced(b)
	if err != nil {
		t.Fatal(err)
	}
	if out.at != in.at || out.peer != in.peer || len(out.addrs) != 2 || !out.addrs[0].Equal(in.addrs[0]) || !out.addrs[1].Equal(in.addrs[1]) {
		t.Fatalf("round trip: %+v, want %+v", out, in)
	}
	for i := range b {
		if _, err := decodeAnnounced(b[:i]); !errors.Is(err, errRecord) {
			t.Fatalf("truncated to %d bytes: %v", i, err)
		}
	}
	if _, err := decodeAnnounced(append(b, 0)); !errors.Is(err, errRecord) {
		t.Fatalf("trailing byte: %v", err)
	}
}

// TestRelayOnlyIgnoresAnnouncedRelayAddresses: a lying member announces,
// to a relay-only member, its relay's peer ID at an address of the liar's,
// and a circuit whose relay hop is that relay at the liar's address. The
// relay-only member's peerstore never holds the liar's address (a later
// dial of the relay would connect there from the member's real address),
// and it still reaches the announced member through the relay where its
// own configuration says the relay is.
func TestRelayOnlyIgnoresAnnouncedRelayAddresses(t *testing.T) {
	relay := newTestNode(t, withDiscovery(DiscoveryConfig{RelayService: true}))
	relayAddr := relay.Addrs()[0].String()
	hidden := newTestNode(t, withDiscovery(DiscoveryConfig{StaticRelays: []string{relayAddr}, RelayOnly: true}))
	other := newTestNode(t, withDiscovery(DiscoveryConfig{StaticRelays: []string{relayAddr}}))
	relayFor(t, relay, hidden, other)
	poll(t, "both holding a reservation", func() bool {
		return slices.ContainsFunc(hidden.Addrs(), isRelayed) && slices.ContainsFunc(other.Addrs(), isRelayed)
	})
	g, err := hidden.CreateGroup(ctxT(t), GroupOptions{Name: "circle", Pseudonym: "hidden"})
	if err != nil {
		t.Fatal(err)
	}
	const liar = "/ip4/127.0.0.1/tcp/1"
	announce := func(who crypto.MemberID, addrs ...string) {
		t.Helper()
		g.mu.Lock()
		_, err := g.applyAddressesLocked(&protocol.Received{Author: who, Timestamp: time.Now().UnixMilli()}, protocol.Addresses{Addrs: addrs}, time.Now())
		g.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
	}
	announce(crypto.MemberID{1}, liar+"/p2p/"+relay.PeerID().String())
	announce(crypto.MemberID{2}, liar+"/p2p/"+relay.PeerID().String()+"/p2p-circuit/p2p/"+other.PeerID().String(),
		liar+"/p2p/"+other.PeerID().String())
	poll(t, "the relay-only member reaching the announced member through its relay", func() bool {
		return hidden.host.Network().Connectedness(other.PeerID()) == network.Connected
	})
	for _, p := range []peer.ID{relay.PeerID(), other.PeerID()} {
		for _, a := range hidden.host.Peerstore().Addrs(p) {
			if strings.HasPrefix(a.String(), liar+"/") || a.String() == liar {
				t.Errorf("the relay-only member's peerstore holds the liar's address %s for %s", a, p)
			}
		}
	}
}
