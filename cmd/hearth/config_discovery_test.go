package main

import (
	"slices"
	"strings"
	"testing"
)

// testPeerAddr is a well-formed address of another node.
const testPeerAddr = "/ip4/203.0.113.7/tcp/4747/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"

// TestDiscoverySettingsFromEverySource: the [discovery] and [relays]
// tables, their environment variables and their flags all reach the node's
// discovery config, each source overriding the one before.
func TestDiscoverySettingsFromEverySource(t *testing.T) {
	s := defaultSettings()
	if d := s.discovery(); d.MDNS || d.DHTServer || d.RelayOnly || d.RelayService || len(d.BootstrapPeers)+len(d.StaticRelays) != 0 {
		t.Fatalf("default discovery %+v, want everything off", d)
	}
	doc := "[discovery]\nbootstrap = [\"" + testPeerAddr + "\"]\ndht_server = true\nmdns = true\n[relays]\nstatic = [\"" + testPeerAddr + "\"]\nservice = true\n"
	if err := applyConfig(&s, "/h/config.toml", []byte(doc)); err != nil {
		t.Fatal(err)
	}
	d := s.discovery()
	if !d.DHTServer || !d.MDNS || !d.RelayService || d.RelayOnly || !slices.Equal(d.BootstrapPeers, []string{testPeerAddr}) || !slices.Equal(d.StaticRelays, []string{testPeerAddr}) {
		t.Fatalf("from the file: %+v", d)
	}
	env := map[string]string{"HEARTH_MDNS": "false", "HEARTH_RELAY_SERVICE": "0", "HEARTH_RELAY_ONLY": "true", "HEARTH_BOOTSTRAP": testPeerAddr + "," + testPeerAddr}
	if err := applyEnv(&s, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if err := s.check(); err != nil {
		t.Fatalf("relay-only with a relay and nothing conflicting: %v", err)
	}
	d = s.discovery()
	if d.MDNS || d.RelayService || !d.RelayOnly || len(d.BootstrapPeers) != 2 {
		t.Fatalf("after the environment: %+v", d)
	}
	f, err := parseFlags("up", []string{"--relay-only=false", "--mdns", "--relay", testPeerAddr, "--dht-server=false"})
	if err != nil {
		t.Fatal(err)
	}
	if err := applyFlags(&s, f); err != nil {
		t.Fatal(err)
	}
	d = s.discovery()
	if d.RelayOnly || !d.MDNS || d.DHTServer || len(d.StaticRelays) != 1 {
		t.Fatalf("after the flags: %+v", d)
	}
}

// TestDiscoverySettingsRefused: addresses without a peer ID, and relay-only
// mode without a relay or together with mDNS or the relay service, are
// refused with a message saying why.
func TestDiscoverySettingsRefused(t *testing.T) {
	s := defaultSettings()
	err := applyConfig(&s, "/h/config.toml", []byte("[discovery]\nbootstrap = [\"/ip4/203.0.113.7/tcp/4747\"]\n"))
	if err == nil || !strings.Contains(err.Error(), `key "discovery.bootstrap"`) || !strings.Contains(err.Error(), "/p2p/<peer ID>") {
		t.Fatalf("bootstrap without a peer ID: %v", err)
	}
	if err := applyEnv(&s, func(k string) string {
		return map[string]string{"HEARTH_RELAYS": "nonsense"}[k]
	}); err == nil || !strings.HasPrefix(err.Error(), "HEARTH_RELAYS: ") {
		t.Fatalf("bad relay in the environment: %v", err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--relay-only"}, "needs at least one relay"},
		{[]string{"--relay-only", "--relay", testPeerAddr, "--mdns"}, "mDNS"},
		{[]string{"--relay-only", "--relay", testPeerAddr, "--relay-service"}, "relay service"},
	} {
		s := defaultSettings()
		f, err := parseFlags("up", c.args)
		if err != nil {
			t.Fatal(err)
		}
		if err := applyFlags(&s, f); err != nil {
			t.Fatal(err)
		}
		if err := s.check(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error about %s", c.args, err, c.want)
		}
	}
}
