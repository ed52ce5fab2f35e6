package crypto

import "encoding/binary"

// ControlGeneration is the generation number that marks a control envelope:
// one whose content is sealed with the epoch's control key rather than with a
// step of the sender's chain. Control envelopes carry what must be readable
// before any chain key is known: the announcement of a member's chain key on
// entering an epoch, and commits. Sender chains never produce this
// generation.
const ControlGeneration uint32 = 0xFFFFFFFF

// DeriveControlKey derives the key that seals control envelopes in one
// epoch: deriveKey(epoch secret, "epoch control", group ID || epoch).
//
// Every member of the epoch knows this key, and it seals many messages, so
// each control envelope takes a fresh random 24-byte nonce (see NonceSize);
// the author's signature inside the plaintext still says which member wrote
// it, and only members of the epoch can read it. Unlike chain message keys,
// this key gives no forward secrecy within the epoch: control envelopes hold
// only public keys, HPKE-sealed secrets and roster changes, never what
// members say.
func DeriveControlKey(group GroupID, epoch uint64, secret *[KeySize]byte) [KeySize]byte {
	var ctx [GroupIDSize + 8]byte
	copy(ctx[:], group[:])
	binary.BigEndian.PutUint64(ctx[GroupIDSize:], epoch)
	return deriveKey(secret[:], "epoch control", ctx[:])
}
