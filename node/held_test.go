package node

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearthnet/hearth/crypto"
)

// heldForge returns a copy of env claiming epoch, with a fresh random nonce
// (so a fresh ID): what anyone can make, since nothing of an envelope of an
// epoch the group has not reached can be checked.
func heldForge(t *testing.T, env []byte, epoch uint64) []byte {
	t.Helper()
	b := append([]byte(nil), env...)
	binary.BigEndian.PutUint64(b[1:9], epoch)
	if _, err := rand.Read(b[9 : 9+crypto.NonceSize]); err != nil {
		t.Fatal(err)
	}
	return b
}

// heldFrom counts the held envelopes of g that p forwarded.
func heldFrom(g *Group, p peer.ID) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, h := range g.held {
		if h.from == p {
			n++
		}
	}
	return n
}

// TestFutureEpochForgeriesCostTheirForwarder floods a member's validator
// with envelopes claiming future epochs, as an outsider on the topic can:
// only the next epoch is held, a forwarder's flood evicts only its own
// envelopes (another forwarder's waiting envelope stays), and every forged
// envelope that never opens (dropped, evicted, expired) lowers its
// forwarder's peer score, enough to graylist a flooder.
func TestFutureEpochForgeriesCostTheirForwarder(t *testing.T) {
	ann, bo := syncMember(t, "ann"), syncMember(t, "bo")
	e2eConnect(t, ann.e2eNode, bo.e2eNode)
	id := e2eGroupOf(t, ann, bo)
	g := ann.group(t, id)
	if _, err := bo.group(t, id).Post(e2eCtx(t), "hello", MessageID{}); err != nil {
		t.Fatal(err)
	}
	ann.rec.waitText(t, id, "hello") // ann holds bo's chain key
	real := e2eSealUnpublished(t, bo, id, "a template")
	next := g.Info().Epoch + 1
	flooder, other, far := peer.ID("flooder"), peer.ID("other"), peer.ID("far ahead")
	ctx := context.Background()
	score := ann.n.penalties.score

	if res, _ := g.validate(ctx, other, heldForge(t, real, next)); res != pubsub.ValidationIgnore {
		t.Fatalf("a next-epoch envelope: %v, want ignore", res)
	}
	const flood = maxHeldPerPeer + 8
	for range flood {
		if res, _ := g.validate(ctx, flooder, heldForge(t, real, next)); res != pubsub.ValidationIgnore {
			t.Fatalf("a forged next-epoch envelope: %v, want ignore", res)
		}
	}
	if n := heldFrom(g, flooder); n != maxHeldPerPeer {
		t.Errorf("%d of the flooder's envelopes held, want its quota %d", n, maxHeldPerPeer)
	}
	if heldFrom(g, other) != 1 {
		t.Error("the flood evicted another forwarder's held envelope")
	}
	if s := score(flooder); s > -float64(flood-maxHeldPerPeer)*penaltyPoints+1 {
		t.Errorf("the flooder's evicted envelopes cost it %v", s)
	}
	if s := score(other); s != 0 {
		t.Errorf("a forwarder within its quota scores %v", s)
	}

	// Further ahead than the next epoch: not held, and charged at once.
	if res, _ := g.validate(ctx, far, heldForge(t, real, next+3)); res != pubsub.ValidationIgnore {
		t.Fatalf("a far-future envelope: %v, want ignore", res)
	}
	if heldFrom(g, far) != 0 {
		t.Error("an envelope two epochs ahead is held")
	}
	if s := score(far); s > -penaltyPoints+1 {
		t.Errorf("a far-future envelope cost its forwarder %v", s)
	}

	// None ever opens: when they expire, each costs its forwarder, and
	// the flooder is below the graylist threshold.
	g.mu.Lock()
	g.expireHeldLocked(g.n.now().Add(heldFor + time.Second))
	left := len(g.held)
	g.mu.Unlock()
	if left != 0 {
		t.Errorf("%d held envelopes outlived heldFor", left)
	}
	if s := score(other); s > -penaltyPoints+1 {
		t.Errorf("an expired forgery cost its forwarder %v", s)
	}
	if s := score(flooder); s >= scoreGraylistThreshold {
		t.Errorf("the flooder scores %v, not below the graylist threshold %v", s, float64(scoreGraylistThreshold))
	}
	// A member's own envelope, genuinely openable, costs nobody.
	if res, _ := g.validate(ctx, peer.ID("honest"), real); res != pubsub.ValidationAccept {
		t.Fatalf("bo's real envelope: %v, want accept", res)
	}
	if s := score(peer.ID("honest")); s != 0 {
		t.Errorf("forwarding a real envelope scores %v", s)
	}
}
