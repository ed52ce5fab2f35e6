package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrMalformed is returned (wrapped, with the field that failed) by every
// decoder in this package when its input is not exactly one well-formed
// message: too short, a length over its maximum, a value out of range, an
// unknown version, or bytes left over at the end.
var ErrMalformed = errors.New("hearth/protocol: malformed message")

// writer builds one message. Every multi-byte integer is big-endian; every
// variable-length field is prefixed by its length and has a maximum that
// the decoder enforces too. The first error (a field over its maximum) is
// kept and returned by finish, so encoders read as a straight list of
// fields.
type writer struct {
	b   []byte
	err error
}

func (w *writer) u8(v uint8)   { w.b = append(w.b, v) }
func (w *writer) u16(v uint16) { w.b = binary.BigEndian.AppendUint16(w.b, v) }
func (w *writer) u32(v uint32) { w.b = binary.BigEndian.AppendUint32(w.b, v) }
func (w *writer) u64(v uint64) { w.b = binary.BigEndian.AppendUint64(w.b, v) }

// fixed appends b as it is: the decoder knows its length.
func (w *writer) fixed(b []byte) { w.b = append(w.b, b...) }

// bytes16 appends b with a 16-bit length prefix; b must be at most max
// bytes (and max at most 65535).
func (w *writer) bytes16(field string, b []byte, max int) {
	if len(b) > max || len(b) > 0xFFFF {
		w.fail(fmt.Errorf("hearth/protocol: %s is %d bytes, at most %d allowed", field, len(b), max))
		return
	}
	w.u16(uint16(len(b)))
	w.fixed(b)
}

// bytes32 appends b with a 32-bit length prefix; b must be at most max
// bytes.
func (w *writer) bytes32(field string, b []byte, max int) {
	if len(b) > max || uint64(len(b)) > 0xFFFFFFFF {
		w.fail(fmt.Errorf("hearth/protocol: %s is %d bytes, at most %d allowed", field, len(b), max))
		return
	}
	w.u32(uint32(len(b)))
	w.fixed(b)
}

// string16 appends s like bytes16, and refuses a string that is not valid
// UTF-8 so that no encoder can produce what the decoder would reject.
func (w *writer) string16(field string, s string, max int) {
	if !utf8.ValidString(s) {
		w.fail(fmt.Errorf("hearth/protocol: %s is not valid UTF-8", field))
		return
	}
	w.bytes16(field, []byte(s), max)
}

// count16 appends a list length as 16 bits, refusing more than max items.
func (w *writer) count16(field string, n, max int) {
	if n > max || n > 0xFFFF {
		w.fail(fmt.Errorf("hearth/protocol: %s has %d items, at most %d allowed", field, n, max))
		return
	}
	w.u16(uint16(n))
}

func (w *writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// finish returns the message, or the first error met while writing it.
func (w *writer) finish() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	return w.b, nil
}

// reader consumes one message. After the first error every read returns a
// zero value and the error is kept, so decoders read as a straight list of
// fields and check err once (via finish). No read ever panics, and no
// allocation is sized by a length that the remaining input could not hold.
type reader struct {
	b   []byte
	err error
}

func newReader(b []byte) *reader { return &reader{b: b} }

// failf records a decoding error about field, wrapping ErrMalformed.
func (r *reader) failf(field, format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s: %s", ErrMalformed, field, fmt.Sprintf(format, args...))
	}
}

// take returns the next n bytes (aliasing the input), or nil after an error.
func (r *reader) take(field string, n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.failf(field, "needs %d bytes, %d left", n, len(r.b))
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8(field string) uint8 {
	b := r.take(field, 1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *reader) u16(field string) uint16 {
	b := r.take(field, 2)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint16(b)
}

func (r *reader) u32(field string) uint32 {
	b := r.take(field, 4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func (r *reader) u64(field string) uint64 {
	b := r.take(field, 8)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// fixed fills dst with the next len(dst) bytes.
func (r *reader) fixed(field string, dst []byte) {
	if b := r.take(field, len(dst)); b != nil {
		copy(dst, b)
	}
}

// bytes16 reads a 16-bit length prefix and that many bytes, refusing a
// length over max. The result is a copy, so the caller may keep it after
// the input buffer is reused.
func (r *reader) bytes16(field string, max int) []byte {
	n := int(r.u16(field))
	return r.varBytes(field, n, max)
}

// bytes32 is bytes16 with a 32-bit length prefix.
func (r *reader) bytes32(field string, max int) []byte {
	n := uint64(r.u32(field))
	if r.err == nil && n > uint64(max) {
		r.failf(field, "is %d bytes, at most %d allowed", n, max)
		return nil
	}
	return r.varBytes(field, int(n), max)
}

func (r *reader) varBytes(field string, n, max int) []byte {
	if r.err != nil {
		return nil
	}
	if n > max {
		r.failf(field, "is %d bytes, at most %d allowed", n, max)
		return nil
	}
	b := r.take(field, n)
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// string16 reads a length-prefixed string and refuses invalid UTF-8.
func (r *reader) string16(field string, max int) string {
	b := r.bytes16(field, max)
	if r.err != nil {
		return ""
	}
	if !utf8.Valid(b) {
		r.failf(field, "is not valid UTF-8")
		return ""
	}
	return string(b)
}

// count16 reads a list length, refusing more than max items or more items
// than the remaining input could hold at minSize bytes each. The second
// check bounds every allocation a hostile length could cause by the size of
// the input itself.
func (r *reader) count16(field string, max, minSize int) int {
	n := int(r.u16(field))
	if r.err != nil {
		return 0
	}
	if n > max {
		r.failf(field, "has %d items, at most %d allowed", n, max)
		return 0
	}
	if minSize > 0 && n > len(r.b)/minSize {
		r.failf(field, "claims %d items but only %d bytes are left", n, len(r.b))
		return 0
	}
	return n
}

// check records err (wrapped in ErrMalformed) if no error is recorded yet.
// Decoders use it for semantic checks on fields they have read.
func (r *reader) check(field string, err error) {
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("%w: %s: %w", ErrMalformed, field, err)
	}
}

// finish returns the first error, or an error if any input is left over.
func (r *reader) finish() error {
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(r.b))
	}
	return nil
}
