package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/hearthnet/hearth/crypto"
)

// runUp is `hearth up`: it creates the home when it is new, unlocks it,
// and runs the node and its API until SIGINT or SIGTERM.
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
	return fail(e, "up", errors.New("the daemon needs the node package, which is not built yet in this version"))
}
