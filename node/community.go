package node

import (
	"context"
	"fmt"
	"time"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// This file is where the community content of protocol/community.go meets
// the node: one path to send it (sendContent) and one to record it
// (applyCommunityLocked), taken alike for what this member sends and what
// arrives from others, so the sender's own view is built by the same code
// as everyone else's. Each feature keeps its own state and rules in its own
// file: moderation.go (edits, deletions, removals, reports), meetings.go
// (schedules and live rooms), sos.go (SOS and answers), notes.go
// (notes sealed to one member: mentorship), addresses.go (members' node
// addresses).

// applyCommunityLocked records community content that opened (from gossip,
// sync, or this member's own sendContent) and returns the events it causes.
// The envelope is stored first, exactly as received, so sync can serve it.
// handled is false when rec.Content is not community content. The caller
// holds g.mu.
func (g *Group) applyCommunityLocked(rec *protocol.Received, meta storage.EnvelopeMeta, env []byte, now time.Time) (events []Event, handled bool, err error) {
	switch rec.Content.(type) {
	case protocol.Edit, protocol.Delete, protocol.Tombstone, protocol.Guidelines, protocol.Report,
		protocol.Meeting, protocol.MeetingEvent, protocol.MeetingSnapshot, protocol.SOS, protocol.SOSReply,
		protocol.Note, protocol.Addresses:
	default:
		return nil, false, nil
	}
	if _, err := g.n.store.PutEnvelope(g.id, meta, env); err != nil {
		return nil, true, fmt.Errorf("node: storing envelope: %w", err)
	}
	switch c := rec.Content.(type) {
	case protocol.Edit:
		events, err = g.applyEditLocked(rec, c)
	case protocol.Delete:
		events, err = g.applyDeleteLocked(rec, c)
	case protocol.Tombstone:
		events, err = g.applyTombstoneLocked(rec, c)
	case protocol.Guidelines:
		events, err = g.applyGuidelinesLocked(rec, c)
	case protocol.Report:
		events, err = g.applyReportLocked(rec, c)
	case protocol.Meeting:
		events, err = g.applyMeetingLocked(rec, c, now)
	case protocol.MeetingEvent:
		events, err = g.applyMeetingEventLocked(rec, c, env, now)
	case protocol.MeetingSnapshot:
		events, err = g.applyMeetingSnapshotLocked(rec, c, now)
	case protocol.SOS:
		events, err = g.applySOSLocked(rec, c, now)
	case protocol.SOSReply:
		events, err = g.applySOSReplyLocked(rec, c, now)
	case protocol.Note:
		events, err = g.applyNoteLocked(rec, c, now)
	case protocol.Addresses:
		events, err = g.applyAddressesLocked(rec, c, now)
	}
	return events, true, err
}

// sendContent seals c under this member's sender chain, records it locally
// through applyCommunityLocked (so the member's own view matches what others
// will apply), emits the events that causes, and publishes the envelope on
// the group's topic (or queues it until the mesh is ready). It returns the
// received form of what was sent.
//
// It returns ErrRemoved (wrapped) after this member was removed or left,
// protocol.ErrBadContent (wrapped) for content that breaks its rules, and
// ErrClosed after Close. A publishing error is returned after the content
// was recorded.
func (g *Group) sendContent(ctx context.Context, c protocol.Content) (*protocol.Received, error) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil, ErrClosed
	}
	now := g.n.now()
	env, err := g.sess.SealContent(c, now.UnixMilli(), g.n.rand)
	if err != nil {
		g.mu.Unlock()
		return nil, fmt.Errorf("node: sending: %w", err)
	}
	me := g.sess.Me()
	epoch := g.sess.GroupState().Epoch
	rec := &protocol.Received{
		ID: crypto.EnvelopeID(env), Epoch: epoch, Author: me.ID, Pseudonym: me.Pseudonym,
		Timestamp: now.UnixMilli(), Content: c,
	}
	meta := storage.EnvelopeMeta{Epoch: epoch, Sender: me.Index, Generation: envelopeGeneration(env, g.sess), Received: now}
	recorded, err := g.finishSendLocked(ctx, env, func() ([]Event, error) {
		events, handled, err := g.applyCommunityLocked(rec, meta, env, now)
		if err == nil && !handled {
			err = fmt.Errorf("node: sending: content type 0x%02x is not community content", uint8(c.Type()))
		}
		return events, err
	})
	if !recorded {
		return nil, err
	}
	return rec, err
}
