package api

import (
	"fmt"
	"net/http"
	"sync"
)

// The panic wipe from the web UI: POST /api/v1/wipe destroys the home of
// the daemon serving it (docs/PROTOCOL.md, "Local control API"; SECURITY.md,
// "Panic wipe"). The daemon holds the node, the store and the keystore
// open, so only the daemon can wipe them: it passes a WipeFunc that closes
// the node, destroys the keys, then deletes the files, and stops once the
// answer went out.

// WipeConfirmation is what a wipe request must carry in "confirm", typed
// by the member: a wipe cannot be undone, so a request that merely reaches
// the route (a stray click, a script replaying a request) does nothing.
const WipeConfirmation = "WIPE"

// CodeNotConfirmed: a wipe request without WipeConfirmation (400).
const CodeNotConfirmed = "not_confirmed"

// CodeWipeFailed: the wipe started and did not finish (500). The message
// says what to do.
const CodeWipeFailed = "wipe_failed"

// WipeFunc destroys the daemon's home: it closes the node, destroys every
// key (the keystore file and the store's keys) and only then deletes the
// files, returning when all of that is done or failed. After it returns,
// with or without an error, the node is closed. It logs its own error,
// which the route answers only as CodeWipeFailed.
type WipeFunc func() error

// WipeRoutes returns POST /api/v1/wipe, which runs wipe once, answers, and
// then calls done (the daemon stops there). With a nil wipe the route
// answers 503: the process cannot let go of its own home.
func WipeRoutes(wipe WipeFunc, done func()) []Route {
	wr := &wipeRoute{wipe: wipe, done: done}
	return []Route{
		{Method: http.MethodPost, Path: "/api/v1/wipe",
			Summary: "Destroy this home: keys first, then the files; the daemon stops", Handler: wr.post},
	}
}

type wipeRoute struct {
	wipe WipeFunc
	done func()

	mu      sync.Mutex
	started bool
}

type wipeRequest struct {
	Confirm string `json:"confirm"`
}

type wipeJSON struct {
	Wiped bool `json:"wiped"`
}

func (wr *wipeRoute) post(w http.ResponseWriter, r *http.Request) error {
	var req wipeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Confirm != WipeConfirmation {
		return NewError(http.StatusBadRequest, CodeNotConfirmed,
			fmt.Sprintf("nothing was wiped: type %s to confirm", WipeConfirmation))
	}
	if wr.wipe == nil {
		return NewError(http.StatusServiceUnavailable, CodeUnavailable,
			"this program cannot wipe its home while it runs; stop it and run 'hearth wipe'")
	}
	wr.mu.Lock()
	defer wr.mu.Unlock()
	if wr.started {
		return NewError(http.StatusConflict, CodeConflict, "the wipe already ran; this daemon is stopping")
	}
	wr.started = true
	err := wr.wipe()
	if wr.done != nil {
		// The server shuts down gracefully, so this answer is sent in full
		// before the daemon exits.
		defer wr.done()
	}
	if err != nil {
		return NewError(http.StatusInternalServerError, CodeWipeFailed,
			"the wipe did not finish and the daemon is stopping; run 'hearth wipe' to finish it")
	}
	writeJSON(w, http.StatusOK, wipeJSON{Wiped: true})
	return nil
}
