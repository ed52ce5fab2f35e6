package crypto

import (
	"crypto/hpke"
	"encoding/binary"
	"errors"
	"fmt"
)

// This file seals the secrets members hand to one another (epoch secrets in
// commits, sender chain keys on entering an epoch) to one recipient's
// per-group X25519 key with HPKE (RFC 9180), as implemented by the standard
// library's crypto/hpke.
//
// Suite: base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// ChaCha20Poly1305. Base mode is enough because the HPKE layer only has to
// keep the secret confidential to the recipient: who sealed it is proven by
// the sender's signature over the commit or announcement that carries the
// sealed secret, and the sender's member ID is bound into the HPKE info, so a
// sealed secret lifted out of one member's signed message does not open as
// if it came from another member.

// SecretKind says what a sealed secret is. It is bound into the HPKE info, so
// a secret sealed as one kind never opens as another.
type SecretKind uint8

const (
	// SecretEpoch is an epoch secret, sealed in a commit to every member of
	// the new epoch.
	SecretEpoch SecretKind = 1
	// SecretChainKey is a sender chain key, sealed by a member to every
	// other member on entering an epoch.
	SecretChainKey SecretKind = 2
	// SecretNoteKey is the one-time key of a note sealed to one member
	// (SealNote): a mentorship request, a private reply.
	SecretNoteKey SecretKind = 3
	// SecretReportKey is the one-time key of a report sealed to a group's
	// hosts and moderators (SealNote).
	SecretReportKey SecretKind = 4
)

// hpkeEncSize is the size of the DHKEM(X25519) encapsulated key: an X25519
// public key.
const hpkeEncSize = 32

// hpkeTagSize is the size of the ChaCha20Poly1305 tag HPKE appends.
const hpkeTagSize = 16

// hpkeInfoLabel begins the HPKE info of every sealed secret; a zero byte
// ends it.
const hpkeInfoLabel = labelPrefix + "sealed secret"

// hpkeInfoSize is the size of the HPKE info: label, zero byte, kind, group
// ID, epoch, sender ID, recipient ID. Every part after the label has a fixed
// size, so the encoding is unambiguous.
const hpkeInfoSize = len(hpkeInfoLabel) + 1 + 1 + GroupIDSize + 8 + MemberIDSize + MemberIDSize

// ErrMalformedSealed is returned (wrapped) by OpenSealed when a sealed secret
// does not have the exact length its kind requires, or the kind is unknown.
var ErrMalformedSealed = errors.New("hearth/crypto: malformed sealed secret")

// SecretSize returns the length in bytes of a secret of this kind (KeySize
// for every kind defined today), or 0 for an unknown kind.
func (k SecretKind) SecretSize() int {
	switch k {
	case SecretEpoch, SecretChainKey, SecretNoteKey, SecretReportKey:
		return KeySize
	default:
		return 0
	}
}

// SealedSize returns the exact length of a sealed secret of this kind:
// the 32-byte encapsulated key, the secret and a 16-byte tag. It returns 0
// for an unknown kind.
func (k SecretKind) SealedSize() int {
	n := k.SecretSize()
	if n == 0 {
		return 0
	}
	return hpkeEncSize + n + hpkeTagSize
}

// String names the kind, for errors and logs.
func (k SecretKind) String() string {
	switch k {
	case SecretEpoch:
		return "epoch secret"
	case SecretChainKey:
		return "chain key"
	case SecretNoteKey:
		return "note key"
	case SecretReportKey:
		return "report key"
	default:
		return fmt.Sprintf("unknown secret kind %d", uint8(k))
	}
}

// hpkeInfo builds the HPKE info that binds a sealed secret to everything it
// means: "hearth v1 sealed secret" || 0x00 || kind || group ID ||
// epoch (u64 big-endian) || sender member ID || recipient member ID.
//
// Because the info enters HPKE's key schedule, changing any of these makes
// the recipient derive a different key and the AEAD fail: a sealed secret
// cannot be replayed into another group, epoch or kind, passed off as coming
// from another member, or redirected to another recipient (who could not
// decrypt it anyway, but might otherwise be made to accept a re-sealed copy
// under the wrong name).
func hpkeInfo(kind SecretKind, group GroupID, epoch uint64, from, to MemberID) []byte {
	info := make([]byte, 0, hpkeInfoSize)
	info = append(info, hpkeInfoLabel...)
	info = append(info, 0, byte(kind))
	info = append(info, group[:]...)
	info = binary.BigEndian.AppendUint64(info, epoch)
	info = append(info, from[:]...)
	return append(info, to[:]...)
}

// SealToMember seals secret to the member whose public keys are to, as a
// secret of the given kind, from the member from, in the given group and
// epoch. The result is enc (32 bytes) || ciphertext (secret + 16-byte tag),
// exactly kind.SealedSize() bytes.
//
// The ephemeral KEM key comes from crypto/rand inside crypto/hpke, so every
// call gives a different result. SealToMember returns an error wrapping
// ErrBadPublicKey when to's X25519 key is unusable, and an error when kind
// is unknown or secret is not kind.SecretSize() bytes long.
func SealToMember(to MemberPublic, from MemberID, kind SecretKind, group GroupID, epoch uint64, secret []byte) ([]byte, error) {
	size := kind.SecretSize()
	if size == 0 {
		return nil, fmt.Errorf("hearth/crypto: sealing a secret: %v", kind)
	}
	if len(secret) != size {
		return nil, fmt.Errorf("hearth/crypto: sealing a %v of %d bytes, want %d", kind, len(secret), size)
	}
	ecdhPub, err := to.hpkePublicKey()
	if err != nil {
		return nil, err
	}
	pub, err := hpke.NewDHKEMPublicKey(ecdhPub)
	if err != nil {
		return nil, fmt.Errorf("hearth/crypto: hpke public key: %w", err)
	}
	info := hpkeInfo(kind, group, epoch, from, to.ID())
	sealed, err := hpke.Seal(pub, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), info, secret)
	if err != nil {
		return nil, fmt.Errorf("hearth/crypto: hpke seal: %w", err)
	}
	if len(sealed) != kind.SealedSize() {
		// crypto/hpke's output size is fixed by the suite; anything else
		// means the library changed under us.
		panic("hearth/crypto: hpke produced an unexpected sealed size")
	}
	return sealed, nil
}

// OpenSealed opens a secret that member from sealed to c with SealToMember
// for the given kind, group and epoch. c's own member ID is the recipient
// bound into the HPKE info.
//
// It returns an error wrapping ErrMalformedSealed when kind is unknown or
// sealed is not exactly kind.SealedSize() bytes, and ErrDecrypt when the
// sealed secret does not open: it was sealed to another member, or for
// another group, epoch, kind or sender, or any byte of it was changed. The
// caller owns the returned secret and should Wipe it when done.
func (c *MemberCredential) OpenSealed(from MemberID, kind SecretKind, group GroupID, epoch uint64, sealed []byte) ([]byte, error) {
	want := kind.SealedSize()
	if want == 0 {
		return nil, fmt.Errorf("%w: %v", ErrMalformedSealed, kind)
	}
	if len(sealed) != want {
		return nil, fmt.Errorf("%w: %v is %d bytes, want %d", ErrMalformedSealed, kind, len(sealed), want)
	}
	if c.hpke == nil {
		return nil, errors.New("hearth/crypto: member credential has been wiped")
	}
	priv, err := hpke.NewDHKEMPrivateKey(c.hpke)
	if err != nil {
		return nil, fmt.Errorf("hearth/crypto: hpke private key: %w", err)
	}
	info := hpkeInfo(kind, group, epoch, from, c.ID())
	secret, err := hpke.Open(priv, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), info, sealed)
	if err != nil {
		// Every failure past the length check (a low-order enc that
		// X25519 refuses, a wrong key, a changed byte) looks the same to
		// the caller, so nothing distinguishes them to an attacker.
		return nil, ErrDecrypt
	}
	return secret, nil
}
