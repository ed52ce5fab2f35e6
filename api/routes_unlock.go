package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hearthnet/hearth/crypto"
)

// Error codes of unlocking a home from the web UI.
const (
	// CodeLocked: the home exists but the daemon started without its
	// passphrase, so there is no node to answer yet; unlock it in the web
	// UI first (503).
	CodeLocked = "locked"
	// CodeBadPassphrase: the passphrase does not open the home (403).
	CodeBadPassphrase = "bad_passphrase"
	// CodeTooManyAttempts: too many wrong passphrases in a short time;
	// the message and the Retry-After header say how long to wait (429).
	CodeTooManyAttempts = "too_many_attempts"
)

// UnlockAttempts wrong passphrases within UnlockWindow are all POST
// /api/v1/unlock accepts; the next attempt is refused, without trying the
// passphrase, until the oldest of them is UnlockWindow old. The limit is on
// wrong passphrases, so a member who mistypes a few times and then gets it
// right is never made to wait for the right one.
//
// Only a caller that holds the API token or a session gets this far (see
// guard.go), so the limit is a second wall: it keeps a stolen session, or a
// process that can talk to the API but not read the home, to a few guesses
// a minute. A process that can read the keystore file guesses offline
// instead, at the speed Argon2id allows; only the passphrase's strength
// stands there.
const (
	UnlockAttempts = 5
	UnlockWindow   = time.Minute
)

// UnlockFunc opens the keystore of the existing home with passphrase,
// starts its node, and returns the node's routes, which then serve in
// place of the ones held back (same method and path). It must not keep
// passphrase: the caller wipes it when UnlockFunc returns. It returns
// crypto.ErrBadPassphrase (wrapped) when the passphrase does not open the
// home, having changed nothing on disk; any other error is logged (it must
// not carry the passphrase) and answered as a 500, and the home stays
// locked.
type UnlockFunc func(passphrase []byte) ([]Route, error)

// unlockGate holds back a node's routes until the home is unlocked, and
// counts wrong passphrases.
type unlockGate struct {
	// run serialises the attempts: one key derivation at a time (Argon2id
	// takes 64 MiB and most of a second), and a second request waits for
	// the first and then finds the home unlocked or the limit reached.
	// Only run is held while the passphrase is tried; mu is held briefly,
	// so every other route answers at once meanwhile.
	run      sync.Mutex
	unlock   UnlockFunc
	attempts wrongAttempts

	routeGate
}

// wrongAttempts counts wrong passphrases for the limit of UnlockAttempts
// within UnlockWindow. The unlock route and the passphrase-change route
// each keep one.
type wrongAttempts struct {
	now func() time.Time

	mu       sync.Mutex
	failures []time.Time // wrong passphrases within UnlockWindow, oldest first
}

// UnlockRoutes returns routes together with GET and POST /api/v1/unlock.
//
// With a nil unlock the home is not locked (it is unlocked already, or it
// is new and SetupRoutes holds its routes back): routes are returned as
// they are, GET /api/v1/unlock answers {"locked": false} and POST answers
// 409 conflict.
//
// With a non-nil unlock the home exists and waits for its passphrase: each
// of routes answers 503 locked until a POST /api/v1/unlock with the right
// passphrase has run unlock, and from then on the route of the same method
// and path that unlock returned serves instead. routes are only a table of
// what will be served (NodeRoutes(nil, ...) is the intended argument);
// their handlers are never called. now is the clock of the attempt limit;
// nil means time.Now.
//
// Both unlock routes are authenticated like every node route, and the
// server's Origin check refuses a cookie-authenticated POST from another
// site, so a page elsewhere cannot guess passphrases through a member's
// browser; the attempt limit bounds what any caller can try.
func UnlockRoutes(routes []Route, unlock UnlockFunc, now func() time.Time) []Route {
	if now == nil {
		now = time.Now
	}
	g := &unlockGate{unlock: unlock, attempts: wrongAttempts{now: now}}
	g.done = unlock == nil
	g.closed = func() *APIError {
		return NewError(http.StatusServiceUnavailable, CodeLocked,
			"Hearth is locked; open the web UI from the link the daemon printed and enter your passphrase to unlock it")
	}
	out := make([]Route, 0, len(routes)+2)
	out = append(out,
		Route{Method: http.MethodGet, Path: "/api/v1/unlock",
			Summary: "Report whether the home waits for its passphrase", Handler: g.status},
		Route{Method: http.MethodPost, Path: "/api/v1/unlock",
			Summary: "Open the home with its passphrase and start its node", Handler: g.post},
	)
	if unlock == nil {
		return append(out, routes...)
	}
	return g.hold(out, routes)
}

type unlockStatusJSON struct {
	Locked bool `json:"locked"`
}

func (g *unlockGate) status(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, unlockStatusJSON{Locked: !g.isDone()})
	return nil
}

type unlockRequest struct {
	Passphrase string `json:"passphrase"`
}

func errUnlocked() *APIError {
	return NewError(http.StatusConflict, CodeConflict, "this Hearth home is not locked; there is nothing to unlock")
}

// wait reports how long the caller must wait before the next attempt:
// zero when fewer than UnlockAttempts wrong passphrases fell within the
// last UnlockWindow. It forgets failures older than that.
func (a *wrongAttempts) wait() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	keep := a.failures[:0]
	for _, t := range a.failures {
		if now.Sub(t) < UnlockWindow {
			keep = append(keep, t)
		}
	}
	a.failures = keep
	if len(a.failures) < UnlockAttempts {
		return 0
	}
	return a.failures[len(a.failures)-UnlockAttempts].Add(UnlockWindow).Sub(now)
}

// fail records a wrong passphrase.
func (a *wrongAttempts) fail() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failures = append(a.failures, a.now())
}

// reset forgets the wrong passphrases: the right one was given.
func (a *wrongAttempts) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failures = nil
}

// errTooManyAttempts is the 429 for a wait of d, which it also puts in the
// Retry-After header, in whole seconds rounded up.
func errTooManyAttempts(w http.ResponseWriter, d time.Duration) *APIError {
	secs := int((d + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return NewError(http.StatusTooManyRequests, CodeTooManyAttempts,
		fmt.Sprintf("that was %d wrong passphrases within a minute; wait %d seconds, then try again", UnlockAttempts, secs))
}

func (g *unlockGate) post(w http.ResponseWriter, r *http.Request) error {
	if g.isDone() {
		return errUnlocked()
	}
	// Refuse before reading the body, and again once it is this
	// request's turn (others may have failed while it waited).
	if d := g.attempts.wait(); d > 0 {
		return errTooManyAttempts(w, d)
	}
	var req unlockRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	// As in setup: the decoded string cannot be wiped, the byte copy
	// handed to unlock is.
	if req.Passphrase == "" {
		return NewError(http.StatusBadRequest, CodeBadRequest, "type your passphrase, then try again")
	}
	if len(req.Passphrase) > maxPassphraseBytes {
		// Longer than any passphrase setup accepts: a wrong one, but not
		// worth a key derivation. It counts as a wrong attempt.
		g.attempts.fail()
		return nodeError(crypto.ErrBadPassphrase)
	}
	pass := []byte(req.Passphrase)
	defer crypto.Wipe(pass)

	g.run.Lock()
	defer g.run.Unlock()
	if g.isDone() {
		return errUnlocked()
	}
	if d := g.attempts.wait(); d > 0 {
		return errTooManyAttempts(w, d)
	}
	routes, err := g.unlock(pass)
	if errors.Is(err, crypto.ErrBadPassphrase) {
		g.attempts.fail()
		return nodeError(crypto.ErrBadPassphrase)
	}
	if err != nil {
		return fmt.Errorf("unlocking the home: %w", err)
	}
	g.finish(routes, g.attempts.reset)
	writeJSON(w, http.StatusOK, unlockStatusJSON{Locked: false})
	return nil
}
