package protocol

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// sampleWire writes one of every field kind, so the tests below can cut and
// extend it.
func sampleWire(t *testing.T) []byte {
	t.Helper()
	var w writer
	w.u8(0x01)
	w.u16(0x0203)
	w.u32(0x04050607)
	w.u64(0x08090a0b0c0d0e0f)
	w.fixed([]byte{0xAA, 0xBB})
	w.bytes16("b16", []byte("hello"), 8)
	w.bytes32("b32", []byte("world!"), 8)
	w.string16("s", "héllo", 8)
	w.count16("list", 2, 3)
	b, err := w.finish()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readSample(b []byte) (*reader, []any) {
	r := newReader(b)
	var fixed [2]byte
	vals := []any{r.u8("u8"), r.u16("u16"), r.u32("u32"), r.u64("u64")}
	r.fixed("fixed", fixed[:])
	vals = append(vals, fixed,
		string(r.bytes16("b16", 8)),
		string(r.bytes32("b32", 8)),
		r.string16("s", 8),
		r.count16("list", 3, 0))
	return r, vals
}

func TestWireRoundTrip(t *testing.T) {
	b := sampleWire(t)
	want := []byte{
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
		0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
		0xAA, 0xBB,
		0x00, 0x05, 'h', 'e', 'l', 'l', 'o',
		0x00, 0x00, 0x00, 0x06, 'w', 'o', 'r', 'l', 'd', '!',
		0x00, 0x06, 'h', 0xc3, 0xa9, 'l', 'l', 'o',
		0x00, 0x02,
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("encoding\n got %x\nwant %x", b, want)
	}
	r, vals := readSample(b)
	if err := r.finish(); err != nil {
		t.Fatal(err)
	}
	wantVals := []any{uint8(1), uint16(0x0203), uint32(0x04050607), uint64(0x08090a0b0c0d0e0f),
		[2]byte{0xAA, 0xBB}, "hello", "world!", "héllo", 2}
	for i := range wantVals {
		if vals[i] != wantVals[i] {
			t.Errorf("field %d: got %v, want %v", i, vals[i], wantVals[i])
		}
	}
}

func TestWireRejectsEveryTruncation(t *testing.T) {
	b := sampleWire(t)
	for n := range len(b) {
		r, _ := readSample(b[:n])
		if err := r.finish(); !errors.Is(err, ErrMalformed) {
			t.Errorf("truncated to %d bytes: err = %v, want ErrMalformed", n, err)
		}
	}
}

func TestWireRejectsTrailingBytes(t *testing.T) {
	b := append(sampleWire(t), 0)
	r, _ := readSample(b)
	if err := r.finish(); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "trailing") {
		t.Fatalf("err = %v, want trailing-bytes ErrMalformed", err)
	}
}

func TestWireRejectsOverMaximum(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		read func(r *reader)
	}{
		{"bytes16", []byte{0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9}, func(r *reader) { r.bytes16("f", 8) }},
		{"bytes32", []byte{0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9}, func(r *reader) { r.bytes32("f", 8) }},
		{"bytes32 huge", []byte{0xFF, 0xFF, 0xFF, 0xFF}, func(r *reader) { r.bytes32("f", 1<<30) }},
		{"string16", []byte{0, 9, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a'}, func(r *reader) { r.string16("f", 8) }},
		{"bad utf8", []byte{0, 1, 0xFF}, func(r *reader) { r.string16("f", 8) }},
		{"count max", []byte{0, 4}, func(r *reader) { r.count16("f", 3, 0) }},
		{"count vs input", []byte{0, 3, 1, 2, 3, 4, 5}, func(r *reader) { r.count16("f", 100, 2) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReader(tc.in)
			tc.read(r)
			if err := r.finish(); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestWriterRefusesOverMaximum(t *testing.T) {
	for name, write := range map[string]func(w *writer){
		"bytes16":  func(w *writer) { w.bytes16("f", make([]byte, 9), 8) },
		"bytes32":  func(w *writer) { w.bytes32("f", make([]byte, 9), 8) },
		"string16": func(w *writer) { w.string16("f", "\xff", 8) },
		"count16":  func(w *writer) { w.count16("f", 4, 3) },
	} {
		var w writer
		write(&w)
		w.u8(1)
		if b, err := w.finish(); err == nil {
			t.Errorf("%s: writer produced %x, want an error", name, b)
		}
	}
}

func TestReaderCopiesVariableBytes(t *testing.T) {
	in := []byte{0, 2, 'o', 'k'}
	r := newReader(in)
	got := r.bytes16("f", 8)
	in[2] = 'X'
	if string(got) != "ok" {
		t.Fatalf("decoded bytes alias the input: %q", got)
	}
}
