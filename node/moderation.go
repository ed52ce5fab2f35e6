package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// This file is moderation: edits and deletions by a post's author, removals
// by a host or moderator (tombstones), reports sealed to the hosts and
// moderators, the group's pinned guidelines, and mute and block, which
// never leave this node.
//
// Who may do what is checked by every receiver, never trusted from the
// sender: an edit or deletion applies only when its author is the post's
// author; a removal or guidelines only when their author is a host or
// moderator in the roster of the epoch they were sealed in.
//
// Erasing. A deletion or a removal erases the post from this node's store:
// its envelope (with its index entries), its local copy, the envelopes of
// every edit of it, and the excerpt of every report of it. In the copy's
// place goes a marker (a Message with Removed set and no text), stored as
// the local copy of the deletion's or removal's own envelope at the post's
// position in history, so History shows where the post was and retention
// deletes the marker with that envelope. A removal record (keyed by the
// post's ID, holding only who removed it and why) makes the node refuse the
// post if it arrives later, by gossip or by sync. Each erased envelope's
// (epoch, sender, generation) is recorded and counts as held in the
// generation vector this node sends when it syncs (heldGenerations): a peer
// that still holds the envelope (one that has not yet seen the removal)
// does not send it again round after round, and the vector's runs stay
// whole instead of splitting at every erased post.
//
// An edit that arrives before its post is not applied: a sender's
// envelopes are synced in order, so that happens only when the post never
// reached this node.

// Errors of moderation, returned wrapped.
var (
	// ErrNotAuthor: only a post's author can edit or delete it.
	ErrNotAuthor = errors.New("only the author of a post can edit or delete it")
	// ErrNoReport: no report with this ID is held here.
	ErrNoReport = errors.New("no such report")
	// ErrNoGuidelines: the group has no guidelines yet.
	ErrNoGuidelines = errors.New("the group has no guidelines yet")
	// ErrGuidelinesNotAccepted: the group has pinned guidelines (a version)
	// this member has not accepted, and Post waits for AcceptGuidelines.
	ErrGuidelinesNotAccepted = errors.New("the group's guidelines are not accepted yet")
	// ErrSelf: the operation names this member (muting, blocking or
	// reporting oneself).
	ErrSelf = errors.New("this cannot be done to yourself")
)

// Record keys (KindLocal, under the group's ID). Keys hold only IDs and
// counters; what a record says is in its sealed value.
var (
	prefixModRemoved = []byte("mod/removed/") // + post ID: a removal (removalRecord)
	prefixModPending = []byte("mod/pending/") // + post ID ‖ deleter ID: a deletion of a post not held yet
	prefixModEdits   = []byte("mod/edits/")   // + post ID ‖ envelope ID: an edit's envelope, erased with the post
	prefixModErased  = []byte("mod/erased/")  // + epoch u64 ‖ sender u32 ‖ generation u32: an erased envelope
	prefixModReport  = []byte("mod/report/")  // + report ID: a report this admin opened
	prefixModMute    = []byte("mod/mute/")    // + member ID: MuteLevel
	keyModGuidelines = []byte("mod/guidelines")
	keyModAccepted   = []byte("mod/accepted")
)

// RemovalKind says who removed a post.
type RemovalKind uint8

// Removal kinds.
const (
	// RemovedByAuthor: the post's author deleted it.
	RemovedByAuthor RemovalKind = 1
	// RemovedByModerator: a host or moderator removed it.
	RemovedByModerator RemovalKind = 2
)

// String returns "author" or "moderator".
func (k RemovalKind) String() string {
	switch k {
	case RemovedByAuthor:
		return "author"
	case RemovedByModerator:
		return "moderator"
	}
	return "unknown"
}

// Removal says that a post was deleted by its author or removed by a host
// or moderator. Its content is gone from this node's store.
type Removal struct {
	Post MessageID
	By   RemovalKind
	// Remover is the member who deleted or removed the post.
	Remover crypto.MemberID
	// Reason is a moderator's reason; it may be empty.
	Reason string
	// At is the deletion's or removal's send time.
	At time.Time
}

// removalRecord is a removal as stored, with the envelope of the deletion
// or tombstone, under which the post's marker is kept.
type removalRecord struct {
	Removal
	envelope storage.EnvelopeID
}

// version ‖ by u8 ‖ remover [16] ‖ reason bytes32 ‖ at u64 (unix ms)
// ‖ envelope [32]
func (r *removalRecord) encode() []byte {
	e := newEnc()
	e.u8(uint8(r.By))
	e.fixed(r.Remover[:])
	e.str(r.Reason)
	e.u64(uint64(r.At.UnixMilli()))
	e.fixed(r.envelope[:])
	return e.bytes()
}

func decodeRemovalRecord(post MessageID, b []byte) (removalRecord, error) {
	d := newDec(b)
	r := removalRecord{Removal: Removal{Post: post}}
	r.By = RemovalKind(d.u8())
	d.fixed(r.Remover[:])
	r.Reason = d.str(protocol.MaxReasonText)
	r.At = time.UnixMilli(int64(d.u64()))
	d.fixed(r.envelope[:])
	if err := d.finish(); err != nil {
		return removalRecord{}, err
	}
	if r.By != RemovedByAuthor && r.By != RemovedByModerator {
		return removalRecord{}, fmt.Errorf("%w: removal kind %d", errRecord, r.By)
	}
	return r, nil
}

// heldPost is a post's local copy with where it is stored.
type heldPost struct {
	msg  Message
	env  storage.EnvelopeID
	sort uint64
}

// lookupPost reads the local copy of post id. It returns ErrNoMessage
// (wrapped) when the node does not hold it.
func (g *Group) lookupPost(id MessageID) (heldPost, error) {
	st := g.n.store
	b, err := st.Get(storage.KindLocal, g.id, withPrefix(prefixMsg, id[:]))
	if errors.Is(err, storage.ErrNotFound) {
		return heldPost{}, fmt.Errorf("node: message %s: %w", id, ErrNoMessage)
	}
	if err != nil {
		return heldPost{}, fmt.Errorf("node: reading message index: %w", err)
	}
	var p heldPost
	d := newDec(b)
	d.fixed(p.env[:])
	p.sort = d.u64()
	if err := d.finish(); err != nil {
		return heldPost{}, err
	}
	m, err := st.GetMessage(g.id, p.env)
	if errors.Is(err, storage.ErrNotFound) {
		return heldPost{}, fmt.Errorf("node: message %s: %w", id, ErrNoMessage)
	}
	if err != nil {
		return heldPost{}, fmt.Errorf("node: reading message: %w", err)
	}
	if p.msg, err = decodeMessage(g.id, m.Content); err != nil {
		return heldPost{}, err
	}
	return p, nil
}

// putCopyLocked stores msg as the local copy of envelope env at sort, and
// points the post's index at it. The caller holds g.mu.
func (g *Group) putCopyLocked(env storage.EnvelopeID, sort uint64, msg *Message) error {
	st := g.n.store
	if err := st.PutMessage(g.id, env, sort, encodeMessage(msg)); err != nil {
		return fmt.Errorf("node: storing local copy: %w", err)
	}
	e := newEnc()
	e.fixed(env[:])
	e.u64(sort)
	if err := st.Put(storage.KindLocal, g.id, withPrefix(prefixMsg, msg.ID[:]), e.bytes()); err != nil {
		return fmt.Errorf("node: storing message index: %w", err)
	}
	return nil
}

// adminAtLocked reports whether rec's author was a host or moderator in
// the roster of rec's epoch. The caller holds g.mu.
//
// Content sealed in an epoch before the current one (it may arrive within
// the grace period after a commit) counts as a host's or moderator's only
// if the author still is one: a moderator demoted by that commit cannot
// keep erasing posts for the grace period (authorRoleLocked, meetings.go).
func (g *Group) adminAtLocked(rec *protocol.Received) bool {
	return g.authorRoleLocked(rec).IsAdmin()
}

// Edit replaces the text of one of this member's own posts, for every
// member. It returns the post as it now reads. It returns ErrNoMessage
// (wrapped) for a post this node does not hold (or that was removed),
// ErrNotAuthor unless this member wrote it, protocol.ErrBadContent for text
// a post may not carry, and sendContent's errors.
func (g *Group) Edit(ctx context.Context, id MessageID, text string) (*Message, error) {
	p, err := g.ownPost(id)
	if err != nil {
		return nil, err
	}
	if _, err := g.sendContent(ctx, protocol.Edit{Target: id, Text: text}); err != nil {
		return nil, err
	}
	if p, err = g.lookupPost(id); err != nil {
		return nil, err
	}
	return &p.msg, nil
}

// Delete deletes one of this member's own posts: every member erases it
// from its store. Errors as Edit.
func (g *Group) Delete(ctx context.Context, id MessageID) error {
	if _, err := g.ownPost(id); err != nil {
		return err
	}
	_, err := g.sendContent(ctx, protocol.Delete{Target: id})
	return err
}

// ownPost returns post id when this member wrote it and it is not removed.
func (g *Group) ownPost(id MessageID) (heldPost, error) {
	p, err := g.lookupPost(id)
	if err != nil {
		return heldPost{}, err
	}
	if p.msg.Removed != nil {
		return heldPost{}, fmt.Errorf("node: message %s was removed: %w", id, ErrNoMessage)
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return heldPost{}, ErrClosed
	}
	me := g.sess.Me()
	g.mu.Unlock()
	if p.msg.Author != me.ID {
		return heldPost{}, fmt.Errorf("node: message %s: %w", id, ErrNotAuthor)
	}
	return p, nil
}

// RemovePost removes a post as a host or moderator: every member erases it
// from its store and shows a removal (with reason, which may be empty) in
// its place. It returns ErrNotAdmin (wrapped) unless this member is a host
// or moderator, ErrNoMessage for a post this node does not hold,
// protocol.ErrBadContent for a reason over protocol.MaxReasonText, and
// sendContent's errors.
func (g *Group) RemovePost(ctx context.Context, id MessageID, reason string) error {
	g.mu.Lock()
	admin := !g.closed && g.sess.Me().Role.IsAdmin()
	g.mu.Unlock()
	if !admin {
		return fmt.Errorf("node: removing a post: %w", ErrNotAdmin)
	}
	p, err := g.lookupPost(id)
	if err != nil {
		return err
	}
	if p.msg.Removed != nil {
		return nil
	}
	_, err = g.sendContent(ctx, protocol.Tombstone{Target: id, Reason: reason})
	return err
}

func (g *Group) applyEditLocked(rec *protocol.Received, c protocol.Edit) ([]Event, error) {
	target := MessageID(c.Target)
	eid := storage.EnvelopeID(rec.ID)
	if _, err := g.loadRemovalLocked(target); err == nil {
		// The post is gone: so is every edit of it.
		return nil, g.eraseEnvelopeLocked(eid)
	}
	st := g.n.store
	if err := st.Put(storage.KindLocal, g.id, withPrefix(prefixModEdits, append(target[:], eid[:]...)), newEnc().bytes()); err != nil {
		return nil, fmt.Errorf("node: recording an edit: %w", err)
	}
	p, err := g.lookupPost(target)
	if errors.Is(err, ErrNoMessage) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if p.msg.Removed != nil {
		return nil, nil
	}
	if p.msg.Author != rec.Author {
		g.n.log.Debug("ignored an edit by someone other than the post's author")
		return nil, nil
	}
	// The newest edit by send time wins; at one send time, the text that
	// sorts last, so every member settles on the same text.
	sent := time.UnixMilli(rec.Timestamp)
	if !p.msg.Edited.IsZero() && (sent.Before(p.msg.Edited) || sent.Equal(p.msg.Edited) && c.Text <= p.msg.Text) {
		return nil, nil
	}
	p.msg.Text, p.msg.Edited = c.Text, sent
	if err := g.putCopyLocked(p.env, p.sort, &p.msg); err != nil {
		return nil, err
	}
	msg := p.msg
	return []Event{{Kind: EventMessageEdited, Group: g.id, Message: &msg}}, nil
}

func (g *Group) applyDeleteLocked(rec *protocol.Received, c protocol.Delete) ([]Event, error) {
	return g.removeLocked(removalRecord{
		Removal:  Removal{Post: c.Target, By: RemovedByAuthor, Remover: rec.Author, At: time.UnixMilli(rec.Timestamp)},
		envelope: rec.ID,
	})
}

func (g *Group) applyTombstoneLocked(rec *protocol.Received, c protocol.Tombstone) ([]Event, error) {
	if !g.adminAtLocked(rec) {
		g.n.log.Debug("ignored a removal by someone who is not a host or moderator")
		return nil, nil
	}
	return g.removeLocked(removalRecord{
		Removal:  Removal{Post: c.Target, By: RemovedByModerator, Remover: rec.Author, Reason: c.Reason, At: time.UnixMilli(rec.Timestamp)},
		envelope: rec.ID,
	})
}

// removeLocked applies a deletion (checked here against the post's author)
// or an authorised removal. The caller holds g.mu.
func (g *Group) removeLocked(r removalRecord) ([]Event, error) {
	st := g.n.store
	if _, err := g.loadRemovalLocked(r.Post); err == nil {
		return nil, nil // the first removal stands
	}
	p, err := g.lookupPost(r.Post)
	if errors.Is(err, ErrNoMessage) {
		// Not held (yet): remember it, so the post is refused if it comes.
		// A deletion cannot be checked against the post's author until
		// then, so it waits under its deleter's ID (refuseRemovedLocked).
		key := withPrefix(prefixModRemoved, r.Post[:])
		if r.By == RemovedByAuthor {
			key = withPrefix(prefixModPending, append(r.Post[:], r.Remover[:]...))
		}
		if err := st.Put(storage.KindLocal, g.id, key, r.encode()); err != nil {
			return nil, fmt.Errorf("node: recording a removal: %w", err)
		}
		return nil, g.eraseEditsLocked(r.Post)
	}
	if err != nil {
		return nil, err
	}
	if p.msg.Removed != nil {
		return nil, nil
	}
	if r.By == RemovedByAuthor && p.msg.Author != r.Remover {
		g.n.log.Debug("ignored a deletion by someone other than the post's author")
		return nil, nil
	}
	if err := g.eraseEnvelopeLocked(p.env); err != nil {
		return nil, err
	}
	if err := g.finishRemovalLocked(r, p.msg, p.sort); err != nil {
		return nil, err
	}
	rm := r.Removal
	return []Event{{Kind: EventMessageRemoved, Group: g.id, Removal: &rm}}, nil
}

// finishRemovalLocked records removal r of post msg (whose envelope is
// erased or was never stored): the marker in its place at sort, the
// removal record, and the erasure of its edits and of its reports'
// excerpts. The caller holds g.mu.
func (g *Group) finishRemovalLocked(r removalRecord, msg Message, sort uint64) error {
	st := g.n.store
	rm := r.Removal
	marker := Message{
		ID: msg.ID, Group: g.id, Author: msg.Author, Pseudonym: msg.Pseudonym, ReplyTo: msg.ReplyTo,
		Sent: msg.Sent, Received: msg.Received, Epoch: msg.Epoch, Late: msg.Late, Removed: &rm,
	}
	switch err := g.putCopyLocked(r.envelope, sort, &marker); {
	case errors.Is(err, storage.ErrNotFound):
		// The removal's own envelope has expired: no marker, and no
		// index entry pointing at nothing.
		if err := st.Delete(storage.KindLocal, g.id, withPrefix(prefixMsg, msg.ID[:])); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	if err := st.Put(storage.KindLocal, g.id, withPrefix(prefixModRemoved, msg.ID[:]), r.encode()); err != nil {
		return fmt.Errorf("node: recording a removal: %w", err)
	}
	if err := g.dropPendingLocked(msg.ID); err != nil {
		return err
	}
	if err := g.eraseEditsLocked(msg.ID); err != nil {
		return err
	}
	return g.eraseReportsLocked(msg.ID)
}

// refuseRemovedLocked is called for every post that opens, before it is
// stored: when the post was deleted by its author or removed by a
// moderator before it arrived, its envelope is not stored (and counts as
// held for sync), a marker takes its place, and refused is true. The
// caller holds g.mu.
func (g *Group) refuseRemovedLocked(msg *Message, meta storage.EnvelopeMeta, sort uint64) (refused bool, err error) {
	st := g.n.store
	r, err := g.loadRemovalLocked(msg.ID)
	if err != nil {
		// Two lookups for every post that arrives, and no more: a
		// deletion of this post by anyone but its author is void, and is
		// left for dropPendingLocked when a removal comes.
		b, perr := st.Get(storage.KindLocal, g.id, withPrefix(prefixModPending, append(msg.ID[:], msg.Author[:]...)))
		if perr != nil {
			return false, nil
		}
		if r, err = decodeRemovalRecord(msg.ID, b); err != nil {
			return false, err
		}
	}
	if err := g.recordErasedLocked(meta); err != nil {
		return true, err
	}
	return true, g.finishRemovalLocked(r, *msg, sort)
}

// dropPendingLocked deletes the waiting deletions of post id.
func (g *Group) dropPendingLocked(id MessageID) error {
	st := g.n.store
	var keys [][]byte
	if err := st.Scan(storage.KindLocal, g.id, withPrefix(prefixModPending, id[:]), func(key, _ []byte) error {
		keys = append(keys, key)
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := st.Delete(storage.KindLocal, g.id, k); err != nil {
			return err
		}
	}
	return nil
}

// loadRemovalLocked reads the removal record of post id; storage's
// ErrNotFound (wrapped) when there is none.
func (g *Group) loadRemovalLocked(id MessageID) (removalRecord, error) {
	b, err := g.n.store.Get(storage.KindLocal, g.id, withPrefix(prefixModRemoved, id[:]))
	if err != nil {
		return removalRecord{}, err
	}
	return decodeRemovalRecord(id, b)
}

// eraseEnvelopeLocked deletes envelope id (and its local copy) from the
// store and records its generation as erased. The caller holds g.mu.
func (g *Group) eraseEnvelopeLocked(id storage.EnvelopeID) error {
	st := g.n.store
	e, err := st.GetEnvelope(g.id, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := g.recordErasedLocked(e.Meta); err != nil {
		return err
	}
	return st.DeleteEnvelope(g.id, id)
}

// recordErasedLocked records an erased envelope's place in its sender's
// chain.
func (g *Group) recordErasedLocked(meta storage.EnvelopeMeta) error {
	k := binary.BigEndian.AppendUint64(bytes.Clone(prefixModErased), meta.Epoch)
	k = binary.BigEndian.AppendUint32(k, meta.Sender)
	k = binary.BigEndian.AppendUint32(k, meta.Generation)
	if err := g.n.store.Put(storage.KindLocal, g.id, k, newEnc().bytes()); err != nil {
		return fmt.Errorf("node: recording an erased envelope: %w", err)
	}
	return nil
}

// eraseEditsLocked erases the envelopes of every edit of post id.
func (g *Group) eraseEditsLocked(id MessageID) error {
	st := g.n.store
	var keys [][]byte
	prefix := withPrefix(prefixModEdits, id[:])
	if err := st.Scan(storage.KindLocal, g.id, prefix, func(key, _ []byte) error {
		keys = append(keys, key)
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		var eid storage.EnvelopeID
		copy(eid[:], k[len(prefix):])
		if err := g.eraseEnvelopeLocked(eid); err != nil {
			return err
		}
		if err := st.Delete(storage.KindLocal, g.id, k); err != nil {
			return err
		}
	}
	return nil
}

// heldGenerations is the generation vector this node sends when it asks
// for history: what the store holds, and the envelopes it erased.
func (g *Group) heldGenerations() ([]storage.SenderGenerations, error) {
	st := g.n.store
	vec, err := st.GenerationVector(g.id)
	if err != nil {
		return nil, err
	}
	var erased []storage.SenderGenerations
	err = st.Scan(storage.KindLocal, g.id, prefixModErased, func(key, _ []byte) error {
		k := key[len(prefixModErased):]
		if len(k) != 16 {
			return fmt.Errorf("%w: erased-envelope key of %d bytes", errRecord, len(k))
		}
		gen := binary.BigEndian.Uint32(k[12:])
		erased = append(erased, storage.SenderGenerations{
			Epoch: binary.BigEndian.Uint64(k), Sender: binary.BigEndian.Uint32(k[8:]),
			Held: []storage.GenerationRange{{First: gen, Last: gen}},
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("node: reading erased envelopes: %w", err)
	}
	return mergeGenerations(vec, erased), nil
}

// mergeGenerations returns the union of two generation vectors, in the
// store's form: entries in ascending (epoch, sender) order, each with
// ascending, disjoint, non-adjacent runs.
func mergeGenerations(a, b []storage.SenderGenerations) []storage.SenderGenerations {
	type key struct {
		epoch  uint64
		sender uint32
	}
	runs := make(map[key][]storage.GenerationRange)
	for _, v := range [][]storage.SenderGenerations{a, b} {
		for _, e := range v {
			k := key{e.Epoch, e.Sender}
			runs[k] = append(runs[k], e.Held...)
		}
	}
	out := make([]storage.SenderGenerations, 0, len(runs))
	for k, rs := range runs {
		slices.SortFunc(rs, func(x, y storage.GenerationRange) int { return cmpU32(x.First, y.First) })
		merged := rs[:1:1]
		for _, r := range rs[1:] {
			last := &merged[len(merged)-1]
			if uint64(r.First) <= uint64(last.Last)+1 {
				last.Last = max(last.Last, r.Last)
				continue
			}
			merged = append(merged, r)
		}
		out = append(out, storage.SenderGenerations{Epoch: k.epoch, Sender: k.sender, Held: merged})
	}
	slices.SortFunc(out, func(x, y storage.SenderGenerations) int {
		if x.Epoch != y.Epoch {
			if x.Epoch < y.Epoch {
				return -1
			}
			return 1
		}
		return cmpU32(x.Sender, y.Sender)
	})
	return out
}

func cmpU32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ReportID names a report: the first half of its envelope's ID.
type ReportID [16]byte

// String returns the ID as 32 lower-case hex digits.
func (id ReportID) String() string { return hex.EncodeToString(id[:]) }

// ParseReportID parses the form String returns. It returns an error
// wrapping crypto.ErrBadID for anything else.
func ParseReportID(s string) (ReportID, error) {
	m, err := ParseMessageID(s)
	return ReportID(m), err
}

// ReportStatus is where a report stands.
type ReportStatus uint8

// Report statuses.
const (
	// ReportOpen: nobody has acted on the post yet.
	ReportOpen ReportStatus = 1
	// ReportPostRemoved: the post was deleted or removed; the report's
	// excerpt is erased with it.
	ReportPostRemoved ReportStatus = 2
)

// String returns "open" or "removed".
func (s ReportStatus) String() string {
	switch s {
	case ReportOpen:
		return "open"
	case ReportPostRemoved:
		return "removed"
	}
	return "unknown"
}

// Report is a member's report of a post, as a host or moderator holds it.
type Report struct {
	ID   ReportID
	Post MessageID
	// Author is the reported post's author, Pseudonym their name.
	Author    crypto.MemberID
	Pseudonym string
	// Excerpt is the post's text: as this node holds it (signed by its
	// author) when it holds the post, else as the reporter quoted it;
	// erased once the post is removed.
	Excerpt string
	Reason  string
	// Reporter is the member who reported it, ReporterPseudonym their
	// name.
	Reporter          crypto.MemberID
	ReporterPseudonym string
	Sent              time.Time
	Status            ReportStatus
}

// report record: version ‖ envelope [32] ‖ post [16] ‖ author [16]
// ‖ pseudonym bytes32 ‖ excerpt bytes32 ‖ reason bytes32 ‖ reporter [16]
// ‖ reporter pseudonym bytes32 ‖ sent u64 (unix ms) ‖ status u8
type reportRecord struct {
	Report
	envelope storage.EnvelopeID
}

func (r *reportRecord) encode() []byte {
	e := newEnc()
	e.fixed(r.envelope[:])
	e.fixed(r.Post[:])
	e.fixed(r.Author[:])
	e.str(r.Pseudonym)
	e.str(r.Excerpt)
	e.str(r.Reason)
	e.fixed(r.Reporter[:])
	e.str(r.ReporterPseudonym)
	e.u64(uint64(r.Sent.UnixMilli()))
	e.u8(uint8(r.Status))
	return e.bytes()
}

func decodeReportRecord(b []byte) (reportRecord, error) {
	d := newDec(b)
	var r reportRecord
	d.fixed(r.envelope[:])
	copy(r.ID[:], r.envelope[:16])
	d.fixed(r.Post[:])
	d.fixed(r.Author[:])
	r.Pseudonym = d.str(protocol.MaxPseudonymBytes)
	r.Excerpt = d.str(protocol.MaxPostText)
	r.Reason = d.str(protocol.MaxReasonText)
	d.fixed(r.Reporter[:])
	r.ReporterPseudonym = d.str(protocol.MaxPseudonymBytes)
	r.Sent = time.UnixMilli(int64(d.u64()))
	r.Status = ReportStatus(d.u8())
	if err := d.finish(); err != nil {
		return reportRecord{}, err
	}
	if r.Status != ReportOpen && r.Status != ReportPostRemoved {
		return reportRecord{}, fmt.Errorf("%w: report status %d", errRecord, r.Status)
	}
	return r, nil
}

// Report reports a post to the group's hosts and moderators: its ID,
// author and text as this member sees it, and reason, sealed to the hosts
// and moderators of the current epoch only (this member included, if it is
// one), so no other member can read it. It returns ErrNoMessage (wrapped)
// for a post this node does not hold or that was removed, ErrSelf for one's
// own post, protocol.ErrBadContent for a reason over
// protocol.MaxReasonText, and sendContent's errors.
func (g *Group) Report(ctx context.Context, id MessageID, reason string) error {
	rep, err := g.sealReport(id, reason)
	if err != nil {
		return err
	}
	_, err = g.sendContent(ctx, rep)
	return err
}

// sealReport builds the report of post id that Report sends.
func (g *Group) sealReport(id MessageID, reason string) (protocol.Report, error) {
	p, err := g.lookupPost(id)
	if err != nil {
		return protocol.Report{}, err
	}
	if p.msg.Removed != nil {
		return protocol.Report{}, fmt.Errorf("node: message %s was removed: %w", id, ErrNoMessage)
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return protocol.Report{}, ErrClosed
	}
	st := g.sess.GroupState()
	me := g.sess.Me()
	g.mu.Unlock()
	if p.msg.Author == me.ID {
		return protocol.Report{}, fmt.Errorf("node: reporting: %w", ErrSelf)
	}
	body := protocol.ReportBody{Post: id, Author: p.msg.Author, Excerpt: p.msg.Text, Reason: reason}
	plain, err := body.Marshal()
	if err != nil {
		return protocol.Report{}, fmt.Errorf("node: reporting: %w", err)
	}
	var to []crypto.MemberPublic
	var ids []crypto.MemberID
	for _, m := range st.Roster {
		if m.Role.IsAdmin() {
			to = append(to, m.Public)
			ids = append(ids, m.ID)
		}
	}
	keys, sealed, err := crypto.SealNote(crypto.SecretReportKey, to, me.ID, st.ID, st.Epoch, plain, g.n.rand)
	crypto.Wipe(plain)
	if err != nil {
		return protocol.Report{}, fmt.Errorf("node: sealing a report: %w", err)
	}
	rep := protocol.Report{Body: sealed}
	for i, k := range keys {
		rep.Keys = append(rep.Keys, protocol.SealedSecret{To: ids[i], Sealed: k})
	}
	return rep, nil
}

func (g *Group) applyReportLocked(rec *protocol.Received, c protocol.Report) ([]Event, error) {
	me := g.sess.Me()
	var sealed []byte
	for _, k := range c.Keys {
		if k.To == me.ID {
			sealed = k.Sealed
		}
	}
	if sealed == nil {
		return nil, nil // not for this member
	}
	// A report is for hosts and moderators only: one sealed to an
	// ordinary member (which an honest node never does) is dropped, so a
	// member cannot use reports to push text at other members.
	if roster, err := g.sess.RosterAt(rec.Epoch); err != nil {
		return nil, nil
	} else if mine, ok := memberIn(roster, me.ID); !ok || !mine.Role.IsAdmin() {
		g.n.log.Debug("ignoring a report sealed to a member who is not a host or moderator")
		return nil, nil
	}
	plain, err := g.sess.OpenNote(crypto.SecretReportKey, rec.Author, rec.Epoch, sealed, c.Body)
	if err != nil {
		g.n.log.Debug("a report sealed to this member did not open", "err", err)
		return nil, nil
	}
	body, err := protocol.UnmarshalReportBody(plain)
	crypto.Wipe(plain)
	if err != nil {
		g.n.log.Debug("an opened report did not decode", "err", err)
		return nil, nil
	}
	r := reportRecord{
		Report: Report{
			Post: body.Post, Author: body.Author, Excerpt: body.Excerpt, Reason: body.Reason,
			Reporter: rec.Author, ReporterPseudonym: rec.Pseudonym, Sent: time.UnixMilli(rec.Timestamp), Status: ReportOpen,
		},
		envelope: rec.ID,
	}
	copy(r.ID[:], rec.ID[:16])
	if p, err := g.lookupPost(body.Post); err == nil {
		r.Pseudonym, r.Author = p.msg.Pseudonym, p.msg.Author
		// The excerpt is the reporter's claim; the post this node holds
		// is signed by its author. Show the signed text, so a report
		// cannot pin invented words on someone's post.
		r.Excerpt = p.msg.Text
	} else if roster, err := g.sess.RosterAt(rec.Epoch); err == nil {
		for _, m := range roster {
			if m.ID == body.Author {
				r.Pseudonym = m.Pseudonym
			}
		}
	}
	if _, err := g.loadRemovalLocked(body.Post); err == nil {
		// Reported after the post was already removed here: nothing to
		// keep of its text.
		r.Excerpt, r.Status = "", ReportPostRemoved
		if err := g.eraseEnvelopeLocked(rec.ID); err != nil {
			return nil, err
		}
	}
	if err := g.n.store.Put(storage.KindLocal, g.id, withPrefix(prefixModReport, r.ID[:]), r.encode()); err != nil {
		return nil, fmt.Errorf("node: storing a report: %w", err)
	}
	out := r.Report
	return []Event{{Kind: EventReport, Group: g.id, Report: &out}}, nil
}

// eraseReportsLocked erases the excerpt of every report of post id, and
// the reports' envelopes, which this admin could open again.
func (g *Group) eraseReportsLocked(id MessageID) error {
	st := g.n.store
	var reps []reportRecord
	err := st.Scan(storage.KindLocal, g.id, prefixModReport, func(_, value []byte) error {
		r, err := decodeReportRecord(value)
		if err == nil && r.Post == id && r.Status == ReportOpen {
			reps = append(reps, r)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range reps {
		r.Excerpt, r.Status = "", ReportPostRemoved
		if err := g.eraseEnvelopeLocked(r.envelope); err != nil {
			return err
		}
		if err := st.Put(storage.KindLocal, g.id, withPrefix(prefixModReport, r.ID[:]), r.encode()); err != nil {
			return err
		}
	}
	return nil
}

// Reports returns the reports this host or moderator holds, oldest first.
// Members who are not hosts or moderators hold none.
func (g *Group) Reports() ([]Report, error) {
	if g.n.isClosed() {
		return nil, ErrClosed
	}
	var out []Report
	err := g.n.store.Scan(storage.KindLocal, g.id, prefixModReport, func(_, value []byte) error {
		r, err := decodeReportRecord(value)
		if err != nil {
			return err
		}
		out = append(out, r.Report)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("node: reading reports: %w", err)
	}
	slices.SortStableFunc(out, func(a, b Report) int { return a.Sent.Compare(b.Sent) })
	return out, nil
}

// DismissReport deletes a report from this node, its excerpt with it. It
// returns ErrNoReport (wrapped) when there is no such report.
func (g *Group) DismissReport(id ReportID) error {
	st := g.n.store
	key := withPrefix(prefixModReport, id[:])
	if _, err := st.Get(storage.KindLocal, g.id, key); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("node: report %s: %w", id, ErrNoReport)
	} else if err != nil {
		return fmt.Errorf("node: reading report: %w", err)
	}
	return st.Delete(storage.KindLocal, g.id, key)
}

// Guidelines are a group's pinned guidelines as this node holds them.
type Guidelines struct {
	// Version is 0 when the group has none.
	Version uint64
	Text    string
	// SetBy is the host or moderator who set this version, Pseudonym
	// their name, Set when.
	SetBy     crypto.MemberID
	Pseudonym string
	Set       time.Time
	// Accepted is the version this member last accepted (0: none).
	Accepted uint64
}

// Current reports whether this member accepted the current version (or
// there are none to accept).
func (g Guidelines) Current() bool { return g.Accepted >= g.Version }

// version ‖ guidelines version u64 ‖ text bytes32 ‖ set by [16]
// ‖ pseudonym bytes32 ‖ set u64 (unix ms)
func encodeGuidelines(gl *Guidelines) []byte {
	e := newEnc()
	e.u64(gl.Version)
	e.str(gl.Text)
	e.fixed(gl.SetBy[:])
	e.str(gl.Pseudonym)
	e.u64(uint64(gl.Set.UnixMilli()))
	return e.bytes()
}

func decodeGuidelines(b []byte) (Guidelines, error) {
	d := newDec(b)
	var gl Guidelines
	gl.Version = d.u64()
	gl.Text = d.str(protocol.MaxGuidelinesText)
	d.fixed(gl.SetBy[:])
	gl.Pseudonym = d.str(protocol.MaxPseudonymBytes)
	gl.Set = time.UnixMilli(int64(d.u64()))
	return gl, d.finish()
}

// Guidelines returns the group's guidelines (Version 0 when it has none)
// and which version this member accepted.
func (g *Group) Guidelines() (Guidelines, error) {
	if g.n.isClosed() {
		return Guidelines{}, ErrClosed
	}
	return g.loadGuidelines()
}

// loadGuidelines reads the guidelines records. It takes no lock (Info and
// the apply function call it with g.mu held, and the node's lock is never
// taken under g.mu).
func (g *Group) loadGuidelines() (Guidelines, error) {
	st := g.n.store
	var gl Guidelines
	b, err := st.Get(storage.KindLocal, g.id, keyModGuidelines)
	switch {
	case err == nil:
		if gl, err = decodeGuidelines(b); err != nil {
			return Guidelines{}, err
		}
	case !errors.Is(err, storage.ErrNotFound):
		return Guidelines{}, fmt.Errorf("node: reading guidelines: %w", err)
	}
	b, err = st.Get(storage.KindLocal, g.id, keyModAccepted)
	switch {
	case err == nil:
		d := newDec(b)
		gl.Accepted = d.u64()
		if err := d.finish(); err != nil {
			return Guidelines{}, err
		}
	case !errors.Is(err, storage.ErrNotFound):
		return Guidelines{}, fmt.Errorf("node: reading accepted guidelines: %w", err)
	}
	return gl, nil
}

// SetGuidelines pins new guidelines for the group (the next version),
// accepted by this member. It returns ErrNotAdmin (wrapped) unless this
// member is a host or moderator, protocol.ErrBadContent for text that is
// empty or over protocol.MaxGuidelinesText, and sendContent's errors.
func (g *Group) SetGuidelines(ctx context.Context, text string) (Guidelines, error) {
	g.mu.Lock()
	admin := !g.closed && g.sess.Me().Role.IsAdmin()
	g.mu.Unlock()
	if !admin {
		return Guidelines{}, fmt.Errorf("node: setting guidelines: %w", ErrNotAdmin)
	}
	cur, err := g.Guidelines()
	if err != nil {
		return Guidelines{}, err
	}
	next := protocol.Guidelines{Version: cur.Version + 1, Text: text}
	// Accepted first, so the event this member's own node emits already
	// says so.
	if err := g.acceptVersion(next.Version); err != nil {
		return Guidelines{}, err
	}
	if _, err := g.sendContent(ctx, next); err != nil {
		if now, lerr := g.loadGuidelines(); lerr == nil && now.Version < next.Version {
			// Not recorded: this member has not seen that version.
			_ = g.acceptVersion(cur.Accepted)
		}
		return Guidelines{}, err
	}
	return g.Guidelines()
}

// AcceptGuidelines records, on this node only, that this member accepted
// the current guidelines. It returns ErrNoGuidelines (wrapped) when there
// are none.
func (g *Group) AcceptGuidelines() (Guidelines, error) {
	gl, err := g.Guidelines()
	if err != nil {
		return Guidelines{}, err
	}
	if gl.Version == 0 {
		return Guidelines{}, fmt.Errorf("node: accepting guidelines: %w", ErrNoGuidelines)
	}
	if err := g.acceptVersion(gl.Version); err != nil {
		return Guidelines{}, err
	}
	gl.Accepted = gl.Version
	return gl, nil
}

func (g *Group) acceptVersion(v uint64) error {
	e := newEnc()
	e.u64(v)
	if err := g.n.store.Put(storage.KindLocal, g.id, keyModAccepted, e.bytes()); err != nil {
		return fmt.Errorf("node: recording accepted guidelines: %w", err)
	}
	return nil
}

func (g *Group) applyGuidelinesLocked(rec *protocol.Received, c protocol.Guidelines) ([]Event, error) {
	if !g.adminAtLocked(rec) {
		g.n.log.Debug("ignored guidelines from someone who is not a host or moderator")
		return nil, nil
	}
	cur, err := g.loadGuidelines()
	if err != nil {
		return nil, err
	}
	if cur.Version != 0 && !c.Supersedes(protocol.Guidelines{Version: cur.Version, Text: cur.Text}) {
		return nil, nil
	}
	gl := Guidelines{Version: c.Version, Text: c.Text, SetBy: rec.Author, Pseudonym: rec.Pseudonym, Set: time.UnixMilli(rec.Timestamp), Accepted: cur.Accepted}
	if err := g.n.store.Put(storage.KindLocal, g.id, keyModGuidelines, encodeGuidelines(&gl)); err != nil {
		return nil, fmt.Errorf("node: storing guidelines: %w", err)
	}
	return []Event{{Kind: EventGuidelines, Group: g.id, Guidelines: &gl}}, nil
}

// resendGuidelines sends the group's current guidelines again after this
// member committed changes that add members: they cannot read the epoch
// the guidelines were set in. Only a host or moderator sends them (any
// other member's would be ignored); members who hold them already see no
// change.
func (g *Group) resendGuidelines(ctx context.Context, changes []protocol.Change) {
	added := slices.ContainsFunc(changes, func(c protocol.Change) bool {
		_, ok := c.(protocol.Add)
		return ok
	})
	if !added {
		return
	}
	gl, err := g.Guidelines()
	if err != nil || gl.Version == 0 {
		return
	}
	if _, err := g.sendContent(ctx, protocol.Guidelines{Version: gl.Version, Text: gl.Text}); err != nil {
		g.n.log.Warn("sending the guidelines to new members", "err", err)
	}
}

// requireGuidelinesLocked returns ErrGuidelinesNotAccepted (wrapped) while
// the group has guidelines whose current version this member has not
// accepted: a post waits for AcceptGuidelines, whichever interface sends
// it. (An SOS never waits: it does not go through Post.) A removed member
// is left to the caller's ErrRemoved. The caller holds g.mu.
func (g *Group) requireGuidelinesLocked() error {
	if g.sess.Removed() {
		return nil
	}
	gl, err := g.loadGuidelines()
	if err != nil {
		return err
	}
	if !gl.Current() {
		return fmt.Errorf("node: posting: version %d: %w", gl.Version, ErrGuidelinesNotAccepted)
	}
	return nil
}

// guidelinesInfo fills the guidelines fields of info.
func (g *Group) guidelinesInfo(info *GroupInfo) {
	gl, err := g.loadGuidelines()
	if err != nil {
		return
	}
	info.Guidelines, info.GuidelinesAccepted = gl.Version, gl.Current()
}

// MuteLevel is how this member hides another member of a group, on this
// node only.
type MuteLevel uint8

// Mute levels.
const (
	// NotMuted: nothing is hidden.
	NotMuted MuteLevel = 0
	// MuteMuted: the member's posts are collapsed (the API marks them
	// muted; the web UI folds them behind a button).
	MuteMuted MuteLevel = 1
	// MuteBlocked: the member's posts are not shown at all (the API leaves
	// them out of history and the event stream) and the member is marked
	// blocked in the member list.
	MuteBlocked MuteLevel = 2
)

// String returns "none", "muted" or "blocked".
func (l MuteLevel) String() string {
	switch l {
	case NotMuted:
		return "none"
	case MuteMuted:
		return "muted"
	case MuteBlocked:
		return "blocked"
	}
	return "unknown"
}

// MutedMember is one member this member muted or blocked.
type MutedMember struct {
	Group  crypto.GroupID
	Member crypto.MemberID
	Level  MuteLevel
}

// Mute collapses member's posts in group, on this node only: nothing is
// sent, and the member is never told. It returns ErrNoGroup, ErrNoMember
// (wrapped) for someone not in the group's roster, and ErrSelf.
func (n *Node) Mute(group crypto.GroupID, member crypto.MemberID) error {
	return n.setMute(group, member, MuteMuted)
}

// Block hides member's posts in group entirely, on this node only. Errors
// as Mute.
func (n *Node) Block(group crypto.GroupID, member crypto.MemberID) error {
	return n.setMute(group, member, MuteBlocked)
}

// Unmute ends a mute (and a block). Unmuting someone not muted is not an
// error. It returns ErrNoGroup (wrapped).
func (n *Node) Unmute(group crypto.GroupID, member crypto.MemberID) error {
	return n.setMute(group, member, NotMuted)
}

// Unblock ends a block (and a mute). Errors as Unmute.
func (n *Node) Unblock(group crypto.GroupID, member crypto.MemberID) error {
	return n.setMute(group, member, NotMuted)
}

func (n *Node) setMute(group crypto.GroupID, member crypto.MemberID, level MuteLevel) error {
	g, err := n.Group(group)
	if err != nil {
		return err
	}
	key := withPrefix(prefixModMute, member[:])
	if level == NotMuted {
		return n.store.Delete(storage.KindLocal, group, key)
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return ErrClosed
	}
	st := g.sess.GroupState()
	me := g.sess.Me()
	g.mu.Unlock()
	if member == me.ID {
		return fmt.Errorf("node: muting: %w", ErrSelf)
	}
	if _, ok := st.MemberByID(member); !ok {
		return fmt.Errorf("node: member %s: %w", member, ErrNoMember)
	}
	e := newEnc()
	e.u8(uint8(level))
	if err := n.store.Put(storage.KindLocal, group, key, e.bytes()); err != nil {
		return fmt.Errorf("node: storing a mute: %w", err)
	}
	return nil
}

// MuteLevelOf returns how this member hides member in group.
func (n *Node) MuteLevelOf(group crypto.GroupID, member crypto.MemberID) MuteLevel {
	b, err := n.store.Get(storage.KindLocal, group, withPrefix(prefixModMute, member[:]))
	if err != nil {
		return NotMuted
	}
	d := newDec(b)
	l := MuteLevel(d.u8())
	if d.finish() != nil || l > MuteBlocked {
		return NotMuted
	}
	return l
}

// Muted lists the members this member muted or blocked, in every group.
func (n *Node) Muted() ([]MutedMember, error) {
	if n.isClosed() {
		return nil, ErrClosed
	}
	var out []MutedMember
	for _, g := range n.Groups() {
		err := n.store.Scan(storage.KindLocal, g.id, prefixModMute, func(key, value []byte) error {
			m := MutedMember{Group: g.id}
			if copy(m.Member[:], key[len(prefixModMute):]) != len(m.Member) {
				return fmt.Errorf("%w: short mute key", errRecord)
			}
			d := newDec(value)
			m.Level = MuteLevel(d.u8())
			if err := d.finish(); err != nil {
				return err
			}
			out = append(out, m)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("node: reading mutes: %w", err)
		}
	}
	return out, nil
}

// pruneModeration deletes the moderation records that retention left
// pointing at nothing: an edit's record once the edit's envelope is gone,
// and a removal record (with any deletions waiting for the same post) once
// the removal's own envelope is gone, which retention deletes about when
// every member's node deleted the post itself, so nothing is left to
// refuse. The records of erased envelopes stay: a few bytes each, they
// keep sync from asking for envelopes a slower peer may still hold.
func (g *Group) pruneModeration() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	st := g.n.store
	held := func(id storage.EnvelopeID) bool {
		has, err := st.HasEnvelope(g.id, id)
		return err != nil || has // when in doubt, keep
	}
	var stale [][]byte
	var removed []MessageID
	_ = st.Scan(storage.KindLocal, g.id, prefixModEdits, func(key, _ []byte) error {
		var eid storage.EnvelopeID
		if copy(eid[:], key[len(prefixModEdits)+len(MessageID{}):]) == len(eid) && !held(eid) {
			stale = append(stale, key)
		}
		return nil
	})
	_ = st.Scan(storage.KindLocal, g.id, prefixModRemoved, func(key, value []byte) error {
		var post MessageID
		copy(post[:], key[len(prefixModRemoved):])
		if r, err := decodeRemovalRecord(post, value); err == nil && !held(r.envelope) {
			stale = append(stale, key)
			removed = append(removed, post)
		}
		return nil
	})
	// Reports go with retention too: an open or dismissed report once its
	// own envelope expired (its quote must not outlive the post), one
	// whose post was removed once the removal's record expired.
	gone := make(map[MessageID]bool, len(removed))
	for _, post := range removed {
		gone[post] = true
	}
	_ = st.Scan(storage.KindLocal, g.id, prefixModReport, func(key, value []byte) error {
		r, err := decodeReportRecord(value)
		switch {
		case err != nil:
		case r.Status == ReportPostRemoved && gone[r.Post]:
			stale = append(stale, key)
		case r.Status != ReportPostRemoved && !held(r.envelope):
			stale = append(stale, key)
		}
		return nil
	})
	for _, k := range stale {
		_ = st.Delete(storage.KindLocal, g.id, k)
	}
	for _, post := range removed {
		_ = g.dropPendingLocked(post)
	}
}
