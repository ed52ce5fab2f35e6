package crypto

import (
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/sha256"
	"fmt"
	"io"
)

// This file is the mailbox's cryptography: the long-term X25519 key pair a
// mailbox node is known by, the capability members hand it for each epoch
// (the topic ID and the sync authentication key, nothing else), sealed to
// that key with HPKE, and the MAC proofs with which members and the mailbox
// recognise each other on /hearth/mailbox/1.
//
// A mailbox is a node that stores a group's envelopes for members who are
// offline. It holds, per epoch, exactly MailboxCapability: TopicID (to join
// the epoch's topic) and SyncAuth (to check that whoever asks for the
// epoch's envelopes knows it, which only the epoch's members do). It never
// holds the epoch secret, the sender-data key, the control key or any chain
// key, so it can open neither the sender data nor the content of anything
// it stores. The capability is derived, like every epoch key, by a separate
// HKDF derivation from the epoch secret (schedule.go): knowing TopicID and
// SyncAuth reveals nothing of the secret or of the other keys.

// SecretMailboxCapability is the kind bound into the HPKE info of a sealed
// mailbox capability (see hpkeInfo), so that a capability never opens as
// an epoch secret, a chain key or a note key, nor any of those as a
// capability. Its sealed size is MailboxCapabilitySealedSize.
const SecretMailboxCapability SecretKind = 5

// MailboxPublicSize is the size of a mailbox's public key: an X25519 key.
const MailboxPublicSize = 32

// MailboxPublic is a mailbox's public X25519 (HPKE) key.
type MailboxPublic [MailboxPublicSize]byte

// ID returns the mailbox's ID, the first MemberIDSize bytes of
// SHA-256("hearth v1 mailbox id" || key). It stands in for the recipient's
// member ID in the HPKE info, so a capability sealed to one mailbox cannot
// be passed off as sealed to another.
func (p MailboxPublic) ID() MemberID {
	h := sha256.New()
	h.Write([]byte(labelPrefix + "mailbox id"))
	h.Write(p[:])
	var id MemberID
	copy(id[:], h.Sum(nil))
	return id
}

// MailboxKey is a mailbox's long-term X25519 key pair. It lives only on the
// mailbox node, sealed in its store.
type MailboxKey struct {
	priv *ecdh.PrivateKey
}

// MailboxKeySize is the size of a marshalled MailboxKey: the X25519 scalar.
const MailboxKeySize = 32

// NewMailboxKey draws a fresh mailbox key pair from r (crypto/rand when r
// is nil). It returns an error only when r fails.
func NewMailboxKey(r io.Reader) (*MailboxKey, error) {
	var b [MailboxKeySize]byte
	if err := readRandom(r, b[:]); err != nil {
		return nil, err
	}
	defer Wipe(b[:])
	return UnmarshalMailboxKey(b[:])
}

// UnmarshalMailboxKey rebuilds a key pair from what Marshal returned. It
// returns an error for anything but MailboxKeySize bytes.
func UnmarshalMailboxKey(b []byte) (*MailboxKey, error) {
	if len(b) != MailboxKeySize {
		return nil, fmt.Errorf("hearth/crypto: mailbox key is %d bytes, want %d", len(b), MailboxKeySize)
	}
	k, err := ecdh.X25519().NewPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("hearth/crypto: mailbox key: %w", err)
	}
	return &MailboxKey{priv: k}, nil
}

// Marshal returns the private scalar, for the caller to store sealed and
// wipe.
func (k *MailboxKey) Marshal() []byte { return k.priv.Bytes() }

// Public returns the key pair's public key.
func (k *MailboxKey) Public() MailboxPublic {
	var p MailboxPublic
	copy(p[:], k.priv.PublicKey().Bytes())
	return p
}

// MailboxCapability is what a mailbox holds for one epoch of one group:
// the topic ID (to join the epoch's topic) and the sync authentication key
// (to recognise the epoch's members). See the top of this file for what it
// deliberately leaves out.
type MailboxCapability struct {
	TopicID  [KeySize]byte
	SyncAuth [KeySize]byte
}

// mailboxCapabilitySize is the size of a capability's plaintext.
const mailboxCapabilitySize = 2 * KeySize

// MailboxCapabilitySealedSize is the exact size of a sealed capability:
// the 32-byte encapsulated key, the 64-byte capability and a 16-byte tag.
const MailboxCapabilitySealedSize = hpkeEncSize + mailboxCapabilitySize + hpkeTagSize

// MailboxCapability returns the epoch's capability for a mailbox: copies
// of TopicID and SyncAuth.
func (k EpochKeys) MailboxCapability() MailboxCapability {
	return MailboxCapability{TopicID: k.TopicID, SyncAuth: k.SyncAuth}
}

// Topic returns the epoch's gossipsub topic name, as EpochKeys.Topic.
func (c *MailboxCapability) Topic() string {
	return EpochKeys{TopicID: c.TopicID}.Topic()
}

// Wipe erases both keys.
func (c *MailboxCapability) Wipe() {
	Wipe(c.TopicID[:])
	Wipe(c.SyncAuth[:])
}

// SealMailboxCapability seals c to the mailbox to for the given group and
// epoch, with the HPKE suite of hpke.go and the info hpkeInfo(
// SecretMailboxCapability, group, epoch, zero member ID, to.ID()). The
// result is exactly MailboxCapabilitySealedSize bytes and differs on every
// call. It returns an error wrapping ErrBadPublicKey when to is not a
// usable X25519 key.
func SealMailboxCapability(to MailboxPublic, group GroupID, epoch uint64, c *MailboxCapability) ([]byte, error) {
	if to == (MailboxPublic{}) {
		return nil, fmt.Errorf("%w: all-zero mailbox key", ErrBadPublicKey)
	}
	ecdhPub, err := ecdh.X25519().NewPublicKey(to[:])
	if err != nil {
		return nil, fmt.Errorf("%w: mailbox key: %w", ErrBadPublicKey, err)
	}
	pub, err := hpke.NewDHKEMPublicKey(ecdhPub)
	if err != nil {
		return nil, fmt.Errorf("%w: mailbox key: %w", ErrBadPublicKey, err)
	}
	plain := make([]byte, 0, mailboxCapabilitySize)
	plain = append(plain, c.TopicID[:]...)
	plain = append(plain, c.SyncAuth[:]...)
	defer Wipe(plain)
	info := hpkeInfo(SecretMailboxCapability, group, epoch, MemberID{}, to.ID())
	sealed, err := hpke.Seal(pub, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), info, plain)
	if err != nil {
		// The only input that can make it fail is a key X25519 refuses
		// (a low-order point).
		return nil, fmt.Errorf("%w: hpke seal: %w", ErrBadPublicKey, err)
	}
	if len(sealed) != MailboxCapabilitySealedSize {
		panic("hearth/crypto: hpke produced an unexpected sealed size")
	}
	return sealed, nil
}

// OpenCapability opens a capability sealed to k for the given group and
// epoch. It returns an error wrapping ErrMalformedSealed when sealed is not
// MailboxCapabilitySealedSize bytes, and ErrDecrypt when it does not open:
// sealed to another key, for another group or epoch, or changed.
func (k *MailboxKey) OpenCapability(group GroupID, epoch uint64, sealed []byte) (*MailboxCapability, error) {
	if len(sealed) != MailboxCapabilitySealedSize {
		return nil, fmt.Errorf("%w: mailbox capability is %d bytes, want %d", ErrMalformedSealed, len(sealed), MailboxCapabilitySealedSize)
	}
	priv, err := hpke.NewDHKEMPrivateKey(k.priv)
	if err != nil {
		return nil, fmt.Errorf("hearth/crypto: hpke private key: %w", err)
	}
	info := hpkeInfo(SecretMailboxCapability, group, epoch, MemberID{}, k.Public().ID())
	plain, err := hpke.Open(priv, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), info, sealed)
	if err != nil {
		return nil, ErrDecrypt
	}
	defer Wipe(plain)
	c := new(MailboxCapability)
	copy(c.TopicID[:], plain[:KeySize])
	copy(c.SyncAuth[:], plain[KeySize:])
	return c, nil
}

// MailboxTokenSize is the size of a mailbox's registration token.
const MailboxTokenSize = KeySize

// mailboxProofLabel begins every message a mailbox proof MACs.
const mailboxProofLabel = labelPrefix + "mailbox proof"

// MailboxProof returns HMAC-SHA256 under key (an epoch's SyncAuth, or a
// mailbox's registration token) of "hearth v1 mailbox proof" || 0x00 ||
// msg. The caller builds msg from a fresh challenge and everything the
// proof must stay bound to (protocol.MailboxProofMessage).
//
// A MAC is what fits here: the mailbox has no roster to check a member's
// signature against, only the epoch's SyncAuth, which every member of the
// epoch holds and nobody else does. The proof shows knowledge of the key
// without revealing it, and the fresh challenge keeps it from being
// replayed.
func MailboxProof(key *[KeySize]byte, msg []byte) [32]byte {
	b := make([]byte, 0, len(mailboxProofLabel)+1+len(msg))
	b = append(b, mailboxProofLabel...)
	b = append(b, 0)
	b = append(b, msg...)
	return mac(key, b)
}

// CheckMailboxProof reports, in constant time, whether proof is
// MailboxProof(key, msg).
func CheckMailboxProof(key *[KeySize]byte, msg, proof []byte) bool {
	want := MailboxProof(key, msg)
	return Equal(want[:], proof)
}

// NewMailboxToken draws a registration token from r (crypto/rand when r is
// nil).
func NewMailboxToken(r io.Reader) (*[MailboxTokenSize]byte, error) {
	return NewKey(r)
}
