package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearthnet/hearth/api"
	"github.com/hearthnet/hearth/api/client"
)

// startDaemon runs a real API server on 127.0.0.1 whose home directory
// holds the token and address files, as the daemon's does.
func startDaemon(t *testing.T, routes ...api.Route) (home string, srv *api.Server) {
	t.Helper()
	home = t.TempDir()
	tok, err := api.WriteToken(home)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err = api.NewServer(api.Config{Token: tok, Addr: l.Addr().String(), Version: "v1.2.3", Routes: routes, Heartbeat: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := api.WriteAddr(home, l.Addr().String()); err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return home, srv
}

func TestHealthFromHome(t *testing.T) {
	home, _ := startDaemon(t)
	c, err := client.NewFromHome(home)
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.Health(t.Context())
	if err != nil || h.Status != "ok" || h.Version != "v1.2.3" {
		t.Fatalf("Health = %+v, %v", h, err)
	}
}

func TestNewFromHomeErrors(t *testing.T) {
	if _, err := client.NewFromHome(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty home: %v, want fs.ErrNotExist", err)
	}
	home, _ := startDaemon(t)
	if err := os.Chmod(filepath.Join(home, api.TokenFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := client.NewFromHome(home); !errors.Is(err, api.ErrTokenPermissions) {
		t.Errorf("readable token: %v, want ErrTokenPermissions", err)
	}
	for _, u := range []string{"https://127.0.0.1:1", "127.0.0.1:1", "http://127.0.0.1:1/api", "http://"} {
		if _, err := client.New(u, "", nil); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
}

// TestErrorDecoding: API errors arrive as *client.Error with status, code
// and message; wrong tokens and non-API answers are errors too.
func TestErrorDecoding(t *testing.T) {
	home, _ := startDaemon(t, api.Route{
		Method: "POST", Path: "/api/v1/test/conflict", Summary: "always conflicts",
		Handler: func(http.ResponseWriter, *http.Request) error {
			return api.NewError(http.StatusConflict, api.CodeConflict, "that name is taken; choose another")
		},
	})
	c, err := client.NewFromHome(home)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Do(t.Context(), "POST", "/api/v1/test/conflict", map[string]string{"name": "x"}, nil)
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 409 || e.Code != api.CodeConflict || e.Message != "that name is taken; choose another" {
		t.Fatalf("conflict: %#v", err)
	}
	if err := c.Do(t.Context(), "GET", "/api/v1/nothing", nil, nil); !errors.As(err, &e) || e.Code != api.CodeNotFound {
		t.Fatalf("unknown path: %v", err)
	}

	addr, _ := api.ReadAddr(home)
	other, _ := api.NewToken(nil)
	bad, _ := client.New("http://"+addr, other, nil)
	if _, err := bad.Health(t.Context()); !errors.As(err, &e) || e.Status != 401 || e.Code != api.CodeUnauthorized {
		t.Fatalf("wrong token: %v", err)
	}

	// Something else answering at the address: plain text, and a JSON body
	// that is not an API error.
	for _, h := range []http.HandlerFunc{
		func(w http.ResponseWriter, r *http.Request) { http.Error(w, "bad gateway", http.StatusBadGateway) },
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(500)
			io.WriteString(w, `{"message":"nope"}`)
		},
	} {
		hs := httptest.NewServer(h)
		c, _ := client.New(hs.URL, other, nil)
		_, err := c.Health(t.Context())
		hs.Close()
		if !errors.As(err, &e) || e.Code != client.CodeBadResponse || e.Status < 500 {
			t.Errorf("foreign server: %v", err)
		}
	}

	// A daemon that is not running is a transport error, not an *Error.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	c, _ = client.New("http://"+dead, other, nil)
	if _, err := c.Health(t.Context()); err == nil || errors.As(err, &e) || !strings.Contains(err.Error(), "is it running") {
		t.Errorf("dead daemon: %v", err)
	}
}

func TestEvents(t *testing.T) {
	home, srv := startDaemon(t)
	c, _ := client.NewFromHome(home)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stream, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	for i := range 50 {
		ev, _ := api.NewEvent("message", map[string]int{"seq": i})
		if err := srv.Events().Publish(ev); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		ev, err := stream.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type != "message" || string(ev.Data) != fmt.Sprintf(`{"seq":%d}`, i) || ev.IsOverflow() {
			t.Fatalf("event %d: %v %s", i, ev, ev.Data)
		}
	}
	cancel()
	if _, err := stream.Next(); err == nil {
		t.Fatal("Next succeeded after the context ended")
	}
}

// FuzzSSEParser: the event stream parser never panics and always ends,
// whatever the daemon (or something pretending to be it) sends.
func FuzzSSEParser(f *testing.F) {
	f.Add([]byte("event: message\ndata: {\"a\":1}\n\n: heartbeat\n\nevent: overflow\ndata: {}\n\n"))
	f.Add([]byte("data: a\r\ndata: b\r\n\r\n"))
	f.Add([]byte("data: a\rdata: b\r\r"))
	f.Add([]byte("event\n\n:\n\ndata\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := client.NewSSEParserForTest(strings.NewReader(string(b)))
		for range 1000 {
			if _, err := p.Next(); err != nil {
				return
			}
		}
	})
}
