package crypto

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// envFixture is one epoch with two members, A (index 0) and B (index 1),
// whose chains every member knows.
type envFixture struct {
	group  GroupID
	epoch  uint64
	keys   EpochKeys
	a, b   *MemberCredential
	chainA *ChainKey
}

func envNewFixture(t testing.TB) *envFixture {
	t.Helper()
	g, epoch, secret := schedFixedInputs()
	a, err := UnmarshalMemberCredential(schedPattern(0xa0, MemberCredentialSize))
	if err != nil {
		t.Fatal(err)
	}
	b, err := UnmarshalMemberCredential(schedPattern(0x01, MemberCredentialSize))
	if err != nil {
		t.Fatal(err)
	}
	return &envFixture{
		group:  g,
		epoch:  epoch,
		keys:   DeriveEpochKeys(g, epoch, secret),
		a:      a,
		b:      b,
		chainA: chainFixedKey(),
	}
}

// input returns a SealInput for A's generation gen of its chain.
func (f *envFixture) input(t testing.TB, gen int, content []byte) SealInput {
	t.Helper()
	mk := chainSendKeys(t, f.chainA, gen+1)[gen]
	return SealInput{
		Group:         f.group,
		Epoch:         f.epoch,
		SenderDataKey: &f.keys.SenderData,
		Sender:        SenderData{Index: 0, Generation: uint32(gen)},
		MessageKey:    &mk,
		Author:        f.a,
		Timestamp:     1764172800123,
		Content:       content,
	}
}

func envSeal(t testing.TB, in SealInput) []byte {
	t.Helper()
	b, err := SealEnvelope(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// envOpen runs the whole receive path: parse, open sender data, open
// content with key and author.
func envOpen(b []byte, f *envFixture, key *MessageKey, author MemberPublic) (SenderData, Plaintext, error) {
	e, err := ParseEnvelope(b)
	if err != nil {
		return SenderData{}, Plaintext{}, err
	}
	sd, err := e.OpenSender(&f.keys.SenderData)
	if err != nil {
		return SenderData{}, Plaintext{}, err
	}
	pt, err := e.OpenContent(f.group, sd, key, author)
	return sd, pt, err
}

func TestEnvelopeRoundTrip(t *testing.T) {
	f := envNewFixture(t)
	for _, n := range []int{0, 1, 180, 181, 1000, 16384, MaxContentSize} {
		content := bytes.Repeat([]byte{'x'}, n)
		in := f.input(t, 3, content)
		b := envSeal(t, in)
		e, err := ParseEnvelope(b)
		if err != nil {
			t.Fatalf("%d bytes: parse: %v", n, err)
		}
		if e.Version != EnvelopeVersion || e.Epoch != f.epoch {
			t.Errorf("%d bytes: header reads version %d epoch %d", n, e.Version, e.Epoch)
		}
		if !bytes.Equal(e.Marshal(), b) {
			t.Errorf("%d bytes: Marshal does not return the parsed bytes", n)
		}
		if e.ID() != EnvelopeID(b) {
			t.Errorf("%d bytes: ID differs from EnvelopeID", n)
		}
		sd, err := e.OpenSender(&f.keys.SenderData)
		if err != nil {
			t.Fatalf("%d bytes: open sender: %v", n, err)
		}
		if sd != in.Sender {
			t.Errorf("%d bytes: sender data %+v, want %+v", n, sd, in.Sender)
		}
		pt, err := e.OpenContent(f.group, sd, in.MessageKey, f.a.Public())
		if err != nil {
			t.Fatalf("%d bytes: open content: %v", n, err)
		}
		if pt.Timestamp != in.Timestamp || !bytes.Equal(pt.Content, content) {
			t.Errorf("%d bytes: opened plaintext differs from what was sealed", n)
		}
	}
}

func TestEnvelopeBitFlips(t *testing.T) {
	f := envNewFixture(t)
	in := f.input(t, 0, []byte("I made it through today."))
	b := envSeal(t, in)
	if len(b) != MinEnvelopeSize {
		t.Fatalf("small envelope is %d bytes, want %d", len(b), MinEnvelopeSize)
	}
	for i := range len(b) * 8 {
		c := append([]byte(nil), b...)
		c[i/8] ^= 1 << (i % 8)
		_, _, err := envOpen(c, f, in.MessageKey, f.a.Public())
		if err == nil {
			t.Fatalf("flipping bit %d of byte %d went unnoticed", i%8, i/8)
		}
		var want error
		switch {
		case i/8 == 0:
			want = ErrEnvelopeVersion
		default:
			// Every other byte is authenticated: the header by both
			// AEADs, the rest by the content AEAD.
			want = ErrDecrypt
		}
		if !errors.Is(err, want) {
			t.Fatalf("flipping bit %d of byte %d: got %v, want %v", i%8, i/8, err, want)
		}
	}
}

func TestEnvelopeTruncationAndExtension(t *testing.T) {
	f := envNewFixture(t)
	b := envSeal(t, f.input(t, 0, make([]byte, 500))) // 1024-byte bucket
	for n := range len(b) {
		_, err := ParseEnvelope(b[:n])
		if err == nil {
			// A cut exactly at a smaller bucket is well formed; it
			// must then fail to open.
			if _, _, err := envOpen(b[:n], f, f.input(t, 0, nil).MessageKey, f.a.Public()); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("envelope cut to %d bytes opened or failed wrongly: %v", n, err)
			}
			if n != HeaderSize+512+TagSize && n != HeaderSize+256+TagSize {
				t.Fatalf("envelope cut to %d bytes parsed", n)
			}
			continue
		}
		if !errors.Is(err, ErrMalformedEnvelope) {
			t.Fatalf("envelope cut to %d bytes: got %v, want ErrMalformedEnvelope", n, err)
		}
	}
	if _, err := ParseEnvelope(append(append([]byte(nil), b...), 0)); !errors.Is(err, ErrMalformedEnvelope) {
		t.Errorf("envelope with a trailing byte: got %v, want ErrMalformedEnvelope", err)
	}
	// 1024 extra bytes make a 2048-byte bucket: well formed, but it must
	// not open.
	extended := append(append([]byte(nil), b...), make([]byte, 1024)...)
	if _, _, err := envOpen(extended, f, f.input(t, 0, nil).MessageKey, f.a.Public()); !errors.Is(err, ErrDecrypt) {
		t.Errorf("extended envelope: got %v, want ErrDecrypt", err)
	}
	big := make([]byte, MaxEnvelopeSize+MaxBucket)
	big[0] = EnvelopeVersion
	if _, err := ParseEnvelope(big); !errors.Is(err, ErrMalformedEnvelope) {
		t.Errorf("envelope over MaxEnvelopeSize: got %v, want ErrMalformedEnvelope", err)
	}
}

func TestEnvelopeVersion(t *testing.T) {
	f := envNewFixture(t)
	b := envSeal(t, f.input(t, 0, nil))
	for _, v := range []byte{0, 2, 255} {
		c := append([]byte(nil), b...)
		c[0] = v
		if _, err := ParseEnvelope(c); !errors.Is(err, ErrEnvelopeVersion) {
			t.Errorf("version %d: got %v, want ErrEnvelopeVersion", v, err)
		}
		// A future version may be shorter than ours: still a version error.
		if _, err := ParseEnvelope(c[:10]); !errors.Is(err, ErrEnvelopeVersion) {
			t.Errorf("short version %d: got %v, want ErrEnvelopeVersion", v, err)
		}
	}
	if _, err := ParseEnvelope(nil); !errors.Is(err, ErrMalformedEnvelope) {
		t.Errorf("empty envelope: got %v, want ErrMalformedEnvelope", err)
	}
}

func TestEnvelopeWrongKeys(t *testing.T) {
	f := envNewFixture(t)
	in := f.input(t, 2, []byte("only for this group"))
	b := envSeal(t, in)
	e, err := ParseEnvelope(b)
	if err != nil {
		t.Fatal(err)
	}

	// Another epoch's keys (the next epoch, or the same epoch of another
	// group) cannot read the sender.
	_, _, secret := schedFixedInputs()
	other := DeriveEpochKeys(f.group, f.epoch+1, secret)
	if _, err := e.OpenSender(&other.SenderData); !errors.Is(err, ErrDecrypt) {
		t.Errorf("next epoch's sender-data key: got %v, want ErrDecrypt", err)
	}
	sd, err := e.OpenSender(&f.keys.SenderData)
	if err != nil {
		t.Fatal(err)
	}

	// Another generation's message key cannot read the content.
	wrong := chainSendKeys(t, f.chainA, 4)[3]
	if _, err := e.OpenContent(f.group, sd, &wrong, f.a.Public()); !errors.Is(err, ErrDecrypt) {
		t.Errorf("wrong message key: got %v, want ErrDecrypt", err)
	}

	// The right keys but the wrong author, group or sender data: the
	// signature does not verify.
	if _, err := e.OpenContent(f.group, sd, in.MessageKey, f.b.Public()); !errors.Is(err, ErrBadSignature) {
		t.Errorf("wrong author: got %v, want ErrBadSignature", err)
	}
	otherGroup := f.group
	otherGroup[15] ^= 1
	if _, err := e.OpenContent(otherGroup, sd, in.MessageKey, f.a.Public()); !errors.Is(err, ErrBadSignature) {
		t.Errorf("wrong group: got %v, want ErrBadSignature", err)
	}
	if _, err := e.OpenContent(f.group, SenderData{Index: 1, Generation: 2}, in.MessageKey, f.a.Public()); !errors.Is(err, ErrBadSignature) {
		t.Errorf("wrong sender index: got %v, want ErrBadSignature", err)
	}

	// Changing the exported header fields changes nothing that opens.
	e.Epoch++
	if _, err := e.OpenContent(f.group, sd, in.MessageKey, f.a.Public()); err != nil {
		t.Errorf("changing Envelope.Epoch broke opening: %v", err)
	}
	if !bytes.Equal(e.Marshal(), b) {
		t.Error("changing Envelope.Epoch changed Marshal")
	}
}

// TestEnvelopeImpersonationLeavesChainUnchanged plays a member (B) who knows
// A's chain key, as every member does, and seals a message in A's name at
// A's next generation. Receivers must reject it as a bad signature without
// burning the generation, and still accept A's real message.
func TestEnvelopeImpersonationLeavesChainUnchanged(t *testing.T) {
	f := envNewFixture(t)
	forged := f.input(t, 0, []byte("a message A never wrote"))
	forged.Author = f.b
	forgedEnv := envSeal(t, forged)
	genuine := f.input(t, 0, []byte("A's own words"))
	genuineEnv := envSeal(t, genuine)

	recv := NewRecvChain(f.chainA)
	receive := func(b []byte) (Plaintext, error) {
		e, err := ParseEnvelope(b)
		if err != nil {
			return Plaintext{}, err
		}
		sd, err := e.OpenSender(&f.keys.SenderData)
		if err != nil {
			return Plaintext{}, err
		}
		key, err := recv.Peek(sd.Generation)
		if err != nil {
			return Plaintext{}, err
		}
		defer key.Wipe()
		// The roster says index 0 is A.
		pt, err := e.OpenContent(f.group, sd, &key, f.a.Public())
		if err != nil {
			return Plaintext{}, err
		}
		return pt, recv.Consume(sd.Generation)
	}

	before := chainState(t, recv)
	if _, err := receive(forgedEnv); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("forged envelope: got %v, want ErrBadSignature", err)
	}
	if !bytes.Equal(before, chainState(t, recv)) {
		t.Fatal("a forged envelope changed the receive chain")
	}
	pt, err := receive(genuineEnv)
	if err != nil {
		t.Fatalf("genuine envelope after a forgery: %v", err)
	}
	if string(pt.Content) != "A's own words" {
		t.Errorf("genuine envelope opened to %q", pt.Content)
	}
	if _, err := receive(genuineEnv); !errors.Is(err, ErrGenerationUsed) {
		t.Errorf("replayed envelope: got %v, want ErrGenerationUsed", err)
	}
}

func TestEnvelopePaddingBuckets(t *testing.T) {
	f := envNewFixture(t)
	cases := []struct{ content, size int }{
		{0, HeaderSize + 256 + TagSize},
		{256 - envInnerOverhead, HeaderSize + 256 + TagSize},
		{256 - envInnerOverhead + 1, HeaderSize + 512 + TagSize},
		{1024 - envInnerOverhead, HeaderSize + 1024 + TagSize},
		{1024, HeaderSize + 2048 + TagSize},
		{16384, HeaderSize + 32768 + TagSize},
		{MaxContentSize, MaxEnvelopeSize},
	}
	for _, c := range cases {
		b := envSeal(t, f.input(t, 0, make([]byte, c.content)))
		if len(b) != c.size {
			t.Errorf("%d bytes of content: envelope is %d bytes, want %d", c.content, len(b), c.size)
		}
		if got, err := EnvelopeSize(c.content); err != nil || got != c.size {
			t.Errorf("EnvelopeSize(%d) = %d, %v; want %d", c.content, got, err, c.size)
		}
	}
	// An observer learns the bucket and nothing finer: every content
	// length within a bucket gives the same envelope length.
	sizes := map[int]bool{}
	for n := 0; n <= 2048-envInnerOverhead; n += 7 {
		sizes[len(envSeal(t, f.input(t, 0, make([]byte, n))))] = true
	}
	if len(sizes) != 4 {
		t.Errorf("content of 0..%d bytes gave %d envelope sizes, want 4 (buckets 256..2048)", 2048-envInnerOverhead, len(sizes))
	}
	if MaxEnvelopeSize != 65609 || MaxContentSize != 65460 || HeaderSize != 57 {
		t.Errorf("sizes changed: header %d, max envelope %d, max content %d", HeaderSize, MaxEnvelopeSize, MaxContentSize)
	}

	_, err := SealEnvelope(f.input(t, 0, make([]byte, MaxContentSize+1)), nil)
	if !errors.Is(err, ErrContentTooLarge) {
		t.Errorf("oversized content: got %v, want ErrContentTooLarge", err)
	}
	if _, err := EnvelopeSize(MaxContentSize + 1); !errors.Is(err, ErrContentTooLarge) {
		t.Errorf("EnvelopeSize of oversized content: got %v, want ErrContentTooLarge", err)
	}
}

// envSealPadded seals an arbitrary padded plaintext the way a misbehaving
// member holding the message key could.
func envSealPadded(f *envFixture, in SealInput, padded []byte) []byte {
	out := make([]byte, HeaderSize)
	out[0] = EnvelopeVersion
	binary.BigEndian.PutUint64(out[1:], in.Epoch)
	copy(out[envNonceOffset:], schedPattern(0x33, NonceSize))
	var sd [8]byte
	binary.BigEndian.PutUint32(sd[0:], in.Sender.Index)
	binary.BigEndian.PutUint32(sd[4:], in.Sender.Generation)
	out = sealWithNonce(out[:envSenderOffset], &f.keys.SenderData, out[envNonceOffset:envSenderOffset], sd[:], out[:envSenderOffset])
	return sealWithNonce(out, (*[KeySize]byte)(in.MessageKey), out[envNonceOffset:envSenderOffset], padded, out[:HeaderSize])
}

func TestEnvelopeNonCanonicalPlaintext(t *testing.T) {
	f := envNewFixture(t)
	in := f.input(t, 0, []byte("hello"))
	sig := f.a.Sign(envSignPurpose, envSignedMessage(f.group, f.epoch, in.Sender, in.Timestamp, in.Content))
	build := func(bucket int, length uint32) []byte {
		p := make([]byte, bucket)
		binary.BigEndian.PutUint64(p, uint64(in.Timestamp))
		binary.BigEndian.PutUint32(p[8:], length)
		copy(p[12:], in.Content)
		copy(p[12+len(in.Content):], sig)
		return p
	}
	// The canonical form opens, which shows envSealPadded is faithful.
	if _, _, err := envOpen(envSealPadded(f, in, build(256, 5)), f, in.MessageKey, f.a.Public()); err != nil {
		t.Fatalf("canonical hand-built envelope: %v", err)
	}
	nonZero := build(256, 5)
	nonZero[255] = 1
	for name, padded := range map[string][]byte{
		"non-zero padding":        nonZero,
		"larger bucket":           build(512, 5),
		"length past the end":     build(256, 256-envInnerOverhead+1),
		"length 2^32-1":           build(256, 0xffffffff),
		"length off by one short": build(256, 4),
	} {
		_, _, err := envOpen(envSealPadded(f, in, padded), f, in.MessageKey, f.a.Public())
		if name == "length off by one short" {
			// The content then ends one byte early and the signature
			// is read one byte off: it cannot verify (or the padding is
			// not zero).
			if !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrMalformedEnvelope) {
				t.Errorf("%s: got %v", name, err)
			}
			continue
		}
		if !errors.Is(err, ErrMalformedEnvelope) {
			t.Errorf("%s: got %v, want ErrMalformedEnvelope", name, err)
		}
	}
}

func TestEnvelopeUnique(t *testing.T) {
	f := envNewFixture(t)
	in := f.input(t, 0, []byte("same words"))
	a, b := envSeal(t, in), envSeal(t, in)
	if bytes.Equal(a, b) || EnvelopeID(a) == EnvelopeID(b) {
		t.Error("two seals of the same input gave the same envelope; gossipsub would drop the second")
	}
}

func TestEnvelopeSealErrors(t *testing.T) {
	f := envNewFixture(t)
	for name, mutate := range map[string]func(*SealInput){
		"no sender-data key": func(in *SealInput) { in.SenderDataKey = nil },
		"no message key":     func(in *SealInput) { in.MessageKey = nil },
		"no author":          func(in *SealInput) { in.Author = nil },
	} {
		in := f.input(t, 0, nil)
		mutate(&in)
		if _, err := SealEnvelope(in, nil); err == nil {
			t.Errorf("%s: sealed anyway", name)
		}
	}
	if _, err := SealEnvelope(f.input(t, 0, nil), bytes.NewReader(make([]byte, NonceSize-1))); err == nil {
		t.Error("sealed with a failing random source")
	}
}

// envHex decodes s, which must be n bytes long (any length when n < 0).
func envHex(t *testing.T, s string, n int) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || (n >= 0 && len(b) != n) {
		t.Fatalf("vector field %q: %d bytes, err %v", s, len(b), err)
	}
	return b
}

type envVector struct {
	Group         string `json:"group"`
	Epoch         uint64 `json:"epoch"`
	SenderDataKey string `json:"sender_data_key"`
	MemberIndex   uint32 `json:"member_index"`
	Generation    uint32 `json:"generation"`
	MessageKey    string `json:"message_key"`
	Author        string `json:"author_credential"`
	AuthorPublic  string `json:"author_public"`
	Timestamp     int64  `json:"timestamp"`
	Content       string `json:"content"`
	Nonce         string `json:"nonce"`
	Envelope      string `json:"envelope"`
	EnvelopeID    string `json:"envelope_id"`
}

func TestEnvelopeVectors(t *testing.T) {
	f := envNewFixture(t)
	in := f.input(t, 1, []byte("Day 30. Thank you all for Tuesday."))
	nonce := schedPattern(0xc0, NonceSize)
	b, err := SealEnvelope(in, bytes.NewReader(nonce))
	if err != nil {
		t.Fatal(err)
	}
	id := EnvelopeID(b)
	pub := f.a.Public()
	schedCheckVectors(t, "envelope.json", envVector{
		Group:         hex.EncodeToString(f.group[:]),
		Epoch:         f.epoch,
		SenderDataKey: hex.EncodeToString(f.keys.SenderData[:]),
		MemberIndex:   in.Sender.Index,
		Generation:    in.Sender.Generation,
		MessageKey:    hex.EncodeToString(in.MessageKey[:]),
		Author:        hex.EncodeToString(f.a.Marshal()),
		AuthorPublic:  hex.EncodeToString(pub.Marshal()),
		Timestamp:     in.Timestamp,
		Content:       string(in.Content),
		Nonce:         hex.EncodeToString(nonce),
		Envelope:      hex.EncodeToString(b),
		EnvelopeID:    hex.EncodeToString(id[:]),
	})

	// Open the envelope as stored in the file, using only the file.
	raw, err := os.ReadFile(filepath.Join("testdata", "envelope.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v envVector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	envBytes := envHex(t, v.Envelope, -1)
	sdKey := [KeySize]byte(envHex(t, v.SenderDataKey, KeySize))
	mk := MessageKey(envHex(t, v.MessageKey, KeySize))
	group := GroupID(envHex(t, v.Group, GroupIDSize))
	author, err := UnmarshalMemberPublic(envHex(t, v.AuthorPublic, MemberPublicSize))
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseEnvelope(envBytes)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := e.OpenSender(&sdKey)
	if err != nil {
		t.Fatal(err)
	}
	if sd.Index != v.MemberIndex || sd.Generation != v.Generation {
		t.Errorf("vector sender data opened to %+v", sd)
	}
	pt, err := e.OpenContent(group, sd, &mk, author)
	if err != nil {
		t.Fatal(err)
	}
	if pt.Timestamp != v.Timestamp || string(pt.Content) != v.Content {
		t.Error("vector envelope opened to other content")
	}
}

// TestEnvelopeXChaChaLayout checks the layout against x/crypto directly,
// without the package's wrappers, as a second implementation would.
func TestEnvelopeXChaChaLayout(t *testing.T) {
	f := envNewFixture(t)
	in := f.input(t, 5, []byte("layout"))
	b := envSeal(t, in)
	nonce := b[9:33]
	sdAEAD, _ := chacha20poly1305.NewX(f.keys.SenderData[:])
	sd, err := sdAEAD.Open(nil, nonce, b[33:57], b[:33])
	if err != nil {
		t.Fatal(err)
	}
	if binary.BigEndian.Uint32(sd) != 0 || binary.BigEndian.Uint32(sd[4:]) != 5 {
		t.Errorf("sender data %x", sd)
	}
	cAEAD, _ := chacha20poly1305.NewX(in.MessageKey[:])
	p, err := cAEAD.Open(nil, nonce, b[57:], b[:57])
	if err != nil {
		t.Fatal(err)
	}
	n := binary.BigEndian.Uint32(p[8:])
	if int64(binary.BigEndian.Uint64(p)) != in.Timestamp || n != 6 || string(p[12:18]) != "layout" {
		t.Errorf("padded plaintext starts %x", p[:20])
	}
	msg := append([]byte("hearth v1 envelope\x00"), f.group[:]...)
	msg = binary.BigEndian.AppendUint64(msg, f.epoch)
	msg = binary.BigEndian.AppendUint32(msg, 0)
	msg = binary.BigEndian.AppendUint32(msg, 5)
	msg = binary.BigEndian.AppendUint64(msg, uint64(in.Timestamp))
	msg = append(msg, "layout"...)
	pub := f.a.Public()
	if !ed25519.Verify(pub.SigningKey[:], msg, p[18:18+64]) {
		t.Error("signature is not over the documented message")
	}
	if !bytes.Equal(p[18+64:], make([]byte, 256-18-64)) {
		t.Error("padding is not zero")
	}
}

func FuzzParseEnvelope(f *testing.F) {
	fx := envNewFixture(f)
	for _, n := range []int{0, 200, 1000} {
		f.Add(envSeal(f, fx.input(f, 0, make([]byte, n))))
	}
	mk0 := fx.input(f, 0, nil).MessageKey
	f.Add([]byte{})
	f.Add([]byte{EnvelopeVersion})
	f.Add([]byte{2, 0, 0})
	f.Add(make([]byte, MinEnvelopeSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEnvelope(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedEnvelope) && !errors.Is(err, ErrEnvelopeVersion) {
				t.Fatalf("parse error outside the documented set: %v", err)
			}
			return
		}
		if !bytes.Equal(e.Marshal(), b) {
			t.Fatal("parse then Marshal changed the bytes")
		}
		if e.Version != b[0] || e.Epoch != binary.BigEndian.Uint64(b[1:]) {
			t.Fatal("header fields do not match the bytes")
		}
		// Opening fails cleanly, never panics. Only the seeds' genuine
		// sender data authenticates; their content opens unless the
		// fuzzer changed it.
		sd, err := e.OpenSender(&fx.keys.SenderData)
		if err != nil {
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("open sender: %v", err)
			}
			return
		}
		if _, err := e.OpenContent(fx.group, sd, mk0, fx.a.Public()); err != nil && !errors.Is(err, ErrDecrypt) {
			t.Fatalf("open content: %v", err)
		}
	})
}

func envBenchSizes() []int { return []int{1024, 16384} }

func envSizeName(n int) string { return fmt.Sprintf("%dKiB", n/1024) }

func BenchmarkSealEnvelope(b *testing.B) {
	f := envNewFixture(b)
	for _, n := range envBenchSizes() {
		b.Run(envSizeName(n), func(b *testing.B) {
			in := f.input(b, 0, make([]byte, n))
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := SealEnvelope(in, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpenEnvelope(b *testing.B) {
	f := envNewFixture(b)
	author := f.a.Public()
	for _, n := range envBenchSizes() {
		b.Run(envSizeName(n), func(b *testing.B) {
			in := f.input(b, 0, make([]byte, n))
			env := envSeal(b, in)
			b.SetBytes(int64(n))
			for b.Loop() {
				e, err := ParseEnvelope(env)
				if err != nil {
					b.Fatal(err)
				}
				sd, err := e.OpenSender(&f.keys.SenderData)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := e.OpenContent(f.group, sd, in.MessageKey, author); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkXChaChaFloor is a bare XChaCha20-Poly1305 seal of the content
// size (and of the bucket that size pads to), the least any envelope seal
// could cost.
func BenchmarkXChaChaFloor(b *testing.B) {
	var key [KeySize]byte
	nonce := make([]byte, NonceSize)
	for _, n := range []int{1024, 2048, 16384, 32768} {
		b.Run(envSizeName(n), func(b *testing.B) {
			aead, _ := chacha20poly1305.NewX(key[:])
			pt := make([]byte, n)
			out := make([]byte, 0, n+TagSize)
			b.SetBytes(int64(n))
			for b.Loop() {
				out = aead.Seal(out[:0], nonce, pt, nil)
			}
		})
	}
}

// BenchmarkEd25519SignVerifyFloor is one Ed25519 signature and one
// verification over a message of the content size: what sealing and opening
// an envelope spend on the author's signature.
func BenchmarkEd25519SignVerifyFloor(b *testing.B) {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	pub := priv.Public().(ed25519.PublicKey)
	for _, n := range envBenchSizes() {
		b.Run(envSizeName(n), func(b *testing.B) {
			msg := make([]byte, n)
			b.SetBytes(int64(n))
			for b.Loop() {
				if !ed25519.Verify(pub, msg, ed25519.Sign(priv, msg)) {
					b.Fatal("verify failed")
				}
			}
		})
	}
}

// BenchmarkChainStep is one SendChain.Next: a message key and the next
// chain key, each one HKDF-SHA256 expansion, and the old key erased.
func BenchmarkChainStep(b *testing.B) {
	s := NewSendChain(chainFixedKey())
	for b.Loop() {
		if _, _, err := s.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChainStepFloor is what a chain step is made of at the primitive
// level: two bare crypto/hkdf expansions of a 32-byte key into 32 bytes,
// with infos of the chain's lengths.
func BenchmarkChainStepFloor(b *testing.B) {
	key := chainFixedKey()
	for b.Loop() {
		mk, err := hkdf.Expand(sha256.New, key[:], "hearth v1 chain message\x00", KeySize)
		if err != nil {
			b.Fatal(err)
		}
		next, err := hkdf.Expand(sha256.New, key[:], "hearth v1 chain next\x00", KeySize)
		if err != nil {
			b.Fatal(err)
		}
		if len(mk)+len(next) != 2*KeySize {
			b.Fatal("short expansion")
		}
	}
}

func TestEnvelopePaddingCheckEveryPosition(t *testing.T) {
	for n := range 20 {
		b := make([]byte, n)
		if !envAllZero(b) {
			t.Fatalf("%d zero bytes reported non-zero", n)
		}
		for i := range n {
			b[i] = 0x80
			if envAllZero(b) {
				t.Fatalf("a non-zero byte at %d of %d went unnoticed", i, n)
			}
			b[i] = 0
		}
	}
}
