package api_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/hearthnet/hearth/api"
)

// fakeSetup records the calls of a SetupFunc; the home it "creates" serves
// GET /api/v1/test/node.
type fakeSetup struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (f *fakeSetup) run(pass []byte) ([]api.Route, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, string(pass))
	if f.err != nil {
		return nil, f.err
	}
	return []api.Route{nodeTestRoute(func(w http.ResponseWriter, r *http.Request) error {
		api.WriteJSON(w, http.StatusOK, map[string]string{"node": "running"})
		return nil
	})}, nil
}

func (f *fakeSetup) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func nodeTestRoute(h api.HandlerFunc) api.Route {
	return api.Route{Method: http.MethodGet, Path: "/api/v1/test/node", Summary: "A node route", Handler: h}
}

// startSetupServer serves SetupRoutes over one held-back node route.
func startSetupServer(t *testing.T, setup api.SetupFunc) *testServer {
	t.Helper()
	return startServer(t, func(c *api.Config) {
		held := nodeTestRoute(func(http.ResponseWriter, *http.Request) error {
			t.Error("the held-back handler was called")
			return nil
		})
		c.Routes = api.SetupRoutes([]api.Route{held}, setup)
	})
}

const goodPassphrase = "correct horse battery staple"

// TestSetupFlow: before setup every node route answers 503
// setup_required; a short passphrase is refused without creating
// anything; a good one runs setup once, after which the node's routes
// answer and setup is refused with 409.
func TestSetupFlow(t *testing.T) {
	fs := &fakeSetup{}
	ts := startSetupServer(t, fs.run)

	status, code, body, _ := do(t, ts.request(t, "GET", "/api/v1/test/node", ""))
	if status != 503 || code != api.CodeSetupRequired || !strings.Contains(string(body), "web UI") {
		t.Fatalf("node route before setup: %d %q %s", status, code, body)
	}
	if status, _, body, _ := do(t, ts.request(t, "GET", "/api/v1/setup", "")); status != 200 || strings.TrimSpace(string(body)) != `{"needed":true}` {
		t.Fatalf("GET setup before: %d %s", status, body)
	}
	// Nine characters, counted as characters, not bytes: "ééééééééé" is
	// 18 bytes.
	for _, short := range []string{`{"passphrase":""}`, `{"passphrase":"123456789"}`, `{"passphrase":"ééééééééé"}`} {
		if status, code, _, _ := do(t, ts.request(t, "POST", "/api/v1/setup", short)); status != 400 || code != api.CodePassphraseTooShort {
			t.Fatalf("POST %s: %d %q", short, status, code)
		}
	}
	for body, want := range map[string]string{
		`{"passphrase":"` + goodPassphrase + `","extra":1}`: api.CodeUnknownField,
		`{"passphrase":"` + goodPassphrase + `"} {}`:        api.CodeBadRequest,
	} {
		if status, code, _, _ := do(t, ts.request(t, "POST", "/api/v1/setup", body)); status != 400 || code != want {
			t.Fatalf("POST %.60s: %d %q, want 400 %q", body, status, code, want)
		}
	}
	if fs.count() != 0 {
		t.Fatalf("refused requests ran setup %d times", fs.count())
	}

	if status, _, body, _ := do(t, ts.request(t, "POST", "/api/v1/setup", `{"passphrase":"`+goodPassphrase+`"}`)); status != 200 || strings.TrimSpace(string(body)) != `{"needed":false}` {
		t.Fatalf("POST good passphrase: %d %s", status, body)
	}
	if fs.count() != 1 || fs.calls[0] != goodPassphrase {
		t.Fatalf("setup calls: %q", fs.calls)
	}
	if status, _, body, _ := do(t, ts.request(t, "GET", "/api/v1/test/node", "")); status != 200 || !strings.Contains(string(body), "running") {
		t.Fatalf("node route after setup: %d %s", status, body)
	}
	if status, _, body, _ := do(t, ts.request(t, "GET", "/api/v1/setup", "")); status != 200 || strings.TrimSpace(string(body)) != `{"needed":false}` {
		t.Fatalf("GET setup after: %d %s", status, body)
	}
	if status, code, _, _ := do(t, ts.request(t, "POST", "/api/v1/setup", `{"passphrase":"another passphrase"}`)); status != 409 || code != api.CodeConflict {
		t.Fatalf("second setup: %d %q", status, code)
	}
	if fs.count() != 1 {
		t.Fatalf("setup ran %d times", fs.count())
	}
	if strings.Contains(ts.logs.String(), goodPassphrase) || strings.Contains(ts.logs.String(), "another passphrase") {
		t.Fatalf("a passphrase is in the log:\n%s", ts.logs)
	}
}

// TestSetupNeedsAuthAndOrigin: without credentials setup is refused, and a
// page on another site holding the session cookie cannot choose the
// passphrase; the web UI's own same-origin request can.
func TestSetupNeedsAuthAndOrigin(t *testing.T) {
	fs := &fakeSetup{}
	ts := startSetupServer(t, fs.run)
	body := `{"passphrase":"` + goodPassphrase + `"}`

	req := ts.request(t, "POST", "/api/v1/setup", body)
	req.Header.Del("Authorization")
	if status, code, _, _ := do(t, req); status != 401 || code != api.CodeUnauthorized {
		t.Fatalf("no credentials: %d %q", status, code)
	}
	c := ts.login(t)
	req = ts.cookieRequest(t, "POST", "/api/v1/setup", body, c)
	req.Header.Set("Origin", "http://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if status, code, _, _ := do(t, req); status != 403 || code != api.CodeForbiddenOrigin {
		t.Fatalf("cross-site: %d %q", status, code)
	}
	req = ts.cookieRequest(t, "POST", "/api/v1/setup", body, c)
	if status, code, _, _ := do(t, req); status != 403 || code != api.CodeForbiddenOrigin {
		t.Fatalf("cookie without Origin: %d %q", status, code)
	}
	if fs.count() != 0 {
		t.Fatalf("refused requests ran setup %d times", fs.count())
	}
	req = ts.cookieRequest(t, "POST", "/api/v1/setup", body, c)
	req.Header.Set("Origin", ts.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if status, _, _, _ := do(t, req); status != 200 || fs.count() != 1 {
		t.Fatalf("same-origin: %d, %d calls", status, fs.count())
	}
}

// TestSetupFailureStaysInSetup: when setup fails the home is still new:
// the error is a 500 without details, and a later attempt runs setup
// again. When setup finds the home already exists, the answer is 409 and
// setup mode ends.
func TestSetupFailureStaysInSetup(t *testing.T) {
	fs := &fakeSetup{err: errors.New("disk full")}
	ts := startSetupServer(t, fs.run)
	body := `{"passphrase":"` + goodPassphrase + `"}`
	if status, code, _, _ := do(t, ts.request(t, "POST", "/api/v1/setup", body)); status != 500 || code != api.CodeInternal {
		t.Fatalf("failing setup: %d %q", status, code)
	}
	if status, code, _, _ := do(t, ts.request(t, "GET", "/api/v1/test/node", "")); status != 503 || code != api.CodeSetupRequired {
		t.Fatalf("node route after a failed setup: %d %q", status, code)
	}
	fs.mu.Lock()
	fs.err = api.ErrSetupDone
	fs.mu.Unlock()
	if status, code, _, _ := do(t, ts.request(t, "POST", "/api/v1/setup", body)); status != 409 || code != api.CodeConflict {
		t.Fatalf("setup of an existing home: %d %q", status, code)
	}
	if status, _, body, _ := do(t, ts.request(t, "GET", "/api/v1/setup", "")); status != 200 || strings.TrimSpace(string(body)) != `{"needed":false}` {
		t.Fatalf("GET setup: %d %s", status, body)
	}
	if fs.count() != 2 || strings.Contains(ts.logs.String(), goodPassphrase) {
		t.Fatalf("%d setup calls; log:\n%s", fs.count(), ts.logs)
	}
}

// TestSetupNotNeeded: for a home that exists, the node's routes serve as
// they are and setup is refused.
func TestSetupNotNeeded(t *testing.T) {
	ts := startServer(t, func(c *api.Config) {
		c.Routes = api.SetupRoutes([]api.Route{nodeTestRoute(func(w http.ResponseWriter, r *http.Request) error {
			api.WriteJSON(w, http.StatusOK, map[string]string{"node": "running"})
			return nil
		})}, nil)
	})
	if status, _, body, _ := do(t, ts.request(t, "GET", "/api/v1/setup", "")); status != 200 || strings.TrimSpace(string(body)) != `{"needed":false}` {
		t.Fatalf("GET setup: %d %s", status, body)
	}
	if status, code, _, _ := do(t, ts.request(t, "POST", "/api/v1/setup", `{"passphrase":"`+goodPassphrase+`"}`)); status != 409 || code != api.CodeConflict {
		t.Fatalf("POST setup: %d %q", status, code)
	}
	if status, _, _, _ := do(t, ts.request(t, "GET", "/api/v1/test/node", "")); status != 200 {
		t.Fatalf("node route: %d", status)
	}
}

// FuzzSetupBody: whatever the body of POST /api/v1/setup, the server
// answers without panicking, with a status a client expects, and runs
// setup only with a passphrase of valid text of at least MinPassphraseLen
// characters, exactly as sent.
func FuzzSetupBody(f *testing.F) {
	for _, s := range []string{
		`{"passphrase":"` + goodPassphrase + `"}`, `{"passphrase":"short"}`, `{"passphrase":"ééééééééé"}`,
		`{"passphrase":"\ud800\ud800\ud800\ud800\ud800\ud800\ud800\ud800\ud800\ud800"}`, `{"Passphrase":"a","passphrase":"b"}`,
		`{"passphrase":null}`, `{"passphrase":1234567890}`, `[]`, `{}`, ``, `{"passphrase":"0123456789"} x`,
	} {
		f.Add(s)
	}
	tok, err := api.NewToken(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var got []string
		srv, err := api.NewServer(api.Config{Token: tok, Addr: "127.0.0.1:7070", Routes: api.SetupRoutes(nil,
			func(pass []byte) ([]api.Route, error) {
				got = append(got, string(pass))
				return nil, nil
			})})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:7070/api/v1/setup", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+string(tok))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			var sent struct{ Passphrase string }
			if err := json.Unmarshal([]byte(body), &sent); err != nil {
				t.Fatalf("accepted a body encoding/json refuses: %q", body)
			}
			if len(got) != 1 || got[0] != sent.Passphrase || !utf8.ValidString(got[0]) || utf8.RuneCountInString(got[0]) < api.MinPassphraseLen {
				t.Fatalf("body %q: setup ran with %q", body, got)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if len(got) != 0 {
				t.Fatalf("refused body %q ran setup with %q", body, got)
			}
		default:
			t.Fatalf("body %q: status %d: %s", body, rec.Code, rec.Body)
		}
	})
}
