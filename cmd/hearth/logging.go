package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/libp2p/go-libp2p/gologshim"
)

// newLogHandler returns the handler every log line of the daemon goes
// through: text or JSON on w, at level and above.
func newLogHandler(w io.Writer, s settings) slog.Handler {
	opts := &slog.HandlerOptions{Level: s.logLevel}
	if s.logFormat == "json" {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// libp2pLogLevel is the least severe level of go-libp2p's own logs that
// reaches the daemon's log: warnings and errors, unless the daemon logs at
// debug level, when everything does. go-libp2p's info logs are about its
// internals, not about Hearth, and would drown the daemon's own lines.
func libp2pLogLevel(s settings) slog.Level {
	if s.logLevel <= slog.LevelDebug {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}

// routeLibp2pLogs sends go-libp2p's internal logs (its subsystems log
// through gologshim's process-wide handler, which would otherwise print
// JSON to stderr on its own) into h, filtered at libp2pLogLevel.
//
// gologshim binds each of its loggers to the handler set here on that
// logger's first line, so this must run before the node starts. It sets
// process-wide state, which is why only the binary calls it and the node
// library does not.
func routeLibp2pLogs(h slog.Handler, s settings) {
	gologshim.SetDefaultHandler(minLevelHandler{next: h.WithAttrs([]slog.Attr{slog.String("system", "libp2p")}), min: libp2pLogLevel(s)})
}

// minLevelHandler passes on records at min and above to next, which may
// filter further by its own level.
type minLevelHandler struct {
	next slog.Handler
	min  slog.Level
}

func (h minLevelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.next.Enabled(ctx, l)
}

func (h minLevelHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < h.min {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h minLevelHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevelHandler{next: h.next.WithAttrs(as), min: h.min}
}

func (h minLevelHandler) WithGroup(name string) slog.Handler {
	return minLevelHandler{next: h.next.WithGroup(name), min: h.min}
}
