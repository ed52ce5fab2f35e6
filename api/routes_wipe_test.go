package api_test

import (
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/hearthnet/hearth/api"
)

// TestWipeRoute: POST /api/v1/wipe runs the daemon's wipe only with the
// word WIPE in the body, only once, answers before the daemon is told to
// stop, reports a failed wipe as wipe_failed, and answers 503 where the
// program gave no wipe.
func TestWipeRoute(t *testing.T) {
	var wipes, dones atomic.Int64
	var fail atomic.Bool
	wipe := func() error {
		wipes.Add(1)
		if fail.Load() {
			return errors.New("disk on fire")
		}
		return nil
	}
	ts := startServer(t, func(c *api.Config) {
		c.Routes = append(c.Routes, api.WipeRoutes(wipe, func() { dones.Add(1) })...)
	})
	for _, body := range []string{`{"confirm":""}`, `{"confirm":"wipe"}`, `{"confirm":"WIPE "}`, `{}`} {
		if st, code, _, _ := do(t, ts.request(t, http.MethodPost, "/api/v1/wipe", body)); st != http.StatusBadRequest || code != api.CodeNotConfirmed {
			t.Errorf("%s: %d %q, want 400 not_confirmed", body, st, code)
		}
	}
	if st, code, _, _ := do(t, ts.request(t, http.MethodPost, "/api/v1/wipe", `{"confirm":"WIPE","also":1}`)); st != http.StatusBadRequest || code == "" {
		t.Errorf("unknown field: %d %q, want 400", st, code)
	}
	if wipes.Load() != 0 || dones.Load() != 0 {
		t.Fatalf("unconfirmed requests ran the wipe %d times", wipes.Load())
	}
	st, code, body, _ := do(t, ts.request(t, http.MethodPost, "/api/v1/wipe", `{"confirm":"WIPE"}`))
	if st != http.StatusOK || string(body) != "{\"wiped\":true}\n" && string(body) != `{"wiped":true}` {
		t.Fatalf("confirmed wipe: %d %q %s", st, code, body)
	}
	if wipes.Load() != 1 || dones.Load() != 1 {
		t.Fatalf("wipe ran %d times and done %d times, want 1 and 1", wipes.Load(), dones.Load())
	}
	if st, code, _, _ := do(t, ts.request(t, http.MethodPost, "/api/v1/wipe", `{"confirm":"WIPE"}`)); st != http.StatusConflict || code != api.CodeConflict {
		t.Errorf("second wipe: %d %q, want 409 conflict", st, code)
	}
	if wipes.Load() != 1 {
		t.Fatalf("the wipe ran again")
	}

	fail.Store(true)
	ts2 := startServer(t, func(c *api.Config) { c.Routes = append(c.Routes, api.WipeRoutes(wipe, nil)...) })
	if st, code, _, _ := do(t, ts2.request(t, http.MethodPost, "/api/v1/wipe", `{"confirm":"WIPE"}`)); st != http.StatusInternalServerError || code != api.CodeWipeFailed {
		t.Errorf("failed wipe: %d %q, want 500 wipe_failed", st, code)
	}

	ts3 := startServer(t, func(c *api.Config) { c.Routes = append(c.Routes, api.WipeRoutes(nil, nil)...) })
	if st, code, _, _ := do(t, ts3.request(t, http.MethodPost, "/api/v1/wipe", `{"confirm":"WIPE"}`)); st != http.StatusServiceUnavailable || code != api.CodeUnavailable {
		t.Errorf("no wipe: %d %q, want 503 unavailable", st, code)
	}
}
