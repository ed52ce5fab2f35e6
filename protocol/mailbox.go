package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/hearthnet/hearth/crypto"
)

// This file holds the mailbox: how a group names its mailbox (Mailbox, in
// the group state, set by a host's SetMailbox change), the string a mailbox
// hands a host to be registered (MailboxRegistration), and the messages of
// /hearth/mailbox/1, the stream protocol between members and the mailbox.
//
// A mailbox is a node, typically a host's always-on machine, that joins a
// group's topics, stores every envelope that passes, and gives them back to
// members who prove they belong to the epoch. It is not a member: it is in
// no roster, and it holds per epoch only crypto.MailboxCapability (the
// topic ID and the sync authentication key), which every commit made while
// a mailbox is registered carries sealed to the mailbox's key
// (Commit.MailboxCapability). It can read nothing it stores.
//
// The exchange on /hearth/mailbox/1, requester R (a member) and mailbox M:
//
//	R -> M  MailboxHello      op, group, epoch
//	M -> R  MailboxChallenge  32 fresh random bytes
//	R -> M  MailboxFetch      proof, cursor           (op fetch)
//	M -> R  MailboxPage ...   envelopes of the epoch after the cursor
//	or
//	R -> M  MailboxDeliver    proof, epoch, sealed capability (op deliver, register)
//	M -> R  MailboxAck
//	or
//	R -> M  MailboxFetch      proof, 0                (op push)
//	M -> R  MailboxHave       IDs of what it holds of the epoch
//	R -> M  MailboxPage ...   envelopes it lacks; the last page has Last set
//	M -> R  MailboxAck
//
// The proof is crypto.MailboxProof over MailboxProofMessage under the key
// the op names: for fetch and deliver, the SyncAuth key of the hello's
// epoch (which the mailbox holds, and which only that epoch's members
// know); for register, the mailbox's registration token (which only those
// the mailbox's operator gave its registration string know). A deliver
// hands over the capability of the epoch after the hello's. A refusal, of
// whatever cause (an unknown group or epoch, a wrong proof, a limit), is
// the stream closing without a page or an ack, so an outsider learns
// nothing of which groups a mailbox serves.

// Mailbox names a group's mailbox in the group state: its libp2p peer ID
// (the bytes of peer.ID), its public key, and the addresses it listens on
// (binary multiaddrs), for members to reach it.
type Mailbox struct {
	PeerID []byte
	Key    crypto.MailboxPublic
	Addrs  [][]byte
}

// Bounds of a Mailbox.
const (
	// MaxMailboxPeerID bounds the bytes of a peer ID (an identity
	// multihash of an Ed25519 key is 38 bytes).
	MaxMailboxPeerID = 128
	// MaxMailboxAddrs bounds the addresses of a mailbox.
	MaxMailboxAddrs = 8
	// MaxMailboxAddrSize bounds one binary multiaddr.
	MaxMailboxAddrSize = 255
)

// maxMailboxSize is the largest encoded Mailbox.
const maxMailboxSize = 2 + MaxMailboxPeerID + crypto.MailboxPublicSize + 1 + MaxMailboxAddrs*(2+MaxMailboxAddrSize)

// ErrBadMailbox is returned (wrapped) for a Mailbox or registration that
// breaks its bounds.
var ErrBadMailbox = errors.New("hearth/protocol: malformed mailbox")

// check checks the bounds of m.
func (m *Mailbox) check() error {
	if len(m.PeerID) == 0 || len(m.PeerID) > MaxMailboxPeerID {
		return fmt.Errorf("%w: peer ID of %d bytes", ErrBadMailbox, len(m.PeerID))
	}
	if m.Key == (crypto.MailboxPublic{}) {
		return fmt.Errorf("%w: no key", ErrBadMailbox)
	}
	if len(m.Addrs) > MaxMailboxAddrs {
		return fmt.Errorf("%w: %d addresses, at most %d", ErrBadMailbox, len(m.Addrs), MaxMailboxAddrs)
	}
	for _, a := range m.Addrs {
		if len(a) == 0 || len(a) > MaxMailboxAddrSize {
			return fmt.Errorf("%w: an address of %d bytes", ErrBadMailbox, len(a))
		}
	}
	return nil
}

// Equal reports whether m and o name the same mailbox at the same
// addresses.
func (m *Mailbox) Equal(o *Mailbox) bool {
	if m == nil || o == nil {
		return m == o
	}
	return bytes.Equal(m.PeerID, o.PeerID) && m.Key == o.Key &&
		slices.EqualFunc(m.Addrs, o.Addrs, bytes.Equal)
}

// Clone returns a deep copy of m (nil for nil).
func (m *Mailbox) Clone() *Mailbox {
	if m == nil {
		return nil
	}
	c := &Mailbox{PeerID: bytes.Clone(m.PeerID), Key: m.Key}
	for _, a := range m.Addrs {
		c.Addrs = append(c.Addrs, bytes.Clone(a))
	}
	return c
}

// encode writes peer ID (len u16 ‖ bytes) ‖ key [32] ‖ count u8 ‖ per
// address (len u16 ‖ bytes).
func (m *Mailbox) encode(w *writer) {
	if err := m.check(); err != nil {
		w.fail(err)
		return
	}
	w.bytes16("mailbox peer ID", m.PeerID, MaxMailboxPeerID)
	w.fixed(m.Key[:])
	w.u8(uint8(len(m.Addrs)))
	for _, a := range m.Addrs {
		w.bytes16("mailbox address", a, MaxMailboxAddrSize)
	}
}

func decodeMailbox(r *reader) *Mailbox {
	m := &Mailbox{}
	m.PeerID = r.bytes16("mailbox peer ID", MaxMailboxPeerID)
	r.fixed("mailbox key", m.Key[:])
	n := int(r.u8("mailbox addresses"))
	if r.err == nil && n > MaxMailboxAddrs {
		r.failf("mailbox addresses", "%d, at most %d", n, MaxMailboxAddrs)
	}
	for i := 0; i < n && r.err == nil; i++ {
		m.Addrs = append(m.Addrs, r.bytes16("mailbox address", MaxMailboxAddrSize))
	}
	if r.err != nil {
		return nil
	}
	r.check("mailbox", m.check())
	return m
}

// SetMailbox names the group's mailbox, or with a nil Mailbox removes it.
// Only hosts make it. From the epoch it makes on, every commit carries the
// new epoch's capability sealed to the mailbox (Commit.MailboxCapability);
// the mailbox holds nothing of the epochs before.
type SetMailbox struct {
	Mailbox *Mailbox
}

// changeSetMailbox is SetMailbox's change kind on the wire.
const changeSetMailbox = 4

// target is the zero member ID: a SetMailbox touches no member, and a
// commit may carry one at most (a second touches the same "member").
func (c SetMailbox) target() crypto.MemberID { return crypto.MemberID{} }

// encode writes kind ‖ present u8 (0 or 1) ‖ the mailbox when present.
func (c SetMailbox) encode(w *writer) {
	w.u8(changeSetMailbox)
	if c.Mailbox == nil {
		w.u8(0)
		return
	}
	w.u8(1)
	c.Mailbox.encode(w)
}

func decodeSetMailbox(r *reader) Change {
	switch p := r.u8("mailbox present"); {
	case r.err != nil:
		return nil
	case p == 0:
		return SetMailbox{}
	case p == 1:
		return SetMailbox{Mailbox: decodeMailbox(r)}
	default:
		r.failf("mailbox present", "is %d", p)
		return nil
	}
}

// applySetMailbox applies c to next in place: hosts only, and it must
// change something.
func applySetMailbox(next *GroupState, committer Member, c SetMailbox) error {
	if committer.Role != RoleHost {
		return fmt.Errorf("%w: only hosts name the group's mailbox", ErrNotAllowed)
	}
	if c.Mailbox != nil {
		if err := c.Mailbox.check(); err != nil {
			return fmt.Errorf("%w: %w", ErrBadChange, err)
		}
	}
	if next.Mailbox.Equal(c.Mailbox) {
		return fmt.Errorf("%w: the mailbox is already so", ErrBadChange)
	}
	next.Mailbox = c.Mailbox.Clone()
	return nil
}

// groupStateMailboxVersion is the GroupState version that carries a
// mailbox: the version 1 encoding followed by the Mailbox. A state without
// a mailbox is always encoded as version 1, and a state with one always as
// version 2, so each state has one encoding (and one StateHash).
const groupStateMailboxVersion = 2

// commitMailboxVersion is the Commit version that carries a sealed mailbox
// capability: the version 1 encoding of the body followed by the capability
// (exactly crypto.MailboxCapabilitySealedSize bytes), then the signature.
// A commit whose new state names a mailbox is always version 2, any other
// always version 1.
const commitMailboxVersion = 2

// MailboxRegistration is what a mailbox's operator gives a host to
// register it for a group: the Mailbox (peer ID, key, addresses) and the
// registration token, a secret that proves to the mailbox that the
// operator agreed. The token never enters the group state.
type MailboxRegistration struct {
	Mailbox Mailbox
	Token   [crypto.MailboxTokenSize]byte
}

// mailboxRegistrationVersion begins an encoded registration.
const mailboxRegistrationVersion = 1

// Marshal encodes the registration: version ‖ Mailbox ‖ token [32].
func (m *MailboxRegistration) Marshal() ([]byte, error) {
	var w writer
	w.u8(mailboxRegistrationVersion)
	m.Mailbox.encode(&w)
	w.fixed(m.Token[:])
	return w.finish()
}

// UnmarshalMailboxRegistration decodes what Marshal produces, returning
// ErrMalformed (wrapped) for anything else.
func UnmarshalMailboxRegistration(b []byte) (*MailboxRegistration, error) {
	r := newReader(b)
	if v := r.u8("registration version"); r.err == nil && v != mailboxRegistrationVersion {
		r.failf("registration version", "%d is not supported", v)
	}
	m := &MailboxRegistration{}
	if mb := decodeMailbox(r); mb != nil {
		m.Mailbox = *mb
	}
	r.fixed("token", m.Token[:])
	if err := r.finish(); err != nil {
		return nil, err
	}
	return m, nil
}

// Mailbox message types: the first byte of every /hearth/mailbox/1
// message; the second is mailboxVersion.
const (
	MailboxTypeHello     uint8 = 1
	MailboxTypeChallenge uint8 = 2
	MailboxTypeFetch     uint8 = 3
	MailboxTypeDeliver   uint8 = 4
	MailboxTypePage      uint8 = 5
	MailboxTypeAck       uint8 = 6
	MailboxTypeHave      uint8 = 7
)

const mailboxVersion = 1

// MailboxOp is what a hello asks for.
type MailboxOp uint8

const (
	// MailboxFetchOp asks for the envelopes of the hello's epoch.
	MailboxFetchOp MailboxOp = 1
	// MailboxDeliverOp hands over the next epoch's capability, proven with
	// the hello's epoch's SyncAuth.
	MailboxDeliverOp MailboxOp = 2
	// MailboxRegisterOp hands over the capability of the hello's epoch,
	// proven with the registration token: the first of a group.
	MailboxRegisterOp MailboxOp = 3
	// MailboxPushOp hands the mailbox envelopes of the hello's epoch that
	// it lacks (it hears only gossip; a member may hold envelopes that
	// reached it by history sync, or while the mailbox was down).
	MailboxPushOp MailboxOp = 4
)

// Bounds of mailbox messages.
const (
	// MaxMailboxPageEnvelopes bounds the envelopes of one page.
	MaxMailboxPageEnvelopes = MaxSyncPageEnvelopes
	// MaxMailboxPageBytes bounds the envelope bytes of one page.
	MaxMailboxPageBytes = MaxSyncPageBytes
	// MaxMailboxFrame bounds one framed message.
	MaxMailboxFrame = 2 + 1 + 4 + 2 + MaxMailboxPageBytes + 4*MaxMailboxPageEnvelopes
	// MailboxProofSize is the size of a proof (HMAC-SHA256).
	MailboxProofSize = 32
	// MaxMailboxHave bounds the envelope IDs a MailboxHave lists.
	MaxMailboxHave = 1 << 16
	// MailboxHavePrefix is how many bytes of each envelope ID a
	// MailboxHave carries: enough that two envelopes of one epoch never
	// share them by chance.
	MailboxHavePrefix = 8
	// MaxMailboxHaveFrame bounds an encoded MailboxHave.
	MaxMailboxHaveFrame = 2 + 4 + MaxMailboxHave*MailboxHavePrefix
)

// MailboxHello opens a request.
type MailboxHello struct {
	Op    MailboxOp
	Group crypto.GroupID
	Epoch uint64
}

// MailboxHelloSize is the exact size of an encoded hello.
const MailboxHelloSize = 2 + 1 + crypto.GroupIDSize + 8

func mailboxHeader(w *writer, t uint8) {
	w.u8(t)
	w.u8(mailboxVersion)
}

func readMailboxHeader(r *reader, want uint8) {
	if t := r.u8("type"); r.err == nil && t != want {
		r.failf("type", "is %d, want %d", t, want)
	}
	if v := r.u8("version"); r.err == nil && v != mailboxVersion {
		r.failf("version", "%d is not supported", v)
	}
}

// Marshal encodes the hello: type ‖ version ‖ op u8 ‖ group [16] ‖ epoch
// u64.
func (h *MailboxHello) Marshal() []byte {
	var w writer
	mailboxHeader(&w, MailboxTypeHello)
	w.u8(uint8(h.Op))
	w.fixed(h.Group[:])
	w.u64(h.Epoch)
	return w.b
}

// UnmarshalMailboxHello decodes a hello, returning ErrMalformed (wrapped)
// for anything but exactly one with a known op.
func UnmarshalMailboxHello(b []byte) (*MailboxHello, error) {
	r := newReader(b)
	readMailboxHeader(r, MailboxTypeHello)
	h := &MailboxHello{Op: MailboxOp(r.u8("op"))}
	if r.err == nil && (h.Op < MailboxFetchOp || h.Op > MailboxPushOp) {
		r.failf("op", "%d is not known", h.Op)
	}
	r.fixed("group", h.Group[:])
	h.Epoch = r.u64("epoch")
	if err := r.finish(); err != nil {
		return nil, err
	}
	return h, nil
}

// MailboxChallenge is the mailbox's fresh random challenge.
type MailboxChallenge struct {
	Nonce [SyncChallengeSize]byte
}

// MailboxChallengeSize is the exact size of an encoded challenge.
const MailboxChallengeSize = 2 + SyncChallengeSize

// Marshal encodes the challenge: type ‖ version ‖ nonce [32].
func (c *MailboxChallenge) Marshal() []byte {
	var w writer
	mailboxHeader(&w, MailboxTypeChallenge)
	w.fixed(c.Nonce[:])
	return w.b
}

// UnmarshalMailboxChallenge decodes a challenge.
func UnmarshalMailboxChallenge(b []byte) (*MailboxChallenge, error) {
	r := newReader(b)
	readMailboxHeader(r, MailboxTypeChallenge)
	c := &MailboxChallenge{}
	r.fixed("nonce", c.Nonce[:])
	if err := r.finish(); err != nil {
		return nil, err
	}
	return c, nil
}

// MailboxFetch asks for the envelopes of the hello's epoch that the
// mailbox stored after the one numbered After (0 for all): the mailbox
// numbers each epoch's envelopes 1, 2, 3, ... as they arrive.
type MailboxFetch struct {
	Proof [MailboxProofSize]byte
	After uint32
}

// MailboxFetchSize is the exact size of an encoded fetch.
const MailboxFetchSize = 2 + MailboxProofSize + 4

// Marshal encodes the fetch: type ‖ version ‖ proof [32] ‖ after u32.
func (f *MailboxFetch) Marshal() []byte {
	var w writer
	mailboxHeader(&w, MailboxTypeFetch)
	w.fixed(f.Proof[:])
	w.u32(f.After)
	return w.b
}

// UnmarshalMailboxFetch decodes a fetch.
func UnmarshalMailboxFetch(b []byte) (*MailboxFetch, error) {
	r := newReader(b)
	readMailboxHeader(r, MailboxTypeFetch)
	f := &MailboxFetch{}
	r.fixed("proof", f.Proof[:])
	f.After = r.u32("after")
	if err := r.finish(); err != nil {
		return nil, err
	}
	return f, nil
}

// MailboxDeliver hands the mailbox the capability of Epoch, sealed to it
// (crypto.SealMailboxCapability) exactly as the commit that made Epoch
// carries it.
type MailboxDeliver struct {
	Proof  [MailboxProofSize]byte
	Epoch  uint64
	Sealed []byte
}

// MailboxDeliverSize is the exact size of an encoded deliver.
const MailboxDeliverSize = 2 + MailboxProofSize + 8 + crypto.MailboxCapabilitySealedSize

// Marshal encodes the deliver: type ‖ version ‖ proof [32] ‖ epoch u64 ‖
// sealed capability [112]. It fails when Sealed has another size.
func (d *MailboxDeliver) Marshal() ([]byte, error) {
	if len(d.Sealed) != crypto.MailboxCapabilitySealedSize {
		return nil, fmt.Errorf("%w: sealed capability of %d bytes", ErrBadMailbox, len(d.Sealed))
	}
	var w writer
	mailboxHeader(&w, MailboxTypeDeliver)
	w.fixed(d.Proof[:])
	w.u64(d.Epoch)
	w.fixed(d.Sealed)
	return w.b, nil
}

// UnmarshalMailboxDeliver decodes a deliver.
func UnmarshalMailboxDeliver(b []byte) (*MailboxDeliver, error) {
	r := newReader(b)
	readMailboxHeader(r, MailboxTypeDeliver)
	d := &MailboxDeliver{Sealed: make([]byte, crypto.MailboxCapabilitySealedSize)}
	r.fixed("proof", d.Proof[:])
	d.Epoch = r.u64("epoch")
	r.fixed("sealed capability", d.Sealed)
	if err := r.finish(); err != nil {
		return nil, err
	}
	return d, nil
}

// MailboxHave answers a push: the first MailboxHavePrefix bytes of the ID
// of every envelope the mailbox holds of the epoch (its newest
// MaxMailboxHave when it holds more), so the member sends only what it
// lacks.
type MailboxHave struct {
	IDs [][MailboxHavePrefix]byte
}

// Marshal encodes the have list: type ‖ version ‖ count u32 ‖ count × [8].
func (h *MailboxHave) Marshal() ([]byte, error) {
	if len(h.IDs) > MaxMailboxHave {
		return nil, fmt.Errorf("hearth/protocol: have list of %d IDs, at most %d", len(h.IDs), MaxMailboxHave)
	}
	var w writer
	mailboxHeader(&w, MailboxTypeHave)
	w.u32(uint32(len(h.IDs)))
	for _, id := range h.IDs {
		w.fixed(id[:])
	}
	return w.b, nil
}

// UnmarshalMailboxHave decodes a have list.
func UnmarshalMailboxHave(b []byte) (*MailboxHave, error) {
	r := newReader(b)
	readMailboxHeader(r, MailboxTypeHave)
	n := r.u32("count")
	if r.err == nil && (n > MaxMailboxHave || int(n) > len(r.b)/MailboxHavePrefix) {
		r.failf("count", "%d IDs do not fit", n)
	}
	h := &MailboxHave{}
	for i := 0; i < int(n) && r.err == nil; i++ {
		var id [MailboxHavePrefix]byte
		r.fixed("id", id[:])
		h.IDs = append(h.IDs, id)
	}
	if err := r.finish(); err != nil {
		return nil, err
	}
	return h, nil
}

// MailboxAck acknowledges a deliver or register: the mailbox now holds the
// capability and has joined the epoch's topic.
type MailboxAck struct{}

// MailboxAckSize is the exact size of an encoded ack.
const MailboxAckSize = 2

// Marshal encodes the ack: type ‖ version.
func (MailboxAck) Marshal() []byte { return []byte{MailboxTypeAck, mailboxVersion} }

// UnmarshalMailboxAck decodes an ack.
func UnmarshalMailboxAck(b []byte) error {
	r := newReader(b)
	readMailboxHeader(r, MailboxTypeAck)
	return r.finish()
}

// MailboxPage carries stored envelopes of one epoch, in the order the
// mailbox numbered them. Cursor is the number of the page's last envelope
// (the request's After when the page is empty): the requester's After for
// its next fetch. Last is set on the final page of a response, More with
// it when the mailbox stopped at its byte budget.
type MailboxPage struct {
	Last, More bool
	Cursor     uint32
	Envelopes  [][]byte
}

// Marshal encodes the page: type ‖ version ‖ flags u8 (bit 0 last, bit 1
// more) ‖ cursor u32 ‖ count u16 ‖ per envelope (len u32 ‖ bytes). It fails
// when a bound is exceeded, an envelope is empty or larger than
// crypto.MaxEnvelopeSize, or More is set without Last.
func (p *MailboxPage) Marshal() ([]byte, error) {
	if p.More && !p.Last {
		return nil, errors.New("hearth/protocol: mailbox page has more without last")
	}
	total := 0
	for _, e := range p.Envelopes {
		if len(e) == 0 {
			return nil, errors.New("hearth/protocol: mailbox page holds an empty envelope")
		}
		total += len(e)
	}
	if total > MaxMailboxPageBytes {
		return nil, fmt.Errorf("hearth/protocol: mailbox page is %d bytes, at most %d allowed", total, MaxMailboxPageBytes)
	}
	var w writer
	mailboxHeader(&w, MailboxTypePage)
	var flags uint8
	if p.Last {
		flags |= pageFlagLast
	}
	if p.More {
		flags |= pageFlagMore
	}
	w.u8(flags)
	w.u32(p.Cursor)
	w.count16("envelopes", len(p.Envelopes), MaxMailboxPageEnvelopes)
	for _, e := range p.Envelopes {
		w.bytes32("envelope", e, crypto.MaxEnvelopeSize)
	}
	return w.finish()
}

// UnmarshalMailboxPage decodes a page, returning ErrMalformed (wrapped) for
// anything but exactly one page within the bounds.
func UnmarshalMailboxPage(b []byte) (*MailboxPage, error) {
	r := newReader(b)
	readMailboxHeader(r, MailboxTypePage)
	flags := r.u8("flags")
	if r.err == nil && flags&^(pageFlagLast|pageFlagMore) != 0 {
		r.failf("flags", "unknown bits %#x", flags)
	}
	p := &MailboxPage{Last: flags&pageFlagLast != 0, More: flags&pageFlagMore != 0}
	if r.err == nil && p.More && !p.Last {
		r.failf("flags", "more without last")
	}
	p.Cursor = r.u32("cursor")
	n := r.count16("envelopes", MaxMailboxPageEnvelopes, 5)
	total := 0
	for i := 0; i < n && r.err == nil; i++ {
		e := r.bytes32("envelope", crypto.MaxEnvelopeSize)
		if r.err == nil && len(e) == 0 {
			r.failf("envelope", "is empty")
		}
		total += len(e)
		if r.err == nil && total > MaxMailboxPageBytes {
			r.failf("envelopes", "total over %d bytes", MaxMailboxPageBytes)
		}
		p.Envelopes = append(p.Envelopes, e)
	}
	if err := r.finish(); err != nil {
		return nil, err
	}
	return p, nil
}

// MailboxProofMessage is what a proof MACs: the challenge, the mailbox's
// peer ID, the hello, and the request that follows it, as
//
//	challenge [32] ‖ len u16 ‖ mailbox peer ID ‖ op u8 ‖ group [16] ‖ epoch u64 ‖ request
//
// where request is after u32 for a fetch or push, and epoch u64 ‖ sealed
// capability for a deliver or register. Binding the mailbox's ID keeps a
// proof from being replayed to another mailbox, the challenge from being
// replayed at all, and the request from being swapped for another under
// the same proof.
func MailboxProofMessage(challenge [SyncChallengeSize]byte, mailbox []byte, h *MailboxHello, request []byte) ([]byte, error) {
	var w writer
	w.fixed(challenge[:])
	w.bytes16("mailbox peer ID", mailbox, 256)
	w.u8(uint8(h.Op))
	w.fixed(h.Group[:])
	w.u64(h.Epoch)
	w.fixed(request)
	return w.finish()
}

// FetchRequest returns the request bytes of a fetch for MailboxProofMessage.
func (f *MailboxFetch) FetchRequest() []byte {
	var w writer
	w.u32(f.After)
	return w.b
}

// DeliverRequest returns the request bytes of a deliver for
// MailboxProofMessage.
func (d *MailboxDeliver) DeliverRequest() []byte {
	var w writer
	w.u64(d.Epoch)
	w.fixed(d.Sealed)
	return w.b
}
