package node

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// Group is the node's handle on one group. Its methods are safe for
// concurrent use.
//
// Locking: mu guards sess and every field listed after it. It is held while
// the session changes and while that change is persisted, so the stored
// session never lags behind one that has answered a caller or accepted an
// envelope. It is never held while publishing (gossipsub runs validators
// synchronously on a publish) or while waiting on the network. topicMu
// serialises joining and leaving the group's topics and is taken before mu.
type Group struct {
	n  *Node
	id crypto.GroupID
	// rate limits each member's envelopes (see RateLimit); it has its own
	// lock.
	rate *limiter[crypto.MemberID]

	topicMu sync.Mutex

	mu   sync.Mutex
	sess *protocol.Session
	// closed is set by close; the session is wiped then.
	closed bool
	// topics are the joined topics by name: the current epoch's and,
	// during its grace period, the previous one's.
	topics map[string]*epochTopic
	// outboxes hold what this member has to publish on a topic whose mesh
	// is not ready yet: its chain-key announcement for the epoch, then
	// posts and commits made meanwhile, in order (see tick).
	outboxes map[string]*outbox
	// held are envelopes that could not be opened yet (the sender's chain
	// key or the commit leading to their epoch has not arrived); see
	// hold.
	held map[[32]byte]*heldEnvelope
	// peers are the peers that forwarded accepted envelopes of the group,
	// with when; peersDirty says they changed since last persisted.
	peers      map[peer.ID]time.Time
	peersDirty bool
	// needReconcile asks tick to move the group's topics; leaveTopicsAt,
	// when set, asks it to at that time.
	needReconcile bool
	leaveTopicsAt time.Time
	// leaving are members whose leave requests this node has seen, so
	// their removal reads as leaving.
	leaving map[crypto.MemberID]bool
	// rebase holds changes of this member's commit that lost a fork and
	// must be committed again (see maintain).
	rebase []protocol.Change
	// mailboxToken is the registration token of the mailbox SetMailbox is
	// naming, while its commit is made (mailbox.go).
	mailboxToken *[crypto.MailboxTokenSize]byte
	// syncing is set while history sync feeds envelopes through
	// openLocked (sync.go): they are placed in history by send time, not
	// rate limited (the sync byte budget bounds them, and a member's past
	// posts are not a flood), and marked late when sent before
	// syncingSince, the start of the sync round that brought them (zero,
	// as for the mailbox: all of them).
	syncing      bool
	syncingSince time.Time
	// deferSaves is set while syncFeed.add applies a page whose session
	// save openLocked may defer to the page's end, and unsaved counts the
	// envelopes whose save it deferred (syncsave.go).
	deferSaves bool
	unsaved    int
}

// epochTopic is one joined topic of the group.
type epochTopic struct {
	epoch uint64
	t     *groupTopic
}

func newGroup(n *Node, id crypto.GroupID, sess *protocol.Session) *Group {
	return &Group{
		n:        n,
		id:       id,
		rate:     newLimiter[crypto.MemberID](n.rate.PerMinute, n.rate.Burst, protocol.MaxMembers*2),
		sess:     sess,
		topics:   make(map[string]*epochTopic),
		held:     make(map[[32]byte]*heldEnvelope),
		outboxes: make(map[string]*outbox),
		leaving:  make(map[crypto.MemberID]bool),
		peers:    make(map[peer.ID]time.Time),
	}
}

// loadGroup rebuilds a group from the store: its session, the announcement
// it had not yet published, and the peers seen in it.
func (n *Node) loadGroup(id crypto.GroupID) (*Group, error) {
	b, err := n.store.Get(storage.KindGroup, id, keySession)
	if err != nil {
		return nil, fmt.Errorf("reading session: %w", err)
	}
	sess, err := protocol.ImportSession(b)
	crypto.Wipe(b)
	if err != nil {
		return nil, fmt.Errorf("importing session: %w", err)
	}
	g := newGroup(n, id, sess)
	if err := g.recoverSyncPage(); err != nil {
		return nil, fmt.Errorf("recovering a sync page: %w", err)
	}
	err = n.store.Scan(storage.KindGroup, id, prefixAnnounce, func(key, value []byte) error {
		a, err := decodeAnnounce(value)
		if err != nil {
			n.log.Warn("dropping an unreadable stored announcement", "err", err)
			return nil
		}
		if _, err := sess.Keys(a.epoch); err != nil {
			// The epoch is over: the announcement can never be used.
			return n.store.Delete(storage.KindGroup, id, key)
		}
		a.created = time.Now()
		g.outboxes[a.topic] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading announcements: %w", err)
	}
	if b, err := n.store.Get(storage.KindGroup, id, keyPeers); err == nil {
		if ps, err := decodePeers(b); err == nil {
			for _, ai := range ps {
				g.peers[ai.ID] = time.Time{}
				n.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerAddrTTL)
			}
		}
	}
	return g, nil
}

// persistLocked stores the session sealed (storage seals every record) and
// wipes the export. The caller holds g.mu.
func (g *Group) persistLocked() error {
	b, err := g.sess.Export()
	if err != nil {
		return fmt.Errorf("node: exporting session: %w", err)
	}
	defer crypto.Wipe(b)
	if err := g.n.store.Put(storage.KindGroup, g.id, keySession, b); err != nil {
		return fmt.Errorf("node: storing session: %w", err)
	}
	return nil
}

// close leaves the group's topics and wipes its session. The node is
// closing; nothing is persisted that was not already.
func (g *Group) close() {
	g.topicMu.Lock()
	defer g.topicMu.Unlock()
	g.mu.Lock()
	g.closed = true
	topics := g.topics
	g.topics = make(map[string]*epochTopic)
	g.mu.Unlock()
	g.leaveTopics(topics)
	g.mu.Lock()
	if g.sess != nil {
		g.sess.Wipe()
	}
	g.mu.Unlock()
}

// Info describes the group now.
func (g *Group) Info() GroupInfo {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return GroupInfo{ID: g.id}
	}
	st := g.sess.GroupState()
	me := g.sess.Me()
	info := GroupInfo{
		ID:        g.id,
		Name:      st.Name,
		Role:      me.Role,
		Members:   len(st.Roster),
		Epoch:     st.Epoch,
		Me:        memberInfo(me),
		Retention: time.Duration(st.Retention) * time.Second,
		Removed:   g.sess.Removed(),
	}
	g.guidelinesInfo(&info)
	return info
}

// Members returns the current roster (the last one this member belonged to,
// once removed), in the order members were added.
func (g *Group) Members() []MemberInfo {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	st := g.sess.GroupState()
	out := make([]MemberInfo, len(st.Roster))
	for i, m := range st.Roster {
		out[i] = memberInfo(m)
	}
	return out
}

// ownPublish marks this node's own publishes: gossipsub hands it to the
// topic's handler as the decoded form, and the transport accepts the
// publish without running the validator (the session sealed the envelope
// and could not open it again). Everything the envelope causes locally (the
// stored envelope, the local copy, the event) was done before publishing,
// exactly once.
type ownPublish struct{}

// Post seals text (a reply to replyTo unless it is zero) into an envelope,
// stores it and its local copy, emits EventMessage for it, and publishes it
// on the group's topic. The post is in History when Post returns, even if no
// other member is online.
//
// It returns ErrRemoved (wrapped) after this member was removed or left,
// ErrGuidelinesNotAccepted (wrapped) while the group has guidelines this
// member has not accepted (moderation.go), protocol.ErrBadPost (wrapped)
// for text that breaks the rules of a post (empty, longer than
// protocol.MaxPostText, not UTF-8), and ErrClosed after Close. A
// publishing error is returned after the post was stored.
func (g *Group) Post(ctx context.Context, text string, replyTo MessageID) (*Message, error) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil, ErrClosed
	}
	if err := g.requireGuidelinesLocked(); err != nil {
		g.mu.Unlock()
		return nil, err
	}
	now := g.n.now()
	env, post, err := g.sess.SealPost(text, replyTo, now.UnixMilli(), g.n.rand)
	if err != nil {
		g.mu.Unlock()
		return nil, fmt.Errorf("node: posting: %w", err)
	}
	me := g.sess.Me()
	epoch := g.sess.GroupState().Epoch
	meta := storage.EnvelopeMeta{Epoch: epoch, Sender: me.Index, Generation: envelopeGeneration(env, g.sess), Received: now}
	msg := &Message{
		ID: post.ID, Group: g.id, Author: me.ID, Pseudonym: me.Pseudonym, Text: post.Text,
		ReplyTo: post.ReplyTo, Sent: time.UnixMilli(now.UnixMilli()), Received: now, Epoch: epoch,
	}
	recorded, err := g.finishSendLocked(ctx, env, func() ([]Event, error) {
		return []Event{{Kind: EventMessage, Group: g.id, Message: msg}}, g.storeMessageLocked(env, meta, msg)
	})
	if !recorded {
		return nil, err
	}
	return msg, err
}

// finishSendLocked records env, an envelope this member just sealed, with
// record (which stores what it brings and returns the events to emit),
// persists the session, and releases g.mu; then it emits the events and
// publishes env, or leaves it in the topic's outbox until the mesh is
// ready. The caller holds g.mu, which is released on return. recorded
// reports whether env was recorded and persisted: a publishing error comes
// after that, with recorded true.
func (g *Group) finishSendLocked(ctx context.Context, env []byte, record func() ([]Event, error)) (recorded bool, err error) {
	events, err := record()
	if err == nil {
		err = g.persistLocked()
	}
	topic := g.currentTopicLocked()
	queued := err == nil && g.queueLocked(g.sess.Topic(), env)
	g.mu.Unlock()
	if err != nil {
		return false, err
	}
	for _, e := range events {
		g.n.events.emit(e)
	}
	if queued {
		return true, nil
	}
	if topic == nil {
		return true, fmt.Errorf("node: sending: the group's topic is not joined yet")
	}
	return true, topic.publish(ctx, env, ownPublish{})
}

// envelopeGeneration reads the sender generation of an envelope this
// session just sealed, for the store's index. It returns 0 if it cannot
// (which only costs the index precision, never correctness).
func envelopeGeneration(env []byte, sess *protocol.Session) uint32 {
	_, gen, ok := peekSender(env, sess)
	if !ok {
		return 0
	}
	return gen
}

// peekSender opens the sender data of env with its epoch's sender-data key,
// without changing the session: the sender's index and generation. The
// sender data is authenticated only by a key every member holds, so the
// answer is a claim that Session.Open later proves or refutes.
func peekSender(env []byte, sess *protocol.Session) (index, gen uint32, ok bool) {
	e, err := crypto.ParseEnvelope(env)
	if err != nil {
		return 0, 0, false
	}
	keys, err := sess.Keys(e.Epoch)
	if err != nil {
		return 0, 0, false
	}
	defer keys.Wipe()
	sd, err := e.OpenSender(&keys.SenderData)
	if err != nil {
		return 0, 0, false
	}
	return sd.Index, sd.Generation, true
}

// currentTopicLocked returns the topic of the current epoch, or nil. The
// caller holds g.mu.
func (g *Group) currentTopicLocked() *groupTopic {
	if g.sess.Removed() {
		return nil
	}
	epoch := g.sess.GroupState().Epoch
	for _, et := range g.topics {
		if et.epoch == epoch && et.t.name == g.currentTopicNameLocked() {
			return et.t
		}
	}
	return nil
}

// currentTopicNameLocked returns the current epoch's topic name. The caller
// holds g.mu.
func (g *Group) currentTopicNameLocked() string { return g.sess.Topic() }

// Promote sets member's role. It returns ErrNotAdmin (wrapped) unless this
// member is a host, ErrNoMember for someone not in the group, and the
// protocol's errors (protocol.ErrLastHost when the change would leave no
// host, protocol.ErrBadChange when it changes nothing).
func (g *Group) Promote(ctx context.Context, member crypto.MemberID, role protocol.Role) error {
	if !role.Valid() {
		return fmt.Errorf("node: promoting: %w", protocol.ErrBadRole)
	}
	_, err := g.commit(ctx, []protocol.Change{protocol.SetRole{Member: member, Role: role}}, requireHost, member)
	return err
}

// Remove removes member from the group: a new epoch whose secrets are
// sealed to the remaining members only, on a new topic. It returns
// ErrNotAdmin (wrapped) unless this member may remove them, ErrNoMember for
// someone not in the group, and the protocol's errors. To remove oneself,
// use Leave.
func (g *Group) Remove(ctx context.Context, member crypto.MemberID) error {
	_, err := g.commit(ctx, []protocol.Change{protocol.Remove{Member: member}}, requireAdmin, member)
	return err
}

// Leave leaves the group: it publishes this member's signed request to be
// removed (a host or moderator who receives it commits the removal, drawing
// the next epoch's secret, which the leaver never learns), wipes every key
// the node holds for the group, leaves its topics and emits EventRemoved.
// The group's history stays readable on this node; it can no longer post.
// It returns ErrRemoved after an earlier removal, and protocol.ErrLastHost
// (wrapped) when this member is the only host (promote another first).
func (g *Group) Leave(ctx context.Context) error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return ErrClosed
	}
	topic := g.currentTopicLocked()
	epoch := g.sess.GroupState().Epoch
	me := g.sess.Me()
	now := g.n.now()
	res, err := g.sess.Leave(now.UnixMilli(), g.n.rand)
	if err != nil {
		g.mu.Unlock()
		return fmt.Errorf("node: leaving: %w", err)
	}
	meta := storage.EnvelopeMeta{Epoch: epoch, Sender: me.Index, Generation: crypto.ControlGeneration, Received: now}
	if _, err := g.n.store.PutEnvelope(g.id, meta, res.Envelope); err != nil {
		g.n.log.Warn("storing a leave request", "err", err)
	}
	err = g.persistLocked()
	if err == nil {
		err = g.n.store.MarkEpochEnded(g.id, epoch, now)
	}
	g.outboxes = make(map[string]*outbox)
	g.mu.Unlock()
	if err != nil {
		return err
	}
	if topic != nil {
		if err := topic.publish(ctx, res.Envelope, ownPublish{}); err != nil {
			g.n.log.Warn("publishing a leave request", "err", err)
		}
	}
	g.n.events.emit(Event{Kind: EventRemoved, Group: g.id})
	// The topics are left a little later (tick), so that gossipsub has
	// sent the request to the mesh before the node unsubscribes.
	g.mu.Lock()
	g.leaveTopicsAt = time.Now().Add(leaveLinger)
	g.mu.Unlock()
	return nil
}

// leaveLinger is how long a node that left a group stays on its topic, so
// its leave request goes out (the session opens nothing meanwhile).
const leaveLinger = 2 * time.Second

// Role requirements of commit.
type roleRequirement int

const (
	requireNone roleRequirement = iota
	requireAdmin
	requireHost
)

// commit commits changes, persists the new state, publishes the
// commit on the old epoch's topic, then moves to the new epoch's topic,
// where the announcement follows once the mesh is ready. subject is the
// member the changes touch (checked to be in the roster), zero for none.
func (g *Group) commit(ctx context.Context, changes []protocol.Change, need roleRequirement, subject crypto.MemberID) (*protocol.CommitResult, error) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil, ErrClosed
	}
	if g.sess.Removed() {
		g.mu.Unlock()
		return nil, fmt.Errorf("node: %w", ErrRemoved)
	}
	me := g.sess.Me()
	switch {
	case need == requireAdmin && !me.Role.IsAdmin(), need == requireHost && me.Role != protocol.RoleHost:
		g.mu.Unlock()
		return nil, fmt.Errorf("node: %w", ErrNotAdmin)
	}
	before := g.sess.GroupState()
	if subject != (crypto.MemberID{}) {
		if _, ok := before.MemberByID(subject); !ok {
			g.mu.Unlock()
			return nil, fmt.Errorf("node: member %s: %w", subject, ErrNoMember)
		}
	}
	oldTopic := g.currentTopicLocked()
	oldName := g.sess.Topic()
	now := g.n.now()
	var res *protocol.CommitResult
	var err error
	res, err = g.sess.Commit(changes, now.UnixMilli(), g.n.rand)
	if err != nil {
		g.mu.Unlock()
		return nil, fmt.Errorf("node: committing: %w", err)
	}
	meta := storage.EnvelopeMeta{Epoch: before.Epoch, Sender: me.Index, Generation: crypto.ControlGeneration, Received: now}
	queued := g.queueLocked(oldName, res.Envelope)
	if queued {
		oldTopic = nil
	}
	events, err := g.afterCommitLocked(before, res.Commit, res.NewEpoch, meta, res.Envelope)
	if ob := g.outboxes[g.sess.Topic()]; queued && ob != nil && err == nil {
		ob.blockedBy = oldName
	}
	g.mu.Unlock()
	if err != nil {
		return nil, err
	}
	// The group's mailbox gets the new epoch's capability first, so it is
	// on the new topic before members move there (mailbox.go).
	g.handOffNow(ctx)
	// The commit goes out on the old topic first, so that every member of
	// the old epoch (the removed one included) learns of it; only then does
	// this node move on.
	if oldTopic != nil {
		if err := oldTopic.publish(ctx, res.Envelope, ownPublish{}); err != nil {
			g.n.log.Warn("publishing a commit failed", "err", err)
		}
	}
	for _, e := range events {
		g.n.events.emit(e)
	}
	if err := g.reconcileTopics(); err != nil {
		g.n.log.Warn("moving to the new epoch's topic failed; retrying later", "err", err)
	}
	// New members cannot read the epoch the guidelines were pinned in.
	g.resendGuidelines(ctx, changes)
	g.n.kick()
	return res, nil
}

// afterCommitLocked records a commit this session has applied (its own, or
// received with env): it stores the commit envelope and the commit, marks
// the old epoch ended, keeps the new epoch's announcement for publishing,
// persists the session, and returns the events to emit. The caller holds
// g.mu.
func (g *Group) afterCommitLocked(before *protocol.GroupState, c *protocol.Commit, change *protocol.EpochChange, meta storage.EnvelopeMeta, env []byte) ([]Event, error) {
	st := g.n.store
	if _, err := st.PutEnvelope(g.id, meta, env); err != nil {
		return nil, fmt.Errorf("node: storing commit envelope: %w", err)
	}
	if cb, err := c.Marshal(); err == nil {
		if err := st.Put(storage.KindCommit, g.id, epochKey(c.Epoch), cb); err != nil {
			return nil, fmt.Errorf("node: storing commit: %w", err)
		}
	}
	if err := st.MarkEpochEnded(g.id, before.Epoch, meta.Received); err != nil {
		return nil, fmt.Errorf("node: marking epoch ended: %w", err)
	}
	g.noteMailboxCommitLocked(before, c)
	if change != nil {
		if err := g.setAnnounceLocked(change); err != nil {
			return nil, err
		}
		if len(change.Rebase) > 0 {
			g.rebase = append(g.rebase, change.Rebase...)
		}
	}
	if err := g.persistLocked(); err != nil {
		return nil, err
	}
	after := g.sess.GroupState()
	events := commitEvents(g.id, before, after, c, g.leaving)
	switch {
	case g.sess.Removed():
		events = append(events, Event{Kind: EventRemoved, Group: g.id})
	case change != nil:
		events = append(events, Event{Kind: EventEpochChanged, Group: g.id, Epoch: change.Epoch})
	}
	return events, nil
}

// commitEvents lists what a commit changed, as events: members added, left
// (asked to be removed), removed, or given another role.
func commitEvents(id crypto.GroupID, before, after *protocol.GroupState, c *protocol.Commit, leaving map[crypto.MemberID]bool) []Event {
	var out []Event
	for _, ch := range c.Changes {
		switch ch := ch.(type) {
		case protocol.Add:
			m := memberInfo(protocol.Member{ID: ch.Public.ID(), Pseudonym: ch.Pseudonym, Role: ch.Role})
			out = append(out, Event{Kind: EventMemberJoined, Group: id, Member: &m})
		case protocol.Remove:
			old, _ := before.MemberByID(ch.Member)
			m := memberInfo(old)
			kind := EventMemberRemoved
			if ch.Member == c.Committer || leaving[ch.Member] {
				kind = EventMemberLeft
				delete(leaving, ch.Member)
			}
			out = append(out, Event{Kind: kind, Group: id, Member: &m})
		case protocol.SetRole:
			cur, _ := after.MemberByID(ch.Member)
			m := memberInfo(cur)
			m.Role = ch.Role
			out = append(out, Event{Kind: EventRoleChanged, Group: id, Member: &m})
		}
	}
	return out
}

// epochKey is the key of a KindCommit record: the epoch the commit made,
// big-endian.
func epochKey(epoch uint64) []byte { return storage.EpochKey(epoch, nil) }

// ID returns the group's ID.
func (g *Group) ID() crypto.GroupID { return g.id }

// OnlinePeers returns how many peers are subscribed, as far as this node's
// pubsub knows, to the group's current topic: the group's members who are
// online and connected to this node, directly or through a relay.
// Envelopes carry no author (sealed sender) and the device key never signs
// group content, so the traffic does not say which member a peer is; the
// peer IDs members announce in the group do, as far as they are true:
// OnlineMembers (presence.go) says who.
func (g *Group) OnlinePeers() int {
	g.mu.Lock()
	if g.closed || g.sess.Removed() {
		g.mu.Unlock()
		return 0
	}
	topic := g.sess.Topic()
	g.mu.Unlock()
	return len(g.n.ps.ListPeers(topic))
}
