package crypto

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// This file is the envelope: the one binary format every group message
// travels in, as a gossipsub payload, in history sync and on disk.
//
//	offset  size  field
//	0       1     version (1)
//	1       8     epoch (u64 big-endian)
//	9       24    nonce (random)
//	33      24    sealed sender data: XChaCha20-Poly1305 under the epoch's
//	              sender-data key and the nonce, of member index (u32) ||
//	              generation (u32), with bytes 0..33 as associated data
//	57      rest  content: XChaCha20-Poly1305 under the message key and the
//	              same nonce, of the padded plaintext, with bytes 0..57 as
//	              associated data
//
// The padded plaintext is timestamp (i64, unix milliseconds) || content
// length (u32) || content || Ed25519 signature (64) || zero bytes up to the
// smallest bucket (256, 512, ..., 65536 bytes) that holds it. The signature
// is the author's MemberCredential.Sign("envelope", group ID (16) || epoch
// (8) || member index (4) || generation (4) || timestamp (8) || content).
//
// What an observer of the network sees: the version, the epoch number, a
// random nonce and a length that reveals only the bucket. Not the group (the
// topic is opaque and the group ID is never sent), not the sender, not the
// generation, not the exact length.

// EnvelopeVersion is the version byte of the envelopes this package seals.
const EnvelopeVersion = 1

// Envelope layout sizes and offsets.
const (
	// HeaderSize is the size of everything before the content ciphertext.
	HeaderSize = 1 + 8 + NonceSize + envSenderSealedSize

	envEpochOffset      = 1
	envNonceOffset      = 9
	envSenderOffset     = envNonceOffset + NonceSize // 33
	envSenderPlainSize  = 4 + 4
	envSenderSealedSize = envSenderPlainSize + TagSize // 24

	// envInnerOverhead is what the padded plaintext holds besides the
	// content: timestamp, content length and signature.
	envInnerOverhead = 8 + 4 + SignatureSize

	// MinBucket and MaxBucket are the smallest and largest padded
	// plaintext sizes. Every size in between is a power of two.
	MinBucket = 256
	MaxBucket = 65536

	// MinEnvelopeSize and MaxEnvelopeSize bound the size of every valid
	// envelope (329 and 65609 bytes).
	MinEnvelopeSize = HeaderSize + MinBucket + TagSize
	MaxEnvelopeSize = HeaderSize + MaxBucket + TagSize

	// MaxContentSize is the largest content one envelope carries (65460
	// bytes).
	MaxContentSize = MaxBucket - envInnerOverhead
)

// envSignPurpose is the purpose the author's signature is made for; no other
// Hearth signature uses it.
const envSignPurpose = "envelope"

// ErrMalformedEnvelope is returned (wrapped) when envelope bytes do not have
// the structure of a version 1 envelope, or when an authenticated plaintext
// is not well formed (its content length does not fit, it is not padded to
// the smallest bucket, or its padding is not zero).
var ErrMalformedEnvelope = errors.New("hearth/crypto: malformed envelope")

// ErrEnvelopeVersion is returned (wrapped) when an envelope has a version
// this package does not know. It most likely comes from a newer Hearth.
var ErrEnvelopeVersion = errors.New("hearth/crypto: unknown envelope version")

// ErrContentTooLarge is returned (wrapped) by SealEnvelope when the content is
// longer than MaxContentSize.
var ErrContentTooLarge = errors.New("hearth/crypto: content too large for an envelope")

// ErrBadSignature is returned (wrapped) by OpenContent when the content
// decrypted but the signature inside is not the given author's: a member
// tried to pass a message off as another's, or the caller looked up the
// wrong author.
var ErrBadSignature = errors.New("hearth/crypto: envelope signature does not verify")

// SenderData is what the sealed sender data of an envelope holds: who sent it
// (their index in the epoch's roster) and which generation of their chain
// seals the content.
type SenderData struct {
	Index      uint32
	Generation uint32
}

// SealInput is everything SealEnvelope needs. All pointers must be non-nil.
type SealInput struct {
	Group         GroupID
	Epoch         uint64
	SenderDataKey *[KeySize]byte // EpochKeys.SenderData of the epoch
	Sender        SenderData
	// MessageKey seals the content: the key SendChain.Next returned for
	// Sender.Generation, or, for a control envelope (Sender.Generation ==
	// ControlGeneration), the epoch's control key.
	MessageKey *MessageKey
	Author     *MemberCredential
	Timestamp  int64 // unix milliseconds
	Content    []byte
}

// Plaintext is what an opened envelope says.
type Plaintext struct {
	Timestamp int64 // unix milliseconds, as the author's clock said and signed
	Content   []byte
}

// envBucket returns the smallest bucket that holds n bytes of padded
// plaintext, or 0 when n is larger than MaxBucket.
func envBucket(n int) int {
	switch {
	case n <= MinBucket:
		return MinBucket
	case n > MaxBucket:
		return 0
	default:
		return 1 << bits.Len(uint(n-1))
	}
}

// envIsBucket reports whether n is one of the bucket sizes.
func envIsBucket(n int) bool {
	return n >= MinBucket && n <= MaxBucket && n&(n-1) == 0
}

// EnvelopeSize returns the size of the envelope that carries contentLen bytes
// of content, or ErrContentTooLarge (wrapped) when contentLen is larger than
// MaxContentSize.
func EnvelopeSize(contentLen int) (int, error) {
	if contentLen < 0 || contentLen > MaxContentSize {
		return 0, fmt.Errorf("%w: %d bytes, at most %d", ErrContentTooLarge, contentLen, MaxContentSize)
	}
	return HeaderSize + envBucket(envInnerOverhead+contentLen) + TagSize, nil
}

// envSignedMessage returns what the author signs: group ID || epoch ||
// member index || generation || timestamp || content.
func envSignedMessage(group GroupID, epoch uint64, sender SenderData, timestamp int64, content []byte) []byte {
	m := make([]byte, 0, GroupIDSize+8+4+4+8+len(content))
	m = append(m, group[:]...)
	m = binary.BigEndian.AppendUint64(m, epoch)
	m = binary.BigEndian.AppendUint32(m, sender.Index)
	m = binary.BigEndian.AppendUint32(m, sender.Generation)
	m = binary.BigEndian.AppendUint64(m, uint64(timestamp))
	return append(m, content...)
}

// SealEnvelope seals content from in.Author into an envelope of in.Group's
// epoch in.Epoch, with a random nonce read from r (crypto/rand when r is
// nil). It returns ErrContentTooLarge (wrapped) when the content is longer
// than MaxContentSize, and an error when r fails or a key is missing.
//
// The sender data and the content share the nonce. That is safe: they are
// sealed under different keys, and the nonce is random besides. A message
// key seals exactly one envelope; the epoch control key seals many, which
// the random 24-byte nonce makes safe (see NonceSize).
func SealEnvelope(in SealInput, r io.Reader) ([]byte, error) {
	if in.SenderDataKey == nil || in.MessageKey == nil || in.Author == nil {
		return nil, errors.New("hearth/crypto: seal envelope: sender-data key, message key and author are all required")
	}
	size, err := EnvelopeSize(len(in.Content))
	if err != nil {
		return nil, err
	}
	bucket := size - HeaderSize - TagSize

	out := make([]byte, HeaderSize, size)
	out[0] = EnvelopeVersion
	binary.BigEndian.PutUint64(out[envEpochOffset:], in.Epoch)
	nonce := out[envNonceOffset:envSenderOffset]
	if err := readRandom(r, nonce); err != nil {
		return nil, err
	}

	var sender [envSenderPlainSize]byte
	binary.BigEndian.PutUint32(sender[0:], in.Sender.Index)
	binary.BigEndian.PutUint32(sender[4:], in.Sender.Generation)
	sealWithNonce(out[envSenderOffset:envSenderOffset], in.SenderDataKey, nonce, sender[:], out[:envSenderOffset])

	sig := in.Author.Sign(envSignPurpose, envSignedMessage(in.Group, in.Epoch, in.Sender, in.Timestamp, in.Content))

	// Build the padded plaintext where its ciphertext will go and seal it
	// in place; the bytes past the signature are already zero.
	padded := out[HeaderSize : HeaderSize+bucket]
	binary.BigEndian.PutUint64(padded[0:], uint64(in.Timestamp))
	binary.BigEndian.PutUint32(padded[8:], uint32(len(in.Content)))
	n := copy(padded[12:], in.Content)
	copy(padded[12+n:], sig)
	out = sealWithNonce(out[:HeaderSize], (*[KeySize]byte)(in.MessageKey), nonce, padded, out[:HeaderSize])
	return out, nil
}

// Envelope is a parsed envelope whose structure has been checked but whose
// contents have not yet been opened.
type Envelope struct {
	// Version and Epoch are read from the header for the caller's
	// convenience (to find the epoch's keys). Changing them changes
	// neither Marshal nor what opens: those use the parsed bytes.
	Version uint8
	Epoch   uint64

	raw []byte // the envelope as parsed, owned by the Envelope
}

// ParseEnvelope checks the structure of b and returns it as an Envelope,
// which holds its own copy of b. It returns ErrEnvelopeVersion (wrapped)
// when the version byte is not 1, and ErrMalformedEnvelope (wrapped) when b
// is empty, shorter than MinEnvelopeSize, longer than MaxEnvelopeSize, or
// its content ciphertext minus the tag is not a bucket size. It opens
// nothing: a parsed envelope may still be a forgery.
func ParseEnvelope(b []byte) (*Envelope, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrMalformedEnvelope)
	}
	// The version is checked first so a newer Hearth's envelope, whose
	// layout may differ, is reported as such rather than as garbage.
	if b[0] != EnvelopeVersion {
		return nil, fmt.Errorf("%w: version %d", ErrEnvelopeVersion, b[0])
	}
	if len(b) < MinEnvelopeSize {
		return nil, fmt.Errorf("%w: %d bytes, at least %d required", ErrMalformedEnvelope, len(b), MinEnvelopeSize)
	}
	if len(b) > MaxEnvelopeSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d allowed", ErrMalformedEnvelope, len(b), MaxEnvelopeSize)
	}
	if padded := len(b) - HeaderSize - TagSize; !envIsBucket(padded) {
		return nil, fmt.Errorf("%w: padded content of %d bytes is not a bucket size", ErrMalformedEnvelope, padded)
	}
	return &Envelope{
		Version: b[0],
		Epoch:   binary.BigEndian.Uint64(b[envEpochOffset:]),
		raw:     append([]byte(nil), b...),
	}, nil
}

// Marshal returns a copy of exactly the bytes ParseEnvelope was given.
func (e *Envelope) Marshal() []byte { return append([]byte(nil), e.raw...) }

// ID returns EnvelopeID of the envelope's bytes.
func (e *Envelope) ID() [32]byte { return EnvelopeID(e.raw) }

// nonce returns the envelope's nonce.
func (e *Envelope) nonce() []byte { return e.raw[envNonceOffset:envSenderOffset] }

// OpenSender decrypts the sender data with the epoch's sender-data key. It
// returns ErrDecrypt (wrapped) when the key is not this epoch's or the
// header was changed. The result is authenticated by the sender-data key
// only, which every member holds: it tells the caller which member's chain
// and public key to try, and OpenContent then proves the claim.
func (e *Envelope) OpenSender(senderDataKey *[KeySize]byte) (SenderData, error) {
	var buf [envSenderPlainSize]byte
	if _, err := openWithNonce(buf[:0], senderDataKey, e.nonce(),
		e.raw[envSenderOffset:HeaderSize], e.raw[:envSenderOffset]); err != nil {
		return SenderData{}, fmt.Errorf("hearth/crypto: envelope sender data: %w", err)
	}
	return SenderData{
		Index:      binary.BigEndian.Uint32(buf[0:]),
		Generation: binary.BigEndian.Uint32(buf[4:]),
	}, nil
}

// OpenContent decrypts the content with the message key of sender's
// generation and checks that author (the roster's member at sender.Index)
// signed it for group, this epoch, sender and the timestamp. It returns
// ErrDecrypt (wrapped) when the message key is wrong or any byte of the
// envelope was changed, ErrMalformedEnvelope (wrapped) when the decrypted
// plaintext is not well formed, and ErrBadSignature (wrapped) when the
// signature is not author's over exactly these values.
//
// Only when OpenContent succeeds may the caller consume the generation
// (RecvChain.Consume); on any error the chain must stay as it was.
//
// The padded plaintext must be in canonical form (the smallest bucket, zero
// padding). Every member holds every chain key, so a member can re-encrypt
// another's signed plaintext; canonical form leaves such a member no bytes
// to vary but the nonce, and RecvChain rejects the second envelope of a
// generation.
func (e *Envelope) OpenContent(group GroupID, sender SenderData, key *MessageKey, author MemberPublic) (Plaintext, error) {
	pt, err := openWithNonce(nil, (*[KeySize]byte)(key), e.nonce(), e.raw[HeaderSize:], e.raw[:HeaderSize])
	if err != nil {
		return Plaintext{}, fmt.Errorf("hearth/crypto: envelope content: %w", err)
	}
	// ParseEnvelope guarantees len(pt) is a bucket size, so at least
	// MinBucket > envInnerOverhead bytes.
	timestamp := int64(binary.BigEndian.Uint64(pt[0:]))
	n := binary.BigEndian.Uint32(pt[8:])
	if uint64(n) > uint64(len(pt)-envInnerOverhead) {
		return Plaintext{}, fmt.Errorf("%w: content length %d does not fit in %d bytes", ErrMalformedEnvelope, n, len(pt))
	}
	if envBucket(envInnerOverhead+int(n)) != len(pt) {
		return Plaintext{}, fmt.Errorf("%w: %d bytes of content padded to %d, not to the smallest bucket", ErrMalformedEnvelope, n, len(pt))
	}
	content := pt[12 : 12+n : 12+n]
	sig := pt[12+n : 12+n+SignatureSize]
	if !envAllZero(pt[12+n+SignatureSize:]) {
		return Plaintext{}, fmt.Errorf("%w: padding is not zero", ErrMalformedEnvelope)
	}
	if !author.Verify(envSignPurpose, envSignedMessage(group, binary.BigEndian.Uint64(e.raw[envEpochOffset:]), sender, timestamp, content), sig) {
		return Plaintext{}, fmt.Errorf("%w: member %d generation %d", ErrBadSignature, sender.Index, sender.Generation)
	}
	return Plaintext{Timestamp: timestamp, Content: content}, nil
}

// envAllZero reports whether every byte of b is zero, eight bytes at a time
// (padding can be 64 KiB).
func envAllZero(b []byte) bool {
	var acc uint64
	for len(b) >= 8 {
		acc |= binary.LittleEndian.Uint64(b)
		b = b[8:]
	}
	for _, c := range b {
		acc |= uint64(c)
	}
	return acc == 0
}

// EnvelopeID returns the SHA-256 of an envelope's bytes. It is the gossipsub
// message ID (Hearth's pubsub runs with no author and no sequence number, so
// the ID must come from the payload) and the key the envelope is stored
// under.
//
// Gossipsub drops a payload it has seen before as a duplicate. Every envelope
// draws a fresh random nonce, and the nonce changes both ciphertexts, so two
// envelopes are never equal, even for the same content from the same member;
// an identical ID means the very same envelope bytes, replayed.
func EnvelopeID(b []byte) [32]byte { return sha256.Sum256(b) }
