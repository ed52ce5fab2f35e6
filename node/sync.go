package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// This file is history sync (/hearth/sync/1): the responder (a stream
// handler that recognises the requester's epoch from its hello and asks it
// to prove membership), the requester (which feeds every envelope it
// receives through the same open/store/deliver path as gossip), and the
// triggers (start, a network change, a group peer connecting or joining a
// group's topic, a new group, periodic anti-entropy with jitter).
// The messages and the membership check are in protocol/sync.go.

// Bounds of one sync exchange. Every one of them caps what a lying or slow
// peer can make this node hold or wait for.
const (
	// syncTimeout bounds a whole exchange, either side.
	syncTimeout = 2 * time.Minute
	// syncStepTimeout bounds each frame either side waits for: a
	// requester that stalls mid-handshake is cut off after it, and a
	// responder that stops answering (or never answers: anyone on a
	// group's topic is asked) holds the requester no longer.
	syncStepTimeout = 15 * time.Second
	// syncResponseBudget is the most envelope bytes one response carries;
	// past it the responder ends with More set and the requester asks
	// again. The requester enforces the same budget on what it reads.
	syncResponseBudget = 32 << 20
	// syncMaxRounds bounds the requests one Sync makes to one peer.
	syncMaxRounds = 64
	// syncRequestsPerMinute and syncRequestsBurst limit the requests a
	// peer may make of this node.
	syncRequestsPerMinute = 20
	syncRequestsBurst     = 10
	// syncInterval is the mean time between anti-entropy rounds; each
	// wait is drawn from [syncInterval/2, 3*syncInterval/2) so members do
	// not all ask at once. syncStartDelay is the wait before the first.
	syncInterval   = 5 * time.Minute
	syncStartDelay = 3 * time.Second
	// syncYoungTick paces the sync loop's checks of its clock, of new
	// groups and of peers joining a group's topic; syncYoungSchedule
	// lists when, after a group first appears (a join, or the node's
	// start), it is synced: a joiner may have missed commits made between
	// its welcome and its joining the topic (gossipsub sends only to the
	// current mesh), and these rounds fetch them from the members.
	syncYoungTick = time.Second
	// syncNetworkSettle is how long after the host's addresses or
	// reachability change the node syncs every group: long enough for
	// connections to come back, and for a burst of changes to ask for one
	// round.
	syncNetworkSettle = 2 * time.Second
	// syncPageEnvelopes is how many envelopes the responder reads from the
	// store at a time.
	syncPageEnvelopes = protocol.MaxSyncPageEnvelopes
)

// syncYoungSchedule lists the ages of a group at which it is synced (see
// syncYoungTick).
func syncYoungSchedule() []time.Duration {
	return []time.Duration{2 * time.Second, 6 * time.Second, 15 * time.Second, 30 * time.Second}
}

// errSyncRefused is what a requester sees when the responder ends the
// exchange without pages: not a member, an unknown group, or over a limit.
var errSyncRefused = errors.New("node: sync refused by the peer")

// errSyncNotMember is what a requester sees when the responder's answer
// does not show it holds the sync key of the requester's epoch: the
// requester sends it nothing more.
var errSyncNotMember = errors.New("node: the sync peer is not a member of this epoch")

// errNoSyncKey is what a requester sees when it holds no sync key of its
// epoch (removed, and its keys erased): it cannot ask.
var errNoSyncKey = errors.New("node: no sync key for this member's epoch")

// syncer is the node's sync machinery: the responder's per-peer limit and
// the queue of peers that connected.
type syncer struct {
	n         *Node
	rl        *limiter[peer.ID]
	connected chan peer.ID
}

// startSync registers the /hearth/sync/1 handler, watches for connections
// and network changes, and starts the sync goroutine. New calls it once,
// after the groups are loaded.
func (n *Node) startSync() {
	s := &syncer{
		n:         n,
		rl:        newLimiter[peer.ID](syncRequestsPerMinute, syncRequestsBurst, maxLimiterEntries),
		connected: make(chan peer.ID, 64),
	}
	n.host.SetStreamHandler(syncProtocolID, s.handleStream)
	n.host.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) {
			select {
			case s.connected <- c.RemotePeer():
			default:
				// A burst of connections: the next anti-entropy round
				// covers whoever did not fit.
			}
		},
	})
	netEvents, err := n.host.EventBus().Subscribe([]any{new(event.EvtLocalAddressesUpdated), new(event.EvtLocalReachabilityChanged)})
	if err != nil {
		// The bus refuses only malformed subscriptions: the other
		// triggers still run.
		n.log.Warn("watching for network changes", "err", err)
	}
	if !n.goTracked(func() { s.loop(netEvents) }) && netEvents != nil {
		netEvents.Close()
	}
}

// syncRoundMsg is the debug log message of every sync the loop starts;
// its "trigger" says why.
const syncRoundMsg = "sync round"

// syncGroupState is what the sync loop remembers of a group.
type syncGroupState struct {
	// first is when the loop first saw the group (just joined, or just
	// loaded), and done how many of syncYoungSchedule's rounds it has
	// had.
	first time.Time
	done  int
	// keyed is the epoch whose sync keys were last stored (synckeys.go):
	// this member's own commits and joins pass through here, received
	// commits through openLocked.
	keyed uint64
	// onTopic are the peers last seen on the group's topics.
	onTopic map[peer.ID]bool
}

// loop runs syncs one at a time: on start, after a network change, when a
// peer known in a group connects, when a peer joins a group's topic, in a
// group's first half minute (syncYoungSchedule), and periodically with
// jitter. Times are read from the node's clock (Config.Now), at every
// syncYoungTick; a round due while a slow sync held the loop runs at the
// next tick, never skipped.
func (s *syncer) loop(netEvents event.Subscription) {
	if netEvents != nil {
		defer netEvents.Close()
	}
	var netChanged <-chan any
	if netEvents != nil {
		netChanged = netEvents.Out()
	}
	tick := time.NewTicker(syncYoungTick)
	defer tick.Stop()
	nextRound := s.n.now().Add(syncStartDelay)
	// afterChange is when the round a network change asked for runs
	// (zero: none asked); changes come in bursts, one round serves them.
	var afterChange time.Time
	seen := make(map[crypto.GroupID]*syncGroupState)
	for {
		select {
		case <-s.n.ctx.Done():
			return
		case <-netChanged:
			if afterChange.IsZero() {
				afterChange = s.n.now().Add(syncNetworkSettle)
			}
		case p := <-s.connected:
			for _, g := range s.n.Groups() {
				if g.knowsPeer(p) {
					s.n.log.Debug(syncRoundMsg, "trigger", "peer connected")
					s.n.syncGroupWith(g, p)
				}
				if g.isMailboxOf(p) {
					s.n.syncMailboxOf(g)
				}
			}
		case <-tick.C:
			now := s.n.now()
			full := false
			if !now.Before(nextRound) {
				s.n.log.Debug(syncRoundMsg, "trigger", "periodic")
				full = true
			}
			if !afterChange.IsZero() && !now.Before(afterChange) {
				s.n.log.Debug(syncRoundMsg, "trigger", "network change")
				full, afterChange = true, time.Time{}
			}
			for _, g := range s.n.Groups() {
				s.tickGroup(g, now, full, seen)
			}
			if full {
				nextRound = s.n.now().Add(syncInterval/2 + mrand.N(syncInterval))
			}
		}
	}
}

// tickGroup does one tick's work for g: it stores the sync keys of a new
// epoch, syncs with every peer known in the group (and its mailbox) when
// full is set or one of the group's young rounds is due, and otherwise with
// the peers that joined its topics since the last tick.
func (s *syncer) tickGroup(g *Group, now time.Time, full bool, seen map[crypto.GroupID]*syncGroupState) {
	st, ok := seen[g.id]
	if !ok {
		st = &syncGroupState{first: now, keyed: g.rememberSyncKeysAfter(0, false), onTopic: g.topicPeers()}
		seen[g.id] = st
	} else {
		st.keyed = g.rememberSyncKeysAfter(st.keyed, true)
	}
	schedule := syncYoungSchedule()
	young := false
	for st.done < len(schedule) && now.Sub(st.first) >= schedule[st.done] {
		st.done++
		young = true
	}
	if young && !full {
		s.n.log.Debug(syncRoundMsg, "trigger", "new group")
		full = true
	}
	onTopic := g.topicPeers()
	if full {
		st.onTopic = onTopic
		for _, p := range g.syncPeers() {
			s.n.syncGroupWith(g, p)
		}
		s.n.syncMailboxOf(g)
		return
	}
	mailbox, _ := g.Mailbox()
	for p := range onTopic {
		if !st.onTopic[p] && p != s.n.host.ID() && p != mailbox.PeerID && s.n.host.Network().Connectedness(p) == network.Connected {
			s.n.log.Debug(syncRoundMsg, "trigger", "peer joined a topic")
			s.n.syncGroupWith(g, p)
		}
	}
	st.onTopic = onTopic
}

// topicPeers returns the peers subscribed to any of the group's topics.
func (g *Group) topicPeers() map[peer.ID]bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[peer.ID]bool)
	for _, et := range g.topics {
		for _, p := range et.t.topic.ListPeers() {
			out[p] = true
		}
	}
	return out
}

// syncGroupWith runs one background sync and logs its failure.
func (n *Node) syncGroupWith(g *Group, p peer.ID) {
	if _, err := g.syncWith(n.ctx, p); err != nil && n.ctx.Err() == nil {
		n.log.Debug("sync with a group peer failed", "peer", p.String(), "err", err)
	}
}

// knowsPeer reports whether p has forwarded this group's envelopes, is
// subscribed to its topic, or was announced by a member.
func (g *Group) knowsPeer(p peer.ID) bool {
	return slices.Contains(g.syncPeers(), p)
}

// syncPeers returns the connected peers known in the group: first those
// that members announced (addresses.go), then those that forwarded the
// group's envelopes or are subscribed to its topic. Anyone connected can
// subscribe to a topic it has seen named, so the latter may be outsiders:
// a hello tells them nothing (synckeys.go), and one that does not answer
// holds the sync for syncStepTimeout; members go first so they are not
// kept waiting behind it.
func (g *Group) syncPeers() []peer.ID {
	announced := make(map[peer.ID]bool)
	for _, ai := range g.announcedPeers() {
		announced[ai.ID] = true
	}
	g.mu.Lock()
	set := make(map[peer.ID]bool, len(g.peers))
	for p := range g.peers {
		set[p] = true
	}
	for _, et := range g.topics {
		for _, p := range et.t.topic.ListPeers() {
			set[p] = true
		}
	}
	g.mu.Unlock()
	// The group's mailbox is no member: it is caught up from with
	// /hearth/mailbox/1 (mailbox.go), never asked for history sync.
	mailbox, _ := g.Mailbox()
	var out []peer.ID
	for p := range announced {
		set[p] = true
	}
	for p := range set {
		if p != g.n.host.ID() && p != mailbox.PeerID && g.n.host.Network().Connectedness(p) == network.Connected {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b peer.ID) int {
		if announced[a] != announced[b] {
			if announced[a] {
				return -1
			}
			return 1
		}
		return strings.Compare(string(a), string(b))
	})
	return out
}

// SyncReport says what one Sync brought.
type SyncReport struct {
	// Peers is how many peers answered.
	Peers int
	// Received is how many envelopes arrived; Accepted how many of them
	// were new and opened (the rest were duplicates or not readable).
	Received, Accepted int
}

// Sync asks every connected peer known in the group for the envelopes this
// member lacks and feeds them through the same path as gossip (opened,
// stored, delivered as events marked late). The node also syncs on its
// own; Sync is for an app that wants to catch up now. It returns the first
// error met when no peer answered, and ErrClosed after Close.
func (g *Group) Sync(ctx context.Context) (SyncReport, error) {
	if g.n.isClosed() {
		return SyncReport{}, ErrClosed
	}
	var rep SyncReport
	var firstErr error
	for _, p := range g.syncPeers() {
		r, err := g.syncWith(ctx, p)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		rep.Peers++
		rep.Received += r.Received
		rep.Accepted += r.Accepted
	}
	// The group's mailbox too, when it names one (mailbox.go).
	if r, err := g.syncMailbox(ctx); err == nil {
		rep.Peers++
		rep.Received += r.Received
		rep.Accepted += r.Accepted
	} else if !errors.Is(err, ErrNoMailbox) && firstErr == nil {
		firstErr = err
	}
	if rep.Peers == 0 && firstErr != nil {
		return rep, firstErr
	}
	return rep, nil
}

// syncWith asks p for what this member lacks, again while p says there is
// more (at most syncMaxRounds times).
//
// A response cut short by the byte budget says how far it got: the next
// round asks from the epoch of the last envelope it brought, so each round
// goes on where the last stopped even when it brought nothing new (a
// requester's vector is bounded, and what it leaves out the responder
// sends again). Rounds end when a response is complete, or brings nothing
// new and gets no further.
func (g *Group) syncWith(ctx context.Context, p peer.ID) (SyncReport, error) {
	rep := SyncReport{Peers: 1}
	var from uint64
	for range syncMaxRounds {
		got, accepted, more, reached, err := g.syncRound(ctx, p, from)
		rep.Received += got
		rep.Accepted += accepted
		if err != nil || !more {
			return rep, err
		}
		if accepted == 0 && reached <= from {
			return rep, nil
		}
		from = max(from, reached)
	}
	return rep, nil
}

// syncRound is one request to p for the epochs from on. It returns how
// many envelopes arrived and were accepted, whether p has more, and the
// highest epoch of what arrived.
func (g *Group) syncRound(ctx context.Context, p peer.ID, from uint64) (got, accepted int, more bool, reached uint64, err error) {
	n := g.n
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	start := n.now()
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return 0, 0, false, 0, ErrClosed
	}
	req := g.sess.SyncRequest()
	g.rememberSyncKeysLocked()
	key, ok := g.syncKeyLocked(req.Epoch)
	g.mu.Unlock()
	if !ok {
		// A member removed long enough ago that its keys are gone, and
		// whose store kept none: it has nothing left to ask for.
		return 0, 0, false, 0, errNoSyncKey
	}
	defer crypto.Wipe(key[:])
	nonce, err := crypto.NewJoinChallenge(n.rand)
	if err != nil {
		return 0, 0, false, 0, err
	}
	hello, err := protocol.NewSyncHello(&key, nonce, []byte(p))
	if err != nil {
		return 0, 0, false, 0, err
	}
	// What this node erased counts as held (moderation.go).
	vector, err := g.heldGenerations()
	if err != nil {
		return 0, 0, false, 0, fmt.Errorf("node: reading generation vector: %w", err)
	}

	s, err := n.host.NewStream(ctx, p, syncProtocolID)
	if err != nil {
		return 0, 0, false, 0, fmt.Errorf("node: opening sync stream: %w", err)
	}
	defer s.Reset()
	// Reads do not watch ctx: reset the stream when it ends (Close, or
	// the exchange's deadline) so nothing waits on a silent peer.
	defer context.AfterFunc(ctx, func() { s.Reset() })()
	deadline, _ := ctx.Deadline()
	_ = s.SetDeadline(deadline)
	// step bounds the wait for each frame, so a peer that stops answering
	// holds this member's sync for syncStepTimeout, not the exchange's.
	step := func() {
		if d := time.Now().Add(syncStepTimeout); d.Before(deadline) {
			_ = s.SetReadDeadline(d)
		}
	}
	if err := writeFrame(s, hello.Marshal()); err != nil {
		return 0, 0, false, 0, fmt.Errorf("node: sending sync hello: %w", err)
	}
	step()
	b, err := readFrame(s, protocol.SyncHandshakeSize)
	if err != nil {
		return 0, 0, false, 0, fmt.Errorf("node: reading sync challenge: %w", err)
	}
	ch, err := protocol.UnmarshalSyncChallenge(b)
	if err != nil {
		return 0, 0, false, 0, err
	}
	if !ch.Answers(&key, hello, []byte(n.host.ID())) {
		// Not a member of this epoch (or a peer that answers anything):
		// it gets neither this member's index nor its vector.
		return 0, 0, false, 0, errSyncNotMember
	}
	g.mu.Lock()
	sig, err := g.sess.SignSyncProof(ch.Nonce, []byte(p), &req)
	g.mu.Unlock()
	if err != nil {
		return 0, 0, false, 0, err
	}
	proof := &protocol.SyncProof{Index: req.Index, From: from, Signature: sig, Vector: requesterVectorFrom(vector, from)}
	pb, err := proof.Marshal()
	if err != nil {
		return 0, 0, false, 0, err
	}
	if err := writeFrame(s, pb); err != nil {
		return 0, 0, false, 0, fmt.Errorf("node: sending sync proof: %w", err)
	}

	feed := newSyncFeed(g, p)
	feed.since = start
	defer feed.finish()
	// A response cut short (an error, or the byte budget) leaves the
	// commits it held for the next round (syncFeed.end).
	fail := func(err error) (int, int, bool, uint64, error) {
		feed.end(false)
		return got, feed.accepted, false, reached, err
	}
	budget := syncResponseBudget
	for {
		step()
		b, err := readFrame(s, protocol.MaxSyncFrame)
		if errors.Is(err, io.EOF) && got == 0 {
			return 0, 0, false, 0, errSyncRefused
		}
		if err != nil {
			return fail(fmt.Errorf("node: reading sync page: %w", err))
		}
		page, err := protocol.UnmarshalSyncPage(b)
		if err != nil {
			return fail(err)
		}
		for _, env := range page.Envelopes {
			budget -= len(env)
		}
		if budget < 0 {
			return fail(errors.New("node: sync peer sent more than the byte budget"))
		}
		got += len(page.Envelopes)
		for _, env := range page.Envelopes {
			if e, ok := envelopeEpoch(env); ok {
				reached = max(reached, e)
			}
		}
		feed.add(page.Envelopes)
		if page.Last {
			feed.end(!page.More)
			n.log.Debug("sync response ended", "peer", p.String(), "received", got, "accepted", feed.accepted, "pending", len(feed.pending), "more", page.More)
			return got, feed.accepted, page.More, reached, nil
		}
	}
}

// requesterVector is requesterVectorFrom for every epoch.
func requesterVector(v []storage.SenderGenerations) []protocol.VectorEntry {
	return requesterVectorFrom(v, 0)
}

// requesterVectorFrom turns the store's vector into the one a proof asking
// from epoch from on carries: the entries of those epochs, without control
// envelopes (every member's share one generation, so the responder sends
// them all), within the protocol's bounds. With too many entries it keeps
// the oldest, with too many runs in an entry the first: the responder then
// sends what was left out again (dropped as duplicates), after what the
// kept part lacks, since it sends in ascending order; if that fills the
// response, the next round asks from further on (syncWith).
func requesterVectorFrom(v []storage.SenderGenerations, from uint64) []protocol.VectorEntry {
	out := make([]protocol.VectorEntry, 0, min(len(v), protocol.MaxSyncVectorEntries))
	for _, e := range v {
		if e.Epoch < from {
			continue
		}
		if len(out) == protocol.MaxSyncVectorEntries {
			break
		}
		var runs []protocol.GenerationRun
		for _, r := range e.Held {
			if r.First == crypto.ControlGeneration {
				continue
			}
			last := r.Last
			if last == crypto.ControlGeneration {
				last--
			}
			runs = append(runs, protocol.GenerationRun{First: r.First, Last: last})
		}
		if len(runs) == 0 {
			continue
		}
		if len(runs) > protocol.MaxSyncRuns {
			runs = runs[:protocol.MaxSyncRuns]
		}
		out = append(out, protocol.VectorEntry{Epoch: e.Epoch, Sender: e.Sender, Runs: runs})
	}
	return out
}

// envelopeEpoch reads the epoch of an envelope's clear header, without
// parsing the rest (crypto.ParseEnvelope checks it when it is opened).
func envelopeEpoch(b []byte) (uint64, bool) {
	if len(b) < 9 {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[1:9]), true
}

// syncFeed feeds one response's envelopes into the group, in the order
// they arrive, through openLocked: the same checks, storage and events as
// gossip. Envelopes that cannot open yet (a chain key or commit later in
// the response) are kept and retried; they are bounded by the response's
// byte budget. Posts are delivered, once the response ends, sorted by send
// time and marked late.
//
// A commit is applied only once its epoch's other envelopes are in: it is
// held back until an envelope of a later epoch arrives (responders send
// epoch by epoch, ascending) or the response ends. Applied first, a commit
// that removed a member would make that member's earlier posts of the
// epoch unopenable (protocol.Session.Open refuses a removed author's
// envelopes of the grace epoch), although every member online at the time
// accepted them; and a responder sends an epoch's control envelopes, the
// commit among them, before its posts (it cannot tell a commit from a
// chain-key announcement: it may no longer hold the epoch's keys). The
// mailbox sends in arrival order, where a late post may follow the commit.
type syncFeed struct {
	g    *Group
	from peer.ID
	// since is when the round began: a post sent before it was missed and
	// is marked late; one sent since was live when the response brought
	// it (ahead of gossip, or instead of it), and is not. Zero marks
	// every post late (the mailbox).
	since    time.Time
	pending  [][]byte
	commits  []heldCommit
	messages []Event
	accepted int
	// skipSave, set only by tests, leaves out the session's save and the
	// page mark's deletion at the end of a page, as if the process died
	// just before them.
	skipSave bool
}

// heldCommit is a commit envelope a syncFeed holds until its epoch is done.
type heldCommit struct {
	epoch uint64
	env   []byte
}

func newSyncFeed(g *Group, from peer.ID) *syncFeed { return &syncFeed{g: g, from: from} }

// add opens a page's envelopes. The session is saved once, after the page,
// not after each envelope (syncsave.go explains why that is crash safe).
func (f *syncFeed) add(envs [][]byte) {
	g := f.g
	var events []Event
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.syncing, g.syncingSince = true, f.since
	fresh := make([][]byte, 0, len(envs))
	ids := make([]storage.EnvelopeID, 0, len(envs))
	for _, env := range envs {
		id := storage.EnvelopeIDOf(env)
		if has, err := g.n.store.HasEnvelope(g.id, id); err == nil && has {
			continue // a duplicate: nothing to do
		}
		fresh, ids = append(fresh, env), append(ids, id)
	}
	g.beginDeferredLocked(ids)
	before := f.accepted
	for _, env := range fresh {
		if e, err := crypto.ParseEnvelope(env); err == nil {
			// Every commit held for an earlier epoch: that epoch is done.
			events = append(events, f.releaseLocked(e.Epoch)...)
		}
		events = append(events, f.feedLocked(env)...)
	}
	if f.skipSave {
		g.deferSaves = false
	} else {
		g.endDeferredLocked()
	}
	opened := f.accepted > before
	if opened {
		events = append(events, f.retryLocked()...)
	}
	g.syncing, g.syncingSince = false, time.Time{}
	if opened {
		// Envelopes gossip held may open now; they stay rate limited.
		events = append(events, g.retryHeldLocked()...)
	}
	if len(events) > 0 || len(g.rebase) > 0 {
		g.needReconcile = true
	}
	g.mu.Unlock()
	f.emit(events)
}

// feedLocked opens env, or holds it back: a commit until its epoch is done
// (see syncFeed), an envelope that cannot open yet in pending. The caller
// holds g.mu with g.syncing set.
func (f *syncFeed) feedLocked(env []byte) []Event {
	g := f.g
	if g.sess.IsCommit(env) {
		if e, err := crypto.ParseEnvelope(env); err == nil {
			f.commits = append(f.commits, heldCommit{epoch: e.Epoch, env: env})
			return nil
		}
	}
	res, evs := g.openLocked(f.from, env, false)
	switch {
	case res == pubsub.ValidationAccept:
		f.accepted++
		return evs
	case res == pubsub.ValidationIgnore && g.stillWaiting(env):
		f.pending = append(f.pending, env)
	}
	return nil
}

// releaseLocked applies the held commits of epochs before epoch, in the
// order they arrived, and retries what waited for them. The caller holds
// g.mu with g.syncing set.
func (f *syncFeed) releaseLocked(epoch uint64) []Event {
	var due [][]byte
	kept := f.commits[:0]
	for _, c := range f.commits {
		if c.epoch < epoch {
			due = append(due, c.env)
		} else {
			kept = append(kept, c)
		}
	}
	f.commits = kept
	if len(due) == 0 {
		return nil
	}
	var events []Event
	before := f.accepted
	for _, env := range due {
		res, evs := f.g.openLocked(f.from, env, false)
		switch {
		case res == pubsub.ValidationAccept:
			f.accepted++
			events = append(events, evs...)
		case res == pubsub.ValidationIgnore && f.g.stillWaiting(env):
			f.pending = append(f.pending, env)
		}
	}
	if f.accepted > before {
		events = append(events, f.retryLocked()...)
	}
	return events
}

// retryLocked opens pending envelopes until none more opens. A commit among
// them is held as any other (feedLocked). The caller holds g.mu with
// g.syncing set.
func (f *syncFeed) retryLocked() []Event {
	var events []Event
	for progress := true; progress && len(f.pending) > 0; {
		before := f.accepted
		pending := f.pending
		f.pending = nil
		for _, env := range pending {
			events = append(events, f.feedLocked(env)...)
		}
		progress = f.accepted > before
	}
	return events
}

// end finishes the response's commits: complete says the response carried
// all the responder would send (no byte budget cut it short, no error).
// Then every held commit is applied, and what waited for one retried,
// until none more opens. Otherwise the held commits are dropped, as long
// as the response opened something (so the requester asks again): the
// responder sends an epoch's control envelopes whatever the requester's
// vector says, so they come again after the rest of their epoch, which
// applying them now could make unopenable.
func (f *syncFeed) end(complete bool) {
	if len(f.commits) == 0 {
		return
	}
	if !complete && f.accepted > 0 {
		f.commits = nil
		return
	}
	g := f.g
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.syncing, g.syncingSince = true, f.since
	var events []Event
	before := f.accepted
	for len(f.commits) > 0 {
		n := f.accepted
		events = append(events, f.releaseLocked(math.MaxUint64)...)
		if f.accepted == n {
			break
		}
	}
	f.commits = nil
	opened := f.accepted > before
	g.syncing, g.syncingSince = false, time.Time{}
	if opened {
		events = append(events, g.retryHeldLocked()...)
	}
	if len(events) > 0 || len(g.rebase) > 0 {
		g.needReconcile = true
	}
	g.mu.Unlock()
	f.emit(events)
}

// emit sends non-message events now and keeps message events for finish.
func (f *syncFeed) emit(events []Event) {
	for _, e := range events {
		if e.Kind == EventMessage {
			f.messages = append(f.messages, e)
			continue
		}
		f.g.n.events.emit(e)
	}
	if f.g.needReconcileNow() {
		f.g.n.kick()
	}
}

// finish applies the commits still held (end, as for a complete response,
// unless end was called) and delivers the response's posts in send-time
// order.
func (f *syncFeed) finish() {
	f.end(true)
	slices.SortStableFunc(f.messages, func(a, b Event) int {
		return a.Message.Sent.Compare(b.Message.Sent)
	})
	for _, e := range f.messages {
		f.g.n.events.emit(e)
	}
	f.messages = nil
}

// needReconcileNow reports whether the group asked the timer goroutine to
// move its topics.
func (g *Group) needReconcileNow() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.needReconcile
}

// handleStream serves /hearth/sync/1.
func (s *syncer) handleStream(st network.Stream) {
	remote := st.Conn().RemotePeer()
	if !s.rl.take(remote, time.Now()) {
		s.n.log.Debug("sync requests over the per-peer limit", "peer", remote.String())
		st.Reset()
		return
	}
	ok := s.n.goTracked(func() {
		// Close must not wait on a stalled requester.
		defer context.AfterFunc(s.n.ctx, func() { st.Reset() })()
		if err := s.n.serveSync(st); err != nil {
			s.n.log.Debug("sync stream ended", "peer", remote.String(), "err", err)
			if errors.Is(err, protocol.ErrNotSyncMember) {
				// Refused: an orderly end with no pages.
				st.Close()
				return
			}
			st.Reset()
			return
		}
		st.Close()
	})
	if !ok {
		st.Reset()
	}
}

// serveSync answers one request: a challenge, the proof, then pages. The
// hello names no group: serveSync finds the group and epoch whose sync key
// its tag verifies under (matchSyncHello) and answers under that key. A
// hello that matches nothing (a stranger, a group this node is not in, an
// epoch it never held) gets a challenge whose answer is random bytes, which
// only a holder of the key could tell from a real one, and then a closed
// stream.
func (n *Node) serveSync(st network.Stream) error {
	step := func() { _ = st.SetReadDeadline(time.Now().Add(syncStepTimeout)) }
	_ = st.SetDeadline(time.Now().Add(syncTimeout))
	step()
	b, err := readFrame(st, protocol.SyncHandshakeSize)
	if err != nil {
		return fmt.Errorf("reading hello: %w", err)
	}
	hello, err := protocol.UnmarshalSyncHello(b)
	if err != nil {
		return err
	}
	remote := st.Conn().RemotePeer()
	g, epoch, key, found := n.matchSyncHello(hello)
	defer crypto.Wipe(key[:])
	nonce, err := crypto.NewJoinChallenge(n.rand)
	if err != nil {
		return err
	}
	ch := &protocol.SyncChallenge{Nonce: nonce}
	if found {
		if ch, err = protocol.NewSyncChallenge(&key, hello, nonce, []byte(remote)); err != nil {
			return err
		}
	} else if ch.Answer, err = crypto.NewJoinChallenge(n.rand); err != nil {
		return err
	}
	if err := writeFrame(st, ch.Marshal()); err != nil {
		return fmt.Errorf("sending challenge: %w", err)
	}
	step()
	b, err = readFrame(st, protocol.MaxSyncFrame)
	if err != nil {
		return fmt.Errorf("reading proof: %w", err)
	}
	proof, err := protocol.UnmarshalSyncProof(b)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("a hello for no epoch this node holds: %w", protocol.ErrNotSyncMember)
	}
	req := protocol.SyncRequest{Group: g.id, Epoch: epoch, Index: proof.Index}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return ErrClosed
	}
	first, last, err := g.sess.CheckSyncRequest(ch.Nonce, []byte(n.host.ID()), &req, proof.Signature)
	if err == nil {
		g.notePeerLocked(remote, n.now())
	}
	g.mu.Unlock()
	if err != nil {
		return err
	}
	_ = st.SetReadDeadline(time.Time{})
	// The requester asks from proof.From on: what came before, an earlier
	// response already covered.
	first = max(first, proof.From)
	return g.serveEnvelopes(st, first, last, proof.Vector)
}

// serveEnvelopes streams what the requester lacks of epochs first..last:
// epoch by epoch, the epoch's control envelopes (chain-key announcements
// and the commit that ends it) first, then its application envelopes in
// sender and generation order, all exactly as stored, in pages, until done
// or the byte budget is spent.
func (g *Group) serveEnvelopes(st network.Stream, first, last uint64, theirs []protocol.VectorEntry) error {
	st0 := g.n.store
	vec, err := st0.GenerationVector(g.id)
	if err != nil {
		return err
	}
	var have []protocol.VectorEntry
	for _, e := range vec {
		if e.Epoch < first || e.Epoch > last {
			continue
		}
		runs := make([]protocol.GenerationRun, len(e.Held))
		for i, r := range e.Held {
			runs[i] = protocol.GenerationRun{First: r.First, Last: r.Last}
		}
		have = append(have, protocol.VectorEntry{Epoch: e.Epoch, Sender: e.Sender, Runs: runs})
	}
	wants := protocol.SyncDiff(have, theirs)
	// Control envelopes always go (the requester's vector leaves them
	// out), and go first within their epoch.
	var control []protocol.SyncWant
	for _, e := range have {
		if r := e.Runs[len(e.Runs)-1]; r.Last == crypto.ControlGeneration {
			control = append(control, protocol.SyncWant{Epoch: e.Epoch, Sender: e.Sender, First: crypto.ControlGeneration, Last: crypto.ControlGeneration})
		}
	}
	ordered := make([]protocol.SyncWant, 0, len(wants)+len(control))
	ci := 0
	for i := 0; i < len(wants) || ci < len(control); {
		var epoch uint64
		switch {
		case ci < len(control) && (i >= len(wants) || control[ci].Epoch <= wants[i].Epoch):
			epoch = control[ci].Epoch
		default:
			epoch = wants[i].Epoch
		}
		for ; ci < len(control) && control[ci].Epoch == epoch; ci++ {
			ordered = append(ordered, control[ci])
		}
		for ; i < len(wants) && wants[i].Epoch == epoch; i++ {
			if wants[i].Last == crypto.ControlGeneration {
				if wants[i].First == crypto.ControlGeneration {
					continue
				}
				wants[i].Last--
			}
			ordered = append(ordered, wants[i])
		}
	}

	page := &protocol.SyncPage{}
	size, sent := 0, 0
	flush := func(lastPage, more bool) error {
		page.Last, page.More = lastPage, more
		b, err := page.Marshal()
		if err != nil {
			return err
		}
		if err := writeFrame(st, b); err != nil {
			return err
		}
		page.Envelopes, size = nil, 0
		return nil
	}
	for _, w := range ordered {
		from := w.First
		for {
			envs, err := st0.EnvelopesFor(g.id, w.Epoch, w.Sender, from, w.Last, syncPageEnvelopes)
			if err != nil {
				return err
			}
			for _, e := range envs {
				if sent+len(e.Raw) > syncResponseBudget {
					return flush(true, true)
				}
				if len(page.Envelopes) == protocol.MaxSyncPageEnvelopes || size+len(e.Raw) > protocol.MaxSyncPageBytes {
					if err := flush(false, false); err != nil {
						return err
					}
				}
				page.Envelopes = append(page.Envelopes, e.Raw)
				size += len(e.Raw)
				sent += len(e.Raw)
			}
			if len(envs) < syncPageEnvelopes {
				break
			}
			next := envs[len(envs)-1].Meta.Generation
			if next >= w.Last {
				break
			}
			from = next + 1
		}
	}
	return flush(true, false)
}
