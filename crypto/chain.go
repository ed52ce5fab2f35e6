package crypto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// This file holds the per-sender hash ratchets that give every message its
// own key.
//
// On entering an epoch each member draws a random chain key and sends it,
// HPKE-sealed, to every other member of the epoch. From chain key n:
//
//	message key n   = deriveKey(chain key n, "chain message", nil)
//	chain key n + 1 = deriveKey(chain key n, "chain next", nil)
//
// Both are one-way, so a chain key reveals the keys of its own and later
// generations only. Each side erases a chain key as soon as it has stepped
// past it, and a receiver erases a message key as soon as the message it
// opens has authenticated: a device seized later holds nothing that opens
// messages it has already read (forward secrecy within an epoch).
//
// Generations run from 0 to ControlGeneration-1 (2^32-2): ControlGeneration
// marks control envelopes sealed with the epoch control key (control.go),
// so no chain ever produces it.

// ChainKey is one step of a sender chain.
type ChainKey [KeySize]byte

// MessageKey seals the content of exactly one envelope.
type MessageKey [KeySize]byte

// NewChainKey draws a fresh chain key (generation 0) from r (crypto/rand when
// r is nil). It returns an error only when r fails.
func NewChainKey(r io.Reader) (*ChainKey, error) {
	var k ChainKey
	if err := readRandom(r, k[:]); err != nil {
		return nil, err
	}
	return &k, nil
}

// Wipe erases the key.
func (k *ChainKey) Wipe() { Wipe(k[:]) }

// Wipe erases the key.
func (k *MessageKey) Wipe() { Wipe(k[:]) }

// Labels of the ratchet; docs/PROTOCOL.md lists them.
const (
	chainLabelMessage = "chain message"
	chainLabelNext    = "chain next"
)

// MaxSkip bounds how far ahead of the next expected generation one message
// may jump: a generation g is accepted only while g < next + MaxSkip. It
// caps the work (and the keys stored) that one message can cause, at the
// cost of rejecting a message that arrives after more than MaxSkip-1 of its
// sender's later messages were lost; sync fetches those in order.
const MaxSkip = 1024

// MaxSkippedKeys bounds how many message keys of skipped generations a
// receive chain keeps for messages that have not arrived yet.
//
// Each kept key costs 36 bytes of memory and storage per sender, and each is
// a key that would open a message if the device were seized before the
// message arrived, so keeping them forever would both grow without bound and
// weaken forward secrecy. When consuming a generation would leave more than
// MaxSkippedKeys, the keys of the oldest (lowest) skipped generations are
// erased first; a message of such a generation that arrives later is
// rejected with ErrGenerationUsed, exactly like a replay. 2048 is two full
// MaxSkip jumps: ordinary reordering and loss on gossipsub never come close,
// and history sync delivers a sender's messages in generation order.
const MaxSkippedKeys = 2048

// ErrChainExhausted is returned by SendChain.Next when the chain has used its
// last generation (2^32-2). The member needs a new epoch to send again.
var ErrChainExhausted = errors.New("hearth/crypto: sender chain exhausted")

// ErrGenerationUsed is returned (wrapped) by RecvChain when a generation was
// already consumed, or its skipped key was evicted (see MaxSkippedKeys): the
// message is a duplicate, a replay, or arrived too late to be opened.
var ErrGenerationUsed = errors.New("hearth/crypto: generation already used")

// ErrTooFarAhead is returned (wrapped) by RecvChain when a generation is
// MaxSkip or more ahead of the next expected one, or is ControlGeneration,
// which no chain produces.
var ErrTooFarAhead = errors.New("hearth/crypto: generation too far ahead")

// chainAdvance replaces *ck by the chain key of the next generation,
// overwriting the old one in place.
func chainAdvance(ck *ChainKey) {
	next := ChainKey(deriveKey(ck[:], chainLabelNext, nil))
	*ck = next
	Wipe(next[:])
}

// chainMessageKey returns the message key of chain key ck.
func chainMessageKey(ck *ChainKey) MessageKey {
	return MessageKey(deriveKey(ck[:], chainLabelMessage, nil))
}

// chainIsZero reports whether k is all zeros, as the key of an exhausted or
// wiped chain must be.
func chainIsZero(k *ChainKey) bool {
	var acc byte
	for _, b := range k {
		acc |= b
	}
	return acc == 0
}

// Formats of the stored chain states: the first byte names both the chain
// kind and the format version.
const (
	chainFormatSend byte = 0x01
	chainFormatRecv byte = 0x02
)

// SendChain is the member's own chain in one epoch. It is not safe for
// concurrent use; the caller serialises calls.
type SendChain struct {
	key  ChainKey // chain key of generation next; zero once exhausted
	next uint32   // next generation to use; ControlGeneration once exhausted
}

// NewSendChain starts a send chain at generation 0 from a copy of key. The
// caller still holds key (to seal it to the other members) and wipes it when
// done.
func NewSendChain(key *ChainKey) *SendChain {
	return &SendChain{key: *key}
}

// Next returns the next generation and its message key, and advances the
// chain, erasing the chain key it stepped past. The caller wipes the message
// key once the envelope is sealed. After generation 2^32-2 it returns
// ErrChainExhausted.
func (c *SendChain) Next() (generation uint32, key MessageKey, err error) {
	if c.next == ControlGeneration {
		return 0, MessageKey{}, ErrChainExhausted
	}
	generation = c.next
	key = chainMessageKey(&c.key)
	c.next++
	if c.next == ControlGeneration {
		c.key.Wipe()
	} else {
		chainAdvance(&c.key)
	}
	return generation, key, nil
}

// Generation returns the generation the next call to Next will use, or
// ControlGeneration once the chain is exhausted.
func (c *SendChain) Generation() uint32 { return c.next }

// sendChainStateSize is the size of a stored send chain: format (1) ||
// next generation (u32) || chain key (32).
const sendChainStateSize = 1 + 4 + KeySize

// MarshalBinary returns the chain's state for sealed storage: 0x01 || next
// generation (u32 big-endian) || chain key (32). The result holds the chain
// key: seal it, and wipe it when done. It never returns an error.
func (c *SendChain) MarshalBinary() ([]byte, error) {
	b := make([]byte, sendChainStateSize)
	b[0] = chainFormatSend
	binary.BigEndian.PutUint32(b[1:], c.next)
	copy(b[5:], c.key[:])
	return b, nil
}

// UnmarshalSendChain parses the form MarshalBinary returns. It rejects a
// wrong length, an unknown format byte, and an exhausted chain whose key is
// not zero.
func UnmarshalSendChain(b []byte) (*SendChain, error) {
	if len(b) != sendChainStateSize {
		return nil, fmt.Errorf("hearth/crypto: send chain state is %d bytes, want %d", len(b), sendChainStateSize)
	}
	if b[0] != chainFormatSend {
		return nil, fmt.Errorf("hearth/crypto: send chain state has format 0x%02x, want 0x%02x", b[0], chainFormatSend)
	}
	c := &SendChain{next: binary.BigEndian.Uint32(b[1:])}
	copy(c.key[:], b[5:])
	if c.next == ControlGeneration && !chainIsZero(&c.key) {
		c.Wipe()
		return nil, errors.New("hearth/crypto: send chain state is exhausted but holds a key")
	}
	return c, nil
}

// Wipe erases the chain key. The chain is exhausted afterwards: Next returns
// ErrChainExhausted.
func (c *SendChain) Wipe() {
	c.key.Wipe()
	c.next = ControlGeneration
}

// RecvChain is our view of another member's chain in one epoch: the chain
// key of the next generation we expect, and the message keys of generations
// we skipped over and have not yet seen.
//
// Receiving is two-phase so that a message that fails to authenticate never
// changes the chain: Peek gives the message key without changing anything;
// Consume, called only once the message has fully authenticated (content
// and author signature), erases that generation's key and advances. A forger
// who knows the chain key (every member of the epoch does) can therefore
// not burn another member's generations with messages that fail the author
// signature.
//
// RecvChain is not safe for concurrent use; the caller serialises calls.
type RecvChain struct {
	key     ChainKey       // chain key of generation next; zero once exhausted
	next    uint32         // next unseen generation; ControlGeneration once exhausted
	skipped []chainSkipped // ascending by generation, every generation < next
}

// chainSkipped is the message key of a generation that was stepped over.
type chainSkipped struct {
	gen uint32
	key MessageKey
}

// NewRecvChain starts a receive chain at generation 0 from a copy of key.
// The caller wipes key when done.
func NewRecvChain(key *ChainKey) *RecvChain {
	return &RecvChain{key: *key}
}

// chainCheck classifies gen against the chain's state. It returns the index
// of gen's skipped key and found=true when gen is a kept skipped generation,
// found=false and a nil error when gen is at or ahead of next (within
// MaxSkip), and otherwise ErrGenerationUsed or ErrTooFarAhead, wrapped.
func (c *RecvChain) chainCheck(gen uint32) (index int, found bool, err error) {
	if gen < c.next {
		if i, ok := c.chainFind(gen); ok {
			return i, true, nil
		}
		return 0, false, fmt.Errorf("%w: generation %d was consumed or its key evicted", ErrGenerationUsed, gen)
	}
	if gen == ControlGeneration {
		return 0, false, fmt.Errorf("%w: generation %d is the control generation", ErrTooFarAhead, gen)
	}
	if uint64(gen) >= uint64(c.next)+MaxSkip {
		return 0, false, fmt.Errorf("%w: generation %d, next expected %d", ErrTooFarAhead, gen, c.next)
	}
	return 0, false, nil
}

// chainFind binary-searches the skipped keys for gen.
func (c *RecvChain) chainFind(gen uint32) (int, bool) {
	lo, hi := 0, len(c.skipped)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if c.skipped[mid].gen < gen {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < len(c.skipped) && c.skipped[lo].gen == gen
}

// Peek returns the message key of generation gen without changing the
// chain. It returns ErrGenerationUsed (wrapped) when gen was already
// consumed or its skipped key evicted, and ErrTooFarAhead (wrapped) when gen
// is MaxSkip or more ahead of the next expected generation. The caller wipes
// the key when done.
//
// A jump ahead costs up to MaxSkip-1 hash steps, and Consume repeats them;
// only members of the epoch can make a receiver do this, since the
// generation travels inside sender data sealed with the epoch's sender-data
// key.
func (c *RecvChain) Peek(gen uint32) (MessageKey, error) {
	i, found, err := c.chainCheck(gen)
	if err != nil {
		return MessageKey{}, err
	}
	if found {
		return c.skipped[i].key, nil
	}
	ck := c.key
	defer ck.Wipe()
	for g := c.next; g < gen; g++ {
		chainAdvance(&ck)
	}
	return chainMessageKey(&ck), nil
}

// Consume marks generation gen as received. Call it only after the message
// of that generation has fully authenticated. It erases gen's message key;
// when gen is ahead of the next expected generation, it keeps the message
// keys of the generations in between (evicting the oldest kept keys beyond
// MaxSkippedKeys), and advances the chain past gen, erasing every chain key
// it steps past. It returns the same errors as Peek for the same gen, and
// then changes nothing.
func (c *RecvChain) Consume(gen uint32) error {
	i, found, err := c.chainCheck(gen)
	if err != nil {
		return err
	}
	if found {
		c.skipped[i].key.Wipe()
		copy(c.skipped[i:], c.skipped[i+1:])
		last := len(c.skipped) - 1
		c.skipped[last] = chainSkipped{}
		c.skipped = c.skipped[:last]
		return nil
	}

	add := int(gen - c.next)
	if over := len(c.skipped) + add - MaxSkippedKeys; over > 0 {
		// add < MaxSkip <= MaxSkippedKeys, so only kept keys are evicted;
		// copy overwrites the evicted entries and the tail is cleared.
		n := copy(c.skipped, c.skipped[over:])
		clear(c.skipped[n:])
		c.skipped = c.skipped[:n]
	}
	c.chainReserve(len(c.skipped) + add)
	for g := c.next; g < gen; g++ {
		c.skipped = append(c.skipped, chainSkipped{gen: g, key: chainMessageKey(&c.key)})
		chainAdvance(&c.key)
	}
	// gen's own message key is never computed here: the caller holds it
	// from Peek and wipes it.
	c.next = gen + 1
	if c.next == ControlGeneration {
		c.key.Wipe()
	} else {
		chainAdvance(&c.key)
	}
	return nil
}

// chainReserve makes room for n skipped keys. It grows the slice itself,
// rather than letting append do it, so the old backing array (which holds
// message keys) is wiped instead of left to the garbage collector.
func (c *RecvChain) chainReserve(n int) {
	if n <= cap(c.skipped) {
		return
	}
	size := max(n, 2*cap(c.skipped), 16)
	size = min(size, MaxSkippedKeys)
	grown := make([]chainSkipped, len(c.skipped), size)
	copy(grown, c.skipped)
	clear(c.skipped[:cap(c.skipped)])
	c.skipped = grown
}

// Skipped returns how many skipped message keys the chain holds.
func (c *RecvChain) Skipped() int { return len(c.skipped) }

// recvChainHeaderSize is the fixed part of a stored receive chain: format (1)
// || next generation (u32) || chain key (32) || skipped count (u16).
const recvChainHeaderSize = 1 + 4 + KeySize + 2

// recvChainEntrySize is the size of one stored skipped key: generation (u32)
// || message key (32).
const recvChainEntrySize = 4 + KeySize

// MarshalBinary returns the chain's state for sealed storage: 0x02 || next
// generation (u32) || chain key (32) || skipped count (u16) || that many
// (generation (u32) || message key (32)) in ascending generation order, all
// integers big-endian. The result holds keys: seal it, and wipe it when
// done. It never returns an error.
func (c *RecvChain) MarshalBinary() ([]byte, error) {
	b := make([]byte, recvChainHeaderSize, recvChainHeaderSize+len(c.skipped)*recvChainEntrySize)
	b[0] = chainFormatRecv
	binary.BigEndian.PutUint32(b[1:], c.next)
	copy(b[5:], c.key[:])
	binary.BigEndian.PutUint16(b[5+KeySize:], uint16(len(c.skipped)))
	for _, s := range c.skipped {
		b = binary.BigEndian.AppendUint32(b, s.gen)
		b = append(b, s.key[:]...)
	}
	return b, nil
}

// UnmarshalRecvChain parses the form MarshalBinary returns. It rejects a
// wrong length, an unknown format byte, more than MaxSkippedKeys skipped
// keys, skipped generations that are not strictly ascending or not below
// the next generation, and an exhausted chain whose key is not zero.
func UnmarshalRecvChain(b []byte) (*RecvChain, error) {
	if len(b) < recvChainHeaderSize {
		return nil, fmt.Errorf("hearth/crypto: receive chain state is %d bytes, want at least %d", len(b), recvChainHeaderSize)
	}
	if b[0] != chainFormatRecv {
		return nil, fmt.Errorf("hearth/crypto: receive chain state has format 0x%02x, want 0x%02x", b[0], chainFormatRecv)
	}
	count := int(binary.BigEndian.Uint16(b[5+KeySize:]))
	if count > MaxSkippedKeys {
		return nil, fmt.Errorf("hearth/crypto: receive chain state holds %d skipped keys, at most %d allowed", count, MaxSkippedKeys)
	}
	if want := recvChainHeaderSize + count*recvChainEntrySize; len(b) != want {
		return nil, fmt.Errorf("hearth/crypto: receive chain state is %d bytes, want %d", len(b), want)
	}
	c := &RecvChain{next: binary.BigEndian.Uint32(b[1:])}
	copy(c.key[:], b[5:])
	if c.next == ControlGeneration && !chainIsZero(&c.key) {
		c.Wipe()
		return nil, errors.New("hearth/crypto: receive chain state is exhausted but holds a key")
	}
	if count > 0 {
		c.skipped = make([]chainSkipped, count)
	}
	rest := b[recvChainHeaderSize:]
	for i := range c.skipped {
		e := &c.skipped[i]
		e.gen = binary.BigEndian.Uint32(rest)
		copy(e.key[:], rest[4:recvChainEntrySize])
		rest = rest[recvChainEntrySize:]
		if e.gen >= c.next || (i > 0 && e.gen <= c.skipped[i-1].gen) {
			c.Wipe()
			return nil, errors.New("hearth/crypto: receive chain state has skipped generations out of order or not below the next generation")
		}
	}
	return c, nil
}

// Wipe erases the chain key and every skipped message key. The chain
// accepts nothing afterwards: Peek and Consume return ErrGenerationUsed or
// ErrTooFarAhead for every generation.
func (c *RecvChain) Wipe() {
	c.key.Wipe()
	clear(c.skipped[:cap(c.skipped)])
	c.skipped = nil
	c.next = ControlGeneration
}
