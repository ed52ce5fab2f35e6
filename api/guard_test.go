package api_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hearthnet/hearth/api"
)

// TestRefusals sends requests that must each be refused, with a given
// status and code, before the state-changing echo route does anything.
func TestRefusals(t *testing.T) {
	ts := startServer(t, nil)
	good := `{"text":"hello","n":1}`
	cases := []struct {
		name   string
		body   string
		mod    func(r *http.Request)
		status int
		code   string
	}{
		{"no token", good, func(r *http.Request) { r.Header.Del("Authorization") }, 401, api.CodeUnauthorized},
		{"wrong token", good, func(r *http.Request) {
			other, _ := api.NewToken(nil)
			r.Header.Set("Authorization", "Bearer "+string(other))
		}, 401, api.CodeUnauthorized},
		{"token one character long", good, func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+string(ts.token)+"A")
		}, 401, api.CodeUnauthorized},
		{"token one character short", good, func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+string(ts.token)[1:])
		}, 401, api.CodeUnauthorized},
		{"empty bearer", good, func(r *http.Request) { r.Header.Set("Authorization", "Bearer ") }, 401, api.CodeUnauthorized},
		{"basic scheme", good, func(r *http.Request) { r.Header.Set("Authorization", "Basic "+string(ts.token)) }, 401, api.CodeUnauthorized},
		{"token twice", good, func(r *http.Request) { r.Header.Add("Authorization", "Bearer "+string(ts.token)) }, 401, api.CodeUnauthorized},
		{"token in query", good, func(r *http.Request) {
			r.Header.Del("Authorization")
			r.URL.RawQuery = "token=" + string(ts.token)
		}, 401, api.CodeUnauthorized},
		{"foreign origin", good, func(r *http.Request) { r.Header.Set("Origin", "http://evil.example") }, 403, api.CodeForbiddenOrigin},
		{"null origin", good, func(r *http.Request) { r.Header.Set("Origin", "null") }, 403, api.CodeForbiddenOrigin},
		{"origin on another local port", good, func(r *http.Request) { r.Header.Set("Origin", "http://127.0.0.1:1") }, 403, api.CodeForbiddenOrigin},
		{"https origin", good, func(r *http.Request) { r.Header.Set("Origin", "https://"+ts.host) }, 403, api.CodeForbiddenOrigin},
		{"origin with path", good, func(r *http.Request) { r.Header.Set("Origin", ts.url+"/x") }, 403, api.CodeForbiddenOrigin},
		{"two origins", good, func(r *http.Request) {
			r.Header.Add("Origin", ts.url)
			r.Header.Add("Origin", "http://evil.example")
		}, 403, api.CodeForbiddenOrigin},
		{"sec-fetch-site cross-site", good, func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }, 403, api.CodeForbiddenOrigin},
		{"sec-fetch-site same-site", good, func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "same-site") }, 403, api.CodeForbiddenOrigin},
		{"rebinding host", good, func(r *http.Request) { r.Host = "evil.example:" + ts.port }, 403, api.CodeForbiddenHost},
		{"rebinding host with loopback prefix", good, func(r *http.Request) { r.Host = "127.0.0.1.evil.example:" + ts.port }, 403, api.CodeForbiddenHost},
		{"localhost with trailing dot", good, func(r *http.Request) { r.Host = "localhost.:" + ts.port }, 403, api.CodeForbiddenHost},
		{"wildcard address", good, func(r *http.Request) { r.Host = "0.0.0.0:" + ts.port }, 403, api.CodeForbiddenHost},
		{"loopback on another port", good, func(r *http.Request) { r.Host = "127.0.0.1:1" }, 403, api.CodeForbiddenHost},
		{"host without port", good, func(r *http.Request) { r.Host = "127.0.0.1" }, 403, api.CodeForbiddenHost},
		{"other loopback address", good, func(r *http.Request) { r.Host = "127.0.0.2:" + ts.port }, 403, api.CodeForbiddenHost},
		{"oversized body, declared", `{"text":"` + strings.Repeat("x", testMaxBody) + `"}`, nil, 413, api.CodeBodyTooLarge},
		{"oversized body, chunked", `{"text":"` + strings.Repeat("x", testMaxBody) + `"}`, func(r *http.Request) {
			r.ContentLength = -1
			body := r.Body
			r.Body = io.NopCloser(io.MultiReader(body))
		}, 413, api.CodeBodyTooLarge},
		{"unknown field", `{"text":"hi","admin":true}`, nil, 400, api.CodeUnknownField},
		{"trailing garbage", good + `garbage`, nil, 400, api.CodeBadRequest},
		{"two values", good + good, nil, 400, api.CodeBadRequest},
		{"repeated key", `{"text":"a","text":"b"}`, nil, 400, api.CodeBadRequest},
		{"repeated key in another case", `{"text":"a","TEXT":"b"}`, nil, 400, api.CodeBadRequest},
		{"wrong type", `{"text":1}`, nil, 400, api.CodeBadRequest},
		{"not an object", `[1,2]`, nil, 400, api.CodeBadRequest},
		{"syntax error", `{"text":}`, nil, 400, api.CodeBadRequest},
		{"truncated", `{"text":"a"`, nil, 400, api.CodeBadRequest},
		{"empty body", ` `, nil, 400, api.CodeBadRequest},
		{"text/plain", good, func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, 415, api.CodeUnsupportedMediaType},
		{"form", good, func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") }, 415, api.CodeUnsupportedMediaType},
		{"no content type", good, func(r *http.Request) { r.Header.Del("Content-Type") }, 415, api.CodeUnsupportedMediaType},
		{"latin-1 charset", good, func(r *http.Request) { r.Header.Set("Content-Type", "application/json; charset=latin-1") }, 415, api.CodeUnsupportedMediaType},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := ts.request(t, http.MethodPost, "/api/v1/test/echo", c.body)
			if c.mod != nil {
				c.mod(req)
			}
			status, code, body, resp := do(t, req)
			if status != c.status || code != c.code {
				t.Fatalf("got %d %q, want %d %q; body %s", status, code, c.status, c.code, body)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/json; charset=utf-8" {
				t.Errorf("error Content-Type %q", got)
			}
			if status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if n := ts.effects.Load(); n != 0 {
				t.Fatalf("the handler acted %d times on a refused request", n)
			}
		})
	}

	// The same route accepts a proper request, so the refusals above were
	// not a broken route; and "bearer" in lower case, a same-origin Origin,
	// Sec-Fetch-Site same-origin and charset=utf-8 are all fine.
	for _, host := range []string{ts.host, "localhost:" + ts.port, "LOCALHOST:" + ts.port, "[::1]:" + ts.port} {
		req := ts.request(t, http.MethodPost, "/api/v1/test/echo", `{"text":"hello","n":1}`)
		req.Host = host
		req.Header.Set("Authorization", "bearer "+string(ts.token))
		req.Header.Set("Origin", "http://"+host)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Content-Type", "application/json; charset=UTF-8")
		status, code, body, _ := do(t, req)
		if status != 200 || code != "" || string(body) != `{"text":"hello","n":1}`+"\n" {
			t.Fatalf("Host %s: got %d %q %s", host, status, code, body)
		}
	}
	if n := ts.effects.Load(); n != 4 {
		t.Fatalf("effects = %d, want 4", n)
	}
}

// TestAllowRemote checks that AllowRemote admits exactly the configured
// names besides loopback, and that NewServer refuses unsafe configurations.
func TestAllowRemote(t *testing.T) {
	ts := startServer(t, func(c *api.Config) {
		c.AllowRemote = true
		c.AllowedHosts = []string{"hearth.lan"}
	})
	for host, want := range map[string]int{
		"hearth.lan:" + ts.port:      200,
		"HEARTH.LAN:" + ts.port:      200,
		"evil.example:" + ts.port:    403,
		"hearth.lan.evil:" + ts.port: 403,
		"hearth.lan:1":               403,
	} {
		req := ts.request(t, http.MethodGet, "/api/v1/health", "")
		req.Host = host
		if status, _, _, _ := do(t, req); status != want {
			t.Errorf("Host %s: status %d, want %d", host, status, want)
		}
	}

	tok, _ := api.NewToken(nil)
	bad := []api.Config{
		{Token: tok, Addr: "0.0.0.0:7070"},
		{Token: tok, Addr: "192.168.1.5:7070"},
		{Token: tok, Addr: "127.0.0.1:0"},
		{Token: tok, Addr: "127.0.0.1"},
		{Token: tok, Addr: "127.0.0.1:7070", AllowedHosts: []string{"hearth.lan"}},
		{Token: tok, Addr: "0.0.0.0:7070", AllowRemote: true, AllowedHosts: []string{"evil example"}},
		{Token: tok, Addr: "127.0.0.1:7070", MaxBodyBytes: -1},
		{Token: tok, Addr: "127.0.0.1:7070", Routes: []api.Route{{Method: "GET", Path: "/api/v1/health", Summary: "again",
			Handler: func(http.ResponseWriter, *http.Request) error { return nil }}}},
		{Token: tok, Addr: "127.0.0.1:7070", Routes: []api.Route{{Method: "GET", Path: "/api/v1/{rest...}", Summary: "rest",
			Handler: func(http.ResponseWriter, *http.Request) error { return nil }}}},
		{Token: tok, Addr: "127.0.0.1:7070", Routes: []api.Route{{Method: "GET", Path: "/api/v1/x", Summary: "no handler"}}},
		{Token: tok, Addr: "127.0.0.1:7070", Routes: []api.Route{{Method: "TRACE", Path: "/api/v1/x", Summary: "trace",
			Handler: func(http.ResponseWriter, *http.Request) error { return nil }}}},
	}
	for i, cfg := range bad {
		if _, err := api.NewServer(cfg); !errors.Is(err, api.ErrConfig) {
			t.Errorf("config %d: err = %v, want ErrConfig", i, err)
		}
	}
	if _, err := api.NewServer(api.Config{Token: "short", Addr: "127.0.0.1:7070"}); !errors.Is(err, api.ErrTokenInvalid) {
		t.Errorf("short token: err = %v, want ErrTokenInvalid", err)
	}
	if _, err := api.NewServer(api.Config{Token: tok, Addr: "0.0.0.0:7070", AllowRemote: true}); err != nil {
		t.Errorf("remote on all interfaces: %v", err)
	}
}

// TestSecurityHeaders checks the headers on a success, a refusal and the
// login redirect.
func TestSecurityHeaders(t *testing.T) {
	ts := startServer(t, nil)
	loginURL, err := ts.srv.NewLoginURL()
	if err != nil {
		t.Fatal(err)
	}
	loginReq, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, loginURL, nil)
	noAuth := ts.request(t, http.MethodGet, "/api/v1/health", "")
	noAuth.Header.Del("Authorization")
	for name, req := range map[string]*http.Request{
		"ok":      ts.request(t, http.MethodGet, "/api/v1/health", ""),
		"refused": noAuth,
		"login":   loginReq,
	} {
		_, _, _, resp := do(t, req)
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "script-src 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", name, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP %q allows inline script", name, csp)
		}
		for k, v := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "no-referrer",
			"Cache-Control":          "no-store",
			"X-Frame-Options":        "DENY",
		} {
			if got := h.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", name, k, got, v)
			}
		}
		if h.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: response allows CORS", name)
		}
	}
}

// TestUnmatched checks that unknown paths and methods get JSON errors, and
// only after authentication.
func TestUnmatched(t *testing.T) {
	ts := startServer(t, nil)
	noAuth := ts.request(t, http.MethodGet, "/api/v1/nothing-here", "")
	noAuth.Header.Del("Authorization")
	if status, code, _, _ := do(t, noAuth); status != 401 || code != api.CodeUnauthorized {
		t.Errorf("unauthenticated unknown path: %d %q", status, code)
	}
	if status, code, _, _ := do(t, ts.request(t, http.MethodGet, "/api/v1/nothing-here", "")); status != 404 || code != api.CodeNotFound {
		t.Errorf("unknown path: %d %q", status, code)
	}
	status, code, _, resp := do(t, ts.request(t, http.MethodDelete, "/api/v1/health", ""))
	if status != 405 || code != api.CodeMethodNotAllowed || !strings.Contains(resp.Header.Get("Allow"), "GET") {
		t.Errorf("wrong method: %d %q Allow=%q", status, code, resp.Header.Get("Allow"))
	}
}

// TestHealth checks the health route's exact body.
func TestHealth(t *testing.T) {
	ts := startServer(t, nil)
	status, _, body, _ := do(t, ts.request(t, http.MethodGet, "/api/v1/health", ""))
	if status != 200 || string(body) != `{"status":"ok","version":"v0.0.0-test"}`+"\n" {
		t.Fatalf("health: %d %s", status, body)
	}
}

// TestHandlerFailures checks that a panic and a plain error both become a
// 500 "internal" error that reveals nothing, and that a handler's
// *APIError reaches the client as it is.
func TestHandlerFailures(t *testing.T) {
	const secret = "the-secret-inside-the-panic"
	ts := startServer(t, func(c *api.Config) {
		c.Routes = append(c.Routes,
			api.Route{Method: "GET", Path: "/api/v1/test/panic", Summary: "panic",
				Handler: func(http.ResponseWriter, *http.Request) error { panic(errors.New(secret)) }},
			api.Route{Method: "GET", Path: "/api/v1/test/nilmap", Summary: "runtime panic",
				Handler: func(http.ResponseWriter, *http.Request) error {
					var m map[string]int
					m["x"] = 1
					return nil
				}},
			api.Route{Method: "GET", Path: "/api/v1/test/fail", Summary: "fail",
				Handler: func(http.ResponseWriter, *http.Request) error { return errors.New("database exploded") }},
			api.Route{Method: "GET", Path: "/api/v1/test/conflict", Summary: "conflict",
				Handler: func(http.ResponseWriter, *http.Request) error {
					return api.NewError(http.StatusGone, "invite_expired", "this invite has expired; ask the host for a new one")
				}},
		)
	})
	for _, p := range []string{"/api/v1/test/panic", "/api/v1/test/nilmap", "/api/v1/test/fail"} {
		status, code, body, _ := do(t, ts.request(t, http.MethodGet, p, ""))
		if status != 500 || code != api.CodeInternal {
			t.Errorf("%s: %d %q", p, status, code)
		}
		if strings.Contains(string(body), secret) || strings.Contains(string(body), "exploded") || strings.Contains(string(body), "nil map") {
			t.Errorf("%s: error body leaks details: %s", p, body)
		}
	}
	if strings.Contains(ts.logs.String(), secret) {
		t.Error("the log carries the panic value of a non-runtime panic")
	}
	if !strings.Contains(ts.logs.String(), "assignment to entry in nil map") {
		t.Error("the log lacks the runtime panic's message")
	}
	status, code, body, _ := do(t, ts.request(t, http.MethodGet, "/api/v1/test/conflict", ""))
	if status != 410 || code != "invite_expired" || !strings.Contains(string(body), "ask the host") {
		t.Errorf("domain error: %d %q %s", status, code, body)
	}
	// The server still works after the panics.
	if status, _, _, _ := do(t, ts.request(t, http.MethodGet, "/api/v1/health", "")); status != 200 {
		t.Errorf("health after panics: %d", status)
	}
}
