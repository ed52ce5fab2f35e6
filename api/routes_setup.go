package api

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"unicode/utf8"

	"github.com/hearthnet/hearth/crypto"
)

// Error codes of the first-run setup.
const (
	// CodeSetupRequired: the home has no passphrase yet, so there is no
	// node to answer; finish setup in the web UI first (503).
	CodeSetupRequired = "setup_required"
	// CodePassphraseTooShort: the passphrase chosen at setup is shorter
	// than MinPassphraseLen characters (400).
	CodePassphraseTooShort = "passphrase_too_short"
)

// MinPassphraseLen is the fewest characters (Unicode code points) POST
// /api/v1/setup accepts. Ten characters is not strong by itself; the web
// UI's strength hint says more. It is a floor that stops a one-word
// passphrase, which an offline guesser with a copy of the keystore would
// find even through Argon2id.
const MinPassphraseLen = 10

// maxPassphraseBytes bounds a setup passphrase, so a huge one cannot make
// the key derivation hash megabytes.
const maxPassphraseBytes = 1024

// ErrSetupDone is what a SetupFunc returns (wrapped) when the home already
// exists; POST /api/v1/setup answers it with 409 conflict.
var ErrSetupDone = errors.New("hearth/api: the home is already set up")

// SetupFunc creates the home sealed under passphrase, starts its node, and
// returns the node's routes, which then serve in place of the ones held
// back (same method and path). It must not keep passphrase: the caller
// wipes it when SetupFunc returns. It returns ErrSetupDone (wrapped) when
// the home already exists; any other error is logged (it must not carry
// the passphrase) and answered as a 500.
type SetupFunc func(passphrase []byte) ([]Route, error)

// setupGate holds back a node's routes until setup has run.
type setupGate struct {
	// run serialises POST /api/v1/setup: a second request waits for the
	// first and then finds the home set up.
	run   sync.Mutex
	setup SetupFunc

	routeGate
}

// SetupRoutes returns routes together with GET and POST /api/v1/setup.
//
// With a nil setup the home already exists: routes are returned as they
// are, GET /api/v1/setup answers {"needed": false} and POST answers 409
// conflict.
//
// With a non-nil setup the home is new: each of routes answers 503
// setup_required until a POST /api/v1/setup with an acceptable passphrase
// has run setup, and from then on the route of the same method and path
// that setup returned serves instead. routes are only a table of what will
// be served (NodeRoutes(nil, ...) is the intended argument); their handlers
// are never called.
//
// Both setup routes are authenticated like every node route: a browser
// holds a session from the one-time login URL, and the server's Origin
// check refuses a cookie-authenticated POST from another site, so a page
// elsewhere cannot choose the passphrase of a home being set up.
func SetupRoutes(routes []Route, setup SetupFunc) []Route {
	g := &setupGate{setup: setup}
	g.done = setup == nil
	g.closed = func() *APIError {
		return NewError(http.StatusServiceUnavailable, CodeSetupRequired,
			"this Hearth home is new and has no passphrase yet; open the web UI from the link the daemon printed to finish setup")
	}
	out := make([]Route, 0, len(routes)+2)
	out = append(out,
		Route{Method: http.MethodGet, Path: "/api/v1/setup",
			Summary: "Report whether the home still needs its passphrase", Handler: g.status},
		Route{Method: http.MethodPost, Path: "/api/v1/setup",
			Summary: "Choose the passphrase of a new home and start its node", Handler: g.post},
	)
	if setup == nil {
		return append(out, routes...)
	}
	return g.hold(out, routes)
}

type setupStatusJSON struct {
	Needed bool `json:"needed"`
}

func (g *setupGate) status(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, setupStatusJSON{Needed: !g.isDone()})
	return nil
}

// checkNewPassphrase refuses a passphrase that setup, or a passphrase
// change, must not seal a home under: one that is not valid text, longer
// than maxPassphraseBytes, or shorter than MinPassphraseLen characters.
func checkNewPassphrase(p string) *APIError {
	if !utf8.ValidString(p) {
		return NewError(http.StatusBadRequest, CodeBadRequest, "the passphrase is not valid text; type it again")
	}
	if len(p) > maxPassphraseBytes {
		return NewError(http.StatusBadRequest, CodeBadRequest,
			fmt.Sprintf("the passphrase is longer than %d bytes; choose a shorter one", maxPassphraseBytes))
	}
	if utf8.RuneCountInString(p) < MinPassphraseLen {
		return NewError(http.StatusBadRequest, CodePassphraseTooShort,
			fmt.Sprintf("the passphrase must be at least %d characters long; a few unrelated words are easy to remember and hard to guess", MinPassphraseLen))
	}
	return nil
}

type setupRequest struct {
	Passphrase string `json:"passphrase"`
}

func errSetupDone() *APIError {
	return NewError(http.StatusConflict, CodeConflict,
		"this Hearth home is already set up; its passphrase cannot be chosen again")
}

func (g *setupGate) post(w http.ResponseWriter, r *http.Request) error {
	// Refuse before reading the body: a home that exists is never
	// re-keyed from here, whatever the request holds.
	if g.isDone() {
		return errSetupDone()
	}
	var req setupRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	// The string from the decoder cannot be wiped (Go strings are
	// immutable, and so is the request buffer net/http and decodeJSON
	// read it into); the byte copy handed to setup is. The process holds
	// the keys the passphrase unlocks anyway, so what is lost is only a
	// shorter lifetime of the passphrase itself in memory.
	if err := checkNewPassphrase(req.Passphrase); err != nil {
		return err
	}
	pass := []byte(req.Passphrase)
	defer crypto.Wipe(pass)

	g.run.Lock()
	defer g.run.Unlock()
	if g.isDone() {
		return errSetupDone()
	}
	routes, err := g.setup(pass)
	if errors.Is(err, ErrSetupDone) {
		g.finish(nil, nil)
		return errSetupDone()
	}
	if err != nil {
		return fmt.Errorf("first-run setup: %w", err)
	}
	g.finish(routes, nil)
	writeJSON(w, http.StatusOK, setupStatusJSON{Needed: false})
	return nil
}
