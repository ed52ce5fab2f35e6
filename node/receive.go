package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// This file receives envelopes: the topic validator, which is the single
// place where received envelopes change a group's state, the set of
// envelopes held until they can be opened, and the local copies of posts.
//
// Deviation from a validator that only checks and a handler that stores:
// the validator opens the envelope (that is the check), and opening
// consumes the sender's generation, so the envelope can never be opened
// again. If storing were left to the handler, a message dropped from the
// delivery queue under load would be lost for good. So the validator stores
// the envelope and its local copy, persists the session and emits the event
// before it accepts, in that order: a crash between any two steps leaves a
// session that has not consumed the generation, so the envelope opens again
// when it comes back (storage inserts are idempotent). History sync and the
// mailbox save the session once a page instead (syncsave.go explains how
// that keeps this invariant).

// validate is every group topic's validator. It maps Session.Open's answers
// onto gossipsub's:
//
//   - accept: an authentic envelope, stored and delivered;
//   - reject (the forwarder loses score): protocol.ErrInvalidEnvelope,
//     anything that is not an envelope of this group from one of its members;
//   - ignore (no penalty): duplicates, envelopes of epochs ended or not yet
//     reached, envelopes whose sender's chain key has not arrived (held and
//     retried, see hold), unreadable content, and members over their rate
//     limit.
func (g *Group) validate(_ context.Context, from peer.ID, data []byte) (pubsub.ValidationResult, any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return pubsub.ValidationIgnore, nil
	}
	res, events := g.openLocked(from, data, true)
	if len(events) == 1 && events[0].Kind == rateLimited {
		events = nil
	}
	if res == pubsub.ValidationAccept {
		events = append(events, g.retryHeldLocked()...)
	}
	for _, e := range events {
		g.n.events.emit(e)
	}
	if len(events) > 0 || len(g.rebase) > 0 {
		// Epochs may have changed: the timer goroutine moves topics and
		// publishes (never the validator, which runs inside gossipsub).
		g.needReconcile = true
		g.n.kick()
	}
	return res, nil
}

// openLocked opens one envelope and records what it brings. live is false
// for a held envelope being retried: those are not held again and their
// sender is not rate limited a second time. The caller holds g.mu.
func (g *Group) openLocked(from peer.ID, data []byte, live bool) (pubsub.ValidationResult, []Event) {
	now := g.n.now()
	index, gen, peeked := peekSender(data, g.sess)
	var author crypto.MemberID
	if peeked && gen != crypto.ControlGeneration {
		if e, err := crypto.ParseEnvelope(data); err == nil {
			if roster, err := g.sess.RosterAt(e.Epoch); err == nil {
				for _, m := range roster {
					if m.Index == index {
						author = m.ID
					}
				}
			}
		}
		// Checked before opening, and the token taken only after: an
		// envelope over the limit leaves the session untouched, and a
		// forged one (which fails to open) costs the member it names
		// nothing.
		if author != (crypto.MemberID{}) && !g.syncing && !g.rate.allow(author, now) {
			g.n.log.Debug("member over rate limit; envelope ignored")
			return pubsub.ValidationIgnore, []Event{{Kind: rateLimited}}
		}
	}
	before := g.sess.GroupState()
	rec, err := g.sess.Open(data, now.UnixMilli(), g.n.rand)
	switch {
	case err == nil:
	case errors.Is(err, protocol.ErrInvalidEnvelope):
		g.n.log.Debug("rejected an invalid envelope", "peer", from.String(), "err", err)
		return pubsub.ValidationReject, nil
	case errors.Is(err, protocol.ErrNoChainKey):
		if live {
			g.holdLocked(from, data, now, false)
		}
		return pubsub.ValidationIgnore, nil
	case errors.Is(err, protocol.ErrFutureEpoch):
		// Nothing of it can be checked yet, so anyone can claim a future
		// epoch: only the next is held (a commit may be on its way), and
		// what never opens costs its forwarder score (holdLocked).
		if !live {
			return pubsub.ValidationIgnore, nil
		}
		if e, err := crypto.ParseEnvelope(data); err == nil && e.Epoch == g.sess.CurrentEpoch()+1 {
			g.holdLocked(from, data, now, true)
		} else {
			g.n.penalties.add(from)
		}
		return pubsub.ValidationIgnore, nil
	case errors.Is(err, protocol.ErrUnreadable):
		// Unknown content is consumed: keep the session in step.
		g.saveOpenedLocked(true)
		return pubsub.ValidationIgnore, nil
	default:
		return pubsub.ValidationIgnore, nil
	}
	if gen != crypto.ControlGeneration && author != (crypto.MemberID{}) && !g.syncing {
		g.rate.take(author, now)
	}
	if !peeked {
		// Open succeeded, so the sender data opened; this cannot happen.
		// Index the envelope under its author's current index.
		if m, ok := before.MemberByID(rec.Author); ok {
			index = m.Index
		}
	}
	meta := storage.EnvelopeMeta{Epoch: rec.Epoch, Sender: index, Generation: gen, Received: now}
	var events []Event
	// deferrable: opening this envelope changed nothing in the session
	// but the generation it consumed (see saveOpenedLocked).
	deferrable := true
	switch c := rec.Content.(type) {
	case protocol.Post:
		msg := &Message{
			ID: c.ID, Group: g.id, Author: rec.Author, Pseudonym: rec.Pseudonym, Text: c.Text,
			ReplyTo: c.ReplyTo, Sent: time.UnixMilli(rec.Timestamp), Received: now, Epoch: rec.Epoch,
		}
		// g.syncing is set only while syncFeed opens what sync or the
		// mailbox brought, under g.mu, which gossip's validator also
		// takes. Of what a sync round brought, a post sent after the
		// round began was live, whichever path delivered it first
		// (TestSyncLiveGossipDuringSyncIsOnTime).
		caughtUp := g.syncing && (g.syncingSince.IsZero() || msg.Sent.Before(g.syncingSince))
		msg.Late = now.Sub(msg.Sent) > lateAfter || rec.Epoch < g.sess.CurrentEpoch() || caughtUp
		if g.syncing && now.Sub(msg.Sent) <= lateAfter && author != (crypto.MemberID{}) && !g.rate.take(author, now) {
			// A recent post caught up by sync counts against its
			// member's rate limit as a live one does, so a flood that
			// gossip dropped is not delivered late instead. Its
			// generation is consumed: it stays dropped.
			g.saveOpenedLocked(true)
			return pubsub.ValidationIgnore, nil
		}
		// A post its author deleted or a moderator removed before it
		// arrived is refused: not stored, not forwarded (moderation.go).
		if refused, err := g.refuseRemovedLocked(msg, meta, g.messageSortLocked(msg)); refused || err != nil {
			if err != nil {
				g.n.log.Warn("refusing a removed post", "err", err)
			}
			g.saveOpenedLocked(true)
			return pubsub.ValidationIgnore, nil
		}
		if err := g.storeMessageLocked(data, meta, msg); err != nil {
			g.n.log.Warn("storing a received message", "err", err)
			return pubsub.ValidationIgnore, nil
		}
		events = append(events, Event{Kind: EventMessage, Group: g.id, Message: msg})
	case protocol.CommitContent:
		deferrable = false
		evs, err := g.afterCommitLocked(before, c.Commit, rec.NewEpoch, meta, data)
		if err != nil {
			g.n.log.Warn("recording a received commit", "err", err)
			return pubsub.ValidationIgnore, nil
		}
		// The epoch just left and the one entered: a catch-up may pass
		// through several before anything else looks (synckeys.go).
		g.rememberSyncKeysLocked()
		events = append(events, evs...)
	default:
		evs, handled, err := g.applyCommunityLocked(rec, meta, data, now)
		if err != nil {
			g.n.log.Warn("recording received content", "err", err)
			return pubsub.ValidationIgnore, nil
		}
		if handled {
			events = append(events, evs...)
			break
		}
		// Control content (chain keys above all) changes the session
		// beyond the generation: it is saved at once.
		deferrable = false
		if _, err := g.n.store.PutEnvelope(g.id, meta, data); err != nil {
			g.n.log.Warn("storing a received envelope", "err", err)
		}
		if _, ok := c.(protocol.ChainKeyAnnouncement); ok {
			for _, ob := range g.outboxes {
				if ob.waitFor == rec.Author && ob.epoch == rec.Epoch {
					ob.waitFor, ob.shape, ob.since = crypto.MemberID{}, "", now
				}
			}
		}
		if _, ok := c.(protocol.LeaveRequest); ok {
			g.leaving[rec.Author] = true
			if rec.LeaveRequested != (crypto.MemberID{}) {
				// This member administers the group: commit the removal
				// (from the timer goroutine, never inside gossipsub).
				g.rebase = append(g.rebase, protocol.Remove{Member: rec.LeaveRequested})
				g.needReconcile = true
			}
		}
	}
	g.saveOpenedLocked(deferrable)
	g.notePeerLocked(from, now)
	return pubsub.ValidationAccept, events
}

// rateLimited is an internal marker openLocked returns, as its only event,
// for an envelope ignored because its member is over the rate limit. It is
// never emitted.
const rateLimited EventKind = -1

// Held envelopes. An envelope whose sender's chain-key announcement (or the
// commit that leads to its epoch) has not arrived is kept, up to maxHeld per
// group and maxHeldPerPeer per forwarding peer, and for at most heldFor,
// and opened again after every envelope of the group that opens.
//
// An envelope waiting for its sender's chain key has had its sender data
// opened, which only a member can seal; one claiming a future epoch has
// had nothing checked, so anyone can forge it. So only the next epoch is
// held, a forwarder's own quota is all its envelopes can crowd out (and
// future-epoch envelopes go before the others when the group's bound is
// reached), they are not opened again before the group reaches their
// epoch, and every one that never opens (dropped for a later epoch than
// the next, evicted, expired, or invalid once its epoch came) costs its
// forwarder peer score (penalties.go). Honest peers never forward such
// envelopes: a topic carries its own epoch's envelopes, and the node is on
// the topic of its current epoch (and of the previous one).
const (
	maxHeld        = 256
	maxHeldPerPeer = 32
	heldFor        = time.Duration(protocol.EpochGrace) * time.Millisecond
)

type heldEnvelope struct {
	from peer.ID
	data []byte
	at   time.Time
	// epoch is the envelope's epoch; future is set while it waits for
	// that epoch (nothing of it was checked yet).
	epoch  uint64
	future bool
}

// holdLocked keeps data for a later attempt; future says it waits for its
// epoch. When its forwarder's quota or the group's bound is full, it evicts
// the forwarder's oldest held envelope, or the group's oldest (future-epoch
// envelopes first). The caller holds g.mu.
func (g *Group) holdLocked(from peer.ID, data []byte, now time.Time, future bool) {
	id := crypto.EnvelopeID(data)
	if _, ok := g.held[id]; ok {
		return
	}
	e, err := crypto.ParseEnvelope(data)
	if err != nil {
		return
	}
	mine := 0
	for _, h := range g.held {
		if h.from == from {
			mine++
		}
	}
	switch {
	case mine >= maxHeldPerPeer:
		g.evictHeldLocked(func(h *heldEnvelope) bool { return h.from == from })
	case len(g.held) >= maxHeld:
		if !g.evictHeldLocked(func(h *heldEnvelope) bool { return h.future }) {
			g.evictHeldLocked(func(*heldEnvelope) bool { return true })
		}
	}
	g.held[id] = &heldEnvelope{from: from, data: append([]byte(nil), data...), at: now, epoch: e.Epoch, future: future}
}

// evictHeldLocked drops the oldest held envelope that match accepts, and
// reports whether there was one. The caller holds g.mu.
func (g *Group) evictHeldLocked(match func(*heldEnvelope) bool) bool {
	var oldest [32]byte
	var victim *heldEnvelope
	for k, h := range g.held {
		if match(h) && (victim == nil || h.at.Before(victim.at)) {
			oldest, victim = k, h
		}
	}
	if victim == nil {
		return false
	}
	g.dropHeldLocked(oldest, victim)
	return true
}

// dropHeldLocked forgets a held envelope that did not open; one still
// waiting for its epoch costs its forwarder. The caller holds g.mu.
func (g *Group) dropHeldLocked(id [32]byte, h *heldEnvelope) {
	delete(g.held, id)
	if h.future {
		g.n.penalties.add(h.from)
	}
}

// retryHeldLocked opens held envelopes again until none more opens, and
// returns their events. Envelopes of an epoch the group has not reached
// are left alone. The caller holds g.mu.
func (g *Group) retryHeldLocked() []Event {
	var events []Event
	for progress := true; progress && len(g.held) > 0; {
		progress = false
		cur := g.sess.CurrentEpoch()
		for id, h := range g.held {
			if h.future && h.epoch > cur {
				continue
			}
			res, evs := g.openLocked(h.from, h.data, false)
			if len(evs) == 1 && evs[0].Kind == rateLimited {
				// Held envelopes count against their member's limit
				// like live ones: over it, they are dropped.
				delete(g.held, id)
				continue
			}
			if res == pubsub.ValidationReject {
				// Forged: it did not open once its epoch came.
				g.dropHeldLocked(id, h)
				continue
			}
			if res == pubsub.ValidationIgnore && !g.stillWaiting(h.data) {
				delete(g.held, id)
				continue
			}
			if res == pubsub.ValidationIgnore {
				// Its epoch has come and its sender data opened: it
				// waits for a chain key now, as a member's envelope.
				h.future = false
				continue
			}
			delete(g.held, id)
			events = append(events, evs...)
			progress = true
		}
	}
	return events
}

// stillWaiting reports whether a held envelope still waits for something
// that may arrive: its epoch is ahead, or its sender's chain key missing.
// The caller holds g.mu.
func (g *Group) stillWaiting(data []byte) bool {
	e, err := crypto.ParseEnvelope(data)
	if err != nil {
		return false
	}
	cur := g.sess.CurrentEpoch()
	if e.Epoch > cur {
		return !g.sess.Removed()
	}
	_, _, ok := peekSender(data, g.sess)
	return ok && e.Epoch >= cur-min(cur, 1)
}

// expireHeldLocked drops held envelopes older than heldFor. The caller holds
// g.mu.
func (g *Group) expireHeldLocked(now time.Time) {
	for id, h := range g.held {
		if now.Sub(h.at) > heldFor {
			g.dropHeldLocked(id, h)
		}
	}
}

// storeMessageLocked stores a post's envelope, its local copy and the index
// from its post ID to the copy. The caller holds g.mu.
func (g *Group) storeMessageLocked(env []byte, meta storage.EnvelopeMeta, msg *Message) error {
	st := g.n.store
	if _, err := st.PutEnvelope(g.id, meta, env); err != nil {
		return fmt.Errorf("node: storing envelope: %w", err)
	}
	eid := storage.EnvelopeIDOf(env)
	sort := g.messageSortLocked(msg)
	if err := st.PutMessage(g.id, eid, sort, encodeMessage(msg)); err != nil {
		return fmt.Errorf("node: storing local copy: %w", err)
	}
	e := newEnc()
	e.fixed(eid[:])
	e.u64(sort)
	if err := st.Put(storage.KindLocal, g.id, withPrefix(prefixMsg, msg.ID[:]), e.bytes()); err != nil {
		return fmt.Errorf("node: storing message index: %w", err)
	}
	return nil
}

// messageSortLocked is where a post goes in history: when it was received,
// or, when history sync caught it up, when it was sent. The caller holds
// g.mu.
func (g *Group) messageSortLocked(msg *Message) uint64 {
	if g.syncing && msg.Sent.UnixNano() > 0 {
		return uint64(msg.Sent.UnixNano())
	}
	return uint64(msg.Received.UnixNano())
}

// The local copy of a post (storage.Message.Content; storage seals it):
//
//	version u8 = 1 ‖ post ID [16] ‖ reply to [16] ‖ author [16]
//	‖ pseudonym bytes32 ‖ text bytes32 ‖ sent u64 (unix ms)
//	‖ received u64 (unix ns) ‖ epoch u64 ‖ late u8
//	[‖ moderation flags u8 (bit 0 edited, bit 1 removed, never 0)
//	 ‖ if edited: edited u64 (unix ms)
//	 ‖ if removed: by u8 (1 author, 2 moderator) ‖ remover [16]
//	   ‖ reason bytes32 ‖ at u64 (unix ms)]
//
// The moderation part is written only for an edited post or a removal's
// marker (whose text is empty), so copies written before moderation
// existed read as they are.
func encodeMessage(m *Message) []byte {
	e := newEnc()
	e.fixed(m.ID[:])
	e.fixed(m.ReplyTo[:])
	e.fixed(m.Author[:])
	e.str(m.Pseudonym)
	e.str(m.Text)
	e.u64(uint64(m.Sent.UnixMilli()))
	e.u64(uint64(m.Received.UnixNano()))
	e.u64(m.Epoch)
	e.bool(m.Late)
	var flags uint8
	if !m.Edited.IsZero() {
		flags |= copyEdited
	}
	if m.Removed != nil {
		flags |= copyRemoved
	}
	if flags != 0 {
		e.u8(flags)
	}
	if !m.Edited.IsZero() {
		e.u64(uint64(m.Edited.UnixMilli()))
	}
	if r := m.Removed; r != nil {
		e.u8(uint8(r.By))
		e.fixed(r.Remover[:])
		e.str(r.Reason)
		e.u64(uint64(r.At.UnixMilli()))
	}
	return e.bytes()
}

// Flags of a local copy's moderation part.
const (
	copyEdited  = 1 << 0
	copyRemoved = 1 << 1
)

func decodeMessage(group crypto.GroupID, b []byte) (Message, error) {
	d := newDec(b)
	m := Message{Group: group}
	d.fixed(m.ID[:])
	d.fixed(m.ReplyTo[:])
	d.fixed(m.Author[:])
	m.Pseudonym = d.str(protocol.MaxPseudonymBytes)
	m.Text = d.str(protocol.MaxPostText)
	m.Sent = time.UnixMilli(int64(d.u64()))
	m.Received = time.Unix(0, int64(d.u64()))
	m.Epoch = d.u64()
	m.Late = d.bool()
	if d.err == nil && len(d.b) > 0 {
		flags := d.u8()
		if d.err == nil && (flags == 0 || flags&^(copyEdited|copyRemoved) != 0) {
			return Message{}, fmt.Errorf("%w: moderation flags %#x", errRecord, flags)
		}
		if flags&copyEdited != 0 {
			m.Edited = time.UnixMilli(int64(d.u64()))
		}
		if flags&copyRemoved != 0 {
			r := &Removal{Post: m.ID, By: RemovalKind(d.u8())}
			d.fixed(r.Remover[:])
			r.Reason = d.str(protocol.MaxReasonText)
			r.At = time.UnixMilli(int64(d.u64()))
			if d.err == nil && r.By != RemovedByAuthor && r.By != RemovedByModerator {
				return Message{}, fmt.Errorf("%w: removal kind %d", errRecord, r.By)
			}
			m.Removed = r
		}
	}
	if err := d.finish(); err != nil {
		return Message{}, err
	}
	return m, nil
}

// maxHistoryPage bounds one History page.
const maxHistoryPage = 1000

// History returns up to limit posts from this node's local copy, oldest
// first: the newest page when before is zero, otherwise the posts received
// before the post before. Pass the first message's ID of a page to get the
// page before it. It returns ErrNoMessage (wrapped) when before is not held
// (it may have expired), and ErrClosed after Close. limit is clamped to
// 1..1000.
func (g *Group) History(before MessageID, limit int) ([]Message, error) {
	limit = max(1, min(limit, maxHistoryPage))
	if g.n.isClosed() {
		return nil, ErrClosed
	}
	st := g.n.store
	var cursor *storage.MessageCursor
	if !before.IsZero() {
		b, err := st.Get(storage.KindLocal, g.id, withPrefix(prefixMsg, before[:]))
		if errors.Is(err, storage.ErrNotFound) {
			return nil, fmt.Errorf("node: message %s: %w", before, ErrNoMessage)
		}
		if err != nil {
			return nil, fmt.Errorf("node: reading history: %w", err)
		}
		d := newDec(b)
		var c storage.MessageCursor
		d.fixed(c.ID[:])
		c.Sort = d.u64()
		if err := d.finish(); err != nil {
			return nil, err
		}
		cursor = &c
	}
	page, err := st.Messages(g.id, cursor, limit)
	if err != nil {
		return nil, fmt.Errorf("node: reading history: %w", err)
	}
	out := make([]Message, 0, len(page))
	for i := len(page) - 1; i >= 0; i-- {
		m, err := decodeMessage(g.id, page[i].Content)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// pruneMessageIndex deletes index entries whose local copy retention
// removed, so no trace of an expired post's ID is left.
func (g *Group) pruneMessageIndex() {
	st := g.n.store
	var stale [][]byte
	err := st.Scan(storage.KindLocal, g.id, prefixMsg, func(key, value []byte) error {
		d := newDec(value)
		var id storage.EnvelopeID
		d.fixed(id[:])
		d.u64()
		if d.finish() != nil {
			stale = append(stale, key)
			return nil
		}
		if _, err := st.GetMessage(g.id, id); errors.Is(err, storage.ErrNotFound) {
			stale = append(stale, key)
		}
		return nil
	})
	if err != nil {
		return
	}
	for _, k := range stale {
		_ = st.Delete(storage.KindLocal, g.id, k)
	}
}
