package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/hearthnet/hearth/api"
	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/node"
)

// unlock is the api.UnlockFunc: it opens the keystore with pass, starts the
// node and its metrics, and returns the node's API routes. A wrong pass
// comes back as crypto.ErrBadPassphrase (wrapped) and touches nothing on
// disk. pass never reaches a log or an error.
func (b *browserStart) unlock(pass []byte) ([]api.Route, error) {
	ks, err := node.UnlockHome(b.dir, pass)
	if errors.Is(err, crypto.ErrBadPassphrase) {
		// Said in the log so the member can see when someone has been
		// guessing; what was typed is not.
		b.logger.Warn("a passphrase typed in the web UI did not open the home")
		return nil, err
	}
	if err != nil {
		return nil, unlockError(b.dir, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		ks.Close()
		return nil, errors.New("the daemon is stopping")
	}
	b.logger.Info("unlocked from the web UI")
	return b.startLocked(ks)
}

// upLocked is `hearth up` on a home that exists when the passphrase is to
// be typed in the web UI (no terminal and no passphrase file, as under a
// desktop launcher or a service manager, or --setup-in-browser). It serves
// the API with the node's routes held back until POST /api/v1/unlock opens
// the home, prints the one-time login link, and runs until SIGINT or
// SIGTERM.
func upLocked(ctx context.Context, e *env, logger *slog.Logger, dir string, s settings, home string) int {
	// The passphrase travels from the browser to the daemon in plain
	// HTTP: on loopback nobody else sees it, on the network anyone on the
	// path would.
	if s.apiAllowRemote {
		return fail(e, "up", usagef("the passphrase is typed in the browser only over loopback, and api_allow_remote is set; give the passphrase with --passphrase-file or at a terminal, or start without --api-allow-remote (or HEARTH_API_ALLOW_REMOTE, or api_allow_remote in config.toml)"))
	}
	b := newBrowserStart(ctx, e, logger, dir, s, home)
	// NodeRoutes(nil, ...) is the table of routes to hold back; its
	// handlers are never called (UnlockRoutes serves the ones unlock
	// returns instead).
	return b.serve(api.SetupRoutes(api.UnlockRoutes(nodeAPIRoutes(nil, nil, nil), b.unlock, e.now), nil),
		"the home is locked; waiting for its passphrase, to be typed in the web UI",
		"Hearth is locked. To unlock it, visit this link in your browser and enter your passphrase (the link works once, for %d minutes):")
}
