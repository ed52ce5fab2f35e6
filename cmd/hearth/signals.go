package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// shutdownOnSignal returns a context that is cancelled when the process
// receives SIGINT or SIGTERM; context.Cause then names the signal. After
// the first signal hearth stops catching them, so a second Ctrl-C ends the
// process at once, for a person who would rather not wait for a clean
// shutdown (the store keeps what it acknowledged across a kill, so this
// loses nothing acknowledged). stop releases the signals early.
func shutdownOnSignal(parent context.Context) (ctx context.Context, stop func()) {
	ctx, stop = signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	return ctx, stop
}
