package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// This file holds the checks every request passes before a route handler
// runs, in the order ServeHTTP applies them, and the response wrapper,
// panic recovery and request log around them.

// contentSecurityPolicy lets pages load scripts, styles, images and
// connections only from this origin, never inline script or eval, never
// plugins, and never be framed (clickjacking). img-src also allows data:
// URIs, which the UI uses for QR codes of invites.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// setSecurityHeaders puts the headers every response carries. Cache-Control
// no-store keeps API responses (group content, tokens of state) out of the
// browser's disk cache; a handler for static assets may relax it.
// Cross-Origin-Resource-Policy same-origin stops another local web page
// from loading responses as images or scripts; Referrer-Policy no-referrer
// keeps the login URL's code out of any Referer header.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// requestInfo is what the request log records, filled in as the request
// goes through the checks.
type requestInfo struct {
	route string // the matched route's pattern; never the raw path
}

// unmatchedRoute is what the log records for a request that matched no
// route. The raw path is not logged: it may carry anything a client put in
// it, a token pasted in the wrong place included.
const unmatchedRoute = "(unmatched)"

// ServeHTTP applies, in order: security headers; request logging and panic
// recovery around everything below; the Host check; the Origin and
// Sec-Fetch-Site check (which a link to the page itself passes, see
// pageNavigation); authentication (for every route but the public
// ones, and for unmatched paths, so that an unauthenticated caller learns
// nothing about which paths exist); the body size limit; then the route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	setSecurityHeaders(w.Header())
	tw := &trackingWriter{ResponseWriter: w}
	info := &requestInfo{route: unmatchedRoute}
	defer s.logRequest(r, tw, info, start)
	defer s.recoverPanic(tw, info)
	s.serve(tw, r, info)
}

func (s *Server) serve(w *trackingWriter, r *http.Request, info *requestInfo) {
	if !s.hostAllowed(r.Host) {
		s.refuse(w, r, s.errForbiddenHost())
		return
	}
	if !originAllowed(r) && !pageNavigation(r) {
		s.refuse(w, r, errForbiddenOrigin())
		return
	}
	_, pattern := s.mux.Handler(r)
	rt, matched := s.byPat[pattern]
	if matched {
		info.route = pattern
	}
	if !matched || rt.Auth != Public {
		byCookie, err := s.authenticate(r)
		if err != nil {
			writeError(w, err)
			return
		}
		// SameSite=Strict keeps the cookie off requests from other sites,
		// but every port of 127.0.0.1 is the same site: a page served by
		// any other local program could make the browser send it. Such a
		// page's requests carry its own Origin (refused above); demanding
		// an Origin here closes the gap left by browsers that omit it.
		if byCookie && !safeMethod(r.Method) && r.Header.Get("Origin") == "" {
			writeError(w, errNeedOrigin())
			return
		}
		if matched && rt.Auth == TokenOnly {
			if err := checkTokenOnly(r); err != nil {
				writeError(w, err)
				return
			}
		}
	}
	if !matched {
		s.writeUnmatched(w, r)
		return
	}
	if r.ContentLength > s.maxBody {
		writeError(w, errBodyTooLarge(s.maxBody))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	r = r.WithContext(context.WithValue(r.Context(), bodyLimitKey{}, s.maxBody))
	s.mux.ServeHTTP(w, r)
}

// safeMethod reports whether m is a method that must not change state.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// hostAllowed reports whether the Host header names this server. A DNS
// rebinding attack makes a hostile name (evil.example) resolve to
// 127.0.0.1, so the browser treats the hostile page and this server as the
// same origin; the browser still sends the hostile name as Host, and that
// is refused here. The comparison is exact (after lower-casing): no
// suffix or prefix matching, so "127.0.0.1.evil.example" is refused too.
func (s *Server) hostAllowed(host string) bool {
	_, ok := s.hosts[strings.ToLower(host)]
	return ok
}

// originAllowed refuses a request that says it comes from another origin:
// Sec-Fetch-Site other than same-origin or none (a person typing the URL or
// opening a bookmark), or an Origin header that is not http:// followed by
// exactly the request's Host. "same-site" is refused too: every port on
// 127.0.0.1 is the same site, so a page from any other local program is
// "same-site". A request with neither header (the CLI, curl) passes.
func originAllowed(r *http.Request) bool {
	sfs := r.Header.Values("Sec-Fetch-Site")
	if len(sfs) > 1 {
		return false
	}
	if len(sfs) == 1 && sfs[0] != "same-origin" && sfs[0] != "none" {
		return false
	}
	origins := r.Header.Values("Origin")
	switch len(origins) {
	case 0:
		return true
	case 1:
	default:
		return false
	}
	u, err := url.Parse(origins[0])
	if err != nil || u.Scheme != "http" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return false
	}
	return u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// pageNavigation reports whether r is a person following a link to the web
// UI's page from anywhere, another site included: a top-level GET of
// exactly "/" (Sec-Fetch-Mode navigate, Sec-Fetch-Dest document), with no
// query and no Origin header (browsers send none on a GET navigation).
// That is how a hearth: link opens the join form
// (http://127.0.0.1:PORT/#join=hearth:...). The page is the public
// index.html and nothing more: it holds no secret, cannot be framed
// (frame-ancestors 'none', and an iframe's Sec-Fetch-Dest is "iframe"),
// and the join form it shows is only filled in, never submitted without
// the member's click. Every other path, the API included, keeps the strict
// check of originAllowed: the page's own scripts reach the API from its
// own origin.
func pageNavigation(r *http.Request) bool {
	if r.Method != http.MethodGet || r.URL.Path != "/" || r.URL.RawQuery != "" {
		return false
	}
	mode, dest := r.Header.Values("Sec-Fetch-Mode"), r.Header.Values("Sec-Fetch-Dest")
	if len(mode) != 1 || mode[0] != "navigate" || len(dest) != 1 || dest[0] != "document" {
		return false
	}
	return len(r.Header.Values("Origin")) == 0
}

// authenticate checks the bearer token, or failing that the session
// cookie, and reports which one let the request in. A request that sends an
// Authorization header is judged on it alone: a wrong token is refused even
// when a valid cookie rides along.
func (s *Server) authenticate(r *http.Request) (byCookie bool, err *APIError) {
	if h := r.Header.Values("Authorization"); len(h) > 0 {
		if len(h) != 1 {
			return false, errUnauthorized()
		}
		scheme, cred, ok := strings.Cut(h[0], " ")
		// The comparison takes time that depends only on the lengths,
		// and every valid token has the same, public, length.
		if !ok || !strings.EqualFold(scheme, "Bearer") || !equalSecret(cred, string(s.token)) {
			return false, errUnauthorized()
		}
		return false, nil
	}
	if s.validSessionCookie(r) {
		return true, nil
	}
	return false, errUnauthorized()
}

// writeUnmatched answers a request no route matched with a JSON 405 (and
// the Allow header) when the path exists with other methods, else a JSON
// 404. It asks the mux which of the two applies by letting the mux answer
// into a recorder that is then thrown away.
func (s *Server) writeUnmatched(w http.ResponseWriter, r *http.Request) {
	probe := &probeWriter{header: make(http.Header)}
	s.mux.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		if allow := probe.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		writeError(w, errMethodNotAllowed())
		return
	}
	writeError(w, errNotFound())
}

// probeWriter records the status and headers of a response and discards
// its body.
type probeWriter struct {
	header http.Header
	status int
}

func (p *probeWriter) Header() http.Header { return p.header }
func (p *probeWriter) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}
func (p *probeWriter) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return len(b), nil
}

// adapt turns a route's HandlerFunc into an http.Handler that sends the
// error it returns.
func (s *Server) adapt(rt Route) http.Handler {
	pattern := rt.pattern()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := rt.Handler(w, r)
		if err == nil {
			return
		}
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status < 400 || ae.Status > 599 || ae.Code == "" {
			s.log.Error("api handler failed", "route", pattern, "err", err)
			ae = errInternal()
		}
		if tw, ok := w.(*trackingWriter); ok && tw.wrote {
			s.log.Warn("api handler returned an error after writing its response", "route", pattern, "code", ae.Code)
			return
		}
		writeError(w, ae)
	})
}

// recoverPanic turns a handler's panic into a 500 "internal" error that
// reveals nothing, and logs it. Only runtime errors' messages are logged
// (an index out of range, a nil dereference); any other panic value is
// logged by type alone, since it could carry anything. If the response had
// already begun, the connection is aborted instead, so the client sees a
// broken response rather than a truncated one that looks complete.
func (s *Server) recoverPanic(w *trackingWriter, info *requestInfo) {
	p := recover()
	if p == nil {
		return
	}
	if p == http.ErrAbortHandler {
		panic(p)
	}
	what := fmt.Sprintf("%T", p)
	if re, ok := p.(runtime.Error); ok {
		what = re.Error()
	}
	s.log.Error("api handler panicked", "route", info.route, "panic", what, "stack", string(debug.Stack()))
	if w.wrote {
		panic(http.ErrAbortHandler)
	}
	writeError(w, errInternal())
}

// logRequest writes one line per request: method, route pattern, status,
// size and duration. It never logs the path, the query string (a login
// code travels there), headers (tokens and cookies), or bodies. Refusals
// are logged at Info, server errors at Error, everything else at Debug. A
// 503 is a refusal too (the home is locked or not set up yet: the web UI
// polls through it), not a fault.
func (s *Server) logRequest(r *http.Request, w *trackingWriter, info *requestInfo, start time.Time) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	level := slog.LevelDebug
	switch {
	case status >= 500 && status != http.StatusServiceUnavailable:
		level = slog.LevelError
	case status >= 400:
		level = slog.LevelInfo
	}
	took := time.Since(start)
	s.log.LogAttrs(r.Context(), level, "api request",
		slog.String("method", r.Method),
		slog.String("route", info.route),
		slog.Int("status", status),
		slog.Int64("bytes", w.bytes),
		slog.Duration("duration", took))
	if s.observe != nil {
		s.observe(info.route, status, took)
	}
}

// trackingWriter records whether and with what status a response began,
// and how many body bytes were written. It passes Flush through (event
// streams need it) and unwraps for http.ResponseController.
type trackingWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (w *trackingWriter) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.status = code
		w.wrote = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *trackingWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *trackingWriter) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *trackingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
