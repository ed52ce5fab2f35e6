package node

import (
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	ma "github.com/multiformats/go-multiaddr"
)

// This file is the circuit relay v2 service a group host's reachable
// server runs (`hearth up --relay-service`): go-libp2p's relay, limited by
// relayResources and by relayACL to the members of the server's groups and
// the peers its operator names.

// relayService is a running relay and the access list it consults.
type relayService struct {
	relay *relayv2.Relay
	acl   *relayACL
}

// startRelayService starts go-libp2p's relay on the node's host for the
// members of its groups and the peers in serve. The node must be far
// enough up for Groups to work (startDiscovery runs after load).
func (n *Node) startRelayService(serve []peer.ID) (*relayService, error) {
	acl := &relayACL{n: n, serve: make(map[peer.ID]bool, len(serve))}
	for _, p := range serve {
		acl.serve[p] = true
	}
	r, err := relayv2.New(n.host,
		relayv2.WithResources(relayResources()),
		relayv2.WithACL(acl),
		// The reservation tells the client where the relay is; the
		// default keeps only public addresses, which would leave a LAN or
		// VPN relay unusable. The relay's addresses are not secret: its
		// operator configured them to be reached.
		relayv2.WithReservationAddressFilter(func(ma.Multiaddr) bool { return true }),
	)
	if err != nil {
		return nil, err
	}
	return &relayService{relay: r, acl: acl}, nil
}

// close stops the relay: reservations and relayed connections end.
func (r *relayService) close() { r.relay.Close() }

// relayACL decides who may hold a reservation on this node's relay: a peer
// this node knows as a member of one of its groups, or one its operator
// named (DiscoveryConfig.RelayFor). A peer is known as a member when it
//
//   - forwarded an envelope of the group that this node accepted, proved
//     membership in a history sync, or admitted this node (the group's
//     remembered peers, which topics.go keeps); or
//   - is named by the newest address announcement of a current member,
//     which only members of the epoch can open (addresses.go).
//
// Mere subscription to a group's topic does not count: a node sends its
// topic names in plaintext to every peer it connects to, so a stranger who
// connects to the relay learns them at once.
//
// A reservation is what lets others reach a peer through the relay, and
// all the relayed traffic for that peer runs on it, so refusing strangers
// their reservation is what keeps the relay from being anyone's free proxy.
// Connecting through the relay to a peer that holds a reservation stays
// open to anyone (AllowConnect): a newcomer must reach the admin whose
// invite it holds before it is a member, and a member who reserved asked
// to be reachable.
//
// A removed member stays among the remembered peers of the group until
// newer peers push it out (topics.go keeps 64 per group), so it may keep
// reserving for a while after its removal; it reads nothing more for it.
type relayACL struct {
	n *Node

	mu    sync.Mutex
	serve map[peer.ID]bool
}

// AllowReserve implements relayv2.ACLFilter.
func (a *relayACL) AllowReserve(p peer.ID, _ ma.Multiaddr) bool {
	a.mu.Lock()
	named := a.serve[p]
	a.mu.Unlock()
	return named || a.n.knownMember(p)
}

// AllowConnect implements relayv2.ACLFilter: anyone may connect to a peer
// that holds a reservation (go-libp2p's relay refuses a destination
// without one).
func (a *relayACL) AllowConnect(peer.ID, ma.Multiaddr, peer.ID) bool { return true }

// knownMember reports whether p is a remembered peer of one of this
// node's groups, or announced by one of their current members (see
// relayACL).
func (n *Node) knownMember(p peer.ID) bool {
	if p == "" || p == n.host.ID() {
		return false
	}
	groups := n.Groups()
	for _, g := range groups {
		if g.remembers(p) {
			return true
		}
	}
	for _, g := range groups {
		for _, ai := range g.announcedPeers() {
			if ai.ID == p {
				return true
			}
		}
	}
	return false
}

// remembers reports whether p is among the group's remembered peers while
// this member is still in the group.
func (g *Group) remembers(p peer.ID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || g.sess.Removed() {
		return false
	}
	_, ok := g.peers[p]
	return ok
}
