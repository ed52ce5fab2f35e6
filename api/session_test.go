package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hearthnet/hearth/api"
)

// login opens a fresh login URL and returns the session cookie it sets.
func (ts *testServer) login(t *testing.T) *http.Cookie {
	t.Helper()
	u, err := ts.srv.NewLoginURL()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	req.Header.Set("Sec-Fetch-Site", "none")
	status, code, _, resp := do(t, req)
	if status != http.StatusSeeOther || code != "" {
		t.Fatalf("login: %d %q", status, code)
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("login set %d cookies", len(cookies))
	}
	return cookies[0]
}

// cookieRequest builds a request authenticated by cookie c alone.
func (ts *testServer) cookieRequest(t *testing.T, method, path, body string, c *http.Cookie) *http.Request {
	req := ts.request(t, method, path, body)
	req.Header.Del("Authorization")
	req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	return req
}

func TestLoginURL(t *testing.T) {
	ts := startServer(t, nil)
	u, err := ts.srv.NewLoginURL()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, "http://"+ts.host+"/login?code=") {
		t.Fatalf("login URL %q", u)
	}
	pu, _ := url.Parse(u)
	if code := pu.Query().Get("code"); len(code) != 43 || strings.Contains(string(ts.token), code) {
		t.Fatalf("code %q is not a fresh 43-character secret", code)
	}
	// A wildcard listen address still yields a URL the browser can open.
	tok, _ := api.NewToken(nil)
	srv, err := api.NewServer(api.Config{Token: tok, Addr: "0.0.0.0:7070", AllowRemote: true})
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := srv.NewLoginURL(); !strings.HasPrefix(u, "http://127.0.0.1:7070/login?code=") {
		t.Fatalf("login URL for a wildcard address: %q", u)
	}
}

// TestLoginOnce: a code gives one cookie, with the right attributes, and
// then is dead.
func TestLoginOnce(t *testing.T) {
	ts := startServer(t, nil)
	u, _ := ts.srv.NewLoginURL()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	status, _, _, resp := do(t, req)
	if status != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %d Location=%q", status, resp.Header.Get("Location"))
	}
	c := resp.Cookies()[0]
	if c.Name != "hearth_session_"+ts.port || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
		t.Fatalf("cookie attributes: %+v", c)
	}
	if c.MaxAge != int(api.DefaultSessionTTL/time.Second) {
		t.Fatalf("cookie MaxAge %d", c.MaxAge)
	}
	if c.Value == string(ts.token) || len(c.Value) != 43 {
		t.Fatalf("cookie value is not a fresh session secret")
	}

	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	status, code, _, resp := do(t, req)
	if status != 401 || code != api.CodeInvalidLoginCode || len(resp.Cookies()) != 0 {
		t.Fatalf("second use of the code: %d %q, %d cookies", status, code, len(resp.Cookies()))
	}
	for _, q := range []string{"", "?code=", "?code=" + strings.Repeat("A", 43), "?code=a&code=b", "?other=1"} {
		req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, ts.url+"/login"+q, nil)
		if status, code, _, _ := do(t, req); status < 400 || code == "" {
			t.Errorf("login%s: %d %q", q, status, code)
		}
	}
	// A cross-site navigation to a live login link is refused, and the
	// code survives for the member's own use.
	u2, _ := ts.srv.NewLoginURL()
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, u2, nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if status, code, _, _ := do(t, req); status != 403 || code != api.CodeForbiddenOrigin {
		t.Fatalf("cross-site login: %d %q", status, code)
	}
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, u2, nil)
	if status, _, _, _ := do(t, req); status != http.StatusSeeOther {
		t.Fatalf("login after the refused cross-site attempt: %d", status)
	}
}

func TestLoginCodeExpires(t *testing.T) {
	ts := startServer(t, nil)
	u, _ := ts.srv.NewLoginURL()
	ts.clock.Advance(api.DefaultLoginCodeTTL)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if status, code, _, _ := do(t, req); status != 401 || code != api.CodeInvalidLoginCode {
		t.Fatalf("expired code: %d %q", status, code)
	}
	u, _ = ts.srv.NewLoginURL()
	ts.clock.Advance(api.DefaultLoginCodeTTL - time.Second)
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if status, _, _, _ := do(t, req); status != http.StatusSeeOther {
		t.Fatalf("code one second before expiry: %d", status)
	}
}

// TestLoginCodesBounded: several codes may be outstanding and each works
// in any order; beyond eight the oldest is dropped.
func TestLoginCodesBounded(t *testing.T) {
	ts := startServer(t, nil)
	var urls []string
	for range 9 {
		u, err := ts.srv.NewLoginURL()
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, u)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, urls[0], nil)
	if status, code, _, _ := do(t, req); status != 401 || code != api.CodeInvalidLoginCode {
		t.Fatalf("oldest of nine codes: %d %q", status, code)
	}
	for i := len(urls) - 1; i >= 1; i-- {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, urls[i], nil)
		if status, _, _, _ := do(t, req); status != http.StatusSeeOther {
			t.Fatalf("code %d: %d", i, status)
		}
	}
}

// TestCookieAuth: the session cookie authenticates reads; requests that
// change state need a same-origin Origin besides; logout ends the session.
func TestCookieAuth(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.login(t)

	if status, _, _, _ := do(t, ts.cookieRequest(t, "GET", "/api/v1/health", "", c)); status != 200 {
		t.Fatalf("GET with cookie: %d", status)
	}
	body := `{"text":"from the browser"}`
	if status, code, _, _ := do(t, ts.cookieRequest(t, "POST", "/api/v1/test/echo", body, c)); status != 403 || code != api.CodeForbiddenOrigin {
		t.Fatalf("POST with cookie, no Origin: %d %q", status, code)
	}
	req := ts.cookieRequest(t, "POST", "/api/v1/test/echo", body, c)
	req.Header.Set("Origin", "http://127.0.0.1:1")
	if status, code, _, _ := do(t, req); status != 403 || code != api.CodeForbiddenOrigin {
		t.Fatalf("POST with cookie, Origin of another port: %d %q", status, code)
	}
	if n := ts.effects.Load(); n != 0 {
		t.Fatalf("refused cookie requests acted %d times", n)
	}
	req = ts.cookieRequest(t, "POST", "/api/v1/test/echo", body, c)
	req.Header.Set("Origin", ts.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if status, _, _, _ := do(t, req); status != 200 || ts.effects.Load() != 1 {
		t.Fatalf("POST with cookie and same Origin: %d", status)
	}

	// A forged cookie beside no real one, and a wrong bearer token beside
	// a real cookie, are refused.
	forged := &http.Cookie{Name: c.Name, Value: strings.Repeat("A", 43)}
	if status, _, _, _ := do(t, ts.cookieRequest(t, "GET", "/api/v1/health", "", forged)); status != 401 {
		t.Fatalf("forged cookie: %d", status)
	}
	req = ts.cookieRequest(t, "GET", "/api/v1/health", "", c)
	req.Header.Set("Authorization", "Bearer "+strings.Repeat("A", 43))
	if status, _, _, _ := do(t, req); status != 401 {
		t.Fatalf("wrong token beside a good cookie: %d", status)
	}
	// A cookie planted by another local program does not hide the real one.
	req = ts.cookieRequest(t, "GET", "/api/v1/health", "", forged)
	req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	if status, _, _, _ := do(t, req); status != 200 {
		t.Fatalf("real cookie after a planted one: %d", status)
	}

	req = ts.cookieRequest(t, "POST", "/api/v1/logout", "", c)
	req.Header.Set("Origin", ts.url)
	status, _, _, resp := do(t, req)
	if status != http.StatusNoContent || len(resp.Cookies()) != 1 || resp.Cookies()[0].MaxAge >= 0 {
		t.Fatalf("logout: %d, cookies %v", status, resp.Cookies())
	}
	if status, _, _, _ := do(t, ts.cookieRequest(t, "GET", "/api/v1/health", "", c)); status != 401 {
		t.Fatalf("cookie after logout: %d", status)
	}
}

func TestSessionExpires(t *testing.T) {
	ts := startServer(t, func(c *api.Config) { c.SessionTTL = time.Hour })
	c := ts.login(t)
	ts.clock.Advance(time.Hour - time.Second)
	if status, _, _, _ := do(t, ts.cookieRequest(t, "GET", "/api/v1/health", "", c)); status != 200 {
		t.Fatalf("session before expiry: %d", status)
	}
	ts.clock.Advance(time.Second)
	if status, code, _, _ := do(t, ts.cookieRequest(t, "GET", "/api/v1/health", "", c)); status != 401 || code != api.CodeUnauthorized {
		t.Fatalf("expired session: %d %q", status, code)
	}
}

// TestRequestLogOmitsSecrets runs requests that carry every kind of secret
// and checks none of them reaches the log, while the log still records the
// requests.
func TestRequestLogOmitsSecrets(t *testing.T) {
	ts := startServer(t, nil)
	u, _ := ts.srv.NewLoginURL()
	code := strings.TrimPrefix(u, ts.url+"/login?code=")
	c := ts.login(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	do(t, req)
	const marker = "body-marker-7f3a"
	do(t, ts.request(t, "POST", "/api/v1/test/echo", `{"text":"`+marker+`"}`))
	do(t, ts.cookieRequest(t, "GET", "/api/v1/health", "", c))
	do(t, ts.request(t, "GET", "/api/v1/nothing/"+marker+"?q="+marker, ""))
	logs := ts.logs.String()
	for what, s := range map[string]string{"token": string(ts.token), "login code": code, "cookie": c.Value, "body or path": marker, "query": "code="} {
		if strings.Contains(logs, s) {
			t.Errorf("the log carries the %s", what)
		}
	}
	for _, want := range []string{"route=\"GET /login\"", "route=\"POST /api/v1/test/echo\"", "route=(unmatched)", "status=404"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %s:\n%s", want, logs)
		}
	}
}
