package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/hearthnet/hearth/api"
	"github.com/hearthnet/hearth/crypto"
)

// runUp is `hearth up`: it creates the home when it is new, unlocks it,
// and runs the node and its API until SIGINT or SIGTERM. When the
// passphrase is to come from the web UI, a new home goes to upInBrowser
// and one that exists to upLocked instead.
func runUp(ctx context.Context, e *env, args []string) int {
	f, err := parseFlags("up", args)
	if errors.Is(err, errHelp) {
		printCommandHelp(e.stdout, "up")
		return exitOK
	}
	if err != nil {
		return fail(e, "up", err)
	}
	dir, err := resolveHome(e, f.home)
	if err != nil {
		return fail(e, "up", err)
	}
	// Settings come before the home is created, so that a mistyped flag
	// leaves nothing behind.
	s, err := resolveSettings(e, dir, f)
	if err != nil {
		return fail(e, "up", err)
	}
	browser, err := wantsBrowserSetup(e, f)
	if err != nil {
		return fail(e, "up", err)
	}
	if _, err := ensureHome(dir); err != nil {
		return fail(e, "up", err)
	}
	h := newLogHandler(e.stderr, s)
	routeLibp2pLogs(h, s)
	logger := slog.New(h)

	lock, err := lockHome(dir)
	if err != nil {
		return fail(e, "up", err)
	}
	defer lock.release()
	isNew, err := homeIsNew(dir)
	if err != nil {
		return fail(e, "up", err)
	}
	if browser {
		if isNew {
			return upInBrowser(ctx, e, logger, dir, s, homeArg(f))
		}
		return upLocked(ctx, e, logger, dir, s, homeArg(f))
	}
	pass, err := getPassphrase(ctx, e, passphraseSource{flagFile: f.passphraseFile}, dir, isNew)
	if err != nil {
		return fail(e, "up", err)
	}
	defer crypto.Wipe(pass)
	if isNew {
		if err := createHome(e, dir, pass); err != nil {
			return fail(e, "up", err)
		}
		logger.Info("created a new home", "home", dir)
	}
	ks, err := unlockHome(dir, pass)
	crypto.Wipe(pass)
	if err != nil {
		return fail(e, "up", err)
	}
	defer ks.Close()

	d, err := startDaemon(ctx, e, logger, dir, s, ks)
	if err != nil {
		return fail(e, "up", err)
	}
	logger.Info("node started", "listen", listenAddrs(d.node))
	logger.Debug("node identity", "peer", d.node.PeerID().String())
	loginURL, err := d.api.NewLoginURL()
	if err != nil {
		d.close()
		return fail(e, "up", fmt.Errorf("cannot make a login link: %v", err))
	}
	// The link goes to stdout, never to the log: it is a credential for
	// one login, and logs are often kept and shipped elsewhere.
	printLoginLink(e.stdout, "Hearth is running. To open it, visit this link in your browser (it works once, for %d minutes):", loginURL, homeArg(f))

	werr := d.wait(ctx)
	cerr := d.close()
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

// printLoginLink prints intro (with %d for the link's minutes), the
// one-time login link, and how to get another one, to w: standard output,
// never the log. home is " --home DIR" when the home came from --home.
func printLoginLink(w io.Writer, intro, loginURL, home string) {
	fmt.Fprintf(w, intro+"\n\n    %s\n\nFor a new link at any time, run 'hearth ui%s'. Press Ctrl-C to stop.\n",
		int(api.DefaultLoginCodeTTL/time.Minute), loginURL, home)
}
