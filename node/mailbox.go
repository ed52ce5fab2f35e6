package node

import (
	"context"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	lp2pprotocol "github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// This file is the mailbox: a node (typically a host's always-on machine)
// that keeps a group's envelopes for members who are offline, without
// being able to read them. It has two sides.
//
// The mailbox side (Config.Mailbox.Enabled) holds, per group and epoch,
// only the crypto.MailboxCapability that members hand it: the topic ID,
// with which it joins the epoch's topic and stores every envelope that
// passes (checking only its structure and epoch: it cannot open it), and
// the sync key, with which it recognises members asking for them. It has
// no protocol.Session, no roster, no epoch secret, no sender-data key and
// no chain key of any group it serves.
//
// The member side names the group's mailbox (Group.SetMailbox, a host's
// commit), hands the mailbox each new epoch's capability (sealed to it in
// the commit; the committer delivers it over /hearth/mailbox/1 before
// publishing the commit, and any member whose fetch the mailbox refuses
// delivers what it kept), and fetches from the mailbox, with the session's
// sync key, what the group posted while this member was away: on start,
// when the mailbox connects, and with anti-entropy. What it fetches goes
// through the same path as gossip and history sync (syncFeed), so nothing
// the mailbox sends is believed without the member's own checks.
//
// The messages are in protocol/mailbox.go, the cryptography in
// crypto/mailbox.go; docs/PROTOCOL.md ("Mailbox") and SECURITY.md say what
// a mailbox learns.

// mailboxProtocolID is the stream protocol between members and a mailbox.
const mailboxProtocolID lp2pprotocol.ID = "/hearth/mailbox/1"

// MailboxConfig runs the node as a mailbox for the groups that register
// it. The zero value runs none.
type MailboxConfig struct {
	// Enabled makes the node a mailbox: it answers /hearth/mailbox/1 and
	// keeps the envelopes of the groups that register it.
	Enabled bool
	// Retention is how long envelopes and capabilities are kept; zero
	// means 14 days.
	Retention time.Duration
	// MaxGroups bounds the groups the mailbox serves; zero means 64.
	MaxGroups int
	// EpochBytes bounds the envelope bytes stored per epoch of a group;
	// zero means 64 MiB. Past it, the epoch's further envelopes are
	// dropped (members still hold them, and sync among members).
	EpochBytes int64
}

// Defaults and bounds of the mailbox side.
const (
	defaultMailboxRetention  = 14 * 24 * time.Hour
	defaultMailboxGroups     = 64
	defaultMailboxEpochBytes = 64 << 20
	// mailboxForks bounds the capabilities kept for one epoch of a group:
	// a fork gives an epoch two topics, and a member removed in the
	// commit that made it could make up more (see SECURITY.md).
	mailboxForks = 4
	// mailboxEpochEnvelopes bounds the envelopes stored per epoch (and
	// fork): the envelope numbers are 32-bit.
	mailboxEpochEnvelopes = 1 << 20
	// mailboxTopicsKept is how many of a group's newest epochs the
	// mailbox stays subscribed to: the newest, and the one before for
	// the envelopes of members who have not yet seen the commit.
	mailboxTopicsKept = 2
	// mailboxStepTimeout bounds each frame the mailbox waits for.
	mailboxStepTimeout = 15 * time.Second
	// mailboxHandoffTimeout bounds a member's delivery of a capability.
	mailboxHandoffTimeout = 5 * time.Second
	// mailboxCommitWait bounds how long a commit waits for the mailbox
	// before it is published: a mailbox that is down must not hold up a
	// removal. What is not delivered then is delivered later (syncMailbox).
	mailboxCommitWait = 2 * time.Second
	// mailboxPruneInterval paces dropping, from memory, the epochs whose
	// capabilities retention deleted from the store.
	mailboxPruneInterval = time.Minute
	// mailboxFetchRounds bounds the fetches of one catch-up: the epochs a
	// member walks through, and the rounds of one epoch.
	mailboxFetchRounds = 64
	// mailboxRequestsPerMinute and mailboxRequestsBurst limit the
	// requests one peer makes of the mailbox.
	mailboxRequestsPerMinute = 60
	mailboxRequestsBurst     = 30
	// maxHandoffAge is how many epochs behind the current one a member
	// keeps a capability it could still deliver.
	maxHandoffAge = 16
)

// mailboxRegistrationPrefix begins a mailbox's registration string.
const mailboxRegistrationPrefix = "hearth-mailbox:"

// Errors of the mailbox.
var (
	// ErrNotMailbox: the node does not run as a mailbox.
	ErrNotMailbox = errors.New("this node does not run as a mailbox")
	// ErrBadMailboxRegistration: the text is not a mailbox registration
	// string.
	ErrBadMailboxRegistration = errors.New("not a mailbox registration string")
	// ErrNoMailbox: the group names no mailbox.
	ErrNoMailbox = errors.New("the group has no mailbox")
	// errMailboxRefused: the mailbox closed the stream without an answer:
	// it does not hold the epoch, or it refused the proof or a limit.
	errMailboxRefused = errors.New("node: the mailbox refused the request")
)

// Record keys of the mailbox (see records.go).
var (
	keyMailboxID        = []byte("mbx/id")   // KindLocal, zero group: the mailbox's key and token
	prefixMailboxGroup  = []byte("mbx/g/")   // KindLocal, zero group: + group ID: a group the mailbox serves
	prefixMailboxCap    = []byte("mbx/cap/") // KindEpochSecret, after the epoch: + topic ID[:8]: a capability
	prefixMailboxCount  = []byte("mbx/n/")   // KindLocal: + epoch ‖ fork: envelopes and bytes stored
	prefixMailboxHand   = []byte("mbx/h/")   // KindLocal: + epoch: a capability to deliver
	prefixMailboxCursor = []byte("mbx/c/")   // KindLocal: + epoch ‖ topic ID[:8]: the last envelope fetched
	prefixMailboxPush   = []byte("mbx/p/")   // KindLocal: + epoch: the last arrival offered to the mailbox
)

// mailbox is the mailbox side of a node.
//
// Locking: mu guards groups and everything below it; it is a leaf lock
// (nothing is taken while it is held, and it is never held while joining
// or leaving a topic). topicMu serialises joining and leaving.
type mailbox struct {
	n     *Node
	cfg   MailboxConfig
	key   *crypto.MailboxKey
	token [crypto.MailboxTokenSize]byte
	rl    *limiter[peer.ID]

	topicMu sync.Mutex
	mu      sync.Mutex
	groups  map[crypto.GroupID]map[uint64][]*mailboxEpoch
}

// mailboxEpoch is what the mailbox holds for one epoch (one fork) of one
// group: the capability, its topic while joined, and what it stored.
type mailboxEpoch struct {
	group crypto.GroupID
	epoch uint64
	// fork numbers the capabilities of one epoch (0, 1, ...); it is the
	// sender index under which the store files the fork's envelopes.
	fork  uint32
	cap   crypto.MailboxCapability
	topic *groupTopic
	// seq is the number of the last envelope stored (they are numbered
	// 1, 2, 3, ... as the store's generation), bytes their total size.
	seq   uint32
	bytes int64
	// ids holds the first bytes of the ID of every envelope stored, once
	// a push has asked for them (idsLoaded); store appends to it.
	ids       [][protocol.MailboxHavePrefix]byte
	idsLoaded bool
}

// startMailbox loads (or makes) the mailbox's key and token, reloads the
// groups it serves, joins their newest topics and registers the stream
// handler. New calls it when Config.Mailbox.Enabled.
func (n *Node) startMailbox(cfg MailboxConfig) error {
	if cfg.Retention <= 0 {
		cfg.Retention = defaultMailboxRetention
	}
	if cfg.MaxGroups <= 0 {
		cfg.MaxGroups = defaultMailboxGroups
	}
	if cfg.EpochBytes <= 0 {
		cfg.EpochBytes = defaultMailboxEpochBytes
	}
	m := &mailbox{
		n:      n,
		cfg:    cfg,
		rl:     newLimiter[peer.ID](mailboxRequestsPerMinute, mailboxRequestsBurst, maxLimiterEntries),
		groups: make(map[crypto.GroupID]map[uint64][]*mailboxEpoch),
	}
	if err := m.loadIdentity(); err != nil {
		return err
	}
	if err := m.load(); err != nil {
		m.key = nil
		return err
	}
	n.mbox = m
	for id := range m.groups {
		m.reconcile(id)
	}
	n.host.SetStreamHandler(mailboxProtocolID, m.handleStream)
	n.goTracked(m.pruneLoop)
	return nil
}

// pruneLoop drops from memory, every mailboxPruneInterval, the epochs
// whose capability records retention has deleted (Node.expire runs the
// store's retention), leaving their topics; a group with no epoch left is
// forgotten, and no longer counts against MaxGroups.
func (m *mailbox) pruneLoop() {
	t := time.NewTicker(mailboxPruneInterval)
	defer t.Stop()
	for {
		select {
		case <-m.n.ctx.Done():
			return
		case <-t.C:
			m.prune()
		}
	}
}

// prune is one pass of pruneLoop.
func (m *mailbox) prune() {
	st := m.n.store
	m.mu.Lock()
	var gone []*mailboxEpoch
	var empty []crypto.GroupID
	for id, epochs := range m.groups {
		for e, forks := range epochs {
			kept := forks[:0]
			for _, me := range forks {
				if _, err := st.Get(storage.KindEpochSecret, id, mailboxCapKey(e, me.cap.TopicID)); errors.Is(err, storage.ErrNotFound) {
					gone = append(gone, me)
					continue
				}
				kept = append(kept, me)
			}
			if len(kept) == 0 {
				delete(epochs, e)
			} else {
				epochs[e] = kept
			}
		}
		if len(epochs) == 0 {
			delete(m.groups, id)
			empty = append(empty, id)
		}
	}
	m.mu.Unlock()
	for _, me := range gone {
		m.topicMu.Lock()
		m.mu.Lock()
		t := me.topic
		me.topic = nil
		me.cap.Wipe()
		m.mu.Unlock()
		if t != nil {
			ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
			_ = t.leave(ctx)
			cancel()
		}
		m.topicMu.Unlock()
	}
	for _, id := range empty {
		if err := st.Delete(storage.KindLocal, crypto.GroupID{}, withPrefix(prefixMailboxGroup, id[:])); err != nil {
			m.n.log.Warn("mailbox: forgetting a group", "err", err)
		}
	}
}

// loadIdentity reads the mailbox's key pair and registration token from
// the store, or draws and stores them on the first start.
func (m *mailbox) loadIdentity() error {
	st := m.n.store
	b, err := st.Get(storage.KindLocal, crypto.GroupID{}, keyMailboxID)
	if errors.Is(err, storage.ErrNotFound) {
		key, err := crypto.NewMailboxKey(m.n.rand)
		if err != nil {
			return err
		}
		token, err := crypto.NewMailboxToken(m.n.rand)
		if err != nil {
			return err
		}
		e := newEnc()
		kb := key.Marshal()
		e.fixed(kb)
		crypto.Wipe(kb)
		e.fixed(token[:])
		err = st.Put(storage.KindLocal, crypto.GroupID{}, keyMailboxID, e.bytes())
		crypto.Wipe(e.b)
		if err != nil {
			return fmt.Errorf("node: storing the mailbox key: %w", err)
		}
		m.key, m.token = key, *token
		crypto.Wipe(token[:])
		return nil
	}
	if err != nil {
		return fmt.Errorf("node: reading the mailbox key: %w", err)
	}
	defer crypto.Wipe(b)
	d := newDec(b)
	kb := d.take(crypto.MailboxKeySize)
	d.fixed(m.token[:])
	if err := d.finish(); err != nil {
		return err
	}
	m.key, err = crypto.UnmarshalMailboxKey(kb)
	return err
}

// load reads the groups served and their capabilities and counters.
func (m *mailbox) load() error {
	st := m.n.store
	var ids []crypto.GroupID
	err := st.Scan(storage.KindLocal, crypto.GroupID{}, prefixMailboxGroup, func(key, _ []byte) error {
		var id crypto.GroupID
		if len(key) != len(prefixMailboxGroup)+crypto.GroupIDSize {
			return fmt.Errorf("%w: mailbox group key", errRecord)
		}
		copy(id[:], key[len(prefixMailboxGroup):])
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("node: reading the mailbox's groups: %w", err)
	}
	for _, id := range ids {
		epochs := make(map[uint64][]*mailboxEpoch)
		err := st.Scan(storage.KindEpochSecret, id, nil, func(key, value []byte) error {
			if len(key) != 8+len(prefixMailboxCap)+8 || !slices.Equal(key[8:8+len(prefixMailboxCap)], prefixMailboxCap) {
				return nil
			}
			me := &mailboxEpoch{group: id, epoch: binary.BigEndian.Uint64(key)}
			d := newDec(value)
			me.fork = d.u32()
			d.fixed(me.cap.TopicID[:])
			d.fixed(me.cap.SyncAuth[:])
			if err := d.finish(); err != nil {
				return err
			}
			epochs[me.epoch] = append(epochs[me.epoch], me)
			return nil
		})
		if err != nil {
			return fmt.Errorf("node: reading a mailbox group: %w", err)
		}
		for _, forks := range epochs {
			for _, me := range forks {
				if b, err := st.Get(storage.KindLocal, id, mailboxCountKey(me.epoch, me.fork)); err == nil {
					d := newDec(b)
					me.seq, me.bytes = d.u32(), int64(d.u64())
					if d.finish() != nil {
						me.seq, me.bytes = 0, 0
					}
				}
			}
			slices.SortFunc(forks, func(a, b *mailboxEpoch) int { return int(a.fork) - int(b.fork) })
		}
		// The store's index is the truth for the numbers: a crash between
		// an envelope and its counter must not reuse a number.
		if vec, err := st.GenerationVector(id); err == nil {
			for _, e := range vec {
				for _, me := range epochs[e.Epoch] {
					if me.fork == e.Sender && len(e.Held) > 0 {
						me.seq = max(me.seq, e.Held[len(e.Held)-1].Last)
					}
				}
			}
		}
		m.groups[id] = epochs
	}
	return nil
}

func mailboxCountKey(epoch uint64, fork uint32) []byte {
	k := binary.BigEndian.AppendUint64(slices.Clone(prefixMailboxCount), epoch)
	return binary.BigEndian.AppendUint32(k, fork)
}

func mailboxCapKey(epoch uint64, topic [crypto.KeySize]byte) []byte {
	return storage.EpochKey(epoch, append(slices.Clone(prefixMailboxCap), topic[:8]...))
}

// reconcile joins the topics of the group's newest mailboxTopicsKept
// epochs and leaves the others.
func (m *mailbox) reconcile(id crypto.GroupID) {
	m.topicMu.Lock()
	defer m.topicMu.Unlock()
	m.mu.Lock()
	epochs := m.groups[id]
	var nums []uint64
	for e := range epochs {
		nums = append(nums, e)
	}
	slices.Sort(nums)
	keep := make(map[uint64]bool)
	for i := len(nums) - 1; i >= 0 && len(nums)-i <= mailboxTopicsKept; i-- {
		keep[nums[i]] = true
	}
	var join, leave []*mailboxEpoch
	for e, forks := range epochs {
		for _, me := range forks {
			switch {
			case keep[e] && me.topic == nil:
				join = append(join, me)
			case !keep[e] && me.topic != nil:
				leave = append(leave, me)
			}
		}
	}
	m.mu.Unlock()
	for _, me := range leave {
		m.mu.Lock()
		t := me.topic
		me.topic = nil
		m.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
		if err := t.leave(ctx); err != nil && !m.n.isClosed() {
			m.n.log.Warn("mailbox: leaving a topic", "err", err)
		}
		cancel()
	}
	for _, me := range join {
		t, err := joinGroupTopic(m.n.ctx, m.n.host, m.n.ps, topicConfig{
			name:     me.cap.Topic(),
			validate: m.validator(me),
			handle:   func(context.Context, *pubsub.Message) {},
			logger:   m.n.log,
		})
		if err != nil {
			m.n.log.Warn("mailbox: joining a topic", "err", err)
			continue
		}
		m.mu.Lock()
		me.topic = t
		m.mu.Unlock()
	}
}

// close leaves every topic. The node is closing.
func (m *mailbox) close() {
	m.n.host.RemoveStreamHandler(mailboxProtocolID)
	m.topicMu.Lock()
	defer m.topicMu.Unlock()
	m.mu.Lock()
	var ts []*groupTopic
	for _, epochs := range m.groups {
		for _, forks := range epochs {
			for _, me := range forks {
				if me.topic != nil {
					ts = append(ts, me.topic)
					me.topic = nil
				}
			}
		}
	}
	m.mu.Unlock()
	for _, t := range ts {
		ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
		_ = t.leave(ctx)
		cancel()
	}
	m.mu.Lock()
	for _, epochs := range m.groups {
		for _, forks := range epochs {
			for _, me := range forks {
				me.cap.Wipe()
			}
		}
	}
	m.mu.Unlock()
}

// validator returns the topic validator of one mailbox epoch. It cannot
// open an envelope, so it checks what it can (the envelope's structure,
// its size bucket, the epoch in its header) and stores it, within the
// epoch's budget. It never accepts: the mailbox forwards nothing it cannot
// vouch for (a member forwarding an envelope the mailbox passed on would
// otherwise penalise the mailbox for a forgery it could not see), and
// delivers nothing to a handler, since it reads nothing. Garbage is
// rejected, which lowers its forwarder's score as on a member's node.
func (m *mailbox) validator(me *mailboxEpoch) topicValidator {
	return func(_ context.Context, from peer.ID, data []byte) (pubsub.ValidationResult, any) {
		env, err := crypto.ParseEnvelope(data)
		if err != nil {
			return pubsub.ValidationReject, nil
		}
		if env.Epoch != me.epoch {
			// An envelope of another epoch on this topic: no member seals
			// one, but a fork's stragglers may; nothing to keep.
			return pubsub.ValidationIgnore, nil
		}
		m.store(me, data)
		return pubsub.ValidationIgnore, nil
	}
}

// store keeps one envelope of me's epoch, numbered after the last, unless
// the epoch's budget is spent or the store already holds it.
func (m *mailbox) store(me *mailboxEpoch, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if me.seq >= mailboxEpochEnvelopes || me.bytes+int64(len(data)) > m.cfg.EpochBytes {
		m.n.log.Debug("mailbox: an epoch's budget is spent; envelope dropped")
		return
	}
	st := m.n.store
	meta := storage.EnvelopeMeta{Epoch: me.epoch, Sender: me.fork, Generation: me.seq + 1, Received: m.n.now()}
	added, err := st.PutEnvelope(me.group, meta, data)
	if err != nil {
		m.n.log.Warn("mailbox: storing an envelope", "err", err)
		return
	}
	if !added {
		return
	}
	me.seq++
	me.bytes += int64(len(data))
	if me.idsLoaded {
		id := storage.EnvelopeIDOf(data)
		me.ids = append(me.ids, [protocol.MailboxHavePrefix]byte(id[:protocol.MailboxHavePrefix]))
	}
	e := newEnc()
	e.u32(me.seq)
	e.u64(uint64(me.bytes))
	if err := st.Put(storage.KindLocal, me.group, mailboxCountKey(me.epoch, me.fork), e.bytes()); err != nil {
		m.n.log.Warn("mailbox: storing a counter", "err", err)
	}
}

// proves reports whether proof is a proof of msg under me's sync key. The
// key is copied under mu, since prune and close wipe it.
func (m *mailbox) proves(me *mailboxEpoch, msg, proof []byte) bool {
	m.mu.Lock()
	key := me.cap.SyncAuth
	m.mu.Unlock()
	defer crypto.Wipe(key[:])
	return crypto.CheckMailboxProof(&key, msg, proof)
}

// forksOf returns the capabilities the mailbox holds for one epoch.
func (m *mailbox) forksOf(id crypto.GroupID, epoch uint64) []*mailboxEpoch {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.groups[id][epoch])
}

// handleStream serves /hearth/mailbox/1.
func (m *mailbox) handleStream(st network.Stream) {
	remote := st.Conn().RemotePeer()
	if !m.rl.take(remote, time.Now()) {
		m.n.log.Debug("mailbox requests over the per-peer limit", "peer", remote.String())
		st.Reset()
		return
	}
	ok := m.n.goTracked(func() {
		defer context.AfterFunc(m.n.ctx, func() { st.Reset() })()
		if err := m.serve(st); err != nil {
			m.n.log.Debug("mailbox stream ended", "peer", remote.String(), "err", err)
			if errors.Is(err, errMailboxRefused) {
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

// serve answers one request. Every refusal is errMailboxRefused, which
// ends the stream without an answer, whatever its cause.
func (m *mailbox) serve(st network.Stream) error {
	step := func() { _ = st.SetReadDeadline(time.Now().Add(mailboxStepTimeout)) }
	_ = st.SetDeadline(time.Now().Add(syncTimeout))
	step()
	b, err := readFrame(st, protocol.MailboxHelloSize)
	if err != nil {
		return fmt.Errorf("reading hello: %w", err)
	}
	hello, err := protocol.UnmarshalMailboxHello(b)
	if err != nil {
		return err
	}
	var ch protocol.MailboxChallenge
	if ch.Nonce, err = crypto.NewJoinChallenge(m.n.rand); err != nil {
		return err
	}
	if err := writeFrame(st, ch.Marshal()); err != nil {
		return fmt.Errorf("sending challenge: %w", err)
	}
	step()
	self := []byte(m.n.host.ID())
	if hello.Op == protocol.MailboxFetchOp || hello.Op == protocol.MailboxPushOp {
		b, err := readFrame(st, protocol.MailboxFetchSize)
		if err != nil {
			return fmt.Errorf("reading fetch: %w", err)
		}
		f, err := protocol.UnmarshalMailboxFetch(b)
		if err != nil {
			return err
		}
		msg, err := protocol.MailboxProofMessage(ch.Nonce, self, hello, f.FetchRequest())
		if err != nil {
			return err
		}
		for _, me := range m.forksOf(hello.Group, hello.Epoch) {
			if m.proves(me, msg, f.Proof[:]) {
				if hello.Op == protocol.MailboxPushOp {
					return m.servePush(st, me, step)
				}
				_ = st.SetReadDeadline(time.Time{})
				return m.servePages(st, me, f.After)
			}
		}
		return fmt.Errorf("%w: fetch not proven", errMailboxRefused)
	}

	b, err = readFrame(st, protocol.MailboxDeliverSize)
	if err != nil {
		return fmt.Errorf("reading deliver: %w", err)
	}
	d, err := protocol.UnmarshalMailboxDeliver(b)
	if err != nil {
		return err
	}
	msg, err := protocol.MailboxProofMessage(ch.Nonce, self, hello, d.DeliverRequest())
	if err != nil {
		return err
	}
	proven := false
	switch hello.Op {
	case protocol.MailboxRegisterOp:
		proven = d.Epoch == hello.Epoch && crypto.CheckMailboxProof(&m.token, msg, d.Proof[:])
	case protocol.MailboxDeliverOp:
		if hello.Epoch != math.MaxUint64 && d.Epoch == hello.Epoch+1 {
			for _, me := range m.forksOf(hello.Group, hello.Epoch) {
				if m.proves(me, msg, d.Proof[:]) {
					proven = true
					break
				}
			}
		}
	}
	if !proven {
		return fmt.Errorf("%w: capability not proven", errMailboxRefused)
	}
	if err := m.accept(hello.Group, d.Epoch, d.Sealed, hello.Op == protocol.MailboxRegisterOp); err != nil {
		return fmt.Errorf("%w: %w", errMailboxRefused, err)
	}
	return writeFrame(st, protocol.MailboxAck{}.Marshal())
}

// accept opens a delivered capability and starts keeping its epoch.
func (m *mailbox) accept(id crypto.GroupID, epoch uint64, sealed []byte, register bool) error {
	c, err := m.key.OpenCapability(id, epoch, sealed)
	if err != nil {
		return err
	}
	defer c.Wipe()
	if _, err := m.n.Group(id); err == nil {
		return errors.New("this node is a member of the group")
	}
	st := m.n.store
	m.mu.Lock()
	epochs, known := m.groups[id]
	if !known && !register {
		m.mu.Unlock()
		return errors.New("an unknown group")
	}
	if !known && len(m.groups) >= m.cfg.MaxGroups {
		m.mu.Unlock()
		return errors.New("the mailbox serves as many groups as it may")
	}
	forks := epochs[epoch]
	for _, me := range forks {
		if me.cap.TopicID == c.TopicID {
			m.mu.Unlock()
			return nil // delivered before
		}
	}
	if len(forks) >= mailboxForks {
		m.mu.Unlock()
		return errors.New("too many capabilities for one epoch")
	}
	me := &mailboxEpoch{group: id, epoch: epoch, fork: uint32(len(forks)), cap: *c}
	e := newEnc()
	e.u32(me.fork)
	e.fixed(c.TopicID[:])
	e.fixed(c.SyncAuth[:])
	err = st.Put(storage.KindEpochSecret, id, mailboxCapKey(epoch, c.TopicID), e.bytes())
	crypto.Wipe(e.b)
	if err == nil && !known {
		err = st.Put(storage.KindLocal, crypto.GroupID{}, withPrefix(prefixMailboxGroup, id[:]), newEnc().bytes())
		if err == nil {
			err = st.SetRetention(id, m.cfg.Retention)
		}
	}
	if err != nil {
		m.mu.Unlock()
		return fmt.Errorf("node: storing a mailbox capability: %w", err)
	}
	if !known {
		epochs = make(map[uint64][]*mailboxEpoch)
		m.groups[id] = epochs
	}
	epochs[epoch] = append(forks, me)
	m.mu.Unlock()
	if epoch > 0 {
		if err := st.MarkEpochEnded(id, epoch-1, m.n.now()); err != nil {
			m.n.log.Warn("mailbox: marking an epoch ended", "err", err)
		}
	}
	m.reconcile(id)
	return nil
}

// servePages streams the envelopes of me stored after after, in the order
// they were numbered, until done or the byte budget is spent.
func (m *mailbox) servePages(st network.Stream, me *mailboxEpoch, after uint32) error {
	page := &protocol.MailboxPage{Cursor: after}
	size, sent := 0, 0
	flush := func(last, more bool) error {
		page.Last, page.More = last, more
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
	from := after
	for from < math.MaxUint32 {
		envs, err := m.n.store.EnvelopesFor(me.group, me.epoch, me.fork, from+1, math.MaxUint32, syncPageEnvelopes)
		if err != nil {
			return err
		}
		for _, e := range envs {
			if sent+len(e.Raw) > syncResponseBudget {
				return flush(true, true)
			}
			if len(page.Envelopes) == protocol.MaxMailboxPageEnvelopes || size+len(e.Raw) > protocol.MaxMailboxPageBytes {
				if err := flush(false, false); err != nil {
					return err
				}
			}
			page.Envelopes = append(page.Envelopes, e.Raw)
			page.Cursor = e.Meta.Generation
			size += len(e.Raw)
			sent += len(e.Raw)
		}
		if len(envs) < syncPageEnvelopes {
			break
		}
		from = envs[len(envs)-1].Meta.Generation
	}
	return flush(true, false)
}

// servePush answers a push: the IDs of what the mailbox holds of me's
// epoch, then the envelopes the member sends, each stored as if gossip had
// brought it (structure, epoch and budget checked), within the byte
// budget of a response.
func (m *mailbox) servePush(st network.Stream, me *mailboxEpoch, step func()) error {
	have, err := m.haveList(me)
	if err != nil {
		return err
	}
	hb, err := have.Marshal()
	if err != nil {
		return err
	}
	if err := writeFrame(st, hb); err != nil {
		return err
	}
	budget := syncResponseBudget
	for range syncMaxRounds {
		step()
		b, err := readFrame(st, protocol.MaxMailboxFrame)
		if err != nil {
			return fmt.Errorf("reading pushed page: %w", err)
		}
		page, err := protocol.UnmarshalMailboxPage(b)
		if err != nil {
			return err
		}
		for _, env := range page.Envelopes {
			if budget -= len(env); budget < 0 {
				return errors.New("a push over the byte budget")
			}
			e, err := crypto.ParseEnvelope(env)
			if err != nil || e.Epoch != me.epoch {
				continue
			}
			m.store(me, env)
		}
		if page.Last {
			return writeFrame(st, protocol.MailboxAck{}.Marshal())
		}
	}
	return errors.New("a push of too many pages")
}

// haveList returns the ID prefixes of the newest MaxMailboxHave envelopes
// me holds, reading them from the store the first time.
func (m *mailbox) haveList(me *mailboxEpoch) (*protocol.MailboxHave, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !me.idsLoaded {
		var ids [][protocol.MailboxHavePrefix]byte
		for from := uint32(1); from <= me.seq; {
			envs, err := m.n.store.EnvelopesFor(me.group, me.epoch, me.fork, from, me.seq, syncPageEnvelopes)
			if err != nil {
				return nil, err
			}
			for _, e := range envs {
				ids = append(ids, [protocol.MailboxHavePrefix]byte(e.ID[:protocol.MailboxHavePrefix]))
			}
			if len(envs) < syncPageEnvelopes {
				break
			}
			from = envs[len(envs)-1].Meta.Generation + 1
		}
		me.ids, me.idsLoaded = ids, true
	}
	ids := me.ids
	if len(ids) > protocol.MaxMailboxHave {
		ids = ids[len(ids)-protocol.MaxMailboxHave:]
	}
	return &protocol.MailboxHave{IDs: slices.Clone(ids)}, nil
}

// MailboxRegistration returns the string a host gives Group.SetMailbox to
// name this node as a group's mailbox: "hearth-mailbox:" and the
// lower-case, unpadded base32 of protocol.MailboxRegistration (the peer
// ID, the mailbox's public key, its listen addresses and its registration
// token). Whoever holds it can register groups with this mailbox (up to
// MailboxConfig.MaxGroups): give it only to the hosts this machine serves.
// It returns ErrNotMailbox unless the node runs as a mailbox.
func (n *Node) MailboxRegistration() (string, error) {
	m := n.mbox
	if m == nil {
		return "", ErrNotMailbox
	}
	reg := protocol.MailboxRegistration{
		Mailbox: protocol.Mailbox{PeerID: []byte(n.host.ID()), Key: m.key.Public()},
		Token:   m.token,
	}
	for _, a := range n.host.Addrs() {
		if b := a.Bytes(); len(b) <= protocol.MaxMailboxAddrSize && len(reg.Mailbox.Addrs) < protocol.MaxMailboxAddrs {
			reg.Mailbox.Addrs = append(reg.Mailbox.Addrs, b)
		}
	}
	b, err := reg.Marshal()
	if err != nil {
		return "", err
	}
	defer crypto.Wipe(b)
	return mailboxRegistrationPrefix + mailboxEncoding.EncodeToString(b), nil
}

var mailboxEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// parseMailboxRegistration decodes a registration string and checks that
// its peer ID and addresses parse.
func parseMailboxRegistration(s string) (*protocol.MailboxRegistration, error) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(strings.ToLower(s), mailboxRegistrationPrefix)
	if !ok {
		return nil, fmt.Errorf("node: %w: it begins %q", ErrBadMailboxRegistration, mailboxRegistrationPrefix)
	}
	b, err := mailboxEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("node: %w: %w", ErrBadMailboxRegistration, err)
	}
	defer crypto.Wipe(b)
	reg, err := protocol.UnmarshalMailboxRegistration(b)
	if err != nil {
		return nil, fmt.Errorf("node: %w: %w", ErrBadMailboxRegistration, err)
	}
	if _, _, err := mailboxPeer(&reg.Mailbox); err != nil {
		return nil, err
	}
	return reg, nil
}

// mailboxPeer returns the peer ID and addresses a Mailbox names.
func mailboxPeer(mb *protocol.Mailbox) (peer.ID, []ma.Multiaddr, error) {
	id, err := peer.IDFromBytes(mb.PeerID)
	if err != nil {
		return "", nil, fmt.Errorf("node: %w: peer ID: %w", ErrBadMailboxRegistration, err)
	}
	var addrs []ma.Multiaddr
	for _, b := range mb.Addrs {
		a, err := ma.NewMultiaddrBytes(b)
		if err != nil {
			return "", nil, fmt.Errorf("node: %w: address: %w", ErrBadMailboxRegistration, err)
		}
		addrs = append(addrs, a)
	}
	return id, addrs, nil
}

// MailboxStats says what a mailbox holds.
type MailboxStats struct {
	// Groups is how many groups registered the mailbox.
	Groups int
	// Envelopes and Bytes count what it stored in the epochs it still
	// holds capabilities for.
	Envelopes int
	Bytes     int64
}

// MailboxStats reports what this mailbox holds. It returns ErrNotMailbox
// unless the node runs as a mailbox.
func (n *Node) MailboxStats() (MailboxStats, error) {
	m := n.mbox
	if m == nil {
		return MailboxStats{}, ErrNotMailbox
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := MailboxStats{Groups: len(m.groups)}
	for _, epochs := range m.groups {
		for _, forks := range epochs {
			for _, me := range forks {
				s.Envelopes += int(me.seq)
				s.Bytes += me.bytes
			}
		}
	}
	return s, nil
}

// The member side.

// MailboxInfo names a group's mailbox.
type MailboxInfo struct {
	PeerID peer.ID
	Addrs  []ma.Multiaddr
}

// Mailbox returns the group's mailbox, and false when it names none.
func (g *Group) Mailbox() (MailboxInfo, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return MailboxInfo{}, false
	}
	st := g.sess.GroupState()
	if st.Mailbox == nil {
		return MailboxInfo{}, false
	}
	id, addrs, err := mailboxPeer(st.Mailbox)
	if err != nil {
		return MailboxInfo{}, false
	}
	return MailboxInfo{PeerID: id, Addrs: addrs}, true
}

// SetMailbox names the mailbox whose registration string (see
// Node.MailboxRegistration) is given as the group's mailbox: a commit, so
// every member learns it and every later commit hands the mailbox the next
// epoch's capability. The mailbox holds nothing of the epochs before this
// one. The capability of the epoch this commit makes is delivered to the
// mailbox, with the registration token as proof, before the commit is
// published; if the mailbox cannot be reached the delivery is retried.
//
// It returns ErrBadMailboxRegistration (wrapped) for a string that is not
// one, ErrNotAdmin unless this member is a host, and the commit's errors
// (protocol.ErrBadChange when the group already names this mailbox).
func (g *Group) SetMailbox(ctx context.Context, registration string) error {
	reg, err := parseMailboxRegistration(registration)
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.mailboxToken = &reg.Token
	g.mu.Unlock()
	_, err = g.commit(ctx, []protocol.Change{protocol.SetMailbox{Mailbox: &reg.Mailbox}}, requireHost, crypto.MemberID{})
	g.mu.Lock()
	g.mailboxToken = nil
	g.mu.Unlock()
	crypto.Wipe(reg.Token[:])
	return err
}

// RemoveMailbox stops naming a mailbox: from the epoch this commit makes
// on, the mailbox receives no capability. It returns ErrNoMailbox when the
// group names none, and ErrNotAdmin unless this member is a host.
func (g *Group) RemoveMailbox(ctx context.Context) error {
	if _, ok := g.Mailbox(); !ok {
		return fmt.Errorf("node: %w", ErrNoMailbox)
	}
	_, err := g.commit(ctx, []protocol.Change{protocol.SetMailbox{}}, requireHost, crypto.MemberID{})
	return err
}

// mailboxHandoff is a capability this member keeps to deliver to the
// group's mailbox: the sealed capability of epoch, and the key that proves
// the delivery (the SyncAuth key of authEpoch, the epoch before, or for a
// registration the mailbox's token).
type mailboxHandoff struct {
	op        protocol.MailboxOp
	epoch     uint64
	authEpoch uint64
	authKey   [crypto.KeySize]byte
	sealed    []byte
}

func mailboxHandoffKey(epoch uint64) []byte {
	return binary.BigEndian.AppendUint64(slices.Clone(prefixMailboxHand), epoch)
}

func encodeHandoff(h *mailboxHandoff) []byte {
	e := newEnc()
	e.u8(uint8(h.op))
	e.u64(h.epoch)
	e.u64(h.authEpoch)
	e.fixed(h.authKey[:])
	e.bytes32(h.sealed)
	return e.bytes()
}

func decodeHandoff(b []byte) (*mailboxHandoff, error) {
	d := newDec(b)
	h := &mailboxHandoff{op: protocol.MailboxOp(d.u8()), epoch: d.u64(), authEpoch: d.u64()}
	d.fixed(h.authKey[:])
	h.sealed = d.bytes32(crypto.MailboxCapabilitySealedSize)
	if err := d.finish(); err != nil {
		return nil, err
	}
	return h, nil
}

// noteMailboxCommitLocked keeps the capability c carries for the group's
// mailbox, to deliver it: with the SyncAuth key of the epoch c ends when
// the mailbox was named before, or with the token SetMailbox holds when c
// names a new one (only the host who registered it has that). The caller
// holds g.mu and has just applied c.
func (g *Group) noteMailboxCommitLocked(before *protocol.GroupState, c *protocol.Commit) {
	after := g.sess.GroupState()
	if after.Mailbox == nil || c.MailboxCapability == nil || g.sess.Removed() {
		return
	}
	if !after.Mailbox.Equal(before.Mailbox) {
		// A mailbox newly named (or moved): connect, so gossip reaches it
		// from this member directly.
		g.n.goTracked(func() {
			g.connectMailbox()
		})
	}
	h := &mailboxHandoff{op: protocol.MailboxDeliverOp, epoch: c.Epoch, authEpoch: before.Epoch, sealed: c.MailboxCapability}
	if before.Mailbox == nil || before.Mailbox.Key != after.Mailbox.Key {
		if g.mailboxToken == nil || c.Committer != g.sess.Me().ID {
			return
		}
		h.op, h.authEpoch, h.authKey = protocol.MailboxRegisterOp, c.Epoch, *g.mailboxToken
	} else {
		keys, err := g.sess.Keys(before.Epoch)
		if err != nil {
			return
		}
		h.authKey = keys.SyncAuth
		keys.Wipe()
	}
	b := encodeHandoff(h)
	crypto.Wipe(h.authKey[:])
	if err := g.n.store.Put(storage.KindLocal, g.id, mailboxHandoffKey(h.epoch), b); err != nil {
		g.n.log.Warn("storing a mailbox capability to deliver", "err", err)
	}
	crypto.Wipe(b)
}

// mailboxPeers returns the group's mailbox, with its addresses, for the
// node to stay connected to it: gossip reaches the mailbox directly from
// every member online, not only through whoever it happens to be meshed
// with.
func (g *Group) mailboxPeers() []peer.AddrInfo {
	info, ok := g.Mailbox()
	if !ok || g.Info().Removed {
		return nil
	}
	return []peer.AddrInfo{{ID: info.PeerID, Addrs: info.Addrs}}
}

// connectMailbox dials the group's mailbox in the background.
func (g *Group) connectMailbox() {
	for _, ai := range g.mailboxPeers() {
		g.n.goTracked(func() {
			ctx, cancel := context.WithTimeout(g.n.ctx, dialTimeout)
			defer cancel()
			if err := g.n.host.Connect(ctx, ai); err != nil {
				g.n.log.Debug("connecting to the group's mailbox failed", "err", err)
			}
		})
	}
}

// groupMailbox returns the mailbox the group names, with its addresses
// added to the peerstore, or false.
func (g *Group) groupMailbox() (peer.ID, bool) {
	info, ok := g.Mailbox()
	if !ok || info.PeerID == g.n.host.ID() {
		return "", false
	}
	g.n.host.Peerstore().AddAddrs(info.PeerID, info.Addrs, peerAddrTTL)
	return info.PeerID, true
}

// handOff delivers every capability this member keeps for the mailbox, in
// epoch order, deleting each one delivered or too old to matter. It
// returns how many the mailbox took.
func (g *Group) handOff(ctx context.Context) int {
	p, ok := g.groupMailbox()
	if !ok {
		return 0
	}
	var hs []*mailboxHandoff
	var stale [][]byte
	g.mu.Lock()
	cur := g.sess.GroupState().Epoch
	g.mu.Unlock()
	err := g.n.store.Scan(storage.KindLocal, g.id, prefixMailboxHand, func(key, value []byte) error {
		h, err := decodeHandoff(value)
		if err != nil || h.epoch+maxHandoffAge < cur {
			stale = append(stale, slices.Clone(key))
			return nil
		}
		hs = append(hs, h)
		return nil
	})
	if err != nil {
		g.n.log.Warn("reading mailbox capabilities to deliver", "err", err)
	}
	for _, k := range stale {
		_ = g.n.store.Delete(storage.KindLocal, g.id, k)
	}
	done := 0
	for _, h := range hs {
		err := g.deliverToMailbox(ctx, p, h)
		crypto.Wipe(h.authKey[:])
		if err != nil {
			g.n.log.Debug("delivering a capability to the mailbox failed", "err", err)
			continue
		}
		done++
		if err := g.n.store.Delete(storage.KindLocal, g.id, mailboxHandoffKey(h.epoch)); err != nil {
			g.n.log.Warn("deleting a delivered mailbox capability", "err", err)
		}
	}
	return done
}

// deliverToMailbox hands one capability to the mailbox p.
func (g *Group) deliverToMailbox(ctx context.Context, p peer.ID, h *mailboxHandoff) error {
	ctx, cancel := context.WithTimeout(ctx, mailboxHandoffTimeout)
	defer cancel()
	s, err := g.n.host.NewStream(ctx, p, mailboxProtocolID)
	if err != nil {
		return fmt.Errorf("node: opening mailbox stream: %w", err)
	}
	defer s.Reset()
	defer context.AfterFunc(ctx, func() { s.Reset() })()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	hello := protocol.MailboxHello{Op: h.op, Group: g.id, Epoch: h.authEpoch}
	if err := writeFrame(s, hello.Marshal()); err != nil {
		return err
	}
	b, err := readFrame(s, protocol.MailboxChallengeSize)
	if err != nil {
		return fmt.Errorf("node: reading mailbox challenge: %w", err)
	}
	ch, err := protocol.UnmarshalMailboxChallenge(b)
	if err != nil {
		return err
	}
	d := protocol.MailboxDeliver{Epoch: h.epoch, Sealed: h.sealed}
	msg, err := protocol.MailboxProofMessage(ch.Nonce, []byte(p), &hello, d.DeliverRequest())
	if err != nil {
		return err
	}
	d.Proof = crypto.MailboxProof(&h.authKey, msg)
	db, err := d.Marshal()
	if err != nil {
		return err
	}
	if err := writeFrame(s, db); err != nil {
		return err
	}
	b, err = readFrame(s, protocol.MailboxAckSize)
	if errors.Is(err, io.EOF) {
		return errMailboxRefused
	}
	if err != nil {
		return fmt.Errorf("node: reading mailbox ack: %w", err)
	}
	return protocol.UnmarshalMailboxAck(b)
}

// syncMailbox catches this member up from the group's mailbox: for the
// previous epoch (while the session holds its keys) and the current one,
// it fetches what the mailbox stored since the last fetch, and walks on
// while a fetched commit moves the session to a newer epoch. When the
// mailbox refuses the current epoch (it lacks its capability), this member
// delivers the capabilities it keeps and tries again once. It returns
// ErrNoMailbox when the group names none.
func (g *Group) syncMailbox(ctx context.Context) (SyncReport, error) {
	p, ok := g.groupMailbox()
	if !ok {
		return SyncReport{}, ErrNoMailbox
	}
	rep := SyncReport{Peers: 1}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return rep, ErrClosed
	}
	epoch := g.sess.GroupState().Epoch
	k, keysErr := g.sess.Keys(epoch)
	k.Wipe()
	g.mu.Unlock()
	if keysErr != nil {
		// A member who left, or was removed long enough ago that its keys
		// are wiped: it can prove nothing, so there is nothing to fetch.
		return rep, nil
	}
	if epoch > 0 {
		// The previous epoch, while its keys are held: posts made in it
		// after this member moved on.
		if r, err := g.fetchEpoch(ctx, p, epoch-1); err == nil {
			rep.Received += r.Received
			rep.Accepted += r.Accepted
		}
	}
	delivered := false
	for range mailboxFetchRounds {
		r, err := g.fetchEpoch(ctx, p, epoch)
		rep.Received += r.Received
		rep.Accepted += r.Accepted
		if errors.Is(err, errMailboxRefused) && !delivered {
			delivered = true
			if g.handOff(ctx) > 0 {
				continue
			}
		}
		if err != nil {
			return rep, err
		}
		g.mu.Lock()
		next := g.sess.GroupState().Epoch
		g.mu.Unlock()
		if next == epoch {
			// Caught up: give the mailbox what this member holds of the
			// epoch and it lacks.
			if err := g.pushEpoch(ctx, p, epoch); err != nil {
				g.n.log.Debug("pushing to the mailbox failed", "err", err)
			}
			return rep, nil
		}
		epoch = next
	}
	return rep, nil
}

// fetchEpoch fetches one epoch from the mailbox, again while it has more.
func (g *Group) fetchEpoch(ctx context.Context, p peer.ID, epoch uint64) (SyncReport, error) {
	var rep SyncReport
	for range mailboxFetchRounds {
		got, accepted, more, err := g.fetchRound(ctx, p, epoch)
		rep.Received += got
		rep.Accepted += accepted
		if err != nil || !more {
			return rep, err
		}
	}
	return rep, nil
}

// fetchRound is one fetch of one epoch from the mailbox p, after the
// cursor this member keeps for it. The envelopes go through syncFeed, as
// history sync's do.
func (g *Group) fetchRound(ctx context.Context, p peer.ID, epoch uint64) (got, accepted int, more bool, err error) {
	n := g.n
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return 0, 0, false, ErrClosed
	}
	keys, err := g.sess.Keys(epoch)
	g.mu.Unlock()
	if err != nil {
		return 0, 0, false, fmt.Errorf("node: no keys for epoch %d: %w", epoch, err)
	}
	defer keys.Wipe()
	cursorKey := binary.BigEndian.AppendUint64(slices.Clone(prefixMailboxCursor), epoch)
	cursorKey = append(cursorKey, keys.TopicID[:8]...)
	var after uint32
	if b, err := n.store.Get(storage.KindLocal, g.id, cursorKey); err == nil {
		d := newDec(b)
		after = d.u32()
		if d.finish() != nil {
			after = 0
		}
	}

	s, err := n.host.NewStream(ctx, p, mailboxProtocolID)
	if err != nil {
		return 0, 0, false, fmt.Errorf("node: opening mailbox stream: %w", err)
	}
	defer s.Reset()
	defer context.AfterFunc(ctx, func() { s.Reset() })()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	hello := protocol.MailboxHello{Op: protocol.MailboxFetchOp, Group: g.id, Epoch: epoch}
	if err := writeFrame(s, hello.Marshal()); err != nil {
		return 0, 0, false, err
	}
	b, err := readFrame(s, protocol.MailboxChallengeSize)
	if err != nil {
		return 0, 0, false, fmt.Errorf("node: reading mailbox challenge: %w", err)
	}
	ch, err := protocol.UnmarshalMailboxChallenge(b)
	if err != nil {
		return 0, 0, false, err
	}
	f := protocol.MailboxFetch{After: after}
	msg, err := protocol.MailboxProofMessage(ch.Nonce, []byte(p), &hello, f.FetchRequest())
	if err != nil {
		return 0, 0, false, err
	}
	f.Proof = crypto.MailboxProof(&keys.SyncAuth, msg)
	if err := writeFrame(s, f.Marshal()); err != nil {
		return 0, 0, false, err
	}

	feed := newSyncFeed(g, p)
	defer feed.finish()
	budget := syncResponseBudget
	pages := 0
	for {
		b, err := readFrame(s, protocol.MaxMailboxFrame)
		if errors.Is(err, io.EOF) && pages == 0 {
			return 0, 0, false, errMailboxRefused
		}
		if err != nil {
			return got, feed.accepted, false, fmt.Errorf("node: reading mailbox page: %w", err)
		}
		pages++
		page, err := protocol.UnmarshalMailboxPage(b)
		if err != nil {
			return got, feed.accepted, false, err
		}
		for _, env := range page.Envelopes {
			budget -= len(env)
		}
		if budget < 0 {
			return got, feed.accepted, false, errors.New("node: the mailbox sent more than the byte budget")
		}
		got += len(page.Envelopes)
		feed.add(page.Envelopes)
		if page.Cursor < after {
			return got, feed.accepted, false, errors.New("node: the mailbox's cursor went backwards")
		}
		after = page.Cursor
		if page.Last {
			e := newEnc()
			e.u32(after)
			if err := n.store.Put(storage.KindLocal, g.id, cursorKey, e.bytes()); err != nil {
				n.log.Warn("storing a mailbox cursor", "err", err)
			}
			// The mailbox holds this epoch: nothing older needs handing
			// to it by this member.
			g.dropHandoffsUpTo(epoch)
			n.log.Debug("mailbox fetch ended", "received", got, "accepted", feed.accepted, "more", page.More)
			return got, feed.accepted, page.More, nil
		}
	}
}

// maxPushEnvelopes bounds the envelopes one push reads from the store;
// the next push goes on from there.
const maxPushEnvelopes = 4096

// pushEpoch gives the mailbox p the envelopes of epoch this member holds
// and the mailbox lacks: it asks for the IDs the mailbox holds, then sends
// the others that arrived here since the last push of the epoch (reading
// at most maxPushEnvelopes, within the response byte budget).
func (g *Group) pushEpoch(ctx context.Context, p peer.ID, epoch uint64) error {
	n := g.n
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return ErrClosed
	}
	keys, err := g.sess.Keys(epoch)
	g.mu.Unlock()
	if err != nil {
		return err
	}
	defer keys.Wipe()
	s, err := n.host.NewStream(ctx, p, mailboxProtocolID)
	if err != nil {
		return fmt.Errorf("node: opening mailbox stream: %w", err)
	}
	defer s.Reset()
	defer context.AfterFunc(ctx, func() { s.Reset() })()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	hello := protocol.MailboxHello{Op: protocol.MailboxPushOp, Group: g.id, Epoch: epoch}
	if err := writeFrame(s, hello.Marshal()); err != nil {
		return err
	}
	b, err := readFrame(s, protocol.MailboxChallengeSize)
	if err != nil {
		return fmt.Errorf("node: reading mailbox challenge: %w", err)
	}
	ch, err := protocol.UnmarshalMailboxChallenge(b)
	if err != nil {
		return err
	}
	var f protocol.MailboxFetch
	msg, err := protocol.MailboxProofMessage(ch.Nonce, []byte(p), &hello, f.FetchRequest())
	if err != nil {
		return err
	}
	f.Proof = crypto.MailboxProof(&keys.SyncAuth, msg)
	if err := writeFrame(s, f.Marshal()); err != nil {
		return err
	}
	b, err = readFrame(s, protocol.MaxMailboxHaveFrame)
	if errors.Is(err, io.EOF) {
		return errMailboxRefused
	}
	if err != nil {
		return fmt.Errorf("node: reading the mailbox's have list: %w", err)
	}
	have, err := protocol.UnmarshalMailboxHave(b)
	if err != nil {
		return err
	}
	held := make(map[[protocol.MailboxHavePrefix]byte]bool, len(have.IDs))
	for _, id := range have.IDs {
		held[id] = true
	}

	// Offered since the last push of this epoch: the store numbers
	// envelopes as they arrive, so a cursor makes each push read only
	// what arrived since (at most maxPushEnvelopes of it).
	cursorKey := binary.BigEndian.AppendUint64(slices.Clone(prefixMailboxPush), epoch)
	var after uint64
	if b, err := n.store.Get(storage.KindLocal, g.id, cursorKey); err == nil {
		d := newDec(b)
		after = d.u64()
		if d.finish() != nil {
			after = 0
		}
	}
	offered := after
	page := &protocol.MailboxPage{}
	size, sent, read := 0, 0, 0
	flush := func(last bool) error {
		page.Last = last
		pb, err := page.Marshal()
		if err != nil {
			return err
		}
		page.Envelopes, size = nil, 0
		return writeFrame(s, pb)
	}
push:
	for read < maxPushEnvelopes {
		envs, err := n.store.EnvelopesSince(g.id, offered, syncPageEnvelopes)
		if err != nil {
			return err
		}
		for _, env := range envs {
			if read++; read > maxPushEnvelopes {
				break push
			}
			if env.Meta.Epoch == epoch && !held[[protocol.MailboxHavePrefix]byte(env.ID[:protocol.MailboxHavePrefix])] {
				if sent+len(env.Raw) > syncResponseBudget {
					break push
				}
				if len(page.Envelopes) == protocol.MaxMailboxPageEnvelopes || size+len(env.Raw) > protocol.MaxMailboxPageBytes {
					if err := flush(false); err != nil {
						return err
					}
				}
				page.Envelopes = append(page.Envelopes, env.Raw)
				size += len(env.Raw)
				sent += len(env.Raw)
			}
			offered = env.Arrival
		}
		if len(envs) < syncPageEnvelopes {
			break
		}
	}
	if err := flush(true); err != nil {
		return err
	}
	b, err = readFrame(s, protocol.MailboxAckSize)
	if err != nil {
		return fmt.Errorf("node: reading mailbox ack: %w", err)
	}
	if err := protocol.UnmarshalMailboxAck(b); err != nil {
		return err
	}
	e := newEnc()
	e.u64(offered)
	if err := n.store.Put(storage.KindLocal, g.id, cursorKey, e.bytes()); err != nil {
		n.log.Warn("storing a mailbox push cursor", "err", err)
	}
	return nil
}

// dropHandoffsUpTo deletes the capabilities kept for epochs up to epoch.
func (g *Group) dropHandoffsUpTo(epoch uint64) {
	var keys [][]byte
	_ = g.n.store.Scan(storage.KindLocal, g.id, prefixMailboxHand, func(key, _ []byte) error {
		if len(key) == len(prefixMailboxHand)+8 && binary.BigEndian.Uint64(key[len(prefixMailboxHand):]) <= epoch {
			keys = append(keys, slices.Clone(key))
		}
		return nil
	})
	for _, k := range keys {
		_ = g.n.store.Delete(storage.KindLocal, g.id, k)
	}
}

// syncMailboxOf runs one background catch-up from g's mailbox, if it names
// one, and logs its failure.
func (n *Node) syncMailboxOf(g *Group) {
	if _, err := g.syncMailbox(n.ctx); err != nil && !errors.Is(err, ErrNoMailbox) && n.ctx.Err() == nil {
		n.log.Debug("catching up from the mailbox failed", "err", err)
	}
}

// isMailboxOf reports whether p is g's mailbox.
func (g *Group) isMailboxOf(p peer.ID) bool {
	info, ok := g.Mailbox()
	return ok && info.PeerID == p
}

// handOffNow delivers, within mailboxCommitWait, the capabilities this
// member keeps for the group's mailbox; commit calls it before publishing
// a commit, so that the mailbox is on the new epoch's topic before the
// members move there. What is not delivered stays kept: the committer's
// next catch-up from the mailbox, refused for the new epoch, delivers it.
func (g *Group) handOffNow(ctx context.Context) {
	if _, ok := g.Mailbox(); !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, mailboxCommitWait)
	defer cancel()
	g.handOff(ctx)
}
