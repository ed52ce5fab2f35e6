package api

import (
	"fmt"
	"html"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// This file holds the ways to a fresh login link and what a browser is
// told when a login fails: POST /api/v1/login-link (behind `hearth ui`),
// the refusal of browsers by TokenOnly routes, the forbidden_host message,
// and the small HTML pages the login route answers a browser with instead
// of the JSON an API client gets.

// loginLinkJSON is the body of POST /api/v1/login-link.
type loginLinkJSON struct {
	URL     string `json:"url"`
	Expires string `json:"expires"`
}

// handleLoginLink serves POST /api/v1/login-link: a new one-time login URL
// (as NewLoginURL makes), so a member whose daemon runs as a service, or
// whose first link expired, can reach the web UI without a restart. The
// route is TokenOnly: the command line holds the token, a web page never
// does, so no page (not even the web UI itself) can mint login codes.
func (s *Server) handleLoginLink(w http.ResponseWriter, r *http.Request) error {
	if err := decodeOptionalJSON(w, r, &noFields{}); err != nil {
		return err
	}
	u, expires, err := s.newLoginURL()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, loginLinkJSON{URL: u, Expires: rfc3339(expires)})
	return nil
}

// newLoginURL records a new login code and returns its URL and when it
// stops working.
func (s *Server) newLoginURL() (string, time.Time, error) {
	code, err := randomSecret(s.rand)
	if err != nil {
		return "", time.Time{}, err
	}
	expires := s.auth.add(&s.auth.codes, maxLoginCodes, code, s.loginCodeTTL)
	u := url.URL{
		Scheme:   "http",
		Host:     net.JoinHostPort(s.loginHost, s.port),
		Path:     "/login",
		RawQuery: url.Values{"code": {code}}.Encode(),
	}
	return u.String(), expires, nil
}

// checkTokenOnly refuses, for a TokenOnly route, what a browser sends: a
// request with Origin or Sec-Fetch-Site (every browser fetch and form
// carries one or both, whatever its origin), and a request with no
// Authorization header (one let in by the session cookie). It runs after
// authenticate, so a wrong token has already been refused.
func checkTokenOnly(r *http.Request) *APIError {
	if len(r.Header.Values("Origin")) > 0 || len(r.Header.Values("Sec-Fetch-Site")) > 0 {
		return NewError(http.StatusForbidden, CodeForbiddenOrigin,
			"this endpoint is for programs that hold the API token, never for web pages; run 'hearth ui' in a terminal instead")
	}
	if len(r.Header.Values("Authorization")) == 0 {
		return NewError(http.StatusUnauthorized, CodeUnauthorized,
			"this endpoint takes only the API token (the file "+TokenFile+" in the node's home directory), never a browser session; run 'hearth ui' in a terminal instead")
	}
	return nil
}

// errForbiddenHost is the answer to a Host header this server does not
// answer to. It names the names it does answer to: loopback ones, and with
// AllowRemote the listen address and Config.AllowedHosts.
func (s *Server) errForbiddenHost() *APIError {
	names := s.hostNames
	list := strings.Join(names, ", ")
	if n := len(names); n > 1 {
		list = strings.Join(names[:n-1], ", ") + " or " + names[n-1]
	}
	return NewError(http.StatusForbidden, CodeForbiddenHost,
		fmt.Sprintf("this server answers only to %s with its own port (%s); use the address the daemon printed, or run 'hearth ui' for a link",
			list, s.port))
}

// hostForMessage returns a host name as a person types it in a URL: an
// IPv6 address in brackets.
func hostForMessage(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// refuse answers a request that failed a check before its route ran:
// for GET /login a browser gets a page (loginPage), anything else the JSON
// error.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, e *APIError) {
	if r.Method == http.MethodGet && r.URL.Path == "/login" && prefersHTML(r) {
		writeLoginPage(w, e)
		return
	}
	writeError(w, e)
}

// prefersHTML reports whether the request's Accept header ranks text/html,
// named explicitly, above application/json (named, or failing that matched
// by application/* or */*). A browser opening a link sends
// "text/html,...,*/*;q=0.8" and gets a page; the Go client sends
// "application/json", curl "*/*", and both get JSON.
func prefersHTML(r *http.Request) bool {
	htmlQ, jsonQ, wildQ := -1.0, -1.0, -1.0
	for _, h := range r.Header.Values("Accept") {
		for _, part := range strings.Split(h, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			q := 1.0
			if v, ok := params["q"]; ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				q = f
			}
			switch mt {
			case "text/html":
				htmlQ = max(htmlQ, q)
			case "application/json":
				jsonQ = max(jsonQ, q)
			case "application/*", "*/*":
				wildQ = max(wildQ, q)
			}
		}
	}
	if jsonQ < 0 {
		jsonQ = wildQ
	}
	return htmlQ > 0 && htmlQ > jsonQ
}

// loginPageTitles are the headings of the pages the login route shows a
// browser, by error code.
func loginPageTitle(code string) string {
	switch code {
	case CodeInvalidLoginCode:
		return "This login link no longer works"
	case CodeForbiddenHost:
		return "Hearth does not answer to this address"
	case CodeForbiddenOrigin:
		return "This link was opened from another site"
	}
	return "This login link did not work"
}

// writeLoginPage sends e as a small HTML page: what happened (the error's
// message) and how to get a new link. It has no script and no style, so it
// stays within the Content-Security-Policy and needs nothing else from the
// server (under a refused Host name the UI's stylesheet would be refused
// too). The status and the stable code stay those of the JSON error.
func writeLoginPage(w http.ResponseWriter, e *APIError) {
	title := html.EscapeString(loginPageTitle(e.Code))
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	fmt.Fprintf(&b, "<title>Hearth: %s</title>\n</head>\n<body>\n<main>\n<h1>%s</h1>\n", title, title)
	fmt.Fprintf(&b, "<p>%s.</p>\n", html.EscapeString(upperFirst(e.Message)))
	b.WriteString("<p>For a new link, run this in a terminal on the machine where Hearth runs, and open the link it prints:</p>\n")
	b.WriteString("<pre>hearth ui</pre>\n")
	b.WriteString("<p>(<code>hearth ui --open</code> opens it in your browser for you.) Each link works once, for a few minutes.</p>\n")
	fmt.Fprintf(&b, "<p><small>Error code: %s</small></p>\n</main>\n</body>\n</html>\n", html.EscapeString(e.Code))
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hearth"`)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(e.Status)
	w.Write([]byte(b.String()))
}

// upperFirst returns s with its first letter in upper case (messages are
// written lower-case, as error strings are).
func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
