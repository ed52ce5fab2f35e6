package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hearthnet/hearth/api"
)

// sseReader reads a server-sent event stream line by line.
type sseReader struct {
	t  *testing.T
	br *bufio.Reader
}

// next returns the next event, or the text of the next comment with typ
// "comment".
func (r *sseReader) next() (typ, data string, err error) {
	for {
		line, err := r.br.ReadString('\n')
		if err != nil {
			return "", "", err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if typ != "" {
				return typ, data, nil
			}
		case strings.HasPrefix(line, ":"):
			return "comment", strings.TrimSpace(line[1:]), r.skipBlank()
		case strings.HasPrefix(line, "event: "):
			typ = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data = line[len("data: "):]
		default:
			return "", "", fmt.Errorf("unexpected line %q", line)
		}
	}
}

func (r *sseReader) skipBlank() error {
	line, err := r.br.ReadString('\n')
	if err == nil && line != "\n" {
		err = fmt.Errorf("comment not followed by a blank line: %q", line)
	}
	return err
}

// openEvents connects to the event stream and waits for its ": ready"
// comment, after which every published event reaches the stream.
func (ts *testServer) openEvents(t *testing.T, ctx context.Context) (*sseReader, *http.Response) {
	t.Helper()
	req := ts.request(t, http.MethodGet, "/api/v1/events", "")
	req = req.WithContext(ctx)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := &sseReader{t: t, br: bufio.NewReaderSize(resp.Body, 1<<16)}
	if typ, text, err := r.next(); err != nil || typ != "comment" || text != "ready" {
		t.Fatalf("first line of the stream: %q %q %v", typ, text, err)
	}
	return r, resp
}

type seqEvent struct {
	Seq int    `json:"seq"`
	Pad string `json:"pad,omitempty"`
}

func publishSeq(t *testing.T, b *api.Broadcaster, seq int, pad string) {
	t.Helper()
	ev, err := api.NewEvent("message", seqEvent{Seq: seq, Pad: pad})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ev); err != nil {
		t.Fatal(err)
	}
}

// TestEventsInOrder: events published reach the stream in order, exactly.
func TestEventsInOrder(t *testing.T) {
	ts := startServer(t, nil)
	r, _ := ts.openEvents(t, t.Context())
	const n = 200
	for i := range n {
		publishSeq(t, ts.srv.Events(), i, "")
	}
	for i := range n {
		typ, data, err := r.next()
		if err != nil {
			t.Fatal(err)
		}
		if typ != "message" || data != fmt.Sprintf(`{"seq":%d}`, i) {
			t.Fatalf("event %d: %q %q", i, typ, data)
		}
	}
}

// TestEventsHeartbeat: an idle stream carries heartbeat comments.
func TestEventsHeartbeat(t *testing.T) {
	ts := startServer(t, func(c *api.Config) { c.Heartbeat = 10 * time.Millisecond })
	r, _ := ts.openEvents(t, t.Context())
	for range 3 {
		typ, text, err := r.next()
		if err != nil || typ != "comment" || text != "heartbeat" {
			t.Fatalf("expected a heartbeat, got %q %q %v", typ, text, err)
		}
	}
}

// TestEventsSlowReader: a client that stops reading makes the server's
// writes block; the producer carries on regardless, and when the client
// reads again it finds the events up to a point, an overflow marker, and
// then only events published after the marker, in order.
func TestEventsSlowReader(t *testing.T) {
	b := api.NewBroadcaster(4)
	ts := startServer(t, func(c *api.Config) { c.Events = b })
	r, _ := ts.openEvents(t, t.Context())

	// Enough data to fill the socket buffers many times over.
	pad := strings.Repeat("x", 4096)
	const n = 4000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			ev, _ := api.NewEvent("message", seqEvent{Seq: i, Pad: pad})
			b.Publish(ev)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the producer was blocked by a reader that does not read")
	}
	// Read the stream: events come in order, and a gap is only ever
	// preceded by an overflow marker. Each marker makes the test publish
	// a tail event; once one arrives, the stream has caught up.
	last, overflows, tail := -1, 0, n
	gapAllowed := false
	for last < n {
		typ, data, err := r.next()
		if err != nil {
			t.Fatal(err)
		}
		switch typ {
		case api.OverflowEvent:
			var o struct{ Dropped int }
			if err := json.Unmarshal([]byte(data), &o); err != nil || o.Dropped < 1 {
				t.Fatalf("overflow data %q", data)
			}
			overflows++
			gapAllowed = true
			publishSeq(t, b, tail, "")
			tail++
		case "message":
			var e seqEvent
			if err := json.Unmarshal([]byte(data), &e); err != nil {
				t.Fatal(err)
			}
			if e.Seq <= last {
				t.Fatalf("event %d after %d", e.Seq, last)
			}
			if e.Seq != last+1 && !gapAllowed {
				t.Fatalf("gap from %d to %d without an overflow marker", last, e.Seq)
			}
			last, gapAllowed = e.Seq, false
		}
	}
	if overflows == 0 {
		t.Fatal("no overflow marker though events were dropped")
	}
}

// TestBroadcasterOverflow pins the exact semantics: buffered events first,
// then one marker counting the dropped ones, then later events; a reader
// that never reads never holds the producer up.
func TestBroadcasterOverflow(t *testing.T) {
	b := api.NewBroadcaster(4)
	slow := b.Subscribe()
	idle := b.Subscribe() // never read at all
	defer idle.Unsubscribe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 10000 {
			publishSeq(t, b, i, "")
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on subscribers that do not read")
	}
	ctx := t.Context()
	for i := range 4 {
		ev, err := slow.Next(ctx)
		if err != nil || ev.Type != "message" || string(ev.Data) != fmt.Sprintf(`{"seq":%d}`, i) {
			t.Fatalf("event %d: %+v %v", i, ev, err)
		}
	}
	ev, err := slow.Next(ctx)
	if err != nil || ev.Type != api.OverflowEvent || string(ev.Data) != `{"dropped":9996}` {
		t.Fatalf("marker: %q %s %v", ev.Type, ev.Data, err)
	}
	publishSeq(t, b, 10000, "")
	if ev, err := slow.Next(ctx); err != nil || string(ev.Data) != `{"seq":10000}` {
		t.Fatalf("event after the marker: %+v %v", ev, err)
	}

	// Close ends subscriptions; Next says so once the buffer is empty.
	b.Close()
	if _, err := slow.Next(ctx); !errors.Is(err, api.ErrBroadcasterClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	if err := b.Publish(api.Event{Type: "message", Data: []byte(`{}`)}); !errors.Is(err, api.ErrBroadcasterClosed) {
		t.Fatalf("Publish after Close: %v", err)
	}
}

func TestPublishRejectsBadEvents(t *testing.T) {
	b := api.NewBroadcaster(1)
	for _, ev := range []api.Event{
		{Type: "", Data: []byte(`{}`)},
		{Type: "message\ndata: forged", Data: []byte(`{}`)},
		{Type: "a b", Data: []byte(`{}`)},
		{Type: strings.Repeat("a", 65), Data: []byte(`{}`)},
		{Type: "message", Data: []byte(`{`)},
		{Type: "message", Data: nil},
		{Type: "message", Data: []byte(`{} {}`)},
	} {
		if err := b.Publish(ev); !errors.Is(err, api.ErrBadEvent) {
			t.Errorf("Publish(%q, %q) = %v, want ErrBadEvent", ev.Type, ev.Data, err)
		}
	}
	// Indented JSON is compacted onto one line, so it cannot break framing.
	s := b.Subscribe()
	if err := b.Publish(api.Event{Type: "message", Data: []byte("{\n  \"a\": \"b\\nc\"\n}")}); err != nil {
		t.Fatal(err)
	}
	if ev, _ := s.Next(t.Context()); string(ev.Data) != `{"a":"b\nc"}` {
		t.Fatalf("data %q", ev.Data)
	}
}

// TestEventsEnd: the stream's handler ends when the client goes away, and
// the stream ends when the server shuts down.
func TestEventsEnd(t *testing.T) {
	ts := startServer(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	ts.openEvents(t, ctx)
	if n := ts.srv.Events().Subscribers(); n != 1 {
		t.Fatalf("%d subscribers with one stream open", n)
	}
	cancel()
	waitFor(t, "the handler to notice the client left", func() bool { return ts.srv.Events().Subscribers() == 0 })

	r, _ := ts.openEvents(t, t.Context())
	shutdownDone := make(chan error, 1)
	go func() { shutdownDone <- ts.srv.Shutdown(t.Context()) }()
	for {
		_, _, err := r.next()
		if err != nil {
			break
		}
	}
	if err := <-shutdownDone; err != nil {
		t.Fatal(err)
	}
}

// TestServeAndShutdown runs the server through Serve on its own listener:
// a stream open at Shutdown ends, Shutdown returns, and Serve returns nil.
func TestServeAndShutdown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := api.NewToken(nil)
	srv, err := api.NewServer(api.Config{Token: tok, Addr: l.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+l.Addr().String()+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+string(tok))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := &sseReader{t: t, br: bufio.NewReader(resp.Body)}
	if typ, _, err := r.next(); err != nil || typ != "comment" {
		t.Fatalf("stream start: %q %v", typ, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with a stream open: %v", err)
	}
	if _, _, err := r.next(); err == nil {
		t.Fatal("the stream went on after Shutdown")
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve returned %v after Shutdown", err)
	}
}

// TestServeRefusesWildcardListener: without AllowRemote, Serve will not
// run on a listener reachable from the network.
func TestServeRefusesWildcardListener(t *testing.T) {
	l, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Skipf("cannot listen on 0.0.0.0: %v", err)
	}
	defer l.Close()
	tok, _ := api.NewToken(nil)
	_, port, _ := net.SplitHostPort(l.Addr().String())
	srv, err := api.NewServer(api.Config{Token: tok, Addr: "127.0.0.1:" + port})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(l); !errors.Is(err, api.ErrConfig) {
		t.Fatalf("Serve on 0.0.0.0: %v, want ErrConfig", err)
	}
}

// waitFor polls cond until it holds, failing after five seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestBroadcasterConcurrentReader races a reader against the producer and
// checks the promise readers rely on: events in order, and a gap only
// right after an overflow marker.
func TestBroadcasterConcurrentReader(t *testing.T) {
	b := api.NewBroadcaster(2)
	s := b.Subscribe()
	const n = 20000
	go func() {
		for i := range n {
			publishSeq(t, b, i, "")
		}
		b.Close()
	}()
	last, gapAllowed, markers := -1, false, 0
	for {
		ev, err := s.Next(t.Context())
		if errors.Is(err, api.ErrBroadcasterClosed) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == api.OverflowEvent {
			gapAllowed = true
			markers++
			continue
		}
		var e seqEvent
		if err := json.Unmarshal(ev.Data, &e); err != nil {
			t.Fatal(err)
		}
		if e.Seq <= last || e.Seq != last+1 && !gapAllowed {
			t.Fatalf("event %d after %d (gap allowed: %v)", e.Seq, last, gapAllowed)
		}
		last, gapAllowed = e.Seq, false
	}
	t.Logf("%d markers", markers)
}
