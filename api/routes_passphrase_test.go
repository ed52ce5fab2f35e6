package api_test

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearthnet/hearth/api"
	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/node"
)

// TestPassphraseRoute: POST /api/v1/passphrase re-seals a real keystore
// under the new passphrase only with the right current one; a short new
// one is refused before any key derivation; wrong current passphrases
// are limited as unlocking is; neither passphrase reaches the log; and
// the route answers 503 where the program gave no way to change it.
func TestPassphraseRoute(t *testing.T) {
	const old, next = "quiet harbour lamps at dusk", "a kettle on the windowsill"
	dir := t.TempDir()
	if err := node.InitHome(dir, []byte(old), crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}, nil); err != nil {
		t.Fatal(err)
	}
	ks, err := node.UnlockHome(dir, []byte(old))
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	var calls atomic.Int64
	change := func(current, nw []byte) error {
		calls.Add(1)
		check, err := node.UnlockHome(dir, current)
		if err != nil {
			return err
		}
		check.Close()
		return ks.ChangePassphrase(nw, ks.Params(), nil)
	}
	var ts *testServer
	ts = startServer(t, func(c *api.Config) {
		c.Routes = append(c.Routes, api.PassphraseRoutes(change, func() time.Time { return ts.clock.Now() })...)
	})
	body := func(cur, nw string) string { return fmt.Sprintf(`{"current":%q,"new":%q}`, cur, nw) }
	post := func(b string) (int, string, string, *http.Response) {
		st, code, msg, resp := do(t, ts.request(t, http.MethodPost, "/api/v1/passphrase", b))
		return st, code, string(msg), resp
	}
	keystore := filepath.Join(dir, "keystore")
	before := snapshot(t, dir)

	for in, want := range map[string]string{
		body("", next):                       api.CodeBadRequest,
		body(old, "too short"):               api.CodePassphraseTooShort,
		`{"current":"x","new":"y","also":1}`: api.CodeUnknownField,
		`{"current":"x"}`:                    api.CodePassphraseTooShort,
	} {
		if st, code, msg, _ := post(in); st != http.StatusBadRequest || code != want {
			t.Errorf("%s: %d %q %s, want 400 %q", in, st, code, msg, want)
		}
	}
	if calls.Load() != 0 {
		t.Fatalf("refused requests ran the change %d times", calls.Load())
	}

	for i := range api.UnlockAttempts {
		st, code, msg, _ := post(body(fmt.Sprintf("wrong guess number %d", i), next))
		if st != http.StatusForbidden || code != api.CodeBadPassphrase || !strings.Contains(msg, "does not open") {
			t.Fatalf("wrong current %d: %d %q %s", i, st, code, msg)
		}
		ts.clock.Advance(time.Second)
	}
	st, code, msg, resp := post(body(old, next))
	if st != http.StatusTooManyRequests || code != api.CodeTooManyAttempts || resp.Header.Get("Retry-After") != "55" {
		t.Fatalf("over the limit: %d %q %s (Retry-After %q)", st, code, msg, resp.Header.Get("Retry-After"))
	}
	if calls.Load() != api.UnlockAttempts {
		t.Fatalf("the change ran %d times, want %d", calls.Load(), api.UnlockAttempts)
	}
	if after := snapshot(t, dir); !sameFiles(before, after) {
		t.Fatal("refused changes touched the home on disk")
	}

	ts.clock.Advance(time.Minute)
	st, code, msg, _ = post(body(old, next))
	if st != http.StatusOK || strings.TrimSpace(msg) != `{"changed":true}` {
		t.Fatalf("right current: %d %q %s", st, code, msg)
	}
	if _, err := crypto.OpenKeystore(keystore, []byte(old)); !errors.Is(err, crypto.ErrBadPassphrase) {
		t.Fatalf("the old passphrase after the change: %v", err)
	}
	if k, err := crypto.OpenKeystore(keystore, []byte(next)); err != nil {
		t.Fatalf("the new passphrase: %v", err)
	} else {
		k.Close()
	}
	if logs := ts.logs.String(); strings.Contains(logs, old) || strings.Contains(logs, next) || strings.Contains(logs, "wrong guess") {
		t.Fatalf("a passphrase is in the log:\n%s", logs)
	}

	none := startServer(t, func(c *api.Config) { c.Routes = append(c.Routes, api.PassphraseRoutes(nil, nil)...) })
	if st, code, _, _ := do(t, none.request(t, http.MethodPost, "/api/v1/passphrase", body(next, old))); st != http.StatusServiceUnavailable || code != api.CodeUnavailable {
		t.Errorf("no change function: %d %q, want 503 unavailable", st, code)
	}
}
