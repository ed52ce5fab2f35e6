package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/hearthnet/hearth/api"
	"github.com/hearthnet/hearth/crypto"
)

// wantsBrowserSetup reports whether `hearth up` takes the passphrase in
// the web UI: chosen there for a new home (upInBrowser), typed there to
// unlock one that exists (upLocked). It does when --setup-in-browser is
// given, or when there is nowhere else to get it from (no passphrase file
// and no terminal, as when the program is started from a desktop launcher
// or a service manager). Whoever types at a terminal or names a passphrase
// file keeps the path they had. It returns a usage error for
// --setup-in-browser together with --passphrase-file, which contradict
// each other.
func wantsBrowserSetup(e *env, f *cmdFlags) (bool, error) {
	if f.setupInBrowser {
		if f.passphraseFile != "" {
			return false, usagef("--setup-in-browser and --passphrase-file contradict each other; give one of them")
		}
		return true, nil
	}
	return f.passphraseFile == "" && e.getenv("HEARTH_PASSPHRASE_FILE") == "" && e.terminal == nil, nil
}

// browserStart is `hearth up` taking the passphrase in the web UI: chosen
// there for a new home (setup), or typed there to open one that exists
// (unlock, unlock.go). Either way the node starts in this process once the
// keystore opens. The caller holds the home's lock throughout.
type browserStart struct {
	ctx    context.Context
	e      *env
	logger *slog.Logger
	dir    string
	s      settings
	d      *daemon

	// mu is held while the node starts and while the daemon stops, so
	// that the node is either fully started (and then closed by stop) or
	// never started. Unlock's key derivation runs before mu is taken, so
	// a stop never waits for Argon2id.
	mu      sync.Mutex
	stopped bool
	ks      *crypto.Keystore

	// home is " --home DIR" when the home came from --home, for the
	// commands the daemon suggests.
	home string
}

// setup is the api.SetupFunc: it creates the home sealed under pass with
// the env's KDF parameters (crypto.DefaultKDFParams in the real binary),
// unlocks it, starts the node and its metrics, and returns the node's API
// routes. pass never reaches a log or an error.
func (b *browserStart) setup(pass []byte) ([]api.Route, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return nil, errors.New("the daemon is stopping")
	}
	isNew, err := homeIsNew(b.dir)
	if err != nil {
		return nil, err
	}
	if !isNew {
		return nil, api.ErrSetupDone
	}
	if err := createHome(b.e, b.dir, pass); err != nil {
		return nil, err
	}
	b.logger.Info("created a new home", "home", b.dir)
	ks, err := unlockHome(b.dir, pass)
	if err != nil {
		return nil, err
	}
	return b.startLocked(ks)
}

// startLocked starts the node of the opened keystore ks, its event bridge
// and metrics, and returns the node's API routes; on failure it closes ks.
// The caller holds b.mu.
func (b *browserStart) startLocked(ks *crypto.Keystore) ([]api.Route, error) {
	n, err := startNode(b.ctx, b.e, b.logger, b.dir, b.s, ks)
	if err != nil {
		ks.Close()
		return nil, err
	}
	b.ks = ks
	b.d.node = n
	b.d.bridge = api.BridgeEvents(n, b.d.api.Events(), b.logger)
	b.logger.Info("node started", "listen", listenAddrs(n))
	b.logger.Debug("node identity", "peer", n.PeerID().String())
	if err := b.d.startMetrics(b.s); err != nil {
		// The node runs and the member can use it; only the metrics
		// they asked for are missing, which the log says.
		b.logger.Warn("metrics are off", "err", err)
	}
	return nodeAPIRoutes(n, newDaemonWipe(b.d, b.dir, ks, b.logger), &daemonPassphrase{dir: b.dir, ks: ks, kdf: b.e.kdf, logger: b.logger}), nil
}

// stop ends waiting for the passphrase for good and stops the daemon: the
// API first, then the node when one started, then its keystore.
func (b *browserStart) stop() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
	err := b.d.close()
	if b.ks != nil {
		b.ks.Close()
	}
	return err
}

// upInBrowser is `hearth up` on a new home whose passphrase is chosen in
// the web UI. It serves the API with the node's routes held back until
// POST /api/v1/setup creates the home, prints the one-time login link, and
// runs until SIGINT or SIGTERM.
func upInBrowser(ctx context.Context, e *env, logger *slog.Logger, dir string, s settings, home string) int {
	// The passphrase travels from the browser to the daemon in plain
	// HTTP. On loopback nobody else sees it; with the API open to the
	// network anyone on the path would, so setup there is refused.
	if s.apiAllowRemote {
		return fail(e, "up", usagef("a new home's passphrase is chosen in the browser only over loopback, and api_allow_remote is set; start it once without --api-allow-remote (or HEARTH_API_ALLOW_REMOTE, or api_allow_remote in config.toml), or give the passphrase with --passphrase-file"))
	}
	b := newBrowserStart(ctx, e, logger, dir, s, home)
	// NodeRoutes(nil, ...) is the table of routes to hold back; its
	// handlers are never called (SetupRoutes serves the ones setup
	// returns instead).
	return b.serve(api.UnlockRoutes(api.SetupRoutes(nodeAPIRoutes(nil, nil, nil), b.setup), nil, nil),
		"waiting for the passphrase of the new home, to be chosen in the web UI",
		"Hearth is ready to be set up. To choose your passphrase, visit this link in your browser (it works once, for %d minutes):")
}

func newBrowserStart(ctx context.Context, e *env, logger *slog.Logger, dir string, s settings, home string) *browserStart {
	return &browserStart{ctx: ctx, e: e, logger: logger, dir: dir, s: s, d: &daemon{logger: logger}, home: home}
}

// serve runs the API with routes (which hold the node's back), logs
// waiting, prints invite (a line with %d for the login link's minutes)
// and the one-time login link to stdout (never to the log, as in runUp),
// and runs until SIGINT or SIGTERM or a wipe.
func (b *browserStart) serve(routes []api.Route, waiting, invite string) int {
	e, d := b.e, b.d
	if err := d.startAPI(b.dir, b.s, routes); err != nil {
		return fail(e, "up", err)
	}
	loginURL, err := d.api.NewLoginURL()
	if err != nil {
		b.stop()
		return fail(e, "up", fmt.Errorf("cannot make a login link: %v", err))
	}
	b.logger.Info(waiting, "home", b.dir)
	printLoginLink(e.stdout, invite, loginURL, b.home)

	werr := d.wait(b.ctx)
	cerr := b.stop()
	if d.wasWiped() {
		b.logger.Info("stopped; this home was wiped")
		return exitOK
	}
	if err := oneLine(werr, cerr); err != nil {
		return fail(e, "up", err)
	}
	b.logger.Info("stopped; everything is saved")
	return exitOK
}
