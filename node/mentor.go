package node

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// This file is mentorship: a member asks another for mentorship (or offers
// it, or a host suggests a pairing), and on acceptance the two share a
// private group of two, with the same machinery and guarantees as any
// group. Who mentors whom is known only to the two: it travels in a note
// sealed to the recipient (notes.go), and each keeps it in a local record.
//
// The flow: the asker's node creates the pair's group (the asker is its
// host), makes a single-use invite without approval, records the
// mentorship as asked, and sends the invite in a NoteMentorRequest to the
// chosen member in the parent group. The recipient's node records the
// request (EventMentorRequest). Accepting joins the pair's group with the
// invite, under the pseudonym the member has in the parent group;
// declining sends a NoteMentorDecline. Each side marks the mentorship
// active once the pair's group holds both (EventMentorship), and ended once
// either leaves it.
//
// A pair stays two. Each side's node refuses to create invites for, or
// admit anyone into, a group it records as a mentorship's pair
// (ErrMentorPair); the asker's node takes exactly one join, with the
// request's own invite, into its group of one. A side whose pair group
// ever holds anyone else (more than two members, or a roster that has
// given out more than two member indexes) ends the mentorship at once,
// marks it Outsiders, and leaves the group (reconcileMentorships).
//
// Records (KindLocal, under the zero group ID; storage seals them):
//
//	"mentorship/" + ID: parent [16] ‖ pair [16] ‖ peer [16]
//	    ‖ peer pseudonym bytes32 ‖ role u8 ‖ state u8 ‖ asker u8
//	    ‖ invite ID [8] ‖ text bytes32 ‖ created u64 ‖ updated u64 (unix ms)
//	    ‖ outsiders u8 (absent in records written before it existed: 0)
//	"mentor-req/" + ID: group [16] ‖ kind u8 ‖ from [16]
//	    ‖ from pseudonym bytes32 ‖ text bytes32 ‖ invite bytes32
//	    ‖ subject [16] ‖ subject pseudonym bytes32 ‖ received u64 (unix ms)
//
// A mentorship's ID is the ID of the request that started it, the same on
// both sides.

// Record prefixes (KindLocal, zero group).
var (
	prefixMentorship = []byte("mentorship/")
	prefixMentorReq  = []byte("mentor-req/")
)

// mentorInviteExpiry is how long a mentorship request can be accepted: a
// member may not be online for days.
const mentorInviteExpiry = 14 * 24 * time.Hour

// Errors of mentorship.
var (
	// ErrNoMentorship: no mentorship or request with this ID on this node.
	ErrNoMentorship = errors.New("no such mentorship or request")
	// ErrMentorshipExists: this member already asked, or is paired with,
	// that member in that group.
	ErrMentorshipExists = errors.New("you already have a mentorship or a request with this member")
	// ErrNotAPair: the group a mentorship request's invite led to holds
	// more members than the two of a pair; this member left it at once.
	ErrNotAPair = errors.New("the request's group is not a private pair: it has other members")
	// ErrMentorPair: the group is a mentorship's private pair, so nobody
	// else can be invited to it or admitted into it.
	ErrMentorPair = errors.New("this group is a private mentorship pair: nobody else can be invited or admitted")
)

// MentorshipID names a mentorship, and the request that started it.
type MentorshipID [16]byte

// String returns the ID as 32 lower-case hex digits.
func (id MentorshipID) String() string { return hex.EncodeToString(id[:]) }

// ParseMentorshipID parses the form String returns. It returns an error
// wrapping crypto.ErrBadID for anything else.
func ParseMentorshipID(s string) (MentorshipID, error) {
	m, err := ParseMessageID(s)
	if err != nil {
		return MentorshipID{}, fmt.Errorf("node: mentorship ID: %w", crypto.ErrBadID)
	}
	return MentorshipID(m), nil
}

// MentorRole is this member's side of a mentorship.
type MentorRole uint8

// Mentor roles.
const (
	RoleMentee MentorRole = 1
	RoleMentor MentorRole = 2
)

// String returns "mentee" or "mentor".
func (r MentorRole) String() string {
	switch r {
	case RoleMentee:
		return "mentee"
	case RoleMentor:
		return "mentor"
	}
	return "unknown"
}

// MentorshipState is where a mentorship stands.
type MentorshipState uint8

// Mentorship states. Asked moves to Active or Declined, Active to Ended;
// Declined and Ended are final.
const (
	// MentorshipAsked: this member asked (or offered) and waits for an
	// answer.
	MentorshipAsked MentorshipState = 1
	// MentorshipActive: both are in the pair's group.
	MentorshipActive MentorshipState = 2
	// MentorshipDeclined: the other member said no.
	MentorshipDeclined MentorshipState = 3
	// MentorshipEnded: one of the two left the pair's group (or the asker
	// withdrew the request).
	MentorshipEnded MentorshipState = 4
)

// String returns "asked", "active", "declined" or "ended".
func (s MentorshipState) String() string {
	switch s {
	case MentorshipAsked:
		return "asked"
	case MentorshipActive:
		return "active"
	case MentorshipDeclined:
		return "declined"
	case MentorshipEnded:
		return "ended"
	}
	return "unknown"
}

// Mentorship is one of this member's mentorships as this node records it.
type Mentorship struct {
	ID MentorshipID
	// Parent is the group the two met in; Pair is their group of two.
	Parent crypto.GroupID
	Pair   crypto.GroupID
	// Peer is the other member's ID in Parent, PeerPseudonym their name
	// there.
	Peer          crypto.MemberID
	PeerPseudonym string
	// Role is this member's side.
	Role  MentorRole
	State MentorshipState
	// Asker is set on the side that sent the request.
	Asker bool
	// Text is what the request said.
	Text             string
	Created, Updated time.Time
	// Outsiders is set when this side ended the mentorship because the
	// pair's group held, or had held, someone besides the two. This
	// member left the group at once (unless they were its only host); a
	// message either of the two sent after the newcomer was added may have
	// been read by them.
	Outsiders bool

	invite crypto.InviteID
}

// MentorRequestKind says what a MentorRequest asks.
type MentorRequestKind uint8

// Mentor request kinds.
const (
	// MentorAsk: the sender asks this member to be their mentor.
	MentorAsk MentorRequestKind = 1
	// MentorOffer: the sender offers to be this member's mentor.
	MentorOffer MentorRequestKind = 2
	// MentorPairing: a host or moderator suggests this member pair with
	// Subject; accepting asks Subject to be this member's mentor.
	MentorPairing MentorRequestKind = 3
)

// String returns "ask", "offer" or "pairing".
func (k MentorRequestKind) String() string {
	switch k {
	case MentorAsk:
		return "ask"
	case MentorOffer:
		return "offer"
	case MentorPairing:
		return "pairing"
	}
	return "unknown"
}

// MentorRequest is a request waiting for this member's answer.
type MentorRequest struct {
	ID    MentorshipID
	Group crypto.GroupID
	Kind  MentorRequestKind
	// From is the member who sent it, FromPseudonym their name in Group.
	From          crypto.MemberID
	FromPseudonym string
	Text          string
	// Subject is the member a pairing suggestion names (MentorPairing).
	Subject          crypto.MemberID
	SubjectPseudonym string
	Received         time.Time

	invite string
}

// mentorState is the node's mentorship bookkeeping. mu serialises changes
// to the records; it may be taken with a group's lock held, so nothing
// takes a group's lock while holding it.
type mentorState struct {
	mu sync.Mutex
}

// newMentorID draws a random ID.
func (n *Node) newMentorID() (MentorshipID, error) {
	var id MentorshipID
	r := n.rand
	if r == nil {
		r = crand.Reader
	}
	if _, err := io.ReadFull(r, id[:]); err != nil {
		return id, fmt.Errorf("node: mentorship ID: %w", err)
	}
	return id, nil
}

// pairName is the name of a pair's group, seen by the two only.
func pairName(a, b string) string {
	short := func(s string) string {
		if utf8.RuneCountInString(s) <= 40 {
			return s
		}
		return string([]rune(s)[:40]) + "…"
	}
	return "Mentorship: " + short(a) + " & " + short(b)
}

// AskMentor asks member to be this member's mentor (or, with offer, offers
// to be theirs), with text (at most protocol.MaxNoteText bytes). It
// creates the pair's group, with this member as its host, and sends its
// invite to member in a note only they can open. The mentorship is
// recorded as asked, and EventMentorship emitted.
//
// It returns ErrNoMember (wrapped) when member is not in the group (or is
// this member), ErrMentorshipExists when a request or mentorship with them
// in this group is already open, ErrRemoved, ErrClosed, and the errors of
// creating a group and sending.
func (g *Group) AskMentor(ctx context.Context, member crypto.MemberID, text string, offer bool) (*Mentorship, error) {
	if len(text) > protocol.MaxNoteText || !utf8.ValidString(text) {
		return nil, fmt.Errorf("node: asking for mentorship: %w: the text is too long or not UTF-8", protocol.ErrBadContent)
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil, ErrClosed
	}
	if g.sess.Removed() {
		g.mu.Unlock()
		return nil, fmt.Errorf("node: asking for mentorship: %w", ErrRemoved)
	}
	st := g.sess.GroupState()
	me := g.sess.Me()
	g.mu.Unlock()
	peer, ok := st.MemberByID(member)
	if !ok || member == me.ID {
		return nil, fmt.Errorf("node: member %s: %w", member, ErrNoMember)
	}
	n := g.n
	ms, err := n.Mentorships()
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.Parent == g.id && m.Peer == member && (m.State == MentorshipAsked || m.State == MentorshipActive) {
			return nil, fmt.Errorf("node: asking for mentorship: %w", ErrMentorshipExists)
		}
	}
	id, err := n.newMentorID()
	if err != nil {
		return nil, err
	}
	pair, err := n.CreateGroup(ctx, GroupOptions{
		Name: pairName(me.Pseudonym, peer.Pseudonym), Pseudonym: me.Pseudonym,
		Retention: time.Duration(st.Retention) * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("node: creating the pair's group: %w", err)
	}
	role := RoleMentee
	if offer {
		role = RoleMentor
	}
	now := n.now()
	m := &Mentorship{
		ID: id, Parent: g.id, Pair: pair.ID(), Peer: member, PeerPseudonym: peer.Pseudonym,
		Role: role, State: MentorshipAsked, Asker: true, Text: text, Created: now, Updated: now,
	}
	// Recorded before the invite exists, so that from the start the node
	// knows the group for a pair and refuses any other invite or join
	// into it; and before sending, so an answer that comes back at once
	// finds it.
	if err := n.putMentorship(m); err != nil {
		return nil, err
	}
	forget := func() { _ = n.store.Delete(storage.KindLocal, zeroGroup, withPrefix(prefixMentorship, id[:])) }
	invite, info, err := pair.createInvite(ctx, InviteOptions{Uses: 1, Expires: mentorInviteExpiry})
	if err != nil {
		forget()
		return nil, fmt.Errorf("node: inviting to the pair's group: %w", err)
	}
	m.invite = info.ID
	if err := n.putMentorship(m); err != nil {
		_ = pair.RevokeInvite(info.ID)
		forget()
		return nil, err
	}
	body := &protocol.NoteBody{Kind: protocol.NoteMentorRequest, ID: id, Offer: offer, Text: text, Invite: invite}
	if recorded, err := g.sendNote(ctx, member, body); !recorded {
		_ = pair.RevokeInvite(info.ID)
		forget()
		return nil, err
	}
	n.events.emit(Event{Kind: EventMentorship, Group: pair.ID(), Mentorship: m})
	return m, nil
}

// SuggestPairing suggests to member a that they pair with member b: a note
// only a can open, naming b. a decides whether to ask (AcceptMentor on the
// suggestion asks b to be their mentor). It returns ErrNotAdmin (wrapped)
// unless this member is a host or moderator, ErrNoMember when a or b is
// not in the group or they are the same member, and the errors of sending.
func (g *Group) SuggestPairing(ctx context.Context, a, b crypto.MemberID, text string) error {
	g.mu.Lock()
	if err := g.requireAdminLocked(); err != nil {
		g.mu.Unlock()
		return err
	}
	st := g.sess.GroupState()
	g.mu.Unlock()
	if _, ok := st.MemberByID(b); !ok || a == b {
		return fmt.Errorf("node: member %s: %w", b, ErrNoMember)
	}
	id, err := g.n.newMentorID()
	if err != nil {
		return err
	}
	if recorded, err := g.sendNote(ctx, a, &protocol.NoteBody{Kind: protocol.NotePairing, ID: id, Text: text, Subject: b}); !recorded {
		return err
	}
	return nil
}

// maxMentorRequests bounds the requests waiting for an answer; beyond it
// the oldest is forgotten. One member's node cannot fill a member's disk
// with requests: a newer request from the same member in the same group
// (of the same kind, naming the same subject) replaces the older one, and
// the group's rate limit bounds how fast any arrive.
const maxMentorRequests = 100

// recordMentorRequest stores a request that arrived and returns its event.
// It runs with the parent group's lock held.
func (n *Node) recordMentorRequest(r *MentorRequest) ([]Event, error) {
	n.mentor.mu.Lock()
	defer n.mentor.mu.Unlock()
	var waiting []*MentorRequest
	err := n.store.Scan(storage.KindLocal, zeroGroup, prefixMentorReq, func(key, value []byte) error {
		if q, err := decodeMentorRequest(key[len(prefixMentorReq):], value); err == nil {
			waiting = append(waiting, q)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("node: reading mentorship requests: %w", err)
	}
	slices.SortFunc(waiting, func(a, b *MentorRequest) int { return a.Received.Compare(b.Received) })
	left := len(waiting)
	for _, q := range waiting { // oldest first
		same := q.Group == r.Group && q.From == r.From && q.Kind == r.Kind && q.Subject == r.Subject
		if same || left >= maxMentorRequests {
			if err := n.deleteMentorRequest(q.ID); err != nil {
				return nil, err
			}
			left--
		}
	}
	if err := n.store.Put(storage.KindLocal, zeroGroup, withPrefix(prefixMentorReq, r.ID[:]), encodeMentorRequest(r)); err != nil {
		return nil, fmt.Errorf("node: storing a mentorship request: %w", err)
	}
	out := *r
	out.invite = ""
	return []Event{{Kind: EventMentorRequest, Group: r.Group, MentorRequest: &out}}, nil
}

// encodeMentorRequest is the value of a "mentor-req/" record (the layout
// at the top of this file).
func encodeMentorRequest(r *MentorRequest) []byte {
	e := newEnc()
	e.fixed(r.Group[:])
	e.u8(uint8(r.Kind))
	e.fixed(r.From[:])
	e.str(r.FromPseudonym)
	e.str(r.Text)
	e.str(r.invite)
	e.fixed(r.Subject[:])
	e.str(r.SubjectPseudonym)
	e.u64(uint64(r.Received.UnixMilli()))
	return e.bytes()
}

func decodeMentorRequest(id, b []byte) (*MentorRequest, error) {
	if len(id) != len(MentorshipID{}) {
		return nil, fmt.Errorf("%w: mentorship request key", errRecord)
	}
	r := &MentorRequest{}
	copy(r.ID[:], id)
	d := newDec(b)
	d.fixed(r.Group[:])
	r.Kind = MentorRequestKind(d.u8())
	d.fixed(r.From[:])
	r.FromPseudonym = d.str(protocol.MaxPseudonymBytes)
	r.Text = d.str(protocol.MaxNoteText)
	r.invite = d.str(protocol.MaxNoteInvite)
	d.fixed(r.Subject[:])
	r.SubjectPseudonym = d.str(protocol.MaxPseudonymBytes)
	r.Received = time.UnixMilli(int64(d.u64()))
	if err := d.finish(); err != nil {
		return nil, err
	}
	return r, nil
}

// MentorRequests returns the requests and pairing suggestions waiting for
// this member's answer, oldest first.
func (n *Node) MentorRequests() ([]MentorRequest, error) {
	if n.isClosed() {
		return nil, ErrClosed
	}
	var out []MentorRequest
	err := n.store.Scan(storage.KindLocal, zeroGroup, prefixMentorReq, func(key, value []byte) error {
		r, err := decodeMentorRequest(key[len(prefixMentorReq):], value)
		if err != nil {
			n.log.Warn("skipping an unreadable mentorship request", "err", err)
			return nil
		}
		r.invite = ""
		out = append(out, *r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("node: reading mentorship requests: %w", err)
	}
	slices.SortFunc(out, func(a, b MentorRequest) int { return a.Received.Compare(b.Received) })
	return out, nil
}

// pruneMentorRequests forgets the requests and suggestions from this group
// that waited longer than the group's retention, and the request text kept
// in mentorships started there as long ago. A request's text is content a
// member sent in the group, and its note's envelope is deleted with the
// group's other envelopes; the decoded text must not outlive it. With no
// retention (forever) nothing is deleted.
func (g *Group) pruneMentorRequests() {
	ret := g.Info().Retention
	if ret <= 0 {
		return
	}
	cutoff := g.n.now().Add(-ret)
	n := g.n
	n.mentor.mu.Lock()
	defer n.mentor.mu.Unlock()
	var stale []MentorshipID
	err := n.store.Scan(storage.KindLocal, zeroGroup, prefixMentorReq, func(key, value []byte) error {
		r, err := decodeMentorRequest(key[len(prefixMentorReq):], value)
		if err == nil && r.Group == g.id && r.Received.Before(cutoff) {
			stale = append(stale, r.ID)
		}
		return nil
	})
	if err != nil && !errors.Is(err, storage.ErrClosed) {
		n.log.Warn("pruning mentorship requests", "err", err)
	}
	for _, id := range stale {
		if err := n.deleteMentorRequest(id); err != nil {
			n.log.Warn("pruning a mentorship request", "err", err)
		}
	}
	// A mentorship keeps the words of the request that started it; they
	// go with the group's retention too (the mentorship itself stays).
	ms, err := n.mentorshipsLocked()
	if err != nil {
		n.log.Warn("pruning mentorships' request texts", "err", err)
		return
	}
	for i := range ms {
		m := &ms[i]
		if m.Parent == g.id && m.Text != "" && m.Created.Before(cutoff) {
			m.Text = ""
			if err := n.putMentorshipLocked(m); err != nil {
				n.log.Warn("pruning a mentorship's request text", "err", err)
			}
		}
	}
}

// mentorRequest reads one request, invite included.
func (n *Node) mentorRequest(id MentorshipID) (*MentorRequest, error) {
	b, err := n.store.Get(storage.KindLocal, zeroGroup, withPrefix(prefixMentorReq, id[:]))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("node: mentorship request %s: %w", id, ErrNoMentorship)
	}
	if err != nil {
		return nil, fmt.Errorf("node: reading a mentorship request: %w", err)
	}
	return decodeMentorRequest(id[:], b)
}

func (n *Node) deleteMentorRequest(id MentorshipID) error {
	err := n.store.Delete(storage.KindLocal, zeroGroup, withPrefix(prefixMentorReq, id[:]))
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("node: deleting a mentorship request: %w", err)
	}
	return nil
}

// AcceptMentor accepts a request: it joins the pair's group with its
// invite, under this member's pseudonym in the group the request came
// from, records the mentorship as active and emits EventMentorship. For a
// pairing suggestion it asks the member the suggestion names to be this
// member's mentor (Group.AskMentor) instead. It returns ErrNoMentorship
// (wrapped) for an unknown request, and the errors of Node.Join (the
// invite may have expired, or the asker withdrawn it) and AskMentor.
func (n *Node) AcceptMentor(ctx context.Context, id MentorshipID) (*Mentorship, error) {
	r, err := n.mentorRequest(id)
	if err != nil {
		return nil, err
	}
	g, err := n.Group(r.Group)
	if err != nil {
		return nil, err
	}
	if r.Kind == MentorPairing {
		m, err := g.AskMentor(ctx, r.Subject, r.Text, false)
		if err != nil {
			return nil, err
		}
		return m, n.deleteMentorRequest(id)
	}
	info := g.Info()
	if info.Removed {
		return nil, fmt.Errorf("node: accepting mentorship: %w", ErrRemoved)
	}
	res, err := n.Join(ctx, r.invite, info.Me.Pseudonym)
	if err != nil {
		return nil, fmt.Errorf("node: joining the pair's group: %w", err)
	}
	if res.Status == JoinJoined && res.Group != nil {
		// The invite is the asker's claim: a hostile member could send one
		// to a group that already holds others (accomplices, or a group
		// the asker hosts), and this member would believe themselves alone
		// with their mentor. A pair's group holds exactly the two.
		if members, others := res.Group.pairRoster(); members != 2 || others {
			if err := res.Group.Leave(ctx); err != nil {
				n.log.Warn("leaving a mentorship group that is not a pair", "err", err)
			}
			if err := n.deleteMentorRequest(id); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("node: joining the pair's group: %w", ErrNotAPair)
		}
	}
	role := RoleMentor
	if r.Kind == MentorOffer {
		role = RoleMentee
	}
	now := n.now()
	state := MentorshipActive
	if res.Status != JoinJoined {
		// The asker's invite never waits for approval; if it somehow
		// does, the mentorship turns active when the join completes.
		state = MentorshipAsked
	}
	m := &Mentorship{
		ID: id, Parent: r.Group, Pair: res.GroupID, Peer: r.From, PeerPseudonym: r.FromPseudonym,
		Role: role, State: state, Text: r.Text, Created: now, Updated: now,
	}
	if err := n.putMentorship(m); err != nil {
		return nil, err
	}
	if err := n.deleteMentorRequest(id); err != nil {
		return nil, err
	}
	n.events.emit(Event{Kind: EventMentorship, Group: m.Pair, Mentorship: m})
	return m, nil
}

// DeclineMentor declines a request: the sender gets a note saying no
// (only they can open it) and the request is forgotten. A pairing
// suggestion is only forgotten: nobody is told. It returns ErrNoMentorship
// (wrapped) for an unknown request, and the errors of sending; when the
// sender is no longer in the group the request is forgotten all the same.
func (n *Node) DeclineMentor(ctx context.Context, id MentorshipID) error {
	r, err := n.mentorRequest(id)
	if err != nil {
		return err
	}
	if r.Kind != MentorPairing {
		g, err := n.Group(r.Group)
		if err != nil {
			return err
		}
		nid, err := n.newMentorID()
		if err != nil {
			return err
		}
		recorded, err := g.sendNote(ctx, r.From, &protocol.NoteBody{Kind: protocol.NoteMentorDecline, ID: nid, Ref: id})
		if !recorded && !errors.Is(err, ErrNoMember) && !errors.Is(err, ErrRemoved) {
			return err
		}
	}
	return n.deleteMentorRequest(id)
}

// mentorDeclined records a NoteMentorDecline from peer in group: the
// mentorship it answers (which this member asked, of that member, in that
// group) is declined, and its invite revoked. It runs with the group's
// lock held.
func (n *Node) mentorDeclined(group crypto.GroupID, peer crypto.MemberID, id MentorshipID, now time.Time) ([]Event, error) {
	n.mentor.mu.Lock()
	defer n.mentor.mu.Unlock()
	m, err := n.mentorship(id)
	if err != nil || m.Parent != group || m.Peer != peer || !m.Asker || m.State != MentorshipAsked {
		return nil, nil
	}
	m.State, m.Updated = MentorshipDeclined, now
	if err := n.putMentorshipLocked(m); err != nil {
		return nil, err
	}
	// The pair's group has its own lock: revoke from elsewhere.
	pair, inv := m.Pair, m.invite
	n.goTracked(func() {
		if g, err := n.Group(pair); err == nil {
			if err := g.RevokeInvite(inv); err != nil {
				n.log.Debug("revoking a declined mentorship's invite", "err", err)
			}
		}
	})
	return []Event{{Kind: EventMentorship, Group: m.Pair, Mentorship: m}}, nil
}

// EndMentorship ends a mentorship: this member leaves the pair's group
// (the other side sees them leave and marks it ended too). A request still
// unanswered is withdrawn: its invite is revoked. When this member is the
// pair group's only host, the other is made host first, so that they can
// apply the leave. Ending a mentorship already over does nothing. It
// returns ErrNoMentorship (wrapped) for an unknown ID, and the errors of
// Group.Leave.
func (n *Node) EndMentorship(ctx context.Context, id MentorshipID) error {
	n.mentor.mu.Lock()
	m, err := n.mentorship(id)
	n.mentor.mu.Unlock()
	if err != nil {
		return err
	}
	if m.State == MentorshipDeclined || m.State == MentorshipEnded {
		return nil
	}
	g, err := n.Group(m.Pair)
	switch {
	case errors.Is(err, ErrNoGroup):
	case err != nil:
		return err
	case m.State == MentorshipAsked && m.Asker:
		if err := g.RevokeInvite(m.invite); err != nil && !errors.Is(err, ErrNoInvite) {
			return err
		}
	case !g.Info().Removed:
		if err := g.handOverHost(ctx); err != nil {
			return err
		}
		if err := g.Leave(ctx); err != nil && !errors.Is(err, ErrRemoved) {
			return err
		}
	}
	return n.setMentorshipState(id, MentorshipEnded)
}

// handOverHost makes another member host when this member is the only
// one, so this member can leave.
func (g *Group) handOverHost(ctx context.Context) error {
	members := g.Members()
	me := g.Info().Me
	if me.Role != protocol.RoleHost {
		return nil
	}
	var other *MemberInfo
	for i, m := range members {
		if m.ID == me.ID {
			continue
		}
		if m.Role == protocol.RoleHost {
			return nil
		}
		other = &members[i]
	}
	if other == nil {
		return nil
	}
	if err := g.Promote(ctx, other.ID, protocol.RoleHost); err != nil {
		return err
	}
	// The leave request goes out on the new epoch's topic: wait (bounded)
	// until this node's announcement there is out, which it sends once the
	// other member is in the topic's mesh, so the request reaches them.
	deadline := time.NewTimer(handOverWait)
	defer deadline.Stop()
	for {
		g.mu.Lock()
		_, pending := g.outboxes[g.sess.Topic()]
		g.mu.Unlock()
		if !pending {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return nil
		case <-time.After(tickInterval):
		}
	}
}

// handOverWait bounds how long EndMentorship waits for the pair group's
// new epoch to be ready before leaving; after it, the leave request goes
// out anyway (and history sync carries it later).
const handOverWait = 15 * time.Second

// setMentorshipState moves a mentorship to state and emits EventMentorship
// if that changed it.
func (n *Node) setMentorshipState(id MentorshipID, state MentorshipState) error {
	n.mentor.mu.Lock()
	m, err := n.mentorship(id)
	if err != nil {
		n.mentor.mu.Unlock()
		return err
	}
	if m.State == state {
		n.mentor.mu.Unlock()
		return nil
	}
	m.State, m.Updated = state, n.now()
	err = n.putMentorshipLocked(m)
	n.mentor.mu.Unlock()
	if err != nil {
		return err
	}
	n.events.emit(Event{Kind: EventMentorship, Group: m.Pair, Mentorship: m})
	return nil
}

// Mentorships returns this member's mentorships, newest first, each in the
// state the pair's group shows now.
func (n *Node) Mentorships() ([]Mentorship, error) {
	if n.isClosed() {
		return nil, ErrClosed
	}
	n.reconcileMentorships()
	n.mentor.mu.Lock()
	defer n.mentor.mu.Unlock()
	return n.mentorshipsLocked()
}

// Mentorship returns one mentorship, or ErrNoMentorship (wrapped).
func (n *Node) Mentorship(id MentorshipID) (*Mentorship, error) {
	n.reconcileMentorships()
	n.mentor.mu.Lock()
	defer n.mentor.mu.Unlock()
	return n.mentorship(id)
}

// mentorshipsLocked reads every mentorship record. The caller holds
// n.mentor.mu.
func (n *Node) mentorshipsLocked() ([]Mentorship, error) {
	var out []Mentorship
	err := n.store.Scan(storage.KindLocal, zeroGroup, prefixMentorship, func(key, value []byte) error {
		m, err := decodeMentorship(key[len(prefixMentorship):], value)
		if err != nil {
			n.log.Warn("skipping an unreadable mentorship", "err", err)
			return nil
		}
		out = append(out, *m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("node: reading mentorships: %w", err)
	}
	slices.SortFunc(out, func(a, b Mentorship) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// mentorship reads one record. The caller holds n.mentor.mu.
func (n *Node) mentorship(id MentorshipID) (*Mentorship, error) {
	b, err := n.store.Get(storage.KindLocal, zeroGroup, withPrefix(prefixMentorship, id[:]))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("node: mentorship %s: %w", id, ErrNoMentorship)
	}
	if err != nil {
		return nil, fmt.Errorf("node: reading a mentorship: %w", err)
	}
	return decodeMentorship(id[:], b)
}

func (n *Node) putMentorship(m *Mentorship) error {
	n.mentor.mu.Lock()
	defer n.mentor.mu.Unlock()
	return n.putMentorshipLocked(m)
}

// putMentorshipLocked stores a record. The caller holds n.mentor.mu.
func (n *Node) putMentorshipLocked(m *Mentorship) error {
	if err := n.store.Put(storage.KindLocal, zeroGroup, withPrefix(prefixMentorship, m.ID[:]), encodeMentorship(m)); err != nil {
		return fmt.Errorf("node: storing a mentorship: %w", err)
	}
	return nil
}

// encodeMentorship is the value of a "mentorship/" record (the layout at
// the top of this file).
func encodeMentorship(m *Mentorship) []byte {
	e := newEnc()
	e.fixed(m.Parent[:])
	e.fixed(m.Pair[:])
	e.fixed(m.Peer[:])
	e.str(m.PeerPseudonym)
	e.u8(uint8(m.Role))
	e.u8(uint8(m.State))
	e.bool(m.Asker)
	e.fixed(m.invite[:])
	e.str(m.Text)
	e.u64(uint64(m.Created.UnixMilli()))
	e.u64(uint64(m.Updated.UnixMilli()))
	e.bool(m.Outsiders)
	return e.bytes()
}

func decodeMentorship(id, b []byte) (*Mentorship, error) {
	if len(id) != len(MentorshipID{}) {
		return nil, fmt.Errorf("%w: mentorship key", errRecord)
	}
	m := &Mentorship{}
	copy(m.ID[:], id)
	d := newDec(b)
	d.fixed(m.Parent[:])
	d.fixed(m.Pair[:])
	d.fixed(m.Peer[:])
	m.PeerPseudonym = d.str(protocol.MaxPseudonymBytes)
	m.Role = MentorRole(d.u8())
	m.State = MentorshipState(d.u8())
	m.Asker = d.bool()
	d.fixed(m.invite[:])
	m.Text = d.str(protocol.MaxNoteText)
	m.Created = time.UnixMilli(int64(d.u64()))
	m.Updated = time.UnixMilli(int64(d.u64()))
	if d.err == nil && len(d.b) > 0 {
		m.Outsiders = d.bool()
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return m, nil
}

// pairOf returns the mentorship, in any state, whose pair's group is
// group; ok is false when group is no pair this node knows of. A pair
// stays a pair after its mentorship ends. It takes n.mentor.mu, so the
// caller may hold a group's lock but not n.mentor.mu.
func (n *Node) pairOf(group crypto.GroupID) (m *Mentorship, ok bool, err error) {
	n.mentor.mu.Lock()
	defer n.mentor.mu.Unlock()
	all, err := n.mentorshipsLocked()
	if err != nil {
		return nil, false, err
	}
	for i := range all {
		if all[i].Pair == group {
			return &all[i], true, nil
		}
	}
	return nil, false, nil
}

// refuseIfPair returns ErrMentorPair (wrapped) when the group is a
// mentorship's pair: nobody else is invited to or admitted into it. An
// error reading the records refuses too.
func (g *Group) refuseIfPair() error {
	_, ok, err := g.n.pairOf(g.id)
	if err != nil {
		return err
	}
	if ok {
		return fmt.Errorf("node: %w", ErrMentorPair)
	}
	return nil
}

// pairAdmits reports whether a join with invite may enter the group, which
// holds members now: any join, unless the group is a mentorship's pair;
// into a pair, only the one join its asker's node made the request's
// invite for, while the asker waits alone. It is checkJoin's rule, run
// with g.mu held (pairOf allows that).
func (n *Node) pairAdmits(group crypto.GroupID, invite crypto.InviteID, members int) bool {
	m, ok, err := n.pairOf(group)
	if err != nil {
		return false
	}
	if !ok {
		return true
	}
	return m.Asker && m.State == MentorshipAsked && m.invite == invite && members == 1
}

// pairRoster returns how many members the group holds now, and whether it
// holds or ever held anyone besides the first two: more than two members,
// or more than two member indexes given out (indexes are never reused, so
// a third added and removed again still counts). For a group this member
// joined, what happened before the join is the group's claim (its
// welcome); every add since, this node applied itself.
func (g *Group) pairRoster() (members int, others bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return 0, false
	}
	st := g.sess.GroupState()
	return len(st.Roster), len(st.Roster) > 2 || st.NextIndex > 2
}

// reconcileMentorships brings each open mentorship in line with its pair's
// group: asked turns active once the group holds the other member, active
// turns ended once either of the two left (this member's group removed, or
// the other gone from its roster). A pair's group that holds, or ever held,
// anyone besides the two ends the mentorship with Outsiders set, and this
// member leaves the group (endExposedPair). It emits EventMentorship for
// each change. It reads the groups before taking n.mentor.mu (see
// mentorState).
func (n *Node) reconcileMentorships() {
	n.mentor.mu.Lock()
	all, err := n.mentorshipsLocked()
	n.mentor.mu.Unlock()
	if err != nil {
		return
	}
	type next struct {
		id        MentorshipID
		state     MentorshipState
		outsiders bool
		group     *Group
	}
	var changes []next
	for _, m := range all {
		if m.State != MentorshipAsked && m.State != MentorshipActive {
			continue
		}
		g, err := n.Group(m.Pair)
		if err != nil {
			continue
		}
		info := g.Info()
		members, others := g.pairRoster()
		switch {
		case others: // first: a member who already left still learns why
			changes = append(changes, next{id: m.ID, state: MentorshipEnded, outsiders: true, group: g})
		case info.Removed:
			changes = append(changes, next{id: m.ID, state: MentorshipEnded})
		case m.State == MentorshipAsked && members >= 2:
			changes = append(changes, next{id: m.ID, state: MentorshipActive})
		case m.State == MentorshipActive && members < 2:
			changes = append(changes, next{id: m.ID, state: MentorshipEnded})
		}
	}
	for _, c := range changes {
		if c.outsiders {
			// Out first, so nothing more this member writes or receives
			// passes through the group; then the record and the event.
			n.leaveExposedPair(c.group)
		}
		n.mentor.mu.Lock()
		m, err := n.mentorship(c.id)
		if err != nil || (m.State != MentorshipAsked && m.State != MentorshipActive) || m.State == c.state {
			n.mentor.mu.Unlock()
			continue
		}
		m.State, m.Updated, m.Outsiders = c.state, n.now(), c.outsiders
		err = n.putMentorshipLocked(m)
		n.mentor.mu.Unlock()
		if err != nil {
			n.log.Warn("updating a mentorship", "err", err)
			continue
		}
		n.events.emit(Event{Kind: EventMentorship, Group: m.Pair, Mentorship: m})
	}
}

// leaveExposedPair leaves a pair's group that came to hold someone besides
// the two. A member who is the group's only host cannot leave (someone
// must apply the leave, and handing the group to a member this node
// cannot tell from the newcomer would hand it to them): they stay, and the
// mentorship ends all the same, so the node no longer treats the group as
// private (no SOS to a mentor goes there) and the event says why.
func (n *Node) leaveExposedPair(g *Group) {
	n.log.Warn("a mentorship's pair group holds someone besides the two; ending the mentorship and leaving the group")
	ctx, cancel := context.WithTimeout(n.ctx, n.joinTimeout)
	defer cancel()
	if err := g.Leave(ctx); err != nil && !errors.Is(err, ErrRemoved) {
		n.log.Warn("leaving a pair group that holds someone else", "err", err)
	}
}

// watchMentorships runs until the node closes, reconciling mentorships
// whenever a roster changes: that is how a side learns that the other
// joined or left the pair's group.
func (n *Node) watchMentorships() {
	sub := n.Subscribe()
	if !n.goTracked(func() {
		defer sub.Close()
		for {
			select {
			case <-n.ctx.Done():
				return
			case ev, ok := <-sub.Events():
				if !ok {
					return
				}
				switch ev.Kind {
				case EventMemberJoined, EventMemberLeft, EventMemberRemoved, EventRemoved, EventJoined:
					n.reconcileMentorships()
				}
			}
		}
	}) {
		sub.Close()
	}
}
