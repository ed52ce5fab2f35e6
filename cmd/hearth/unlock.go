package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hearthnet/hearth/api"
	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/node"
)

// lockedStart is a home that exists, started without its passphrase: the
// passphrase is typed in the web UI, and the node starts in this process
// once it opens the keystore. The caller holds the home's lock throughout.
type lockedStart struct {
	ctx    context.Context
	e      *env
	logger *slog.Logger
	dir    string
	s      settings
	d      *daemon

	// mu is held while the node starts and while the daemon stops, so
	// that the node is either fully started (and then closed by stop) or
	// never started. The key derivation runs before mu is taken, so a
	// stop never waits for Argon2id.
	mu      sync.Mutex
	stopped bool
	ks      *crypto.Keystore
}

// unlock is the api.UnlockFunc: it opens the keystore with pass, starts the
// node and its metrics, and returns the node's API routes. A wrong pass
// comes back as crypto.ErrBadPassphrase (wrapped) and touches nothing on
// disk. pass never reaches a log or an error.
func (l *lockedStart) unlock(pass []byte) ([]api.Route, error) {
	ks, err := node.UnlockHome(l.dir, pass)
	if errors.Is(err, crypto.ErrBadPassphrase) {
		// Said in the log so the member can see when someone has been
		// guessing; what was typed is not.
		l.logger.Warn("a passphrase typed in the web UI did not open the home")
		return nil, err
	}
	if err != nil {
		return nil, unlockError(l.dir, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		ks.Close()
		return nil, errors.New("the daemon is stopping")
	}
	n, err := startNode(l.ctx, l.e, l.logger, l.dir, l.s, ks)
	if err != nil {
		ks.Close()
		return nil, err
	}
	l.ks = ks
	l.d.node = n
	l.d.bridge = api.BridgeEvents(n, l.d.api.Events(), l.logger)
	l.logger.Info("unlocked from the web UI")
	l.logger.Info("node started", "listen", listenAddrs(n))
	l.logger.Debug("node identity", "peer", n.PeerID().String())
	if err := l.d.startMetrics(l.s); err != nil {
		// The node runs and the member can use it; only the metrics
		// they asked for are missing, which the log says.
		l.logger.Warn("metrics are off", "err", err)
	}
	return nodeAPIRoutes(n, newDaemonWipe(l.d, l.dir, ks, l.logger)), nil
}

// stop ends locked mode for good and stops the daemon: the API first,
// then the node when unlock started one, then its keystore.
func (l *lockedStart) stop() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
	err := l.d.close()
	if l.ks != nil {
		l.ks.Close()
	}
	return err
}

// upLocked is `hearth up` on a home that exists when the passphrase is to
// be typed in the web UI (no terminal and no passphrase file, as under a
// desktop launcher or a service manager, or --setup-in-browser). It serves
// the API with the node's routes held back until POST /api/v1/unlock opens
// the home, prints the one-time login link, and runs until SIGINT or
// SIGTERM.
func upLocked(ctx context.Context, e *env, logger *slog.Logger, dir string, s settings) int {
	// The passphrase travels from the browser to the daemon in plain
	// HTTP: on loopback nobody else sees it, on the network anyone on the
	// path would.
	if s.apiAllowRemote {
		return fail(e, "up", usagef("the passphrase is typed in the browser only over loopback, and api_allow_remote is set; give the passphrase with --passphrase-file or at a terminal, or start without --api-allow-remote (or HEARTH_API_ALLOW_REMOTE, or api_allow_remote in config.toml)"))
	}
	d := &daemon{logger: logger}
	l := &lockedStart{ctx: ctx, e: e, logger: logger, dir: dir, s: s, d: d}
	// NodeRoutes(nil, ...) is the table of routes to hold back; its
	// handlers are never called (UnlockRoutes serves the ones unlock
	// returns instead).
	if err := d.startAPI(dir, s, api.SetupRoutes(api.UnlockRoutes(nodeAPIRoutes(nil, nil), l.unlock, e.now), nil)); err != nil {
		return fail(e, "up", err)
	}
	loginURL, err := d.api.NewLoginURL()
	if err != nil {
		l.stop()
		return fail(e, "up", fmt.Errorf("cannot make a login link: %v", err))
	}
	logger.Info("the home is locked; waiting for its passphrase, to be typed in the web UI", "home", dir)
	// The link goes to stdout, never to the log, as in runUp.
	fmt.Fprintf(e.stdout, "Hearth is locked. To unlock it, visit this link in your browser and enter your passphrase (the link works once, for %d minutes):\n\n    %s\n\nPress Ctrl-C to stop.\n",
		int(api.DefaultLoginCodeTTL/time.Minute), loginURL)

	werr := d.wait(ctx)
	cerr := l.stop()
	if d.wasWiped() {
		logger.Info("stopped; this home was wiped")
		return exitOK
	}
	if err := oneLine(werr, cerr); err != nil {
		return fail(e, "up", err)
	}
	logger.Info("stopped; everything is saved")
	return exitOK
}
