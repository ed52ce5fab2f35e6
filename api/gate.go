package api

import (
	"net/http"
	"sync"
)

// routeGate holds a node's routes back while there is no node yet (a new
// home waiting for its passphrase, SetupRoutes; an existing home waiting to
// be unlocked, UnlockRoutes): each held route answers the gate's 503 until
// finish makes the node's own routes live, and from then on the route of
// the same method and path serves instead.
type routeGate struct {
	// closed is what a held route answers before finish.
	closed func() *APIError

	mu   sync.RWMutex
	done bool
	live map[string]HandlerFunc // by Route.pattern, once done
}

// hold appends routes to out with handlers that go through the gate.
// routes are only a table of what will be served; their own handlers are
// never called.
func (g *routeGate) hold(out, routes []Route) []Route {
	for _, rt := range routes {
		pat := rt.pattern()
		rt.Handler = func(w http.ResponseWriter, r *http.Request) error {
			h, err := g.handler(pat)
			if err != nil {
				return err
			}
			return h(w, r)
		}
		out = append(out, rt)
	}
	return out
}

// handler returns the live handler for pat, the gate's 503 before finish,
// and 503 unavailable when the node started without a route for pat.
func (g *routeGate) handler(pat string) (HandlerFunc, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if !g.done {
		return nil, g.closed()
	}
	h, ok := g.live[pat]
	if !ok {
		return nil, NewError(http.StatusServiceUnavailable, CodeUnavailable,
			"this part of the node did not start; restart the daemon with 'hearth up'")
	}
	return h, nil
}

func (g *routeGate) isDone() bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.done
}

// finish makes routes live and opens the gate; then runs under the gate's
// lock, for state that must change with it.
func (g *routeGate) finish(routes []Route, then func()) {
	live := make(map[string]HandlerFunc, len(routes))
	for _, rt := range routes {
		live[rt.pattern()] = rt.Handler
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.live = live
	g.done = true
	if then != nil {
		then()
	}
}
