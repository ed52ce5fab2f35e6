package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/hearthnet/hearth/crypto"
)

// Helpers for the transport tests: real hosts on 127.0.0.1, real gossipsub,
// and small recorders that let a test wait for an event instead of sleeping.

// transportWait bounds every wait in the transport tests. Nothing here should
// take more than a couple of gossipsub heartbeats (one second each).
const transportWait = 15 * time.Second

// transportListen returns where test hosts listen: loopback only, ports
// chosen by the kernel.
func transportListen() []string {
	return []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
}

// transportSignal wakes every waiter each time it fires.
type transportSignal struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel that is closed at the next fire.
func (s *transportSignal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *transportSignal) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

// transportWaitFor waits until cond holds, re-checking each time sig fires,
// and fails the test after transportWait.
func transportWaitFor(t testing.TB, what string, sig *transportSignal, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(transportWait)
	defer deadline.Stop()
	for {
		ch := sig.wait() // taken before checking, so no fire is missed
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// transportPoll waits until cond holds for state that has no event to wait
// on (counters inside libp2p), checking every few milliseconds, and fails
// the test after transportWait.
func transportPoll(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(transportWait)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// transportHost starts a Hearth host on loopback and closes it when the test
// ends.
func transportHost(t testing.TB, mutate ...func(*hostConfig)) host.Host {
	t.Helper()
	dk, err := crypto.NewDeviceKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := hostConfig{deviceKey: dk, listenAddrs: transportListen()}
	for _, m := range mutate {
		m(&cfg)
	}
	h, err := newHost(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// transportConnect connects a to b over every address b listens on.
func transportConnect(t testing.TB, a, b host.Host) {
	t.Helper()
	transportConnectVia(t, a, b, b.Addrs()...)
}

// transportConnectVia connects a to b over the given addresses of b only.
func transportConnectVia(t testing.TB, a, b host.Host, addrs ...ma.Multiaddr) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), transportWait)
	defer cancel()
	if err := a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: addrs}); err != nil {
		t.Fatalf("connecting %s to %s: %v", a.ID(), b.ID(), err)
	}
}

// transportAddrWith returns h's listen address that uses protocol code.
func transportAddrWith(t testing.TB, h host.Host, code int) ma.Multiaddr {
	t.Helper()
	for _, a := range h.Addrs() {
		if _, err := a.ValueForProtocol(code); err == nil {
			return a
		}
	}
	t.Fatalf("host has no address with protocol %d: %v", code, h.Addrs())
	return nil
}

// transportTopicName returns a fresh opaque topic name shaped like the ones
// crypto.EpochKeys.Topic derives.
func transportTopicName(t testing.TB) string {
	t.Helper()
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return crypto.TopicPrefix + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// transportReject is one message gossipsub rejected, as a tracer saw it.
type transportReject struct {
	from   peer.ID
	data   []byte
	reason string
}

// transportTracer is a pubsub.RawTracer that tracks each topic's mesh as
// this node sees it and records rejected messages.
type transportTracer struct {
	sig transportSignal

	mu      sync.Mutex
	mesh    map[string]map[peer.ID]bool
	rejects []transportReject
}

var _ pubsub.RawTracer = (*transportTracer)(nil)

func newTransportTracer() *transportTracer {
	return &transportTracer{mesh: make(map[string]map[peer.ID]bool)}
}

func (tr *transportTracer) Graft(p peer.ID, topic string) {
	tr.mu.Lock()
	if tr.mesh[topic] == nil {
		tr.mesh[topic] = make(map[peer.ID]bool)
	}
	tr.mesh[topic][p] = true
	tr.mu.Unlock()
	tr.sig.fire()
}

func (tr *transportTracer) Prune(p peer.ID, topic string) {
	tr.mu.Lock()
	delete(tr.mesh[topic], p)
	tr.mu.Unlock()
	tr.sig.fire()
}

func (tr *transportTracer) RemovePeer(p peer.ID) {
	tr.mu.Lock()
	for _, m := range tr.mesh {
		delete(m, p)
	}
	tr.mu.Unlock()
	tr.sig.fire()
}

func (tr *transportTracer) RejectMessage(msg *pubsub.Message, reason string) {
	tr.mu.Lock()
	tr.rejects = append(tr.rejects, transportReject{
		from:   msg.ReceivedFrom,
		data:   append([]byte(nil), msg.GetData()...),
		reason: reason,
	})
	tr.mu.Unlock()
	tr.sig.fire()
}

func (tr *transportTracer) AddPeer(peer.ID, protocol.ID)                         {}
func (tr *transportTracer) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (tr *transportTracer) OnClosedOutboundStream(peer.ID)                       {}
func (tr *transportTracer) Join(string)                                          {}
func (tr *transportTracer) Leave(string)                                         {}
func (tr *transportTracer) ValidateMessage(*pubsub.Message)                      {}
func (tr *transportTracer) DeliverMessage(*pubsub.Message)                       {}
func (tr *transportTracer) DuplicateMessage(*pubsub.Message)                     {}
func (tr *transportTracer) ThrottlePeer(peer.ID)                                 {}
func (tr *transportTracer) RecvRPC(*pubsub.RPC)                                  {}
func (tr *transportTracer) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (tr *transportTracer) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (tr *transportTracer) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (tr *transportTracer) UndeliverableMessage(*pubsub.Message)                 {}
func (tr *transportTracer) rejected(data []byte, reason string) (transportReject, bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, r := range tr.rejects {
		if bytes.Equal(r.data, data) && r.reason == reason {
			return r, true
		}
	}
	return transportReject{}, false
}

// inMesh reports whether every one of peers is in this node's mesh for
// topic.
func (tr *transportTracer) inMesh(topic string, peers ...peer.ID) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, p := range peers {
		if !tr.mesh[topic][p] {
			return false
		}
	}
	return true
}

// transportRaw is what an RPC inspector saw of one published message on
// the wire, before gossipsub processed it.
type transportRaw struct {
	from                        peer.ID // the forwarding peer
	data                        []byte
	author, seqno, sig, pubKey  []byte
	hasAuthor, hasSeqno, hasSig bool
}

// transportRPCLog records every published message in every RPC a node
// receives.
type transportRPCLog struct {
	sig transportSignal

	mu  sync.Mutex
	raw []transportRaw
}

// transportRawOf copies what a published message carries on the wire, as a
// receiving peer saw it from the peer that forwarded it.
func transportRawOf(from peer.ID, m *pb.Message) transportRaw {
	return transportRaw{
		from:      from,
		data:      append([]byte(nil), m.GetData()...),
		author:    append([]byte(nil), m.GetFrom()...),
		seqno:     append([]byte(nil), m.GetSeqno()...),
		sig:       append([]byte(nil), m.GetSignature()...),
		pubKey:    append([]byte(nil), m.GetKey()...),
		hasAuthor: m.From != nil,
		hasSeqno:  m.Seqno != nil,
		hasSig:    m.Signature != nil,
	}
}

func (l *transportRPCLog) inspect(from peer.ID, rpc *pubsub.RPC) error {
	l.mu.Lock()
	for _, m := range rpc.GetPublish() {
		l.raw = append(l.raw, transportRawOf(from, m))
	}
	l.mu.Unlock()
	l.sig.fire()
	return nil
}

func (l *transportRPCLog) all() []transportRaw {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]transportRaw(nil), l.raw...)
}

func (l *transportRPCLog) saw(from peer.ID, data []byte) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.raw {
		if r.from == from && bytes.Equal(r.data, data) {
			return true
		}
	}
	return false
}

// transportScores keeps the latest peer-score snapshot gossipsub's
// inspector reported.
type transportScores struct {
	sig transportSignal

	mu   sync.Mutex
	last map[peer.ID]*pubsub.PeerScoreSnapshot
}

func (s *transportScores) inspect(m map[peer.ID]*pubsub.PeerScoreSnapshot) {
	s.mu.Lock()
	s.last = m
	s.mu.Unlock()
	s.sig.fire()
}

// of returns p's latest snapshot, if any.
func (s *transportScores) of(p peer.ID) (pubsub.PeerScoreSnapshot, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, ok := s.last[p]
	if !ok {
		return pubsub.PeerScoreSnapshot{}, false
	}
	return *snap, true
}

// transportInbox is a topicHandler that records what it is given.
type transportInbox struct {
	sig transportSignal

	mu   sync.Mutex
	msgs []*pubsub.Message
}

func (in *transportInbox) handle(_ context.Context, m *pubsub.Message) {
	in.mu.Lock()
	in.msgs = append(in.msgs, m)
	in.mu.Unlock()
	in.sig.fire()
}

// count returns how many times data was delivered.
func (in *transportInbox) count(data []byte) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, m := range in.msgs {
		if bytes.Equal(m.GetData(), data) {
			n++
		}
	}
	return n
}

// find returns the first delivery of data.
func (in *transportInbox) find(data []byte) (*pubsub.Message, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, m := range in.msgs {
		if bytes.Equal(m.GetData(), data) {
			return m, true
		}
	}
	return nil, false
}

// datas returns the payloads delivered, in order.
func (in *transportInbox) datas() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]string, len(in.msgs))
	for i, m := range in.msgs {
		out[i] = string(m.GetData())
	}
	return out
}

// waitFor waits until data has been delivered at least once.
func (in *transportInbox) waitFor(t testing.TB, data []byte) {
	t.Helper()
	transportWaitFor(t, "delivery of "+transportShort(data), &in.sig, func() bool { return in.count(data) > 0 })
}

// transportShort names a payload in failure messages without printing 64 KiB.
func transportShort(data []byte) string {
	if len(data) > 24 {
		return string(data[:24]) + "..."
	}
	return string(data)
}

// transportNode is a Hearth host with Hearth's gossipsub and recorders on
// every hook.
type transportNode struct {
	h      host.Host
	ps     *pubsub.PubSub
	tracer *transportTracer
	rpcs   *transportRPCLog
	scores *transportScores
}

// newTransportNode starts a Hearth node for a test; mutate may adjust the
// pubsub configuration (the hooks are set before it runs).
func newTransportNode(t testing.TB, mutate ...func(*pubsubConfig)) *transportNode {
	t.Helper()
	n := &transportNode{
		h:      transportHost(t),
		tracer: newTransportTracer(),
		rpcs:   &transportRPCLog{},
		scores: &transportScores{},
	}
	cfg := pubsubConfig{
		scoreInspect:       n.scores.inspect,
		scoreInspectPeriod: 20 * time.Millisecond,
		rpcInspector:       n.rpcs.inspect,
		rawTracer:          n.tracer,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // runs before the host's Close, registered earlier
	ps, err := newPubSub(ctx, n.h, cfg)
	if err != nil {
		t.Fatal(err)
	}
	n.ps = ps
	return n
}

// join joins topic with validate, delivering to inbox, and leaves when the
// test ends (before the node stops).
func (n *transportNode) join(t testing.TB, topic string, validate topicValidator, handle topicHandler, queue int) *groupTopic {
	t.Helper()
	gt, err := joinGroupTopic(context.Background(), n.h, n.ps, topicConfig{name: topic, validate: validate, handle: handle, queue: queue})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), transportWait)
		defer cancel()
		if err := gt.leave(ctx); err != nil {
			t.Errorf("leaving topic: %v", err)
		}
	})
	return gt
}

// waitMesh waits until n's mesh for topic holds every one of peers.
func (n *transportNode) waitMesh(t testing.TB, topic string, peers ...peer.ID) {
	t.Helper()
	transportWaitFor(t, "mesh", &n.tracer.sig, func() bool { return n.tracer.inMesh(topic, peers...) })
}

// transportAccept is a validator that accepts everything and hands the
// payload on as a string.
func transportAccept(context.Context, peer.ID, []byte) (pubsub.ValidationResult, any) {
	return pubsub.ValidationAccept, "decoded"
}

// transportPlain is a host running go-libp2p-pubsub as configured by opts
// (for a hostile peer), with a tracer.
type transportPlain struct {
	h      host.Host
	ps     *pubsub.PubSub
	tracer *transportTracer
}

func newTransportPlain(t testing.TB, opts ...pubsub.Option) *transportPlain {
	t.Helper()
	p := &transportPlain{h: transportHost(t), tracer: newTransportTracer()}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ps, err := pubsub.NewGossipSub(ctx, p.h, append(opts, pubsub.WithRawTracer(p.tracer))...)
	if err != nil {
		t.Fatal(err)
	}
	p.ps = ps
	return p
}

// subscribe joins and subscribes to topic, discarding what arrives, and
// returns the topic for publishing.
func (p *transportPlain) subscribe(t testing.TB, topic string) *pubsub.Topic {
	t.Helper()
	tp, err := p.ps.Join(topic)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := tp.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, err := sub.Next(ctx); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		sub.Cancel()
		cancel()
		<-done
		if err := tp.Close(); err != nil {
			t.Errorf("closing plain topic: %v", err)
		}
	})
	return tp
}
