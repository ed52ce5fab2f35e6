package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearthnet/hearth/api"
	"github.com/hearthnet/hearth/api/client"
	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/node"
)

// Helpers for the end-to-end tests of the node routes: real nodes (real
// homes, Badger, libp2p on loopback TCP) each behind a real api.Server on
// 127.0.0.1, driven only through api/client, as the CLI and the web UI
// drive the daemon.

// e2eBound bounds every wait: a join, an epoch change or a delivery takes
// a few gossipsub heartbeats (one second each), and the bound is generous
// for a loaded machine under -race.
const e2eBound = 45 * time.Second

// offsetClock is a node clock a test can move.
type offsetClock struct{ offset atomic.Int64 }

func (c *offsetClock) now() time.Time      { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *offsetClock) set(d time.Duration) { c.offset.Store(int64(d)) }

// daemon is one node with its API server and a client for it.
type daemon struct {
	name  string
	n     *node.Node
	c     *client.Client
	clock *offsetClock
}

// startDaemonNode makes a home with cheap KDF parameters, starts a node on
// loopback and an API server serving NodeRoutes with the events bridge,
// and returns a client for it. Everything stops when the test ends.
func startDaemonNode(t *testing.T, name string) *daemon {
	t.Helper()
	dir := t.TempDir()
	pass := []byte("correct horse battery staple")
	if err := node.InitHome(dir, pass, crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}, nil); err != nil {
		t.Fatalf("%s: InitHome: %v", name, err)
	}
	ks, err := node.UnlockHome(dir, pass)
	if err != nil {
		t.Fatalf("%s: UnlockHome: %v", name, err)
	}
	clock := &offsetClock{}
	ctx, cancel := context.WithTimeout(context.Background(), e2eBound)
	defer cancel()
	n, err := node.New(ctx, node.Config{
		DataDir: dir, Keystore: ks, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		Now: clock.now, EventBuffer: 1024,
	})
	if err != nil {
		ks.Close()
		t.Fatalf("%s: node.New: %v", name, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := api.NewToken(nil)
	if err != nil {
		t.Fatal(err)
	}
	// The API's log (never content, by the server's rule) is shown when
	// the test fails: an "internal" answer is explained only there.
	logs := &syncBuffer{}
	srv, err := api.NewServer(api.Config{
		Token: tok, Addr: l.Addr().String(), Version: "v0-test", Heartbeat: time.Hour,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Routes: api.NodeRoutes(n, api.NodeOptions{Version: "v0-test"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	bridge := api.BridgeEvents(n, srv.Events(), nil)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s: API log:\n%s", name, logs.String())
		}
		bridge.Stop()
		srv.Shutdown(context.Background())
		if err := <-served; err != nil {
			t.Errorf("%s: Serve: %v", name, err)
		}
		if err := n.Close(); err != nil {
			t.Errorf("%s: node Close: %v", name, err)
		}
		ks.Close()
	})
	c, err := client.New("http://"+l.Addr().String(), tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &daemon{name: name, n: n, c: c, clock: clock}
}

// ctx returns a context bounded by e2eBound.
func e2eContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), e2eBound)
	t.Cleanup(cancel)
	return ctx
}

// wantCode fails the test unless err is a *client.Error with code and
// status, and a message for people.
func wantCode(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Errorf("%s: got %v, want %d %s", what, err, status, code)
		return
	}
	if e.Code != code || e.Status != status {
		t.Errorf("%s: got %d %s (%q), want %d %s", what, e.Status, e.Code, e.Message, status, code)
	}
	if e.Message == "" {
		t.Errorf("%s: %s has no message", what, code)
	}
}

// events reads a daemon's event stream in the background.
type events struct {
	t  *testing.T
	ch chan client.Event
}

// watch opens d's event stream; when it returns, every event published
// afterwards reaches it.
func (d *daemon) watch(t *testing.T) *events {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := d.c.Events(ctx)
	if err != nil {
		cancel()
		t.Fatalf("%s: Events: %v", d.name, err)
	}
	ev := &events{t: t, ch: make(chan client.Event, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ev.ch)
		for {
			e, err := s.Next()
			if err != nil {
				return
			}
			ev.ch <- e
		}
	}()
	t.Cleanup(func() {
		cancel()
		s.Close()
		<-done
	})
	return ev
}

// wait returns the first event of type typ whose data match, skipping
// others; it fails the test after e2eBound.
func (ev *events) wait(what, typ string, match func(client.EventData) bool) client.EventData {
	ev.t.Helper()
	timer := time.NewTimer(e2eBound)
	defer timer.Stop()
	for {
		select {
		case e, ok := <-ev.ch:
			if !ok {
				ev.t.Fatalf("waiting for %s: the event stream ended", what)
			}
			if e.Type != typ {
				continue
			}
			d, err := e.Decode()
			if err != nil {
				ev.t.Fatalf("waiting for %s: %v", what, err)
			}
			if match == nil || match(d) {
				return d
			}
		case <-timer.C:
			ev.t.Fatalf("waiting for %s: no %s event within %v", what, typ, e2eBound)
		}
	}
}

// postSeen has from post text to group and waits until every one of to
// has the message event for it; it returns the message's ID. A post that
// reaches a member also shows that member is meshed on the group's current
// topic, so a commit published next reaches it.
func postSeen(t *testing.T, group, text string, from *daemon, to ...*events) string {
	t.Helper()
	id, err := from.c.Post(e2eContext(t), group, text, "")
	if err != nil {
		t.Fatalf("%s: Post: %v", from.name, err)
	}
	for _, ev := range to {
		ev.wait("the post "+text, client.EventMessage, func(d client.EventData) bool {
			return d.Group == group && d.Message != nil && d.Message.ID == id
		})
	}
	return id
}

// raw sends a request through the client's Do, for bodies and queries the
// typed methods never send.
func (d *daemon) raw(t *testing.T, method, path string, in any) error {
	t.Helper()
	var out json.RawMessage
	return d.c.Do(e2eContext(t), method, path, in, &out)
}
