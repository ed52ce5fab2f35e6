package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/hearthnet/hearth/crypto"
)

// FuzzDecodeEnvelopeRecord feeds arbitrary plaintext to the envelope
// record decoder (what a damaged or forged record would decrypt to if it
// ever authenticated): it never panics, and whatever it accepts encodes
// back to the same bytes.
func FuzzDecodeEnvelopeRecord(f *testing.F) {
	f.Add(encodeEnvelopeRecord(EnvelopeMeta{Epoch: 3, Sender: 1, Generation: 9, Received: t0}, 7, []byte("envelope")))
	f.Add(encodeEnvelopeRecord(EnvelopeMeta{Received: time.Unix(0, 1)}, 0, []byte{0}))
	f.Add([]byte{envelopeRecordVersion})
	f.Add(make([]byte, envelopeHeaderSize+1))
	f.Fuzz(func(t *testing.T, b []byte) {
		var id EnvelopeID
		if len(b) > envelopeHeaderSize {
			id = EnvelopeIDOf(b[envelopeHeaderSize:])
		}
		e, err := decodeEnvelopeRecord(id, b)
		if err != nil {
			return
		}
		if again := encodeEnvelopeRecord(e.Meta, e.Arrival, e.Raw); !bytes.Equal(again, b) {
			t.Fatalf("round trip changed the record:\n%x\n%x", b, again)
		}
		if _, err := decodeEnvelopeRecord(EnvelopeID{1}, b); err == nil && id != (EnvelopeID{1}) {
			t.Fatal("record accepted under an ID its bytes do not hash to")
		}
	})
}

// FuzzDecodeUint: integer records are exactly their size, never more or
// less.
func FuzzDecodeUint(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1}, uint8(4))
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8}, uint8(8))
	f.Add([]byte{}, uint8(8))
	f.Fuzz(func(t *testing.T, b []byte, size uint8) {
		sz := int(size%8) + 1
		v, err := decodeUint(b, sz)
		if (err == nil) != (len(b) == sz) {
			t.Fatalf("decodeUint(%x, %d) err = %v", b, sz, err)
		}
		if err == nil && !bytes.Equal(encodeUint(v, sz), b) {
			t.Fatalf("round trip of %x gave %x", b, encodeUint(v, sz))
		}
	})
}

// FuzzSplitDaySealed feeds arbitrary values to the day-sealed header
// parser (a damaged value, or one an attacker wrote under Badger's
// malleable layer): it never panics, accepts only version 1 with room for
// a seal, and what it accepts splits back into exactly the same bytes.
func FuzzSplitDaySealed(f *testing.F) {
	f.Add(append([]byte{daySealedVersion, 0, 0, 0x4f, 0xe6}, make([]byte, crypto.SealOverhead)...))
	f.Add(append([]byte{2, 0, 0, 0, 1}, make([]byte, crypto.SealOverhead+8)...))
	f.Add([]byte{daySealedVersion})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		day, header, sealed, err := splitDaySealed(b)
		if err != nil {
			if len(b) >= daySealedHeaderSize+crypto.SealOverhead && b[0] == daySealedVersion {
				t.Fatalf("well-formed value refused: %v", err)
			}
			return
		}
		if b[0] != daySealedVersion || len(sealed) < crypto.SealOverhead || len(header) != daySealedHeaderSize {
			t.Fatalf("accepted %x", b)
		}
		if again := append(binary.BigEndian.AppendUint32([]byte{daySealedVersion}, day), sealed...); !bytes.Equal(again, b) {
			t.Fatalf("split of %x reassembles as %x", b, again)
		}
	})
}

// FuzzCheckLog feeds arbitrary bytes, after a real log file header, to the
// replay that Open runs over Badger's logs before Badger does: it never
// panics, fails only with ErrCorrupt, and changes no byte of the file.
func FuzzCheckLog(f *testing.F) {
	crashed := crashedStore(f)
	mem, err := os.ReadFile(filepath.Join(crashed, "00001.mem"))
	if err != nil {
		f.Fatal(err)
	}
	registry, err := os.ReadFile(filepath.Join(crashed, badger.KeyRegistryFileName))
	if err != nil {
		f.Fatal(err)
	}
	header, entries := mem[:logHeaderSize], mem[logHeaderSize:writtenEnd(f, filepath.Join(crashed, "00001.mem"))]
	f.Add(entries[:800], false)
	f.Add(append(bytes.Clone(entries[:600]), make([]byte, 1500)...), true)
	f.Add([]byte{bitTxn, 0, 49, 12, 0}, false)
	f.Add([]byte{bitFinTxn, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, true)
	keys := testKeys(1)
	f.Fuzz(func(t *testing.T, body []byte, vlog bool) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, badger.KeyRegistryFileName), registry)
		name := filepath.Join(dir, "00001.mem")
		if vlog {
			name = filepath.Join(dir, "000001.vlog")
		}
		file := append(bytes.Clone(header), body...)
		writeFile(t, name, file)
		if err := checkLogs(dir, keys.Badger[:]); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("checkLogs = %v, want nil or ErrCorrupt", err)
		}
		if after, _ := os.ReadFile(name); !bytes.Equal(after, file) {
			t.Fatal("checkLogs changed the log")
		}
	})
}
