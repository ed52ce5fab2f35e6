package node

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/storage"
)

// Helpers for the node tests: real nodes on 127.0.0.1 with real gossipsub
// and real stores in t.TempDir(), and waits bounded by testWait.

// testWait bounds every wait on an event. Epoch changes wait for
// gossipsub's mesh (a heartbeat) and announceSettle, so a few seconds is
// typical and 20 is generous on a loaded machine.
const testWait = 20 * time.Second

// testKDF is the cheapest Argon2id the keystore accepts.
var testKDF = crypto.KDFParams{Time: 1, MemoryKiB: 8, Threads: 1}

// testNode is a node with its home, for restarting.
type testNode struct {
	*Node
	dir string
	ks  *crypto.Keystore
	sub *Subscription
}

// newTestNode makes a home in a fresh directory and starts a node on it.
func newTestNode(t testing.TB, mutate ...func(*Config)) *testNode {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "home")
	if err := InitHome(dir, []byte("pass"), testKDF, nil); err != nil {
		t.Fatal(err)
	}
	return startTestNode(t, dir, mutate...)
}

// startTestNode starts a node on an existing home and closes it (and its
// keystore) when the test ends.
func startTestNode(t testing.TB, dir string, mutate ...func(*Config)) *testNode {
	t.Helper()
	ks, err := UnlockHome(dir, []byte("pass"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{DataDir: dir, Keystore: ks, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}}
	for _, m := range mutate {
		m(&cfg)
	}
	n, err := New(context.Background(), cfg)
	if err != nil {
		ks.Close()
		t.Fatal(err)
	}
	tn := &testNode{Node: n, dir: dir, ks: ks, sub: n.Subscribe()}
	t.Cleanup(tn.stop)
	return tn
}

// stop closes the node and its keystore; it may be called more than once.
func (tn *testNode) stop() {
	tn.Node.Close()
	tn.ks.Close()
}

// restart closes tn and starts a new node on its home.
func (tn *testNode) restart(t testing.TB, mutate ...func(*Config)) *testNode {
	t.Helper()
	tn.stop()
	return startTestNode(t, tn.dir, mutate...)
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	t.Cleanup(cancel)
	return ctx
}

// connect connects a to b.
func connect(t testing.TB, a, b *testNode) {
	t.Helper()
	if err := a.Connect(ctxT(t), peer.AddrInfo{ID: b.PeerID(), Addrs: b.host.Addrs()}); err != nil {
		t.Fatal(err)
	}
}

// waitEvent waits for an event on tn's subscription that match accepts,
// skipping others, and fails the test after testWait.
func waitEvent(t testing.TB, tn *testNode, what string, match func(Event) bool) Event {
	t.Helper()
	deadline := time.NewTimer(testWait)
	defer deadline.Stop()
	for {
		select {
		case e, ok := <-tn.sub.Events():
			if !ok {
				t.Fatalf("subscription closed waiting for %s", what)
			}
			if match(e) {
				return e
			}
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// waitMessage waits for a message with text in group g.
func waitMessage(t testing.TB, tn *testNode, g crypto.GroupID, text string) *Message {
	t.Helper()
	e := waitEvent(t, tn, "message "+text, func(e Event) bool {
		return e.Kind == EventMessage && e.Group == g && e.Message.Text == text
	})
	return e.Message
}

// poll waits until cond holds, for state with no event to wait on.
func poll(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// twoMembers creates a group on host and has joiner join it with an invite.
func twoMembers(t testing.TB, host, joiner *testNode) (*Group, *Group) {
	t.Helper()
	g, err := host.CreateGroup(ctxT(t), GroupOptions{Name: "Tuesday circle", Pseudonym: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	inv, _, err := g.CreateInvite(ctxT(t), InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := joiner.Join(ctxT(t), inv, "bo")
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != JoinJoined || res.Group == nil || res.GroupID != g.ID() {
		t.Fatalf("join result %+v", res)
	}
	return g, res.Group
}

// goroutinesSettle waits until the goroutine count falls to at most limit.
func goroutinesSettle(t testing.TB, limit int) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for runtime.NumGoroutine() > limit {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines still running, want at most %d:\n%s", runtime.NumGoroutine(), limit, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kindInvite is storage.KindInvite, for tests that tamper with records.
func kindInvite() storage.Kind { return storage.KindInvite }
