package node

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// syncKeyOf returns the sync key of m's current epoch in group id: what a
// member (or a test playing one) needs to make or answer a hello.
func syncKeyOf(t testing.TB, m *e2eMember, id crypto.GroupID) [crypto.KeySize]byte {
	t.Helper()
	g := m.group(t, id)
	g.mu.Lock()
	defer g.mu.Unlock()
	k, ok := g.syncKeyLocked(g.sess.CurrentEpoch())
	if !ok {
		t.Fatalf("%s holds no sync key", m.name)
	}
	return k
}

// syncHelloTo returns a hello under key to the peer to.
func syncHelloTo(t testing.TB, key *[crypto.KeySize]byte, to peer.ID) *protocol.SyncHello {
	t.Helper()
	nonce, err := crypto.NewJoinChallenge(nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := protocol.NewSyncHello(key, nonce, []byte(to))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// syncAnswerAsMember plays a responder that holds key up to the proof: it
// reads the hello, answers it under key and reads the proof, which it
// returns (nil if any step failed).
func syncAnswerAsMember(s network.Stream, key *[crypto.KeySize]byte) *protocol.SyncProof {
	b, err := readFrame(s, protocol.SyncHandshakeSize)
	if err != nil {
		return nil
	}
	h, err := protocol.UnmarshalSyncHello(b)
	if err != nil {
		return nil
	}
	nonce, err := crypto.NewJoinChallenge(nil)
	if err != nil {
		return nil
	}
	ch, err := protocol.NewSyncChallenge(key, h, nonce, []byte(s.Conn().RemotePeer()))
	if err != nil || writeFrame(s, ch.Marshal()) != nil {
		return nil
	}
	b, err = readFrame(s, protocol.MaxSyncFrame)
	if err != nil {
		return nil
	}
	p, err := protocol.UnmarshalSyncProof(b)
	if err != nil {
		return nil
	}
	return p
}

// TestSyncAnswersAMemberBehindTheGrace has a member ask after the group
// moved on and the responder's session erased the keys of the member's
// epoch (its grace ended): the responder still recognises the hello by
// the sync key it stored for that epoch, answers it, and serves the
// member's epoch and the next.
func TestSyncAnswersAMemberBehindTheGrace(t *testing.T) {
	ann, di := syncMember(t, "ann"), syncMember(t, "di")
	e2eConnect(t, ann.e2eNode, di.e2eNode)
	id := e2eGroupOf(t, ann, di)
	g := ann.group(t, id)
	old := g.Info().Epoch
	// di as it stood before going away: its session, its sync key.
	behind := e2eSessionCopy(t, di.e2eNode, id)
	key := syncKeyOf(t, di, id)
	di.stop(t)
	syncPosts(t, id, "before", 3, ann)
	// A role change makes a new epoch, di still a member.
	if err := g.Promote(e2eCtx(t), behind.Me().ID, protocol.RoleModerator); err != nil {
		t.Fatalf("moving the group on: %v", err)
	}
	syncPosts(t, id, "after", 3, ann)
	e2ePoll(t, "ann to store the sync key of the epoch it left", func() bool {
		_, err := ann.n.store.Get(storage.KindEpochSecret, id, storage.EpochKey(old, syncKeyRecord))
		return err == nil
	})
	g.mu.Lock()
	g.sess.Expire(g.n.now().Add(heldFor + time.Minute).UnixMilli())
	_, err := g.sess.Keys(old)
	g.mu.Unlock()
	if err == nil {
		t.Fatal("ann's session still holds the old epoch's keys")
	}

	asker := transportHost(t)
	if err := asker.Connect(e2eCtx(t), ann.addrInfo(t)); err != nil {
		t.Fatal(err)
	}
	s, err := asker.NewStream(e2eCtx(t), ann.n.PeerID(), syncProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Reset()
	_ = s.SetDeadline(time.Now().Add(e2eWait))
	hello := syncHelloTo(t, &key, ann.n.PeerID())
	if err := writeFrame(s, hello.Marshal()); err != nil {
		t.Fatal(err)
	}
	b, err := readFrame(s, protocol.SyncHandshakeSize)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := protocol.UnmarshalSyncChallenge(b)
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Answers(&key, hello, []byte(asker.ID())) {
		t.Fatal("ann did not recognise a hello under the sync key of an epoch its session left")
	}
	req := behind.SyncRequest()
	sig, err := behind.SignSyncProof(ch.Nonce, []byte(ann.n.PeerID()), &req)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := (&protocol.SyncProof{Index: req.Index, Signature: sig}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFrame(s, pb); err != nil {
		t.Fatal(err)
	}
	epochs := make(map[uint64]int)
	for {
		b, err := readFrame(s, protocol.MaxSyncFrame)
		if err != nil {
			t.Fatalf("reading pages: %v", err)
		}
		page, err := protocol.UnmarshalSyncPage(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, env := range page.Envelopes {
			e, err := crypto.ParseEnvelope(env)
			if err != nil {
				t.Fatal(err)
			}
			epochs[e.Epoch]++
		}
		if page.Last {
			break
		}
	}
	// Three posts and the commit in the old epoch, three posts and
	// announcements in the new one.
	if epochs[old] < 4 || epochs[old+1] < 3 {
		t.Errorf("served envelopes by epoch: %v, want the old epoch's and the next", epochs)
	}
}
