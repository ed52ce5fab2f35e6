package crypto

import (
	"crypto/hmac"
	"crypto/sha256"
	"testing"
)

// TestSyncTagsAreLabelledHMACs checks both sync tags against HMAC-SHA256
// computed here from their definition, and that neither is valid as the
// other or as a mailbox proof over the same message.
func TestSyncTagsAreLabelledHMACs(t *testing.T) {
	var key [KeySize]byte
	for i := range key {
		key[i] = byte(i)
	}
	msg := []byte("nonce and peer")
	want := func(label string) []byte {
		m := hmac.New(sha256.New, key[:])
		m.Write([]byte("hearth v1 " + label))
		m.Write([]byte{0})
		m.Write(msg)
		return m.Sum(nil)
	}
	hello, answer, proof := SyncHelloTag(&key, msg), SyncAnswerTag(&key, msg), MailboxProof(&key, msg)
	if !Equal(hello[:], want("sync hello")) {
		t.Error("the hello tag is not HMAC-SHA256 over its label and the message")
	}
	if !Equal(answer[:], want("sync answer")) {
		t.Error("the answer tag is not HMAC-SHA256 over its label and the message")
	}
	if Equal(hello[:], answer[:]) || Equal(hello[:], proof[:]) || Equal(answer[:], proof[:]) {
		t.Error("two purposes give the same tag")
	}
	other := key
	other[0] ^= 1
	if o := SyncHelloTag(&other, msg); Equal(o[:], hello[:]) {
		t.Error("another key gives the same tag")
	}
}
