package crypto

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
)

// idTestCredential draws a member credential from a deterministic stream.
func idTestCredential(t testing.TB, seed string) *MemberCredential {
	t.Helper()
	c, err := NewMemberCredential(ksTestRand(t, seed))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestMemberIDDefinition recomputes member IDs from the definition in
// docs/PROTOCOL.md with the standard library alone, SHA-256("hearth v1
// member id" || 0x00 || Ed25519 public key)[:16], and checks that the
// document still states that definition.
func TestMemberIDDefinition(t *testing.T) {
	doc, err := os.ReadFile("../docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	const documented = "`SHA-256(\"hearth v1 member id\" || 0x00 || Ed25519 public key)[:16]`"
	if !strings.Contains(string(doc), documented) {
		t.Fatalf("docs/PROTOCOL.md no longer defines member IDs as %s", documented)
	}
	reference := func(signingKey []byte) []byte {
		sum := sha256.Sum256(append([]byte("hearth v1 member id\x00"), signingKey...))
		return sum[:16]
	}

	// A fixed vector, computed outside Go (OpenSSL's Ed25519 and
	// sha256sum): the credential whose Ed25519 seed is 32 bytes of 0x01
	// and whose X25519 scalar is 32 bytes of 0x02.
	raw := append(bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)...)
	c, err := UnmarshalMemberCredential(raw)
	if err != nil {
		t.Fatal(err)
	}
	const (
		fixedPublic = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
		fixedID     = "53c29008d94b47b2c660d75ab4c47701"
	)
	if pub := c.Public(); hex.EncodeToString(pub.SigningKey[:]) != fixedPublic {
		t.Fatalf("signing key %x, want %s", pub.SigningKey, fixedPublic)
	}
	if got := c.ID().String(); got != fixedID {
		t.Fatalf("member ID %s, want %s", got, fixedID)
	}
	if id := c.ID(); !bytes.Equal(id[:], reference(c.signing.Public().(ed25519.PublicKey))) {
		t.Fatalf("member ID %x disagrees with the reference", id)
	}

	for _, seed := range []string{"id a", "id b", "id c"} {
		c := idTestCredential(t, seed)
		p := c.Public()
		id := p.ID()
		if want := reference(p.SigningKey[:]); !bytes.Equal(id[:], want) {
			t.Errorf("%s: member ID %x, want %x", seed, id, want)
		}
		// The HPKE key takes no part.
		q := p
		q.HPKEKey[0] ^= 1
		if q.ID() != id {
			t.Errorf("%s: member ID depends on the X25519 key", seed)
		}
		if back, err := ParseMemberID(hex.EncodeToString(id[:])); err != nil || back != id {
			t.Errorf("%s: ParseMemberID(String) = %v, %v", seed, back, err)
		}
	}
}

// TestSignPurposeSeparation: a member signature is over "hearth v1 " ||
// purpose || 0x00 || message, recomputed here with crypto/ed25519, so it
// verifies for its own purpose and message only, never as a bare Ed25519
// signature of the message, and never under another member's key.
func TestSignPurposeSeparation(t *testing.T) {
	c := idTestCredential(t, "signer")
	p := c.Public()
	msg := []byte("group ID, epoch and the signed body")
	sig := c.Sign("commit", msg)

	documented := append([]byte("hearth v1 commit\x00"), msg...)
	if !ed25519.Verify(p.SigningKey[:], documented, sig) {
		t.Fatal("signature is not an Ed25519 signature of \"hearth v1 \" || purpose || 0x00 || message")
	}
	if !p.Verify("commit", msg, sig) {
		t.Fatal("signature does not verify for its own purpose")
	}
	for _, purpose := range []string{"envelope", "join request", "sync request", "", "commi", "commit\x00", "Commit"} {
		if p.Verify(purpose, msg, sig) {
			t.Errorf("a %q signature verifies as %q", "commit", purpose)
		}
	}
	// The zero byte keeps purpose and message apart.
	if p.Verify("commitg", msg[1:], sig) || p.Verify("commit\x00g", msg[1:], sig) {
		t.Error("moving a byte between purpose and message keeps the signature valid")
	}
	if ed25519.Verify(p.SigningKey[:], msg, sig) {
		t.Error("signature verifies as a bare Ed25519 signature of the message")
	}
	other := idTestCredential(t, "someone else").Public()
	if other.Verify("commit", msg, sig) {
		t.Error("signature verifies under another member's key")
	}
	for _, i := range []int{0, 31, 63} {
		bad := bytes.Clone(sig)
		bad[i] ^= 0x80
		if p.Verify("commit", msg, bad) {
			t.Errorf("signature with byte %d changed verifies", i)
		}
	}
	if p.Verify("commit", msg, sig[:SignatureSize-1]) || p.Verify("commit", msg, append(bytes.Clone(sig), 0)) {
		t.Error("a signature of the wrong length verifies")
	}
}

// TestFreshCredentialsUnrelated: each group's credential is drawn fresh
// from the randomness source and from nothing else, so two of them (a
// member's in two groups) share no key, no ID and no signature, and the
// device key takes no part.
func TestFreshCredentialsUnrelated(t *testing.T) {
	a, err := NewMemberCredential(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewMemberCredential(nil)
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := a.Public(), b.Public()
	if pa.SigningKey == pb.SigningKey || pa.HPKEKey == pb.HPKEKey || pa.ID() == pb.ID() {
		t.Fatal("two fresh credentials share a key or an ID")
	}
	if bytes.Equal(a.Marshal(), b.Marshal()) {
		t.Fatal("two fresh credentials have the same secrets")
	}
	msg := []byte("same message")
	if pb.Verify("envelope", msg, a.Sign("envelope", msg)) {
		t.Fatal("one group's credential verifies the other's signature")
	}

	// Everything comes from the source: the same stream gives the same
	// credential, and the next bytes of it an unrelated one.
	same1, same2 := idTestCredential(t, "group one"), idTestCredential(t, "group one")
	if !bytes.Equal(same1.Marshal(), same2.Marshal()) {
		t.Fatal("a credential depends on something besides its randomness")
	}
	r := ksTestRand(t, "one stream")
	first, err := NewMemberCredential(r)
	if err != nil {
		t.Fatal(err)
	}
	second, err := NewMemberCredential(r)
	if err != nil {
		t.Fatal(err)
	}
	fm, sm := first.Marshal(), second.Marshal()
	for _, half := range [][2]int{{0, 32}, {32, 64}} {
		if bytes.Equal(fm[half[0]:half[1]], sm[half[0]:half[1]]) {
			t.Fatalf("consecutive credentials share bytes %d..%d", half[0], half[1])
		}
	}

	dev, err := NewDeviceKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []MemberPublic{pa, pb} {
		if bytes.Equal(p.SigningKey[:], dev.PublicKey()) {
			t.Fatal("a member credential reuses the device key")
		}
	}

	if _, err := NewMemberCredential(ksFailingReader{}); err == nil {
		t.Fatal("NewMemberCredential succeeded with a failing randomness source")
	}
}

// x25519SmallOrder lists the X25519 public keys of small order (RFC 7748
// section 6.1 warns of them; these are the encodings libsodium refuses),
// each also with the unused top bit set, which X25519 ignores.
var x25519SmallOrder = []string{
	"0000000000000000000000000000000000000000000000000000000000000000", // 0
	"0100000000000000000000000000000000000000000000000000000000000000", // 1
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", // order 8
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p - 1
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p, which is 0
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p + 1, which is 1
}

func TestUnmarshalMemberPublic(t *testing.T) {
	good := idTestCredential(t, "roster entry").Public()
	b := good.Marshal()
	if len(b) != MemberPublicSize {
		t.Fatalf("Marshal gave %d bytes, want %d", len(b), MemberPublicSize)
	}
	back, err := UnmarshalMemberPublic(b)
	if err != nil || back != good {
		t.Fatalf("round trip = %v, %v", back, err)
	}
	if !bytes.Equal(b[:32], good.SigningKey[:]) || !bytes.Equal(b[32:], good.HPKEKey[:]) {
		t.Fatal("marshalled form is not Ed25519 key || X25519 key")
	}

	for _, n := range []int{0, 1, 32, MemberPublicSize - 1, MemberPublicSize + 1, 128} {
		in := make([]byte, n)
		copy(in, b)
		if _, err := UnmarshalMemberPublic(in); !errors.Is(err, ErrBadPublicKey) {
			t.Errorf("%d bytes: err = %v, want ErrBadPublicKey", n, err)
		}
	}
	for _, h := range x25519SmallOrder {
		key, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		for _, top := range []byte{0, 0x80} {
			in := append(bytes.Clone(b[:32]), key...)
			in[63] |= top
			p, err := UnmarshalMemberPublic(in)
			if !errors.Is(err, ErrBadPublicKey) {
				t.Errorf("X25519 key %x accepted (%v)", in[32:], err)
			}
			if p != (MemberPublic{}) {
				t.Errorf("X25519 key %x: a refused parse returned keys", in[32:])
			}
		}
	}
}

// FuzzUnmarshalMemberPublic: member public keys come from rosters, commits
// and join requests, so from other members. The parser never panics, and
// what it accepts marshals back to the same bytes and can be sealed to.
func FuzzUnmarshalMemberPublic(f *testing.F) {
	f.Add(idTestCredential(f, "fuzz seed").Public().Marshal())
	f.Add(make([]byte, MemberPublicSize))
	f.Add([]byte{1, 2, 3})
	for _, h := range x25519SmallOrder {
		key, _ := hex.DecodeString(h)
		f.Add(append(make([]byte, 32), key...))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := UnmarshalMemberPublic(b)
		if err != nil {
			if !errors.Is(err, ErrBadPublicKey) {
				t.Fatalf("error %v does not wrap ErrBadPublicKey", err)
			}
			return
		}
		if !bytes.Equal(p.Marshal(), b) {
			t.Fatalf("round trip changed %x to %x", b, p.Marshal())
		}
		if _, err := SealToMember(p, MemberID{}, SecretEpoch, GroupID{}, 1, make([]byte, KeySize)); err != nil {
			t.Fatalf("accepted keys cannot be sealed to: %v", err)
		}
	})
}
