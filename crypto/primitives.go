package crypto

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// This file holds every primitive Hearth uses, each wrapped once with the
// reasoning that makes its use safe. The rest of the package calls these
// wrappers and nothing below them.

// KeySize is the size in bytes of every symmetric key in Hearth: epoch
// secrets, derived keys, chain keys, message keys and storage keys.
const KeySize = 32

// NonceSize is the size of the XChaCha20-Poly1305 nonce. At 24 bytes a nonce
// drawn at random never repeats in practice (the collision bound is 2^-96
// after 2^32 messages under one key), so no counter state has to be kept.
const NonceSize = chacha20poly1305.NonceSizeX

// TagSize is the size of the Poly1305 authentication tag.
const TagSize = chacha20poly1305.Overhead

// SealOverhead is how many bytes Seal adds to a plaintext: nonce and tag.
const SealOverhead = NonceSize + TagSize

// labelPrefix starts every HKDF label, so no Hearth derivation can collide
// with another protocol's use of the same secret, and a future version can
// change the prefix to separate its keys from these.
const labelPrefix = "hearth v1 "

// ErrDecrypt is returned when a ciphertext does not authenticate: the key is
// wrong, or a byte of the ciphertext, its nonce or its associated data was
// changed. Callers cannot and should not tell which.
var ErrDecrypt = errors.New("hearth/crypto: message authentication failed")

// randReader returns r, or the operating system's randomness when r is nil.
func randReader(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}

// readRandom fills b from r (crypto/rand when r is nil).
func readRandom(r io.Reader, b []byte) error {
	if _, err := io.ReadFull(randReader(r), b); err != nil {
		return fmt.Errorf("hearth/crypto: reading randomness: %w", err)
	}
	return nil
}

// NewKey returns a fresh random KeySize-byte key read from r (crypto/rand when
// r is nil).
func NewKey(r io.Reader) (*[KeySize]byte, error) {
	var k [KeySize]byte
	if err := readRandom(r, k[:]); err != nil {
		return nil, err
	}
	return &k, nil
}

// deriveKey expands a uniformly random secret into a KeySize-byte key for
// one purpose, named by label, and bound to context (for example a group ID
// and epoch number).
//
// HKDF-Expand alone is enough here because every secret passed in is itself
// a uniformly random KeySize-byte value (an epoch secret, a chain key, an
// HKDF-Extract output), which RFC 5869 section 3.3 allows to serve as the
// pseudorandom key directly. The label must be unique within Hearth and
// listed in docs/PROTOCOL.md; the context is length-prefixed by the caller
// where its parts vary in length.
func deriveKey(secret []byte, label string, context []byte) [KeySize]byte {
	if len(secret) < KeySize {
		panic("hearth/crypto: deriveKey called with a short secret")
	}
	info := make([]byte, 0, len(labelPrefix)+len(label)+1+len(context))
	info = append(info, labelPrefix...)
	info = append(info, label...)
	// A zero byte ends the label, so no label can be a prefix of another
	// label followed by context bytes.
	info = append(info, 0)
	info = append(info, context...)
	out, err := hkdf.Expand(sha256.New, secret, string(info), KeySize)
	if err != nil {
		// Expand fails only when asked for more than 255*32 bytes.
		panic("hearth/crypto: hkdf expand: " + err.Error())
	}
	var k [KeySize]byte
	copy(k[:], out)
	Wipe(out)
	return k
}

// extractKey turns input keying material that is not uniformly random (a
// Diffie-Hellman output, a concatenation of secrets) into a pseudorandom key
// with HKDF-Extract, salted with a label so extraction for one purpose never
// equals extraction for another.
func extractKey(label string, ikm []byte) [KeySize]byte {
	out, err := hkdf.Extract(sha256.New, ikm, []byte(labelPrefix+label))
	if err != nil {
		panic("hearth/crypto: hkdf extract: " + err.Error())
	}
	var k [KeySize]byte
	copy(k[:], out)
	Wipe(out)
	return k
}

// sealWithNonce encrypts plaintext with XChaCha20-Poly1305 under key and the
// given nonce, authenticating ad, and appends the result to dst.
//
// The caller guarantees the (key, nonce) pair is never used twice: either the
// nonce was drawn at random (see NonceSize), or the key is used for exactly
// one message (message keys from a sender chain).
func sealWithNonce(dst []byte, key *[KeySize]byte, nonce []byte, plaintext, ad []byte) []byte {
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		panic("hearth/crypto: xchacha20poly1305: " + err.Error())
	}
	return aead.Seal(dst, nonce, plaintext, ad)
}

// openWithNonce is the inverse of sealWithNonce. It returns ErrDecrypt when
// the ciphertext does not authenticate.
func openWithNonce(dst []byte, key *[KeySize]byte, nonce []byte, ciphertext, ad []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		panic("hearth/crypto: xchacha20poly1305: " + err.Error())
	}
	out, err := aead.Open(dst, nonce, ciphertext, ad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return out, nil
}

// Seal encrypts plaintext under key with XChaCha20-Poly1305 and a random
// nonce read from r (crypto/rand when r is nil), authenticating ad. The
// result is nonce || ciphertext || tag, SealOverhead bytes longer than the
// plaintext.
//
// Seal is Hearth's general-purpose AEAD for data at rest (storage records,
// the keystore) where one long-lived key protects many values: the random
// 24-byte nonce makes reuse negligible without any counter to persist.
// Callers pass as ad whatever the ciphertext must stay bound to (a record's
// key, a file header), so a value cannot be moved to another place and still
// open.
func Seal(key *[KeySize]byte, plaintext, ad []byte, r io.Reader) ([]byte, error) {
	out := make([]byte, NonceSize, NonceSize+len(plaintext)+TagSize)
	if err := readRandom(r, out[:NonceSize]); err != nil {
		return nil, err
	}
	return sealWithNonce(out, key, out[:NonceSize], plaintext, ad), nil
}

// Open decrypts a value produced by Seal with the same key and ad. It returns
// ErrDecrypt when the value is too short, or when any byte of it or of ad
// differs from what was sealed.
func Open(key *[KeySize]byte, sealed, ad []byte) ([]byte, error) {
	if len(sealed) < SealOverhead {
		return nil, ErrDecrypt
	}
	return openWithNonce(nil, key, sealed[:NonceSize], sealed[NonceSize:], ad)
}

// mac computes HMAC-SHA256 of msg under key. HMAC-SHA256 is a PRF keyed by a
// uniformly random key: its output reveals nothing about the key, and nobody
// without the key can produce the MAC of any message they have not seen
// MACed. Compare MACs only with Equal.
func mac(key *[KeySize]byte, msg []byte) [32]byte {
	m := hmac.New(sha256.New, key[:])
	m.Write(msg)
	var out [32]byte
	copy(out[:], m.Sum(nil))
	return out
}

// Equal reports whether a and b hold the same bytes, in time that depends
// only on their lengths. Use it for every comparison of secrets, MACs and
// proofs.
func Equal(a, b []byte) bool {
	return subtle.ConstantTimeCompare(a, b) == 1
}

// Wipe overwrites b with zeros. Go's garbage collector may already have
// copied the bytes elsewhere, so this is a best effort: it shortens how long
// a key sits in memory after its holder is done with it, which is what
// forward secrecy on a seized, running machine depends on.
func Wipe(b []byte) {
	clear(b)
}

// Labels of the secret commitments. Each is used with commitToSecret and
// nowhere else; docs/PROTOCOL.md lists them.
const (
	commitLabelChainKey    = "chain key commitment"
	commitLabelEpochSecret = "epoch secret commitment"
)

// commitToSecret returns SHA-256("hearth v1 " || label || 0x00 || secret):
// a public value that binds whoever publishes it to one secret without
// revealing it.
//
// Binding: finding a second secret with the same commitment is a SHA-256
// second preimage. Hiding: every secret committed to is a uniformly random
// KeySize-byte key, so there is nothing to guess; SHA-256 with a label
// unique to commitments is unrelated to the HKDF derivations (which use
// HMAC, keyed by the secret), so the commitment tells nothing about the keys
// derived from the secret either.
//
// A member who seals one secret to several recipients signs the commitment
// beside the sealed copies. Each recipient checks what it opened against it,
// so the author cannot hand different recipients different secrets under
// one signature without the recipients that got a wrong one finding out.
func commitToSecret(label string, secret []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(labelPrefix + label))
	h.Write([]byte{0})
	h.Write(secret)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// CommitChainKey returns the commitment to a sender chain key that its
// announcement carries: SHA-256("hearth v1 chain key commitment" || 0x00 ||
// key). Compare commitments with Equal.
func CommitChainKey(k *ChainKey) [32]byte { return commitToSecret(commitLabelChainKey, k[:]) }

// CommitEpochSecret returns the commitment to an epoch secret that its
// commit carries: SHA-256("hearth v1 epoch secret commitment" || 0x00 ||
// secret). Compare commitments with Equal.
func CommitEpochSecret(s *EpochSecret) [32]byte {
	return commitToSecret(commitLabelEpochSecret, s[:])
}
