package node

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// This file records SOS requests ("I need help now") and the answers to
// them ("I'm here"). An SOS is community content like any other (sealed,
// signed, sent to the whole group through sendContent); what makes it
// urgent is only how it is shown: EventSOS, which an interface alerts on
// even in quiet hours for members who opted in (Wellbeing.SOSAlerts).
//
// Every member's node keeps each SOS of the last sosKeep and who answered
// it, as local records (storage seals them):
//
//	"sos/" + SOS ID:                     author [16] ‖ pseudonym bytes32
//	    ‖ text bytes32 ‖ sent u64 (unix ms) ‖ received u64 (unix ns) ‖ late u8
//	"sos-reply/" + SOS ID + author [16]: pseudonym bytes32 ‖ text bytes32
//	    ‖ sent u64 (unix ms) ‖ received u64 (unix ns)
//
// A member's newest answer to an SOS replaces their earlier one.

// Record prefixes (KindLocal, under the group's ID).
var (
	prefixSOS      = []byte("sos/")
	prefixSOSReply = []byte("sos-reply/")
)

// sosKeep is how long an SOS and its answers are kept: long enough to see
// who answered and to follow up the next days, short enough that a moment
// of crisis does not stay on every member's disk. Group retention, when
// shorter, applies instead.
const sosKeep = 7 * 24 * time.Hour

// sosMinInterval is how often a member may send an SOS in one group. A
// second one within a minute adds nothing the first did not say (every
// member already has it, and answers go to it), so it is refused with
// ErrSOSTooSoon, which says so, rather than dropped quietly.
const sosMinInterval = time.Minute

// ErrSOSTooSoon: this member sent an SOS in the group less than
// sosMinInterval ago. The earlier one has been sent; SOSTooSoonError says
// when.
var ErrSOSTooSoon = errors.New("an SOS was sent in this group less than a minute ago; the members have it")

// ErrNoSOS: this node holds no SOS with this ID in the group.
var ErrNoSOS = errors.New("no such SOS")

// ErrNoSOSTarget: SendSOS was given no group, or asked for the member's
// mentors when they have none.
var ErrNoSOSTarget = errors.New("no group or mentor to send the SOS to")

// SOSTooSoonError is the error (wrapping ErrSOSTooSoon) a second SOS
// within sosMinInterval gets: it names the earlier one.
type SOSTooSoonError struct {
	// Last is the SOS sent less than a minute ago.
	Last SOS
}

func (e *SOSTooSoonError) Error() string {
	return fmt.Sprintf("node: %v (sent %s)", ErrSOSTooSoon, e.Last.Sent.Format(time.TimeOnly))
}

func (e *SOSTooSoonError) Unwrap() error { return ErrSOSTooSoon }

// SOSID names an SOS: the random ID its sender drew.
type SOSID [16]byte

// String returns the ID as 32 lower-case hex digits.
func (id SOSID) String() string { return hex.EncodeToString(id[:]) }

// ParseSOSID parses the form String returns. It returns an error wrapping
// crypto.ErrBadID for anything else.
func ParseSOSID(s string) (SOSID, error) {
	m, err := ParseMessageID(s)
	if err != nil {
		return SOSID{}, fmt.Errorf("node: SOS ID: %w", crypto.ErrBadID)
	}
	return SOSID(m), nil
}

// SOS is a member's request for help as this node holds it.
type SOS struct {
	ID    SOSID
	Group crypto.GroupID
	// Author and Pseudonym are the member who sent it.
	Author    crypto.MemberID
	Pseudonym string
	Text      string
	// Sent is the author's signed send time; Received this node's clock.
	Sent     time.Time
	Received time.Time
	// Mine is set on the sender's own node.
	Mine bool
	// Late is set for an SOS that arrived long after it was sent (history
	// sync after being offline): an interface shows it, without alarm.
	Late bool
	// Replies are the members who answered, oldest first (SOSes and
	// Group.SOS fill it; events carry it empty).
	Replies []SOSReply
}

// SOSReply is a member's "I'm here" to an SOS.
type SOSReply struct {
	SOS       SOSID
	Group     crypto.GroupID
	Author    crypto.MemberID
	Pseudonym string
	Text      string
	Sent      time.Time
	Received  time.Time
	// Mine is set on the answering member's own node.
	Mine bool
}

// newSOSID draws a random SOS ID.
func (n *Node) newSOSID() (SOSID, error) {
	var id SOSID
	r := n.rand
	if r == nil {
		r = crand.Reader
	}
	if _, err := io.ReadFull(r, id[:]); err != nil {
		return id, fmt.Errorf("node: SOS ID: %w", err)
	}
	return id, nil
}

// SOS sends an urgent request for help to every member of the group, with
// text (which may be empty, at most protocol.MaxSOSText bytes). Every
// member's node emits EventSOS for it, this one included. It returns
// *SOSTooSoonError (errors.Is ErrSOSTooSoon) when this member sent one in
// the group less than a minute ago, ErrRemoved (wrapped) after removal,
// protocol.ErrBadContent (wrapped) for text that breaks the rules, and
// ErrClosed. A publishing error is returned after the SOS was recorded: it
// goes out when the group's mesh is back (and by history sync).
func (g *Group) SOS(ctx context.Context, text string) (*SOS, error) {
	list, err := g.SOSes()
	if err != nil {
		return nil, err
	}
	now := g.n.now()
	for _, s := range list {
		if s.Mine && now.Sub(s.Sent) < sosMinInterval && now.Sub(s.Sent) > -sosMinInterval {
			return nil, &SOSTooSoonError{Last: s}
		}
	}
	id, err := g.n.newSOSID()
	if err != nil {
		return nil, err
	}
	rec, err := g.sendContent(ctx, protocol.SOS{ID: id, Text: text})
	if rec == nil {
		return nil, fmt.Errorf("node: sending an SOS: %w", err)
	}
	s := sosFromReceived(g, rec, protocol.SOS{ID: id, Text: text}, now)
	return &s, err
}

// AnswerSOS sends "I'm here" (with text, which may be empty) to the SOS
// with the given ID. Every member's node, the SOS's sender's included,
// records it and emits EventSOSReply. It returns ErrNoSOS (wrapped) for an
// SOS this node does not hold (or no longer: they are kept a week), and the
// errors of SOS.
func (g *Group) AnswerSOS(ctx context.Context, id SOSID, text string) (*SOSReply, error) {
	if _, err := g.SOSByID(id); err != nil {
		return nil, err
	}
	c := protocol.SOSReply{SOS: id, Text: text}
	rec, err := g.sendContent(ctx, c)
	if rec == nil {
		return nil, fmt.Errorf("node: answering an SOS: %w", err)
	}
	r := replyFromReceived(g, rec, c, g.n.now())
	return &r, err
}

// sosFromReceived and replyFromReceived describe what this member just
// sent (sendContent's answer), so Mine is set.
func sosFromReceived(g *Group, rec *protocol.Received, c protocol.SOS, now time.Time) SOS {
	return SOS{
		ID: c.ID, Group: g.id, Author: rec.Author, Pseudonym: rec.Pseudonym, Text: c.Text,
		Sent: time.UnixMilli(rec.Timestamp), Received: now, Mine: true,
	}
}

func replyFromReceived(g *Group, rec *protocol.Received, c protocol.SOSReply, now time.Time) SOSReply {
	return SOSReply{
		SOS: c.SOS, Group: g.id, Author: rec.Author, Pseudonym: rec.Pseudonym, Text: c.Text,
		Sent: time.UnixMilli(rec.Timestamp), Received: now, Mine: true,
	}
}

// applySOSLocked records an SOS and emits EventSOS. An SOS older than
// sosKeep (history sync after a long absence) is not kept: its moment has
// passed. The caller holds g.mu.
func (g *Group) applySOSLocked(rec *protocol.Received, c protocol.SOS, now time.Time) ([]Event, error) {
	sent := time.UnixMilli(rec.Timestamp)
	if now.Sub(sent) > g.sosKeepLocked() {
		return nil, nil
	}
	s := SOS{
		ID: c.ID, Group: g.id, Author: rec.Author, Pseudonym: rec.Pseudonym, Text: c.Text,
		Sent: sent, Received: now, Mine: rec.Author == g.sess.Me().ID,
		// A recent SOS that history sync happened to bring before gossip
		// did is as urgent as any: only its age makes it late.
		Late: now.Sub(sent) > lateAfter,
	}
	// An honest node sends at most one SOS a minute per member and group
	// (Group.SOS), by signed send time. A modified node could send one a
	// second, each an urgent alert that rings through quiet hours for
	// every member who opted in; so an SOS signed within a minute of
	// another of the same author's is recorded as nothing.
	tooSoon := false
	err := g.n.store.Scan(storage.KindLocal, g.id, prefixSOS, func(key, value []byte) error {
		old, err := decodeSOS(g.id, key[len(prefixSOS):], value)
		if err == nil && old.Author == rec.Author && old.ID != c.ID {
			if d := sent.Sub(old.Sent); d < sosMinInterval && d > -sosMinInterval {
				tooSoon = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("node: reading SOSes: %w", err)
	}
	if tooSoon {
		g.n.log.Debug("ignoring an SOS sent within a minute of the same member's last")
		return nil, nil
	}
	key := withPrefix(prefixSOS, c.ID[:])
	// The ID is the sender's claim: a member who saw another's SOS could
	// send its own under the same ID and so replace its text and author
	// (and collect its answers). An SOS ID belongs to the first author
	// this node recorded under it; another author's SOS under it is
	// ignored (its envelope stays stored, as for any content).
	if b, err := g.n.store.Get(storage.KindLocal, g.id, key); err == nil {
		if old, err := decodeSOS(g.id, c.ID[:], b); err == nil && old.Author != rec.Author {
			g.n.log.Debug("ignoring an SOS that reuses another member's SOS ID")
			return nil, nil
		}
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("node: reading an SOS: %w", err)
	}
	if err := g.n.store.Put(storage.KindLocal, g.id, key, encodeSOS(&s)); err != nil {
		return nil, fmt.Errorf("node: storing an SOS: %w", err)
	}
	return []Event{{Kind: EventSOS, Group: g.id, SOS: &s}}, nil
}

// applySOSReplyLocked records an answer to an SOS and emits EventSOSReply.
// An answer whose SOS this node does not hold (yet: sync may bring it in
// any order) is kept all the same. The caller holds g.mu.
func (g *Group) applySOSReplyLocked(rec *protocol.Received, c protocol.SOSReply, now time.Time) ([]Event, error) {
	sent := time.UnixMilli(rec.Timestamp)
	if now.Sub(sent) > g.sosKeepLocked() {
		return nil, nil
	}
	r := SOSReply{
		SOS: c.SOS, Group: g.id, Author: rec.Author, Pseudonym: rec.Pseudonym, Text: c.Text,
		Sent: sent, Received: now, Mine: rec.Author == g.sess.Me().ID,
	}
	key := withPrefix(prefixSOSReply, append(c.SOS[:], rec.Author[:]...))
	if err := g.n.store.Put(storage.KindLocal, g.id, key, encodeSOSReply(&r)); err != nil {
		return nil, fmt.Errorf("node: storing an answer to an SOS: %w", err)
	}
	return []Event{{Kind: EventSOSReply, Group: g.id, SOSReply: &r}}, nil
}

// sosKeepLocked is how long this group's SOSes are kept: sosKeep, or the
// group's retention when shorter. The caller holds g.mu.
func (g *Group) sosKeepLocked() time.Duration {
	if r := time.Duration(g.sess.GroupState().Retention) * time.Second; r > 0 && r < sosKeep {
		return r
	}
	return sosKeep
}

// SOSes returns the SOSes of the last week (or of the group's retention,
// when shorter) with who answered each, newest first. Older records are
// deleted as it goes. It returns ErrClosed after Close.
func (g *Group) SOSes() ([]SOS, error) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil, ErrClosed
	}
	keep := g.sosKeepLocked()
	me := g.sess.Me().ID
	g.mu.Unlock()
	now := g.n.now()
	st := g.n.store
	var out []SOS
	var stale [][]byte
	err := st.Scan(storage.KindLocal, g.id, prefixSOS, func(key, value []byte) error {
		s, err := decodeSOS(g.id, key[len(prefixSOS):], value)
		if err != nil || now.Sub(s.Sent) > keep {
			stale = append(stale, append([]byte(nil), key...))
			return nil
		}
		s.Mine = s.Author == me
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("node: reading SOSes: %w", err)
	}
	replies := make(map[SOSID][]SOSReply)
	err = st.Scan(storage.KindLocal, g.id, prefixSOSReply, func(key, value []byte) error {
		r, err := decodeSOSReply(g.id, key[len(prefixSOSReply):], value)
		if err != nil || now.Sub(r.Sent) > keep {
			stale = append(stale, append([]byte(nil), key...))
			return nil
		}
		r.Mine = r.Author == me
		replies[r.SOS] = append(replies[r.SOS], r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("node: reading answers to SOSes: %w", err)
	}
	for _, k := range stale {
		if err := st.Delete(storage.KindLocal, g.id, k); err != nil && !errors.Is(err, storage.ErrNotFound) {
			g.n.log.Warn("deleting an old SOS", "err", err)
		}
	}
	for i := range out {
		rs := replies[out[i].ID]
		slices.SortFunc(rs, func(a, b SOSReply) int { return a.Received.Compare(b.Received) })
		out[i].Replies = rs
	}
	slices.SortFunc(out, func(a, b SOS) int { return b.Sent.Compare(a.Sent) })
	return out, nil
}

// SOSByID returns one SOS with its answers, or ErrNoSOS (wrapped).
func (g *Group) SOSByID(id SOSID) (SOS, error) {
	list, err := g.SOSes()
	if err != nil {
		return SOS{}, err
	}
	for _, s := range list {
		if s.ID == id {
			return s, nil
		}
	}
	return SOS{}, fmt.Errorf("node: SOS %s: %w", id, ErrNoSOS)
}

// encodeSOS is the value of an "sos/" record (the layout at the top of
// this file).
func encodeSOS(s *SOS) []byte {
	e := newEnc()
	e.fixed(s.Author[:])
	e.str(s.Pseudonym)
	e.str(s.Text)
	e.u64(uint64(s.Sent.UnixMilli()))
	e.u64(uint64(s.Received.UnixNano()))
	e.bool(s.Late)
	return e.bytes()
}

// encodeSOSReply is the value of an "sos-reply/" record.
func encodeSOSReply(r *SOSReply) []byte {
	e := newEnc()
	e.str(r.Pseudonym)
	e.str(r.Text)
	e.u64(uint64(r.Sent.UnixMilli()))
	e.u64(uint64(r.Received.UnixNano()))
	return e.bytes()
}

func decodeSOS(group crypto.GroupID, id, b []byte) (SOS, error) {
	if len(id) != len(SOSID{}) {
		return SOS{}, fmt.Errorf("%w: SOS key", errRecord)
	}
	s := SOS{Group: group}
	copy(s.ID[:], id)
	d := newDec(b)
	d.fixed(s.Author[:])
	s.Pseudonym = d.str(protocol.MaxPseudonymBytes)
	s.Text = d.str(protocol.MaxSOSText)
	s.Sent = time.UnixMilli(int64(d.u64()))
	s.Received = time.Unix(0, int64(d.u64()))
	s.Late = d.bool()
	return s, d.finish()
}

func decodeSOSReply(group crypto.GroupID, key, b []byte) (SOSReply, error) {
	r := SOSReply{Group: group}
	if len(key) != len(r.SOS)+len(r.Author) {
		return r, fmt.Errorf("%w: SOS reply key", errRecord)
	}
	copy(r.SOS[:], key)
	copy(r.Author[:], key[len(r.SOS):])
	d := newDec(b)
	r.Pseudonym = d.str(protocol.MaxPseudonymBytes)
	r.Text = d.str(protocol.MaxSOSText)
	r.Sent = time.UnixMilli(int64(d.u64()))
	r.Received = time.Unix(0, int64(d.u64()))
	return r, d.finish()
}

// SOSInput says where Node.SendSOS sends an SOS.
type SOSInput struct {
	// Groups are the groups to send it in.
	Groups []crypto.GroupID
	// Mentors adds the pair group of every active mentorship in which
	// this member is the mentee: the SOS reaches their mentor.
	Mentors bool
	// Text goes with it; it may be empty.
	Text string
}

// SOSSent is the outcome of SendSOS in one group.
type SOSSent struct {
	Group crypto.GroupID
	// SOS is set when it was sent (or recorded, to go out when the group's
	// mesh is back: then Err is set too).
	SOS *SOS
	Err error
}

// SendSOS sends an SOS to every target of in: the groups named, their
// mentor, or both (a group named twice gets one). It tries every target
// even when one fails, and returns one SOSSent per target, in order; err is
// ErrNoSOSTarget (wrapped) when there is no target at all (no group, and no
// active mentorship as a mentee), and otherwise nil when at least one SOS
// was recorded, or the joined errors when none was.
func (n *Node) SendSOS(ctx context.Context, in SOSInput) ([]SOSSent, error) {
	targets := append([]crypto.GroupID(nil), in.Groups...)
	if in.Mentors {
		ms, err := n.Mentorships()
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if m.State == MentorshipActive && m.Role == RoleMentee {
				targets = append(targets, m.Pair)
			}
		}
	}
	var out []SOSSent
	seen := make(map[crypto.GroupID]bool)
	for _, id := range targets {
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, SOSSent{Group: id})
	}
	if len(out) == 0 {
		if in.Mentors {
			return nil, fmt.Errorf("node: sending an SOS: %w (there is no active mentorship in which you are the mentee)", ErrNoSOSTarget)
		}
		return nil, fmt.Errorf("node: sending an SOS: %w", ErrNoSOSTarget)
	}
	ok := false
	var errs []error
	for i := range out {
		g, err := n.Group(out[i].Group)
		if err == nil {
			out[i].SOS, err = g.SOS(ctx, in.Text)
		}
		out[i].Err = err
		if out[i].SOS != nil {
			ok = true
		} else {
			errs = append(errs, err)
		}
	}
	if ok {
		return out, nil
	}
	return out, errors.Join(errs...)
}

// pruneSOSes deletes SOSes and answers older than they are kept (SOSes
// deletes them as it reads).
func (g *Group) pruneSOSes() {
	if _, err := g.SOSes(); err != nil && !errors.Is(err, ErrClosed) {
		g.n.log.Warn("pruning old SOSes", "err", err)
	}
	// The retention pass of this group's other care records: the
	// mentorship requests it brought (mentor.go).
	g.pruneMentorRequests()
}
