package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	libp2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	tls "github.com/libp2p/go-libp2p/p2p/security/tls"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/hearthnet/hearth/crypto"
)

// The host -----------------------------------------------------------------

// TestTransportHostIdentityAndAddresses shows the host's peer ID is the
// device key's, that it listens on exactly the loopback addresses it was
// given over TCP and QUIC, that wiping the caller's device key afterwards
// does not break it, and that identify does not reveal the build.
func TestTransportHostIdentityAndAddresses(t *testing.T) {
	dk, err := crypto.NewDeviceKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := libp2pcrypto.UnmarshalEd25519PublicKey(dk.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	wantID, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	h, err := newHost(context.Background(), hostConfig{deviceKey: dk, listenAddrs: transportListen()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if h.ID() != wantID {
		t.Fatalf("host peer ID %s, want the device key's %s", h.ID(), wantID)
	}

	listen := h.Network().ListenAddresses()
	if len(listen) != 2 {
		t.Fatalf("listening on %v, want exactly one TCP and one QUIC address", listen)
	}
	var sawTCP, sawQUIC bool
	for _, a := range append(listen, h.Addrs()...) {
		ip, err := manet.ToIP(a)
		if err != nil || !ip.Equal(net.IPv4(127, 0, 0, 1)) {
			t.Errorf("address %s is not on 127.0.0.1", a)
		}
		if _, err := a.ValueForProtocol(ma.P_TCP); err == nil {
			sawTCP = true
		}
		if _, err := a.ValueForProtocol(ma.P_QUIC_V1); err == nil {
			sawQUIC = true
		}
	}
	if !sawTCP || !sawQUIC {
		t.Errorf("addresses %v: TCP %v, QUIC %v; want both", listen, sawTCP, sawQUIC)
	}

	// The host holds its own copy of the key.
	dk.Wipe()
	other := transportHost(t)
	transportConnect(t, other, h)
	if got := other.Network().Connectedness(h.ID()); got != network.Connected {
		t.Fatalf("after wiping the device key, connectedness %v", got)
	}

	// Identify reports the fixed user agent, not module path and version.
	// The first connection's identify exchange completes asynchronously;
	// the peerstore is the only place it lands.
	transportPoll(t, "identify", func() bool {
		v, err := other.Peerstore().Get(h.ID(), "AgentVersion")
		return err == nil && v != nil
	})
	v, _ := other.Peerstore().Get(h.ID(), "AgentVersion")
	if v != hostUserAgent {
		t.Errorf("peers see agent version %q, want %q", v, hostUserAgent)
	}
}

// TestTransportNewHostRefusesBadConfig shows newHost fails rather than
// falling back: no key, an unparsable address, and an address the machine
// does not have.
func TestTransportNewHostRefusesBadConfig(t *testing.T) {
	dk, err := crypto.NewDeviceKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newHost(context.Background(), hostConfig{listenAddrs: transportListen()}); !errors.Is(err, errNoDeviceKey) {
		t.Errorf("no device key: got %v, want errNoDeviceKey", err)
	}
	for _, addrs := range [][]string{
		{"not a multiaddr"},
		{"/ip4/192.0.2.1/tcp/0"},
		{"/ip4/127.0.0.1/tcp/0", "/ip4/192.0.2.1/tcp/0"}, // one good, one not
	} {
		h, err := newHost(context.Background(), hostConfig{deviceKey: dk, listenAddrs: addrs})
		if err == nil {
			h.Close()
			t.Errorf("listen addresses %q accepted", addrs)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newHost(ctx, hostConfig{deviceKey: dk}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v", err)
	}
}

// transportPeerWithSecurity starts a plain go-libp2p host on loopback TCP
// that offers only the given security protocol.
func transportPeerWithSecurity(t *testing.T, opt libp2p.Option) host.Host {
	t.Helper()
	h, err := libp2p.New(
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		opt,
		libp2p.DisableMetrics(),
		libp2p.DisableRelay(),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// TestTransportHostDialsEachTransportAndSecurity dials a Hearth host over
// TCP and over QUIC, and over TCP from peers that speak only Noise and only
// TLS, and checks each connection is what it claims to be.
func TestTransportHostDialsEachTransportAndSecurity(t *testing.T) {
	t.Run("tcp", func(t *testing.T) {
		a, b := transportHost(t), transportHost(t)
		transportConnectVia(t, a, b, transportAddrWith(t, b, ma.P_TCP))
		conns := a.Network().ConnsToPeer(b.ID())
		if len(conns) != 1 {
			t.Fatalf("%d connections, want 1", len(conns))
		}
		st := conns[0].ConnState()
		if st.Transport != "tcp" || st.Security != noise.ID {
			t.Errorf("connection state %+v, want tcp secured by Noise (preferred)", st)
		}
	})
	t.Run("quic", func(t *testing.T) {
		a, b := transportHost(t), transportHost(t)
		transportConnectVia(t, a, b, transportAddrWith(t, b, ma.P_QUIC_V1))
		conns := a.Network().ConnsToPeer(b.ID())
		if len(conns) != 1 {
			t.Fatalf("%d connections, want 1", len(conns))
		}
		if st := conns[0].ConnState(); st.Transport != "quic-v1" {
			t.Errorf("connection state %+v, want quic-v1", st)
		}
	})
	for _, tc := range []struct {
		name string
		opt  libp2p.Option
		want string
	}{
		{"noise only peer", libp2p.Security(noise.ID, noise.New), noise.ID},
		{"tls only peer", libp2p.Security(tls.ID, tls.New), tls.ID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hearth := transportHost(t)
			other := transportPeerWithSecurity(t, tc.opt)
			transportConnectVia(t, other, hearth, transportAddrWith(t, hearth, ma.P_TCP))
			conns := hearth.Network().ConnsToPeer(other.ID())
			if len(conns) != 1 {
				t.Fatalf("%d connections, want 1", len(conns))
			}
			if got := string(conns[0].ConnState().Security); got != tc.want {
				t.Errorf("security %q, want %q", got, tc.want)
			}
		})
	}
}

// TestTransportHostRelayOffByDefault shows the relay client transport (the
// only way a third party carries a member's connections) is there only when
// asked for.
func TestTransportHostRelayOffByDefault(t *testing.T) {
	relay := transportHost(t)
	target := transportHost(t)
	circuit, err := ma.NewMultiaddr(fmt.Sprintf("/ip4/127.0.0.1/tcp/1/p2p/%s/p2p-circuit/p2p/%s", relay.ID(), target.ID()))
	if err != nil {
		t.Fatal(err)
	}
	plain := transportHost(t)
	if tr := plain.Network().(*swarm.Swarm).TransportForDialing(circuit); tr != nil {
		t.Errorf("default host can dial relay circuits through %T", tr)
	}
	withRelay := transportHost(t, func(c *hostConfig) { c.relayClient = true })
	if tr := withRelay.Network().(*swarm.Swarm).TransportForDialing(circuit); tr == nil {
		t.Error("relayClient host cannot dial relay circuits")
	}
}

// TestTransportHostLimitsJoinStreamsPerPeer shows the resource manager
// enforces Hearth's limit on the unauthenticated join protocol: one inbound
// stream per peer at a time. A second stream is refused while the first is
// open, and allowed again once it closes.
func TestTransportHostLimitsJoinStreamsPerPeer(t *testing.T) {
	admin, joiner := transportHost(t), transportHost(t)
	handlerDone := make(chan struct{}, 4)
	admin.SetStreamHandler(joinProtocolID, func(s network.Stream) {
		defer func() { handlerDone <- struct{}{} }()
		defer s.Close()
		if _, err := s.Write([]byte{1}); err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, s) // until the joiner closes
	})
	transportConnect(t, joiner, admin)

	open := func() (network.Stream, error) {
		ctx, cancel := context.WithTimeout(context.Background(), transportWait)
		defer cancel()
		s, err := joiner.NewStream(ctx, admin.ID(), joinProtocolID)
		if err != nil {
			return nil, err
		}
		var b [1]byte
		if _, err := io.ReadFull(s, b[:]); err != nil {
			s.Reset()
			return nil, err
		}
		return s, nil
	}

	first, err := open()
	if err != nil {
		t.Fatalf("first join stream: %v", err)
	}
	if s, err := open(); err == nil {
		s.Reset()
		t.Fatal("second concurrent join stream from the same peer was accepted")
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	<-handlerDone
	// The admin's stream scope is released when both halves are closed,
	// which happens inside yamux after the handler returns.
	transportPoll(t, "join stream scope released", func() bool {
		var n int
		_ = admin.Network().ResourceManager().ViewProtocol(joinProtocolID, func(s network.ProtocolScope) error {
			n = s.Stat().NumStreamsInbound
			return nil
		})
		return n == 0
	})
	third, err := open()
	if err != nil {
		t.Fatalf("join stream after the first closed: %v", err)
	}
	third.Close()
}

// Gossipsub ----------------------------------------------------------------

// transportTriangle starts three Hearth nodes, connects each pair, joins
// them all to one topic with accepting validators and waits for a full
// mesh.
func transportTriangle(t *testing.T) (topic string, nodes []*transportNode, inboxes []*transportInbox, topics []*groupTopic) {
	t.Helper()
	topic = transportTopicName(t)
	for i := 0; i < 3; i++ {
		// One validation worker keeps each node's delivery order equal to
		// its arrival order, which the exactly-once checks rely on.
		nodes = append(nodes, newTransportNode(t, func(c *pubsubConfig) { c.validateWorkers = 1 }))
		inboxes = append(inboxes, &transportInbox{})
	}
	transportConnect(t, nodes[0].h, nodes[1].h)
	transportConnect(t, nodes[1].h, nodes[2].h)
	transportConnect(t, nodes[2].h, nodes[0].h)
	for i, n := range nodes {
		topics = append(topics, n.join(t, topic, transportAccept, inboxes[i].handle, 0))
	}
	for i, n := range nodes {
		n.waitMesh(t, topic, nodes[(i+1)%3].h.ID(), nodes[(i+2)%3].h.ID())
	}
	return topic, nodes, inboxes, topics
}

// TestTransportGossipCarriesNoSender publishes on one of three nodes and
// checks the others receive it exactly once, with no author, sequence
// number, signature or key, neither in the message gossipsub delivers nor
// in the raw RPCs on the wire, and with the content hash as its ID.
func TestTransportGossipCarriesNoSender(t *testing.T) {
	_, nodes, inboxes, topics := transportTriangle(t)
	ctx := context.Background()

	msg := []byte("an envelope, as far as the transport knows")
	if err := topics[0].publish(ctx, msg, nil); err != nil {
		t.Fatal(err)
	}
	// A second message after the first: once it has arrived everywhere,
	// any second copy of the first would have arrived too (one validation
	// worker, one stream per peer, in order).
	marker := []byte("marker")
	if err := topics[0].publish(ctx, marker, nil); err != nil {
		t.Fatal(err)
	}
	for _, in := range inboxes[1:] {
		in.waitFor(t, marker)
	}

	wantID := sha256.Sum256(msg)
	for i, in := range inboxes[1:] {
		if n := in.count(msg); n != 1 {
			t.Errorf("node %d received the message %d times, want 1", i+1, n)
		}
		m, _ := in.find(msg)
		if m.From != nil || m.Seqno != nil || m.Signature != nil || m.Key != nil {
			t.Errorf("node %d: delivered message carries from=%x seqno=%x signature=%x key=%x", i+1, m.From, m.Seqno, m.Signature, m.Key)
		}
		if m.ID != string(wantID[:]) {
			t.Errorf("node %d: message ID %x, want SHA-256 of the payload %x", i+1, m.ID, wantID)
		}
		if m.GetFrom() != "" {
			t.Errorf("node %d: GetFrom() = %s", i+1, m.GetFrom())
		}
		if m.ValidatorData != "decoded" {
			t.Errorf("node %d: ValidatorData %v, want what the validator returned", i+1, m.ValidatorData)
		}
	}
	// The publisher's own handler sees its message too, as from itself.
	own, ok := inboxes[0].find(msg)
	if !ok || own.ReceivedFrom != nodes[0].h.ID() {
		t.Errorf("publisher's own delivery: found %v, from %v", ok, own)
	}

	// On the wire: every published message any node received.
	seen := 0
	for i, n := range nodes {
		for _, r := range n.rpcs.all() {
			seen++
			if r.hasAuthor || r.hasSeqno || r.hasSig || len(r.pubKey) > 0 {
				t.Errorf("node %d received from %s a raw message with author=%x seqno=%x signature=%x key=%x",
					i, r.from, r.author, r.seqno, r.sig, r.pubKey)
			}
		}
	}
	if seen < 4 {
		t.Fatalf("RPC inspectors saw %d published messages, want at least 4 (two messages, two receivers)", seen)
	}
}

// TestTransportContentHashDeduplicates publishes the same payload twice from
// one node and once more from another: every node delivers it once. A
// different payload still arrives.
func TestTransportContentHashDeduplicates(t *testing.T) {
	_, _, inboxes, topics := transportTriangle(t)
	ctx := context.Background()

	same := []byte("identical bytes")
	for i := 0; i < 2; i++ {
		if err := topics[0].publish(ctx, same, nil); err != nil {
			t.Fatal(err)
		}
	}
	inboxes[1].waitFor(t, same)
	if err := topics[1].publish(ctx, same, nil); err != nil {
		t.Fatal(err)
	}
	other := []byte("different bytes")
	if err := topics[0].publish(ctx, other, nil); err != nil {
		t.Fatal(err)
	}
	marker := []byte("marker")
	if err := topics[1].publish(ctx, marker, nil); err != nil {
		t.Fatal(err)
	}
	for _, in := range inboxes {
		in.waitFor(t, other)
		in.waitFor(t, marker)
	}
	for i, in := range inboxes {
		if n := in.count(same); n != 1 {
			t.Errorf("node %d delivered the repeated payload %d times, want 1", i, n)
		}
		if n := in.count(other); n != 1 {
			t.Errorf("node %d delivered the distinct payload %d times, want 1", i, n)
		}
	}
}

// transportCountingAccept returns a validator that accepts everything and
// counts its calls.
func transportCountingAccept(calls *atomic.Int64) topicValidator {
	return func(context.Context, peer.ID, []byte) (pubsub.ValidationResult, any) {
		calls.Add(1)
		return pubsub.ValidationAccept, nil
	}
}

// TestTransportRejectsSigningPeer shows a peer running go-libp2p-pubsub's
// defaults (signed messages with author and sequence number) cannot
// interoperate with Hearth in either direction: each side rejects the
// other's messages before any validator runs, and the Hearth node
// penalises it.
func TestTransportRejectsSigningPeer(t *testing.T) {
	topic := transportTopicName(t)
	honest := newTransportNode(t)
	var calls atomic.Int64
	inbox := &transportInbox{}
	gt := honest.join(t, topic, transportCountingAccept(&calls), inbox.handle, 0)

	plain := newTransportPlain(t) // go-libp2p-pubsub defaults: StrictSign
	plainTopic := plain.subscribe(t, topic)
	transportConnect(t, plain.h, honest.h)
	transportWaitFor(t, "mesh", &plain.tracer.sig, func() bool { return plain.tracer.inMesh(topic, honest.h.ID()) })
	honest.waitMesh(t, topic, plain.h.ID())

	signed := []byte("signed by a libp2p key, with author and seqno")
	if err := plainTopic.Publish(context.Background(), signed); err != nil {
		t.Fatal(err)
	}
	transportWaitFor(t, "rejection of the signed message", &honest.tracer.sig, func() bool {
		_, ok := honest.tracer.rejected(signed, pubsub.RejectUnexpectedSignature)
		return ok
	})
	transportWaitFor(t, "penalty for the signing peer", &honest.scores.sig, func() bool {
		s, ok := honest.scores.of(plain.h.ID())
		return ok && s.Topics[topic] != nil && s.Topics[topic].InvalidMessageDeliveries >= 1 && s.Score < 0
	})

	unsigned := []byte("hearth's unsigned, authorless message")
	if err := gt.publish(context.Background(), unsigned, nil); err != nil {
		t.Fatal(err)
	}
	transportWaitFor(t, "the signing peer to reject Hearth's message", &plain.tracer.sig, func() bool {
		_, ok := plain.tracer.rejected(unsigned, pubsub.RejectMissingSignature)
		return ok
	})

	if n := calls.Load(); n != 1 {
		t.Errorf("validator ran %d times, want 1 (the node's own publish only)", n)
	}
	if n := inbox.count(signed); n != 0 {
		t.Errorf("signed message delivered %d times", n)
	}
}

// transportHostileOptions are Hearth's wire options (no signature, no
// author, content-hash IDs) with flood publishing, so a hostile peer's
// messages reach every subscribed peer even after the honest ones prune it
// from their meshes; extra options follow.
func transportHostileOptions(extra ...pubsub.Option) []pubsub.Option {
	return append([]pubsub.Option{
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(messageID),
		pubsub.WithFloodPublish(true),
	}, extra...)
}

// transportOKPrefix marks payloads the test validators accept; everything
// else is garbage to them.
const transportOKPrefix = "ok:"

// transportPrefixValidator accepts payloads that start with
// transportOKPrefix and rejects the rest, counting its calls.
func transportPrefixValidator(calls *atomic.Int64) topicValidator {
	return func(_ context.Context, _ peer.ID, data []byte) (pubsub.ValidationResult, any) {
		calls.Add(1)
		if bytes.HasPrefix(data, []byte(transportOKPrefix)) {
			return pubsub.ValidationAccept, nil
		}
		return pubsub.ValidationReject, nil
	}
}

// TestTransportGarbageGraylistsPeer has a peer that speaks Hearth's wire
// format publish garbage the group engine rejects. Its score on both honest
// nodes falls below the graylist threshold, and a message it sends after
// that (one the validator would accept) is dropped unread.
func TestTransportGarbageGraylistsPeer(t *testing.T) {
	topic := transportTopicName(t)
	oneWorker := func(c *pubsubConfig) { c.validateWorkers = 1 }
	a, b := newTransportNode(t, oneWorker), newTransportNode(t, oneWorker)
	var callsA, callsB atomic.Int64
	inboxA, inboxB := &transportInbox{}, &transportInbox{}
	a.join(t, topic, transportPrefixValidator(&callsA), inboxA.handle, 0)
	gtB := b.join(t, topic, transportPrefixValidator(&callsB), inboxB.handle, 0)

	hostile := newTransportPlain(t, transportHostileOptions(pubsub.WithMaxMessageSize(maxRPCSize))...)
	hostileTopic := hostile.subscribe(t, topic)

	transportConnect(t, a.h, b.h)
	transportConnect(t, hostile.h, a.h)
	transportConnect(t, hostile.h, b.h)
	a.waitMesh(t, topic, b.h.ID(), hostile.h.ID())
	b.waitMesh(t, topic, a.h.ID(), hostile.h.ID())

	for i := 0; i < 3; i++ {
		if err := hostileTopic.Publish(context.Background(), []byte(fmt.Sprintf("garbage %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []*transportNode{a, b} {
		transportWaitFor(t, "the hostile peer to be graylisted", &n.scores.sig, func() bool {
			s, ok := n.scores.of(hostile.h.ID())
			return ok && s.Score < scoreGraylistThreshold
		})
	}
	if callsA.Load() < 2 || callsB.Load() < 2 {
		t.Fatalf("validators ran %d and %d times; graylisting needs two rejections each", callsA.Load(), callsB.Load())
	}

	// Now a message the validator would accept. A's RPC inspector runs
	// before the graylist check, so it shows the message reached A.
	late := []byte("ok: sent after graylisting")
	if err := hostileTopic.Publish(context.Background(), late); err != nil {
		t.Fatal(err)
	}
	transportWaitFor(t, "the late message to reach A", &a.rpcs.sig, func() bool { return a.rpcs.saw(hostile.h.ID(), late) })
	// B publishes after that. A processes RPCs in arrival order and has one
	// validation worker, so had it accepted the late message it would
	// deliver it before this one.
	marker := []byte("ok: marker from an honest peer")
	if err := gtB.publish(context.Background(), marker, nil); err != nil {
		t.Fatal(err)
	}
	inboxA.waitFor(t, marker)
	if n := inboxA.count(late); n != 0 {
		t.Errorf("a graylisted peer's message was delivered %d times", n)
	}
	for _, d := range inboxA.datas() {
		if !strings.HasPrefix(d, transportOKPrefix) {
			t.Errorf("garbage delivered: %q", d)
		}
	}
}

// TestTransportOversizedRejectedBeforeValidator shows a payload one byte
// longer than the largest envelope is rejected without the validator being
// called, and penalised, while one of exactly the largest size is
// validated and delivered; and that the node refuses to publish one.
func TestTransportOversizedRejectedBeforeValidator(t *testing.T) {
	topic := transportTopicName(t)
	honest := newTransportNode(t, func(c *pubsubConfig) { c.validateWorkers = 1 })
	var calls atomic.Int64
	inbox := &transportInbox{}
	gt := honest.join(t, topic, transportPrefixValidator(&calls), inbox.handle, 0)

	// The hostile peer would send frames up to 1 MiB.
	hostile := newTransportPlain(t, transportHostileOptions(pubsub.WithMaxMessageSize(1<<20))...)
	hostileTopic := hostile.subscribe(t, topic)
	transportConnect(t, hostile.h, honest.h)
	honest.waitMesh(t, topic, hostile.h.ID())

	payload := func(n int) []byte {
		b := bytes.Repeat([]byte{'x'}, n)
		copy(b, transportOKPrefix)
		return b
	}
	tooBig, largest := payload(maxEnvelopeSize+1), payload(maxEnvelopeSize)
	if err := hostileTopic.Publish(context.Background(), tooBig); err != nil {
		t.Fatal(err)
	}
	if err := hostileTopic.Publish(context.Background(), largest); err != nil {
		t.Fatal(err)
	}
	inbox.waitFor(t, largest)

	if _, ok := honest.tracer.rejected(tooBig, pubsub.RejectValidationFailed); !ok {
		t.Error("oversized message was not rejected")
	}
	if n := gt.oversized(); n != 1 {
		t.Errorf("oversized count %d, want 1", n)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("validator ran %d times, want 1 (the largest valid size only)", n)
	}
	if n := inbox.count(tooBig); n != 0 {
		t.Errorf("oversized message delivered %d times", n)
	}
	transportWaitFor(t, "penalty for the oversized message", &honest.scores.sig, func() bool {
		s, ok := honest.scores.of(hostile.h.ID())
		return ok && s.Topics[topic] != nil && s.Topics[topic].InvalidMessageDeliveries >= 1
	})

	if err := gt.publish(context.Background(), tooBig, nil); !errors.Is(err, errEnvelopeTooLarge) {
		t.Errorf("publishing an oversized payload: got %v, want errEnvelopeTooLarge", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("validator ran for a refused local publish")
	}
}

// TestTransportSlowHandlerDoesNotStall blocks one topic's handler and shows
// that messages on another topic, from two peers, keep arriving; that
// what the blocked topic's queue cannot hold is dropped and counted; and
// that the handler resumes, in order, once unblocked.
func TestTransportSlowHandlerDoesNotStall(t *testing.T) {
	slowTopic, fastTopic := transportTopicName(t), transportTopicName(t)
	oneWorker := func(c *pubsubConfig) { c.validateWorkers = 1 }
	a, b, c := newTransportNode(t, oneWorker), newTransportNode(t), newTransportNode(t)
	transportConnect(t, a.h, b.h)
	transportConnect(t, a.h, c.h)
	transportConnect(t, b.h, c.h)

	const queue = 2
	release := make(chan struct{})
	entered := &transportInbox{}
	handled := &transportInbox{}
	slowA := a.join(t, slowTopic, transportAccept, func(ctx context.Context, m *pubsub.Message) {
		entered.handle(ctx, m)
		select {
		case <-release:
		case <-ctx.Done():
		}
		handled.handle(ctx, m)
	}, queue)
	fastInbox := &transportInbox{}
	a.join(t, fastTopic, transportAccept, fastInbox.handle, 0)
	slowB := b.join(t, slowTopic, transportAccept, (&transportInbox{}).handle, 0)
	fastB := b.join(t, fastTopic, transportAccept, (&transportInbox{}).handle, 0)
	fastC := c.join(t, fastTopic, transportAccept, (&transportInbox{}).handle, 0)
	b.waitMesh(t, slowTopic, a.h.ID())
	b.waitMesh(t, fastTopic, a.h.ID())
	c.waitMesh(t, fastTopic, a.h.ID())

	ctx := context.Background()
	slow := func(i int) []byte { return []byte(fmt.Sprintf("slow %d", i)) }
	if err := slowB.publish(ctx, slow(1), nil); err != nil {
		t.Fatal(err)
	}
	entered.waitFor(t, slow(1))
	// The handler is now blocked on message 1. Two more fit in the queue;
	// the other three are dropped.
	for i := 2; i <= 6; i++ {
		if err := slowB.publish(ctx, slow(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	transportPoll(t, "three dropped messages", func() bool { return slowA.dropped() == 3 })

	fromB, fromC := []byte("fast from b"), []byte("fast from c")
	if err := fastB.publish(ctx, fromB, nil); err != nil {
		t.Fatal(err)
	}
	if err := fastC.publish(ctx, fromC, nil); err != nil {
		t.Fatal(err)
	}
	fastInbox.waitFor(t, fromB)
	fastInbox.waitFor(t, fromC)
	if got := entered.datas(); len(got) != 1 {
		t.Fatalf("slow handler entered %d times while blocked", len(got))
	}

	close(release)
	if err := slowB.publish(ctx, slow(7), nil); err != nil {
		t.Fatal(err)
	}
	handled.waitFor(t, slow(7))
	want := []string{"slow 1", "slow 2", "slow 3", "slow 7"}
	if got := handled.datas(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("slow handler got %q, want %q", got, want)
	}
	if n := slowA.dropped(); n != 3 {
		t.Errorf("dropped %d, want 3", n)
	}
}

// TestTransportLeave shows leaving unsubscribes (the peer sees it), stops
// the handler, refuses further publishes, and frees the topic name so the
// node can join it again.
func TestTransportLeave(t *testing.T) {
	topic := transportTopicName(t)
	a, b := newTransportNode(t), newTransportNode(t)
	transportConnect(t, a.h, b.h)
	handlerCtx := make(chan context.Context, 1)
	gtA, err := joinGroupTopic(context.Background(), a.h, a.ps, topicConfig{
		name:     topic,
		validate: transportAccept,
		handle: func(ctx context.Context, m *pubsub.Message) {
			select {
			case handlerCtx <- ctx:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := joinGroupTopic(context.Background(), a.h, a.ps, topicConfig{name: topic, validate: transportAccept, handle: (&transportInbox{}).handle}); err == nil {
		t.Fatal("a second handle for the same topic was allowed")
	}
	gtB := b.join(t, topic, transportAccept, (&transportInbox{}).handle, 0)
	events, err := gtB.topic.EventHandler()
	if err != nil {
		t.Fatal(err)
	}
	defer events.Cancel()
	ctx, cancel := context.WithTimeout(context.Background(), transportWait)
	defer cancel()
	// The event log folds a join and a leave not yet read into nothing, so
	// read the join first.
	waitEvent := func(typ pubsub.EventType) {
		t.Helper()
		for {
			ev, err := events.NextPeerEvent(ctx)
			if err != nil {
				t.Fatalf("waiting for peer event %v: %v", typ, err)
			}
			if ev.Peer == a.h.ID() && ev.Type == typ {
				return
			}
		}
	}
	waitEvent(pubsub.PeerJoin)

	if err := gtA.publish(context.Background(), []byte("hello"), nil); err != nil {
		t.Fatal(err)
	}
	hctx := <-handlerCtx

	if err := gtA.leave(ctx); err != nil {
		t.Fatal(err)
	}
	if hctx.Err() == nil {
		t.Error("handler context still live after leave")
	}
	waitEvent(pubsub.PeerLeave)
	if err := gtA.publish(context.Background(), []byte("after leave"), nil); !errors.Is(err, pubsub.ErrTopicClosed) {
		t.Errorf("publish after leave: got %v, want ErrTopicClosed", err)
	}
	if err := gtA.leave(ctx); err != nil {
		t.Errorf("second leave: %v", err)
	}
	a.join(t, topic, transportAccept, (&transportInbox{}).handle, 0)
}

// transportLockedBuffer is an io.Writer safe for gossipsub's goroutines.
type transportLockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *transportLockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *transportLockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestTransportLogsRedactTopics runs gossipsub with a debug-level logger
// through joining, meshing, publishing and leaving, and checks the topic
// name never reaches the log while gossipsub did log about the topic.
func TestTransportLogsRedactTopics(t *testing.T) {
	topic := transportTopicName(t)
	var logs transportLockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := newTransportNode(t, func(c *pubsubConfig) { c.logger = logger })
	b := newTransportNode(t)
	transportConnect(t, a.h, b.h)
	inbox := &transportInbox{}
	gtA, err := joinGroupTopic(context.Background(), a.h, a.ps, topicConfig{name: topic, validate: transportAccept, handle: inbox.handle, logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	gtB := b.join(t, topic, transportAccept, (&transportInbox{}).handle, 0)
	a.waitMesh(t, topic, b.h.ID())
	b.waitMesh(t, topic, a.h.ID())
	msg := []byte("logged?")
	if err := gtB.publish(context.Background(), msg, nil); err != nil {
		t.Fatal(err)
	}
	inbox.waitFor(t, msg)
	ctx, cancel := context.WithTimeout(context.Background(), transportWait)
	defer cancel()
	if err := gtA.leave(ctx); err != nil {
		t.Fatal(err)
	}

	out := logs.String()
	name := strings.TrimPrefix(topic, crypto.TopicPrefix)
	if strings.Contains(out, name) {
		t.Errorf("topic name in the log:\n%s", out)
	}
	if !strings.Contains(out, "topic=redacted") {
		t.Errorf("no redacted topic attribute in the log; the test shows nothing:\n%s", out)
	}
	if strings.Contains(out, string(msg)) {
		t.Errorf("payload in the log:\n%s", out)
	}
}
