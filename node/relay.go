package node

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	ma "github.com/multiformats/go-multiaddr"
	madns "github.com/multiformats/go-multiaddr-dns"
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
// Limit is nil: relayed connections are not cut after a time or a number
// of bytes. go-libp2p's relay client marks every connection whose relay
// announced any limit, however large, as limited, and gossipsub refuses to
// open its stream to a peer it reaches only over limited connections
// (go-libp2p-pubsub's handlePendingPeers requires network.Connected, which a
// limited connection is not). A finite limit would therefore leave a
// relay-only member, or two members behind NATs that do not punch
// (carrier-grade NAT on phones), out of their groups' gossip altogether.
// What bounds the cost instead: who may reserve at all (members of this
// node's groups and the peers its operator names; see relayACL), the
// counts above, the host's resource manager (every relayed stream is a
// stream of the relay host, counted against its system and per-peer limits
// in hostLimits), and the connection manager.
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
// and relay-only mode that cfg asks for (see hostConfig). The relay service
// itself is started by the discovery layer once the node is up
// (startRelayService), since who may use it depends on the node's groups.
func reachabilityOptions(cfg hostConfig) []libp2p.Option {
	var opts []libp2p.Option
	if cfg.relayService {
		opts = append(opts,
			// The relay service is for a node others can reach. The
			// operator said this one is by turning it on (a host's
			// server); waiting for AutoNAT to agree would leave members
			// without a relay on a network AutoNAT cannot probe.
			libp2p.ForceReachabilityPublic(),
			libp2p.EnableAutoNATv2(),
		)
	}
	if len(cfg.relays) > 0 && cfg.reservations != nil {
		// Reservations are made by reserveLoop on every static relay, not
		// by go-libp2p's AutoRelay: AutoRelay advertises a relay only at
		// its public addresses, so a group host's relay on a LAN, a VPN or
		// any address AutoRelay considers private would never be used.
		opts = append(opts,
			libp2p.AddrsFactory(cfg.reservations.addrsFactory),
			// One resolver for the swarm's dials and for the names the
			// relay-only gater allows (resolveRelayNames), so both see the
			// same answers.
			libp2p.MultiaddrResolver(swarm.ResolverFromMaDNS{Resolver: cfg.reservations.resolver}),
		)
		if cfg.relayOnly {
			// Never punch holes: a hole punch is a direct connection,
			// which would show the member's address to the peer.
			opts = append(opts, libp2p.ForceReachabilityPrivate())
		} else {
			opts = append(opts, libp2p.EnableAutoNATv2(), libp2p.EnableHolePunching())
		}
	}
	if cfg.relayOnly {
		g := newRelayOnlyGater(cfg.relays)
		if cfg.reservations != nil && cfg.reservations.gater != nil {
			g = cfg.reservations.gater
		}
		opts = append(opts, libp2p.ConnectionGater(g))
	}
	return opts
}

// relayReservations is the relay client's state that the host and the
// discovery layer share: the circuit addresses of the relays this node
// holds a reservation on (from which it builds the addresses the host
// advertises), the resolver for relays configured by DNS name, and in
// relay-only mode the connection gater.
type relayReservations struct {
	relayOnly bool
	// gater is relay-only mode's connection gater (nil otherwise); the
	// reservation loops give it what relay names resolve to.
	gater *relayOnlyGater
	// resolver resolves DNS multiaddrs for the swarm and the gater.
	resolver *madns.Resolver

	mu    sync.Mutex
	addrs map[peer.ID][]ma.Multiaddr
}

// newRelayReservations returns the relay client state for relays; resolver
// nil means madns.DefaultResolver (the system's resolver).
func newRelayReservations(relayOnly bool, relays []peer.AddrInfo, resolver *madns.Resolver) *relayReservations {
	if resolver == nil {
		resolver = madns.DefaultResolver
	}
	r := &relayReservations{relayOnly: relayOnly, resolver: resolver, addrs: make(map[peer.ID][]ma.Multiaddr)}
	if relayOnly {
		r.gater = newRelayOnlyGater(relays)
	}
	return r
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
// its circuit addresses in res while it holds one. In relay-only mode it
// first resolves the relay's DNS names, before every attempt, so the gater
// lets the node dial the relay only where its names point now.
func reserveLoop(ctx context.Context, h host.Host, relay peer.AddrInfo, res *relayReservations, logger *slog.Logger) {
	defer res.set(relay.ID, nil)
	backoff := time.Second
	for {
		if res.gater != nil {
			res.gater.refreshNames(ctx, res.resolver, relay.ID, logger)
		}
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

// isRelayed reports whether a goes through a circuit relay.
func isRelayed(a ma.Multiaddr) bool {
	if len(a) == 0 {
		return false
	}
	_, err := a.ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}
