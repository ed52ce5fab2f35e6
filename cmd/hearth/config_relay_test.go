package main

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// testPeerID is a well-formed peer ID of another node (testPeerAddr's).
const testPeerID = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"

// TestConfigRelayOnlyListensNowhereByDefault: in relay-only mode the node
// listens nowhere unless listen is set, from any source; an explicit TCP
// address is kept, and a QUIC one is refused with the reason.
func TestConfigRelayOnlyListensNowhereByDefault(t *testing.T) {
	resolve := func(t *testing.T, file string, vars map[string]string, args ...string) (settings, error) {
		t.Helper()
		dir := writeConfig(t, file)
		e, _, _ := testEnv(vars)
		f, err := parseFlags("up", args)
		if err != nil {
			t.Fatal(err)
		}
		return resolveSettings(e, dir, f)
	}
	s, err := resolve(t, "", nil, "--relay-only", "--relay", testPeerAddr)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.listen) != 0 {
		t.Errorf("relay-only mode listens on %v by default, want nowhere", s.listen)
	}
	s, err = resolve(t, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.listen, []string{defaultListenTCP, defaultListenQUIC}) {
		t.Errorf("the default listen addresses changed outside relay-only mode: %v", s.listen)
	}
	for name, c := range map[string]struct {
		file string
		vars map[string]string
		args []string
	}{
		"file": {"listen = [\"/ip4/127.0.0.1/tcp/4747\"]\n[relays]\nonly = true\nstatic = [\"" + testPeerAddr + "\"]\n", nil, nil},
		"env":  {"", map[string]string{"HEARTH_LISTEN": "/ip4/127.0.0.1/tcp/4747", "HEARTH_RELAY_ONLY": "true", "HEARTH_RELAYS": testPeerAddr}, nil},
		"flag": {"", nil, []string{"--relay-only", "--relay", testPeerAddr, "--listen", "/ip4/127.0.0.1/tcp/4747"}},
	} {
		s, err := resolve(t, c.file, c.vars, c.args...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(s.listen, []string{"/ip4/127.0.0.1/tcp/4747"}) {
			t.Errorf("%s: listen %v, want the address set", name, s.listen)
		}
	}
	_, err = resolve(t, "", nil, "--relay-only", "--relay", testPeerAddr, "--listen", "/ip4/127.0.0.1/udp/4747/quic-v1")
	wantUsage(t, err)
	if !strings.Contains(err.Error(), "QUIC") {
		t.Errorf("relay-only with a QUIC listen address: %v, want a reason naming QUIC", err)
	}
}

// TestConfigRelayFor: the peers a relay serves besides its groups'
// members come from relays.for, HEARTH_RELAY_FOR or --relay-for, must be
// peer IDs, and need the relay service.
func TestConfigRelayFor(t *testing.T) {
	s := defaultSettings()
	if err := applyConfig(&s, "/h/config.toml", []byte("[relays]\nservice = true\nfor = [\""+testPeerID+"\"]\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.check(); err != nil {
		t.Fatal(err)
	}
	if d := s.discovery(); !d.RelayService || !slices.Equal(d.RelayFor, []string{testPeerID}) {
		t.Fatalf("from the file: %+v", d)
	}
	if err := applyEnv(&s, func(k string) string { return map[string]string{"HEARTH_RELAY_FOR": testPeerID + "," + testPeerID}[k] }); err != nil {
		t.Fatal(err)
	}
	if d := s.discovery(); len(d.RelayFor) != 2 {
		t.Fatalf("from the environment: %+v", d)
	}
	f, err := parseFlags("up", []string{"--relay-for", testPeerID, "--relay-service=false"})
	if err != nil {
		t.Fatal(err)
	}
	if err := applyFlags(&s, f); err != nil {
		t.Fatal(err)
	}
	if err := s.check(); err == nil || !strings.Contains(err.Error(), "relay service is off") {
		t.Fatalf("peers to relay for without the relay service: %v", err)
	}
	err = applyConfig(&s, "/h/config.toml", []byte("[relays]\nfor = [\"/ip4/203.0.113.7/tcp/4747\"]\n"))
	if err == nil || !strings.Contains(err.Error(), `key "relays.for"`) || !strings.Contains(err.Error(), "not a peer ID") {
		t.Fatalf("an address where a peer ID belongs: %v", err)
	}
}
