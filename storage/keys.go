package storage

import (
	"encoding/binary"
	"fmt"

	"github.com/hearthnet/hearth/crypto"
)

// Record layout. Every Badger key begins with one byte that names what the
// record is; the rest of the key is fixed-width big-endian fields, so keys of
// one kind sort by group, then by the fields in the order listed. This table
// is the single place the layout is defined; docs/PROTOCOL.md (storage
// section) repeats it byte for byte.
//
//	prefix  record                     key after the prefix                                value
//	0x00    store metadata             name (ASCII: "schema", "arrival")                   sealed
//	0x01    group (KindGroup)          group(16) | caller key                              sealed
//	0x02    roster (KindRoster)        group(16) | caller key                              sealed
//	0x03    commit (KindCommit)        group(16) | caller key                              sealed
//	0x04    epoch secret               group(16) | epoch(8) | caller key                   sealed
//	0x05    chain state                group(16) | epoch(8) | caller key                   sealed
//	0x06    invite (KindInvite)        group(16) | caller key                              sealed
//	0x07    local-only (KindLocal)     group(16) | caller key                              sealed
//	0x08-0x0f reserved for local-only kinds to come (journal, check-ins)
//	0x10    envelope                   group(16) | id(32)                                  day-sealed envelope record
//	0x11    envelope by generation     group(16) | epoch(8) | sender(4) | gen(4) | id(32)  empty
//	0x12    envelope by arrival        group(16) | arrival(8) | id(32)                     empty
//	0x13    envelope by received time  group(16) | received(8) | id(32)                    empty
//	0x20    local copy (message)       group(16) | sort(8) | id(32)                        day-sealed content
//	0x21    local copy by envelope     group(16) | id(32)                                  sealed sort(8)
//	0x30    ended epoch                group(16) | epoch(8)                                sealed ended-at(8)
//	0x31    group retention            group(16)                                           sealed duration(8)
//	0x32    day shred key              group(16) | day(4)                                  sealed key(32)
//	0x33    epoch shred key            group(16) | epoch(8)                                sealed key(32)
//
// "Sealed" means crypto.Seal under StorageKeys.Records with the whole Badger
// key as associated data: the value cannot be read without the key, a
// changed byte is detected on read, and a value copied to another key does
// not open. "Day-sealed" means sealed instead under the group's shred key
// for the UTC day on which the envelope was received, and "epoch-sealed"
// (the values of KindEpochSecret and KindChainState) under the group's
// shred key for the record's epoch; retention deletes those shred keys, so
// what they sealed cannot be read again from any copy (see shred.go).
// "Empty" index values carry nothing; everything an index says is in its
// key, and every index hit is checked against the sealed primary record
// before it is returned.
//
// Keys are not sealed by Hearth (Badger's own AES-CTR layer hides them on
// disk). They hold only random IDs, counters and times, never content,
// pseudonyms or names; callers of the generic record API must keep to the
// same rule for the keys they supply.
const (
	prefixMeta            byte = 0x00
	prefixEnvelope        byte = 0x10
	prefixEnvByGeneration byte = 0x11
	prefixEnvByArrival    byte = 0x12
	prefixEnvByReceived   byte = 0x13
	prefixMessage         byte = 0x20
	prefixMessageLink     byte = 0x21
	prefixEpochEnded      byte = 0x30
	prefixRetention       byte = 0x31
	prefixDayShredKey     byte = 0x32
	prefixEpochShredKey   byte = 0x33
)

// groupPrefixes lists every prefix whose keys continue with a group ID and
// that DeleteGroup deletes record by record, in its order: content and
// indexes first. The shred keys (0x32, 0x33) are not deleted but dropped
// from every file (see Store.shred), after everything they sealed is gone;
// the group record (KindGroup) goes last of all, so an interrupted
// DeleteGroup leaves the group listed and can simply be run again.
func groupPrefixes() []byte {
	return []byte{
		prefixMessage, prefixMessageLink,
		prefixEnvByGeneration, prefixEnvByArrival, prefixEnvByReceived, prefixEnvelope,
		byte(KindEpochSecret), byte(KindChainState),
		byte(KindRoster), byte(KindCommit), byte(KindInvite), byte(KindLocal),
		prefixEpochEnded, prefixRetention,
	}
}

// Kind names a class of generic sealed record (see Store.Put). Its value is
// the record's key prefix on disk and must never change.
type Kind byte

// The record kinds. Kinds 0x08 to 0x0f are reserved for local-only records
// that later features add (the private journal, check-ins); they are
// rejected until a schema version defines them.
const (
	// KindGroup holds the group's own description: its name, settings and
	// the member's own per-group identity. One Group record per group marks
	// the group as present (see Store.Groups).
	KindGroup Kind = 0x01
	// KindRoster holds rosters (members, pseudonyms, roles) by epoch.
	KindRoster Kind = 0x02
	// KindCommit holds applied commits.
	KindCommit Kind = 0x03
	// KindEpochSecret holds epoch secrets and the keys derived from them.
	// It is epoch-scoped: its keys begin with the epoch (see EpochKey), and
	// Expire deletes them with the epoch.
	KindEpochSecret Kind = 0x04
	// KindChainState holds sender chain keys and skipped message keys. It is
	// epoch-scoped like KindEpochSecret.
	KindChainState Kind = 0x05
	// KindInvite holds invites the member created or holds.
	KindInvite Kind = 0x06
	// KindLocal holds local-only data that never leaves the machine
	// (well-being settings, the sobriety date).
	KindLocal Kind = 0x07
)

// String names the kind for error messages.
func (k Kind) String() string {
	switch k {
	case KindGroup:
		return "group"
	case KindRoster:
		return "roster"
	case KindCommit:
		return "commit"
	case KindEpochSecret:
		return "epoch secret"
	case KindChainState:
		return "chain state"
	case KindInvite:
		return "invite"
	case KindLocal:
		return "local"
	}
	return fmt.Sprintf("kind(0x%02x)", byte(k))
}

func (k Kind) valid() bool { return k >= KindGroup && k <= KindLocal }

// epochScoped reports whether keys of this kind begin with an epoch number
// and are deleted by Expire when their epoch expires.
func (k Kind) epochScoped() bool { return k == KindEpochSecret || k == KindChainState }

// MaxRecordKeySize is the longest caller key the generic record API takes.
const MaxRecordKeySize = 256

// MaxValueSize is the largest value (record, envelope or local copy) the
// store takes: the largest message gossipsub delivers by default, so
// nothing that can arrive is refused, while a bug cannot fill the disk with
// one call.
const MaxValueSize = 1 << 20

// EpochKey returns the key of an epoch-scoped record (KindEpochSecret,
// KindChainState): the epoch as 8 big-endian bytes followed by rest.
func EpochKey(epoch uint64, rest []byte) []byte {
	k := make([]byte, 8, 8+len(rest))
	binary.BigEndian.PutUint64(k, epoch)
	return append(k, rest...)
}

// EnvelopeIDSize is the size of an envelope ID.
const EnvelopeIDSize = 32

// EnvelopeID names an envelope: the SHA-256 of its bytes exactly as
// received, the same definition the crypto package uses.
type EnvelopeID [EnvelopeIDSize]byte

// keyBuilder appends fixed-width fields to a key.
type keyBuilder []byte

func newKey(prefix byte, group crypto.GroupID, extra int) keyBuilder {
	k := make(keyBuilder, 0, 1+crypto.GroupIDSize+extra)
	k = append(k, prefix)
	return append(k, group[:]...)
}

func (k keyBuilder) u64(v uint64) keyBuilder { return binary.BigEndian.AppendUint64(k, v) }
func (k keyBuilder) u32(v uint32) keyBuilder { return binary.BigEndian.AppendUint32(k, v) }
func (k keyBuilder) id(id EnvelopeID) keyBuilder {
	return append(k, id[:]...)
}
func (k keyBuilder) bytes(b []byte) keyBuilder { return append(k, b...) }

func metaKey(name string) []byte { return append([]byte{prefixMeta}, name...) }

func recordKey(kind Kind, group crypto.GroupID, key []byte) []byte {
	return newKey(byte(kind), group, len(key)).bytes(key)
}

func envelopeKey(group crypto.GroupID, id EnvelopeID) []byte {
	return newKey(prefixEnvelope, group, EnvelopeIDSize).id(id)
}

func envByGenerationKey(group crypto.GroupID, epoch uint64, sender, gen uint32, id EnvelopeID) []byte {
	return newKey(prefixEnvByGeneration, group, 16+EnvelopeIDSize).u64(epoch).u32(sender).u32(gen).id(id)
}

func envByArrivalKey(group crypto.GroupID, arrival uint64, id EnvelopeID) []byte {
	return newKey(prefixEnvByArrival, group, 8+EnvelopeIDSize).u64(arrival).id(id)
}

func envByReceivedKey(group crypto.GroupID, received uint64, id EnvelopeID) []byte {
	return newKey(prefixEnvByReceived, group, 8+EnvelopeIDSize).u64(received).id(id)
}

func messageKey(group crypto.GroupID, sort uint64, id EnvelopeID) []byte {
	return newKey(prefixMessage, group, 8+EnvelopeIDSize).u64(sort).id(id)
}

func messageLinkKey(group crypto.GroupID, id EnvelopeID) []byte {
	return newKey(prefixMessageLink, group, EnvelopeIDSize).id(id)
}

func epochEndedKey(group crypto.GroupID, epoch uint64) []byte {
	return newKey(prefixEpochEnded, group, 8).u64(epoch)
}

func retentionKey(group crypto.GroupID) []byte {
	return newKey(prefixRetention, group, 0)
}

func dayShredKey(group crypto.GroupID, day uint32) []byte {
	return newKey(prefixDayShredKey, group, 4).u32(day)
}

func epochShredKey(group crypto.GroupID, epoch uint64) []byte {
	return newKey(prefixEpochShredKey, group, 8).u64(epoch)
}

// groupPrefix is the prefix shared by every key of one kind in one group.
func groupPrefix(prefix byte, group crypto.GroupID) []byte {
	return newKey(prefix, group, 0)
}

// keyFields splits the fixed-width part of a key that follows the prefix
// and group; it checks the exact length and returns ok=false otherwise, so a
// key damaged on disk is reported rather than misread.
func keyFields(key []byte, widths ...int) (fields [][]byte, ok bool) {
	off := 1 + crypto.GroupIDSize
	total := off
	for _, w := range widths {
		total += w
	}
	if len(key) != total {
		return nil, false
	}
	fields = make([][]byte, len(widths))
	for i, w := range widths {
		fields[i] = key[off : off+w]
		off += w
	}
	return fields, true
}

func toID(b []byte) EnvelopeID {
	var id EnvelopeID
	copy(id[:], b)
	return id
}
