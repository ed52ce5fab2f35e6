package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// This file keeps members able to reach each other directly once the
// member who introduced them (an invite's host) is gone, and after any of
// them moves: every node announces its own peer addresses in each of its
// groups, as protocol.Addresses content inside the group's envelopes, and
// every node records the newest announcement of each member, adds it to the
// peerstore and dials members it is not connected to.
//
// The addresses travel only inside envelopes, so only the group's members
// of that epoch learn them; a gossipsub peer that is no member sees
// ciphertext. A member learns from an announcement no more than a direct
// connection to the announcer would show it; in relay-only mode the
// announcement holds only the node's relay circuit addresses, never a
// direct one (see announcedAddrs).

// prefixAddrs is the KindLocal key prefix of a member's newest announced
// addresses, followed by the member ID.
var prefixAddrs = []byte("addr/")

// Announcement timing.
const (
	// defaultAddrAnnounceEvery is the shortest time between two address
	// announcements of this node in one group. Addresses change rarely (a
	// laptop moving networks, a restart on a new port), and every
	// announcement is an envelope every member of the group receives and
	// stores, so a node whose addresses flap must not flood the group.
	defaultAddrAnnounceEvery = time.Minute
	// announcedAddrTTL is how long the peerstore keeps announced
	// addresses. The newest announcement of each member stays in the store
	// and is put back into the peerstore every time the node dials from it,
	// so this only bounds how long a stale address lingers after a newer
	// announcement replaced it.
	announcedAddrTTL = 24 * time.Hour
	// maxAnnounceCheck is the longest wait between two checks whether an
	// announcement is due (changes of address and epoch are also noticed
	// at once through events).
	maxAnnounceCheck = 5 * time.Second
)

// Bounds of a stored announcement.
const maxStoredPeerID = 128

// errBadAnnouncement is wrapped by parseAnnouncement's errors.
var errBadAnnouncement = errors.New("node: address announcement")

// announced is a member's newest address announcement, as recorded.
type announced struct {
	// at is the announcement's signed send time, in unix milliseconds.
	at    int64
	peer  peer.ID
	addrs []ma.Multiaddr
}

// parseAnnouncement checks announced addresses strictly: every one a
// multiaddr in canonical form ending in /p2p/<peer ID>, all of them naming
// the same peer, and not this node's own. The envelope says which member
// sent it but not from which peer (gossip carries no author), so the
// peer ID can only be the announcement's own claim: a lying member can make
// others dial a peer ID at addresses of its choosing, which the transport
// handshake then refuses unless that peer really answers there.
func parseAnnouncement(c protocol.Addresses, self peer.ID) (peer.ID, []ma.Multiaddr, error) {
	var id peer.ID
	addrs := make([]ma.Multiaddr, 0, len(c.Addrs))
	for i, s := range c.Addrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return "", nil, fmt.Errorf("%w: address %d does not parse", errBadAnnouncement, i)
		}
		if a.String() != s {
			return "", nil, fmt.Errorf("%w: address %d is not in canonical form", errBadAnnouncement, i)
		}
		transport, p := peer.SplitAddr(a)
		if p == "" || len(transport) == 0 {
			return "", nil, fmt.Errorf("%w: address %d does not end in /p2p/<peer ID> after a transport", errBadAnnouncement, i)
		}
		if id == "" {
			id = p
		} else if p != id {
			return "", nil, fmt.Errorf("%w: the addresses name more than one peer", errBadAnnouncement)
		}
		addrs = append(addrs, transport)
	}
	if id == self && id != "" {
		return "", nil, fmt.Errorf("%w: the addresses name this node", errBadAnnouncement)
	}
	return id, addrs, nil
}

// applyAddressesLocked records a member's address announcement when it is
// newer than the one recorded, puts the addresses in the peerstore and
// dials the member if it is not connected. This member's own announcement
// records nothing. An announcement that fails parseAnnouncement is ignored
// (its envelope stays stored, as for any content a member sent). The
// caller holds g.mu.
func (g *Group) applyAddressesLocked(rec *protocol.Received, c protocol.Addresses, now time.Time) ([]Event, error) {
	if rec.Author == g.sess.Me().ID {
		return nil, nil
	}
	id, addrs, err := parseAnnouncement(c, g.n.host.ID())
	if err != nil {
		g.n.log.Debug("ignoring an address announcement", "err", err)
		return nil, nil
	}
	key := withPrefix(prefixAddrs, rec.Author[:])
	if old, err := g.loadAnnounced(key); err == nil && old.at >= rec.Timestamp {
		return nil, nil // sync brought an older one
	}
	if len(addrs) == 0 {
		if err := g.n.store.Delete(storage.KindLocal, g.id, key); err != nil {
			return nil, fmt.Errorf("node: forgetting announced addresses: %w", err)
		}
		return nil, nil
	}
	a := announced{at: rec.Timestamp, peer: id, addrs: addrs}
	if err := g.n.store.Put(storage.KindLocal, g.id, key, encodeAnnounced(a)); err != nil {
		return nil, fmt.Errorf("node: recording announced addresses: %w", err)
	}
	g.n.log.Debug("a member announced addresses", "peer", id.String(), "addrs", logAddrs(g.n.log, addrs))
	ai, ok := g.n.usableAnnounced(peer.AddrInfo{ID: id, Addrs: addrs})
	if !ok {
		return nil, nil // still starting, or nothing usable: the announcer's rounds dial
	}
	g.n.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, announcedAddrTTL)
	if g.n.host.Network().Connectedness(id) != network.Connected {
		g.n.dialAnnounced(ai)
	}
	return nil, nil
}

// usableAnnounced returns what of a member's announcement this node may put
// in its peerstore and dial, and false when that is nothing or discovery
// has not started yet (so the relay configuration is not known).
//
// In relay-only mode the connection gater lets this node dial its relays
// directly, by their peer IDs, at any address. A lying member could
// announce a configured relay's peer ID (every relay-only member's circuit
// addresses name it) at an address of its own, or a circuit whose relay hop
// is that relay at such an address: once the peerstore held it, the next
// dial of the relay would open a TCP connection from the member's real
// address to the liar's machine, which is exactly what relay-only mode
// hides (the handshake then fails, too late). So in relay-only mode an
// announcement naming a configured relay is ignored, a direct address is
// dropped (the gater would refuse it anyway), and a circuit is kept only
// through a configured relay and without the announced relay address
// (/p2p/<relay>/p2p-circuit), so the relay is reached only where the
// member's own configuration says it is.
func (n *Node) usableAnnounced(ai peer.AddrInfo) (peer.AddrInfo, bool) {
	n.mu.Lock()
	d := n.disc
	n.mu.Unlock()
	if d == nil {
		return peer.AddrInfo{}, false
	}
	if !d.cfg.cfg.RelayOnly {
		return ai, len(ai.Addrs) > 0
	}
	g := d.cfg.reservations.gater
	if g.isRelay(ai.ID) {
		return peer.AddrInfo{}, false
	}
	return g.circuitsOnly(ai)
}

// loadAnnounced reads the announcement stored under key.
func (g *Group) loadAnnounced(key []byte) (announced, error) {
	b, err := g.n.store.Get(storage.KindLocal, g.id, key)
	if err != nil {
		return announced{}, err
	}
	return decodeAnnounced(b)
}

// announcedPeers returns where the group's current members other than this
// one said they are, and forgets what members no longer in the roster
// announced. It returns nothing once this member was removed (its roster
// is no longer kept up to date).
func (g *Group) announcedPeers() []peer.AddrInfo {
	g.mu.Lock()
	if g.closed || g.sess.Removed() {
		g.mu.Unlock()
		return nil
	}
	st := g.sess.GroupState()
	me := g.sess.Me().ID
	g.mu.Unlock()
	var out []peer.AddrInfo
	var stale [][]byte
	err := g.n.store.Scan(storage.KindLocal, g.id, prefixAddrs, func(key, value []byte) error {
		var m crypto.MemberID
		if len(key) != len(prefixAddrs)+len(m) {
			return nil
		}
		copy(m[:], key[len(prefixAddrs):])
		if _, ok := st.MemberByID(m); !ok || m == me {
			stale = append(stale, append([]byte(nil), key...))
			return nil
		}
		a, err := decodeAnnounced(value)
		if err != nil {
			stale = append(stale, append([]byte(nil), key...))
			return nil
		}
		out = append(out, peer.AddrInfo{ID: a.peer, Addrs: a.addrs})
		return nil
	})
	if err != nil && !errors.Is(err, storage.ErrClosed) {
		g.n.log.Warn("reading announced addresses", "err", err)
	}
	for _, k := range stale {
		if err := g.n.store.Delete(storage.KindLocal, g.id, k); err != nil {
			g.n.log.Warn("forgetting announced addresses", "err", err)
		}
	}
	return out
}

func encodeAnnounced(a announced) []byte {
	e := newEnc()
	e.u64(uint64(a.at))
	e.bytes32([]byte(a.peer))
	e.u8(uint8(len(a.addrs)))
	for _, m := range a.addrs {
		e.bytes32(m.Bytes())
	}
	return e.bytes()
}

func decodeAnnounced(b []byte) (announced, error) {
	d := newDec(b)
	a := announced{at: int64(d.u64())}
	id, err := peer.IDFromBytes(d.bytes32(maxStoredPeerID))
	if d.err == nil && err != nil {
		return announced{}, fmt.Errorf("%w: peer ID: %w", errRecord, err)
	}
	a.peer = id
	n := int(d.u8())
	if n > protocol.MaxAddresses {
		return announced{}, fmt.Errorf("%w: %d addresses", errRecord, n)
	}
	for i := 0; i < n && d.err == nil; i++ {
		m, err := ma.NewMultiaddrBytes(d.bytes32(protocol.MaxAddressLen))
		if d.err == nil && err != nil {
			return announced{}, fmt.Errorf("%w: address: %w", errRecord, err)
		}
		a.addrs = append(a.addrs, m)
	}
	if err := d.finish(); err != nil {
		return announced{}, err
	}
	return a, nil
}

// dialAnnounced dials ai on a goroutine the node tracks, through the
// discovery layer's dial (which logs addresses redacted). It never dials
// this node itself.
func (n *Node) dialAnnounced(ai peer.AddrInfo) {
	if ai.ID == n.host.ID() || ai.ID == "" {
		return
	}
	n.mu.Lock()
	d := n.disc
	n.mu.Unlock()
	if d == nil {
		return // still starting: the announcer's first round dials
	}
	n.goTracked(func() { d.dial(ai, "an announced member") })
}

// addrAnnouncer announces this node's addresses in every group and dials
// the members others announced. It runs on one goroutine (run), which owns
// sent.
type addrAnnouncer struct {
	n         *Node
	relayOnly bool
	every     time.Duration
	// sent is, per group, what was last announced there, in which epoch
	// and when.
	sent map[crypto.GroupID]lastAnnouncement
}

type lastAnnouncement struct {
	epoch uint64
	addrs []string
	at    time.Time
}

// startAddrAnnouncer starts the announcer on a goroutine the node tracks.
// every is the shortest time between two announcements in one group (zero:
// defaultAddrAnnounceEvery; negative: no announcer at all, for tests that
// must find members by other means); relayOnly restricts what is announced
// to relay circuit addresses.
func (n *Node) startAddrAnnouncer(relayOnly bool, every time.Duration) error {
	if every < 0 {
		return nil
	}
	if every == 0 {
		every = defaultAddrAnnounceEvery
	}
	sub, err := n.host.EventBus().Subscribe(new(event.EvtLocalAddressesUpdated))
	if err != nil {
		return fmt.Errorf("node: watching local addresses: %w", err)
	}
	a := &addrAnnouncer{n: n, relayOnly: relayOnly, every: every, sent: make(map[crypto.GroupID]lastAnnouncement)}
	events := n.events.subscribe()
	if !n.goTracked(func() { a.run(sub, events) }) {
		sub.Close()
		events.Close()
	}
	return nil
}

// run announces what is due whenever the host's addresses or a group's
// epoch change, and at least every maxAnnounceCheck; and dials the members
// others announced every a.every, until the node closes.
func (a *addrAnnouncer) run(addrEvents event.Subscription, nodeEvents *Subscription) {
	defer addrEvents.Close()
	defer nodeEvents.Close()
	check := min(maxAnnounceCheck, a.every)
	t := time.NewTicker(check)
	defer t.Stop()
	var lastDial time.Time
	for {
		a.announceDue()
		if time.Since(lastDial) >= a.every {
			lastDial = time.Now()
			a.dialMembers()
		}
		if !a.wait(t.C, addrEvents, nodeEvents) {
			return
		}
	}
}

// wait returns when the ticker fires, the host's addresses change or a
// group enters an epoch (other node events are skipped), and false when
// the node is closing.
func (a *addrAnnouncer) wait(tick <-chan time.Time, addrEvents event.Subscription, nodeEvents *Subscription) bool {
	for {
		select {
		case <-a.n.ctx.Done():
			return false
		case <-tick:
			return true
		case <-addrEvents.Out():
			return true
		case e, ok := <-nodeEvents.Events():
			if !ok {
				return false
			}
			if e.Kind == EventEpochChanged || e.Kind == EventJoined {
				return true
			}
		}
	}
}

// announcedAddrs returns the addresses this node announces, as strings
// ending in /p2p/<peer ID>, sorted: the host's own (its listen addresses as
// it reports them, and relay circuits it holds), or in relay-only mode the
// circuit addresses alone. Loopback addresses are left out when there is
// any other, since no member elsewhere can use them.
func (a *addrAnnouncer) announcedAddrs() []string {
	all := a.n.Addrs()
	var kept []ma.Multiaddr
	nonLoopback := false
	for _, m := range all {
		if a.relayOnly && !isRelayed(m) {
			continue // never a direct address in relay-only mode
		}
		kept = append(kept, m)
		if !manet.IsIPLoopback(m) {
			nonLoopback = true
		}
	}
	var out []string
	for _, m := range kept {
		if nonLoopback && manet.IsIPLoopback(m) && !isRelayed(m) {
			continue
		}
		if s := m.String(); len(s) <= protocol.MaxAddressLen {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > protocol.MaxAddresses {
		out = out[:protocol.MaxAddresses]
	}
	return out
}

// announceDue announces in every group where this node's addresses or the
// epoch changed since the last announcement there, unless that was less
// than a.every ago, or the group's topic has no mesh peer yet to send it
// to (gossipsub sends to mesh peers only).
func (a *addrAnnouncer) announceDue() {
	addrs := a.announcedAddrs()
	if len(addrs) == 0 {
		return // nothing anyone could dial (a relay-only node before its reservation)
	}
	now := time.Now() // pacing uses the real clock, like the node's timer
	for _, g := range a.n.Groups() {
		epoch, topic, ok := g.announceTarget()
		if !ok {
			continue
		}
		last, seen := a.sent[g.id]
		if seen && last.epoch == epoch && slices.Equal(last.addrs, addrs) {
			continue
		}
		if seen && now.Sub(last.at) < a.every {
			continue
		}
		if len(a.n.mesh.peers(topic)) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(a.n.ctx, leaveTimeout)
		_, err := g.sendContent(ctx, protocol.Addresses{Addrs: addrs})
		cancel()
		if err != nil {
			if !errors.Is(err, ErrClosed) && !errors.Is(err, ErrRemoved) {
				a.n.log.Warn("announcing this node's addresses", "err", err)
			}
			continue
		}
		a.sent[g.id] = lastAnnouncement{epoch: epoch, addrs: addrs, at: now}
		a.n.log.Debug("announced this node's addresses in a group", "addrs", logAddrs(a.n.log, a.n.Addrs()))
	}
}

// announceTarget returns the group's current epoch and topic, and false
// when this member cannot send there (removed, or the node is closing).
func (g *Group) announceTarget() (uint64, string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || g.sess.Removed() {
		return 0, "", false
	}
	return g.sess.GroupState().Epoch, g.sess.Topic(), true
}

// dialMembers puts every group's announced addresses back into the
// peerstore and dials the members it is not connected to.
func (a *addrAnnouncer) dialMembers() {
	seen := make(map[peer.ID]bool)
	for _, g := range a.n.Groups() {
		for _, ai := range g.announcedPeers() {
			if seen[ai.ID] || ai.ID == a.n.host.ID() {
				continue
			}
			seen[ai.ID] = true
			ai, ok := a.n.usableAnnounced(ai)
			if !ok {
				continue
			}
			a.n.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, announcedAddrTTL)
			if a.n.host.Network().Connectedness(ai.ID) != network.Connected {
				a.n.dialAnnounced(ai)
			}
		}
	}
}
