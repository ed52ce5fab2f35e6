package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearthnet/hearth/api"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer is a real API server on 127.0.0.1 with one state-changing
// route, POST /api/v1/test/echo, whose effects are counted: a refused
// request must leave the count unchanged.
type testServer struct {
	srv     *api.Server
	url     string // http://127.0.0.1:PORT
	host    string // 127.0.0.1:PORT
	port    string
	token   api.Token
	clock   *fakeClock
	logs    *syncBuffer
	effects atomic.Int64
}

type echoRequest struct {
	Text string `json:"text"`
	N    int    `json:"n"`
}

const testMaxBody = 1024

func startServer(t *testing.T, mod func(*api.Config)) *testServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := api.NewToken(nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{token: tok, clock: newFakeClock(), logs: &syncBuffer{}}
	ts.host = l.Addr().String()
	_, ts.port, _ = net.SplitHostPort(ts.host)
	ts.url = "http://" + ts.host
	cfg := api.Config{
		Token:        tok,
		Addr:         ts.host,
		Version:      "v0.0.0-test",
		Logger:       slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:          ts.clock.Now,
		MaxBodyBytes: testMaxBody,
		Heartbeat:    time.Hour,
		Routes: []api.Route{{
			Method: http.MethodPost, Path: "/api/v1/test/echo", Summary: "Echo a text, counting the call",
			Handler: func(w http.ResponseWriter, r *http.Request) error {
				var req echoRequest
				if err := api.DecodeJSON(w, r, &req); err != nil {
					return err
				}
				ts.effects.Add(1)
				api.WriteJSON(w, http.StatusOK, req)
				return nil
			},
		}},
	}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := api.NewServer(cfg)
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	ts.srv = srv
	hs := httptest.NewUnstartedServer(srv)
	hs.Listener.Close()
	hs.Listener = l
	hs.Start()
	t.Cleanup(func() {
		srv.Shutdown(t.Context())
		hs.Close()
	})
	return ts
}

// noRedirect is an HTTP client that reports redirects instead of following
// them, and keeps no cookies of its own.
func noRedirect() *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// request builds a request to path on ts with the token set.
func (ts *testServer) request(t *testing.T, method, path, body string) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, ts.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+string(ts.token))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// do sends req and returns the status and the error code of the body (""
// when the body is not an error object).
func do(t *testing.T, req *http.Request) (status int, code string, body []byte, resp *http.Response) {
	t.Helper()
	resp, err := noRedirect().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil {
		code = e.Error.Code
		if code != "" && e.Error.Message == "" {
			t.Errorf("error %q has no message", code)
		}
	}
	return resp.StatusCode, code, body, resp
}
