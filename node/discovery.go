package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/discovery"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"
	ma "github.com/multiformats/go-multiaddr"
)

// This file finds a group's members without any server of Hearth's:
// go-libp2p-kad-dht on Hearth's own protocol prefix, routing discovery under
// rendezvous namespaces derived from each group's epoch secret, and
// (optionally) mDNS on the LAN. Nothing here decides who is a member: a peer
// found by any of these means is only dialled; the topic validator and the
// sync guard decide what its traffic is worth.

// DiscoveryConfig says how a node finds and reaches its groups' members
// beyond the addresses in invites and the peers it has met. Its zero value
// finds nobody new: no DHT, no relays, no mDNS, no NAT traversal; the node
// then reaches members only by the invite's addresses and the peers it
// remembers.
type DiscoveryConfig struct {
	// BootstrapPeers are multiaddrs ending in /p2p/<peer ID> of Hearth DHT
	// nodes to join the DHT through (a group host's server, a friend's
	// node). Non-empty turns the DHT on.
	BootstrapPeers []string
	// DHTServer makes the node answer DHT queries (kad-dht server mode) and
	// turns the DHT on even without bootstrap peers (a bootstrap node itself
	// needs none). Only a node others can dial should serve; a relay
	// service node always does.
	DHTServer bool

	// StaticRelays are multiaddrs ending in /p2p/<peer ID> of circuit relay
	// v2 nodes. The node keeps a reservation on each and advertises the
	// relayed addresses besides its own, so peers that cannot dial it
	// directly reach it through a relay. Non-empty also turns on AutoNAT v2
	// and hole punching (DCUtR), which upgrade a relayed connection to a
	// direct one when both routers allow it.
	StaticRelays []string
	// RelayOnly connects only through StaticRelays: the node dials no one
	// directly but the relays (at their configured addresses, or where
	// their configured DNS names resolve), refuses every direct incoming
	// connection before any handshake, and advertises only its relayed
	// addresses, so fellow members see the relay's address and never the
	// node's (see relayOnlyGater). It needs StaticRelays, cannot be
	// combined with MDNS or RelayService (errBadDiscovery), and refuses
	// QUIC listen addresses (errRelayOnlyQUIC); Config.ListenAddrs may be
	// empty, since the node needs to listen nowhere.
	RelayOnly bool
	// RelayService turns this node into a circuit relay v2 (a group host's
	// reachable server) for the members of its groups and the peers in
	// RelayFor, within the limits documented at relayResources; see
	// relayACL for who counts as a member. It implies DHTServer, and that
	// the node is reachable at its listen addresses.
	RelayService bool
	// RelayFor are peer IDs the relay service serves besides the members
	// of this node's groups: the operator's own devices, say, when the
	// relay is a server that is in none of their groups. Needs
	// RelayService.
	RelayFor []string

	// MDNS announces the node on the local network and dials Hearth peers
	// found there. Off by default: an mDNS announcement is a multicast the
	// whole LAN receives, carrying the node's peer ID and addresses, which on
	// a café's or an employer's network says "a Hearth user is here" and
	// lets anyone on it link the device across visits by its peer ID.
	MDNS bool

	// interval is how often groups advertise and look up their rendezvous
	// namespaces; zero means defaultRendezvousInterval (tests shorten it).
	interval time.Duration
}

// errBadDiscovery is returned by New for a DiscoveryConfig that cannot work.
var errBadDiscovery = errors.New("node: discovery config")

// Rendezvous timing.
const (
	// defaultRendezvousInterval is how often every group re-advertises and
	// looks for members it is not connected to. Provider records live for a
	// day in kad-dht; ten minutes finds a member who just came online
	// quickly without querying the DHT more than a few times an hour.
	defaultRendezvousInterval = 10 * time.Minute
	// rendezvousOverlap is how close to midnight UTC a node also uses the
	// neighbouring day's namespace, so members whose clocks differ by less
	// than this still meet.
	rendezvousOverlap = time.Hour
	// rendezvousTimeout bounds one advertise or lookup.
	rendezvousTimeout = time.Minute
	// rendezvousMaxPeers bounds how many advertisers one lookup returns.
	rendezvousMaxPeers = 64
	// mdnsServiceName is the DNS-SD service mDNS announces.
	mdnsServiceName = "_hearth._udp"
)

// parsedDiscovery is a DiscoveryConfig with its addresses parsed.
type parsedDiscovery struct {
	cfg       DiscoveryConfig
	bootstrap []peer.AddrInfo
	relays    []peer.AddrInfo
	// reservations is shared with the host (its AddrsFactory); nil
	// without relays.
	reservations *relayReservations
	// relayFor are the peers the relay service serves besides members.
	relayFor []peer.ID
}

// dhtEnabled says whether the node runs the DHT.
func (p parsedDiscovery) dhtEnabled() bool {
	return len(p.bootstrap) > 0 || p.cfg.DHTServer || p.cfg.RelayService
}

// parseDiscovery checks cfg and parses its addresses. Errors wrap
// errBadDiscovery.
func parseDiscovery(cfg DiscoveryConfig) (parsedDiscovery, error) {
	p := parsedDiscovery{cfg: cfg}
	var err error
	if p.bootstrap, err = parsePeerAddrs(cfg.BootstrapPeers); err != nil {
		return p, fmt.Errorf("%w: bootstrap peer: %w", errBadDiscovery, err)
	}
	if p.relays, err = parsePeerAddrs(cfg.StaticRelays); err != nil {
		return p, fmt.Errorf("%w: relay: %w", errBadDiscovery, err)
	}
	for _, s := range cfg.RelayFor {
		id, err := peer.Decode(s)
		if err != nil {
			return p, fmt.Errorf("%w: relay for %q: not a peer ID: %w", errBadDiscovery, s, err)
		}
		p.relayFor = append(p.relayFor, id)
	}
	if len(p.relayFor) > 0 && !cfg.RelayService {
		return p, fmt.Errorf("%w: peers to relay for, but the relay service is off", errBadDiscovery)
	}
	if len(p.relays) > 0 {
		p.reservations = newRelayReservations(cfg.RelayOnly, p.relays, nil)
	}
	if cfg.RelayOnly {
		switch {
		case len(p.relays) == 0:
			return p, fmt.Errorf("%w: relay-only mode needs at least one static relay", errBadDiscovery)
		case cfg.MDNS:
			return p, fmt.Errorf("%w: relay-only mode cannot announce the node with mDNS", errBadDiscovery)
		case cfg.RelayService:
			return p, fmt.Errorf("%w: a relay-only node cannot be a relay", errBadDiscovery)
		}
	}
	return p, nil
}

// parsePeerAddrs parses multiaddrs ending in /p2p/<peer ID>, merging the
// addresses of the same peer.
func parsePeerAddrs(addrs []string) ([]peer.AddrInfo, error) {
	var mas []ma.Multiaddr
	for _, s := range addrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		if _, err := a.ValueForProtocol(ma.P_P2P); err != nil {
			return nil, fmt.Errorf("%q does not end in /p2p/<peer ID>", s)
		}
		mas = append(mas, a)
	}
	infos, err := peer.AddrInfosFromP2pAddrs(mas...)
	if err != nil {
		return nil, err
	}
	return infos, nil
}

// discoverer runs the DHT, rendezvous, mDNS and the relay service of one
// node.
type discoverer struct {
	n        *Node
	cfg      parsedDiscovery
	dht      *dht.IpfsDHT
	rd       *drouting.RoutingDiscovery
	mdns     mdns.Service
	relay    *relayService
	interval time.Duration
}

// startDiscovery starts what cfg turns on. The goroutines it starts are
// tracked by n.wg and stop when n.ctx is done; the DHT, mDNS and the relay
// service are closed then.
func (n *Node) startDiscovery(cfg parsedDiscovery) error {
	d := &discoverer{n: n, cfg: cfg, interval: cfg.cfg.interval}
	if d.interval <= 0 {
		d.interval = defaultRendezvousInterval
	}
	if cfg.cfg.RelayService {
		r, err := n.startRelayService(cfg.relayFor)
		if err != nil {
			return fmt.Errorf("node: starting the relay service: %w", err)
		}
		d.relay = r
	}
	if cfg.dhtEnabled() {
		mode := dht.ModeClient
		if cfg.cfg.DHTServer || cfg.cfg.RelayService {
			mode = dht.ModeServer
		}
		// The "/hearth" prefix makes the DHT speak /hearth/kad/1.0.0: IPFS
		// nodes do not answer it and Hearth nodes answer nothing else, so
		// Hearth's provider records never reach the public IPFS DHT.
		k, err := dht.New(n.host,
			dht.Mode(mode),
			dht.ProtocolPrefix(dhtProtocolPrefix),
			dht.BootstrapPeers(cfg.bootstrap...),
		)
		if err != nil {
			d.close()
			return fmt.Errorf("node: starting the DHT: %w", err)
		}
		d.dht = k
		d.rd = drouting.NewRoutingDiscovery(k)
	}
	if cfg.cfg.MDNS {
		d.mdns = mdns.NewMdnsService(n.host, mdnsServiceName, mdnsNotifee{d: d})
		if err := d.mdns.Start(); err != nil {
			d.mdns = nil
			d.close()
			return fmt.Errorf("node: starting mDNS: %w", err)
		}
	}
	n.mu.Lock()
	n.disc = d
	n.mu.Unlock()
	if !n.goTracked(d.run) {
		d.close()
	}
	return nil
}

// dhtProtocolPrefix is the kad-dht protocol prefix of Hearth's DHT.
const dhtProtocolPrefix = "/hearth"

// close stops the DHT, mDNS and the relay service.
func (d *discoverer) close() {
	if d.mdns != nil {
		d.mdns.Close()
	}
	if d.dht != nil {
		d.dht.Close()
	}
	if d.relay != nil {
		d.relay.close()
	}
}

// run connects to the bootstrap peers and the relays, then advertises and
// looks up every group's rendezvous namespaces every interval until the
// node closes.
func (d *discoverer) run() {
	defer d.close()
	for _, r := range d.cfg.relays {
		d.n.goTracked(func() { reserveLoop(d.n.ctx, d.n.host, r, d.cfg.reservations, d.n.log) })
	}
	d.dialAll(d.cfg.bootstrap)
	if d.dht == nil {
		<-d.n.ctx.Done()
		return
	}
	if err := d.dht.Bootstrap(d.n.ctx); err != nil {
		d.n.log.Warn("bootstrapping the DHT failed", "err", redactErr(d.n.log, err))
	}
	t := time.NewTicker(d.interval)
	defer t.Stop()
	for {
		d.rendezvous()
		select {
		case <-d.n.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// dialAll connects to every peer in ais that is not connected, in parallel,
// and waits for the attempts.
func (d *discoverer) dialAll(ais []peer.AddrInfo) {
	var wg sync.WaitGroup
	for _, ai := range ais {
		if ai.ID == d.n.host.ID() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.dial(ai, "a configured peer")
		}()
	}
	wg.Wait()
}

// dial connects to ai unless already connected, logging the outcome with
// its addresses redacted (see logAddrs). In relay-only mode it dials only
// what relayOnlyGater.dialable leaves of ai: a provider record is someone
// else's word for where a peer is.
func (d *discoverer) dial(ai peer.AddrInfo, what string) bool {
	if d.n.host.Network().Connectedness(ai.ID) == network.Connected {
		return true
	}
	if g := d.n.relayOnlyGater(); g != nil {
		var ok bool
		if ai, ok = g.dialable(ai); !ok {
			return false
		}
	}
	ctx, cancel := context.WithTimeout(d.n.ctx, dialTimeout)
	defer cancel()
	if err := d.n.host.Connect(ctx, ai); err != nil {
		d.n.log.Debug("dialling "+what+" failed", "peer", ai.ID.String(), "addrs", logAddrs(d.n.log, ai.Addrs), "err", redactErr(d.n.log, err))
		return false
	}
	return true
}

// rendezvousDays returns the UTC days whose namespaces a node uses at now:
// today, and the neighbouring day within rendezvousOverlap of midnight.
func rendezvousDays(now time.Time) []int64 {
	now = now.UTC()
	day := now.Unix() / 86400
	days := []int64{day}
	into := time.Duration(now.Unix()%86400) * time.Second
	if into < rendezvousOverlap {
		days = append(days, day-1)
	}
	if 24*time.Hour-into <= rendezvousOverlap {
		days = append(days, day+1)
	}
	return days
}

// rendezvousNamespaces returns the namespaces g's members use at now, from
// the current epoch's keys; none when the member was removed or left.
func (g *Group) rendezvousNamespaces(now time.Time) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || g.sess.Removed() {
		return nil
	}
	keys, err := g.sess.Keys(g.sess.GroupState().Epoch)
	if err != nil {
		return nil
	}
	defer keys.Wipe()
	var out []string
	for _, day := range rendezvousDays(now) {
		out = append(out, keys.RendezvousNamespace(day))
	}
	return out
}

// rendezvous advertises every group's namespaces and dials the peers that
// advertise them. Advertising is a provider record on the DHT nodes closest
// to the namespace's hash: they learn the hash, this node's peer ID and its
// advertised addresses, and when it refreshes; not which group the hash
// belongs to (it comes from the epoch secret) nor which hash it will use
// tomorrow.
func (d *discoverer) rendezvous() {
	seen := make(map[string]bool)
	var wg sync.WaitGroup
	for _, g := range d.n.Groups() {
		for _, ns := range g.rendezvousNamespaces(d.n.now()) {
			if seen[ns] {
				continue
			}
			seen[ns] = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.rendezvousOne(ns)
			}()
		}
	}
	wg.Wait()
}

// rendezvousOne advertises ns and dials every other advertiser found.
func (d *discoverer) rendezvousOne(ns string) {
	ctx, cancel := context.WithTimeout(d.n.ctx, rendezvousTimeout)
	defer cancel()
	if _, err := d.rd.Advertise(ctx, ns, discovery.TTL(3*d.interval+time.Hour)); err != nil {
		// Most often: no DHT peer reachable yet. The next round retries.
		d.n.log.Debug("advertising a rendezvous namespace failed", "err", redactErr(d.n.log, err))
	}
	found, err := d.rd.FindPeers(ctx, ns, discovery.Limit(rendezvousMaxPeers))
	if err != nil {
		d.n.log.Debug("looking up a rendezvous namespace failed", "err", redactErr(d.n.log, err))
		return
	}
	var wg sync.WaitGroup
	for ai := range found {
		if ai.ID == d.n.host.ID() || ai.ID == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.dial(ai, "a rendezvous peer")
		}()
	}
	wg.Wait()
}

// Rendezvous runs one round of rendezvous now: every group advertises its
// current namespaces and dials the members that advertise them. It returns
// ErrClosed after Close and errNoDHT wrapped when the node runs no DHT.
// The node also does this on its own every few minutes; call it after a
// network change to be found again sooner.
func (n *Node) Rendezvous() error {
	n.mu.Lock()
	closed, d := n.closed, n.disc
	n.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if d == nil || d.dht == nil {
		return fmt.Errorf("node: rendezvous: %w", ErrNoDHT)
	}
	d.rendezvous()
	return nil
}

// ErrNoDHT is returned by Rendezvous when the node was configured without a
// DHT (no bootstrap peers, not a DHT server).
var ErrNoDHT = errors.New("no DHT configured")

// mdnsNotifee dials the Hearth peers mDNS finds.
type mdnsNotifee struct{ d *discoverer }

// HandlePeerFound implements mdns.Notifee. It runs on mDNS's goroutine, so
// the dial runs on one the node tracks.
func (m mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	if ai.ID == m.d.n.host.ID() {
		return
	}
	m.d.n.goTracked(func() { m.d.dial(ai, "an mDNS peer") })
}

// logAddrs returns addrs for a log attribute: the addresses themselves
// when logger records debug messages, otherwise only how many there are. An
// IP address says where a member lives and works; it is written to logs,
// which end up in bug reports, only when a person explicitly turned debug
// logging on.
func logAddrs(logger *slog.Logger, addrs []ma.Multiaddr) slog.Value {
	if logger.Enabled(context.Background(), slog.LevelDebug) {
		return slog.AnyValue(fmt.Sprint(addrs))
	}
	return slog.StringValue(fmt.Sprintf("[%d addresses redacted]", len(addrs)))
}

// libraryLogLevel is the least severe level of a library's own logs (such
// as gossipsub's) that reaches logger: warnings, or everything when logger
// records debug messages. Their info lines are about the library's
// internals and some name peers.
func libraryLogLevel(logger *slog.Logger) slog.Level {
	if logger.Enabled(context.Background(), slog.LevelDebug) {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}

// redactErr returns err's text for a log attribute, or a fixed string when
// logger does not record debug messages: libp2p's dial errors list every
// address tried.
func redactErr(logger *slog.Logger, err error) string {
	if logger.Enabled(context.Background(), slog.LevelDebug) {
		return err.Error()
	}
	return "[redacted: enable debug logging for details]"
}
