package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults for the Config fields left zero.
const (
	// DefaultHeartbeat is how often an idle event stream sends a comment
	// line, so proxies and the browser keep the connection and a dead
	// client is noticed.
	DefaultHeartbeat = 15 * time.Second
	// DefaultLoginCodeTTL is how long a login URL stays usable.
	DefaultLoginCodeTTL = 5 * time.Minute
	// DefaultSessionTTL is how long a web UI session lasts after login.
	DefaultSessionTTL = 12 * time.Hour
)

// ErrConfig is returned (wrapped, with the reason) by NewServer for a
// configuration it cannot serve safely, and by Serve for a listener that
// contradicts it.
var ErrConfig = errors.New("hearth/api: invalid server configuration")

// Config is what a Server needs. Token and Addr are required; every other
// field has a safe default.
type Config struct {
	// Token is the API token every request must carry (or exchange, via a
	// login URL, for a session cookie). See WriteToken and LoadToken.
	Token Token
	// Logger receives the request log and errors; nil discards them.
	Logger *slog.Logger
	// Addr is the host:port the server is reachable at, with its real
	// port (listen first, then build the server). The port is what the
	// Host check accepts and the login URL names. Without AllowRemote the
	// host must be a loopback address or "localhost".
	Addr string
	// Version is reported by GET /api/v1/health.
	Version string
	// Now is the clock for login codes and sessions; nil means time.Now.
	Now func() time.Time
	// Rand is the source of login codes and session secrets; nil means
	// crypto/rand.
	Rand io.Reader
	// AllowRemote lets the server listen on a non-loopback address and
	// answer to the names in AllowedHosts as well as to loopback ones. The
	// API is then plain HTTP on the network: only for a network the member
	// trusts, or behind a tunnel.
	AllowRemote bool
	// AllowedHosts are the extra host names or addresses (without port)
	// the Host header may name when AllowRemote is set.
	AllowedHosts []string
	// MaxBodyBytes limits request bodies; zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Events is the broadcaster whose events /api/v1/events streams; nil
	// means a new one, available from Server.Events and closed by Shutdown.
	Events *Broadcaster
	// Heartbeat is the interval of comment lines on an idle event stream;
	// zero means DefaultHeartbeat.
	Heartbeat time.Duration
	// LoginCodeTTL and SessionTTL bound login URLs and sessions; zero
	// means DefaultLoginCodeTTL and DefaultSessionTTL.
	LoginCodeTTL time.Duration
	SessionTTL   time.Duration
	// Observe, when set, is called once for every request when its
	// response is done, with the pattern of the route it matched ("GET
	// /api/v1/groups/{group}", or "(unmatched)"), the status sent and how
	// long it took. It is meant for metrics, and is given nothing that
	// names a group, a member or any text: never the path itself, the
	// query or a header. It must not block.
	Observe func(route string, status int, took time.Duration)
	// Routes are served beside the built-in routes. Each must also be
	// described in openapi.json.
	Routes []Route
}

// AuthMode says what a route requires of the caller. The zero value is the
// safe one.
type AuthMode int

const (
	// Authenticated routes need the bearer token or a session cookie.
	Authenticated AuthMode = iota
	// Public routes need neither; only GET /login, which is how a browser
	// obtains a session, is public. Host and Origin checks still apply.
	Public
	// TokenOnly routes need the bearer token and refuse everything a
	// browser sends: the session cookie (even with a valid token beside
	// it) and any request carrying Origin or Sec-Fetch-Site. They are for
	// the command line, which holds the token; POST /api/v1/login-link is
	// one, so that a page in the browser can never mint login codes.
	TokenOnly
)

// HandlerFunc handles one request. It either writes a response and returns
// nil, or writes nothing and returns an error: an *APIError is sent to the
// client as it is; any other error is logged and sent as a 500 "internal"
// error without details. Errors must not carry group content or secrets,
// because they are logged.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Route is one entry of the route table.
type Route struct {
	// Method is the HTTP method, upper case: GET, POST, PUT, PATCH, DELETE.
	Method string
	// Path is a net/http ServeMux path pattern such as
	// "/api/v1/groups/{id}", written exactly as in openapi.json.
	Path string
	// Auth is what the route requires of the caller.
	Auth AuthMode
	// Summary is one line saying what the route does; openapi.json uses
	// the same words.
	Summary string
	// Handler serves the route.
	Handler HandlerFunc
}

// pattern is the ServeMux pattern of the route.
func (rt Route) pattern() string { return rt.Method + " " + rt.Path }

// Server is the local control API. It is an http.Handler; Serve and
// Shutdown run it on a listener.
type Server struct {
	token        Token
	log          *slog.Logger
	now          func() time.Time
	rand         io.Reader
	version      string
	port         string
	loginHost    string
	hosts        map[string]struct{} // lower-case host:port values the Host header may take
	allowRemote  bool
	maxBody      int64
	heartbeat    time.Duration
	events       *Broadcaster
	ownEvents    bool
	sessionTTL   time.Duration
	loginCodeTTL time.Duration
	observe      func(route string, status int, took time.Duration)
	// hostNames are the names the Host header may give (without the
	// port), as the forbidden_host message lists them.
	hostNames []string

	routes []Route
	byPat  map[string]Route
	mux    *http.ServeMux

	auth *authStore

	closeOnce sync.Once
	closing   chan struct{} // closed when Shutdown begins; ends event streams

	httpMu sync.Mutex
	http   *http.Server
}

// NewServer checks cfg and returns a Server with the built-in routes and
// cfg.Routes. It returns ErrConfig (wrapped) for a missing or malformed
// Addr, a non-loopback Addr without AllowRemote, AllowedHosts without
// AllowRemote, a negative limit, or a route that is malformed or registered
// twice; and ErrTokenInvalid (wrapped) for a malformed Token.
func NewServer(cfg Config) (*Server, error) {
	if _, err := parseToken(string(cfg.Token)); err != nil {
		return nil, err
	}
	if err := checkAddr(cfg.Addr); err != nil {
		return nil, fmt.Errorf("%w: Addr: %w", ErrConfig, err)
	}
	host, port, _ := net.SplitHostPort(cfg.Addr)
	if !cfg.AllowRemote && !isLoopbackHost(host) {
		return nil, fmt.Errorf("%w: Addr %q is not a loopback address; set AllowRemote to serve the API beyond this machine", ErrConfig, cfg.Addr)
	}
	if !cfg.AllowRemote && len(cfg.AllowedHosts) > 0 {
		return nil, fmt.Errorf("%w: AllowedHosts is set but AllowRemote is not", ErrConfig)
	}
	if cfg.MaxBodyBytes < 0 || cfg.Heartbeat < 0 || cfg.LoginCodeTTL < 0 || cfg.SessionTTL < 0 {
		return nil, fmt.Errorf("%w: limits and durations must not be negative", ErrConfig)
	}
	s := &Server{
		token:        cfg.Token,
		log:          cfg.Logger,
		now:          cfg.Now,
		rand:         cfg.Rand,
		version:      cfg.Version,
		port:         port,
		allowRemote:  cfg.AllowRemote,
		maxBody:      cfg.MaxBodyBytes,
		heartbeat:    cfg.Heartbeat,
		events:       cfg.Events,
		sessionTTL:   cfg.SessionTTL,
		loginCodeTTL: cfg.LoginCodeTTL,
		observe:      cfg.Observe,
		byPat:        make(map[string]Route),
		mux:          http.NewServeMux(),
		closing:      make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxBody == 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.heartbeat == 0 {
		s.heartbeat = DefaultHeartbeat
	}
	if s.events == nil {
		s.events = NewBroadcaster(0)
		s.ownEvents = true
	}
	if s.sessionTTL == 0 {
		s.sessionTTL = DefaultSessionTTL
	}
	if s.loginCodeTTL == 0 {
		s.loginCodeTTL = DefaultLoginCodeTTL
	}
	s.auth = newAuthStore(s.now)

	// The login URL names the address the browser can reach. A wildcard
	// listen address (0.0.0.0, ::) is reachable on loopback.
	s.loginHost = host
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		s.loginHost = "127.0.0.1"
	}
	s.hosts = make(map[string]struct{})
	names := []string{"127.0.0.1", "[::1]", "localhost"}
	if cfg.AllowRemote {
		for _, h := range cfg.AllowedHosts {
			if !validHostName(h) {
				return nil, fmt.Errorf("%w: AllowedHosts entry %q must be a host name or address without port", ErrConfig, h)
			}
			names = append(names, h)
		}
	}
	// The Addr's own host is accepted too (it is loopback unless
	// AllowRemote is set), except a wildcard: 0.0.0.0 reaches loopback in
	// some browsers, and a page naming it must not get through.
	if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
		names = append(names, host)
	}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(n, "["), "]"))
		if shown := hostForMessage(n); !slices.Contains(s.hostNames, shown) {
			s.hostNames = append(s.hostNames, shown)
		}
		s.hosts[net.JoinHostPort(n, port)] = struct{}{}
		if port == "80" {
			// Browsers leave the default port out of Host.
			if strings.Contains(n, ":") {
				n = "[" + n + "]"
			}
			s.hosts[n] = struct{}{}
		}
	}

	for _, rt := range append(s.builtinRoutes(), cfg.Routes...) {
		if err := s.addRoute(rt); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// isLoopbackHost reports whether host (no port, no brackets) is a
// loopback IP address or "localhost".
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validHostName accepts an IP address (IPv6 with or without brackets) or a
// DNS name of letters, digits, '-' and '.'.
func validHostName(h string) bool {
	if net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")) != nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// addRoute validates rt and adds it to the table and the mux.
func (s *Server) addRoute(rt Route) (err error) {
	switch rt.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return fmt.Errorf("%w: route %q: method must be GET, POST, PUT, PATCH or DELETE", ErrConfig, rt.pattern())
	}
	if !strings.HasPrefix(rt.Path, "/") || !validParams(rt.Path) {
		return fmt.Errorf("%w: route %q: path must start with / and use only {name} wildcards", ErrConfig, rt.pattern())
	}
	if rt.Handler == nil || rt.Summary == "" {
		return fmt.Errorf("%w: route %q needs a handler and a summary", ErrConfig, rt.pattern())
	}
	if rt.Auth != Authenticated && rt.Auth != Public && rt.Auth != TokenOnly {
		return fmt.Errorf("%w: route %q: unknown auth mode %d", ErrConfig, rt.pattern(), rt.Auth)
	}
	if _, dup := s.byPat[rt.pattern()]; dup {
		return fmt.Errorf("%w: route %q registered twice", ErrConfig, rt.pattern())
	}
	// ServeMux panics on patterns that conflict; turn that into an error.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: route %q: %v", ErrConfig, rt.pattern(), p)
		}
	}()
	s.mux.Handle(rt.pattern(), s.adapt(rt))
	s.byPat[rt.pattern()] = rt
	s.routes = append(s.routes, rt)
	return nil
}

// validParams reports whether every brace in path belongs to a whole
// segment "{name}" with a Go identifier for name (so no "{name...}" or
// "{$}", which OpenAPI cannot express), and there is no space or control
// character.
func validParams(path string) bool {
	if strings.ContainsFunc(path, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return false
	}
	for _, seg := range strings.Split(path, "/") {
		if !strings.ContainsAny(seg, "{}") {
			continue
		}
		if len(seg) < 3 || seg[0] != '{' || seg[len(seg)-1] != '}' {
			return false
		}
		for i, c := range seg[1 : len(seg)-1] {
			if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

// Routes returns a copy of the route table, built-in routes first.
func (s *Server) Routes() []Route {
	return append([]Route(nil), s.routes...)
}

// Events returns the broadcaster whose events /api/v1/events streams.
func (s *Server) Events() *Broadcaster { return s.events }

// builtinRoutes are the routes this layer serves itself.
func (s *Server) builtinRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/login", Auth: Public,
			Summary: "Exchange a one-time login code for a session cookie", Handler: s.handleLogin},
		{Method: http.MethodPost, Path: "/api/v1/logout",
			Summary: "End the session of this browser", Handler: s.handleLogout},
		{Method: http.MethodGet, Path: "/api/v1/health",
			Summary: "Report that the daemon is running, and its version", Handler: s.handleHealth},
		{Method: http.MethodGet, Path: "/api/v1/events",
			Summary: "Stream live events as server-sent events", Handler: s.handleEvents},
		{Method: http.MethodGet, Path: "/api/v1/openapi.json",
			Summary: "This API's OpenAPI 3.1 description", Handler: s.handleOpenAPI},
		{Method: http.MethodPost, Path: "/api/v1/login-link", Auth: TokenOnly,
			Summary: "Make a new one-time login link for the web UI (API token only)", Handler: s.handleLoginLink},
	}
}

// healthResponse is the body of GET /api/v1/health.
type healthResponse struct {
	Status  string `json:"status"`
	Version string `json:"version"`
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, healthResponse{Status: "ok", Version: s.version})
	return nil
}

// Serve accepts connections on l until Shutdown, and then returns nil. It
// returns ErrConfig (wrapped) when l listens on a non-loopback address and
// AllowRemote is not set, and any other error from accepting. The http
// server has a header timeout and header size limit but no read or write
// timeout, because event streams stay open for hours; bodies have their
// own deadline (see decodeJSON).
func (s *Server) Serve(l net.Listener) error {
	if tcp, ok := l.Addr().(*net.TCPAddr); ok && !s.allowRemote && !tcp.IP.IsLoopback() {
		return fmt.Errorf("%w: listener %s is not on a loopback address", ErrConfig, tcp)
	}
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.httpMu.Lock()
	select {
	case <-s.closing:
		s.httpMu.Unlock()
		return nil
	default:
	}
	s.http = hs
	s.httpMu.Unlock()
	if err := hs.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown ends every event stream, stops accepting requests and waits for
// the ones in flight to finish, or for ctx to end (returning ctx.Err()). It
// closes the Broadcaster if the Server made it. It is safe to call more
// than once and without Serve (an httptest server, for example).
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.httpMu.Lock()
		close(s.closing)
		s.httpMu.Unlock()
		if s.ownEvents {
			s.events.Close()
		}
	})
	s.httpMu.Lock()
	hs := s.http
	s.httpMu.Unlock()
	if hs == nil {
		return nil
	}
	return hs.Shutdown(ctx)
}
