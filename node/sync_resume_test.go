package node

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// TestSyncGoesOnPastARoundOfDuplicates has a responder answer a member's
// first round with nothing but envelopes the member holds, cut short by
// the byte budget (what a responder sends when the member's bounded vector
// left them out): the member asks again from the epoch that round reached,
// instead of giving up, and gets what it lacks.
func TestSyncGoesOnPastARoundOfDuplicates(t *testing.T) {
	ann, bo := syncMember(t, "ann"), syncMember(t, "bo")
	e2eConnect(t, ann.e2eNode, bo.e2eNode)
	id := e2eGroupOf(t, ann, bo)
	syncPosts(t, id, "known", 6, bo)
	e2ePoll(t, "ann to hold bo's posts", func() bool { return syncHistoryLen(ann.group(t, id)) >= 6 })
	epoch := ann.group(t, id).Info().Epoch
	dups := syncStoredPosts(t, ann, id)
	missing := e2eSealUnpublished(t, bo, id, "after the duplicates")

	key := syncKeyOf(t, bo, id)
	resp := transportHost(t)
	if err := resp.Connect(e2eCtx(t), ann.addrInfo(t)); err != nil {
		t.Fatal(err)
	}
	froms := make(chan uint64, 4)
	resp.SetStreamHandler(syncProtocolID, func(s network.Stream) {
		defer s.Close()
		proof := syncAnswerAsMember(s, &key)
		if proof == nil {
			return
		}
		froms <- proof.From
		page := &protocol.SyncPage{Last: true}
		if proof.From < epoch {
			page.More, page.Envelopes = true, dups
		} else {
			page.Envelopes = [][]byte{missing}
		}
		b, err := page.Marshal()
		if err == nil {
			_ = writeFrame(s, b)
		}
	})
	rep, err := ann.group(t, id).syncWith(e2eCtx(t), resp.ID())
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	var asked []uint64
	for len(froms) > 0 {
		asked = append(asked, <-froms)
	}
	if len(asked) != 2 || asked[0] != 0 || asked[1] != epoch {
		t.Fatalf("the member asked from epochs %v, want [0 %d]", asked, epoch)
	}
	if rep.Accepted != 1 {
		t.Errorf("accepted %d envelopes, want the one missing", rep.Accepted)
	}
	ann.rec.waitText(t, id, "after the duplicates")
}

// syncStoredPosts returns the envelopes of m's stored posts in group id.
func syncStoredPosts(t *testing.T, m *e2eMember, id crypto.GroupID) [][]byte {
	t.Helper()
	var out [][]byte
	vec, err := m.n.store.GenerationVector(id)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range vec {
		for _, r := range e.Held {
			if r.First == crypto.ControlGeneration {
				continue
			}
			envs, err := m.n.store.EnvelopesFor(id, e.Epoch, e.Sender, r.First, min(r.Last, crypto.ControlGeneration-1), 256)
			if err != nil {
				t.Fatal(err)
			}
			for _, env := range envs {
				out = append(out, env.Raw)
			}
		}
	}
	return out
}

// TestSyncVectorFromKeepsTheOldestWithinBounds checks the vector a round
// asking from an epoch on carries: nothing of earlier epochs, and, over the
// protocol's bound, the oldest entries (so what is left out comes last in
// the response, after what the kept part lacks).
func TestSyncVectorFromKeepsTheOldestWithinBounds(t *testing.T) {
	var v []storage.SenderGenerations
	for e := range uint64(protocol.MaxSyncVectorEntries/10 + 10) {
		for s := range uint32(10) {
			v = append(v, storage.SenderGenerations{Epoch: e, Sender: s, Held: []storage.GenerationRange{{First: 0, Last: 3}, {First: crypto.ControlGeneration, Last: crypto.ControlGeneration}}})
		}
	}
	out := requesterVectorFrom(v, 5)
	if len(out) != protocol.MaxSyncVectorEntries {
		t.Fatalf("%d entries, want the bound %d", len(out), protocol.MaxSyncVectorEntries)
	}
	if out[0].Epoch != 5 || out[len(out)-1].Epoch != 5+protocol.MaxSyncVectorEntries/10-1 {
		t.Errorf("entries of epochs %d..%d, want the oldest from 5 on", out[0].Epoch, out[len(out)-1].Epoch)
	}
	for _, e := range out {
		if len(e.Runs) != 1 || e.Runs[0] != (protocol.GenerationRun{First: 0, Last: 3}) {
			t.Fatalf("entry %+v keeps more than its application run", e)
		}
	}
	if _, err := (&protocol.SyncProof{Signature: make([]byte, crypto.SignatureSize), Vector: out}).Marshal(); err != nil {
		t.Fatalf("the vector does not encode: %v", err)
	}
}
