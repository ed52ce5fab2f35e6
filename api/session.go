package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"sync"
	"time"
)

// This file holds the web UI's way in. The daemon prints a login URL
// carrying a one-time code; the browser that opens it trades the code for
// a session cookie and is redirected to the UI. The API token itself never
// reaches the browser.

// Bounds on what the server keeps in memory. When a new code or session
// would exceed a bound, the oldest is dropped: a member who asks for a new
// login link always gets a working one, and nobody without the token can
// create either.
const (
	maxLoginCodes = 8
	maxSessions   = 32
)

// cookieNamePrefix starts the session cookie's name; the port follows.
// Browsers do not separate cookies by port, so two daemons on one machine
// (two members, or two home directories) would otherwise overwrite each
// other's session.
const cookieNamePrefix = "hearth_session_"

// authStore keeps the outstanding login codes and live sessions. It keeps
// only SHA-256 hashes of them, so a memory dump or a stray debug print of
// the store does not reveal a usable secret, and compares hashes in
// constant time against every entry (no early exit), so lookups reveal
// nothing through timing. Both secrets are 256 random bits, so an unsalted
// hash is enough: there is nothing to brute-force.
type authStore struct {
	now func() time.Time

	mu       sync.Mutex
	codes    []secretEntry // oldest first
	sessions []secretEntry // oldest first
}

type secretEntry struct {
	hash    [sha256.Size]byte
	expires time.Time
}

func newAuthStore(now func() time.Time) *authStore {
	return &authStore{now: now}
}

// add records secret in list until now+ttl, dropping expired entries and,
// beyond max, the oldest. It returns when secret expires.
func (a *authStore) add(list *[]secretEntry, max int, secret string, ttl time.Duration) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	prune(list, now)
	if len(*list) >= max {
		*list = append((*list)[:0], (*list)[len(*list)-max+1:]...)
	}
	*list = append(*list, secretEntry{hash: sha256.Sum256([]byte(secret)), expires: now.Add(ttl)})
	return now.Add(ttl)
}

// find reports whether secret is live in list, removing it when remove is
// set. It looks at every entry whatever it finds.
func (a *authStore) find(list *[]secretEntry, secret string, remove bool) bool {
	h := sha256.Sum256([]byte(secret))
	a.mu.Lock()
	defer a.mu.Unlock()
	prune(list, a.now())
	found := -1
	for i := range *list {
		if subtle.ConstantTimeCompare((*list)[i].hash[:], h[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return false
	}
	if remove {
		*list = append((*list)[:found], (*list)[found+1:]...)
	}
	return true
}

// prune drops the entries of list that have expired at now.
func prune(list *[]secretEntry, now time.Time) {
	kept := (*list)[:0]
	for _, e := range *list {
		if now.Before(e.expires) {
			kept = append(kept, e)
		}
	}
	clear((*list)[len(kept):])
	*list = kept
}

// NewLoginURL returns a URL that logs one browser in to the web UI, such
// as http://127.0.0.1:7070/login?code=..., to be shown to the member (the
// daemon prints one when it starts; POST /api/v1/login-link, behind
// `hearth ui`, makes more). The code in it works once, for
// Config.LoginCodeTTL; up to 8 may be outstanding, and asking for more
// drops the oldest. It fails only when randomness fails.
func (s *Server) NewLoginURL() (string, error) {
	u, _, err := s.newLoginURL()
	return u, err
}

// cookieName is the name of this server's session cookie.
func (s *Server) cookieName() string { return cookieNamePrefix + s.port }

// validSessionCookie reports whether r carries a live session cookie.
// Every cookie of the name is tried: another program on 127.0.0.1 can set
// cookies for it too (cookies ignore ports), and a planted cookie must not
// hide the real one.
func (s *Server) validSessionCookie(r *http.Request) bool {
	ok := false
	for _, c := range r.CookiesNamed(s.cookieName()) {
		if s.auth.find(&s.auth.sessions, c.Value, false) {
			ok = true
		}
	}
	return ok
}

// sessionCookie returns the session cookie carrying value, alive for ttl
// (a negative ttl deletes it).
//
// HttpOnly keeps it from page scripts, so an injected script cannot carry
// it off; SameSite=Strict keeps browsers from sending it with requests
// started by other sites; Path=/ because the UI and the API share the
// origin. It has no Secure flag: the API is plain HTTP on loopback, where
// traffic never leaves the machine and TLS would protect nothing, and
// browsers differ on whether they store Secure cookies from
// http://127.0.0.1, so the flag could only break login. (The __Host-
// prefix needs Secure, so it is not used either.)
func (s *Server) sessionCookie(value string, ttl time.Duration) *http.Cookie {
	c := &http.Cookie{
		Name:     s.cookieName(),
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	}
	if ttl < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(ttl / time.Second)
	}
	return c
}

// handleLogin serves GET /login?code=...: a live code becomes a session
// cookie and a redirect to the UI at /; the code is dead from that moment.
// A failure is a JSON error, or for a browser (prefersHTML) a small page
// that says what happened and how to get a new link.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	codes := q["code"]
	if len(q) != 1 || len(codes) != 1 {
		return s.loginFailed(w, r, NewError(http.StatusBadRequest, CodeBadRequest,
			"this is not a whole login link: open the login link exactly as hearth printed it, or run 'hearth ui' for a new one"))
	}
	if !s.auth.find(&s.auth.codes, codes[0], true) {
		return s.loginFailed(w, r, NewError(http.StatusUnauthorized, CodeInvalidLoginCode,
			"this login link was already used or has expired: each link works once, for a few minutes; "+
				"run 'hearth ui' for a new link"))
	}
	secret, err := randomSecret(s.rand)
	if err != nil {
		return err
	}
	s.auth.add(&s.auth.sessions, maxSessions, secret, s.sessionTTL)
	http.SetCookie(w, s.sessionCookie(secret, s.sessionTTL))
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// loginFailed answers a failed login with e: a page for a browser, the
// JSON error (returned, for the route's adapter to send) for anyone else.
func (s *Server) loginFailed(w http.ResponseWriter, r *http.Request, e *APIError) error {
	if prefersHTML(r) {
		writeLoginPage(w, e)
		return nil
	}
	return e
}

// handleLogout serves POST /api/v1/logout: the sessions named by the
// request's cookies end, and the browser is told to drop the cookie.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) error {
	for _, c := range r.CookiesNamed(s.cookieName()) {
		s.auth.find(&s.auth.sessions, c.Value, true)
	}
	http.SetCookie(w, s.sessionCookie("", -1))
	w.WriteHeader(http.StatusNoContent)
	return nil
}
