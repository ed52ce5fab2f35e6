package node

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/hearthnet/hearth/crypto"
)

// TestTransportListenCountsOnlyDirectAddrs: with the relay transport on,
// the host also listens on /p2p-circuit; that listener is no address of
// the list, so an address of the list the host cannot listen on is still
// refused.
func TestTransportListenCountsOnlyDirectAddrs(t *testing.T) {
	dk, err := crypto.NewDeviceKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	relayed := func(c *hostConfig) { c.relayClient = true }
	h := transportHost(t, relayed, func(c *hostConfig) { c.listenAddrs = []string{"/ip4/127.0.0.1/tcp/0"} })
	if !slices.ContainsFunc(h.Network().ListenAddresses(), isRelayed) {
		t.Fatalf("listening on %v; the relay transport's /p2p-circuit listener is missing, so this test shows nothing", h.Network().ListenAddresses())
	}
	cfg := hostConfig{deviceKey: dk, listenAddrs: []string{"/ip4/127.0.0.1/tcp/0", "/ip4/192.0.2.1/tcp/0"}}
	relayed(&cfg)
	if h, err := newHost(context.Background(), cfg); err == nil {
		listening := h.Network().ListenAddresses()
		h.Close()
		t.Fatalf("one usable listen address of two accepted with the relay transport on (listening on %v)", listening)
	}
}

// TestTransportHostWipesKeyOnClose: the host's copy of the device key is
// in use while it runs and zeros once it is closed, wherever go-libp2p
// keeps it (the peerstore's key book shares it).
func TestTransportHostWipesKeyOnClose(t *testing.T) {
	dk, err := crypto.NewDeviceKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := newHost(context.Background(), hostConfig{deviceKey: dk, listenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}})
	if err != nil {
		t.Fatal(err)
	}
	key := h.Peerstore().PrivKey(h.ID())
	before, err := key.Raw()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, dk.PrivateKey()) {
		t.Fatal("the host's identity is not the device key")
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	after, err := key.Raw()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, make([]byte, len(after))) {
		t.Fatal("the host's copy of the device key survived Close")
	}
	if bytes.Equal(dk.PrivateKey(), make([]byte, len(after))) {
		t.Fatal("closing the host wiped the caller's device key")
	}
}

// TestRelayOnlyRefusesQUICListen: relay-only mode refuses a QUIC listen
// address, whose handshake would prove the node's identity to anyone who
// dials it before any gater could refuse.
func TestRelayOnlyRefusesQUICListen(t *testing.T) {
	dk, err := crypto.NewDeviceKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	relay := peer.AddrInfo{ID: testPeerID(t, 1), Addrs: []ma.Multiaddr{maddr(t, "/ip4/127.0.0.1/tcp/1")}}
	h, err := newHost(context.Background(), hostConfig{
		deviceKey: dk, listenAddrs: []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"},
		relays: []peer.AddrInfo{relay}, relayOnly: true,
		reservations: newRelayReservations(true, []peer.AddrInfo{relay}, nil),
	})
	if !errors.Is(err, errRelayOnlyQUIC) {
		if err == nil {
			h.Close()
		}
		t.Fatalf("relay-only host with a QUIC listen address: %v, want errRelayOnlyQUIC", err)
	}
}

// TestRelayHolePunchingOnlyOutsideRelayOnly: a node with static relays
// runs hole punching (DCUtR) and a relay-only node does not. Both reserve
// on a relay configured by a DNS name that counts as public, so their
// circuit addresses are public ones, which is what go-libp2p waits for
// before it answers /libp2p/dcutr; the relay-only node would answer it too
// were hole punching on.
func TestRelayHolePunchingOnlyOutsideRelayOnly(t *testing.T) {
	relayHost := transportHost(t, func(c *hostConfig) { c.listenAddrs = []string{"/ip4/127.0.0.1/tcp/0"} })
	r, err := relayv2.New(relayHost, relayv2.WithResources(relayResources()), relayv2.WithReservationAddressFilter(func(ma.Multiaddr) bool { return true }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	port, err := relayHost.Network().ListenAddresses()[0].ValueForProtocol(ma.P_TCP)
	if err != nil {
		t.Fatal(err)
	}
	relay := peer.AddrInfo{ID: relayHost.ID(), Addrs: []ma.Multiaddr{maddr(t, "/dns4/relay.example/tcp/"+port)}}
	resolver := mockResolver(t, map[string][]string{"relay.example": {"127.0.0.1"}})

	start := func(relayOnly bool) (host.Host, *relayReservations) {
		res := newRelayReservations(relayOnly, []peer.AddrInfo{relay}, resolver)
		h := transportHost(t, func(c *hostConfig) {
			c.listenAddrs = []string{"/ip4/127.0.0.1/tcp/0"}
			c.relays, c.relayOnly, c.reservations = []peer.AddrInfo{relay}, relayOnly, res
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			reserveLoop(ctx, h, relay, res, slog.New(slog.DiscardHandler))
		}()
		t.Cleanup(func() {
			cancel()
			<-done
		})
		return h, res
	}
	punching, _ := start(false)
	hidden, hiddenRes := start(true)
	transportPoll(t, "the relay-only node's reservation", func() bool {
		hiddenRes.mu.Lock()
		defer hiddenRes.mu.Unlock()
		return len(hiddenRes.addrs) > 0
	})
	transportPoll(t, "the node with static relays answering /libp2p/dcutr", func() bool {
		return slices.Contains(punching.Mux().Protocols(), holepunch.Protocol)
	})
	// go-libp2p looks for a public address on a backoff of up to five
	// seconds, so the relay-only node's not answering yet would prove
	// little on its own: that it has no hole punching service at all is
	// what shows it never will.
	if slices.Contains(hidden.Mux().Protocols(), holepunch.Protocol) || runsHolePunching(t, hidden) {
		t.Fatal("the relay-only node runs hole punching: it would open direct connections")
	}
	if !runsHolePunching(t, punching) {
		t.Fatal("runsHolePunching does not see the service of the node that answers /libp2p/dcutr")
	}
}

// runsHolePunching reports whether go-libp2p's hole punching service
// exists on h, a host from newHost. go-libp2p has no accessor for it, so
// this reads the service field of its BasicHost (under the closable
// wrapper libp2p.New returns); it fails the test if go-libp2p renames
// either.
func runsHolePunching(t testing.TB, h host.Host) bool {
	t.Helper()
	v := reflect.ValueOf(h.(*keyWipingHost).Host).Elem().FieldByName("BasicHost")
	if !v.IsValid() || v.Kind() != reflect.Pointer {
		t.Fatalf("go-libp2p's host %T holds no BasicHost", h.(*keyWipingHost).Host)
	}
	hps := v.Elem().FieldByName("hps")
	if !hps.IsValid() || hps.Kind() != reflect.Pointer {
		t.Fatal("go-libp2p's BasicHost holds no hole punching service field hps")
	}
	return !hps.IsNil()
}
