package crypto

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/hpke"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

// Reference re-derivations of the known-answer vectors in testdata/. The
// vector tests beside each feature check that the code reproduces its
// golden file; but the code wrote those files, so on their own they pin
// whatever the code did. The tests here recompute every value of the
// schedule, chain, invite and HPKE vectors from the definitions in
// docs/PROTOCOL.md, with the standard library only and none of this
// package's functions or constants (HKDF is written out from RFC 5869), so
// a golden file that drifted from the documented protocol fails here, as
// ksReferenceFile does for the keystore.

// refHMAC is HMAC-SHA256.
func refHMAC(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// refDeriveKey is PROTOCOL.md's DeriveKey: HKDF-Expand (RFC 5869 section
// 2.3) with PRK = secret, info = "hearth v1 " || label || 0x00 || context
// and L = 32, which is the single block T(1) = HMAC(PRK, info || 0x01).
func refDeriveKey(secret []byte, label string, context []byte) []byte {
	info := append([]byte("hearth v1 "+label+"\x00"), context...)
	return refHMAC(secret, info, []byte{1})
}

// refExtractKey is PROTOCOL.md's ExtractKey: HKDF-Extract (RFC 5869
// section 2.2) with salt = "hearth v1 " || label, which is HMAC(salt, IKM).
func refExtractKey(label string, ikm []byte) []byte {
	return refHMAC([]byte("hearth v1 "+label), ikm)
}

// refBase32 is RFC 4648 base32 in lower case without padding.
var refBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func refLoad(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func refHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// refCheck compares a recomputed value with the golden file's.
func refCheck(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	if hex.EncodeToString(got) != want {
		t.Errorf("%s: the documented definition gives %x, the vector holds %s", what, got, want)
	}
}

func TestScheduleReference(t *testing.T) {
	var v schedVector
	refLoad(t, "schedule.json", &v)
	secret := refHex(t, v.Secret)
	ctx := binary.BigEndian.AppendUint64(refHex(t, v.Group), v.Epoch)
	refCheck(t, "topic ID", refDeriveKey(secret, "epoch topic", ctx), v.TopicID)
	refCheck(t, "sender data key", refDeriveKey(secret, "epoch sender data", ctx), v.SenderData)
	refCheck(t, "sync auth key", refDeriveKey(secret, "epoch sync auth", ctx), v.SyncAuth)
	rendezvous := refDeriveKey(secret, "epoch rendezvous", ctx)
	refCheck(t, "rendezvous key", rendezvous, v.Rendezvous)

	if got := "/hearth/1/" + refBase32.EncodeToString(refDeriveKey(secret, "epoch topic", ctx)[:20]); got != v.Topic {
		t.Errorf("topic: the definition gives %s, the vector holds %s", got, v.Topic)
	}
	day := binary.BigEndian.AppendUint64(nil, uint64(v.RendezvousDay))
	if got := "/hearth/1/rv/" + refBase32.EncodeToString(refDeriveKey(rendezvous, "rendezvous day", day)[:20]); got != v.RendezvousNamespace {
		t.Errorf("rendezvous namespace: the definition gives %s, the vector holds %s", got, v.RendezvousNamespace)
	}
}

func TestChainReference(t *testing.T) {
	var v chainVector
	refLoad(t, "chain.json", &v)
	if len(v.ChainKeys) == 0 || len(v.ChainKeys) != len(v.MessageKeys) {
		t.Fatalf("chain.json holds %d chain keys and %d message keys", len(v.ChainKeys), len(v.MessageKeys))
	}
	ck := refHex(t, v.ChainKey)
	for n := range v.ChainKeys {
		refCheck(t, fmt.Sprintf("chain key %d", n), ck, v.ChainKeys[n])
		refCheck(t, fmt.Sprintf("message key %d", n), refDeriveKey(ck, "chain message", nil), v.MessageKeys[n])
		ck = refDeriveKey(ck, "chain next", nil)
	}
}

func TestInviteReference(t *testing.T) {
	var f invVectorFile
	refLoad(t, "invite.json", &f)
	if len(f.Vectors) == 0 {
		t.Fatal("invite.json holds no vectors")
	}
	for i, v := range f.Vectors {
		group, secret, peer := refHex(t, v.Group), refHex(t, v.Secret), refHex(t, v.PeerID)

		// Binary layout, version 1, and its checksum.
		var b []byte
		b = append(b, 0x01)
		b = append(b, group...)
		b = append(b, secret...)
		b = binary.BigEndian.AppendUint64(b, uint64(v.Expires))
		b = binary.BigEndian.AppendUint16(b, v.Uses)
		b = append(b, byte(len(peer)))
		b = append(b, peer...)
		b = append(b, byte(len(v.Addrs)))
		for _, a := range v.Addrs {
			addr := refHex(t, a)
			b = append(b, byte(len(addr)))
			b = append(b, addr...)
		}
		sum := sha256.Sum256(append([]byte("hearth v1 invite checksum\x00"), b...))
		b = append(b, sum[:4]...)
		refCheck(t, "invite binary", b, v.Binary)
		if got := "hearth:" + refBase32.EncodeToString(b); got != v.String {
			t.Errorf("vector %d: string form: the definition gives %s, the vector holds %s", i, got, v.String)
		}

		// Invite ID and join auth key.
		prk := refExtractKey("invite secret", secret)
		id := refDeriveKey(prk, "invite id", group)[:8]
		refCheck(t, "invite ID", id, v.ID)
		auth := refDeriveKey(prk, "invite join auth", group)
		refCheck(t, "join auth key", auth, v.AuthKey)

		// Join transcript and proof.
		admin := refHex(t, v.AdminPeerID)
		joiner := refHex(t, v.Joiner)
		var tr []byte
		tr = append(tr, "hearth v1 join transcript\x00"...)
		tr = append(tr, group...)
		tr = append(tr, id...)
		tr = append(tr, refHex(t, v.Challenge)...)
		tr = binary.BigEndian.AppendUint64(tr, uint64(len(admin)))
		tr = append(tr, admin...)
		tr = append(tr, joiner...) // Ed25519 key (32) then X25519 key (32)
		tr = binary.BigEndian.AppendUint64(tr, uint64(len(v.Pseudonym)))
		tr = append(tr, v.Pseudonym...)
		refCheck(t, "join transcript", tr, v.Transcript)
		refCheck(t, "join proof", refHMAC(auth, tr), v.JoinProof)
	}
}

func TestHPKEReference(t *testing.T) {
	var f hpkeVectorFile
	refLoad(t, "hpke.json", &f)
	if len(f.Vectors) == 0 {
		t.Fatal("hpke.json holds no vectors")
	}
	for _, v := range f.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			cred := refHex(t, v.RecipientCredential)
			if len(cred) != 64 {
				t.Fatalf("credential of %d bytes", len(cred))
			}
			signing := ed25519.NewKeyFromSeed(cred[:32]).Public().(ed25519.PublicKey)
			x, err := ecdh.X25519().NewPrivateKey(cred[32:])
			if err != nil {
				t.Fatal(err)
			}
			refCheck(t, "recipient public keys", append(bytes.Clone(signing), x.PublicKey().Bytes()...), v.RecipientPublic)
			id := sha256.Sum256(append([]byte("hearth v1 member id\x00"), signing...))
			refCheck(t, "recipient ID", id[:16], v.RecipientID)

			var info []byte
			info = append(info, "hearth v1 sealed secret\x00"...)
			info = append(info, v.Kind)
			info = append(info, refHex(t, v.Group)...)
			info = binary.BigEndian.AppendUint64(info, v.Epoch)
			info = append(info, refHex(t, v.SenderID)...)
			info = append(info, id[:16]...)
			refCheck(t, "info", info, v.Info)

			sealed := refHex(t, v.Sealed)
			secret := refHex(t, v.Secret)
			if len(sealed) != 32+len(secret)+16 {
				t.Fatalf("sealed secret of %d bytes, want enc (32) || secret (%d) || tag (16)", len(sealed), len(secret))
			}
			priv, err := hpke.NewDHKEMPrivateKey(x)
			if err != nil {
				t.Fatal(err)
			}
			opened, err := hpke.Open(priv, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), info, sealed)
			if err != nil {
				t.Fatalf("RFC 9180 base-mode Open with the documented info fails: %v", err)
			}
			if !bytes.Equal(opened, secret) {
				t.Fatalf("opened %x, the vector's secret is %x", opened, secret)
			}
		})
	}
}
