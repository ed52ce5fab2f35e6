package node

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	ma "github.com/multiformats/go-multiaddr"
)

// This file configures go-libp2p's own NAT traversal and circuit relay v2:
// the relay client with reservations on static relays, AutoNAT v2, hole punching
// (DCUtR), the relay service a reachable host's server runs, and relay-only
// mode, in which a member's node reaches its groups only through relays.

// Relay service limits. A group host's server relays for its groups'
// members: a few dozen people, each holding one reservation, with a handful
// of relayed connections each (one per fellow member it talks to while
// neither side is directly reachable).
const (
	// relayMaxReservations bounds how many peers hold a slot at once.
	relayMaxReservations = 128
	// relayMaxCircuits bounds the relayed connections per peer.
	relayMaxCircuits = 16
	// relayMaxReservationsPerIP bounds slots from one IP address, so one
	// machine cannot take them all.
	relayMaxReservationsPerIP = 8
	// relayMaxReservationsPerASN bounds slots from one network operator.
	relayMaxReservationsPerASN = 32
	// relayReservationTTL is how long a slot lasts unless refreshed
	// (AutoRelay refreshes well before).
	relayReservationTTL = time.Hour
	// relayBufferSize is each relayed connection's buffer in each direction.
	relayBufferSize = 4096
)

// relayResources returns the relay service's limits.
//
// Limit is nil: relayed connections are not cut after go-libp2p's default
// two minutes and 128 KiB. Those defaults exist so a public relay only
// carries the start of a hole punch; a Hearth group's members behind two
// NATs that do not punch (carrier-grade NAT on phones) must keep talking
// through their host's relay, and gossipsub opens no stream on a connection
// libp2p marks as limited. What bounds the cost instead: the counts above,
// the host's resource manager (every relayed stream is a stream of the relay
// host, counted against its system and per-peer limits in hostLimits), and
// the connection manager.
func relayResources() relayv2.Resources {
	return relayv2.Resources{
		Limit:                  nil,
		ReservationTTL:         relayReservationTTL,
		MaxReservations:        relayMaxReservations,
		MaxCircuits:            relayMaxCircuits,
		BufferSize:             relayBufferSize,
		MaxReservationsPerPeer: 1,
		MaxReservationsPerIP:   relayMaxReservationsPerIP,
		MaxReservationsPerASN:  relayMaxReservationsPerASN,
	}
}

// reachabilityOptions returns the host options for relays, NAT traversal
// and relay-only mode that cfg asks for (see hostConfig).
func reachabilityOptions(cfg hostConfig) []libp2p.Option {
	var opts []libp2p.Option
	if cfg.relayService {
		opts = append(opts,
			libp2p.EnableRelayService(
				relayv2.WithResources(relayResources()),
				// The reservation tells the client where the relay is; the
				// default keeps only public addresses, which would leave a
				// LAN or VPN relay unusable. The relay's addresses are not
				// secret: its operator configured them to be reached.
				relayv2.WithReservationAddressFilter(func(ma.Multiaddr) bool { return true }),
			),
			// The relay service runs only while the node believes it is
			// publicly reachable. The operator said so by turning it on
			// (a host's server); waiting for AutoNAT to agree would leave
			// members without a relay on a network AutoNAT cannot probe.
			libp2p.ForceReachabilityPublic(),
			libp2p.EnableAutoNATv2(),
		)
	}
	if len(cfg.relays) > 0 && cfg.reservations != nil {
		// Reservations are made by reserveLoop on every static relay, not
		// by go-libp2p's AutoRelay: AutoRelay advertises a relay only at
		// its public addresses, so a group host's relay on a LAN, a VPN or
		// any address AutoRelay considers private would never be used.
		opts = append(opts, libp2p.AddrsFactory(cfg.reservations.addrsFactory))
		if cfg.relayOnly {
			// Never punch holes: a hole punch is a direct connection,
			// which would show the member's address to the peer.
			opts = append(opts, libp2p.ForceReachabilityPrivate())
		} else {
			opts = append(opts, libp2p.EnableAutoNATv2(), libp2p.EnableHolePunching())
		}
	}
	if cfg.relayOnly {
		opts = append(opts, libp2p.ConnectionGater(newRelayOnlyGater(cfg.relays)))
	}
	return opts
}

// relayReservations holds the circuit addresses of the relays this node
// holds a reservation on, and builds the addresses the host advertises.
type relayReservations struct {
	relayOnly bool

	mu    sync.Mutex
	addrs map[peer.ID][]ma.Multiaddr
}

func newRelayReservations(relayOnly bool) *relayReservations {
	return &relayReservations{relayOnly: relayOnly, addrs: make(map[peer.ID][]ma.Multiaddr)}
}

// set records the circuit addresses through relay p (nil: no reservation).
func (r *relayReservations) set(p peer.ID, circuits []ma.Multiaddr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if circuits == nil {
		delete(r.addrs, p)
		return
	}
	r.addrs[p] = circuits
}

// addrsFactory is the host's AddrsFactory: its own addresses followed by
// the circuit addresses of its reservations; in relay-only mode the
// circuit addresses alone. Identify, the DHT's provider records and the
// invites the node makes carry what it returns.
func (r *relayReservations) addrsFactory(addrs []ma.Multiaddr) []ma.Multiaddr {
	var out []ma.Multiaddr
	if !r.relayOnly {
		out = append(out, addrs...)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.addrs {
		out = append(out, c...)
	}
	return out
}

// circuitAddrs returns the addresses at which peers reach this node through
// relay: each of the relay's configured addresses followed by
// /p2p/<relay>/p2p-circuit.
func circuitAddrs(relay peer.AddrInfo) []ma.Multiaddr {
	out := make([]ma.Multiaddr, 0, len(relay.Addrs))
	for _, a := range relay.Addrs {
		c, err := ma.NewMultiaddr("/p2p/" + relay.ID.String() + "/p2p-circuit")
		if err != nil {
			continue
		}
		out = append(out, a.Encapsulate(c))
	}
	return out
}

// Reservation refresh timing.
const (
	// reserveRefresh is the longest wait before renewing a reservation.
	// A relay that restarted forgets reservations; renewing often bounds
	// how long the node advertises a circuit that no longer works.
	reserveRefresh = time.Minute
	// reserveRetryMax caps the backoff after a failed reservation.
	reserveRetryMax = time.Minute
)

// reserveLoop keeps a reservation on relay until ctx is done, recording
// its circuit addresses in res while it holds one.
func reserveLoop(ctx context.Context, h host.Host, relay peer.AddrInfo, res *relayReservations, logger *slog.Logger) {
	defer res.set(relay.ID, nil)
	backoff := time.Second
	for {
		rctx, cancel := context.WithTimeout(ctx, dialTimeout)
		rsvp, err := client.Reserve(rctx, h, relay)
		cancel()
		var wait time.Duration
		if err != nil {
			res.set(relay.ID, nil)
			logger.Debug("reserving a relay slot failed", "relay", relay.ID.String(), "err", redactErr(logger, err))
			wait, backoff = backoff, min(2*backoff, reserveRetryMax)
		} else {
			res.set(relay.ID, circuitAddrs(relay))
			backoff = time.Second
			wait = min(time.Until(rsvp.Expiration)/2, reserveRefresh)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// relayOnlyGater is the connection gater of relay-only mode: the only
// direct connections it allows, either way, are to and from the configured
// relays; every other connection must run through a relay (its address
// holds /p2p-circuit). A fellow member, a DHT node or anyone else then only
// ever has a connection whose remote address is the relay's circuit, and so
// never learns the member's IP address from the connection (the addresses
// the node advertises are circuit addresses only, see
// relayReservations.addrsFactory).
//
// What the relay learns instead: the member's IP address and port (it is
// directly connected), its peer ID, when it is online (the reservation and
// its refreshes), the peer IDs of everyone who reaches the member through it
// and of everyone the member reaches, and when and how much they exchange.
// It learns no content: every relayed connection is end-to-end encrypted
// (Noise or TLS between the two members, inside the relay's stream), and
// gossipsub payloads are group envelopes besides.
//
// A direct dial to a relay goes only to an address configured for it: a
// peer ID alone is not enough, since anyone can put a relay's peer ID
// beside an address of their own (in an invite or an address
// announcement) and learn the member's real address from the dial, even
// though the handshake then fails. A relay configured by DNS name is
// dialled at whatever the name resolves to (the resolved address cannot be
// checked against the name here), so the name is as trusted as the relay.
type relayOnlyGater struct {
	relays map[peer.ID]relayAddrs
}

// relayAddrs are the configured addresses of one relay; byName is set when
// one of them is a DNS name.
type relayAddrs struct {
	addrs  []ma.Multiaddr
	byName bool
}

func newRelayOnlyGater(relays []peer.AddrInfo) *relayOnlyGater {
	g := &relayOnlyGater{relays: make(map[peer.ID]relayAddrs, len(relays))}
	for _, r := range relays {
		ra := g.relays[r.ID]
		for _, a := range r.Addrs {
			ra.addrs = append(ra.addrs, a)
			for _, c := range a {
				switch c.Protocol().Code {
				case ma.P_DNS, ma.P_DNS4, ma.P_DNS6, ma.P_DNSADDR:
					ra.byName = true
				}
			}
		}
		g.relays[r.ID] = ra
	}
	return g
}

// directToRelay reports whether a is a configured address of relay p.
func (g *relayOnlyGater) directToRelay(p peer.ID, a ma.Multiaddr) bool {
	ra, ok := g.relays[p]
	if !ok {
		return false
	}
	if ra.byName {
		return true
	}
	for _, c := range ra.addrs {
		if c.Equal(a) {
			return true
		}
	}
	return false
}

// InterceptPeerDial allows every peer: whether a dial is direct is decided
// per address.
func (g *relayOnlyGater) InterceptPeerDial(peer.ID) bool { return true }

// InterceptAddrDial allows direct dials to relays at their configured
// addresses, and circuit dials to anyone.
func (g *relayOnlyGater) InterceptAddrDial(p peer.ID, a ma.Multiaddr) bool {
	return isRelayed(a) || g.directToRelay(p, a)
}

// InterceptAccept allows relayed connections only: a direct inbound
// connection from a relay is checked again once its peer ID is known
// (InterceptSecured).
func (g *relayOnlyGater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

// InterceptSecured allows a connection, in either direction, if it is
// relayed or its authenticated peer is a configured relay.
func (g *relayOnlyGater) InterceptSecured(_ network.Direction, p peer.ID, c network.ConnMultiaddrs) bool {
	_, relay := g.relays[p]
	return relay || isRelayed(c.RemoteMultiaddr())
}

// InterceptUpgraded allows what InterceptSecured let through.
func (g *relayOnlyGater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) {
	return true, 0
}

// isRelayed reports whether a goes through a circuit relay.
func isRelayed(a ma.Multiaddr) bool {
	if a == nil {
		return false
	}
	_, err := a.ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}
