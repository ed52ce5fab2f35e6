package protocol

import (
	"errors"
	"fmt"

	"github.com/hearthnet/hearth/crypto"
)

// This file holds the messages of history sync (/hearth/sync/1) and the two
// pure functions the node runs over them: the membership check and the
// vector difference. The node frames each message as a 32-bit big-endian
// length followed by the message (at most MaxSyncFrame bytes); every
// message begins with its type byte and the protocol version.
//
// The exchange, requester R and responder S:
//
//	R -> S  SyncHello      nonce, tag: a MAC under the sync key of R's epoch
//	S -> R  SyncChallenge  fresh challenge, answer: a MAC under the same key
//	R -> S  SyncProof      R's index, first epoch, signature, R's vector
//	S -> R  SyncPage ...   envelopes R lacks; the last page has Last set
//
// Nothing R sends before S has answered names the group, the epoch or the
// member (crypto/synctag.go says why the tags link nothing), and R sends
// its index, signature and vector only to a responder whose answer shows it
// holds the sync key of R's epoch.

// Sync message types: the first byte of every sync message.
const (
	SyncTypeHello     uint8 = 1
	SyncTypeChallenge uint8 = 2
	SyncTypeProof     uint8 = 3
	SyncTypePage      uint8 = 4
)

// syncVersion is the second byte of every sync message. Version 1 named
// the group, epoch and index in plaintext in its hello; its messages are
// malformed now.
const syncVersion = 2

// Bounds of sync messages. Each decoder enforces them, so a peer can make
// the other side hold at most one MaxSyncFrame at a time.
const (
	// SyncChallengeSize is the size of a nonce: the requester's in its
	// hello, the responder's challenge.
	SyncChallengeSize = 32
	// SyncTagSize is the size of a hello's tag and a challenge's answer.
	SyncTagSize = 32
	// SyncHandshakeSize is the exact size of an encoded hello and of an
	// encoded challenge.
	SyncHandshakeSize = 2 + SyncChallengeSize + SyncTagSize
	// MaxSyncVectorEntries bounds the (epoch, sender) entries of a vector:
	// MaxMembers senders over 32 epochs.
	MaxSyncVectorEntries = MaxMembers * 32
	// MaxSyncRuns bounds the runs of one entry: a sender's held generations
	// with up to 63 gaps.
	MaxSyncRuns = 64
	// MaxSyncPageEnvelopes bounds the envelopes of one page.
	MaxSyncPageEnvelopes = 256
	// MaxSyncEnvelopeSize bounds one envelope in a page: the largest
	// message gossipsub carries.
	MaxSyncEnvelopeSize = 1 << 20
	// MaxSyncPageBytes bounds the envelope bytes of one page; a single
	// envelope of up to MaxSyncEnvelopeSize always fits in a page alone.
	MaxSyncPageBytes = MaxSyncEnvelopeSize
	// MaxSyncFrame bounds one framed message: the largest page (every
	// envelope with its 4-byte length prefix) or the largest proof.
	MaxSyncFrame = 4 + MaxSyncPageBytes + 4*MaxSyncPageEnvelopes + 64
	// maxSyncPeerID bounds a peer ID bound into a signed or MACed message.
	maxSyncPeerID = 256
)

// syncProofPurpose is the purpose the requester's member key signs a
// challenge under (crypto.MemberCredential.Sign).
const syncProofPurpose = "sync request"

// ErrNotSyncMember is returned (wrapped) by CheckSyncProof when the
// requester is not a member of the epoch it named or its signature does not
// verify: the responder sends it nothing.
var ErrNotSyncMember = errors.New("hearth/protocol: sync requester is not a member of that epoch")

// SyncRequest is what a requester asks as: the group, the epoch whose
// roster it proves membership of (its current epoch), and its index there.
// It is never sent as such: the responder learns the group and epoch from
// which of its sync keys the hello's tag verifies under, and the index from
// the proof; both sides sign and check it (SyncProofMessage).
type SyncRequest struct {
	Group crypto.GroupID
	Epoch uint64
	Index uint32
}

// SyncHello opens a sync request: a fresh random nonce and its tag,
// crypto.SyncHelloTag under the sync key of the requester's epoch over
// SyncHelloMessage.
type SyncHello struct {
	Nonce [SyncChallengeSize]byte
	Tag   [SyncTagSize]byte
}

// SyncHelloMessage is what a hello's tag MACs: the hello's nonce and the
// responder's peer ID (its bytes), as
//
//	nonce [32] ‖ len u16 ‖ responder peer ID
//
// Binding the responder means a hello a responder received is no use to it
// for asking a third node whether that node is in the group.
func SyncHelloMessage(nonce [SyncChallengeSize]byte, responder []byte) ([]byte, error) {
	w := &writer{}
	w.fixed(nonce[:])
	w.bytes16("responder peer ID", responder, maxSyncPeerID)
	return w.finish()
}

// NewSyncHello returns the hello for nonce (fresh random bytes) to
// responder, under key, the sync key (crypto.EpochKeys.SyncAuth) of the
// requester's epoch.
func NewSyncHello(key *[crypto.KeySize]byte, nonce [SyncChallengeSize]byte, responder []byte) (*SyncHello, error) {
	msg, err := SyncHelloMessage(nonce, responder)
	if err != nil {
		return nil, err
	}
	return &SyncHello{Nonce: nonce, Tag: crypto.SyncHelloTag(key, msg)}, nil
}

// Matches reports, in constant time, whether h was made under key for the
// responder responder.
func (h *SyncHello) Matches(key *[crypto.KeySize]byte, responder []byte) bool {
	msg, err := SyncHelloMessage(h.Nonce, responder)
	if err != nil {
		return false
	}
	want := crypto.SyncHelloTag(key, msg)
	return crypto.Equal(want[:], h.Tag[:])
}

// Marshal encodes the hello: type ‖ version ‖ nonce [32] ‖ tag [32].
func (h *SyncHello) Marshal() []byte {
	w := &writer{}
	w.u8(SyncTypeHello)
	w.u8(syncVersion)
	w.fixed(h.Nonce[:])
	w.fixed(h.Tag[:])
	return w.b
}

// UnmarshalSyncHello decodes a hello, returning ErrMalformed (wrapped) for
// anything but exactly one.
func UnmarshalSyncHello(b []byte) (*SyncHello, error) {
	r := newReader(b)
	syncHeader(r, SyncTypeHello)
	var h SyncHello
	r.fixed("nonce", h.Nonce[:])
	r.fixed("tag", h.Tag[:])
	if err := r.finish(); err != nil {
		return nil, err
	}
	return &h, nil
}

// syncHeader reads and checks a message's type and version.
func syncHeader(r *reader, want uint8) {
	if t := r.u8("type"); r.err == nil && t != want {
		r.failf("type", "is %d, want %d", t, want)
	}
	if v := r.u8("version"); r.err == nil && v != syncVersion {
		r.failf("version", "%d is not supported", v)
	}
}

// SyncChallenge is the responder's answer to a hello: a fresh random
// challenge for the requester to sign, and the answer, crypto.SyncAnswerTag
// under the key the hello's tag verified under, over SyncAnswerMessage. A
// responder that found no such key sends random bytes as the answer, which
// nobody without a key can tell from a real one.
type SyncChallenge struct {
	Nonce  [SyncChallengeSize]byte
	Answer [SyncTagSize]byte
}

// SyncAnswerMessage is what a challenge's answer MACs: the hello's nonce,
// the challenge and the requester's peer ID (its bytes), as
//
//	hello nonce [32] ‖ challenge [32] ‖ len u16 ‖ requester peer ID
func SyncAnswerMessage(helloNonce, challenge [SyncChallengeSize]byte, requester []byte) ([]byte, error) {
	w := &writer{}
	w.fixed(helloNonce[:])
	w.fixed(challenge[:])
	w.bytes16("requester peer ID", requester, maxSyncPeerID)
	return w.finish()
}

// NewSyncChallenge returns the challenge nonce (fresh random bytes) with
// its answer under key to the hello h from requester.
func NewSyncChallenge(key *[crypto.KeySize]byte, h *SyncHello, nonce [SyncChallengeSize]byte, requester []byte) (*SyncChallenge, error) {
	msg, err := SyncAnswerMessage(h.Nonce, nonce, requester)
	if err != nil {
		return nil, err
	}
	return &SyncChallenge{Nonce: nonce, Answer: crypto.SyncAnswerTag(key, msg)}, nil
}

// Answers reports, in constant time, whether c answers the hello h that
// requester sent under key: whether the responder holds key.
func (c *SyncChallenge) Answers(key *[crypto.KeySize]byte, h *SyncHello, requester []byte) bool {
	msg, err := SyncAnswerMessage(h.Nonce, c.Nonce, requester)
	if err != nil {
		return false
	}
	want := crypto.SyncAnswerTag(key, msg)
	return crypto.Equal(want[:], c.Answer[:])
}

// Marshal encodes the challenge: type ‖ version ‖ nonce [32] ‖ answer [32].
func (c *SyncChallenge) Marshal() []byte {
	w := &writer{}
	w.u8(SyncTypeChallenge)
	w.u8(syncVersion)
	w.fixed(c.Nonce[:])
	w.fixed(c.Answer[:])
	return w.b
}

// UnmarshalSyncChallenge decodes a challenge, returning ErrMalformed
// (wrapped) for anything but exactly one.
func UnmarshalSyncChallenge(b []byte) (*SyncChallenge, error) {
	r := newReader(b)
	syncHeader(r, SyncTypeChallenge)
	var c SyncChallenge
	r.fixed("nonce", c.Nonce[:])
	r.fixed("answer", c.Answer[:])
	if err := r.finish(); err != nil {
		return nil, err
	}
	return &c, nil
}

// GenerationRun is an inclusive run of generations held: First to Last.
type GenerationRun struct {
	First, Last uint32
}

// VectorEntry lists the generations one side holds of one sender in one
// epoch, as ascending, disjoint runs.
type VectorEntry struct {
	Epoch  uint64
	Sender uint32
	Runs   []GenerationRun
}

// SyncProof answers a challenge: the requester's index in the epoch of
// its request, the first epoch it asks about (From: the responder sends
// nothing of earlier epochs), its signature (purpose "sync request") over
// SyncProofMessage, and its generation vector, which tells the responder
// what not to send.
//
// From lets a requester go on past what a response cut short by the byte
// budget already covered: its vector may not describe everything it holds
// (it is bounded), and the responder would otherwise send the undescribed
// part again, first, every round.
type SyncProof struct {
	Index     uint32
	From      uint64
	Signature []byte // crypto.SignatureSize bytes
	Vector    []VectorEntry
}

const vectorEntryMinSize = 8 + 4 + 2

// Marshal encodes the proof: type ‖ version ‖ index u32 ‖ from u64 ‖
// signature [64] ‖ count u16 ‖ per entry (epoch u64 ‖ sender u32 ‖ runs u16 ‖ per run
// (first u32 ‖ last u32)). Entries must be in strictly ascending (epoch,
// sender) order and each entry's runs ascending and disjoint (First ≤ Last,
// each run after the previous one's Last); it returns an error otherwise,
// or when a bound is exceeded.
func (p *SyncProof) Marshal() ([]byte, error) {
	if len(p.Signature) != crypto.SignatureSize {
		return nil, fmt.Errorf("hearth/protocol: sync signature is %d bytes, want %d", len(p.Signature), crypto.SignatureSize)
	}
	if err := checkVector(p.Vector); err != nil {
		return nil, err
	}
	w := &writer{}
	w.u8(SyncTypeProof)
	w.u8(syncVersion)
	w.u32(p.Index)
	w.u64(p.From)
	w.fixed(p.Signature)
	w.count16("vector", len(p.Vector), MaxSyncVectorEntries)
	for _, e := range p.Vector {
		w.u64(e.Epoch)
		w.u32(e.Sender)
		w.count16("runs", len(e.Runs), MaxSyncRuns)
		for _, run := range e.Runs {
			w.u32(run.First)
			w.u32(run.Last)
		}
	}
	return w.finish()
}

// checkVector checks the ordering rules Marshal documents.
func checkVector(v []VectorEntry) error {
	for i, e := range v {
		if i > 0 {
			p := v[i-1]
			if e.Epoch < p.Epoch || (e.Epoch == p.Epoch && e.Sender <= p.Sender) {
				return errors.New("vector entries are not in ascending (epoch, sender) order")
			}
		}
		for j, run := range e.Runs {
			if run.First > run.Last {
				return errors.New("vector run ends before it starts")
			}
			if j > 0 && run.First <= e.Runs[j-1].Last {
				return errors.New("vector runs overlap or are out of order")
			}
		}
	}
	return nil
}

// UnmarshalSyncProof decodes a proof, returning ErrMalformed (wrapped) for
// anything but exactly one well-ordered proof within the bounds.
func UnmarshalSyncProof(b []byte) (*SyncProof, error) {
	r := newReader(b)
	syncHeader(r, SyncTypeProof)
	p := &SyncProof{Index: r.u32("index"), From: r.u64("from"), Signature: make([]byte, crypto.SignatureSize)}
	r.fixed("signature", p.Signature)
	n := r.count16("vector", MaxSyncVectorEntries, vectorEntryMinSize)
	if n > 0 {
		p.Vector = make([]VectorEntry, 0, n)
	}
	for i := 0; i < n && r.err == nil; i++ {
		e := VectorEntry{Epoch: r.u64("entry epoch"), Sender: r.u32("entry sender")}
		runs := r.count16("runs", MaxSyncRuns, 8)
		if runs > 0 {
			e.Runs = make([]GenerationRun, 0, runs)
		}
		for j := 0; j < runs && r.err == nil; j++ {
			e.Runs = append(e.Runs, GenerationRun{First: r.u32("run first"), Last: r.u32("run last")})
		}
		p.Vector = append(p.Vector, e)
	}
	if r.err == nil {
		r.check("vector", checkVector(p.Vector))
	}
	if err := r.finish(); err != nil {
		return nil, err
	}
	return p, nil
}

// SyncProofMessage is what a requester signs: the challenge, the
// responder's peer ID (its bytes), the group, the epoch and the requester's
// index, as
//
//	challenge [32] ‖ len u16 ‖ responder peer ID ‖ group [16] ‖ epoch u64 ‖ index u32
//
// Binding the responder's ID means a responder cannot replay a proof it was
// given to a third node; binding the challenge means no proof is reused.
func SyncProofMessage(challenge [SyncChallengeSize]byte, responder []byte, h *SyncRequest) ([]byte, error) {
	w := &writer{}
	w.fixed(challenge[:])
	w.bytes16("responder peer ID", responder, maxSyncPeerID)
	w.fixed(h.Group[:])
	w.u64(h.Epoch)
	w.u32(h.Index)
	return w.finish()
}

// SignSyncProof signs the proof message for the request with the
// requester's member credential.
func SignSyncProof(cred *crypto.MemberCredential, challenge [SyncChallengeSize]byte, responder []byte, h *SyncRequest) ([]byte, error) {
	msg, err := SyncProofMessage(challenge, responder, h)
	if err != nil {
		return nil, err
	}
	return cred.Sign(syncProofPurpose, msg), nil
}

// CheckSyncProof is the responder's membership check, a pure function of
// the roster of the request's epoch: it returns the member at the
// request's index when that member's key signed the proof message for this
// challenge and responder. It returns ErrNotSyncMember (wrapped) when no
// member has that index in the roster (a non-member, or a member removed
// before that epoch) or the signature does not verify.
func CheckSyncProof(roster []Member, challenge [SyncChallengeSize]byte, responder []byte, h *SyncRequest, sig []byte) (Member, error) {
	var m Member
	found := false
	for _, r := range roster {
		if r.Index == h.Index {
			m, found = r, true
			break
		}
	}
	if !found {
		return Member{}, fmt.Errorf("%w: no member has index %d in epoch %d", ErrNotSyncMember, h.Index, h.Epoch)
	}
	msg, err := SyncProofMessage(challenge, responder, h)
	if err != nil {
		return Member{}, fmt.Errorf("%w: %w", ErrNotSyncMember, err)
	}
	if !m.Public.Verify(syncProofPurpose, msg, sig) {
		return Member{}, fmt.Errorf("%w: signature does not verify", ErrNotSyncMember)
	}
	return m, nil
}

// SyncPage carries envelopes exactly as stored. Last is set on the final
// page of a response; More is set with it when the responder stopped at its
// byte budget and the requester should ask again.
type SyncPage struct {
	Last      bool
	More      bool
	Envelopes [][]byte
}

const (
	pageFlagLast = 1 << 0
	pageFlagMore = 1 << 1
)

// Marshal encodes the page: type ‖ version ‖ flags u8 (bit 0 last, bit 1
// more) ‖ count u16 ‖ per envelope (len u32 ‖ bytes). It returns an error
// when a bound is exceeded, an envelope is empty, or More is set without
// Last.
func (p *SyncPage) Marshal() ([]byte, error) {
	if p.More && !p.Last {
		return nil, errors.New("hearth/protocol: sync page has more without last")
	}
	total := 0
	for _, e := range p.Envelopes {
		if len(e) == 0 {
			return nil, errors.New("hearth/protocol: sync page holds an empty envelope")
		}
		total += len(e)
	}
	if total > MaxSyncPageBytes {
		return nil, fmt.Errorf("hearth/protocol: sync page is %d bytes, at most %d allowed", total, MaxSyncPageBytes)
	}
	w := &writer{}
	w.u8(SyncTypePage)
	w.u8(syncVersion)
	var flags uint8
	if p.Last {
		flags |= pageFlagLast
	}
	if p.More {
		flags |= pageFlagMore
	}
	w.u8(flags)
	w.count16("envelopes", len(p.Envelopes), MaxSyncPageEnvelopes)
	for _, e := range p.Envelopes {
		w.bytes32("envelope", e, MaxSyncEnvelopeSize)
	}
	return w.finish()
}

// UnmarshalSyncPage decodes a page, returning ErrMalformed (wrapped) for
// anything but exactly one page within the bounds.
func UnmarshalSyncPage(b []byte) (*SyncPage, error) {
	r := newReader(b)
	syncHeader(r, SyncTypePage)
	flags := r.u8("flags")
	if r.err == nil && flags&^(pageFlagLast|pageFlagMore) != 0 {
		r.failf("flags", "unknown bits %#x", flags)
	}
	p := &SyncPage{Last: flags&pageFlagLast != 0, More: flags&pageFlagMore != 0}
	if r.err == nil && p.More && !p.Last {
		r.failf("flags", "more without last")
	}
	n := r.count16("envelopes", MaxSyncPageEnvelopes, 5)
	total := 0
	for i := 0; i < n && r.err == nil; i++ {
		e := r.bytes32("envelope", MaxSyncEnvelopeSize)
		if r.err == nil && len(e) == 0 {
			r.failf("envelope", "is empty")
		}
		total += len(e)
		if r.err == nil && total > MaxSyncPageBytes {
			r.failf("envelopes", "total over %d bytes", MaxSyncPageBytes)
		}
		p.Envelopes = append(p.Envelopes, e)
	}
	if err := r.finish(); err != nil {
		return nil, err
	}
	return p, nil
}

// SyncWant is one run of envelopes the responder holds and the requester
// lacks: the generations First..Last of Sender in Epoch.
type SyncWant struct {
	Epoch  uint64
	Sender uint32
	First  uint32
	Last   uint32
}

// SyncDiff returns what the responder (have) holds that the requester
// (theirs) does not, in ascending (epoch, sender, generation) order: for
// every entry of have, the parts of its runs that theirs' entry for the
// same (epoch, sender) does not cover. Both vectors must follow the order
// SyncProof.Marshal documents (as the decoder and storage give them).
// Control envelopes (crypto.ControlGeneration) are listed like any other
// generation; the node sends them regardless, since every member's control
// envelopes share that one generation.
func SyncDiff(have, theirs []VectorEntry) []SyncWant {
	var out []SyncWant
	j := 0
	for _, h := range have {
		for j < len(theirs) && (theirs[j].Epoch < h.Epoch || (theirs[j].Epoch == h.Epoch && theirs[j].Sender < h.Sender)) {
			j++
		}
		var cover []GenerationRun
		if j < len(theirs) && theirs[j].Epoch == h.Epoch && theirs[j].Sender == h.Sender {
			cover = theirs[j].Runs
		}
		for _, run := range h.Runs {
			out = appendUncovered(out, h.Epoch, h.Sender, run, cover)
		}
	}
	return out
}

// appendUncovered appends the parts of run not inside any of cover (sorted,
// disjoint).
func appendUncovered(out []SyncWant, epoch uint64, sender uint32, run GenerationRun, cover []GenerationRun) []SyncWant {
	next := uint64(run.First) // next generation not yet accounted for
	last := uint64(run.Last)
	for _, c := range cover {
		if next > last {
			break
		}
		cf, cl := uint64(c.First), uint64(c.Last)
		if cl < next || cf > last {
			continue
		}
		if cf > next {
			out = append(out, SyncWant{Epoch: epoch, Sender: sender, First: uint32(next), Last: uint32(cf - 1)})
		}
		next = cl + 1
	}
	if next <= last {
		out = append(out, SyncWant{Epoch: epoch, Sender: sender, First: uint32(next), Last: uint32(last)})
	}
	return out
}

// SyncRequest returns what this member asks for history as: the group,
// the session's current epoch (for a removed member, the last epoch it
// belonged to) and this member's index there.
func (s *Session) SyncRequest() SyncRequest {
	return SyncRequest{Group: s.cur.state.ID, Epoch: s.cur.state.Epoch, Index: s.me().Index}
}

// CurrentEpoch returns the session's current epoch (for a removed member,
// the last epoch it belonged to), without copying the group state.
func (s *Session) CurrentEpoch() uint64 { return s.cur.state.Epoch }

// SignSyncProof signs the proof for h with this member's credential
// (SignSyncProof, the function).
func (s *Session) SignSyncProof(challenge [SyncChallengeSize]byte, responder []byte, h *SyncRequest) ([]byte, error) {
	return SignSyncProof(s.cred, challenge, responder, h)
}

// CheckSyncRequest is the responder's check of a sync request against the
// rosters this session holds, and what the requester may be sent: the
// envelopes of epochs first through last, inclusive.
//
// When the session holds the roster of h.Epoch (its current epoch, or the
// previous one during its grace period) the proof is checked against it
// (CheckSyncProof); the requester is entitled from the epoch it joined in
// to h.Epoch, or to the current epoch when it is still in the current
// roster. For another epoch (a requester far behind or ahead) the proof is
// checked against the current roster, and the member must have joined at
// or before h.Epoch: indexes are never reused and a member's keys are its
// own for one stay in the group, so the member at that index now was the
// same member at every epoch since it joined. A member removed before the
// epochs this session holds, or one never in the group, gets nothing.
//
// It returns ErrNotSyncMember (wrapped) when the request is refused.
func (s *Session) CheckSyncRequest(challenge [SyncChallengeSize]byte, responder []byte, h *SyncRequest, sig []byte) (first, last uint64, err error) {
	cur := s.cur.state
	if h.Group != cur.ID {
		return 0, 0, fmt.Errorf("%w: another group", ErrNotSyncMember)
	}
	if ep, err := s.stateFor(h.Epoch); err == nil {
		m, err := CheckSyncProof(ep.state.Roster, challenge, responder, h, sig)
		if err != nil {
			return 0, 0, err
		}
		last = h.Epoch
		if now, ok := cur.MemberByIndex(m.Index); ok && now.ID == m.ID {
			last = cur.Epoch
		}
		return m.Joined, last, nil
	}
	m, err := CheckSyncProof(cur.Roster, challenge, responder, h, sig)
	if err != nil {
		return 0, 0, err
	}
	if m.Joined > h.Epoch {
		return 0, 0, fmt.Errorf("%w: member %d joined at epoch %d, after epoch %d", ErrNotSyncMember, m.Index, m.Joined, h.Epoch)
	}
	return m.Joined, cur.Epoch, nil
}

// IsCommit reports whether b is a control envelope carrying a commit, sealed
// in an epoch whose keys this session holds (its current epoch, or the
// previous one in its grace period). It changes nothing in the session: it
// opens the control content to read its type, nothing more, so it says
// nothing of whether the commit is valid. Whoever feeds a batch of
// envelopes in (history sync, the mailbox) uses it to apply an epoch's
// commit only after the epoch's other envelopes: once a commit has removed
// a member, that member's earlier posts of the epoch no longer open (Open
// refuses them as ErrPastEpoch), although live members accepted them.
func (s *Session) IsCommit(b []byte) bool {
	env, err := crypto.ParseEnvelope(b)
	if err != nil {
		return false
	}
	ep, err := s.epochFor(env.Epoch)
	if err != nil {
		return false
	}
	sd, err := env.OpenSender(&ep.keys.SenderData)
	if err != nil || sd.Generation != crypto.ControlGeneration {
		return false
	}
	author, ok := ep.state.MemberByIndex(sd.Index)
	if !ok {
		return false
	}
	pt, err := env.OpenContent(ep.state.ID, sd, &ep.control, author.Public)
	if err != nil {
		return false
	}
	return len(pt.Content) > 0 && ContentType(pt.Content[0]) == TypeCommit
}
