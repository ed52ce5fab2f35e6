package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"

	golog "github.com/ipfs/go-log/v2"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/gologshim"
	ma "github.com/multiformats/go-multiaddr"
	"go.uber.org/zap/zapcore"
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

// TestLoggingRoutesLibraryLogs checks that go-libp2p's loggers, created
// the way its subsystems create them, and the DHT's go-log loggers write
// into the daemon's handler, held to warnings (go-log to its errors) and
// with peer addresses and peer IDs redacted, unless the daemon logs at
// debug level, when everything passes as it is. It sets gologshim's and
// go-log's process-wide output, which only this test in the package does.
func TestLoggingRoutesLibraryLogs(t *testing.T) {
	// Later tests must not write into this test's buffers.
	t.Cleanup(func() { golog.SetPrimaryCore(zapcore.NewNopCore()) })
	const ip = "198.51.100.23"
	addr := ma.StringCast("/ip4/" + ip + "/tcp/4747")
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		var buf bytes.Buffer
		s := defaultSettings()
		s.logLevel = level
		routeLibp2pLogs(newLogHandler(&buf, s), s)
		// Each logger binds to the handler set when it first logs, so
		// every round uses loggers of its own.
		lib := gologshim.Logger("hearth-test-subsystem-" + level.String())
		lib.Info("libp2p chatter")
		lib.Warn("libp2p trouble", "n", 1, "remote_multiaddr", addr)
		dht := golog.Logger("hearth-test-dht-" + level.String())
		dht.Warnw("dht warning")
		dht.Errorw("dht trouble", "err", "dial tcp4 "+ip+":4747: connection refused")
		out := buf.String()
		debug := level == slog.LevelDebug
		if strings.Contains(out, "libp2p chatter") != debug {
			t.Errorf("%v: libp2p info in the log = %v: %q", level, !debug, out)
		}
		if strings.Contains(out, "dht warning") != debug {
			t.Errorf("%v: the DHT's warning in the log = %v: %q", level, !debug, out)
		}
		if !strings.Contains(out, `level=WARN msg="libp2p trouble" system=libp2p logger=hearth-test-subsystem-`+level.String()+" n=1") {
			t.Errorf("%v: libp2p warning not in the daemon's format: %q", level, out)
		}
		if !strings.Contains(out, `level=ERROR msg="dht trouble" system=libp2p logger=hearth-test-dht-`+level.String()) || !strings.Contains(out, "connection refused") {
			t.Errorf("%v: the DHT's error not in the daemon's log: %q", level, out)
		}
		if strings.Contains(out, ip) != debug {
			t.Errorf("%v: an address in the log = %v: %q", level, !debug, out)
		}
	}
}

// TestLoggingRedactsLibraryAddrs: every way a library hands an address or a
// peer ID to its logger (a multiaddr, a net.Addr, an IP, a peer ID, inside
// a string, an error, a group or the message, on the record or on the
// logger) comes out redacted, and the rest of the line stays readable.
func TestLoggingRedactsLibraryAddrs(t *testing.T) {
	const id = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
	pid, err := peer.Decode(id)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{"198.51.100.23", "2001:db8::7", "relay.example", id}
	var buf bytes.Buffer
	log := slog.New(addrRedactingHandler{next: slog.NewTextHandler(&buf, nil)}).With("conn", "/ip4/198.51.100.23/tcp/4747")
	log.Warn("dial to /dns4/relay.example/tcp/4747/p2p/"+id+" failed",
		"remote_multiaddr", ma.StringCast("/ip6/2001:db8::7/udp/4747/quic-v1"),
		"addrs", []ma.Multiaddr{ma.StringCast("/ip4/198.51.100.23/tcp/1")},
		"net", &net.TCPAddr{IP: net.ParseIP("198.51.100.23"), Port: 4747},
		"ip", netip.MustParseAddr("2001:db8::7"),
		"peer", pid,
		"err", errors.New("dial tcp6 [2001:db8::7]:4747: connection refused"),
		slog.Group("g", "text", "seen at 198.51.100.23:4747"),
		"count", 3,
	)
	out := buf.String()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("%q in the log: %s", s, out)
		}
	}
	for _, kept := range []string{"connection refused", "count=3", redactedAddr, redactedPeer, "failed"} {
		if !strings.Contains(out, kept) {
			t.Errorf("%q lost from the log: %s", kept, out)
		}
	}
}
