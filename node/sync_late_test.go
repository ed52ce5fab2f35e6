package node

import (
	"context"
	"testing"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/hearthnet/hearth/protocol"
)

// TestSyncLiveGossipDuringSyncIsOnTime keeps a history sync open (its
// responder holds the response back) while a member posts: the post that
// arrives live by gossip in the meantime is on time; of the two the sync
// brings, the one sent before the round began is marked late, and the one
// sent while it ran (a sync round may bring a fresh post ahead of gossip)
// is not.
func TestSyncLiveGossipDuringSyncIsOnTime(t *testing.T) {
	ann, bo := syncMember(t, "ann"), syncMember(t, "bo")
	e2eConnect(t, ann.e2eNode, bo.e2eNode)
	id := e2eGroupOf(t, ann, bo)
	e2eWaitMeshed(t, id, ann, bo)
	// A newcomer's posts wait in an outbox until its chain key has gone
	// out over a settled mesh; from then on they are published at once.
	for _, m := range []*e2eMember{ann, bo} {
		g := m.group(t, id)
		e2ePoll(t, m.name+"'s outbox to empty", func() bool {
			g.mu.Lock()
			defer g.mu.Unlock()
			return len(g.outboxes) == 0
		})
	}
	caughtUp := e2eSealUnpublished(t, bo, id, "caught up by sync")

	// A responder that answers the handshake, then holds its one page
	// until the test lets it go.
	resp := transportHost(t)
	if err := resp.Connect(e2eCtx(t), ann.addrInfo(t)); err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan []byte)
	key := syncKeyOf(t, bo, id)
	resp.SetStreamHandler(syncProtocolID, func(s network.Stream) {
		defer s.Close()
		if syncAnswerAsMember(s, &key) == nil {
			return
		}
		close(started)
		during := <-release
		page, _ := (&protocol.SyncPage{Last: true, Envelopes: [][]byte{caughtUp, during}}).Marshal()
		_ = writeFrame(s, page)
	})
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(e2eCtx(t))
	defer cancel()
	go func() {
		_, err := ann.group(t, id).syncWith(ctx, resp.ID())
		done <- err
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("the sync ended before its response: %v", err)
	}

	if _, err := bo.group(t, id).Post(e2eCtx(t), "live during the sync", MessageID{}); err != nil {
		t.Fatal(err)
	}
	if m := ann.rec.waitText(t, id, "live during the sync"); m.Late {
		t.Error("a post that arrived live by gossip during a sync is marked late")
	}
	release <- e2eSealUnpublished(t, bo, id, "sent during the sync")
	if err := <-done; err != nil {
		t.Fatalf("sync: %v", err)
	}
	if m := ann.rec.waitText(t, id, "caught up by sync"); !m.Late {
		t.Error("the post sent before the sync round is not marked late")
	}
	if m := ann.rec.waitText(t, id, "sent during the sync"); m.Late {
		t.Error("a post sent while the sync round ran is marked late")
	}
	for _, m := range e2eHistory(t, ann.group(t, id)) {
		if m.Late != (m.Text == "caught up by sync") {
			t.Errorf("stored %q with late = %v", m.Text, m.Late)
		}
	}
}
