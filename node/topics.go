package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// This file moves a group between topics as its epochs change, publishes
// this member's chain-key announcement once a new topic's mesh is ready,
// and remembers the peers seen in the group.

// leaveTimeout bounds leaving one topic.
const leaveTimeout = 5 * time.Second

// reconcileTopics joins the topics the group should be on and leaves the
// others: the current epoch's and, while the session still holds its keys
// (protocol.EpochGrace), the previous epoch's; none once this member was
// removed or the node is closing.
func (g *Group) reconcileTopics() error {
	g.topicMu.Lock()
	defer g.topicMu.Unlock()

	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	want := make(map[string]uint64)
	if !g.sess.Removed() {
		cur := g.sess.GroupState().Epoch
		want[g.sess.Topic()] = cur
		if cur > 0 {
			if keys, err := g.sess.Keys(cur - 1); err == nil {
				want[keys.Topic()] = cur - 1
				keys.Wipe()
			}
		}
		// A topic stays joined while its outbox waits: the commit in it
		// is how members still in that epoch learn of the next one.
		for name, ob := range g.outboxes {
			if _, ok := want[name]; !ok {
				want[name] = ob.epoch
			}
		}
	}
	drop := make(map[string]*epochTopic)
	for name, et := range g.topics {
		if _, ok := want[name]; !ok {
			drop[name] = et
			delete(g.topics, name)
		}
	}
	var join []string
	for name := range want {
		if _, ok := g.topics[name]; !ok {
			join = append(join, name)
		}
	}
	g.mu.Unlock()

	g.leaveTopics(drop)
	var errs []error
	for _, name := range join {
		epoch := want[name]
		t, err := joinGroupTopic(g.n.ctx, g.n.host, g.n.ps, topicConfig{
			name:     name,
			validate: g.validate,
			handle:   g.handle,
			logger:   g.n.log,
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		g.mu.Lock()
		g.topics[name] = &epochTopic{epoch: epoch, t: t}
		g.mu.Unlock()
	}
	return errors.Join(errs...)
}

// leaveTopics leaves every topic in ts.
func (g *Group) leaveTopics(ts map[string]*epochTopic) {
	for _, et := range ts {
		ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
		err := et.t.leave(ctx)
		cancel()
		if err != nil {
			if g.n.isClosed() {
				// Close stops pubsub before the groups leave their topics,
				// on purpose: a graceful leave sends PRUNE with a backoff,
				// and peers would then refuse to mesh with this node for
				// that long after it restarts. The errors that follow are
				// expected.
				g.n.log.Debug("left a topic at shutdown", "err", err)
				continue
			}
			g.n.log.Warn("leaving a topic", "err", err)
		}
	}
}

// outbox is what this member has to publish on one topic once its mesh is
// ready: the chain-key announcement for the topic's epoch, then the posts
// and commits made since, in order. Gossipsub sends a node's own message
// only to its current mesh peers, and members move to a new topic within
// a round trip of each other, so a message published the moment the topic
// is joined reaches nobody who has not yet been grafted. The announcement
// is persisted until published, since nobody can read the member's posts
// of the epoch without it; queued posts are in the local store and history
// already.
type outbox struct {
	epoch    uint64
	topic    string
	announce []byte
	queue    [][]byte
	// shape is the last seen (subscribers, mesh) of the topic, and since
	// when it has been unchanged; created is when the outbox was made.
	shape          string
	since, created time.Time
	// blockedBy names the outbox (of the previous epoch's topic) holding
	// the commit that leads to this epoch: members learn of the new topic
	// from that commit, so this outbox waits until it is published, and
	// then settles afresh.
	blockedBy string
	// waitFor, when set, is the committer of the commit that let this
	// member in: a joiner's outbox waits until that member's announcement
	// for the epoch has arrived, which the committer publishes only once
	// its commit reached the old epoch's members and they had time to
	// move to the new topic. Otherwise the newest member would announce
	// before the others arrive, and they would never read its posts.
	waitFor crypto.MemberID
}

// maxOutbox bounds the posts queued behind an announcement; the oldest are
// dropped from the queue (not from the store) beyond it.
const maxOutbox = 256

// queueLocked appends env to the outbox of topic, if it has one, and
// reports whether it did. The caller holds g.mu.
func (g *Group) queueLocked(topic string, env []byte) bool {
	ob := g.outboxes[topic]
	if ob == nil {
		return false
	}
	if len(ob.queue) >= maxOutbox {
		ob.queue = ob.queue[1:]
	}
	ob.queue = append(ob.queue, env)
	return true
}

// setAnnounceLocked opens the outbox of change's topic with its
// announcement, and persists the announcement. The caller holds g.mu.
func (g *Group) setAnnounceLocked(change *protocol.EpochChange) error {
	if change.Announcement == nil {
		return nil
	}
	a := &outbox{epoch: change.Epoch, topic: change.Topic, announce: append([]byte(nil), change.Announcement...), created: time.Now()}
	g.outboxes[a.topic] = a
	if err := g.n.store.Put(storage.KindGroup, g.id, announceKey(a.epoch), encodeAnnounce(a)); err != nil {
		return fmt.Errorf("node: storing announcement: %w", err)
	}
	// Stored with the group's envelopes too, so history sync can give it
	// to a member who was offline when it was published: without it that
	// member could read none of this member's posts of the epoch.
	meta := storage.EnvelopeMeta{Epoch: change.Epoch, Sender: g.sess.Me().Index, Generation: crypto.ControlGeneration, Received: g.n.now()}
	if _, err := g.n.store.PutEnvelope(g.id, meta, a.announce); err != nil {
		return fmt.Errorf("node: storing announcement envelope: %w", err)
	}
	return nil
}

// announceKey is the key of the stored announcement of epoch.
func announceKey(epoch uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), prefixAnnounce...), epoch)
}

func encodeAnnounce(a *outbox) []byte {
	e := newEnc()
	e.u64(a.epoch)
	e.str(a.topic)
	e.bytes32(a.announce)
	return e.bytes()
}

func decodeAnnounce(b []byte) (*outbox, error) {
	d := newDec(b)
	a := &outbox{epoch: d.u64(), topic: d.str(256), announce: d.bytes32(crypto.MaxEnvelopeSize)}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return a, nil
}

// Mesh readiness. Gossipsub grafts subscribed peers into the mesh at its
// heartbeat (one second), and members of a group move to a new topic within
// a round trip of each other, so a topic is ready when it has a mesh peer,
// every subscribed peer is in the mesh (or the mesh is full enough that
// gossip reaches the rest), and that has held for announceSettle, long
// enough for members still switching to arrive. After announceMaxWait with
// a mesh peer it is ready whatever the rest (a subscriber gossipsub will
// not graft, for its score, must not hold the group up).
const (
	announceSettle  = 1500 * time.Millisecond
	announceMaxWait = 10 * time.Second
	announceMeshMin = 5 // gossipsub's D_lo: a mesh this large forwards to the rest
)

// tick moves the group's topics after an epoch change, commits again the
// changes of this member's commit that lost a fork, and publishes each
// outbox once its topic is ready.
func (g *Group) tick() {
	g.mu.Lock()
	need, rebase := g.needReconcile, g.rebase
	g.needReconcile, g.rebase = false, nil
	if !g.leaveTopicsAt.IsZero() && time.Now().After(g.leaveTopicsAt) {
		need, g.leaveTopicsAt = true, time.Time{}
	}
	g.mu.Unlock()
	if need {
		if err := g.reconcileTopics(); err != nil {
			g.n.log.Warn("moving a group's topics", "err", err)
		}
	}
	if len(rebase) > 0 {
		ctx, cancel := context.WithTimeout(g.n.ctx, dialTimeout)
		if _, err := g.commit(ctx, rebase, requireNone, crypto.MemberID{}); err != nil {
			g.n.log.Warn("re-committing changes that lost a fork", "err", err)
		}
		cancel()
	}

	type send struct {
		t         *groupTopic
		msgs      [][]byte
		announced bool
		epoch     uint64
	}
	var sends []send
	g.mu.Lock()
	if g.closed || g.sess.Removed() {
		g.outboxes = make(map[string]*outbox)
		g.mu.Unlock()
		return
	}
	now := time.Now()
	for name, ob := range g.outboxes {
		if ob.blockedBy != "" {
			if _, waiting := g.outboxes[ob.blockedBy]; waiting {
				continue
			}
			ob.blockedBy, ob.shape, ob.since, ob.created = "", "", now, now
		}
		if ob.waitFor != (crypto.MemberID{}) && now.Sub(ob.created) < announceMaxWait {
			continue
		}
		et := g.topics[name]
		if et == nil {
			g.needReconcile = true
			continue
		}
		subs := et.t.topic.ListPeers()
		mesh := g.n.mesh.peers(name)
		inMesh := 0
		for _, p := range subs {
			if _, ok := mesh[p]; ok {
				inMesh++
			}
		}
		if shape := topicShape(subs, mesh); shape != ob.shape {
			ob.shape, ob.since = shape, now
		}
		full := inMesh == len(subs) || inMesh >= announceMeshMin
		ready := inMesh > 0 && ((full && now.Sub(ob.since) >= announceSettle) || now.Sub(ob.created) >= announceMaxWait)
		if !ready {
			continue
		}
		delete(g.outboxes, name)
		g.needReconcile = true
		var msgs [][]byte
		if ob.announce != nil {
			msgs = append(msgs, ob.announce)
		}
		sends = append(sends, send{t: et.t, msgs: append(msgs, ob.queue...), announced: ob.announce != nil, epoch: ob.epoch})
	}
	g.mu.Unlock()
	for _, s := range sends {
		for i, m := range s.msgs {
			// Not wiped: gossipsub keeps the slice to send and to serve
			// from its message cache, and it is ciphertext.
			ctx, cancel := context.WithTimeout(g.n.ctx, leaveTimeout)
			err := s.t.publish(ctx, m, ownPublish{})
			cancel()
			if err != nil {
				g.n.log.Warn("publishing a queued envelope", "err", err)
				break
			}
			// The stored announcement goes only once it was handed to
			// gossipsub: a node closed before that publishes it after
			// restarting.
			if i == 0 && s.announced {
				if err := g.n.store.Delete(storage.KindGroup, g.id, announceKey(s.epoch)); err != nil {
					g.n.log.Warn("deleting a published announcement", "err", err)
				}
			}
		}
	}
	g.persistPeers()
}

// topicShape summarises a topic's subscribers and mesh, to notice changes.
func topicShape(subs []peer.ID, mesh map[peer.ID]struct{}) string {
	var b strings.Builder
	ids := make([]string, 0, len(subs))
	for _, p := range subs {
		_, in := mesh[p]
		s := string(p)
		if in {
			s += "+"
		}
		ids = append(ids, s)
	}
	slices.Sort(ids)
	for _, s := range ids {
		b.WriteString(s)
		b.WriteByte(0)
	}
	return b.String()
}

// maintain runs the group's slow periodic work: the session wipes keys past
// their grace, topics follow, held envelopes expire, changes lost in a fork
// are committed again, and the peers seen are persisted.
func (g *Group) maintain() {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	now := g.n.now()
	g.sess.Expire(now.UnixMilli())
	if err := g.persistLocked(); err != nil {
		g.n.log.Warn("persisting a session", "err", err)
	}
	g.expireHeldLocked(now)
	g.mu.Unlock()

	if err := g.reconcileTopics(); err != nil {
		g.n.log.Warn("rejoining a group's topics", "err", err)
	}
	g.persistPeers()
}

// Remembered peers: how many per group, and for how long the peerstore
// keeps their addresses.
const (
	maxGroupPeers = 64
	peerAddrTTL   = 7 * 24 * time.Hour
)

// notePeer remembers p as a peer of the group. The caller holds g.mu.
func (g *Group) notePeerLocked(p peer.ID, now time.Time) {
	if p == g.n.host.ID() || p == "" {
		return
	}
	if _, ok := g.peers[p]; !ok {
		g.peersDirty = true
		if len(g.peers) >= maxGroupPeers {
			var oldest peer.ID
			var at time.Time
			for q, t := range g.peers {
				if oldest == "" || t.Before(at) {
					oldest, at = q, t
				}
			}
			delete(g.peers, oldest)
		}
	}
	g.peers[p] = now
}

// knownPeers returns the group's remembered peers with the addresses the
// peerstore holds for them.
func (g *Group) knownPeers() []peer.AddrInfo {
	g.mu.Lock()
	ids := make([]peer.ID, 0, len(g.peers))
	for p := range g.peers {
		ids = append(ids, p)
	}
	g.mu.Unlock()
	out := make([]peer.AddrInfo, 0, len(ids))
	for _, p := range ids {
		out = append(out, peer.AddrInfo{ID: p, Addrs: g.n.host.Peerstore().Addrs(p)})
	}
	return out
}

// persistPeers stores the group's peers (sealed: which peers share a group
// is itself sensitive) if they changed.
func (g *Group) persistPeers() {
	g.mu.Lock()
	dirty := g.peersDirty
	g.peersDirty = false
	g.mu.Unlock()
	if !dirty {
		return
	}
	ps := g.knownPeers()
	if err := g.n.store.Put(storage.KindGroup, g.id, keyPeers, encodePeers(ps)); err != nil {
		g.n.log.Warn("storing a group's peers", "err", err)
	}
}

// Bounds of a stored peer list.
const (
	maxPeerIDBytes  = 128
	maxPeerAddrs    = 8
	maxPeerAddrSize = 255
)

func encodePeers(ps []peer.AddrInfo) []byte {
	e := newEnc()
	e.u16(uint16(len(ps)))
	for _, ai := range ps {
		e.bytes32([]byte(ai.ID))
		addrs := ai.Addrs
		if len(addrs) > maxPeerAddrs {
			addrs = addrs[:maxPeerAddrs]
		}
		var kept [][]byte
		for _, a := range addrs {
			if b := a.Bytes(); len(b) <= maxPeerAddrSize {
				kept = append(kept, b)
			}
		}
		e.u8(uint8(len(kept)))
		for _, b := range kept {
			e.bytes32(b)
		}
	}
	return e.bytes()
}

func decodePeers(b []byte) ([]peer.AddrInfo, error) {
	d := newDec(b)
	n := int(d.u16())
	if n > maxGroupPeers {
		return nil, fmt.Errorf("%w: %d peers", errRecord, n)
	}
	var out []peer.AddrInfo
	for i := 0; i < n && d.err == nil; i++ {
		id, err := peer.IDFromBytes(d.bytes32(maxPeerIDBytes))
		if d.err == nil && err != nil {
			return nil, fmt.Errorf("%w: peer ID: %w", errRecord, err)
		}
		ai := peer.AddrInfo{ID: id}
		na := int(d.u8())
		if na > maxPeerAddrs {
			return nil, fmt.Errorf("%w: %d addresses", errRecord, na)
		}
		for j := 0; j < na && d.err == nil; j++ {
			a, err := ma.NewMultiaddrBytes(d.bytes32(maxPeerAddrSize))
			if d.err == nil && err != nil {
				return nil, fmt.Errorf("%w: address: %w", errRecord, err)
			}
			ai.Addrs = append(ai.Addrs, a)
		}
		out = append(out, ai)
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return out, nil
}

// handle is the topic handler. Everything an accepted envelope causes was
// done by the validator (see validate); the handler only notes which peer
// forwarded it, for reconnecting later.
func (g *Group) handle(_ context.Context, msg *pubsub.Message) {
	if _, own := msg.ValidatorData.(ownPublish); own {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.notePeerLocked(msg.ReceivedFrom, g.n.now())
}
