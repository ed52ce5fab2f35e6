package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// Config is what New needs. DataDir and Keystore are required.
type Config struct {
	// DataDir is a home made by InitHome.
	DataDir string
	// Keystore is the home's keystore, unlocked by the caller (UnlockHome).
	// The node uses its device key and storage root and does not close it;
	// close it after the node.
	Keystore *crypto.Keystore
	// ListenAddrs are the multiaddrs to listen on, for example
	// "/ip4/127.0.0.1/tcp/0" and "/ip4/127.0.0.1/udp/0/quic-v1". Empty
	// means the node only dials out (and then cannot issue invites anyone
	// can use).
	ListenAddrs []string
	// Logger receives the node's diagnostics; nil discards them. Logs never
	// carry content, pseudonyms, group names, keys or invites; peer IDs
	// appear at debug level only.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of randomness for keys, nonces and IDs; nil means
	// crypto/rand.
	Rand io.Reader
	// EventBuffer is each subscription's buffer; zero means 256.
	EventBuffer int
	// RateLimit bounds how many messages each member may have this node
	// accept per group; the zero value means 60 per minute with bursts of
	// 20.
	RateLimit RateLimit
	// Discovery says how the node finds and reaches members beyond invites
	// and remembered peers (DHT, relays, NAT traversal, mDNS); the zero
	// value adds nothing. See DiscoveryConfig.
	Discovery DiscoveryConfig
	// MeetingReminder is how long before a meeting starts the node emits
	// EventMeetingSoon; zero means DefaultMeetingReminder (10 minutes),
	// a negative value turns reminders off.
	MeetingReminder time.Duration
	// CrisisResources replace, region by region, the crisis resources
	// Hearth ships with (crisis.go); CrisisRegion is the region shown when
	// none is asked for ("" shows the international ones only).
	CrisisResources []CrisisResource
	CrisisRegion    string

	// Mailbox runs the node as a mailbox for the groups that register it
	// (mailbox.go); the zero value runs none.
	Mailbox MailboxConfig

	// joinTimeout overrides defaultJoinTimeout (tests of silent peers).
	joinTimeout time.Duration
	// addrAnnounceEvery overrides defaultAddrAnnounceEvery (addresses.go).
	addrAnnounceEvery time.Duration
}

// RateLimit is a token bucket: Burst messages at once, refilled at PerMinute
// per minute. Messages over the limit are dropped by the topic validator
// without penalty to the peer that forwarded them (it may be an honest
// member relaying), and are not forwarded further.
type RateLimit struct{ PerMinute, Burst int }

// Default per-member rate limit. A person typing in a support group writes
// a message every few seconds at the most; 60 a minute, with bursts of 20
// (a paste split into several posts), leaves room for that while keeping one
// member's flood from drowning a group of hundreds.
const (
	defaultRatePerMinute = 60
	defaultRateBurst     = 20
)

// Node is a running Hearth node: one libp2p host, one gossipsub router, one
// store, and the groups this member belongs to. Its methods are safe for
// concurrent use.
//
// Lifecycle: New starts everything (host, gossipsub, the /hearth/join/1
// handler, the groups' topics and the node's timer goroutine); Close stops
// every goroutine the node started, leaves every topic, and closes the host
// and the store. After Close every method returns ErrClosed (or nothing).
//
// Locking: n.mu guards the maps below it and closed, and is a leaf lock:
// nothing else is locked while it is held (except the event broker's).
// A Group's own lock may be held while n.mu is taken, never the other way
// round.
type Node struct {
	log  *slog.Logger
	now  func() time.Time
	rand io.Reader
	rate RateLimit

	host   host.Host
	ps     *pubsub.PubSub
	mesh   *meshTracker
	store  *storage.Store
	events *broker
	joinRL *limiter[peer.ID]

	// ctx is done when Close starts; every goroutine the node runs
	// watches it. wg counts them.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// wake asks the timer goroutine to run its work now rather than at the
	// next tick (an epoch changed, a topic must be joined).
	wake chan struct{}

	mu      sync.Mutex
	groups  map[crypto.GroupID]*Group
	invites map[crypto.InviteID]crypto.GroupID
	joins   map[crypto.GroupID]*pendingJoin
	closed  bool

	// joinTimeout bounds one /hearth/join/1 exchange.
	joinTimeout time.Duration
	notifee     *network.NotifyBundle
	// reach is the host's latest reachability judgement (reachability.go).
	reach reachability
	// disc runs the DHT, rendezvous and mDNS (discovery.go); set once by
	// New, read under mu.
	disc *discoverer
	// mbox is the mailbox side (mailbox.go), nil unless Config.Mailbox
	// enables it; set once by New.
	mbox *mailbox
	// mentor serialises changes to mentorship records (mentor.go).
	mentor mentorState
	// crisis holds the crisis resources (crisis.go); set once by New.
	crisis *CrisisDirectory
	// penalties is the application-specific part of peer scores
	// (penalties.go); set once by New.
	penalties *penalties

	closeOnce sync.Once
	closeErr  error
}

// Intervals of the node's timer goroutine.
const (
	// tickInterval drives the quick checks: pending chain-key
	// announcements waiting for the topic's mesh.
	tickInterval = 200 * time.Millisecond
	// maintainInterval drives session key expiry, topic rotation after the
	// grace period, retrying pending joins and persisting peers.
	maintainInterval = 15 * time.Second
	// retentionInterval drives storage retention.
	retentionInterval = time.Minute
	// reconnectInterval drives redialling known group peers that are not
	// connected.
	reconnectInterval = time.Minute
)

// New starts a node from the home in cfg.DataDir, reloading every group the
// store holds (sessions, history, invites, waiting rooms), rejoining their
// topics, reconnecting to the peers seen in them, and resuming joins that
// wait for approval. ctx bounds the start only; the node runs until Close.
//
// It returns ErrNoHome (wrapped) when the home has no store, the store's
// errors (storage.ErrWrongKey when the keystore is not the one the store was
// made with, storage.ErrLocked when another node has it open, ...), and an
// error if the host cannot listen on every address.
func New(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Keystore == nil || cfg.Keystore.DeviceKey() == nil {
		return nil, errors.New("node: config needs an unlocked keystore")
	}
	if cfg.DataDir == "" {
		return nil, errors.New("node: config needs a data directory")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	n := &Node{
		log:     logger,
		now:     cfg.Now,
		rand:    cfg.Rand,
		rate:    cfg.RateLimit,
		events:  newBroker(cfg.EventBuffer),
		joinRL:  newLimiter[peer.ID](joinAttemptsPerMinute, joinAttemptsBurst, maxLimiterEntries),
		wake:    make(chan struct{}, 1),
		groups:  make(map[crypto.GroupID]*Group),
		invites: make(map[crypto.InviteID]crypto.GroupID),
		joins:   make(map[crypto.GroupID]*pendingJoin),
	}
	if n.now == nil {
		n.now = time.Now
	}
	n.joinTimeout = cfg.joinTimeout
	if n.joinTimeout <= 0 {
		n.joinTimeout = defaultJoinTimeout
	}
	if n.rate.PerMinute <= 0 {
		n.rate.PerMinute = defaultRatePerMinute
	}
	if n.rate.Burst <= 0 {
		n.rate.Burst = defaultRateBurst
	}

	disc, err := parseDiscovery(cfg.Discovery)
	if err != nil {
		return nil, err
	}
	if n.crisis, err = NewCrisisDirectory(cfg.CrisisResources, cfg.CrisisRegion); err != nil {
		return nil, err
	}
	root := cfg.Keystore.StorageRoot()
	if root == nil {
		return nil, errors.New("node: keystore is closed")
	}
	keys := crypto.DeriveStorageKeys(root)
	st, err := storage.Open(filepath.Join(cfg.DataDir, storeDir), keys, storage.Options{Logger: logger.With("system", "storage")})
	keys.Wipe()
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("node: %s: %w", cfg.DataDir, ErrNoHome)
	}
	if err != nil {
		return nil, fmt.Errorf("node: opening store: %w", err)
	}
	n.store = st

	h, err := newHost(ctx, hostConfig{
		deviceKey: cfg.Keystore.DeviceKey(), listenAddrs: cfg.ListenAddrs, logger: logger,
		relays: disc.relays, relayOnly: disc.cfg.RelayOnly, relayService: disc.cfg.RelayService,
		reservations: disc.reservations,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	n.host = h
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.mesh = newMeshTracker()
	n.penalties = newPenalties(n.now)
	ps, err := newPubSub(n.ctx, h, pubsubConfig{logger: logger, rawTracer: n.mesh, appScore: n.penalties.score})
	if err != nil {
		n.cancel()
		h.Close()
		st.Close()
		return nil, err
	}
	n.ps = ps

	if err := n.load(); err != nil {
		n.Close()
		return nil, err
	}
	h.SetStreamHandler(joinProtocolID, n.handleJoinStream)
	n.notifee = n.connectedNotifee()
	h.Network().Notify(n.notifee)
	n.startSync()
	if cfg.Mailbox.Enabled {
		if err := n.startMailbox(cfg.Mailbox); err != nil {
			n.Close()
			return nil, fmt.Errorf("node: starting the mailbox: %w", err)
		}
	}
	for _, g := range n.Groups() {
		if err := g.reconcileTopics(); err != nil {
			n.log.Warn("rejoining a group's topics failed; retrying later", "err", err)
		}
	}
	if err := n.watchReachability(); err != nil {
		n.Close()
		return nil, fmt.Errorf("node: watching reachability: %w", err)
	}
	n.wg.Add(1)
	go n.loop()
	n.kick()
	n.watchMentorships()
	if err := n.startDiscovery(disc); err != nil {
		n.Close()
		return nil, err
	}
	if err := n.startAddrAnnouncer(disc.cfg.RelayOnly, cfg.addrAnnounceEvery); err != nil {
		n.Close()
		return nil, err
	}
	n.startMeetings(cfg.MeetingReminder)
	return n, nil
}

// load reads every group, invite and pending join from the store.
func (n *Node) load() error {
	ids, err := n.store.Groups()
	if err != nil {
		return fmt.Errorf("node: listing groups: %w", err)
	}
	for _, id := range ids {
		g, err := n.loadGroup(id)
		if err != nil {
			return fmt.Errorf("node: loading a group: %w", err)
		}
		n.groups[id] = g
		for _, inv := range g.loadInviteIDs() {
			n.invites[inv] = id
		}
	}
	joins, err := n.loadPendingJoins()
	if err != nil {
		return err
	}
	for _, pj := range joins {
		n.joins[pj.group] = pj
	}
	return nil
}

// Close leaves every topic, stops the node's goroutines and stream
// handlers, closes the host and flushes and closes the store. Every write
// the node acknowledged is durable afterwards. Close is idempotent; later
// calls return the first call's result.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.mu.Lock()
		n.closed = true
		groups := make([]*Group, 0, len(n.groups))
		for _, g := range n.groups {
			groups = append(groups, g)
		}
		n.mu.Unlock()

		var errs []error
		if n.host != nil {
			n.host.RemoveStreamHandler(joinProtocolID)
			if n.notifee != nil {
				n.host.Network().StopNotify(n.notifee)
			}
		}
		if n.cancel != nil {
			n.cancel()
		}
		if n.mbox != nil {
			n.mbox.close()
		}
		for _, g := range groups {
			g.close()
		}
		n.wg.Wait()
		n.events.close()
		if n.host != nil {
			if err := n.host.Close(); err != nil {
				errs = append(errs, fmt.Errorf("node: closing host: %w", err))
			}
		}
		if n.store != nil {
			if err := n.store.Close(); err != nil {
				errs = append(errs, fmt.Errorf("node: closing store: %w", err))
			}
		}
		n.mu.Lock()
		for _, pj := range n.joins {
			pj.wipe()
		}
		n.mu.Unlock()
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

// isClosed reports whether Close has started.
func (n *Node) isClosed() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.closed
}

// goTracked runs f on a goroutine that Close waits for, unless the node is
// closing, in which case it returns false and does not run f.
func (n *Node) goTracked(f func()) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return false
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
	return true
}

// PeerID returns the node's libp2p peer ID.
func (n *Node) PeerID() peer.ID { return n.host.ID() }

// Addrs returns the node's listen addresses, each ending in /p2p/<peer ID>.
func (n *Node) Addrs() []ma.Multiaddr {
	p2p, err := ma.NewComponent("p2p", n.host.ID().String())
	if err != nil {
		return nil
	}
	var out []ma.Multiaddr
	for _, a := range n.host.Addrs() {
		out = append(out, a.Encapsulate(p2p.Multiaddr()))
	}
	return out
}

// Connect dials ai and keeps its addresses for later. It returns
// ErrClosed after Close, and the dial's error.
func (n *Node) Connect(ctx context.Context, ai peer.AddrInfo) error {
	if n.isClosed() {
		return ErrClosed
	}
	if err := n.host.Connect(ctx, ai); err != nil {
		return fmt.Errorf("node: connecting: %w", err)
	}
	return nil
}

// ConnectedPeers returns the peers the node has an open connection to.
func (n *Node) ConnectedPeers() []peer.ID {
	return n.host.Network().Peers()
}

// Groups returns the node's groups (including those it was removed from,
// whose history stays readable), ordered by ID.
func (n *Node) Groups() []*Group {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*Group, 0, len(n.groups))
	for _, g := range n.groups {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b *Group) int { return compareIDs(a.id[:], b.id[:]) })
	return out
}

// Group returns the group with the given ID, or ErrNoGroup (wrapped).
func (n *Node) Group(id crypto.GroupID) (*Group, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrClosed
	}
	g, ok := n.groups[id]
	if !ok {
		return nil, fmt.Errorf("node: group %s: %w", id, ErrNoGroup)
	}
	return g, nil
}

// Subscribe starts a subscription to every event of every group. After
// Close the subscription's channel is already closed.
func (n *Node) Subscribe() *Subscription { return n.events.subscribe() }

// CreateGroup creates a group with this member as its only member and host,
// persists it and joins its topic. It returns protocol.ErrBadGroupName or
// protocol.ErrBadPseudonym (wrapped) for names that break the rules, and
// ErrClosed after Close.
func (n *Node) CreateGroup(ctx context.Context, opts GroupOptions) (*Group, error) {
	if n.isClosed() {
		return nil, ErrClosed
	}
	if opts.Retention < 0 {
		return nil, errors.New("node: retention must not be negative")
	}
	sess, err := protocol.NewGroup(opts.Name, opts.Pseudonym, uint64(opts.Retention/time.Second), n.rand)
	if err != nil {
		return nil, fmt.Errorf("node: creating group: %w", err)
	}
	return n.installGroup(sess, nil)
}

// installGroup persists a new session as a group, registers it and joins
// its topic. prepare, if not nil, runs with g.mu held before the session is
// persisted. On error the session is wiped and nothing is registered.
func (n *Node) installGroup(sess *protocol.Session, prepare func(*Group) error) (*Group, error) {
	st := sess.GroupState()
	g := newGroup(n, st.ID, sess)
	if err := n.store.SetRetention(st.ID, time.Duration(st.Retention)*time.Second); err != nil {
		sess.Wipe()
		return nil, fmt.Errorf("node: storing retention: %w", err)
	}
	g.mu.Lock()
	var err error
	if prepare != nil {
		err = prepare(g)
	}
	if err == nil {
		err = g.persistLocked()
	}
	g.mu.Unlock()
	if err != nil {
		sess.Wipe()
		return nil, err
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		g.close()
		return nil, ErrClosed
	}
	if _, dup := n.groups[st.ID]; dup {
		n.mu.Unlock()
		return nil, fmt.Errorf("node: %w", ErrAlreadyMember)
	}
	n.groups[st.ID] = g
	n.mu.Unlock()
	if err := g.reconcileTopics(); err != nil {
		n.log.Warn("joining a group's topic failed; retrying later", "err", err)
	}
	return g, nil
}

// kick asks the timer goroutine to run its quick checks now.
func (n *Node) kick() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// loop is the node's timer goroutine: announcements waiting for a mesh,
// key expiry and topic rotation, retention, pending joins, reconnection.
func (n *Node) loop() {
	defer n.wg.Done()
	tick := time.NewTicker(tickInterval)
	defer tick.Stop()
	var lastMaintain, lastRetention, lastReconnect time.Time
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-tick.C:
		case <-n.wake:
		}
		now := time.Now() // the timer's own pacing uses the real clock
		for _, g := range n.Groups() {
			g.tick()
		}
		if now.Sub(lastMaintain) >= maintainInterval {
			lastMaintain = now
			for _, g := range n.Groups() {
				g.maintain()
			}
			n.retryPendingJoins()
		}
		if now.Sub(lastRetention) >= retentionInterval {
			lastRetention = now
			n.expire()
		}
		if now.Sub(lastReconnect) >= reconnectInterval {
			lastReconnect = now
			n.reconnect()
		}
	}
}

// expire applies retention: every group's session drops keys past their
// grace, and the store deletes what retention expired.
func (n *Node) expire() {
	now := n.now()
	if _, err := n.store.Expire(now); err != nil && !errors.Is(err, storage.ErrClosed) {
		n.log.Warn("retention pass failed", "err", err)
	}
	for _, g := range n.Groups() {
		g.pruneMessageIndex()
		g.pruneSOSes()
		g.pruneModeration()
	}
}

// reconnect dials the known peers of every group that are not connected.
func (n *Node) reconnect() {
	seen := make(map[peer.ID]bool)
	for _, g := range n.Groups() {
		for _, ai := range append(g.knownPeers(), g.mailboxPeers()...) {
			if seen[ai.ID] || ai.ID == n.host.ID() {
				continue
			}
			seen[ai.ID] = true
			if n.host.Network().Connectedness(ai.ID) == network.Connected {
				continue
			}
			n.goTracked(func() {
				ctx, cancel := context.WithTimeout(n.ctx, dialTimeout)
				defer cancel()
				if err := n.host.Connect(ctx, ai); err != nil {
					n.log.Debug("reconnecting to a group peer failed", "peer", ai.ID.String(), "err", err)
				}
			})
		}
	}
}

// dialTimeout bounds one dial.
const dialTimeout = 10 * time.Second

// nowMillis returns the node's clock in unix milliseconds, the protocol
// package's unit of time.
func (n *Node) nowMillis() int64 { return n.now().UnixMilli() }

// compareIDs orders two byte strings of equal length.
func compareIDs(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}
