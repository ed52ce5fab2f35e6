package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	madns "github.com/multiformats/go-multiaddr-dns"
)

// This file is relay-only mode's guard: the connection gater that keeps a
// relay-only member's node from exchanging a single packet directly with
// anyone but its relays, the resolution of relays configured by DNS name,
// and the filter that reduces addresses others hand the node (invites, DHT
// provider records, announcements) to circuits through its own relays.

// relayOnlyGater is the connection gater of relay-only mode: the only
// direct connections it allows are the node's own dials to the configured
// relays at their configured addresses; every other connection, either
// way, must run through one of those relays (its address holds
// /p2p-circuit). A fellow member, a DHT node or anyone else then only ever
// has a connection whose remote address is the relay's circuit, and so
// never learns the member's IP address from the connection (the addresses
// the node advertises are circuit addresses only, see
// relayReservations.addrsFactory).
//
// Inbound, a direct connection is refused as soon as it is accepted, before
// any security handshake: relays never dial in (a reservation and the
// circuits it carries run over the member's own outbound connection), and
// a handshake would prove to whoever dialled the member's real address
// that this peer ID lives there. QUIC runs its handshake before any gater
// is asked, which is why relay-only mode refuses QUIC listen addresses
// (newHost).
//
// What the relay learns instead: the member's IP address and port (it is
// directly connected), its peer ID, when it is online (the reservation and
// its refreshes), the peer IDs of everyone who reaches the member through it
// and of everyone the member reaches, and when and how much they exchange.
// It learns no content: every relayed connection is end-to-end encrypted
// (Noise or TLS between the two members, inside the relay's stream), and
// gossipsub payloads are group envelopes besides.
//
// A direct dial to a relay goes only to an address configured for it, and
// a circuit only through a configured relay, at such an address or with no
// address at all (/p2p/<relay>/p2p-circuit, dialled at the configured
// ones): a peer ID alone is not enough, since anyone can put a relay's peer
// ID beside an address of their own (in an invite, a DHT record or an
// announcement) and learn the member's real address from the dial, even
// though the handshake then fails. A relay configured by DNS name is
// allowed at the addresses the node itself last resolved the name to
// (refreshNames, before every reservation attempt); the swarm resolves
// the name with the same resolver, so a dial at the name goes through.
type relayOnlyGater struct {
	mu     sync.RWMutex
	relays map[peer.ID]*relayAddrs
}

// relayAddrs are the addresses at which the node may dial one relay.
type relayAddrs struct {
	// configured are the addresses as configured, names included.
	configured []ma.Multiaddr
	// names are the configured addresses that hold a DNS name.
	names []ma.Multiaddr
	// resolved are what names last resolved to.
	resolved []ma.Multiaddr
}

func newRelayOnlyGater(relays []peer.AddrInfo) *relayOnlyGater {
	g := &relayOnlyGater{relays: make(map[peer.ID]*relayAddrs, len(relays))}
	for _, r := range relays {
		ra := g.relays[r.ID]
		if ra == nil {
			ra = &relayAddrs{}
			g.relays[r.ID] = ra
		}
		for _, a := range r.Addrs {
			ra.configured = append(ra.configured, a)
			if madns.Matches(a) {
				ra.names = append(ra.names, a)
			}
		}
	}
	return g
}

// isRelay reports whether p is a configured relay.
func (g *relayOnlyGater) isRelay(p peer.ID) bool {
	_, ok := g.relays[p] // set once by newRelayOnlyGater
	return ok
}

// directToRelay reports whether a is a configured address of relay p, or
// one its names last resolved to.
func (g *relayOnlyGater) directToRelay(p peer.ID, a ma.Multiaddr) bool {
	ra, ok := g.relays[p]
	if !ok {
		return false
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	return slices.ContainsFunc(ra.configured, a.Equal) || slices.ContainsFunc(ra.resolved, a.Equal)
}

// throughRelay reports whether a is a circuit through a configured relay,
// either at an address directToRelay allows or at none. A circuit inside
// a circuit is refused: the inner relay would be dialled through the outer
// one's address that nobody configured.
func (g *relayOnlyGater) throughRelay(a ma.Multiaddr) bool {
	hop, circuit := ma.SplitFunc(a, func(c ma.Component) bool { return c.Protocol().Code == ma.P_CIRCUIT })
	if len(circuit) == 0 {
		return false
	}
	if _, rest := ma.SplitFirst(circuit); isRelayed(rest) {
		return false
	}
	transport, relay := peer.SplitAddr(hop)
	if relay == "" || !g.isRelay(relay) {
		return false
	}
	return len(transport) == 0 || g.directToRelay(relay, transport)
}

// InterceptPeerDial allows every peer: whether a dial is direct is decided
// per address.
func (g *relayOnlyGater) InterceptPeerDial(peer.ID) bool { return true }

// InterceptAddrDial allows direct dials to relays where directToRelay
// says, and circuit dials to anyone through a relay where throughRelay
// says.
func (g *relayOnlyGater) InterceptAddrDial(p peer.ID, a ma.Multiaddr) bool {
	if isRelayed(a) {
		return g.throughRelay(a)
	}
	return g.directToRelay(p, a)
}

// InterceptAccept allows relayed connections only, before any handshake.
func (g *relayOnlyGater) InterceptAccept(c network.ConnMultiaddrs) bool {
	return isRelayed(c.RemoteMultiaddr())
}

// InterceptSecured allows a relayed connection, and a direct one only if
// this node dialled it and the authenticated peer is a configured relay.
func (g *relayOnlyGater) InterceptSecured(dir network.Direction, p peer.ID, c network.ConnMultiaddrs) bool {
	if isRelayed(c.RemoteMultiaddr()) {
		return true
	}
	return dir == network.DirOutbound && g.isRelay(p)
}

// InterceptUpgraded allows what InterceptSecured let through.
func (g *relayOnlyGater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) {
	return true, 0
}

// refreshNames resolves the DNS names of relay p, if it has any, and makes
// what they resolve to the only addresses besides its configured IP ones at
// which the node dials it. A failed resolution keeps the last answer (a
// relay is not dropped for a DNS hiccup); the next reservation attempt
// tries again.
func (g *relayOnlyGater) refreshNames(ctx context.Context, r *madns.Resolver, p peer.ID, logger *slog.Logger) {
	ra, ok := g.relays[p]
	if !ok || len(ra.names) == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	var resolved []ma.Multiaddr
	var errs []error
	for _, a := range ra.names {
		got, err := resolveRelayName(rctx, r, p, a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		resolved = append(resolved, got...)
	}
	if len(resolved) == 0 {
		logger.Debug("resolving a relay's name failed; keeping the last answer", "relay", p.String(), "err", redactErr(logger, errors.Join(errs...)))
		return
	}
	g.mu.Lock()
	ra.resolved = resolved
	g.mu.Unlock()
	logger.Debug("resolved a relay's name", "relay", p.String(), "addrs", logAddrs(logger, resolved))
}

// maxRelayNameDepth bounds how many names deep a relay's DNS name may lead
// (a /dnsaddr record may name another /dnsaddr or /dns4 name).
const maxRelayNameDepth = 4

// errRelayName is wrapped by resolveRelayName's errors of its own.
var errRelayName = errors.New("node: relay name")

// resolveRelayName resolves every DNS component of a, an address of relay
// p, down to IP addresses. /dnsaddr records count only when they end in
// /p2p/<p>, as the swarm requires too.
func resolveRelayName(ctx context.Context, r *madns.Resolver, p peer.ID, a ma.Multiaddr) ([]ma.Multiaddr, error) {
	suffix, err := ma.NewMultiaddr("/p2p/" + p.String())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errRelayName, err)
	}
	var out []ma.Multiaddr
	pending := []ma.Multiaddr{a}
	for depth := 0; len(pending) > 0; depth++ {
		if depth > maxRelayNameDepth {
			return nil, fmt.Errorf("%w: more than %d names deep", errRelayName, maxRelayNameDepth)
		}
		var next []ma.Multiaddr
		for _, m := range pending {
			if !madns.Matches(m) {
				out = append(out, m)
				continue
			}
			got, err := r.Resolve(ctx, m.Encapsulate(suffix))
			if err != nil {
				return nil, err
			}
			for _, g := range got {
				transport, id := peer.SplitAddr(g)
				if id != p || len(transport) == 0 {
					continue
				}
				next = append(next, transport)
			}
		}
		pending = next
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: resolves to no address", errRelayName)
	}
	return out, nil
}

// circuitsOnly returns the circuits among ai's addresses that go through
// a configured relay, each reduced to /p2p/<relay>/p2p-circuit so the relay
// is dialled only at the addresses the gater allows, never at one someone
// else named; false when none is left. Direct addresses are dropped.
func (g *relayOnlyGater) circuitsOnly(ai peer.AddrInfo) (peer.AddrInfo, bool) {
	out := peer.AddrInfo{ID: ai.ID}
	for _, a := range ai.Addrs {
		hop, _ := ma.SplitFunc(a, func(c ma.Component) bool { return c.Protocol().Code == ma.P_CIRCUIT })
		if len(hop) == 0 || !isRelayed(a) {
			continue
		}
		_, relay := peer.SplitAddr(hop)
		if relay == "" || !g.isRelay(relay) {
			continue
		}
		c, err := ma.NewMultiaddr("/p2p/" + relay.String() + "/p2p-circuit")
		if err != nil || slices.ContainsFunc(out.Addrs, c.Equal) {
			continue
		}
		out.Addrs = append(out.Addrs, c)
	}
	return out, len(out.Addrs) > 0
}

// dialable returns what of ai, an address someone else handed this node (an
// invite's admin, a DHT provider record, an mDNS answer), a relay-only node
// may dial: a configured relay at its configured addresses only, anyone
// else through circuitsOnly.
func (g *relayOnlyGater) dialable(ai peer.AddrInfo) (peer.AddrInfo, bool) {
	if ra, ok := g.relays[ai.ID]; ok {
		return peer.AddrInfo{ID: ai.ID, Addrs: slices.Clone(ra.configured)}, true
	}
	return g.circuitsOnly(ai)
}

// relayOnlyGater returns the node's relay-only gater, or nil when the node
// does not run in relay-only mode (or discovery has not started yet).
func (n *Node) relayOnlyGater() *relayOnlyGater {
	n.mu.Lock()
	d := n.disc
	n.mu.Unlock()
	if d == nil || d.cfg.reservations == nil {
		return nil
	}
	return d.cfg.reservations.gater
}

// dialableAddrs returns ai as this node may dial it: unchanged, or in
// relay-only mode filtered by relayOnlyGater.dialable. It keeps the
// peerstore free of addresses the gater would refuse; the gater refuses
// them anyway, so a dial that runs before discovery has started (and is
// given ai unchanged) leaks nothing either.
func (n *Node) dialableAddrs(ai peer.AddrInfo) peer.AddrInfo {
	g := n.relayOnlyGater()
	if g == nil {
		return ai
	}
	out, _ := g.dialable(ai)
	return out
}
