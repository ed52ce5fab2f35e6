package crypto

import (
	"bytes"
	"errors"
	"testing"
)

// TestMailboxKeyAndCapability checks the mailbox's key pair round trip,
// that a sealed capability opens only with its mailbox's key, for its
// group and epoch, and never as another kind of sealed secret, and that it
// holds exactly the epoch's topic ID and sync key.
func TestMailboxKeyAndCapability(t *testing.T) {
	k, err := NewMailboxKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalMailboxKey(k.Marshal())
	if err != nil || back.Public() != k.Public() {
		t.Fatalf("key round trip: %v", err)
	}
	if _, err := UnmarshalMailboxKey(make([]byte, 31)); err == nil {
		t.Fatal("a 31-byte key was accepted")
	}
	if k.Public().ID() == (MemberID{}) {
		t.Fatal("zero mailbox ID")
	}

	secret, _ := NewEpochSecret(nil)
	group := GroupID{7}
	keys := DeriveEpochKeys(group, 3, secret)
	c := keys.MailboxCapability()
	if c.TopicID != keys.TopicID || c.SyncAuth != keys.SyncAuth || c.Topic() != keys.Topic() {
		t.Fatal("the capability is not the epoch's topic ID and sync key")
	}
	for _, other := range [][KeySize]byte{keys.SenderData, keys.Rendezvous, *secret} {
		if other == c.TopicID || other == c.SyncAuth {
			t.Fatal("the capability holds another key of the epoch")
		}
	}
	sealed, err := SealMailboxCapability(k.Public(), group, 3, &c)
	if err != nil || len(sealed) != MailboxCapabilitySealedSize {
		t.Fatalf("seal: %v (%d bytes)", err, len(sealed))
	}
	got, err := k.OpenCapability(group, 3, sealed)
	if err != nil || *got != c {
		t.Fatalf("open: %v", err)
	}
	other, _ := NewMailboxKey(nil)
	for name, open := range map[string]func() error{
		"another mailbox": func() error { _, err := other.OpenCapability(group, 3, sealed); return err },
		"another epoch":   func() error { _, err := k.OpenCapability(group, 4, sealed); return err },
		"another group":   func() error { _, err := k.OpenCapability(GroupID{8}, 3, sealed); return err },
		"a flipped byte": func() error {
			b := bytes.Clone(sealed)
			b[40] ^= 1
			_, err := k.OpenCapability(group, 3, b)
			return err
		},
	} {
		if err := open(); !errors.Is(err, ErrDecrypt) {
			t.Errorf("%s: %v, want ErrDecrypt", name, err)
		}
	}
	if _, err := k.OpenCapability(group, 3, sealed[:100]); !errors.Is(err, ErrMalformedSealed) {
		t.Errorf("short: %v", err)
	}
	var zero MailboxPublic
	if _, err := SealMailboxCapability(zero, group, 3, &c); !errors.Is(err, ErrBadPublicKey) {
		t.Errorf("zero key: %v", err)
	}
}

// TestMailboxProof checks that a proof verifies only under its key and
// for its message.
func TestMailboxProof(t *testing.T) {
	key := [KeySize]byte{1}
	p := MailboxProof(&key, []byte("challenge and request"))
	if !CheckMailboxProof(&key, []byte("challenge and request"), p[:]) {
		t.Fatal("a proof does not verify")
	}
	other := [KeySize]byte{2}
	if CheckMailboxProof(&other, []byte("challenge and request"), p[:]) {
		t.Fatal("a proof verifies under another key")
	}
	if CheckMailboxProof(&key, []byte("challenge and request."), p[:]) {
		t.Fatal("a proof verifies for another message")
	}
	if CheckMailboxProof(&key, []byte("challenge and request"), p[:31]) {
		t.Fatal("a short proof verifies")
	}
}
