package api_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthnet/hearth/api"
	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/node"
)

// lockedHome is a real home on disk whose node starts only when
// POST /api/v1/unlock opens it, as in `hearth up` without a passphrase.
type lockedHome struct {
	dir string

	mu    sync.Mutex
	calls int
	n     *node.Node
	ks    *crypto.Keystore
}

// newLockedHome creates a home sealed under pass (with the cheapest KDF)
// and closes the node's resources when the test ends.
func newLockedHome(t *testing.T, pass string) *lockedHome {
	t.Helper()
	h := &lockedHome{dir: t.TempDir()}
	if err := node.InitHome(h.dir, []byte(pass), crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.n != nil {
			if err := h.n.Close(); err != nil {
				t.Errorf("node Close: %v", err)
			}
		}
		if h.ks != nil {
			h.ks.Close()
		}
	})
	return h
}

// unlock is the api.UnlockFunc: the keystore's own answer to a wrong
// passphrase goes back as it is.
func (h *lockedHome) unlock(pass []byte) ([]api.Route, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	ks, err := node.UnlockHome(h.dir, pass)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := node.New(ctx, node.Config{DataDir: h.dir, Keystore: ks, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}})
	if err != nil {
		ks.Close()
		return nil, err
	}
	h.n, h.ks = n, ks
	return api.NodeRoutes(n, api.NodeOptions{Version: "v0-test"}), nil
}

func (h *lockedHome) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}

// snapshot returns every file of the home with its contents, to show that
// refused attempts leave it as it was.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := make(map[string][]byte)
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUnlockFlow: a locked home answers 503 locked on its node routes; a
// wrong passphrase is refused with 403 bad_passphrase and changes nothing
// on disk; after UnlockAttempts wrong ones within a minute even the right
// one is refused with 429 and a wait in seconds, without being tried; a
// minute later the right one unlocks, the node's routes answer, and
// unlocking again is a conflict. No passphrase reaches the log.
func TestUnlockFlow(t *testing.T) {
	const right = "quiet harbour lamps at dusk"
	h := newLockedHome(t, right)
	var ts *testServer
	ts = startServer(t, func(c *api.Config) {
		c.Routes = api.SetupRoutes(api.UnlockRoutes(api.NodeRoutes(nil, api.NodeOptions{}), h.unlock, func() time.Time { return ts.clock.Now() }), nil)
	})
	body := func(p string) string { return `{"passphrase":"` + p + `"}` }

	status, code, msg, _ := do(t, ts.request(t, "GET", "/api/v1/status", ""))
	if status != 503 || code != api.CodeLocked || !strings.Contains(string(msg), "web UI") {
		t.Fatalf("node route while locked: %d %q %s", status, code, msg)
	}
	if status, _, b, _ := do(t, ts.request(t, "GET", "/api/v1/unlock", "")); status != 200 || strings.TrimSpace(string(b)) != `{"locked":true}` {
		t.Fatalf("GET unlock while locked: %d %s", status, b)
	}
	// The home exists: setup reports it is not needed and refuses.
	if status, _, b, _ := do(t, ts.request(t, "GET", "/api/v1/setup", "")); status != 200 || strings.TrimSpace(string(b)) != `{"needed":false}` {
		t.Fatalf("GET setup while locked: %d %s", status, b)
	}
	for in, want := range map[string]string{
		body(""):                      api.CodeBadRequest,
		`{"passphrase":"x","more":1}`: api.CodeUnknownField,
	} {
		if status, code, _, _ := do(t, ts.request(t, "POST", "/api/v1/unlock", in)); status != 400 || code != want {
			t.Fatalf("POST %s: %d %q, want 400 %q", in, status, code, want)
		}
	}

	before := snapshot(t, h.dir)
	for i := range api.UnlockAttempts {
		wrong := fmt.Sprintf("wrong guess number %d", i)
		status, code, msg, _ := do(t, ts.request(t, "POST", "/api/v1/unlock", body(wrong)))
		if status != 403 || code != api.CodeBadPassphrase || !strings.Contains(string(msg), "does not open") {
			t.Fatalf("wrong passphrase %d: %d %q %s", i, status, code, msg)
		}
		ts.clock.Advance(time.Second)
	}
	if got := h.count(); got != api.UnlockAttempts {
		t.Fatalf("%d wrong passphrases were tried %d times", api.UnlockAttempts, got)
	}
	if after := snapshot(t, h.dir); !sameFiles(before, after) {
		t.Fatal("wrong passphrases changed the home on disk")
	}
	// Limited: even the right passphrase is not tried. The first failure
	// was 5 s ago, so the wait is 55 s.
	status, code, msg, resp := do(t, ts.request(t, "POST", "/api/v1/unlock", body(right)))
	if status != 429 || code != api.CodeTooManyAttempts || !strings.Contains(string(msg), "wait 55 seconds") || resp.Header.Get("Retry-After") != "55" {
		t.Fatalf("attempt over the limit: %d %q %s (Retry-After %q)", status, code, msg, resp.Header.Get("Retry-After"))
	}
	if h.count() != api.UnlockAttempts {
		t.Fatal("an attempt over the limit was tried")
	}
	// Once the oldest failure is a minute old, one more attempt is
	// allowed: a wrong one is refused and limits again.
	ts.clock.Advance(55 * time.Second)
	if status, code, _, _ := do(t, ts.request(t, "POST", "/api/v1/unlock", body("one more wrong guess"))); status != 403 || code != api.CodeBadPassphrase {
		t.Fatalf("wrong passphrase after the wait: %d %q", status, code)
	}
	if status, code, _, _ := do(t, ts.request(t, "POST", "/api/v1/unlock", body(right))); status != 429 || code != api.CodeTooManyAttempts {
		t.Fatalf("right passphrase right after: %d %q", status, code)
	}
	if status, code, _, _ := do(t, ts.request(t, "GET", "/api/v1/groups", "")); status != 503 || code != api.CodeLocked {
		t.Fatalf("node route after refused attempts: %d %q", status, code)
	}

	ts.clock.Advance(time.Minute)
	if status, _, b, _ := do(t, ts.request(t, "POST", "/api/v1/unlock", body(right))); status != 200 || strings.TrimSpace(string(b)) != `{"locked":false}` {
		t.Fatalf("right passphrase: %d %s", status, b)
	}
	if status, _, b, _ := do(t, ts.request(t, "GET", "/api/v1/status", "")); status != 200 || !strings.Contains(string(b), `"peer_id":"`) {
		t.Fatalf("status after unlocking: %d %s", status, b)
	}
	if status, _, b, _ := do(t, ts.request(t, "POST", "/api/v1/groups", `{"name":"Evening circle","pseudonym":"Kit","retention":"30d"}`)); status != 201 {
		t.Fatalf("creating a group after unlocking: %d %s", status, b)
	}
	if status, _, b, _ := do(t, ts.request(t, "GET", "/api/v1/unlock", "")); status != 200 || strings.TrimSpace(string(b)) != `{"locked":false}` {
		t.Fatalf("GET unlock after: %d %s", status, b)
	}
	if status, code, _, _ := do(t, ts.request(t, "POST", "/api/v1/unlock", body(right))); status != 409 || code != api.CodeConflict {
		t.Fatalf("unlocking twice: %d %q", status, code)
	}
	if h.count() != api.UnlockAttempts+2 {
		t.Fatalf("unlock ran %d times", h.count())
	}
	if logs := ts.logs.String(); strings.Contains(logs, right) || strings.Contains(logs, "wrong guess") {
		t.Fatalf("a passphrase is in the log:\n%s", logs)
	}
}

func sameFiles(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for p, x := range a {
		if y, ok := b[p]; !ok || !bytes.Equal(x, y) {
			return false
		}
	}
	return true
}

// TestUnlockNeedsAuthAndOrigin: without credentials, or from a page on
// another site holding the session cookie, no passphrase is tried; the
// web UI's own same-origin request is.
func TestUnlockNeedsAuthAndOrigin(t *testing.T) {
	h := newLockedHome(t, "quiet harbour lamps at dusk")
	ts := startServer(t, func(c *api.Config) {
		c.Routes = api.UnlockRoutes(api.NodeRoutes(nil, api.NodeOptions{}), h.unlock, nil)
	})
	body := `{"passphrase":"a guess from elsewhere"}`
	req := ts.request(t, "POST", "/api/v1/unlock", body)
	req.Header.Del("Authorization")
	if status, code, _, _ := do(t, req); status != 401 || code != api.CodeUnauthorized {
		t.Fatalf("no credentials: %d %q", status, code)
	}
	c := ts.login(t)
	req = ts.cookieRequest(t, "POST", "/api/v1/unlock", body, c)
	req.Header.Set("Origin", "http://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if status, code, _, _ := do(t, req); status != 403 || code != api.CodeForbiddenOrigin {
		t.Fatalf("cross-site: %d %q", status, code)
	}
	req = ts.cookieRequest(t, "POST", "/api/v1/unlock", body, c)
	if status, code, _, _ := do(t, req); status != 403 || code != api.CodeForbiddenOrigin {
		t.Fatalf("cookie without Origin: %d %q", status, code)
	}
	if h.count() != 0 {
		t.Fatalf("refused requests tried %d passphrases", h.count())
	}
	req = ts.cookieRequest(t, "POST", "/api/v1/unlock", body, c)
	req.Header.Set("Origin", ts.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if status, code, _, _ := do(t, req); status != 403 || code != api.CodeBadPassphrase || h.count() != 1 {
		t.Fatalf("same-origin: %d %q, %d tries", status, code, h.count())
	}
}

// TestUnlockNotLocked: with no unlock function the routes serve as they
// are and unlocking is a conflict.
func TestUnlockNotLocked(t *testing.T) {
	ts := startServer(t, func(c *api.Config) {
		c.Routes = api.UnlockRoutes(nil, nil, nil)
	})
	if status, _, b, _ := do(t, ts.request(t, "GET", "/api/v1/unlock", "")); status != 200 || strings.TrimSpace(string(b)) != `{"locked":false}` {
		t.Fatalf("GET unlock: %d %s", status, b)
	}
	if status, code, _, _ := do(t, ts.request(t, "POST", "/api/v1/unlock", `{"passphrase":"anything"}`)); status != 409 || code != api.CodeConflict {
		t.Fatalf("POST unlock: %d %q", status, code)
	}
}
