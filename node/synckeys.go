package node

import (
	"encoding/binary"
	"errors"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// This file keeps the sync keys (crypto.EpochKeys.SyncAuth) of the epochs
// this member passed through, and finds the group and epoch a sync hello
// was made for.
//
// A hello names nothing in plaintext: its tag is a MAC under the sync key
// of the requester's epoch (crypto/synctag.go), and the responder finds the
// group and epoch by trying the keys it holds. A session holds the keys of
// its current epoch and, for the grace period, the previous one; a member
// who was away for longer asks under an older epoch's key. So every epoch's
// sync key is kept in the store, as a KindEpochSecret record of its epoch,
// which retention shreds with the epoch (storage/shred.go): a member can
// answer a hello for any epoch it was in whose history it still keeps.
//
// A sync key lets its holder recognise hellos of its epoch, answer them,
// and fetch that epoch's ciphertext from the group's mailbox; it opens
// nothing (the content keys are elsewhere) and proves no membership to a
// member (the proof is a signature with the member key).

// syncKeyRecord is the rest of a sync key's record key, after the epoch
// (storage.EpochKey). The value is version u8 = 1 ‖ SyncAuth [32].
var syncKeyRecord = []byte("sync/auth")

const syncKeyVersion = 1

// epochSyncKey is one epoch's sync key.
type epochSyncKey struct {
	epoch uint64
	key   [crypto.KeySize]byte
}

// rememberSyncKeysLocked stores the sync keys of the epochs whose keys the
// session holds, unless they are stored already. The caller holds g.mu.
func (g *Group) rememberSyncKeysLocked() {
	cur := g.sess.CurrentEpoch()
	for _, e := range []uint64{cur, cur - min(cur, 1)} {
		keys, err := g.sess.Keys(e)
		if err != nil {
			continue
		}
		rk := storage.EpochKey(e, syncKeyRecord)
		if _, err := g.n.store.Get(storage.KindEpochSecret, g.id, rk); err == nil {
			keys.Wipe()
			continue
		}
		v := make([]byte, 0, 1+crypto.KeySize)
		v = append(v, syncKeyVersion)
		v = append(v, keys.SyncAuth[:]...)
		keys.Wipe()
		if err := g.n.store.Put(storage.KindEpochSecret, g.id, rk, v); err != nil && !errors.Is(err, storage.ErrClosed) {
			g.n.log.Warn("storing an epoch's sync key", "err", err)
		}
		crypto.Wipe(v)
	}
}

// rememberSyncKeysAfter stores the session's sync keys (as
// rememberSyncKeysLocked) unless known is set and the group is still at
// epoch last, and returns the group's epoch.
func (g *Group) rememberSyncKeysAfter(last uint64, known bool) uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return last
	}
	cur := g.sess.CurrentEpoch()
	if !known || cur != last {
		g.rememberSyncKeysLocked()
	}
	return cur
}

// syncKeyLocked returns the sync key of epoch: the session's, or the one
// stored. The caller holds g.mu and wipes the key when done.
func (g *Group) syncKeyLocked(epoch uint64) ([crypto.KeySize]byte, bool) {
	if keys, err := g.sess.Keys(epoch); err == nil {
		k := keys.SyncAuth
		keys.Wipe()
		return k, true
	}
	b, err := g.n.store.Get(storage.KindEpochSecret, g.id, storage.EpochKey(epoch, syncKeyRecord))
	if err != nil {
		return [crypto.KeySize]byte{}, false
	}
	defer crypto.Wipe(b)
	return decodeSyncKey(b)
}

func decodeSyncKey(b []byte) ([crypto.KeySize]byte, bool) {
	var k [crypto.KeySize]byte
	if len(b) != 1+crypto.KeySize || b[0] != syncKeyVersion {
		return k, false
	}
	copy(k[:], b[1:])
	return k, true
}

// syncKeys returns every sync key of the group this node holds: the
// session's and the stored ones, each epoch once. The caller wipes them.
func (g *Group) syncKeys() []epochSyncKey {
	var out []epochSyncKey
	seen := make(map[uint64]bool)
	g.mu.Lock()
	if !g.closed {
		cur := g.sess.CurrentEpoch()
		for _, e := range []uint64{cur, cur - min(cur, 1)} {
			if keys, err := g.sess.Keys(e); err == nil && !seen[e] {
				seen[e] = true
				out = append(out, epochSyncKey{epoch: e, key: keys.SyncAuth})
				keys.Wipe()
			}
		}
	}
	g.mu.Unlock()
	err := g.n.store.Scan(storage.KindEpochSecret, g.id, nil, func(key, value []byte) error {
		if len(key) != 8+len(syncKeyRecord) || string(key[8:]) != string(syncKeyRecord) {
			return nil
		}
		e := binary.BigEndian.Uint64(key[:8])
		if seen[e] {
			return nil
		}
		if k, ok := decodeSyncKey(value); ok {
			seen[e] = true
			out = append(out, epochSyncKey{epoch: e, key: k})
		}
		return nil
	})
	if err != nil && !errors.Is(err, storage.ErrClosed) {
		g.n.log.Warn("reading sync keys", "err", err)
	}
	return out
}

// matchSyncHello finds the group and epoch whose sync key h's tag verifies
// under, for this node as the responder. It tries every key of every group
// (a MAC each), so its time does not depend on where the match is.
func (n *Node) matchSyncHello(h *protocol.SyncHello) (g *Group, epoch uint64, key [crypto.KeySize]byte, ok bool) {
	self := []byte(n.host.ID())
	for _, gr := range n.Groups() {
		keys := gr.syncKeys()
		for i := range keys {
			if h.Matches(&keys[i].key, self) && !ok {
				g, epoch, key, ok = gr, keys[i].epoch, keys[i].key, true
			}
			crypto.Wipe(keys[i].key[:])
		}
	}
	return g, epoch, key, ok
}
