package crypto

import (
	"encoding/base32"
	"encoding/binary"
	"io"
)

// This file is the epoch key schedule: from one epoch secret, the keys that
// name and protect an epoch on the network.
//
// The epoch secret is drawn at random by the admin who commits the epoch and
// HPKE-sealed to every member of it. Content keys do not come from it: each
// member draws its own sender chain key (chain.go), so knowing the epoch
// secret alone does not open any message's content.

// EpochSecret is the random secret of one epoch of one group. Every member of
// the epoch holds it; nobody outside does.
type EpochSecret [KeySize]byte

// NewEpochSecret draws a fresh epoch secret from r (crypto/rand when r is
// nil). It returns an error only when r fails.
func NewEpochSecret(r io.Reader) (*EpochSecret, error) {
	var s EpochSecret
	if err := readRandom(r, s[:]); err != nil {
		return nil, err
	}
	return &s, nil
}

// Wipe erases the secret. Retention calls it when an epoch expires, which is
// what makes an expired epoch's keys unrecoverable from a seized device.
func (s *EpochSecret) Wipe() { Wipe(s[:]) }

// EpochKeys are the keys derived from an epoch secret. Each is a separate
// HKDF derivation with its own label, so learning one reveals nothing about
// the others or about the epoch secret.
//
// TopicID and SyncAuth are kept apart from SenderData on purpose: a mailbox
// node (a host's always-on machine that stores envelopes for members who are
// offline) will be given only TopicID and SyncAuth, so that it can join the
// topic, store what passes and serve it back to members who prove membership,
// while never being able to see who sent a message (SenderData) or what it
// says (chain keys). Were these one key, or derived from one another, handing
// a mailbox the capability to relay would hand it the sender's identity too.
type EpochKeys struct {
	// TopicID names the epoch's gossipsub topic (see Topic).
	TopicID [KeySize]byte
	// SenderData seals the sender data (member index and generation) in
	// every envelope of the epoch.
	SenderData [KeySize]byte
	// SyncAuth authenticates history sync between members and mailboxes.
	SyncAuth [KeySize]byte
	// Rendezvous is the root of the epoch's rotating DHT rendezvous
	// namespaces (see RendezvousNamespace).
	Rendezvous [KeySize]byte
}

// Labels of the epoch key schedule. Each is used with deriveKey and nowhere
// else; docs/PROTOCOL.md lists them.
const (
	schedLabelTopic      = "epoch topic"
	schedLabelSenderData = "epoch sender data"
	schedLabelSyncAuth   = "epoch sync auth"
	schedLabelRendezvous = "epoch rendezvous"
	schedLabelDay        = "rendezvous day"
)

// schedContextSize is the size of the derivation context: group ID || epoch.
const schedContextSize = GroupIDSize + 8

// DeriveEpochKeys derives the keys of one epoch of one group from its secret:
// deriveKey(secret, label, group ID (16) || epoch (u64 big-endian)) for each
// of the labels "epoch topic", "epoch sender data", "epoch sync auth" and
// "epoch rendezvous".
//
// The group ID and epoch are bound into every key, so even if an admin's
// faulty randomness reused a secret, two epochs or two groups would still get
// different topics and keys. The caller wipes the result with Wipe when the
// epoch expires.
func DeriveEpochKeys(group GroupID, epoch uint64, secret *EpochSecret) EpochKeys {
	var ctx [schedContextSize]byte
	copy(ctx[:], group[:])
	binary.BigEndian.PutUint64(ctx[GroupIDSize:], epoch)
	return EpochKeys{
		TopicID:    deriveKey(secret[:], schedLabelTopic, ctx[:]),
		SenderData: deriveKey(secret[:], schedLabelSenderData, ctx[:]),
		SyncAuth:   deriveKey(secret[:], schedLabelSyncAuth, ctx[:]),
		Rendezvous: deriveKey(secret[:], schedLabelRendezvous, ctx[:]),
	}
}

// schedNameBytes is how many bytes of a derived key a public name carries:
// 160 bits, 32 base32 characters, far beyond any chance of two groups'
// names colliding, and short enough for a topic string.
const schedNameBytes = 20

// TopicPrefix starts every Hearth gossipsub topic name.
const TopicPrefix = "/hearth/1/"

// RendezvousPrefix starts every Hearth DHT rendezvous namespace.
const RendezvousPrefix = "/hearth/1/rv/"

// schedEncode returns b in lower-case base32 (RFC 4648 alphabet) without
// padding.
func schedEncode(b []byte) string {
	return base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").
		WithPadding(base32.NoPadding).
		EncodeToString(b)
}

// Topic returns the epoch's gossipsub topic name: "/hearth/1/" followed by
// the lower-case, unpadded base32 of the first 20 bytes of TopicID (32
// characters).
//
// Topic names travel in plaintext to every connected pubsub peer, so the name
// is opaque: it holds nothing of the group's name or ID, and since TopicID
// comes from the epoch secret, a new epoch (every roster change, including a
// removal) moves the group to a topic that an observer, or the removed member,
// cannot link to the old one.
func (k EpochKeys) Topic() string {
	return TopicPrefix + schedEncode(k.TopicID[:schedNameBytes])
}

// RendezvousNamespace returns the DHT rendezvous namespace members of the
// epoch advertise under on the given UTC day: "/hearth/1/rv/" followed by the
// lower-case, unpadded base32 of the first 20 bytes of
// deriveKey(Rendezvous, "rendezvous day", day as u64 big-endian).
//
// day is the UTC day number, unix seconds divided by 86400 (rounded down).
// Anyone who knows a namespace can list the peers advertising it, so it is
// derived from the epoch's secret (outsiders cannot compute it) and changes
// every day (a namespace seen on one day says nothing about the next without
// the key). A negative day is encoded as its two's complement, like any
// int64 converted to uint64.
func (k EpochKeys) RendezvousNamespace(day int64) string {
	var ctx [8]byte
	binary.BigEndian.PutUint64(ctx[:], uint64(day))
	key := deriveKey(k.Rendezvous[:], schedLabelDay, ctx[:])
	defer Wipe(key[:])
	return RendezvousPrefix + schedEncode(key[:schedNameBytes])
}

// Wipe erases all four keys.
func (k *EpochKeys) Wipe() {
	Wipe(k.TopicID[:])
	Wipe(k.SenderData[:])
	Wipe(k.SyncAuth[:])
	Wipe(k.Rendezvous[:])
}
