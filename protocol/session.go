package protocol

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/hearthnet/hearth/crypto"
)

// EpochGrace is how long, in milliseconds, a session keeps the keys of the
// epoch it just left, to open envelopes that were sealed in that epoch by
// members who had not yet seen the commit, and to settle a fork (two commits
// with the same parent). After it, envelopes of the old epoch are reported
// as ErrPastEpoch and its keys are wiped.
//
// Security: every extra minute is a minute in which a seized device still
// holds keys of an epoch the group has left; ten minutes covers gossip delay
// and a reconnecting laptop without keeping old keys for long.
const EpochGrace int64 = 10 * 60 * 1000

// MaxClockSkew is how far, in milliseconds, the timestamp an author signed
// into application content may be ahead of the time the envelope is
// received. Open refuses content further ahead (ErrBadTimestamp), and marks
// content older than it as late (Received.Late).
//
// Security: a member's timestamp is what other members are shown as the
// send time. Unbounded, a member could post "from the future" to keep a
// message at the top of a timeline, or to pass it off as sent after an
// event. Ten minutes covers clocks that are merely wrong; an older
// timestamp cannot be refused, because history sync legitimately delivers
// old envelopes, so it is flagged instead.
const MaxClockSkew int64 = 10 * 60 * 1000

// Errors Session.Open returns (wrapped, with the cause). Each one tells the
// node what to do with the envelope.
var (
	// ErrInvalidEnvelope: malformed, not sealed for this group and epoch,
	// from no member, or not signed by the member it claims: the peer that
	// forwarded it should be penalised (gossipsub ValidationReject).
	ErrInvalidEnvelope = errors.New("hearth/protocol: envelope is malformed or not authentic")
	// ErrDuplicate: already received (a replay, or this member's own
	// envelope coming back): ignore it.
	ErrDuplicate = errors.New("hearth/protocol: envelope already received")
	// ErrUnknownEpoch: sealed in an epoch this session holds no keys for.
	// It is wrapped by ErrFutureEpoch and ErrPastEpoch, which say which.
	ErrUnknownEpoch = errors.New("hearth/protocol: envelope from an epoch this session has no keys for")
	// ErrFutureEpoch: sealed in a later epoch than the session's; the
	// commit that leads there has not been applied yet. Hold the envelope
	// until it is, or until the member is removed.
	ErrFutureEpoch = fmt.Errorf("%w: it is ahead of this session", ErrUnknownEpoch)
	// ErrPastEpoch: sealed in an epoch the session has left and whose
	// grace period is over (or before this member joined): drop it.
	ErrPastEpoch = fmt.Errorf("%w: its epoch has ended", ErrUnknownEpoch)
	// ErrNoChainKey: the sender's chain-key announcement for this epoch has
	// not arrived yet. Hold the envelope briefly and open it again once an
	// announcement has been received.
	ErrNoChainKey = errors.New("hearth/protocol: the sender's chain key has not arrived yet")
	// ErrUnreadable: a content type this version does not know (the envelope was authentic and is now consumed), or a
	// generation too far ahead of the sender's chain (sync fetches the
	// missing ones first). Drop it without penalty.
	ErrUnreadable = errors.New("hearth/protocol: envelope cannot be read by this session")
	// ErrBadTimestamp: authentic application content whose signed
	// timestamp is more than MaxClockSkew ahead of the receive time. It
	// wraps ErrUnreadable (drop it without penalty: the forwarder cannot
	// tell); the session is unchanged, so the same envelope opens if it
	// arrives again once the clocks agree.
	ErrBadTimestamp = fmt.Errorf("%w: its timestamp is too far in the future", ErrUnreadable)
	// ErrRemoved: this member has been removed from the group (or left), so
	// the session cannot send or commit.
	ErrRemoved = errors.New("hearth/protocol: this member is no longer in the group")
	// ErrBadWelcome: a welcome's state, commit and credential do not fit
	// together.
	ErrBadWelcome = errors.New("hearth/protocol: welcome does not admit this member")
)

// epoch is what a session holds for one epoch: the roster, the secret and
// the keys derived from it, this member's send chain and the receive chains
// of the members whose announcements have arrived.
type epoch struct {
	state   *GroupState
	commit  *Commit // the commit that made this epoch; nil for a group's epoch 0
	secret  crypto.EpochSecret
	keys    crypto.EpochKeys
	control crypto.MessageKey
	send    *crypto.SendChain
	recv    map[uint32]*crypto.RecvChain
	// wiped is set once the keys above (secret, keys, control, chains)
	// are erased; state and commit stay, for the roster of history.
	wiped bool
}

// newEpoch derives an epoch's keys from its secret. send is set by the
// caller.
func newEpoch(state *GroupState, commit *Commit, secret *crypto.EpochSecret) *epoch {
	e := &epoch{state: state, commit: commit, secret: *secret, recv: map[uint32]*crypto.RecvChain{}}
	e.keys = crypto.DeriveEpochKeys(state.ID, state.Epoch, &e.secret)
	e.control = crypto.MessageKey(crypto.DeriveControlKey(state.ID, state.Epoch, (*[crypto.KeySize]byte)(&e.secret)))
	return e
}

// wipe erases every key of the epoch and marks it wiped.
func (e *epoch) wipe() {
	e.secret.Wipe()
	e.keys.Wipe()
	e.control.Wipe()
	if e.send != nil {
		e.send.Wipe()
		e.send = nil
	}
	for _, c := range e.recv {
		c.Wipe()
	}
	e.recv = map[uint32]*crypto.RecvChain{}
	e.wiped = true
}

// Session is the pure engine one member runs for one group. It holds the
// member's credential, the current epoch (roster, secret, keys, send chain,
// others' receive chains) and, for EpochGrace after a commit, the previous
// epoch. It turns received envelopes into events (Open) and the member's
// posts and roster changes into envelopes (SealPost, SealContent, Commit);
// the caller publishes and persists what it returns (Export).
//
// A Session is not safe for concurrent use; the caller serialises calls.
// Every method that returns an error leaves the session as it was, except
// where its documentation says otherwise.
type Session struct {
	cred      *crypto.MemberCredential
	cur       *epoch
	prev      *epoch // the epoch before cur, until prevUntil; nil otherwise
	prevUntil int64  // unix milliseconds
	// removal is the commit that removed this member, nil while a member.
	// cur is then the last epoch the member belonged to.
	removal *Commit
	// keysUntil is when a removed member's keys are wiped (unix
	// milliseconds): EpochGrace after the removal, as long as a rival of
	// the removing commit may still readmit the member.
	keysUntil int64
	// left is set once the member has asked to leave (Leave): its keys
	// are wiped, and it waits for no admin's commit.
	left bool
	// recent remembers the last commits applied, oldest first, to
	// recognise a rival after the grace period (CheckCommit).
	recent []commitRecord
	// forked is set while prev is kept, when a rival commit for the current
	// epoch's number has been seen (won or lost): members who entered the
	// losing epoch seal envelopes with its keys until they learn of the
	// winner, and those envelopes must be dropped as stale, not taken for
	// forgeries that penalise the honest peers forwarding them.
	forked bool
}

// Received is what Open returns for an authentic envelope.
type Received struct {
	// ID is the envelope's ID (crypto.EnvelopeID).
	ID    [32]byte
	Epoch uint64
	// Author and Pseudonym are the signing member's, from the roster of the
	// envelope's epoch.
	Author    crypto.MemberID
	Pseudonym string
	// Timestamp is the send time the author's clock gave, in unix
	// milliseconds, as signed by the author. For application content it
	// is at most MaxClockSkew after the receive time.
	Timestamp int64
	// Late is set for application content sealed in the epoch before the
	// current one, or whose timestamp is more than MaxClockSkew before
	// the receive time: show it as arriving late, not in timeline order.
	Late    bool
	Content Content
	// NewEpoch is set when Content is a commit that moved this session to
	// a new epoch.
	NewEpoch *EpochChange
	// Removed is set when Content is a commit that removed this member. The
	// session can still open envelopes of the epoch it was in, but cannot
	// send, and will never hold a later epoch's keys.
	Removed bool
	// LeaveRequested is set, to the author's ID, when Content is a
	// LeaveRequest that this member may answer: this member is a host or
	// moderator of the current epoch, the author is still in its roster,
	// and removing the author is a change this member may commit. The
	// node commits Remove{Member: LeaveRequested} (with a fresh epoch
	// secret of its own drawing). It is zero otherwise.
	LeaveRequested crypto.MemberID
}

// EpochChange describes the epoch a session has just entered.
type EpochChange struct {
	Epoch uint64
	// Topic is the new epoch's gossipsub topic (crypto.EpochKeys.Topic).
	Topic string
	// Announcement is a control envelope of the new epoch carrying this
	// member's new chain key for every other member: publish it on Topic.
	// It is nil when the member is alone in the group.
	Announcement []byte
	// Forked is set when this epoch replaces one the session had entered
	// from a rival commit with the same parent that lost under ForkWinner.
	// Envelopes sealed in the losing epoch can no longer be opened.
	Forked bool
	// Rebase holds, when the losing commit was this member's own, the
	// changes of it that still apply (RebaseChanges): commit them again.
	Rebase []Change
}

// NewGroup creates a group and its creator's session: a fresh credential,
// group ID and epoch secret drawn from r (crypto/rand when nil), with the
// creator as the only member, a host, at epoch 0. retention is in seconds
// (0 keeps messages until deleted). It returns ErrBadGroupName or
// ErrBadPseudonym (wrapped) for names that break the rules.
func NewGroup(name, pseudonym string, retention uint64, r io.Reader) (*Session, error) {
	cred, err := crypto.NewMemberCredential(r)
	if err != nil {
		return nil, err
	}
	id, err := crypto.NewGroupID(r)
	if err != nil {
		return nil, err
	}
	state, err := NewGroupState(id, name, cred.Public(), pseudonym, retention)
	if err != nil {
		return nil, err
	}
	secret, err := crypto.NewEpochSecret(r)
	if err != nil {
		return nil, err
	}
	defer secret.Wipe()
	s := &Session{cred: cred}
	ep, _, err := s.enter(state, nil, secret, 0, r)
	if err != nil {
		return nil, err
	}
	s.cur = ep
	return s, nil
}

// enter builds the session's material for a new epoch in which this member
// is in state's roster: keys from secret, a fresh chain key drawn from r and
// its announcement, sealed to every other member and wrapped in a control
// envelope of the new epoch (nil when the member is alone). It changes
// nothing in s.
func (s *Session) enter(state *GroupState, commit *Commit, secret *crypto.EpochSecret, now int64, r io.Reader) (*epoch, []byte, error) {
	me, ok := state.MemberByID(s.cred.ID())
	if !ok {
		return nil, nil, ErrRemoved
	}
	ep := newEpoch(state, commit, secret)
	ck, err := crypto.NewChainKey(r)
	if err != nil {
		ep.wipe()
		return nil, nil, err
	}
	defer ck.Wipe()
	ep.send = crypto.NewSendChain(ck)
	ann := ChainKeyAnnouncement{Epoch: state.Epoch, Commitment: crypto.CommitChainKey(ck)}
	for _, m := range state.Roster {
		if m.ID == me.ID {
			continue
		}
		sealed, err := crypto.SealToMember(m.Public, me.ID, crypto.SecretChainKey, state.ID, state.Epoch, ck[:])
		if err != nil {
			ep.wipe()
			return nil, nil, err
		}
		ann.Sealed = append(ann.Sealed, SealedSecret{To: m.ID, Sealed: sealed})
	}
	if len(ann.Sealed) == 0 {
		return ep, nil, nil
	}
	env, err := s.seal(ep, me, ann, now, r)
	if err != nil {
		ep.wipe()
		return nil, nil, err
	}
	return ep, env, nil
}

// seal seals content from me in epoch ep: control content under the
// epoch's control key, anything else under the next step of the send chain.
func (s *Session) seal(ep *epoch, me Member, c Content, now int64, r io.Reader) ([]byte, error) {
	b, err := MarshalContent(c)
	if err != nil {
		return nil, err
	}
	in := crypto.SealInput{
		Group:         ep.state.ID,
		Epoch:         ep.state.Epoch,
		SenderDataKey: &ep.keys.SenderData,
		Sender:        crypto.SenderData{Index: me.Index, Generation: crypto.ControlGeneration},
		MessageKey:    &ep.control,
		Author:        s.cred,
		Timestamp:     now,
		Content:       b,
	}
	if !c.Type().Control() {
		gen, key, err := ep.send.Next()
		if err != nil {
			return nil, fmt.Errorf("hearth/protocol: this epoch's chain is used up, a new epoch is needed: %w", err)
		}
		defer key.Wipe()
		in.Sender.Generation = gen
		in.MessageKey = &key
	}
	return crypto.SealEnvelope(in, r)
}

// me returns this member's roster entry in the current epoch.
func (s *Session) me() Member {
	m, _ := s.cur.state.MemberByID(s.cred.ID())
	return m
}

// SealContent seals application content (not a control type: commits go
// through Commit, announcements are made on entering an epoch) from this
// member into an envelope of the current epoch, timestamped now (unix
// milliseconds), with randomness from r (crypto/rand when nil). Each call
// uses one step of the member's send chain. It returns ErrRemoved after
// removal, ErrBadPost (wrapped) for a post that breaks its rules, and an
// error when the chain is used up.
func (s *Session) SealContent(c Content, now int64, r io.Reader) ([]byte, error) {
	if s.Removed() {
		return nil, ErrRemoved
	}
	if c == nil || c.Type().Control() {
		return nil, errors.New("hearth/protocol: SealContent seals application content only")
	}
	s.Expire(now)
	return s.seal(s.cur, s.me(), c, now, r)
}

// SealPost draws a fresh post ID from r and seals a post with text (a
// reply to replyTo unless it is zero) like SealContent. It returns the
// envelope and the post.
func (s *Session) SealPost(text string, replyTo [16]byte, now int64, r io.Reader) ([]byte, Post, error) {
	p := Post{ReplyTo: replyTo, Text: text}
	if _, err := io.ReadFull(randReader(r), p.ID[:]); err != nil {
		return nil, Post{}, fmt.Errorf("hearth/protocol: reading randomness: %w", err)
	}
	if p.ID == [16]byte{} {
		return nil, Post{}, errors.New("hearth/protocol: the randomness source returned zeros")
	}
	env, err := s.SealContent(p, now, r)
	if err != nil {
		return nil, Post{}, err
	}
	return env, p, nil
}

// CommitResult is what Commit and Leave return.
type CommitResult struct {
	// Commit is the commit made; nil from Leave, which makes none.
	Commit *Commit
	// Envelope carries the commit (from Leave: the LeaveRequest) in a
	// control envelope of the current epoch (for a commit, the epoch it
	// leaves): publish it on that epoch's topic first, so the other
	// members (and a member being removed) learn of it.
	Envelope []byte
	// NewEpoch is the epoch the session entered; nil from Leave.
	NewEpoch *EpochChange
}

// Commit builds, seals and applies a commit of changes by this member
// (NewCommit's rules apply; it returns their errors: a commit that removes
// its own committer is ErrNotAllowed, use Leave) and moves the session to
// the new epoch. It returns ErrRemoved once the member is no longer in the
// group or has left.
func (s *Session) Commit(changes []Change, now int64, r io.Reader) (*CommitResult, error) {
	if s.Removed() {
		return nil, ErrRemoved
	}
	s.Expire(now)
	c, secret, err := NewCommit(s.cur.state, s.cred, changes, r)
	if err != nil {
		return nil, err
	}
	defer secret.Wipe()
	env, err := s.seal(s.cur, s.me(), CommitContent{Commit: c}, now, r)
	if err != nil {
		return nil, err
	}
	next, err := s.cur.state.ApplyCommit(c)
	if err != nil {
		return nil, err
	}
	res := &CommitResult{Commit: c, Envelope: env}
	// ApplyCommit refuses a commit that removes its committer, so this
	// member is in next and enter succeeds.
	ep, ann, err := s.enter(next, c, secret, now, r)
	if err != nil {
		return nil, err
	}
	s.record(s.cur.state, c)
	s.moveTo(ep, now)
	res.NewEpoch = &EpochChange{Epoch: next.Epoch, Topic: ep.keys.Topic(), Announcement: ann}
	return res, nil
}

// Leave asks the group to remove this member. It seals a LeaveRequest in
// a control envelope of the current epoch, timestamped now, and returns it
// in CommitResult.Envelope (Commit and NewEpoch are nil): the node
// publishes it on the current topic, and any host or moderator who opens
// it is told (Received.LeaveRequested) and commits the removal.
//
// The session is left at once: every key it holds for the group (epoch
// secrets, control and sender-data keys, chains) is wiped, Removed
// reports true, SealContent, SealPost, Commit and Leave return ErrRemoved,
// Open returns ErrPastEpoch (or ErrFutureEpoch) for every envelope, and
// Topic returns "". GroupState, Me and RosterAt still describe the last
// epoch, for showing history. The node should unsubscribe and delete the
// group's keys; it may keep the stored history.
//
// Security: the leaver never learns the secret of the epoch that shuts it
// out, because an admin draws it; were the leaver to commit its own
// removal it would (ApplyCommit refuses such commits). Until an admin
// commits the removal the leaver is still in the roster and new epochs'
// secrets are sealed to its keys, which it has erased.
//
// It returns ErrRemoved after removal or leaving, and ErrLastHost
// (wrapped) when this member is the group's only host: it must make
// another member a host first, as a group always keeps one.
func (s *Session) Leave(now int64, r io.Reader) (*CommitResult, error) {
	if s.Removed() {
		return nil, ErrRemoved
	}
	s.Expire(now)
	me := s.me()
	if me.Role == RoleHost && s.cur.state.Hosts() == 1 {
		return nil, fmt.Errorf("%w: the only host cannot leave; make another member a host first", ErrLastHost)
	}
	env, err := s.seal(s.cur, me, LeaveRequest{Epoch: s.cur.state.Epoch}, now, r)
	if err != nil {
		return nil, err
	}
	s.left = true
	s.cur.wipe()
	if s.prev != nil {
		s.prev.wipe()
		s.prev = nil
	}
	s.forked = false
	return &CommitResult{Envelope: env}, nil
}

// moveTo makes ep the current epoch and keeps the one it replaces for
// EpochGrace.
func (s *Session) moveTo(ep *epoch, now int64) {
	if s.prev != nil {
		s.prev.wipe()
	}
	s.forked = false
	s.prev, s.prevUntil, s.cur = s.cur, now+EpochGrace, ep
}

// Expire wipes the previous epoch's keys once its grace period is over at
// now (unix milliseconds), and, once this member has been removed for
// EpochGrace, every key of the last epoch it belonged to (its secret,
// control and sender-data keys and chains): after that the session opens
// nothing, and its state is kept only to describe the roster of history
// the node has already stored. Open, SealContent and Commit call it; the
// node may call it from a timer so keys do not outlive their grace in an
// idle group.
func (s *Session) Expire(now int64) {
	if s.prev != nil && now >= s.prevUntil {
		s.prev.wipe()
		s.prev = nil
		s.forked = false
	}
	if s.removal != nil && !s.cur.wiped && now >= s.keysUntil {
		if s.prev != nil {
			s.prev.wipe()
			s.prev = nil
		}
		s.forked = false
		s.cur.wipe()
	}
}

// epochFor returns the keys for envelopes of epoch n.
func (s *Session) epochFor(n uint64) (*epoch, error) {
	ep, err := s.stateFor(n)
	if err != nil {
		return nil, err
	}
	if ep.wiped {
		return nil, fmt.Errorf("%w (epoch %d: this member's keys for it are erased)", ErrPastEpoch, n)
	}
	return ep, nil
}

// stateFor returns what the session holds for epoch n, keys or not.
func (s *Session) stateFor(n uint64) (*epoch, error) {
	switch {
	case n == s.cur.state.Epoch:
		return s.cur, nil
	case s.prev != nil && n == s.prev.state.Epoch:
		return s.prev, nil
	case n > s.cur.state.Epoch:
		return nil, fmt.Errorf("%w (epoch %d, session at %d)", ErrFutureEpoch, n, s.cur.state.Epoch)
	}
	return nil, fmt.Errorf("%w (epoch %d, session at %d)", ErrPastEpoch, n, s.cur.state.Epoch)
}

// randReader returns r, or crypto/rand when r is nil.
func randReader(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}

// after returns how many milliseconds a is after b, 0 when it is not,
// without overflowing for any two int64 values.
func after(a, b int64) uint64 {
	if a <= b {
		return 0
	}
	return uint64(a) - uint64(b)
}

func invalid(err error) error { return fmt.Errorf("%w: %w", ErrInvalidEnvelope, err) }

// Open opens an envelope received at now (unix milliseconds), using r
// (crypto/rand when nil) only when a commit moves the session to a new
// epoch. It returns a Received event for an authentic envelope, or an error
// wrapping exactly one of ErrInvalidEnvelope, ErrDuplicate, ErrFutureEpoch,
// ErrPastEpoch, ErrNoChainKey, ErrUnreadable (ErrBadTimestamp wraps it), or
// ErrMisbehaved (a *MisbehaviorError naming the author): see each for what the node should do. Application
// content sealed in the previous (grace) epoch opens only when its author
// is still a member of the current epoch. Timestamps are bounded
// (MaxClockSkew) for application content only: a control envelope's
// timestamp is not used, and refusing a commit by clock would let members
// whose clocks differ end on different chains. Apart from wiping keys whose grace has expired, Open changes
// the session only when it returns a Received event (and, for content of a
// type this version does not know, when it returns ErrUnreadable: the
// envelope authenticated and its generation is consumed).
//
// Control envelopes are handled here too: a chain-key announcement gives
// the session the author's receive chain; a commit is validated
// (GroupState.ApplyCommit) and applied, moving the session to the new
// epoch (Received.NewEpoch) or marking it removed (Received.Removed); a
// valid rival of the commit that made the current epoch is settled by
// ForkWinner.
func (s *Session) Open(b []byte, now int64, r io.Reader) (*Received, error) {
	s.Expire(now)
	env, err := crypto.ParseEnvelope(b)
	if err != nil {
		// An unknown version is invalid too, not merely unreadable: topic
		// names carry the protocol version ("/hearth/1/"), so a newer
		// Hearth never publishes other envelope versions on this topic,
		// and excusing them would let anyone spam without penalty.
		return nil, invalid(err)
	}
	ep, err := s.epochFor(env.Epoch)
	if err != nil {
		return nil, err
	}
	sd, err := env.OpenSender(&ep.keys.SenderData)
	if err != nil {
		if ep == s.cur && s.forked {
			return nil, fmt.Errorf("%w: probably sealed in the epoch that lost a fork: %w", ErrPastEpoch, err)
		}
		return nil, invalid(err)
	}
	author, ok := ep.state.MemberByIndex(sd.Index)
	if !ok {
		return nil, invalid(fmt.Errorf("no member has index %d in epoch %d", sd.Index, env.Epoch))
	}
	rec := &Received{ID: env.ID(), Epoch: env.Epoch, Author: author.ID, Pseudonym: author.Pseudonym}
	if sd.Generation == crypto.ControlGeneration {
		return s.openControl(env, ep, sd, author, rec, now, r)
	}
	if author.ID == s.cred.ID() {
		// This member's own envelope coming back. Its key is gone from the
		// send chain; the node stored the envelope when it was sealed.
		return nil, ErrDuplicate
	}
	if ep == s.prev {
		// The grace period lets members who had not yet seen the commit
		// finish what they were sending; it does not let a member the
		// commit removed keep posting for ten minutes. Its envelope is
		// authentic (the forwarder did nothing wrong), just too late.
		if _, ok := s.cur.state.MemberByID(author.ID); !ok {
			return nil, fmt.Errorf("%w: its author was removed by the commit that ended epoch %d", ErrPastEpoch, env.Epoch)
		}
	}
	rc := ep.recv[sd.Index]
	if rc == nil {
		return nil, ErrNoChainKey
	}
	key, err := rc.Peek(sd.Generation)
	switch {
	case errors.Is(err, crypto.ErrGenerationUsed):
		return nil, fmt.Errorf("%w: %w", ErrDuplicate, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	defer key.Wipe()
	pt, err := env.OpenContent(ep.state.ID, sd, &key, author.Public)
	if err != nil {
		return nil, invalid(err)
	}
	content, err := UnmarshalContent(pt.Content)
	unknown := errors.Is(err, ErrUnknownContent)
	if err != nil && !unknown {
		return nil, invalid(err)
	}
	if !unknown && content.Type().Control() {
		return nil, invalid(errors.New("control content sealed under a sender chain"))
	}
	if !unknown && after(pt.Timestamp, now) > uint64(MaxClockSkew) {
		return nil, fmt.Errorf("%w (%d ms ahead)", ErrBadTimestamp, after(pt.Timestamp, now))
	}
	if err := rc.Consume(sd.Generation); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDuplicate, err)
	}
	if unknown {
		return nil, fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	rec.Timestamp, rec.Content = pt.Timestamp, content
	rec.Late = ep == s.prev || after(now, pt.Timestamp) > uint64(MaxClockSkew)
	return rec, nil
}

func (s *Session) openControl(env *crypto.Envelope, ep *epoch, sd crypto.SenderData, author Member, rec *Received, now int64, r io.Reader) (*Received, error) {
	pt, err := env.OpenContent(ep.state.ID, sd, &ep.control, author.Public)
	if err != nil {
		return nil, invalid(err)
	}
	content, err := UnmarshalContent(pt.Content)
	if errors.Is(err, ErrUnknownContent) {
		return nil, fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	if err != nil {
		return nil, invalid(err)
	}
	rec.Timestamp, rec.Content = pt.Timestamp, content
	switch c := content.(type) {
	case ChainKeyAnnouncement:
		return s.acceptAnnouncement(ep, author, c, rec)
	case CommitContent:
		return s.acceptCommit(ep, author, c.Commit, rec, now, r)
	case LeaveRequest:
		return s.acceptLeave(ep, author, c, rec)
	}
	return nil, invalid(errors.New("application content sealed under the control key"))
}

// acceptAnnouncement checks that a announces a chain key for ep's epoch to
// exactly the other members of its roster, in roster order, and opens the
// one sealed to this member. The first announcement of a member in an epoch
// is the one kept; later ones are duplicates.
func (s *Session) acceptAnnouncement(ep *epoch, author Member, a ChainKeyAnnouncement, rec *Received) (*Received, error) {
	if a.Epoch != ep.state.Epoch {
		return nil, invalid(fmt.Errorf("announcement for epoch %d sealed in epoch %d", a.Epoch, ep.state.Epoch))
	}
	me := s.cred.ID()
	var mine []byte
	i := 0
	for _, m := range ep.state.Roster {
		if m.ID == author.ID {
			continue
		}
		if i >= len(a.Sealed) || a.Sealed[i].To != m.ID {
			return nil, invalid(errors.New("announcement is not sealed to exactly the other members"))
		}
		if m.ID == me {
			mine = a.Sealed[i].Sealed
		}
		i++
	}
	if i != len(a.Sealed) {
		return nil, invalid(errors.New("announcement is sealed to non-members"))
	}
	if author.ID == me || ep.recv[author.Index] != nil {
		return nil, ErrDuplicate
	}
	b, err := s.cred.OpenSealed(author.ID, crypto.SecretChainKey, ep.state.ID, ep.state.Epoch, mine)
	if err != nil {
		return nil, invalid(err)
	}
	var ck crypto.ChainKey
	copy(ck[:], b)
	crypto.Wipe(b)
	defer ck.Wipe()
	if want := crypto.CommitChainKey(&ck); !crypto.Equal(want[:], a.Commitment[:]) {
		return nil, &MisbehaviorError{Author: author.ID, Epoch: a.Epoch,
			Reason: "the chain key sealed to this member is not the one the announcement commits to"}
	}
	ep.recv[author.Index] = crypto.NewRecvChain(&ck)
	return rec, nil
}

// acceptLeave checks a leave request sealed in epoch ep by author, and
// sets rec.LeaveRequested when this member may answer it now (see
// Received.LeaveRequested). A request from this member itself is a
// duplicate.
func (s *Session) acceptLeave(ep *epoch, author Member, l LeaveRequest, rec *Received) (*Received, error) {
	if l.Epoch != ep.state.Epoch {
		return nil, invalid(fmt.Errorf("leave request for epoch %d sealed in epoch %d", l.Epoch, ep.state.Epoch))
	}
	if author.ID == s.cred.ID() {
		return nil, ErrDuplicate
	}
	if s.Removed() {
		return rec, nil
	}
	me := s.me()
	if _, ok := s.cur.state.MemberByID(author.ID); ok && me.Role.IsAdmin() {
		if _, err := applyChanges(s.cur.state, me, []Change{Remove{Member: author.ID}}); err == nil {
			rec.LeaveRequested = author.ID
		}
	}
	return rec, nil
}

// acceptCommit applies a commit sealed in epoch ep by author. Three cases:
// a commit that follows the current epoch moves the session on (or removes
// this member); a commit for the current epoch's parent is either the one
// already applied (a duplicate) or a rival, settled by ForkWinnerIn; after
// removal, a rival of the removing commit may win and readmit the member.
// A rival that loses is returned as a Received event with no NewEpoch each
// time it arrives (the node stores envelopes by ID, so that is harmless).
func (s *Session) acceptCommit(ep *epoch, author Member, c *Commit, rec *Received, now int64, r io.Reader) (*Received, error) {
	if c.Committer != author.ID {
		return nil, invalid(errors.New("commit carried by a member other than its committer"))
	}
	next, err := ep.state.ApplyCommit(c)
	if err != nil {
		return nil, invalid(err)
	}
	id, err := c.ID()
	if err != nil {
		return nil, invalid(err)
	}
	switch {
	case ep == s.cur && s.removal == nil:
		return s.advance(next, c, rec, now, r, nil)
	case ep == s.cur:
		// Removed in this epoch: c is the removing commit or its rival.
		if rid, _ := s.removal.ID(); rid == id {
			return nil, ErrDuplicate
		}
		if ForkWinnerIn(s.cur.state, s.removal, c) == s.removal {
			return rec, nil
		}
		return s.advance(next, c, rec, now, r, &EpochChange{Forked: true})
	default:
		// ep is the previous epoch: c is the commit that made the current
		// one (a duplicate) or its rival.
		if id == s.cur.state.LastCommit {
			return nil, ErrDuplicate
		}
		loser := s.cur.commit
		if ForkWinnerIn(ep.state, loser, c) == loser {
			s.forked = true
			return rec, nil
		}
		change := &EpochChange{Forked: true}
		if loser.Committer == s.cred.ID() {
			change.Rebase = RebaseChanges(loser, next)
		}
		return s.switchFork(next, c, rec, now, r, change)
	}
}

// advance moves the session from its current epoch to the epoch next that
// commit c makes (or marks it removed when c removes this member).
func (s *Session) advance(next *GroupState, c *Commit, rec *Received, now int64, r io.Reader, change *EpochChange) (*Received, error) {
	if _, ok := next.MemberByID(s.cred.ID()); !ok {
		s.removal = c
		s.keysUntil = now + EpochGrace
		rec.Removed = true
		return rec, nil
	}
	ep, ann, err := s.openEpoch(next, c, now, r)
	if err != nil {
		return nil, err
	}
	s.removal = nil
	s.record(s.cur.state, c)
	s.moveTo(ep, now)
	// A rival of the commit that removed this member won: those who
	// applied the removing commit sealed in its epoch, of the same number.
	s.forked = change != nil && change.Forked
	rec.NewEpoch = fillChange(change, ep, ann)
	return rec, nil
}

// switchFork replaces the current epoch, made by a commit that lost a fork,
// with the epoch the winning commit c makes from the previous epoch.
func (s *Session) switchFork(next *GroupState, c *Commit, rec *Received, now int64, r io.Reader, change *EpochChange) (*Received, error) {
	if _, ok := next.MemberByID(s.cred.ID()); !ok {
		// The winner removes this member: fall back to the parent epoch,
		// the last this member belongs to.
		s.cur.wipe()
		s.cur, s.prev = s.prev, nil
		s.forked = false
		s.removal = c
		s.keysUntil = now + EpochGrace
		rec.Removed = true
		return rec, nil
	}
	ep, ann, err := s.openEpoch(next, c, now, r)
	if err != nil {
		return nil, err
	}
	s.forked = true
	s.record(s.prev.state, c)
	s.cur.wipe()
	s.cur = ep
	s.removal = nil
	rec.NewEpoch = fillChange(change, ep, ann)
	return rec, nil
}

// openEpoch opens this member's epoch secret from c and enters the epoch.
func (s *Session) openEpoch(next *GroupState, c *Commit, now int64, r io.Reader) (*epoch, []byte, error) {
	secret, err := OpenCommitSecret(c, s.cred)
	if errors.Is(err, ErrMisbehaved) {
		// Authentic, but the committer gave this member another secret
		// than it committed to: the forwarder is not to blame.
		return nil, nil, err
	}
	if err != nil {
		// The committer signed a commit whose secret for this member does
		// not open: it cannot follow the group, and must say so.
		return nil, nil, invalid(err)
	}
	defer secret.Wipe()
	return s.enter(next, c, secret, now, r)
}

func fillChange(change *EpochChange, ep *epoch, ann []byte) *EpochChange {
	if change == nil {
		change = &EpochChange{}
	}
	change.Epoch = ep.state.Epoch
	change.Topic = ep.keys.Topic()
	change.Announcement = ann
	return change
}

// Welcome is what an admin sends a member it has just added: the group
// state of the current epoch and the commit that made it, which carries the
// epoch secret sealed to the new member. Nothing of earlier epochs is in
// it: a newcomer cannot read what was said before it joined.
type Welcome struct {
	State  *GroupState
	Commit *Commit
}

// Welcome returns the welcome for joiner, a member of the current epoch,
// made by c, which must be the commit that made the current epoch. It
// returns ErrWrongParent (wrapped) when c is not, and ErrBadWelcome when
// joiner is not in the current roster.
func (s *Session) Welcome(c *Commit, joiner crypto.MemberID) (*Welcome, error) {
	id, err := c.ID()
	if err != nil {
		return nil, err
	}
	if s.Removed() || id != s.cur.state.LastCommit {
		return nil, fmt.Errorf("%w: the commit did not make this session's current epoch", ErrWrongParent)
	}
	if _, ok := s.cur.state.MemberByID(joiner); !ok {
		return nil, fmt.Errorf("%w: %s is not a member of epoch %d", ErrBadWelcome, joiner, s.cur.state.Epoch)
	}
	return &Welcome{State: s.cur.state.Clone(), Commit: c}, nil
}

// welcomeVersion is the first byte of an encoded welcome.
const welcomeVersion = 1

// Marshal encodes the welcome: version, group state, commit (see
// docs/PROTOCOL.md, "Welcome").
func (w *Welcome) Marshal() ([]byte, error) {
	if w.State == nil || w.Commit == nil {
		return nil, fmt.Errorf("%w: incomplete", ErrBadWelcome)
	}
	if err := w.State.Validate(); err != nil {
		return nil, err
	}
	var wr writer
	wr.u8(welcomeVersion)
	w.State.encode(&wr)
	c, err := w.Commit.Marshal()
	if err != nil {
		return nil, err
	}
	wr.fixed(c)
	return wr.finish()
}

func decodeWelcome(r *reader) *Welcome {
	if v := r.u8("welcome version"); r.err == nil && v != welcomeVersion {
		r.failf("welcome version", "%d is not supported", v)
	}
	w := &Welcome{State: decodeGroupState(r)}
	w.Commit = decodeCommit(r)
	return w
}

// UnmarshalWelcome decodes what Welcome.Marshal produces. It returns an
// error wrapping ErrMalformed.
func UnmarshalWelcome(b []byte) (*Welcome, error) {
	r := newReader(b)
	w := decodeWelcome(r)
	if err := r.finish(); err != nil {
		return nil, err
	}
	return w, nil
}

// JoinFromWelcome starts the session of a member admitted by w, holding
// cred (the credential whose public keys it asked to join with). It checks
// that the state is valid, that the commit made it (its ID is the state's
// last commit, for the same group and epoch) and is signed by its
// committer's key in the state's roster, that the roster lists exactly the
// members the commit seals the epoch secret to, that cred is in it, and
// that the epoch secret sealed to cred opens. It then enters the epoch,
// drawing a chain key from r (crypto/rand when nil), and returns the
// session and the epoch change whose announcement the node publishes. It
// returns ErrBadWelcome (wrapped) when the parts do not fit.
//
// Security: a joiner cannot check the group's history, but the commit signs
// the hash of the whole state it made (Commit.State), so the roster, roles,
// pseudonyms, name and retention in the welcome are those the committer
// signed and every member applying the commit checked. An admin cannot
// doctor them for the joiner alone. A committer who misbehaves can
// still sign a second, different commit for the joiner; the joiner then
// holds an epoch whose LastCommit differs from the group's (see
// docs/PROTOCOL.md on what binds envelopes to it). It returns a
// *MisbehaviorError (wrapped by ErrBadWelcome) when the secret sealed to
// the joiner is not the one the commit commits to.
//
// JoinFromWelcome does not know which group the joiner meant to join:
// prefer JoinFromWelcomeFor with the group ID of the invite.
func JoinFromWelcome(w *Welcome, cred *crypto.MemberCredential, now int64, r io.Reader) (*Session, *EpochChange, error) {
	if w == nil || w.State == nil {
		return nil, nil, fmt.Errorf("%w: incomplete", ErrBadWelcome)
	}
	return JoinFromWelcomeFor(w, w.State.ID, cred, now, r)
}

// JoinFromWelcomeFor is JoinFromWelcome for a joiner who knows which group
// it asked to join (the group ID in the invite): it also returns
// ErrBadWelcome (wrapped) when the welcome is for any other group, so an
// admin of one group cannot answer an invite of another with its own.
func JoinFromWelcomeFor(w *Welcome, group crypto.GroupID, cred *crypto.MemberCredential, now int64, r io.Reader) (*Session, *EpochChange, error) {
	if w == nil || w.State == nil || w.Commit == nil {
		return nil, nil, fmt.Errorf("%w: incomplete", ErrBadWelcome)
	}
	if w.State.ID != group {
		return nil, nil, fmt.Errorf("%w: it is for group %s, not %s", ErrBadWelcome, w.State.ID, group)
	}
	if err := w.State.Validate(); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadWelcome, err)
	}
	state, c := w.State.Clone(), w.Commit
	id, err := c.ID()
	if err != nil || c.Group != state.ID || c.Epoch != state.Epoch || id != state.LastCommit {
		return nil, nil, fmt.Errorf("%w: the commit did not make this state", ErrBadWelcome)
	}
	committer, ok := state.MemberByID(c.Committer)
	if !ok {
		return nil, nil, fmt.Errorf("%w: the committer is not in the group", ErrBadWelcome)
	}
	body, err := c.body()
	if err != nil || !committer.Public.Verify(commitPurpose, body, c.Signature) {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadWelcome, ErrBadCommitSignature)
	}
	// The committer signed the hash of the whole state the commit made:
	// roles, pseudonyms, keys, name and retention are what the group
	// agreed, not what the admin sending the welcome says.
	if StateHash(state) != c.State {
		return nil, nil, fmt.Errorf("%w: the state is not the one the commit signs", ErrBadWelcome)
	}
	// The commit's sealed secrets name every member of the epoch it made,
	// in roster order, under the committer's signature: the roster must
	// list exactly them, so the joiner knows exactly who can read.
	if len(c.Secrets) != len(state.Roster) {
		return nil, nil, fmt.Errorf("%w: the roster is not the one the commit seals to", ErrBadWelcome)
	}
	for i, m := range state.Roster {
		if c.Secrets[i].To != m.ID {
			return nil, nil, fmt.Errorf("%w: the roster is not the one the commit seals to", ErrBadWelcome)
		}
	}
	me, ok := state.MemberByID(cred.ID())
	if !ok || me.Public != cred.Public() {
		return nil, nil, fmt.Errorf("%w: this member is not in the group", ErrBadWelcome)
	}
	secret, err := OpenCommitSecret(c, cred)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadWelcome, err)
	}
	defer secret.Wipe()
	s := &Session{cred: cred}
	ep, ann, err := s.enter(state, c, secret, now, r)
	if err != nil {
		return nil, nil, err
	}
	s.cur = ep
	return s, fillChange(nil, ep, ann), nil
}

// GroupState returns a copy of the current epoch's state (the last epoch
// this member belonged to, once removed).
func (s *Session) GroupState() *GroupState { return s.cur.state.Clone() }

// Me returns this member's roster entry in the current epoch.
func (s *Session) Me() Member { return s.me() }

// Removed reports whether this member has been removed or has left.
func (s *Session) Removed() bool { return s.removal != nil || s.left }

// Left reports whether this member has left with Leave (Removed reports
// true as well).
func (s *Session) Left() bool { return s.left }

// Topic returns the current epoch's gossipsub topic, or "" once the
// session's keys are wiped (after Leave, and after removal once the grace
// period has passed).
func (s *Session) Topic() string {
	if s.cur.wiped {
		return ""
	}
	return s.cur.keys.Topic()
}

// Keys returns a copy of the keys of epoch n (for the topic, history sync
// and rendezvous), while the session holds them: the current epoch, or the
// previous one during its grace period. The caller wipes the copy when
// done. It returns ErrFutureEpoch or ErrPastEpoch (wrapped) otherwise.
func (s *Session) Keys(n uint64) (crypto.EpochKeys, error) {
	ep, err := s.epochFor(n)
	if err != nil {
		return crypto.EpochKeys{}, err
	}
	return ep.keys, nil
}

// RosterAt returns the roster of epoch n as this session knows it: the
// current epoch's, or the previous epoch's during its grace period. The
// roster of epoch n is the one commit n made, and an envelope sealed in
// epoch n is attributed to the member its sender index names in that
// roster, never in a later one: a member removed at epoch n+1 still
// authored what it posted in epoch n. It returns ErrFutureEpoch or
// ErrPastEpoch (wrapped) for other epochs.
func (s *Session) RosterAt(n uint64) ([]Member, error) {
	ep, err := s.stateFor(n)
	if err != nil {
		return nil, err
	}
	return append([]Member(nil), ep.state.Roster...), nil
}

// OpenNote opens a note or report (crypto.SealNote) that the member from
// sealed in epoch n of this group, with this member's credential, which
// never leaves the session. Every member tries every note and only its
// recipients can open it: it returns crypto.ErrDecrypt when the note is not
// for this member, as crypto's OpenNote does.
func (s *Session) OpenNote(kind crypto.SecretKind, from crypto.MemberID, n uint64, sealedKey, body []byte) ([]byte, error) {
	return s.cred.OpenNote(kind, from, s.cur.state.ID, n, sealedKey, body)
}

// Wipe erases every key the session holds, its credential included. The
// session is unusable afterwards.
func (s *Session) Wipe() {
	s.cur.wipe()
	if s.prev != nil {
		s.prev.wipe()
		s.prev = nil
	}
	s.cred.Wipe()
}
