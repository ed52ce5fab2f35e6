package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hearthnet/hearth/api"
)

// browserAccept is the Accept header a browser sends when it opens a link.
const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// TestLoginLinkTokenOnly: POST /api/v1/login-link makes a fresh login link
// for the bearer token alone; the link logs one browser in, once; and no
// browser (cookie, Origin, Sec-Fetch-Site) can mint one.
func TestLoginLinkTokenOnly(t *testing.T) {
	ts := startServer(t, nil)

	status, code, body, _ := do(t, ts.request(t, http.MethodPost, "/api/v1/login-link", ""))
	if status != http.StatusCreated || code != "" {
		t.Fatalf("login-link with the token: %d %q %s", status, code, body)
	}
	var link struct {
		URL     string `json:"url"`
		Expires string `json:"expires"`
	}
	if err := json.Unmarshal(body, &link); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link.URL, "http://"+ts.host+"/login?code=") || len(strings.TrimPrefix(link.URL, "http://"+ts.host+"/login?code=")) != 43 {
		t.Fatalf("login link %q", link.URL)
	}
	if want := ts.clock.Now().Add(api.DefaultLoginCodeTTL).UTC().Format(time.RFC3339Nano); link.Expires != want {
		t.Errorf("expires %q, want %q", link.Expires, want)
	}
	// An empty object is a body too; anything else is refused.
	if status, _, _, _ := do(t, ts.request(t, http.MethodPost, "/api/v1/login-link", "{}")); status != http.StatusCreated {
		t.Errorf("login-link with {}: %d", status)
	}
	if status, code, _, _ := do(t, ts.request(t, http.MethodPost, "/api/v1/login-link", `{"ttl":"1h"}`)); status != 400 || code != api.CodeUnknownField {
		t.Errorf("login-link with a field: %d %q", status, code)
	}

	// The link works once.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, link.URL, nil)
	status, _, _, resp := do(t, req)
	if status != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Fatalf("opening the new link: %d, %d cookies", status, len(resp.Cookies()))
	}
	cookie := resp.Cookies()[0]
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, link.URL, nil)
	if status, code, _, _ := do(t, req); status != 401 || code != api.CodeInvalidLoginCode {
		t.Fatalf("opening the link again: %d %q", status, code)
	}

	// What a browser can send is refused, whatever its origin, and mints
	// nothing: the session cookie alone, or the token with the headers
	// every browser request carries.
	refused := map[string]*http.Request{}
	refused["cookie"] = ts.cookieRequest(t, http.MethodPost, "/api/v1/login-link", "", cookie)
	r := ts.cookieRequest(t, http.MethodPost, "/api/v1/login-link", "", cookie)
	r.Header.Set("Origin", "http://"+ts.host)
	refused["cookie with same Origin"] = r
	r = ts.request(t, http.MethodPost, "/api/v1/login-link", "")
	r.Header.Set("Origin", "http://"+ts.host)
	refused["token with same Origin"] = r
	r = ts.request(t, http.MethodPost, "/api/v1/login-link", "")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	refused["token with Sec-Fetch-Site"] = r
	r = ts.request(t, http.MethodPost, "/api/v1/login-link", "")
	r.Header.Set("Origin", "http://evil.example")
	refused["token from another origin"] = r
	r = ts.request(t, http.MethodPost, "/api/v1/login-link", "")
	r.Header.Set("Authorization", "Bearer "+strings.Repeat("A", 43))
	refused["wrong token"] = r
	r = ts.request(t, http.MethodPost, "/api/v1/login-link", "")
	r.Header.Del("Authorization")
	refused["nothing"] = r
	for what, req := range refused {
		status, code, body, _ := do(t, req)
		if status != 401 && status != 403 || code != api.CodeUnauthorized && code != api.CodeForbiddenOrigin {
			t.Errorf("%s: %d %q", what, status, code)
		}
		if strings.Contains(string(body), "/login?code=") {
			t.Errorf("%s: the refusal carries a login link", what)
		}
	}
	// A cookie-authenticated request that passes every other check (same
	// Origin) is refused by the route's own rule.
	r = ts.cookieRequest(t, http.MethodPost, "/api/v1/login-link", "", cookie)
	r.Header.Set("Origin", "http://"+ts.host)
	if _, _, body, _ := do(t, r); !strings.Contains(string(body), "never for web pages") {
		t.Errorf("cookie with same Origin: %s", body)
	}
	// The session itself still works for the routes a browser may use.
	if status, _, _, _ := do(t, ts.cookieRequest(t, http.MethodGet, "/api/v1/health", "", cookie)); status != 200 {
		t.Errorf("the session no longer works: %d", status)
	}
}

// TestLoginLinkLeavesOthersWorking: asking for a new link does not spend
// the ones already handed out (up to the bound of eight).
func TestLoginLinkLeavesOthersWorking(t *testing.T) {
	ts := startServer(t, nil)
	first, _ := ts.srv.NewLoginURL()
	if status, _, _, _ := do(t, ts.request(t, http.MethodPost, "/api/v1/login-link", "")); status != http.StatusCreated {
		t.Fatalf("login-link: %d", status)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, first, nil)
	if status, _, _, _ := do(t, req); status != http.StatusSeeOther {
		t.Fatalf("the printed link after a new one was made: %d", status)
	}
}

// TestLoginPagesForBrowsers: a browser that opens a used login link, or
// one under a foreign Host, reads a small HTML page that says what
// happened and to run hearth ui; API clients keep the JSON error.
func TestLoginPagesForBrowsers(t *testing.T) {
	ts := startServer(t, nil)
	u, _ := ts.srv.NewLoginURL()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if status, _, _, _ := do(t, req); status != http.StatusSeeOther {
		t.Fatalf("first use: %d", status)
	}

	page := func(what string, req *http.Request, status int, code string, words ...string) {
		t.Helper()
		req.Header.Set("Accept", browserAccept)
		got, _, body, resp := do(t, req)
		if got != status {
			t.Errorf("%s: status %d, want %d", what, got, status)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", what, ct)
		}
		if resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: no Content-Security-Policy", what)
		}
		s := string(body)
		for _, w := range append(words, "<!doctype html>", "hearth ui", "Error code: "+code) {
			if !strings.Contains(s, w) {
				t.Errorf("%s: the page lacks %q:\n%s", what, w, s)
			}
		}
		for _, bad := range []string{"<script", "style=", "<style", "<link", "{\"error\""} {
			if strings.Contains(strings.ToLower(s), bad) {
				t.Errorf("%s: the page holds %q", what, bad)
			}
		}
	}
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	page("used link", req, 401, api.CodeInvalidLoginCode, "This login link no longer works", "already used or has expired")
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, ts.url+"/login?cod=x", nil)
	page("cut link", req, 400, api.CodeBadRequest, "not a whole login link")
	fresh, _ := ts.srv.NewLoginURL()
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, fresh, nil)
	req.Host = "evil.example:" + ts.port
	page("foreign Host", req, 403, api.CodeForbiddenHost, "Hearth does not answer to this address")
	// The refused request did not spend the code.
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, fresh, nil)
	if status, _, _, _ := do(t, req); status != http.StatusSeeOther {
		t.Errorf("the code after the refused Host: %d", status)
	}

	// The same refusals stay JSON for API clients, and elsewhere than the
	// login route.
	for what, accept := range map[string]string{"no Accept": "", "JSON": "application/json", "anything": "*/*",
		"JSON first": "application/json, text/html;q=0.5", "html refused": "text/html;q=0, */*"} {
		req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		status, code, _, resp := do(t, req)
		if status != 401 || code != api.CodeInvalidLoginCode || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: %d %q %s", what, status, code, resp.Header.Get("Content-Type"))
		}
	}
	req = ts.request(t, http.MethodGet, "/api/v1/health", "")
	req.Host = "evil.example:" + ts.port
	req.Header.Set("Accept", browserAccept)
	if status, code, _, _ := do(t, req); status != 403 || code != api.CodeForbiddenHost {
		t.Errorf("foreign Host on the API: %d %q, want JSON forbidden_host", status, code)
	}
}

// TestForbiddenHostNamesTheRightHosts: the forbidden_host message lists
// the names the server answers to, the remote ones included when remote
// access is on.
func TestForbiddenHostNamesTheRightHosts(t *testing.T) {
	for _, tc := range []struct {
		mod          func(*api.Config)
		want, absent []string
	}{
		{nil, []string{"127.0.0.1, [::1] or localhost with its own port"}, []string{"hearth.lan"}},
		{func(c *api.Config) { c.AllowRemote = true; c.AllowedHosts = []string{"hearth.lan"} },
			[]string{"127.0.0.1, [::1], localhost or hearth.lan with its own port"}, nil},
	} {
		ts := startServer(t, tc.mod)
		req := ts.request(t, http.MethodGet, "/api/v1/health", "")
		req.Host = "evil.example:" + ts.port
		_, code, body, _ := do(t, req)
		if code != api.CodeForbiddenHost {
			t.Fatalf("code %q", code)
		}
		for _, w := range append(tc.want, "("+ts.port+")") {
			if !strings.Contains(string(body), w) {
				t.Errorf("message %s lacks %q", body, w)
			}
		}
		for _, w := range tc.absent {
			if strings.Contains(string(body), w) {
				t.Errorf("message %s names %q", body, w)
			}
		}
	}
}

// TestObserveRequests: Config.Observe sees every request once, with the
// route's pattern (never the path) and the status.
func TestObserveRequests(t *testing.T) {
	type seen struct {
		route  string
		status int
	}
	// Observe runs once the response is written, so the client may read
	// the answer first: the test waits for each observation.
	ch := make(chan seen, 16)
	ts := startServer(t, func(c *api.Config) {
		c.Observe = func(route string, status int, took time.Duration) {
			if took < 0 {
				t.Errorf("negative duration for %s", route)
			}
			ch <- seen{route, status}
		}
	})
	r := ts.request(t, http.MethodGet, "/api/v1/health", "")
	r.Header.Del("Authorization")
	for _, req := range []*http.Request{
		ts.request(t, http.MethodGet, "/api/v1/health", ""),
		ts.request(t, http.MethodPost, "/api/v1/test/echo", `{"text":"secret words"}`),
		ts.request(t, http.MethodGet, "/api/v1/no/such/0123456789abcdef", ""),
		r,
	} {
		do(t, req)
	}
	for i, want := range []seen{{"GET /api/v1/health", 200}, {"POST /api/v1/test/echo", 200}, {"(unmatched)", 404}, {"GET /api/v1/health", 401}} {
		select {
		case got := <-ch:
			if got != want {
				t.Errorf("request %d observed as %v, want %v", i, got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("request %d was not observed", i)
		}
	}
	select {
	case extra := <-ch:
		t.Errorf("an extra observation %v", extra)
	default:
	}
}
