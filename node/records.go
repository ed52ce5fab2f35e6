package node

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// This file holds the node's own record layouts: what it stores through the
// storage package's generic sealed records (every value sealed by storage),
// and the local copy of each message. The keys, which storage does not seal,
// hold only fixed ASCII tags and random IDs (see docs/PROTOCOL.md, "Node
// records").

// Record keys. Group-scoped records live under the group's ID; the node's
// own (pending joins) under the zero group ID.
var (
	keySession     = []byte("session")   // KindGroup: protocol.Session export
	prefixAnnounce = []byte("announce/") // KindGroup: an announcement not yet published, + epoch
	keyPeers       = []byte("peers")     // KindGroup: peers seen in the group
	prefixWait     = []byte("wait/")     // KindGroup: waiting room entry, + member ID
	prefixDeny     = []byte("deny/")     // KindGroup: denied request, + member ID
	prefixMsg      = []byte("msg/")      // KindLocal: post ID -> local copy position
	prefixJoin     = []byte("join/")     // KindLocal, zero group: pending join, + group ID
)

// errRecord is wrapped by every decoder below.
var errRecord = errors.New("node: malformed stored record")

// recordVersion is the first byte of every record layout below.
const recordVersion = 1

// enc builds a record.
type enc struct{ b []byte }

func newEnc() *enc              { return &enc{b: []byte{recordVersion}} }
func (e *enc) u8(v uint8)       { e.b = append(e.b, v) }
func (e *enc) u16(v uint16)     { e.b = binary.BigEndian.AppendUint16(e.b, v) }
func (e *enc) u32(v uint32)     { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *enc) u64(v uint64)     { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *enc) fixed(v []byte)   { e.b = append(e.b, v...) }
func (e *enc) bytes32(v []byte) { e.u32(uint32(len(v))); e.b = append(e.b, v...) }
func (e *enc) str(v string)     { e.bytes32([]byte(v)) }
func (e *enc) bytes() []byte    { return e.b }

func (e *enc) bool(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}

// dec reads a record strictly: every read is bounds-checked, the first
// failure sticks, and finish rejects trailing bytes.
type dec struct {
	b   []byte
	err error
}

func newDec(b []byte) *dec {
	d := &dec{b: b}
	if v := d.u8(); d.err == nil && v != recordVersion {
		d.err = fmt.Errorf("%w: version %d", errRecord, v)
	}
	return d
}

func (d *dec) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.err = fmt.Errorf("%w: truncated", errRecord)
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) u8() uint8 {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *dec) u16() uint16 {
	if v := d.take(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (d *dec) u32() uint32 {
	if v := d.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (d *dec) u64() uint64 {
	if v := d.take(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (d *dec) fixed(dst []byte) { copy(dst, d.take(len(dst))) }

// bytes32 reads a u32-length-prefixed byte string of at most max bytes.
func (d *dec) bytes32(max int) []byte {
	n := d.u32()
	if d.err == nil && int64(n) > int64(max) {
		d.err = fmt.Errorf("%w: field of %d bytes, at most %d", errRecord, n, max)
		return nil
	}
	return append([]byte(nil), d.take(int(n))...)
}

func (d *dec) str(max int) string { return string(d.bytes32(max)) }

func (d *dec) bool() bool {
	v := d.u8()
	if d.err == nil && v > 1 {
		d.err = fmt.Errorf("%w: flag %d", errRecord, v)
	}
	return v == 1
}

func (d *dec) finish() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes", errRecord, len(d.b))
	}
	return d.err
}

// withPrefix returns prefix followed by id.
func withPrefix(prefix []byte, id []byte) []byte {
	return append(append([]byte(nil), prefix...), id...)
}
