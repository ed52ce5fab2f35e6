package node

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
)

// Helpers for the end-to-end tests: real nodes (InitHome, UnlockHome, New)
// on 127.0.0.1 with kernel-chosen ports, real gossipsub, real Badger in
// t.TempDir(), and a recorder per node that lets a test wait for events
// instead of sleeping.

// e2eWait bounds every wait in the end-to-end tests. A join, an epoch
// change or a delivery takes at most a few gossipsub heartbeats (one second
// each); the bound is generous for a loaded CI machine under -race.
const e2eWait = 45 * time.Second

// e2ePassphrase is every test node's passphrase.
var e2ePassphrase = []byte("correct horse battery staple")

// e2eKDF are cheap Argon2id parameters: a test unlocks many homes.
func e2eKDF() crypto.KDFParams { return crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1} }

// e2eCtx returns a context bounded by e2eWait.
func e2eCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	t.Cleanup(cancel)
	return ctx
}

// e2eClock is a clock a test can move forward; the zero value is time.Now.
type e2eClock struct{ offset atomic.Int64 }

func (c *e2eClock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *e2eClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// e2eNode is one Hearth node under test: its home directory, the node
// while it runs, and a recorder of every event it emitted since it started.
type e2eNode struct {
	name   string
	dir    string
	mutate []func(*Config)

	ks  *crypto.Keystore
	n   *Node
	rec *e2eRecorder
}

// newE2ENode makes a home in a fresh temporary directory, unlocks it and
// starts a node listening on loopback TCP. mutate may adjust the Config
// (clock, rate limit) before New. The node is closed when the test ends.
func newE2ENode(t testing.TB, name string, mutate ...func(*Config)) *e2eNode {
	t.Helper()
	e := &e2eNode{name: name, dir: t.TempDir(), mutate: mutate}
	if err := InitHome(e.dir, e2ePassphrase, e2eKDF(), nil); err != nil {
		t.Fatalf("%s: InitHome: %v", name, err)
	}
	e.start(t)
	t.Cleanup(func() { e.stop(t) })
	return e
}

// start unlocks the home and starts the node, subscribing a recorder
// before anything can happen.
func (e *e2eNode) start(t testing.TB) {
	t.Helper()
	ks, err := UnlockHome(e.dir, e2ePassphrase)
	if err != nil {
		t.Fatalf("%s: UnlockHome: %v", e.name, err)
	}
	cfg := Config{
		DataDir:     e.dir,
		Keystore:    ks,
		ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		EventBuffer: 4096,
	}
	for _, m := range e.mutate {
		m(&cfg)
	}
	n, err := New(e2eCtx(t), cfg)
	if err != nil {
		ks.Close()
		t.Fatalf("%s: New: %v", e.name, err)
	}
	e.ks, e.n = ks, n
	e.rec = newE2ERecorder(n.Subscribe())
}

// stop closes the node and its keystore, as a member quitting the app
// would. It does nothing when the node is not running.
func (e *e2eNode) stop(t testing.TB) {
	t.Helper()
	if e.n == nil {
		return
	}
	if err := e.n.Close(); err != nil {
		t.Errorf("%s: Close: %v", e.name, err)
	}
	e.rec.stop()
	e.ks.Close()
	e.n, e.ks = nil, nil
}

// restart stops the node and starts it again from the same home. The new
// recorder sees only what happens after the restart.
func (e *e2eNode) restart(t testing.TB) {
	t.Helper()
	e.stop(t)
	e.start(t)
}

// addrInfo is where other nodes can reach e.
func (e *e2eNode) addrInfo(t testing.TB) peer.AddrInfo {
	t.Helper()
	infos, err := peer.AddrInfosFromP2pAddrs(e.n.Addrs()...)
	if err != nil || len(infos) != 1 {
		t.Fatalf("%s: addresses %v do not name one peer: %v", e.name, e.n.Addrs(), err)
	}
	return infos[0]
}

// e2eConnect connects a to b with Node.Connect.
func e2eConnect(t testing.TB, a, b *e2eNode) {
	t.Helper()
	if err := a.n.Connect(e2eCtx(t), b.addrInfo(t)); err != nil {
		t.Fatalf("connecting %s to %s: %v", a.name, b.name, err)
	}
}

// e2eMesh connects every pair of nodes.
func e2eMesh(t testing.TB, nodes ...*e2eNode) {
	t.Helper()
	for i := range nodes {
		for j := i + 1; j < len(nodes); j++ {
			e2eConnect(t, nodes[i], nodes[j])
		}
	}
}

// group returns e's handle for the group id.
func (e *e2eNode) group(t testing.TB, id crypto.GroupID) *Group {
	t.Helper()
	g, err := e.n.Group(id)
	if err != nil {
		t.Fatalf("%s: Group(%s): %v", e.name, id, err)
	}
	return g
}

// e2eRecorder drains a Subscription into a list a test can wait on.
type e2eRecorder struct {
	sub  *Subscription
	sig  transportSignal
	done chan struct{}
	quit chan struct{}

	mu     sync.Mutex
	events []Event
}

func newE2ERecorder(sub *Subscription) *e2eRecorder {
	r := &e2eRecorder{sub: sub, done: make(chan struct{}), quit: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			select {
			case ev, ok := <-sub.Events():
				if !ok {
					return
				}
				r.mu.Lock()
				r.events = append(r.events, ev)
				r.mu.Unlock()
				r.sig.fire()
			case <-r.quit:
				return
			}
		}
	}()
	return r
}

// stop closes the subscription and waits for the drain to end.
func (r *e2eRecorder) stop() {
	r.sub.Close()
	close(r.quit)
	<-r.done
}

// all returns every event recorded so far.
func (r *e2eRecorder) all() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// messages returns the messages of group received so far, in order.
func (r *e2eRecorder) messages(group crypto.GroupID) []Message {
	var out []Message
	for _, ev := range r.all() {
		if ev.Kind == EventMessage && ev.Group == group && ev.Message != nil {
			out = append(out, *ev.Message)
		}
	}
	return out
}

// countText returns how many message events of group carry text.
func (r *e2eRecorder) countText(group crypto.GroupID, text string) int {
	n := 0
	for _, m := range r.messages(group) {
		if m.Text == text {
			n++
		}
	}
	return n
}

// waitFor waits until cond holds over the recorded events, and fails the
// test after e2eWait.
func (r *e2eRecorder) waitFor(t testing.TB, what string, cond func(evs []Event) bool) {
	t.Helper()
	transportWaitForBound(t, what, e2eWait, &r.sig, func() bool { return cond(r.all()) })
}

// waitEvent waits for an event of kind in group that match accepts (nil
// accepts any) and returns the first one.
func (r *e2eRecorder) waitEvent(t testing.TB, kind EventKind, group crypto.GroupID, match func(Event) bool) Event {
	t.Helper()
	var found Event
	r.waitFor(t, fmt.Sprintf("event %v", kind), func(evs []Event) bool {
		for _, ev := range evs {
			if ev.Kind == kind && ev.Group == group && (match == nil || match(ev)) {
				found = ev
				return true
			}
		}
		return false
	})
	return found
}

// waitText waits until a message of group carrying text has arrived, and
// returns it.
func (r *e2eRecorder) waitText(t testing.TB, group crypto.GroupID, text string) Message {
	t.Helper()
	ev := r.waitEvent(t, EventMessage, group, func(ev Event) bool { return ev.Message != nil && ev.Message.Text == text })
	return *ev.Message
}

// transportWaitForBound is transportWaitFor with its own bound.
func transportWaitForBound(t testing.TB, what string, bound time.Duration, sig *transportSignal, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(bound)
	defer deadline.Stop()
	for {
		ch := sig.wait() // taken before checking, so no fire is missed
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s", bound, what)
		}
	}
}

// e2ePoll waits for state that has no event (a roster, an epoch, a
// mesh), checking every few milliseconds, and fails the test after
// e2eWait.
func e2ePoll(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !e2ePollFor(e2eWait, cond) {
		t.Fatalf("timed out after %v waiting for %s", e2eWait, what)
	}
}

// e2ePollFor checks cond every few milliseconds until it holds, and
// reports whether it did within bound.
func e2ePollFor(bound time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(bound)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			return cond()
		}
	}
	return true
}

// e2eHistory returns every message of g's local history, oldest first,
// paging backwards from the newest.
func e2eHistory(t testing.TB, g *Group) []Message {
	t.Helper()
	var all []Message
	var before MessageID
	for {
		page, err := g.History(before, 50)
		if err != nil {
			t.Fatalf("History: %v", err)
		}
		all = append(append([]Message(nil), page...), all...)
		if len(page) < 50 {
			return all
		}
		before = page[0].ID
	}
}

// e2eSniffer is a plain go-libp2p-pubsub peer that is no member of any
// group: it speaks Hearth's wire options (no signature, no author,
// content-hash IDs, so Hearth nodes talk to it at all), learns topic names
// the way any connected peer does, from the SUBSCRIBE messages it
// receives, and keeps every message published on every topic it
// subscribes to, exactly as it came off the wire.
type e2eSniffer struct {
	*transportPlain

	sig transportSignal

	mu      sync.Mutex
	topics  map[string]bool             // every topic any peer announced
	current map[peer.ID]map[string]bool // each peer's subscriptions now
	ever    map[peer.ID]map[string]bool // every topic each peer announced
	raw     []e2eRaw                    // every published message received
	subbed  map[string]*pubsub.Topic    // the sniffer's own subscriptions
}

func newE2ESniffer(t testing.TB) *e2eSniffer {
	t.Helper()
	s := &e2eSniffer{
		topics:  make(map[string]bool),
		current: make(map[peer.ID]map[string]bool),
		ever:    make(map[peer.ID]map[string]bool),
		subbed:  make(map[string]*pubsub.Topic),
	}
	s.transportPlain = newTransportPlain(t, transportHostileOptions(
		pubsub.WithMaxMessageSize(maxRPCSize),
		pubsub.WithAppSpecificRpcInspector(s.inspect),
	)...)
	return s
}

func (s *e2eSniffer) inspect(from peer.ID, rpc *pubsub.RPC) error {
	s.mu.Lock()
	for _, sub := range rpc.GetSubscriptions() {
		tp := sub.GetTopicid()
		if s.current[from] == nil {
			s.current[from] = make(map[string]bool)
			s.ever[from] = make(map[string]bool)
		}
		if sub.GetSubscribe() {
			s.topics[tp] = true
			s.current[from][tp] = true
			s.ever[from][tp] = true
		} else {
			delete(s.current[from], tp)
		}
	}
	for _, m := range rpc.GetPublish() {
		s.raw = append(s.raw, e2eRaw{
			topic:        m.GetTopic(),
			transportRaw: transportRawOf(from, m),
		})
	}
	s.mu.Unlock()
	s.sig.fire()
	return nil
}

// connect dials e's node from the sniffer.
func (s *e2eSniffer) connect(t testing.TB, e *e2eNode) {
	t.Helper()
	if err := s.h.Connect(e2eCtx(t), e.addrInfo(t)); err != nil {
		t.Fatalf("sniffer connecting to %s: %v", e.name, err)
	}
}

// announced returns every Hearth topic name peers announced.
func (s *e2eSniffer) announced() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return hearthTopics(s.topics)
}

// hearthTopics returns the Hearth topic names in set.
func hearthTopics(set map[string]bool) []string {
	var out []string
	for tp := range set {
		if strings.HasPrefix(tp, crypto.TopicPrefix) {
			out = append(out, tp)
		}
	}
	return out
}

// currentOf returns the Hearth topics p is subscribed to now, as far as
// its SUBSCRIBE and UNSUBSCRIBE messages tell.
func (s *e2eSniffer) currentOf(p peer.ID) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return hearthTopics(s.current[p])
}

// everOf returns every Hearth topic p ever announced.
func (s *e2eSniffer) everOf(p peer.ID) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return hearthTopics(s.ever[p])
}

// payloadsOn returns every payload received on topic.
func (s *e2eSniffer) payloadsOn(topic string) [][]byte {
	var out [][]byte
	for _, r := range s.captured() {
		if r.topic == topic {
			out = append(out, r.data)
		}
	}
	return out
}

// subscribeAll subscribes to every announced topic not yet subscribed and
// returns how many topics it is subscribed to.
func (s *e2eSniffer) subscribeAll(t testing.TB) int {
	t.Helper()
	for _, tp := range s.announced() {
		s.mu.Lock()
		_, done := s.subbed[tp]
		s.mu.Unlock()
		if done {
			continue
		}
		h := s.subscribe(t, tp)
		s.mu.Lock()
		s.subbed[tp] = h
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subbed)
}

// topic returns the sniffer's handle of a subscribed topic.
func (s *e2eSniffer) topic(name string) *pubsub.Topic {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subbed[name]
}

// e2eRaw is one published message as the sniffer received it, with the
// topic it was published on.
type e2eRaw struct {
	transportRaw
	topic string
}

// captured returns every published message received so far.
func (s *e2eSniffer) captured() []e2eRaw {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]e2eRaw(nil), s.raw...)
}

// waitCaptured waits until at least n distinct payloads were received on
// topic.
func (s *e2eSniffer) waitCaptured(t testing.TB, topic string, n int) [][]byte {
	t.Helper()
	var out [][]byte
	transportWaitForBound(t, fmt.Sprintf("%d envelopes on the wire", n), e2eWait, &s.sig, func() bool {
		out = out[:0]
		for _, r := range s.captured() {
			if r.topic != topic {
				continue
			}
			dup := false
			for _, d := range out {
				if bytes.Equal(d, r.data) {
					dup = true
					break
				}
			}
			if !dup {
				out = append(out, r.data)
			}
		}
		return len(out) >= n
	})
	return out
}

// The helpers below reach into the node, to show what a member (or a
// member who was removed) holds: its group's protocol session.

// e2eSessionCopy returns a copy of e's session of group id, made by
// exporting and importing it, so that trying envelopes on it changes
// nothing in the running node. It is wiped when the test ends.
func e2eSessionCopy(t testing.TB, e *e2eNode, id crypto.GroupID) *protocol.Session {
	t.Helper()
	g := e.group(t, id)
	g.mu.Lock()
	b, err := g.sess.Export()
	g.mu.Unlock()
	if err != nil {
		t.Fatalf("%s: exporting the session: %v", e.name, err)
	}
	defer crypto.Wipe(b)
	s, err := protocol.ImportSession(b)
	if err != nil {
		t.Fatalf("%s: importing the session: %v", e.name, err)
	}
	t.Cleanup(s.Wipe)
	return s
}

// e2eSessionOpens tries to open data with (a copy of) e's session of group
// id and returns Open's error: nil means the member could read it.
func e2eSessionOpens(t testing.TB, e *e2eNode, id crypto.GroupID, data []byte) error {
	t.Helper()
	_, err := e2eSessionCopy(t, e, id).Open(data, time.Now().UnixMilli(), nil)
	return err
}

// e2eSenderKeys returns the sender-data key of every epoch whose keys e's
// session of group id still holds (the current epoch, and the previous
// one during its grace period).
func e2eSenderKeys(t testing.TB, e *e2eNode, id crypto.GroupID) [][crypto.KeySize]byte {
	t.Helper()
	s := e2eSessionCopy(t, e, id)
	var out [][crypto.KeySize]byte
	for n := uint64(0); n <= s.GroupState().Epoch; n++ {
		k, err := s.Keys(n)
		if err != nil {
			continue
		}
		out = append(out, k.SenderData)
		k.Wipe()
	}
	if len(out) == 0 {
		t.Fatalf("%s holds no epoch keys at all; the test would show nothing", e.name)
	}
	return out
}

// e2eTopic returns the gossipsub topic of e's current epoch of group id.
func e2eTopic(t testing.TB, e *e2eNode, id crypto.GroupID) string {
	t.Helper()
	g := e.group(t, id)
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sess.Topic()
}

// e2eWaitMeshed waits until each member's gossipsub has grafted every other
// member into its mesh for the group's current topic. Gossipsub sends a
// node's own messages to its mesh peers only, and a peer grafted after a
// message was published never hears of it by gossip, so a test that posts
// before the mesh is whole may lose a message to a race that has nothing to
// do with what it tests. (The node waits the same way before sending its
// chain-key announcements.)
func e2eWaitMeshed(t testing.TB, id crypto.GroupID, members ...*e2eMember) {
	t.Helper()
	e2ePoll(t, "every member's mesh to hold every other member", func() bool {
		for _, m := range members {
			mesh := m.n.mesh.peers(e2eTopic(t, m.e2eNode, id))
			for _, o := range members {
				if o == m {
					continue
				}
				if _, ok := mesh[o.n.PeerID()]; !ok {
					return false
				}
			}
		}
		return true
	})
}

// e2eSealUnpublished seals a post from m in group id with m's own session,
// as Post would, and returns the envelope without publishing it: a message
// every member would accept that only whoever the test hands it to
// carries.
func e2eSealUnpublished(t testing.TB, m *e2eMember, id crypto.GroupID, text string) []byte {
	t.Helper()
	g := m.group(t, id)
	g.mu.Lock()
	defer g.mu.Unlock()
	env, _, err := g.sess.SealPost(text, [16]byte{}, time.Now().UnixMilli(), nil)
	if err != nil {
		t.Fatalf("%s: sealing: %v", m.name, err)
	}
	if err := g.persistLocked(); err != nil {
		t.Fatalf("%s: persisting the session: %v", m.name, err)
	}
	return env
}

// e2eRejectLog counts, per forwarding peer, the envelopes a node's
// validator rejected as invalid, from the node's debug log ("rejected an
// invalid envelope", peer=...). Each record is the validator having run on
// a message from that peer.
type e2eRejectLog struct {
	sig transportSignal

	mu    sync.Mutex
	count map[string]int
}

// e2eRejectedMsg is the node's log message for a rejected envelope.
const e2eRejectedMsg = "rejected an invalid envelope"

func newE2ERejectLog() *e2eRejectLog { return &e2eRejectLog{count: make(map[string]int)} }

// of returns how many envelopes forwarded by p were rejected.
func (l *e2eRejectLog) of(p peer.ID) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count[p.String()]
}

// waitOf waits until at least n envelopes from p were rejected.
func (l *e2eRejectLog) waitOf(t testing.TB, p peer.ID, n int) {
	t.Helper()
	transportWaitForBound(t, fmt.Sprintf("%d rejections", n), e2eWait, &l.sig, func() bool { return l.of(p) >= n })
}

// logger returns a logger that feeds l and drops everything else.
func (l *e2eRejectLog) logger() *slog.Logger { return slog.New(e2eRejectHandler{l: l}) }

// e2eRejectHandler is the slog.Handler behind e2eRejectLog.logger.
type e2eRejectHandler struct{ l *e2eRejectLog }

func (h e2eRejectHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h e2eRejectHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message != e2eRejectedMsg {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "peer" {
			h.l.mu.Lock()
			h.l.count[a.Value.String()]++
			h.l.mu.Unlock()
		}
		return true
	})
	h.l.sig.fire()
	return nil
}

func (h e2eRejectHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h e2eRejectHandler) WithGroup(string) slog.Handler      { return h }
