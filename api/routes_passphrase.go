package api

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/hearthnet/hearth/crypto"
)

// Changing the home's passphrase from the web UI: POST /api/v1/passphrase
// re-seals the keystore of the daemon serving it under a new passphrase
// (docs/PROTOCOL.md, "Local control API"; SECURITY.md, "Keystore"). The
// daemon holds the keystore open, so it passes a PassphraseFunc that
// checks the current passphrase and re-seals the file.

// PassphraseFunc checks that current opens the home's keystore and then
// re-seals the keystore under next. It must keep neither: the caller wipes
// both when it returns. It returns crypto.ErrBadPassphrase (wrapped) when
// current is wrong, having changed nothing; any other error is logged (it
// must not carry either passphrase) and answered as a 500, and the home
// then still opens with the current passphrase unless the error says
// otherwise.
type PassphraseFunc func(current, next []byte) error

// PassphraseRoutes returns POST /api/v1/passphrase, which runs change.
// Wrong current passphrases are limited as unlocking is (UnlockAttempts
// within UnlockWindow, then 429 until the oldest is a window old), so a
// stolen session cannot use the route to guess the passphrase faster than
// the unlock route would let it.
// now is the clock of that limit; nil means time.Now. With a nil change
// the route answers 503: the process cannot re-seal its own keystore.
func PassphraseRoutes(change PassphraseFunc, now func() time.Time) []Route {
	if now == nil {
		now = time.Now
	}
	pr := &passphraseRoute{change: change, attempts: wrongAttempts{now: now}}
	return []Route{
		{Method: http.MethodPost, Path: "/api/v1/passphrase",
			Summary: "Change the passphrase that opens this home", Handler: pr.post},
	}
}

type passphraseRoute struct {
	change PassphraseFunc
	// run serialises the changes: each derives two keys with Argon2id,
	// and two at once would race to replace the keystore file.
	run      sync.Mutex
	attempts wrongAttempts
}

type passphraseRequest struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

type passphraseJSON struct {
	Changed bool `json:"changed"`
}

func (pr *passphraseRoute) post(w http.ResponseWriter, r *http.Request) error {
	if d := pr.attempts.wait(); d > 0 {
		return errTooManyAttempts(w, d)
	}
	var req passphraseRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Current == "" {
		return NewError(http.StatusBadRequest, CodeBadRequest, "type your current passphrase, then try again; nothing was changed")
	}
	if err := checkNewPassphrase(req.New); err != nil {
		return err
	}
	if pr.change == nil {
		return NewError(http.StatusServiceUnavailable, CodeUnavailable,
			"this program cannot change its home's passphrase while it runs; stop it and run 'hearth passphrase'")
	}
	if len(req.Current) > maxPassphraseBytes {
		// No passphrase this long was ever accepted: a wrong one, and
		// not worth a key derivation.
		pr.attempts.fail()
		return nodeError(crypto.ErrBadPassphrase)
	}
	// As in setup and unlock, the decoded strings cannot be wiped; the
	// byte copies handed to change are.
	current, next := []byte(req.Current), []byte(req.New)
	defer crypto.Wipe(current)
	defer crypto.Wipe(next)

	pr.run.Lock()
	defer pr.run.Unlock()
	if d := pr.attempts.wait(); d > 0 {
		return errTooManyAttempts(w, d)
	}
	err := pr.change(current, next)
	if errors.Is(err, crypto.ErrBadPassphrase) {
		pr.attempts.fail()
		return nodeError(crypto.ErrBadPassphrase)
	}
	if err != nil {
		return fmt.Errorf("changing the passphrase: %w", err)
	}
	pr.attempts.reset()
	writeJSON(w, http.StatusOK, passphraseJSON{Changed: true})
	return nil
}
