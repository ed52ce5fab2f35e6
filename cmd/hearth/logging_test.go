package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/gologshim"
)

func TestLogHandlerFormatAndLevel(t *testing.T) {
	var buf bytes.Buffer
	s := defaultSettings()
	s.logFormat = "json"
	s.logLevel = slog.LevelWarn
	log := slog.New(newLogHandler(&buf, s))
	log.Info("hidden")
	log.Warn("shown", "k", "v")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON record: %q: %v", buf.String(), err)
	}
	if rec["msg"] != "shown" || rec["level"] != "WARN" || rec["k"] != "v" {
		t.Fatalf("record %v", rec)
	}

	buf.Reset()
	s = defaultSettings()
	log = slog.New(newLogHandler(&buf, s))
	log.Debug("hidden")
	log.Info("shown")
	if out := buf.String(); !strings.Contains(out, "level=INFO msg=shown") || strings.Contains(out, "hidden") {
		t.Fatalf("text output %q", out)
	}
}

func TestLibp2pLogsFiltered(t *testing.T) {
	for _, c := range []struct {
		level     slog.Level
		infoShown bool
		debugShow bool
	}{
		{slog.LevelInfo, false, false},
		{slog.LevelDebug, true, true},
	} {
		var buf bytes.Buffer
		s := defaultSettings()
		s.logLevel = c.level
		h := newLogHandler(&buf, s)
		lib := slog.New(minLevelHandler{next: h, min: libp2pLogLevel(s)}).With("logger", "swarm2")
		lib.Debug("lib-debug")
		lib.Info("lib-info")
		lib.Warn("lib-warn")
		out := buf.String()
		if strings.Contains(out, "lib-info") != c.infoShown || strings.Contains(out, "lib-debug") != c.debugShow {
			t.Errorf("level %v: output %q", c.level, out)
		}
		if !strings.Contains(out, "lib-warn") || !strings.Contains(out, "logger=swarm2") {
			t.Errorf("level %v: warning lost: %q", c.level, out)
		}
	}
	// The daemon's own level still applies on top: at error, libp2p
	// warnings are dropped too.
	var buf bytes.Buffer
	s := defaultSettings()
	s.logLevel = slog.LevelError
	h := minLevelHandler{next: newLogHandler(&buf, s), min: libp2pLogLevel(s)}
	if h.Enabled(context.Background(), slog.LevelWarn) {
		t.Fatal("libp2p warning enabled at log level error")
	}
}

// TestRouteLibp2pLogs checks that go-libp2p's loggers, created the way its
// subsystems create them, write into the daemon's handler and are held to
// warnings. It sets gologshim's process-wide handler, which only this test
// in the package does.
func TestRouteLibp2pLogs(t *testing.T) {
	var buf bytes.Buffer
	s := defaultSettings()
	routeLibp2pLogs(newLogHandler(&buf, s), s)
	lib := gologshim.Logger("hearth-test-subsystem")
	lib.Info("libp2p chatter")
	lib.Warn("libp2p trouble", "n", 1)
	out := buf.String()
	if strings.Contains(out, "libp2p chatter") {
		t.Errorf("libp2p info reached the log: %q", out)
	}
	if !strings.Contains(out, `level=WARN msg="libp2p trouble" system=libp2p logger=hearth-test-subsystem n=1`) {
		t.Errorf("libp2p warning not in the daemon's format: %q", out)
	}
}
