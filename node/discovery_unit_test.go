package node

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"
)

// TestDiscoveryConfigRefused: configurations that cannot work are refused
// by New before anything starts, and a node without a DHT says so when
// asked to rendezvous.
func TestDiscoveryConfigRefused(t *testing.T) {
	const relay = "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
	for name, d := range map[string]DiscoveryConfig{
		"relay-only without relays":   {RelayOnly: true},
		"relay-only with mDNS":        {RelayOnly: true, MDNS: true, StaticRelays: []string{relay}},
		"relay-only relay service":    {RelayOnly: true, RelayService: true, StaticRelays: []string{relay}},
		"bootstrap without a peer ID": {BootstrapPeers: []string{"/ip4/127.0.0.1/tcp/1"}},
		"relay that is not an addr":   {StaticRelays: []string{"relay.example"}},
		"relay for an address":        {RelayService: true, RelayFor: []string{relay}},
		"relay for, no relay service": {RelayFor: []string{"12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"}},
	} {
		if _, err := parseDiscovery(d); !errors.Is(err, errBadDiscovery) {
			t.Errorf("%s: %v, want errBadDiscovery", name, err)
		}
	}
	tn := newTestNode(t)
	if err := tn.Rendezvous(); !errors.Is(err, ErrNoDHT) {
		t.Fatalf("rendezvous without a DHT: %v, want ErrNoDHT", err)
	}
}

// TestRendezvousDaysAroundMidnight: members use the neighbouring day's
// namespace within an hour of midnight UTC, so clocks a little apart still
// meet, and only today's otherwise.
func TestRendezvousDaysAroundMidnight(t *testing.T) {
	day := int64(20000)
	at := func(d time.Duration) time.Time { return time.Unix(day*86400, 0).Add(d) }
	for _, c := range []struct {
		at   time.Time
		want []int64
	}{
		{at(12 * time.Hour), []int64{day}},
		{at(10 * time.Minute), []int64{day, day - 1}},
		{at(24*time.Hour - 10*time.Minute), []int64{day, day + 1}},
		{at(2 * time.Hour).In(time.FixedZone("x", 5*3600)), []int64{day}},
	} {
		got := rendezvousDays(c.at)
		if len(got) != len(c.want) {
			t.Fatalf("%s: days %v, want %v", c.at, got, c.want)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Fatalf("%s: days %v, want %v", c.at, got, c.want)
			}
		}
	}
}

// TestLogAddrsRedacted: addresses and dial errors reach the log only when
// debug logging is on.
func TestLogAddrsRedacted(t *testing.T) {
	addr := ma.StringCast("/ip4/198.51.100.23/tcp/4747")
	dialErr := errors.New("dial tcp4 198.51.100.23:4747: connection refused")
	for _, debug := range []bool{false, true} {
		var buf bytes.Buffer
		level := slog.LevelInfo
		if debug {
			level = slog.LevelDebug
		}
		logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))
		logger.Warn("dial failed", "addrs", logAddrs(logger, []ma.Multiaddr{addr}), "err", redactErr(logger, dialErr))
		if got := strings.Contains(buf.String(), "198.51.100.23"); got != debug {
			t.Errorf("debug=%v: address in log = %v: %s", debug, got, buf.String())
		}
	}
}

// TestLogAddrsLibraryInfoHeldBack: gossipsub's info lines (here the one
// that names a peer it blacklists) reach the node's log only when it
// records debug messages, as go-libp2p's own do in the daemon.
func TestLogAddrsLibraryInfoHeldBack(t *testing.T) {
	for _, debug := range []bool{false, true} {
		var logs transportLockedBuffer
		level := slog.LevelInfo
		if debug {
			level = slog.LevelDebug
		}
		tn := newTestNode(t, func(c *Config) {
			c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: level}))
		})
		tn.ps.BlacklistPeer(testPeerID(t, 9))
		// gossipsub handles the blacklisting and this query on one
		// goroutine in order: once the query is answered, the
		// blacklisting was logged, or never will be.
		tn.ps.ListPeers("")
		if got := strings.Contains(logs.String(), "Blacklisting peer"); got != debug {
			t.Errorf("debug=%v: gossipsub's info line in the log = %v:\n%s", debug, got, logs.String())
		}
	}
}
