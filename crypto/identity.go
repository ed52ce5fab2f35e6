package crypto

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"
)

// DeviceKey is the node's long-lived Ed25519 key. It is the libp2p identity
// (its public key gives the node's peer ID) and is used only to authenticate
// transport connections: it never signs group content, so a peer who learns a
// node's peer ID learns nothing about which member in which group it is.
type DeviceKey struct {
	priv ed25519.PrivateKey
}

// NewDeviceKey draws a fresh device key from r (crypto/rand when r is nil).
func NewDeviceKey(r io.Reader) (*DeviceKey, error) {
	seed := make([]byte, ed25519.SeedSize)
	defer Wipe(seed)
	if err := readRandom(r, seed); err != nil {
		return nil, err
	}
	return &DeviceKey{priv: ed25519.NewKeyFromSeed(seed)}, nil
}

// DeviceKeyFromSeed rebuilds a device key from its 32-byte seed.
func DeviceKeyFromSeed(seed []byte) (*DeviceKey, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("hearth/crypto: device key seed is %d bytes, want %d", len(seed), ed25519.SeedSize)
	}
	return &DeviceKey{priv: ed25519.NewKeyFromSeed(seed)}, nil
}

// Seed returns a copy of the key's 32-byte seed, for the keystore.
func (k *DeviceKey) Seed() []byte { return append([]byte(nil), k.priv.Seed()...) }

// PrivateKey returns the Ed25519 private key, for building the libp2p host
// identity (libp2p's crypto.UnmarshalEd25519PrivateKey takes these bytes).
func (k *DeviceKey) PrivateKey() ed25519.PrivateKey { return k.priv }

// PublicKey returns the Ed25519 public key.
func (k *DeviceKey) PublicKey() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }

// Wipe erases the private key from memory. The key is unusable afterwards.
func (k *DeviceKey) Wipe() { Wipe(k.priv) }

// MemberCredentialSize is the size of a marshalled MemberCredential: the
// Ed25519 seed followed by the X25519 private scalar.
const MemberCredentialSize = ed25519.SeedSize + 32

// MemberPublicSize is the size of a marshalled MemberPublic: the Ed25519
// public key followed by the X25519 public key.
const MemberPublicSize = ed25519.PublicKeySize + 32

// SignatureSize is the size of an Ed25519 signature.
const SignatureSize = ed25519.SignatureSize

// MemberCredential is what a member holds privately in one group: an Ed25519
// key that signs the member's messages and commits, and an X25519 key to
// which others seal epoch secrets and chain keys with HPKE. Both are drawn
// fresh for each group, so nothing ties a member's credentials in one group
// to those in another.
type MemberCredential struct {
	signing ed25519.PrivateKey
	hpke    *ecdh.PrivateKey
}

// NewMemberCredential draws fresh per-group keys from r (crypto/rand when r
// is nil).
func NewMemberCredential(r io.Reader) (*MemberCredential, error) {
	b := make([]byte, MemberCredentialSize)
	defer Wipe(b)
	if err := readRandom(r, b); err != nil {
		return nil, err
	}
	return UnmarshalMemberCredential(b)
}

// UnmarshalMemberCredential parses the form Marshal returns.
func UnmarshalMemberCredential(b []byte) (*MemberCredential, error) {
	if len(b) != MemberCredentialSize {
		return nil, fmt.Errorf("hearth/crypto: member credential is %d bytes, want %d", len(b), MemberCredentialSize)
	}
	x, err := ecdh.X25519().NewPrivateKey(b[ed25519.SeedSize:])
	if err != nil {
		return nil, fmt.Errorf("hearth/crypto: member credential: %w", err)
	}
	return &MemberCredential{
		signing: ed25519.NewKeyFromSeed(b[:ed25519.SeedSize]),
		hpke:    x,
	}, nil
}

// Marshal returns the credential's secret bytes, for sealed storage only.
// The caller must wipe the result when done with it.
func (c *MemberCredential) Marshal() []byte {
	out := make([]byte, 0, MemberCredentialSize)
	out = append(out, c.signing.Seed()...)
	return append(out, c.hpke.Bytes()...)
}

// Public returns the public half that goes into the group's roster.
func (c *MemberCredential) Public() MemberPublic {
	var p MemberPublic
	copy(p.SigningKey[:], c.signing.Public().(ed25519.PublicKey))
	copy(p.HPKEKey[:], c.hpke.PublicKey().Bytes())
	return p
}

// ID returns the member ID of this credential's public half.
func (c *MemberCredential) ID() MemberID { return c.Public().ID() }

// Sign signs msg for the given purpose. The purpose is a label such as
// "commit" or "join request"; it is bound into what is signed (see
// signedMessage), so a signature made for one purpose never verifies for
// another.
func (c *MemberCredential) Sign(purpose string, msg []byte) []byte {
	return ed25519.Sign(c.signing, signedMessage(purpose, msg))
}

// Wipe erases both private keys from memory. The credential is unusable
// afterwards. (The X25519 scalar inside *ecdh.PrivateKey cannot be reached
// to overwrite; dropping the reference is the most Go allows.)
func (c *MemberCredential) Wipe() {
	Wipe(c.signing)
	c.hpke = nil
}

// MemberPublic is a member's public keys in one group, as the roster holds
// them.
type MemberPublic struct {
	SigningKey [ed25519.PublicKeySize]byte
	HPKEKey    [32]byte
}

// memberIDLabel separates the member ID hash from every other hash Hearth
// computes.
const memberIDLabel = labelPrefix + "member id"

// ID derives the member ID: the first MemberIDSize bytes of
// SHA-256("hearth v1 member id" || 0x00 || signing key). The HPKE key is not
// included, so a member's ID is fixed by the key that signs for it.
func (p MemberPublic) ID() MemberID {
	h := sha256.New()
	h.Write([]byte(memberIDLabel))
	h.Write([]byte{0})
	h.Write(p.SigningKey[:])
	var id MemberID
	copy(id[:], h.Sum(nil))
	return id
}

// Marshal returns the MemberPublicSize-byte form.
func (p MemberPublic) Marshal() []byte {
	out := make([]byte, 0, MemberPublicSize)
	out = append(out, p.SigningKey[:]...)
	return append(out, p.HPKEKey[:]...)
}

// ErrBadPublicKey is returned (wrapped) when public key bytes are malformed.
var ErrBadPublicKey = errors.New("hearth/crypto: malformed public key")

// UnmarshalMemberPublic parses the form Marshal returns, rejecting a wrong
// length and an X25519 key of small order (all zeros among them): every
// secret sealed to such a key would fail, since X25519 with it gives the
// all-zero shared secret that crypto/ecdh refuses, so a roster must never
// admit one. The Ed25519 key is not checked beyond its length (the
// standard library cannot decode a point on its own); one that is not a
// valid point makes every signature under it fail to verify.
func UnmarshalMemberPublic(b []byte) (MemberPublic, error) {
	var p MemberPublic
	if len(b) != MemberPublicSize {
		return p, fmt.Errorf("%w: member public keys are %d bytes, want %d", ErrBadPublicKey, len(b), MemberPublicSize)
	}
	copy(p.SigningKey[:], b[:ed25519.PublicKeySize])
	copy(p.HPKEKey[:], b[ed25519.PublicKeySize:])
	k, err := p.hpkePublicKey()
	if err != nil {
		return MemberPublic{}, err
	}
	// X25519 clamps every scalar to a multiple of the cofactor 8, so the
	// product is all zeros exactly when the point has small order,
	// whichever scalar is used.
	if _, err := smallOrderProbe().ECDH(k); err != nil {
		return MemberPublic{}, fmt.Errorf("%w: X25519 key of small order", ErrBadPublicKey)
	}
	return p, nil
}

// smallOrderProbe is a fixed X25519 key used only to test public keys for
// small order; it protects nothing, so any scalar does.
var smallOrderProbe = sync.OnceValue(func() *ecdh.PrivateKey {
	k, err := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{0x5c}, 32))
	if err != nil {
		panic("hearth/crypto: X25519 refused a 32-byte scalar")
	}
	return k
})

// hpkePublicKey returns the X25519 key as crypto/ecdh wants it.
func (p MemberPublic) hpkePublicKey() (*ecdh.PublicKey, error) {
	var zero [32]byte
	if p.HPKEKey == zero {
		return nil, fmt.Errorf("%w: all-zero X25519 key", ErrBadPublicKey)
	}
	k, err := ecdh.X25519().NewPublicKey(p.HPKEKey[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadPublicKey, err)
	}
	return k, nil
}

// Verify reports whether sig is this member's signature over msg for the
// given purpose (see MemberCredential.Sign).
func (p MemberPublic) Verify(purpose string, msg, sig []byte) bool {
	if len(sig) != SignatureSize {
		return false
	}
	return ed25519.Verify(p.SigningKey[:], signedMessage(purpose, msg), sig)
}

// signedMessage is what a member's Ed25519 key actually signs:
// "hearth v1 " || purpose || 0x00 || msg. The prefix and purpose separate
// Hearth's signatures from any other protocol's and from each other.
func signedMessage(purpose string, msg []byte) []byte {
	out := make([]byte, 0, len(labelPrefix)+len(purpose)+1+len(msg))
	out = append(out, labelPrefix...)
	out = append(out, purpose...)
	out = append(out, 0)
	return append(out, msg...)
}
