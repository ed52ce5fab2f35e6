package node

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/hearthnet/hearth/protocol"
)

// TestSyncOutsiderOnTheTopicLearnsNothing has an outsider learn a group's
// topic name (as any connected peer does), subscribe to it, and answer the
// history sync hellos that makes members send it: no hello names the group
// or its epoch or links to another, and after the outsider's answer the
// member sends nothing more (no index, signature or vector). Asking the
// outsider directly, with a hello it made up, brings no page either.
func TestSyncOutsiderOnTheTopicLearnsNothing(t *testing.T) {
	ann, bo := syncMember(t, "ann"), syncMember(t, "bo")
	e2eConnect(t, ann.e2eNode, bo.e2eNode)
	id := e2eGroupOf(t, ann, bo)
	syncPosts(t, id, "said", 4, ann, bo)

	out := newE2ESniffer(t)
	out.connect(t, ann.e2eNode)
	topic := e2eTopic(t, ann.e2eNode, id)
	e2ePoll(t, "the outsider to learn the topic", func() bool { return slices.Contains(out.announced(), topic) })
	out.subscribeAll(t)
	g := ann.group(t, id)
	e2ePoll(t, "ann to see the outsider on the topic", func() bool { return g.knowsPeer(out.h.ID()) })

	// The outsider answers every hello as a peer without the key must:
	// with random bytes. It records the hello and what came after.
	type asked struct {
		hello []byte
		after []byte
	}
	seen := make(chan asked, 8)
	out.h.SetStreamHandler(syncProtocolID, func(s network.Stream) {
		defer s.Reset()
		b, err := readFrame(s, protocol.MaxSyncFrame)
		if err != nil {
			return
		}
		var c protocol.SyncChallenge
		_, _ = rand.Read(c.Nonce[:])
		_, _ = rand.Read(c.Answer[:])
		if writeFrame(s, c.Marshal()) != nil {
			return
		}
		_ = s.SetReadDeadline(time.Now().Add(10 * time.Second))
		rest, _ := io.ReadAll(s)
		seen <- asked{hello: b, after: rest}
	})
	var hellos [][]byte
	for range 2 {
		if _, err := g.Sync(e2eCtx(t)); err != nil {
			t.Fatalf("sync: %v", err)
		}
		select {
		case a := <-seen:
			hellos = append(hellos, a.hello)
			if len(a.after) != 0 {
				t.Errorf("after the outsider's answer the member sent %d more bytes", len(a.after))
			}
		case <-time.After(e2eWait):
			t.Fatal("the member never asked the outsider")
		}
	}
	epoch := binary.BigEndian.AppendUint64(nil, g.Info().Epoch)
	for _, h := range hellos {
		if len(h) != protocol.SyncHandshakeSize {
			t.Errorf("a hello of %d bytes, want %d", len(h), protocol.SyncHandshakeSize)
		}
		if bytes.Contains(h, id[:]) {
			t.Error("a hello carries the group ID")
		}
		if bytes.Contains(h, epoch) {
			t.Error("a hello carries the epoch")
		}
	}
	if bytes.Equal(hellos[0][2:34], hellos[1][2:34]) || bytes.Equal(hellos[0][34:], hellos[1][34:]) {
		t.Error("two hellos share a nonce or a tag: they link")
	}

	// The outsider as requester: a made-up hello and proof get the
	// challenge and then a closed stream, no page.
	s, err := out.h.NewStream(e2eCtx(t), ann.n.PeerID(), syncProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Reset()
	_ = s.SetDeadline(time.Now().Add(10 * time.Second))
	var made protocol.SyncHello
	_, _ = rand.Read(made.Nonce[:])
	_, _ = rand.Read(made.Tag[:])
	if err := writeFrame(s, made.Marshal()); err != nil {
		t.Fatal(err)
	}
	if _, err := readFrame(s, protocol.SyncHandshakeSize); err != nil {
		t.Fatalf("no challenge for a made-up hello: %v", err)
	}
	proof, _ := (&protocol.SyncProof{Signature: make([]byte, 64)}).Marshal()
	if err := writeFrame(s, proof); err != nil {
		t.Fatal(err)
	}
	if rest, _ := io.ReadAll(s); len(rest) != 0 {
		t.Errorf("the outsider's request got %d bytes after the challenge", len(rest))
	}
}
