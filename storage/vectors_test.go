package storage

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearthnet/hearth/crypto"
)

// layoutVectors is testdata/layout.json: the record layout of
// docs/PROTOCOL.md as bytes, for a second implementation to check against.
type layoutVectors struct {
	StorageRoot    string            `json:"storage_root"`
	Group          string            `json:"group"`
	EnvelopeRaw    string            `json:"envelope_raw"`
	EnvelopeID     string            `json:"envelope_id"`
	Keys           map[string]string `json:"keys"`
	EnvelopeRecord string            `json:"envelope_record_plaintext"`
	// DayShredKey is the group's shred key for the envelope's receive day;
	// SealedShredKey is its record's value: sealed under the Records key
	// with ShredKeyNonce and the day-shred-key record's key as associated
	// data.
	DayShredKey    string `json:"day_shred_key"`
	ShredKeyNonce  string `json:"shred_key_nonce"`
	SealedShredKey string `json:"sealed_day_shred_key_record"`
	// SealedNonce and SealedEnvelope: the envelope record, day-sealed:
	// version 1 and the day, then the record sealed under DayShredKey with
	// that nonce and (envelope key ‖ version ‖ day) as associated data.
	SealedNonce    string `json:"sealed_nonce"`
	SealedEnvelope string `json:"sealed_envelope_record"`
}

// TestLayoutVectors checks the key and record encodings byte for byte
// against testdata/layout.json (regenerate with HEARTH_UPDATE_VECTORS=1),
// then writes the vector's shred key, day-sealed record and index keys
// straight into Badger, as another implementation would, and reads the
// envelope back through the API.
func TestLayoutVectors(t *testing.T) {
	var root [crypto.KeySize]byte
	for i := range root {
		root[i] = byte(i)
	}
	group := crypto.GroupID{0xc0, 0xff, 0xee, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}
	raw := []byte("hearth storage vector envelope")
	id := EnvelopeIDOf(raw)
	meta := EnvelopeMeta{Epoch: 0x0102030405060708, Sender: 0x0a0b0c0d, Generation: 0x11121314, Received: time.Unix(1767225600, 123456789)}
	const arrival = 42
	keys := crypto.DeriveStorageKeys(&root)
	record := encodeEnvelopeRecord(meta, arrival, raw)
	day := dayOf(uint64(meta.Received.UnixNano()))
	var shredKey [crypto.KeySize]byte
	for i := range shredKey {
		shredKey[i] = 0x80 + byte(i)
	}
	keyNonce := bytes.Repeat([]byte{0x5b}, crypto.NonceSize)
	sealedKey, err := crypto.Seal(&keys.Records, shredKey[:], dayShredKey(group, day), bytes.NewReader(keyNonce))
	if err != nil {
		t.Fatal(err)
	}
	nonce := bytes.Repeat([]byte{0x5a}, crypto.NonceSize)
	header := []byte{daySealedVersion, byte(day >> 24), byte(day >> 16), byte(day >> 8), byte(day)}
	sealed, err := crypto.Seal(&shredKey, record, append(envelopeKey(group, id), header...), bytes.NewReader(nonce))
	if err != nil {
		t.Fatal(err)
	}
	sealed = append(header, sealed...)
	h := hex.EncodeToString
	got := layoutVectors{
		StorageRoot: h(root[:]),
		Group:       h(group[:]),
		EnvelopeRaw: h(raw),
		EnvelopeID:  h(id[:]),
		Keys: map[string]string{
			"meta schema":                     h(metaKey(metaSchema)),
			"meta arrival":                    h(metaKey(metaArrival)),
			"group record, key 'g'":           h(recordKey(KindGroup, group, []byte("g"))),
			"epoch secret, epoch 7, key 'x'":  h(recordKey(KindEpochSecret, group, EpochKey(7, []byte("x")))),
			"envelope":                        h(envelopeKey(group, id)),
			"envelope by generation":          h(envByGenerationKey(group, meta.Epoch, meta.Sender, meta.Generation, id)),
			"envelope by arrival":             h(envByArrivalKey(group, arrival, id)),
			"envelope by received":            h(envByReceivedKey(group, uint64(meta.Received.UnixNano()), id)),
			"local copy, sort 0x99":           h(messageKey(group, 0x99, id)),
			"local copy by envelope":          h(messageLinkKey(group, id)),
			"ended epoch 7":                   h(epochEndedKey(group, 7)),
			"retention":                       h(retentionKey(group)),
			"chain state, epoch 1, key empty": h(recordKey(KindChainState, group, EpochKey(1, nil))),
			"day shred key, receive day":      h(dayShredKey(group, day)),
			"epoch shred key, epoch 7":        h(epochShredKey(group, 7)),
		},
		EnvelopeRecord: h(record),
		DayShredKey:    h(shredKey[:]),
		ShredKeyNonce:  h(keyNonce),
		SealedShredKey: h(sealedKey),
		SealedNonce:    h(nonce),
		SealedEnvelope: h(sealed),
	}
	path := filepath.Join("testdata", "layout.json")
	if os.Getenv("HEARTH_UPDATE_VECTORS") == "1" {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want layoutVectors
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Fatalf("layout differs from %s:\n got %s\nwant %s", path, gotJSON, wantJSON)
	}

	// Read the vector's bytes through the API.
	s, err := Open(filepath.Join(t.TempDir(), "s"), keys, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, s)
	sealedVec, _ := hex.DecodeString(want.SealedEnvelope)
	rawSet(t, s, envelopeKey(group, id), sealedVec)
	sealedKeyVec, _ := hex.DecodeString(want.SealedShredKey)
	dayKeyVec, _ := hex.DecodeString(want.Keys["day shred key, receive day"])
	rawSet(t, s, dayKeyVec, sealedKeyVec)
	for _, k := range []string{"envelope by generation", "envelope by arrival", "envelope by received"} {
		kb, _ := hex.DecodeString(want.Keys[k])
		rawSet(t, s, kb, nil)
	}
	es, err := s.EnvelopesFor(group, meta.Epoch, meta.Sender, meta.Generation, meta.Generation, 10)
	if err != nil || len(es) != 1 {
		t.Fatalf("EnvelopesFor = %v, %v", es, err)
	}
	e := es[0]
	if !bytes.Equal(e.Raw, raw) || e.Arrival != arrival || !e.Meta.Received.Equal(meta.Received) || e.Meta.Epoch != meta.Epoch {
		t.Fatalf("vector read back as %+v", e)
	}
	if since, err := s.EnvelopesSince(group, 41, 10); err != nil || len(since) != 1 {
		t.Fatalf("EnvelopesSince = %v, %v", since, err)
	}
}
