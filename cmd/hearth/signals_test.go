package main

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
)

func TestShutdownOnSignalCancels(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		ctx, stop := shutdownOnSignal(context.Background())
		if err := syscall.Kill(syscall.Getpid(), sig); err != nil {
			t.Fatal(err)
		}
		<-ctx.Done()
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Fatalf("%v: ctx.Err() = %v", sig, ctx.Err())
		}
		if cause := context.Cause(ctx); !strings.Contains(cause.Error(), sig.String()) {
			t.Errorf("%v: cause %q does not name the signal", sig, cause)
		}
		stop()
	}
}
