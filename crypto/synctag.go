package crypto

// This file holds the MACs with which two members recognise each other at
// the start of history sync (/hearth/sync/1) without naming their group.
//
// A requester asks peers it finds on a group's topic, and anyone connected
// learns topic names and can subscribe, so the first message must say
// nothing to a peer outside the group: not the group's ID (stable across
// epochs, it would link the group's rotating topics), not the epoch, not
// the member. The hello carries instead SyncHelloTag, a MAC under the
// sync key (EpochKeys.SyncAuth) of the requester's epoch over a fresh
// nonce. HMAC-SHA256 under a uniformly random key is a PRF, so to whoever
// lacks the key the tag is 32 random bytes, new for every hello: it links
// nothing. A responder that holds the key finds the group and epoch by
// computing the tag under each sync key it holds and comparing (Equal).
//
// The responder then shows it holds the key with SyncAnswerTag, over the
// requester's nonce and its own fresh challenge, before the requester
// sends anything more (its member index, its signature, its vector): a
// peer that merely answers learns nothing either.
//
// The two labels differ from each other and from every other MAC label
// (all end in a zero byte), so no tag is ever valid as another.

const (
	syncHelloLabel  = labelPrefix + "sync hello"
	syncAnswerLabel = labelPrefix + "sync answer"
)

// SyncHelloTag returns HMAC-SHA256 under key (an epoch's SyncAuth) of
// "hearth v1 sync hello" || 0x00 || msg. The caller builds msg from a fresh
// nonce and the responder's identity (protocol.SyncHelloMessage).
func SyncHelloTag(key *[KeySize]byte, msg []byte) [32]byte {
	return labelledMAC(key, syncHelloLabel, msg)
}

// SyncAnswerTag returns HMAC-SHA256 under key (an epoch's SyncAuth) of
// "hearth v1 sync answer" || 0x00 || msg. The caller builds msg from both
// sides' nonces and the requester's identity (protocol.SyncAnswerMessage).
func SyncAnswerTag(key *[KeySize]byte, msg []byte) [32]byte {
	return labelledMAC(key, syncAnswerLabel, msg)
}

// labelledMAC is mac over label || 0x00 || msg.
func labelledMAC(key *[KeySize]byte, label string, msg []byte) [32]byte {
	b := make([]byte, 0, len(label)+1+len(msg))
	b = append(b, label...)
	b = append(b, 0)
	b = append(b, msg...)
	return mac(key, b)
}
