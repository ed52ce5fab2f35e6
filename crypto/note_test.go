package crypto

import (
	"bytes"
	"errors"
	"testing"
)

func TestNoteOpensOnlyForItsRecipients(t *testing.T) {
	author, a, b, outsider := mustCred(t), mustCred(t), mustCred(t), mustCred(t)
	var group GroupID
	group[0] = 7
	msg := []byte("please look at this post")
	keys, body, err := SealNote(SecretReportKey, []MemberPublic{a.Public(), b.Public()}, author.ID(), group, 3, msg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || len(keys[0]) != SecretReportKey.SealedSize() || len(body) != len(msg)+SealOverhead {
		t.Fatalf("sealed %d keys of %d bytes and a %d-byte body", len(keys), len(keys[0]), len(body))
	}
	for i, c := range []*MemberCredential{a, b} {
		got, err := c.OpenNote(SecretReportKey, author.ID(), group, 3, keys[i], body)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("recipient %d opened %q, %v", i, got, err)
		}
	}
	// Not for the outsider, nor for a recipient using the other's key.
	if _, err := outsider.OpenNote(SecretReportKey, author.ID(), group, 3, keys[0], body); !errors.Is(err, ErrDecrypt) {
		t.Errorf("an outsider opened the note: %v", err)
	}
	if _, err := a.OpenNote(SecretReportKey, author.ID(), group, 3, keys[1], body); !errors.Is(err, ErrDecrypt) {
		t.Errorf("a opened b's key: %v", err)
	}
	// Every piece of context is bound: kind, sender, group, epoch, body.
	other := group
	other[0] = 8
	tampered := bytes.Clone(body)
	tampered[len(tampered)-1] ^= 1
	for name, open := range map[string]func() ([]byte, error){
		"kind":   func() ([]byte, error) { return a.OpenNote(SecretNoteKey, author.ID(), group, 3, keys[0], body) },
		"sender": func() ([]byte, error) { return a.OpenNote(SecretReportKey, b.ID(), group, 3, keys[0], body) },
		"group":  func() ([]byte, error) { return a.OpenNote(SecretReportKey, author.ID(), other, 3, keys[0], body) },
		"epoch":  func() ([]byte, error) { return a.OpenNote(SecretReportKey, author.ID(), group, 4, keys[0], body) },
		"body":   func() ([]byte, error) { return a.OpenNote(SecretReportKey, author.ID(), group, 3, keys[0], tampered) },
	} {
		if _, err := open(); !errors.Is(err, ErrDecrypt) {
			t.Errorf("a note opened with its %s changed: %v", name, err)
		}
	}
	if _, err := a.OpenNote(SecretReportKey, author.ID(), group, 3, keys[0][:10], body); !errors.Is(err, ErrMalformedSealed) {
		t.Errorf("a short sealed key gave %v, want ErrMalformedSealed", err)
	}
	if _, _, err := SealNote(SecretEpoch, []MemberPublic{a.Public()}, author.ID(), group, 3, msg, nil); err == nil {
		t.Error("SealNote accepted an epoch-secret kind")
	}
	if _, _, err := SealNote(SecretNoteKey, nil, author.ID(), group, 3, msg, nil); err == nil {
		t.Error("SealNote accepted no recipients")
	}
}

func mustCred(t *testing.T) *MemberCredential {
	t.Helper()
	c, err := NewMemberCredential(nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
