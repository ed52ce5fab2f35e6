package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hearthnet/hearth/api"
)

// TestLinkFromAnotherSiteOpensOnlyThePage: a person following a link to
// the web UI from another site (a hearth: link handed to this Hearth, or
// http://127.0.0.1:PORT/#join=... in a web page) gets the page, so the
// join form can open. Only a top-level navigation to "/" passes: the same
// headers on any other path, on the API, on a POST, in a frame or with an
// Origin are still refused as cross-origin.
func TestLinkFromAnotherSiteOpensOnlyThePage(t *testing.T) {
	ts := startWebServer(t)
	navigation := func(site string) func(r *http.Request) {
		return func(r *http.Request) {
			r.Header.Set("Sec-Fetch-Site", site)
			r.Header.Set("Sec-Fetch-Mode", "navigate")
			r.Header.Set("Sec-Fetch-Dest", "document")
			r.Header.Set("Sec-Fetch-User", "?1")
		}
	}
	send := func(t *testing.T, method, path string, mod ...func(r *http.Request)) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, ts.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mod {
			m(req)
		}
		status, code, _, _ := do(t, req)
		return status, code
	}
	for _, site := range []string{"cross-site", "same-site"} {
		if status, code := send(t, http.MethodGet, "/", navigation(site)); status != http.StatusOK {
			t.Errorf("a %s link to / answered %d %q, want the page", site, status, code)
		}
	}
	refused := []struct {
		name, method, path string
		mod                func(r *http.Request)
	}{
		{"a script of the page", http.MethodGet, "/js/app.js", nil},
		{"the API", http.MethodGet, "/api/v1/groups", nil},
		{"the API's status", http.MethodGet, "/api/v1/status", nil},
		{"the login route", http.MethodGet, "/login", nil},
		{"the page with a query", http.MethodGet, "/?join=x", nil},
		{"a POST navigation", http.MethodPost, "/", nil},
		{"a frame", http.MethodGet, "/", func(r *http.Request) { r.Header.Set("Sec-Fetch-Dest", "iframe") }},
		{"a fetch", http.MethodGet, "/", func(r *http.Request) {
			r.Header.Set("Sec-Fetch-Mode", "cors")
			r.Header.Set("Sec-Fetch-Dest", "empty")
		}},
		{"a navigation with a foreign Origin", http.MethodGet, "/", func(r *http.Request) { r.Header.Set("Origin", "http://evil.example") }},
		{"two modes", http.MethodGet, "/", func(r *http.Request) { r.Header.Add("Sec-Fetch-Mode", "navigate") }},
	}
	for _, c := range refused {
		mods := []func(*http.Request){navigation("cross-site")}
		if c.mod != nil {
			mods = append(mods, c.mod)
		}
		status, code := send(t, c.method, c.path, mods...)
		if status != http.StatusForbidden || code != api.CodeForbiddenOrigin {
			t.Errorf("%s from another site (%s %s) answered %d %q, want 403 %s", c.name, c.method, c.path, status, code, api.CodeForbiddenOrigin)
		}
	}
	// The page is still the public page: the link does not sign anyone in.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.url+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	navigation("cross-site")(req)
	resp, err := noRedirect().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c := resp.Header.Values("Set-Cookie"); len(c) > 0 {
		t.Errorf("a link to the page set cookies: %q", c)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("the page opened by a link has CSP %q", csp)
	}
}
