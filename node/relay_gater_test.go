package node

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	madns "github.com/multiformats/go-multiaddr-dns"
)

func testPeerID(t *testing.T, seed byte) peer.ID {
	t.Helper()
	priv, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(make32(seed)))
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func make32(b byte) []byte {
	s := make([]byte, ed25519.SeedSize)
	s[0] = b
	return s
}

// maddr parses s or fails the test.
func maddr(t testing.TB, s string) ma.Multiaddr {
	t.Helper()
	a, err := ma.NewMultiaddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestRelayOnlyGaterDialsRelaysOnlyWhereConfigured: in relay-only mode a
// direct dial goes to a relay only at an address configured for it, or one
// its configured name resolved to, and a circuit only through a configured
// relay at such an address (or at none). A member who names the relay's
// peer ID beside an address of their own (in an invite, a DHT record, an
// announcement) would otherwise learn the dialler's real address from the
// connection attempt, handshake failure or not.
func TestRelayOnlyGaterDialsRelaysOnlyWhereConfigured(t *testing.T) {
	relay, named, other := testPeerID(t, 1), testPeerID(t, 2), testPeerID(t, 3)
	g := newRelayOnlyGater([]peer.AddrInfo{
		{ID: relay, Addrs: []ma.Multiaddr{maddr(t, "/ip4/192.0.2.7/tcp/4747"), maddr(t, "/ip4/192.0.2.7/udp/4747/quic-v1")}},
		{ID: named, Addrs: []ma.Multiaddr{maddr(t, "/dns4/relay.example/tcp/4747")}},
	})
	circuit := func(hop string, via peer.ID) string { return hop + "/p2p/" + via.String() + "/p2p-circuit" }
	cases := []struct {
		what string
		p    peer.ID
		addr string
		want bool
	}{
		{"the relay at its configured TCP address", relay, "/ip4/192.0.2.7/tcp/4747", true},
		{"the relay at its configured QUIC address", relay, "/ip4/192.0.2.7/udp/4747/quic-v1", true},
		{"the relay's peer ID at someone else's address", relay, "/ip4/198.51.100.9/tcp/4747", false},
		{"the relay's peer ID at another port", relay, "/ip4/192.0.2.7/tcp/80", false},
		{"a relay configured by name, before the name is resolved", named, "/ip4/203.0.113.5/tcp/4747", false},
		{"any peer directly", other, "/ip4/192.0.2.7/tcp/4747", false},
		{"any peer through a circuit at the relay's address", other, circuit("/ip4/192.0.2.7/tcp/4747", relay), true},
		{"any peer through a circuit naming only the relay", other, circuit("", relay), true},
		{"any peer through a circuit at the name", other, circuit("/dns4/relay.example/tcp/4747", named), true},
		{"a circuit through the relay at someone else's address", other, circuit("/ip4/198.51.100.9/tcp/4747", relay), false},
		{"a circuit through a relay nobody configured", relay, circuit("/ip4/192.0.2.7/tcp/4747", other), false},
		{"a circuit through the named relay at someone else's address", other, circuit("/ip4/198.51.100.9/tcp/4747", named), false},
		{"a circuit inside a circuit", other, circuit(circuit("", relay)+"/p2p/"+named.String(), other), false},
	}
	for _, c := range cases {
		if got := g.InterceptAddrDial(c.p, maddr(t, c.addr)); got != c.want {
			t.Errorf("%s: allowed %v, want %v", c.what, got, c.want)
		}
	}

	// Once the name resolves, the named relay is dialled there and
	// nowhere else.
	resolver := mockResolver(t, map[string][]string{"relay.example": {"203.0.113.5"}})
	g.refreshNames(context.Background(), resolver, named, slog.New(slog.DiscardHandler))
	for _, c := range []struct {
		what string
		addr string
		want bool
	}{
		{"the named relay at what its name resolves to", "/ip4/203.0.113.5/tcp/4747", true},
		{"the named relay at another address", "/ip4/198.51.100.9/tcp/4747", false},
		{"a circuit through the named relay at what its name resolves to", circuit("/ip4/203.0.113.5/tcp/4747", named), true},
	} {
		p := named
		if isRelayed(maddr(t, c.addr)) {
			p = other
		}
		if got := g.InterceptAddrDial(p, maddr(t, c.addr)); got != c.want {
			t.Errorf("%s: allowed %v, want %v", c.what, got, c.want)
		}
	}
	// A failed resolution keeps the last answer; a new answer replaces it.
	g.refreshNames(context.Background(), mockResolver(t, nil), named, slog.New(slog.DiscardHandler))
	if !g.InterceptAddrDial(named, maddr(t, "/ip4/203.0.113.5/tcp/4747")) {
		t.Error("a failed resolution dropped the relay's last address")
	}
	g.refreshNames(context.Background(), mockResolver(t, map[string][]string{"relay.example": {"203.0.113.6"}}), named, slog.New(slog.DiscardHandler))
	if g.InterceptAddrDial(named, maddr(t, "/ip4/203.0.113.5/tcp/4747")) || !g.InterceptAddrDial(named, maddr(t, "/ip4/203.0.113.6/tcp/4747")) {
		t.Error("the relay is still dialled where its name no longer points, or not where it points now")
	}
}

// mockResolver returns a DNS resolver that knows only names (their IP
// addresses) and, for names starting with "_dnsaddr.", TXT records.
func mockResolver(t testing.TB, names map[string][]string) *madns.Resolver {
	t.Helper()
	m := &madns.MockResolver{IP: map[string][]net.IPAddr{}, TXT: map[string][]string{}}
	for name, vals := range names {
		if strings.HasPrefix(name, "_dnsaddr.") {
			m.TXT[name] = vals
			continue
		}
		for _, v := range vals {
			m.IP[name] = append(m.IP[name], net.IPAddr{IP: net.ParseIP(v)})
		}
	}
	r, err := madns.NewResolver(madns.WithDefaultResolver(m))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRelayNamesResolveToTheRelaysOwn: a relay's /dns4 name resolves to its
// IP addresses with the port kept; a /dnsaddr name only to the records that
// name the relay's own peer ID, following a nested name; a name that leads
// nowhere, or in a loop, is an error.
func TestRelayNamesResolveToTheRelaysOwn(t *testing.T) {
	relay, other := testPeerID(t, 1), testPeerID(t, 2)
	r := mockResolver(t, map[string][]string{
		"relay.example": {"192.0.2.7", "2001:db8::7"},
		"_dnsaddr.relays.example": {
			"dnsaddr=/ip4/192.0.2.8/tcp/4747/p2p/" + relay.String(),
			"dnsaddr=/ip4/198.51.100.9/tcp/4747/p2p/" + other.String(),
			"dnsaddr=/dns4/relay.example/tcp/4748/p2p/" + relay.String(),
		},
		"_dnsaddr.loop.example": {"dnsaddr=/dnsaddr/loop.example/p2p/" + relay.String()},
	})
	for _, c := range []struct {
		addr string
		want []string
	}{
		{"/dns4/relay.example/tcp/4747", []string{"/ip4/192.0.2.7/tcp/4747"}},
		{"/dns/relay.example/udp/4747/quic-v1", []string{"/ip4/192.0.2.7/udp/4747/quic-v1", "/ip6/2001:db8::7/udp/4747/quic-v1"}},
		{"/dnsaddr/relays.example", []string{"/ip4/192.0.2.8/tcp/4747", "/ip4/192.0.2.7/tcp/4748"}},
	} {
		got, err := resolveRelayName(context.Background(), r, relay, maddr(t, c.addr))
		if err != nil {
			t.Errorf("%s: %v", c.addr, err)
			continue
		}
		var gs []string
		for _, a := range got {
			gs = append(gs, a.String())
		}
		if !slices.Equal(gs, c.want) {
			t.Errorf("%s resolved to %v, want %v", c.addr, gs, c.want)
		}
	}
	for _, bad := range []string{"/dns4/nowhere.example/tcp/4747", "/dnsaddr/loop.example"} {
		if got, err := resolveRelayName(context.Background(), r, relay, maddr(t, bad)); err == nil {
			t.Errorf("%s resolved to %v, want an error", bad, got)
		}
	}
}

// TestRelayOnlyGaterRefusesDirectConnections: inbound, only relayed
// connections are accepted, before any handshake (a relay never dials in);
// a direct connection passes the handshake check only when this node
// dialled one of its relays.
func TestRelayOnlyGaterRefusesDirectConnections(t *testing.T) {
	relay, other := testPeerID(t, 1), testPeerID(t, 2)
	g := newRelayOnlyGater([]peer.AddrInfo{{ID: relay, Addrs: []ma.Multiaddr{maddr(t, "/ip4/192.0.2.7/tcp/4747")}}})
	direct := connAddrs{local: maddr(t, "/ip4/10.0.0.2/tcp/4747"), remote: maddr(t, "/ip4/192.0.2.7/tcp/50000")}
	relayed := connAddrs{local: maddr(t, "/p2p-circuit"), remote: maddr(t, "/ip4/192.0.2.7/tcp/4747/p2p/"+relay.String()+"/p2p-circuit")}
	if g.InterceptAccept(direct) {
		t.Error("a direct inbound connection was accepted")
	}
	if !g.InterceptAccept(relayed) {
		t.Error("a relayed inbound connection was refused")
	}
	for _, c := range []struct {
		what string
		dir  network.Direction
		p    peer.ID
		conn connAddrs
		want bool
	}{
		{"this node's connection to its relay", network.DirOutbound, relay, direct, true},
		{"a direct connection from the relay", network.DirInbound, relay, direct, false},
		{"this node's direct connection to anyone else", network.DirOutbound, other, direct, false},
		{"a relayed connection from anyone", network.DirInbound, other, relayed, true},
	} {
		if got := g.InterceptSecured(c.dir, c.p, c.conn); got != c.want {
			t.Errorf("%s: allowed %v, want %v", c.what, got, c.want)
		}
	}
}

// connAddrs is a network.ConnMultiaddrs for gater tests.
type connAddrs struct{ local, remote ma.Multiaddr }

func (c connAddrs) LocalMultiaddr() ma.Multiaddr  { return c.local }
func (c connAddrs) RemoteMultiaddr() ma.Multiaddr { return c.remote }

// TestRelayOnlyDialableAddrs: of addresses someone else hands a relay-only
// node, a relay is kept only at its configured addresses, anyone else only
// through circuits of configured relays (reduced to the relay's peer ID),
// and nothing direct.
func TestRelayOnlyDialableAddrs(t *testing.T) {
	relay, stranger, member := testPeerID(t, 1), testPeerID(t, 2), testPeerID(t, 3)
	configured := maddr(t, "/ip4/192.0.2.7/tcp/4747")
	g := newRelayOnlyGater([]peer.AddrInfo{{ID: relay, Addrs: []ma.Multiaddr{configured}}})
	liar := "/ip4/198.51.100.9/tcp/4747"

	got, ok := g.dialable(peer.AddrInfo{ID: relay, Addrs: []ma.Multiaddr{maddr(t, liar)}})
	if !ok || len(got.Addrs) != 1 || !got.Addrs[0].Equal(configured) {
		t.Errorf("the relay named at a liar's address: %v, want only its configured address", got)
	}
	got, ok = g.dialable(peer.AddrInfo{ID: member, Addrs: []ma.Multiaddr{
		maddr(t, liar),
		maddr(t, liar+"/p2p/"+relay.String()+"/p2p-circuit"),
		maddr(t, "/ip4/192.0.2.7/tcp/4747/p2p/"+relay.String()+"/p2p-circuit"),
		maddr(t, liar+"/p2p/"+stranger.String()+"/p2p-circuit"),
	}})
	want := "/p2p/" + relay.String() + "/p2p-circuit"
	if !ok || len(got.Addrs) != 1 || got.Addrs[0].String() != want {
		t.Errorf("a member's addresses: %v, want only %s", got.Addrs, want)
	}
	if got, ok := g.dialable(peer.AddrInfo{ID: member, Addrs: []ma.Multiaddr{maddr(t, liar)}}); ok {
		t.Errorf("direct addresses only: %v, want nothing", got)
	}
}
