package node

import (
	"crypto/ed25519"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
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

// TestRelayOnlyGaterDialsRelaysOnlyWhereConfigured: in relay-only mode a
// direct dial goes to a relay only at an address configured for it. A
// member who names the relay's peer ID beside an address of their own (in
// an invite, say) would otherwise learn the dialler's real address from
// the connection attempt, handshake failure or not.
func TestRelayOnlyGaterDialsRelaysOnlyWhereConfigured(t *testing.T) {
	relay, named, other := testPeerID(t, 1), testPeerID(t, 2), testPeerID(t, 3)
	at := func(s string) ma.Multiaddr {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	g := newRelayOnlyGater([]peer.AddrInfo{
		{ID: relay, Addrs: []ma.Multiaddr{at("/ip4/192.0.2.7/tcp/4747"), at("/ip4/192.0.2.7/udp/4747/quic-v1")}},
		{ID: named, Addrs: []ma.Multiaddr{at("/dns4/relay.example/tcp/4747")}},
	})
	for _, c := range []struct {
		what string
		p    peer.ID
		addr string
		want bool
	}{
		{"the relay at its configured TCP address", relay, "/ip4/192.0.2.7/tcp/4747", true},
		{"the relay at its configured QUIC address", relay, "/ip4/192.0.2.7/udp/4747/quic-v1", true},
		{"the relay's peer ID at someone else's address", relay, "/ip4/198.51.100.9/tcp/4747", false},
		{"the relay's peer ID at another port", relay, "/ip4/192.0.2.7/tcp/80", false},
		{"a relay configured by name, at what the name resolves to", named, "/ip4/203.0.113.5/tcp/4747", true},
		{"any peer directly", other, "/ip4/192.0.2.7/tcp/4747", false},
		{"any peer through a circuit", other, "/ip4/192.0.2.7/tcp/4747/p2p/" + relay.String() + "/p2p-circuit", true},
	} {
		if got := g.InterceptAddrDial(c.p, at(c.addr)); got != c.want {
			t.Errorf("%s: allowed %v, want %v", c.what, got, c.want)
		}
	}
}
