package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p"
	libp2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	tls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/hearthnet/hearth/crypto"
)

// This file builds the libp2p host every Hearth node runs: its identity,
// transports, security handshakes and the limits that keep a desktop machine
// responsive when a peer misbehaves. Everything a host does beyond carrying
// Hearth's own streams and gossipsub (discovery, relays, NAT traversal) is
// off unless hostConfig turns it on.

// Hearth's own stream protocols. The host only sizes resource limits for
// them here; their handlers are registered by the code that speaks them.
const (
	// joinProtocolID carries a joiner's invite proof to an admin. It is
	// reachable by anyone who has the admin's address, before any proof of
	// membership, so its limits are the tightest of all.
	joinProtocolID protocol.ID = "/hearth/join/1"
	// syncProtocolID carries history sync between members.
	syncProtocolID protocol.ID = "/hearth/sync/1"
)

// hostUserAgent is what the host reports in libp2p's identify protocol.
// go-libp2p's default is the main module's path and version (or VCS
// revision), which would tell every connected peer exactly which Hearth
// build a member runs, and so which members have not yet installed a
// security fix. A fixed string says no more than the /hearth/ protocol IDs
// the host already advertises.
const hostUserAgent = "hearth"

// Connection manager defaults, sized for a desktop node that is a member of
// a handful of small groups (tens of peers each, most of them shared).
const (
	// defaultConnLow is the number of connections the manager trims down to.
	defaultConnLow = 48
	// defaultConnHigh is the number of connections that starts a trim.
	defaultConnHigh = 96
	// defaultConnGrace protects a new connection from trimming for this
	// long, so a peer has time to join the mesh (and be tagged as valuable by
	// gossipsub) before it can be dropped.
	defaultConnGrace = time.Minute
)

// hostConfig is everything newHost needs. The zero value of every optional
// field is the private, conservative choice.
type hostConfig struct {
	// deviceKey is the node's long-lived Ed25519 key; its public key is the
	// node's peer ID. Required. newHost copies the key bytes, so the caller
	// may wipe its DeviceKey afterwards without breaking the host; the copy
	// is wiped when the host closes.
	deviceKey *crypto.DeviceKey

	// listenAddrs are the multiaddrs to listen on, for example
	// "/ip4/127.0.0.1/tcp/0" and "/ip4/127.0.0.1/udp/0/quic-v1". Only TCP
	// and QUIC (quic-v1) addresses are usable, and only TCP in relay-only
	// mode. Empty means the host listens nowhere and can only dial out
	// (besides, with the relay transport on, the /p2p-circuit listener
	// through which relays bring connections).
	listenAddrs []string

	// connLow, connHigh and connGrace configure the connection manager; zero
	// means defaultConnLow, defaultConnHigh and defaultConnGrace.
	connLow, connHigh int
	connGrace         time.Duration

	// natPortMap asks the router for a port mapping with UPnP or NAT-PMP.
	// Off by default: it announces the node to every device on the LAN that
	// watches UPnP traffic and opens a port on the member's router without
	// asking.
	natPortMap bool

	// relayClient enables the circuit relay v2 client transport: the host
	// can dial peers through a relay and accept connections relays bring
	// it. Off by default; relay-only mode and reservations are built on top
	// of it by the discovery layer, which is not part of the host.
	relayClient bool

	// relays are the static circuit relay v2 nodes to reserve on; non-empty
	// turns on the relay client, AutoNAT v2 and hole punching (unless
	// relayOnly). relayOnly admits direct connections only with these
	// relays and advertises only relayed addresses; relayService runs a
	// relay for others. See reachabilityOptions.
	relays       []peer.AddrInfo
	relayOnly    bool
	relayService bool
	// reservations, when relays is not empty, holds the circuit addresses
	// of the reservations the discovery layer keeps and shapes the
	// addresses the host advertises.
	reservations *relayReservations

	// logger receives the host's own diagnostics. Nil discards them. It never
	// receives content or keys. (go-libp2p's internal subsystems log through
	// their own process-wide handler, which only the binary may set.)
	logger *slog.Logger
}

// errNoDeviceKey is returned when hostConfig has no device key.
var errNoDeviceKey = errors.New("node: host needs a device key")

// errRelayOnlyQUIC is returned by newHost for a QUIC listen address in
// relay-only mode. A QUIC server completes its TLS handshake, and so shows
// its certificate with the node's peer ID, before go-libp2p asks the
// connection gater; a stranger who dialled the member's real address with
// a guessed peer ID would learn that the member is there. Over TCP the
// gater refuses the connection before any handshake.
var errRelayOnlyQUIC = errors.New("node: relay-only mode cannot listen on QUIC: its handshake would prove to anyone who dials the address which node listens there; listen on TCP or nowhere")

// newHost builds and starts a libp2p host from cfg: identity from the device
// key, TCP and QUIC transports, Noise and TLS 1.3 security (QUIC always uses
// its own TLS 1.3), yamux multiplexing, the resource limits of hostLimits, a
// connection manager, and no default bootstrap peers, DHT, relay, NAT port
// mapping or metrics registration.
//
// It returns an error if ctx is already done, if the device key is missing,
// if a listen address does not parse, errRelayOnlyQUIC, or an error if the
// host cannot listen on every address given (it never falls back to
// another address). The caller owns the host and must Close it; Close also
// wipes the host's copy of the device key.
func newHost(ctx context.Context, cfg hostConfig) (host.Host, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("node: building host: %w", err)
	}
	if cfg.deviceKey == nil {
		return nil, errNoDeviceKey
	}
	logger := cfg.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	listen := make([]ma.Multiaddr, 0, len(cfg.listenAddrs))
	for _, s := range cfg.listenAddrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("node: listen address %q: %w", s, err)
		}
		if _, err := a.ValueForProtocol(ma.P_QUIC_V1); err == nil && cfg.relayOnly {
			return nil, errRelayOnlyQUIC
		}
		listen = append(listen, a)
	}

	// libp2p keeps the slice it is given (for a 64-byte key it does not
	// copy), so hand it a copy: a later DeviceKey.Wipe must not zero the
	// key under a running host. keyWipingHost wipes the copy on Close.
	raw := append([]byte(nil), cfg.deviceKey.PrivateKey()...)
	identity, err := libp2pcrypto.UnmarshalEd25519PrivateKey(raw)
	if err != nil {
		crypto.Wipe(raw)
		return nil, fmt.Errorf("node: device key as libp2p identity: %w", err)
	}

	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(hostLimits()))
	if err != nil {
		crypto.Wipe(raw)
		return nil, fmt.Errorf("node: resource manager: %w", err)
	}

	low, high, grace := cfg.connLow, cfg.connHigh, cfg.connGrace
	if low == 0 {
		low = defaultConnLow
	}
	if high == 0 {
		high = defaultConnHigh
	}
	if grace == 0 {
		grace = defaultConnGrace
	}
	cm, err := connmgr.NewConnManager(low, high, connmgr.WithGracePeriod(grace))
	if err != nil {
		rm.Close()
		crypto.Wipe(raw)
		return nil, fmt.Errorf("node: connection manager: %w", err)
	}

	opts := []libp2p.Option{
		libp2p.Identity(identity),
		libp2p.ListenAddrs(listen...),
		// Transports: only these two. WebSocket, WebTransport and WebRTC
		// are go-libp2p defaults that Hearth does not need, and each is
		// more code facing the network.
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		// Security for TCP: Noise is offered first (it is simpler and has
		// no certificate parsing), TLS 1.3 second for peers that only
		// speak TLS. Both authenticate the peer's device key; the handshake
		// transcript binds the peer ID, so a peer cannot claim another ID.
		libp2p.Security(noise.ID, noise.New),
		libp2p.Security(tls.ID, tls.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.UserAgent(hostUserAgent),
		// go-libp2p's metrics register with Prometheus's process-wide
		// default registry; a library must not touch global state.
		libp2p.DisableMetrics(),
	}
	if cfg.relayClient || len(cfg.relays) > 0 || cfg.relayService {
		opts = append(opts, libp2p.EnableRelay())
	} else {
		opts = append(opts, libp2p.DisableRelay())
	}
	if cfg.natPortMap {
		opts = append(opts, libp2p.NATPortMap())
	}
	opts = append(opts, reachabilityOptions(cfg)...)

	h, err := libp2p.New(opts...)
	if err != nil {
		// libp2p.New closes these itself on some failure paths and not
		// on others; closing them twice is harmless.
		cm.Close()
		rm.Close()
		crypto.Wipe(raw)
		return nil, fmt.Errorf("node: starting libp2p host: %w", err)
	}
	kh := &keyWipingHost{Host: h, key: raw}
	// libp2p fails only when it can listen on none of the addresses; a
	// node told to listen in two places and listening in one would be
	// unreachable where its invites say it is, so that is an error here.
	// The /p2p-circuit listener of the relay transport is no address of
	// the list and is not counted.
	if got := len(directAddrs(h.Network().ListenAddresses())); got < len(listen) {
		kh.Close()
		return nil, fmt.Errorf("node: listening on %d of %d addresses %v", got, len(listen), cfg.listenAddrs)
	}
	logger.Debug("libp2p host started", "peer", h.ID().String(), "listen", logAddrs(logger, h.Network().ListenAddresses()))
	return kh, nil
}

// directAddrs returns the addresses of addrs that are not relayed.
func directAddrs(addrs []ma.Multiaddr) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, a := range addrs {
		if !isRelayed(a) {
			out = append(out, a)
		}
	}
	return out
}

// keyWipingHost is the host newHost returns: go-libp2p's, whose Close
// also erases the copy of the device key that the host's identity holds.
// go-libp2p's identity, the peerstore's key book, Noise and TLS all share
// that one copy, so after Close the key is zeros everywhere; nothing signs
// with it then, since every service of the host stops in Close. Secrets
// go-libp2p derived from it (QUIC's stateless-reset and token keys) are out
// of reach and are not wiped.
type keyWipingHost struct {
	host.Host
	key []byte
}

// Close closes the host, then wipes the key.
func (h *keyWipingHost) Close() error {
	err := h.Host.Close()
	crypto.Wipe(h.key)
	return err
}

// Resource limits for a desktop node. The resource manager refuses any
// connection, stream or memory reservation beyond them, so a peer that opens
// streams in a loop exhausts its own allowance, not the machine.
//
// The base is go-libp2p's default scaling table (with its limits for
// identify, ping and the other built-in services) scaled to hostMemory and
// hostFDs, not to the machine's size: a desktop app should not claim an
// eighth of the RAM the way a dedicated server node would. The partial
// config below then overrides what Hearth knows better.
const (
	// hostMemory is the memory libp2p may reserve in total (buffers, yamux
	// windows).
	hostMemory = 256 << 20
	// hostFDs is the number of file descriptors libp2p may use in total
	// (TCP connections; QUIC shares one UDP socket per listen address).
	hostFDs = 512
)

// hostLimits returns the concrete limits newHost installs.
func hostLimits() rcmgr.ConcreteLimitConfig {
	scaling := rcmgr.DefaultLimits // a copy; its maps are nil and are built below
	libp2p.SetDefaultServiceLimits(&scaling)
	base := scaling.Scale(hostMemory, hostFDs)

	partial := rcmgr.PartialLimitConfig{
		// The whole node: enough for a member of a few small groups plus
		// discovery and relay traffic, with inbound connections bounded
		// below outbound ones so strangers cannot take every slot.
		System: rcmgr.ResourceLimits{
			Conns:           192,
			ConnsInbound:    96,
			ConnsOutbound:   192,
			Streams:         2048,
			StreamsInbound:  1024,
			StreamsOutbound: 2048,
			FD:              hostFDs,
			Memory:          hostMemory,
		},
		// Connections and streams not yet attributed to a peer or protocol
		// (mid-handshake, mid-negotiation). A flood of half-open handshakes
		// stalls here without touching the system budget beyond this.
		Transient: rcmgr.ResourceLimits{
			Conns:           32,
			ConnsInbound:    16,
			ConnsOutbound:   32,
			Streams:         128,
			StreamsInbound:  64,
			StreamsOutbound: 128,
			FD:              64,
			Memory:          32 << 20,
		},
		// Any single peer: a TCP and a QUIC connection each way plus
		// slack for a relayed one, and far fewer streams than the system.
		PeerDefault: rcmgr.ResourceLimits{
			Conns:           8,
			ConnsInbound:    4,
			ConnsOutbound:   8,
			Streams:         256,
			StreamsInbound:  128,
			StreamsOutbound: 128,
			FD:              8,
			Memory:          32 << 20,
		},
		Protocol: map[protocol.ID]rcmgr.ResourceLimits{
			// Unauthenticated at first contact: a handful of joiners at a
			// time is plenty for an admin's node.
			joinProtocolID: {Streams: 32, StreamsInbound: 16, StreamsOutbound: 16, Memory: 8 << 20},
			syncProtocolID: {Streams: 128, StreamsInbound: 64, StreamsOutbound: 64, Memory: 64 << 20},
		},
		ProtocolPeer: map[protocol.ID]rcmgr.ResourceLimits{
			// One join attempt per peer at a time, and one to send.
			joinProtocolID: {Streams: 2, StreamsInbound: 1, StreamsOutbound: 1, Memory: 1 << 20},
			// A member syncs a few groups at once with a given peer.
			syncProtocolID: {Streams: 8, StreamsInbound: 4, StreamsOutbound: 4, Memory: 16 << 20},
		},
	}
	return partial.Build(base)
}
