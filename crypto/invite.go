package crypto

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// This file holds invite tokens, the short "hearth:…" strings a host hands
// out so a person can ask to join a group, and the join proof by which the
// joiner shows an admin that it holds the invite without revealing it.

// InviteSecretSize is the size of an invite's random secret.
//
// 128 bits are enough because the secret is only ever attacked online: the
// only thing derived from it that leaves the joiner is a join proof, an
// HMAC under a key derived from the secret, sent over the encrypted libp2p
// stream to the admin. Someone without the invite can only guess, one join
// attempt per guess, against an admin who rate-limits attempts, counts uses
// and lets the invite expire; at 2^-128 per guess that is hopeless. An
// observer of many proofs (the admin itself) holding them offline still
// faces a 2^128 search. A longer secret would only make the string longer to
// read aloud or type, and the QR code denser.
const InviteSecretSize = 16

// InviteVersion is the invite layout version this package writes and reads.
const InviteVersion = 1

// Bounds on an invite's fields. NewInvite and ParseInvite enforce each.
const (
	// MaxInvitePeerIDSize bounds the admin's libp2p peer ID (an Ed25519
	// peer ID is 38 bytes as a multihash).
	MaxInvitePeerIDSize = 64
	// MaxInviteAddrs bounds how many multiaddrs an invite carries.
	MaxInviteAddrs = 8
	// MaxInviteAddrSize bounds each binary multiaddr.
	MaxInviteAddrSize = 255
)

// InvitePrefix begins every invite string.
const InvitePrefix = "hearth:"

// invChecksumSize is the size of the typo-detecting checksum at the end of an
// invite's binary form.
const invChecksumSize = 4

// invFixedSize is the size of an invite's binary form without its peer ID
// and addresses: version, group, secret, expiry, uses, peer ID length,
// address count and checksum.
const invFixedSize = 1 + GroupIDSize + InviteSecretSize + 8 + 2 + 1 + 1 + invChecksumSize

// invMaxSize is the largest binary invite: every field at its bound.
const invMaxSize = invFixedSize + MaxInvitePeerIDSize + MaxInviteAddrs*(1+MaxInviteAddrSize)

// invChecksumLabel separates the checksum hash from every other hash Hearth
// computes. It is the same in every invite version (see ParseInvite).
const invChecksumLabel = labelPrefix + "invite checksum"

// invAlphabet is RFC 4648 base32, in lower case.
const invAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

// Errors returned (wrapped) by ParseInvite and NewInvite.
var (
	// ErrInviteMalformed means the text is not an invite at all: a wrong
	// prefix, a character outside base32, or bytes that do not follow the
	// layout or its bounds.
	ErrInviteMalformed = errors.New("this is not a valid invite")
	// ErrInviteChecksum means the text has the shape of an invite but its
	// checksum does not match: almost always a mistyped character.
	ErrInviteChecksum = errors.New("this invite looks mistyped")
	// ErrInviteVersion means the invite was made by a newer version of
	// Hearth that uses a layout this one does not know.
	ErrInviteVersion = errors.New("this invite was made by a newer version of hearth")
	// ErrBadJoinProof means a join proof does not match the invite and the
	// transcript it claims to be for.
	ErrBadJoinProof = errors.New("hearth/crypto: join proof does not verify")
)

// Invite is what an invite string carries. Anyone holding it can ask the
// admin named by PeerID to join Group; the admin checks the join proof, the
// expiry, the remaining uses and whether the invite was revoked.
//
// An Invite holds a secret: keep it out of logs (use ID to name it) and
// Wipe it when done.
type Invite struct {
	// Group is the group the invite is for.
	Group GroupID
	// Secret is the random invite secret the joiner proves it knows.
	Secret [InviteSecretSize]byte
	// Expires is when the invite stops working, in Unix seconds.
	Expires int64
	// Uses is how many people may join with the invite, 1 to 65535.
	Uses uint16
	// PeerID is the issuing admin's libp2p peer ID in its binary form,
	// 1 to MaxInvitePeerIDSize bytes. The crypto package treats it as
	// opaque bytes.
	PeerID []byte
	// Addrs are up to MaxInviteAddrs binary multiaddrs, each 1 to
	// MaxInviteAddrSize bytes, where the admin can be reached.
	Addrs [][]byte
}

// NewInvite creates an invite for group with a fresh secret read from r
// (crypto/rand when r is nil). It copies peerID and addrs. It returns an
// error wrapping ErrInviteMalformed when a field is out of bounds (expires
// not positive, uses zero, peer ID or an address empty or too long, more
// than MaxInviteAddrs addresses), and an error when r fails.
func NewInvite(group GroupID, expires int64, uses uint16, peerID []byte, addrs [][]byte, r io.Reader) (*Invite, error) {
	inv := &Invite{
		Group:   group,
		Expires: expires,
		Uses:    uses,
		PeerID:  append([]byte(nil), peerID...),
	}
	for _, a := range addrs {
		inv.Addrs = append(inv.Addrs, append([]byte(nil), a...))
	}
	if err := inv.Validate(); err != nil {
		return nil, err
	}
	if err := readRandom(r, inv.Secret[:]); err != nil {
		return nil, err
	}
	return inv, nil
}

// Validate reports whether every field of the invite is within its bounds,
// returning an error wrapping ErrInviteMalformed when one is not. Invites
// from NewInvite and ParseInvite are always valid.
func (i *Invite) Validate() error {
	switch {
	case i.Expires <= 0:
		return fmt.Errorf("%w: expiry %d is not a positive unix time", ErrInviteMalformed, i.Expires)
	case i.Uses == 0:
		return fmt.Errorf("%w: an invite must allow at least one use", ErrInviteMalformed)
	case len(i.PeerID) == 0 || len(i.PeerID) > MaxInvitePeerIDSize:
		return fmt.Errorf("%w: peer ID is %d bytes, want 1 to %d", ErrInviteMalformed, len(i.PeerID), MaxInvitePeerIDSize)
	case len(i.Addrs) > MaxInviteAddrs:
		return fmt.Errorf("%w: %d addresses, want at most %d", ErrInviteMalformed, len(i.Addrs), MaxInviteAddrs)
	}
	for n, a := range i.Addrs {
		if len(a) == 0 || len(a) > MaxInviteAddrSize {
			return fmt.Errorf("%w: address %d is %d bytes, want 1 to %d", ErrInviteMalformed, n, len(a), MaxInviteAddrSize)
		}
	}
	return nil
}

// invChecksum returns the checksum of an invite's binary form without its
// checksum: the first 4 bytes of SHA-256("hearth v1 invite checksum" ||
// 0x00 || body).
//
// The checksum is for typos, not security: anyone can compute it, so it
// authenticates nothing. What makes a forged invite useless is that the
// joiner dials the peer ID the invite names (libp2p authenticates that peer)
// and the admin checks the join proof.
func invChecksum(body []byte) [invChecksumSize]byte {
	h := sha256.New()
	h.Write([]byte(invChecksumLabel))
	h.Write([]byte{0})
	h.Write(body)
	var c [invChecksumSize]byte
	copy(c[:], h.Sum(nil))
	return c
}

// invMarshal returns the binary form of a valid invite:
//
//	version u8 = 1 | group (16) | secret (16) | expires u64 BE | uses u16 BE |
//	peer ID length u8 | peer ID | address count u8 | (length u8 | address)* |
//	checksum (4)
func (i *Invite) invMarshal() []byte {
	n := invFixedSize + len(i.PeerID)
	for _, a := range i.Addrs {
		n += 1 + len(a)
	}
	b := make([]byte, 0, n)
	b = append(b, InviteVersion)
	b = append(b, i.Group[:]...)
	b = append(b, i.Secret[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(i.Expires))
	b = binary.BigEndian.AppendUint16(b, i.Uses)
	b = append(b, byte(len(i.PeerID)))
	b = append(b, i.PeerID...)
	b = append(b, byte(len(i.Addrs)))
	for _, a := range i.Addrs {
		b = append(b, byte(len(a)))
		b = append(b, a...)
	}
	sum := invChecksum(b)
	return append(b, sum[:]...)
}

// invEncoding is the base32 encoding of invite strings. It is built per call
// because the package keeps no mutable package-level state.
func invEncoding() *base32.Encoding {
	return base32.NewEncoding(invAlphabet).WithPadding(base32.NoPadding)
}

// String returns the invite as "hearth:" followed by its binary form in
// lower-case RFC 4648 base32 without padding. This is the canonical form:
// ParseInvite of it gives the same invite, and String of a parsed invite
// gives back the canonical form of the text it was parsed from.
//
// The string contains the invite secret. String returns "" for an invite
// that fails Validate, which ParseInvite rejects.
func (i *Invite) String() string {
	if i.Validate() != nil {
		return ""
	}
	b := i.invMarshal()
	defer Wipe(b)
	return InvitePrefix + invEncoding().EncodeToString(b)
}

// ParseInvite parses an invite string. It ignores whitespace around the
// string and accepts upper and lower case (QR codes carry upper case); it
// rejects everything else.
//
// Errors, each wrapped:
//   - ErrInviteMalformed: not "hearth:" then base32, a non-canonical base32
//     ending, too short or long, or bytes that break the layout or its
//     bounds (including trailing bytes);
//   - ErrInviteChecksum: the checksum does not match, which a single
//     mistyped character causes with probability 1 - 2^-32;
//   - ErrInviteVersion: a version other than 1.
//
// The checksum is checked before the version: its construction is fixed
// for all versions, so a typo anywhere (the version byte included) reads as
// a typo, and a well-formed invite from a newer Hearth reads as newer.
func ParseInvite(s string) (*Invite, error) {
	s = strings.TrimSpace(s)
	if len(s) > len(InvitePrefix)+invEncoding().EncodedLen(invMaxSize) {
		return nil, fmt.Errorf("%w: too long", ErrInviteMalformed)
	}
	// Fold ASCII upper case only: strings.ToLower would also turn, for
	// example, the Kelvin sign into "k" and accept text that is not an
	// invite.
	lower := []byte(s)
	for n, c := range lower {
		if 'A' <= c && c <= 'Z' {
			lower[n] = c + ('a' - 'A')
		}
	}
	if !strings.HasPrefix(string(lower), InvitePrefix) {
		return nil, fmt.Errorf("%w: does not start with %q", ErrInviteMalformed, InvitePrefix)
	}
	text := lower[len(InvitePrefix):]
	for _, c := range text {
		if strings.IndexByte(invAlphabet, c) < 0 {
			return nil, fmt.Errorf("%w: %q is not a base32 character", ErrInviteMalformed, c)
		}
	}
	enc := invEncoding()
	b, err := enc.DecodeString(string(text))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInviteMalformed, err)
	}
	defer Wipe(b)
	// base32 ignores the unused low bits of the last character; insist they
	// are zero, so each invite has exactly one string and a typo there is
	// not silently accepted.
	if enc.EncodeToString(b) != string(text) {
		return nil, fmt.Errorf("%w: non-canonical base32", ErrInviteMalformed)
	}
	if len(b) < invFixedSize {
		return nil, fmt.Errorf("%w: %d bytes, want at least %d", ErrInviteMalformed, len(b), invFixedSize)
	}
	body, sum := b[:len(b)-invChecksumSize], b[len(b)-invChecksumSize:]
	want := invChecksum(body)
	if !Equal(sum, want[:]) {
		return nil, ErrInviteChecksum
	}
	if body[0] != InviteVersion {
		return nil, fmt.Errorf("%w: version %d", ErrInviteVersion, body[0])
	}
	return invUnmarshalBody(body[1:])
}

// invUnmarshalBody parses a version 1 invite after its version byte and
// without its checksum, strictly.
func invUnmarshalBody(b []byte) (*Invite, error) {
	inv := new(Invite)
	if len(b) < GroupIDSize+InviteSecretSize+8+2+1 {
		return nil, fmt.Errorf("%w: truncated", ErrInviteMalformed)
	}
	b = b[copy(inv.Group[:], b):]
	b = b[copy(inv.Secret[:], b):]
	expires := binary.BigEndian.Uint64(b)
	if expires > math.MaxInt64 {
		return nil, fmt.Errorf("%w: expiry out of range", ErrInviteMalformed)
	}
	inv.Expires = int64(expires)
	inv.Uses = binary.BigEndian.Uint16(b[8:])
	b = b[10:]
	peerID, b, ok := invReadShort(b)
	if !ok {
		return nil, fmt.Errorf("%w: truncated peer ID", ErrInviteMalformed)
	}
	inv.PeerID = peerID
	if len(b) < 1 {
		return nil, fmt.Errorf("%w: truncated address count", ErrInviteMalformed)
	}
	count := int(b[0])
	b = b[1:]
	if count > MaxInviteAddrs {
		return nil, fmt.Errorf("%w: %d addresses, want at most %d", ErrInviteMalformed, count, MaxInviteAddrs)
	}
	for range count {
		var a []byte
		if a, b, ok = invReadShort(b); !ok {
			return nil, fmt.Errorf("%w: truncated address", ErrInviteMalformed)
		}
		inv.Addrs = append(inv.Addrs, a)
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrInviteMalformed, len(b))
	}
	if err := inv.Validate(); err != nil {
		return nil, err
	}
	return inv, nil
}

// invReadShort reads a u8 length and that many bytes, returning a copy and
// the rest of b.
func invReadShort(b []byte) (field, rest []byte, ok bool) {
	if len(b) < 1 || len(b)-1 < int(b[0]) {
		return nil, nil, false
	}
	n := int(b[0])
	return append([]byte(nil), b[1:1+n]...), b[1+n:], true
}

// Expired reports whether the invite has expired at now: it works up to,
// and not including, the second Expires.
func (i *Invite) Expired(now time.Time) bool {
	return !now.Before(time.Unix(i.Expires, 0))
}

// Wipe erases the invite secret.
func (i *Invite) Wipe() { Wipe(i.Secret[:]) }

// invSecretKey turns the 16-byte invite secret into a KeySize-byte
// pseudorandom key with HKDF-Extract, since deriveKey wants a 32-byte
// uniformly random secret. Extraction neither adds nor loses entropy: the
// keys derived from it are as strong as the 128-bit secret (see
// InviteSecretSize), which is the point of the invite.
func invSecretKey(secret *[InviteSecretSize]byte) [KeySize]byte {
	return extractKey("invite secret", secret[:])
}

// InviteIDSize is the size of an invite ID.
const InviteIDSize = 8

// InviteID names an invite without revealing its secret, so hosts can list
// and revoke invites, and an admin can look one up, by ID. It is one-way:
// knowing the ID does not help to find the secret.
type InviteID [InviteIDSize]byte

// String returns the ID as 16 lower-case hex digits.
func (id InviteID) String() string { return hex.EncodeToString(id[:]) }

// ParseInviteID parses the form String returns. It returns an error wrapping
// ErrBadID for anything else.
func ParseInviteID(s string) (InviteID, error) {
	var id InviteID
	if err := parseHexID(id[:], s); err != nil {
		return InviteID{}, fmt.Errorf("invite ID: %w", err)
	}
	return id, nil
}

// ID returns the invite's ID: the first 8 bytes of
// deriveKey(extractKey("invite secret", secret), "invite id", group).
// 64 bits keep IDs unique among the invites of one group (a collision
// needs about 2^32 of them) while staying short enough to read out.
func (i *Invite) ID() InviteID {
	prk := invSecretKey(&i.Secret)
	defer Wipe(prk[:])
	k := deriveKey(prk[:], "invite id", i.Group[:])
	var id InviteID
	copy(id[:], k[:])
	return id
}

// InviteAuthKey derives the key that join proofs for an invite are made
// with: deriveKey(extractKey("invite secret", secret), "invite join auth",
// group). An admin may store only this key and the invite ID: that is
// enough to check join proofs, and the invite string cannot be rebuilt from
// it. The caller should Wipe the key when done.
func InviteAuthKey(secret *[InviteSecretSize]byte, group GroupID) [KeySize]byte {
	prk := invSecretKey(secret)
	defer Wipe(prk[:])
	return deriveKey(prk[:], "invite join auth", group[:])
}

// JoinTranscript is everything a join proof is bound to: the invite, the
// admin's fresh challenge, the admin being asked, and who is asking.
type JoinTranscript struct {
	// Group and Invite name the invite being used.
	Group  GroupID
	Invite InviteID
	// Challenge is the admin's fresh random challenge for this attempt
	// (NewJoinChallenge), so a proof cannot be replayed later.
	Challenge [32]byte
	// AdminPeerID is the libp2p peer ID of the admin the joiner is
	// talking to, so a proof given to one admin is worthless to another.
	AdminPeerID []byte
	// Joiner is the joiner's fresh per-group public keys, so nobody who
	// sees the proof can admit other keys with it.
	Joiner MemberPublic
	// Pseudonym is the name the joiner asks to be known by in the group.
	Pseudonym string
}

// joinTranscriptLabel begins every join transcript; a zero byte ends it.
const joinTranscriptLabel = labelPrefix + "join transcript"

// Bytes returns the transcript's unambiguous encoding, which the join proof
// MACs:
//
//	"hearth v1 join transcript" || 0x00 || group (16) || invite ID (8) ||
//	challenge (32) || u64 BE len(admin peer ID) || admin peer ID ||
//	joiner signing key (32) || joiner X25519 key (32) ||
//	u64 BE len(pseudonym) || pseudonym (UTF-8 bytes as given)
//
// Fixed-size fields are written as they are and the two variable-length ones
// carry a 64-bit length, so no two transcripts share an encoding whatever
// their lengths.
func (t *JoinTranscript) Bytes() []byte {
	n := len(joinTranscriptLabel) + 1 + GroupIDSize + InviteIDSize + 32 +
		8 + len(t.AdminPeerID) + MemberPublicSize + 8 + len(t.Pseudonym)
	b := make([]byte, 0, n)
	b = append(b, joinTranscriptLabel...)
	b = append(b, 0)
	b = append(b, t.Group[:]...)
	b = append(b, t.Invite[:]...)
	b = append(b, t.Challenge[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(t.AdminPeerID)))
	b = append(b, t.AdminPeerID...)
	b = append(b, t.Joiner.SigningKey[:]...)
	b = append(b, t.Joiner.HPKEKey[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(t.Pseudonym)))
	return append(b, t.Pseudonym...)
}

// JoinProof computes the joiner's proof that it knows the invite secret:
// HMAC-SHA256(authKey, t.Bytes()), where authKey is InviteAuthKey of the
// invite.
//
// HMAC-SHA256 is a PRF under the auth key, so the proof reveals nothing
// about the key, and without the key nobody can make a proof for any
// transcript, including one that differs from a seen transcript in a single
// field.
func JoinProof(authKey *[KeySize]byte, t *JoinTranscript) [32]byte {
	return mac(authKey, t.Bytes())
}

// VerifyJoinProof checks proof against the transcript the admin itself
// assembled (its own challenge and peer ID, the joiner's keys and pseudonym
// as received, the invite named by ID). It returns nil or ErrBadJoinProof,
// comparing in constant time.
func VerifyJoinProof(authKey *[KeySize]byte, t *JoinTranscript, proof []byte) error {
	want := JoinProof(authKey, t)
	if !Equal(want[:], proof) {
		return ErrBadJoinProof
	}
	return nil
}

// NewJoinChallenge draws an admin's fresh 32-byte challenge from r
// (crypto/rand when r is nil). 32 random bytes never repeat in practice,
// so no proof made for one challenge is valid for another.
func NewJoinChallenge(r io.Reader) ([32]byte, error) {
	var c [32]byte
	err := readRandom(r, c[:])
	return c, err
}
