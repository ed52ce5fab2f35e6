package crypto

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Notes: content of any length sealed inside a group envelope to some of the
// group's members only (a report to the hosts and moderators, a mentorship
// request to one member). The envelope already hides everything from
// outsiders; a note also hides its body from the members it is not for.
//
// The construction is the usual hybrid one, from primitives Hearth already
// trusts: a fresh random key seals the body with Seal (XChaCha20-Poly1305),
// and that key is HPKE-sealed to each recipient with SealToMember. The HPKE
// info binds the key to its kind, group, epoch, sender and recipient, so a
// sealed key lifted into another member's envelope, epoch or group does not
// open. The body's associated data binds the same context minus the
// recipient (the body is shared by all recipients).

// noteADLabel begins the associated data of a note's body.
const noteADLabel = labelPrefix + "note body"

func noteAD(kind SecretKind, group GroupID, epoch uint64, from MemberID) []byte {
	ad := make([]byte, 0, len(noteADLabel)+2+GroupIDSize+8+MemberIDSize)
	ad = append(ad, noteADLabel...)
	ad = append(ad, 0, byte(kind))
	ad = append(ad, group[:]...)
	ad = binary.BigEndian.AppendUint64(ad, epoch)
	return append(ad, from[:]...)
}

// SealNote seals msg from the member from to each member in to, as a note
// of the given kind (SecretNoteKey or SecretReportKey) in the given group and
// epoch. It returns one sealed key per recipient, in the order of to, each
// exactly kind.SealedSize() bytes, and the sealed body, SealOverhead bytes
// longer than msg. The one-time key is wiped before SealNote returns.
// Randomness for the body's nonce and the key comes from r (crypto/rand
// when nil); HPKE draws its own from crypto/rand.
func SealNote(kind SecretKind, to []MemberPublic, from MemberID, group GroupID, epoch uint64, msg []byte, r io.Reader) (keys [][]byte, body []byte, err error) {
	if kind != SecretNoteKey && kind != SecretReportKey {
		return nil, nil, fmt.Errorf("hearth/crypto: sealing a note as a %v", kind)
	}
	if len(to) == 0 {
		return nil, nil, fmt.Errorf("hearth/crypto: a note needs at least one recipient")
	}
	key, err := NewKey(r)
	if err != nil {
		return nil, nil, err
	}
	defer Wipe(key[:])
	body, err = Seal(key, msg, noteAD(kind, group, epoch, from), r)
	if err != nil {
		return nil, nil, err
	}
	keys = make([][]byte, 0, len(to))
	for _, pub := range to {
		k, err := SealToMember(pub, from, kind, group, epoch, key[:])
		if err != nil {
			return nil, nil, err
		}
		keys = append(keys, k)
	}
	return keys, body, nil
}

// OpenNote opens a note that from sealed to c with SealNote: sealedKey is
// the key sealed to c, body the shared sealed body. It returns
// ErrMalformedSealed (wrapped) for a sealed key of the wrong size and
// ErrDecrypt when the note is not for c or any byte of it, or of its
// context, differs from what was sealed.
func (c *MemberCredential) OpenNote(kind SecretKind, from MemberID, group GroupID, epoch uint64, sealedKey, body []byte) ([]byte, error) {
	if kind != SecretNoteKey && kind != SecretReportKey {
		return nil, fmt.Errorf("hearth/crypto: opening a note as a %v", kind)
	}
	k, err := c.OpenSealed(from, kind, group, epoch, sealedKey)
	if err != nil {
		return nil, err
	}
	defer Wipe(k)
	var key [KeySize]byte
	copy(key[:], k)
	defer Wipe(key[:])
	return Open(&key, body, noteAD(kind, group, epoch, from))
}
