package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearthnet/hearth/crypto"
)

// Network-namespace tests: real separate network stacks joined by veth
// pairs, with no route between the two members, so that the only path
// between them is the relay in a third namespace. They need root and
// iproute2 and skip with a message otherwise. Every node runs in its own
// process (this test binary, re-executed with `ip netns exec`), and the
// processes meet through files in a shared temporary directory.
//
//	hidden (10.77.1.1) ── veth ── (10.77.1.2) relay (10.77.2.2) ── veth ── (10.77.2.1) joiner
//
// The relay's namespace does not forward IP packets (a new namespace
// starts with ip_forward 0), so hidden and joiner cannot reach each other
// except through the relay's circuit relay service.

// Environment of the child processes.
const (
	netnsRoleEnv = "HEARTH_NETNS_ROLE"
	netnsDirEnv  = "HEARTH_NETNS_DIR"
)

// Addresses inside the test's namespaces (never on the machine's own
// interfaces).
const (
	netnsHiddenIP = "10.77.1.1"
	netnsRelayIPA = "10.77.1.2"
	netnsRelayIPB = "10.77.2.2"
	netnsJoinerIP = "10.77.2.1"
)

// netnsWait bounds each child's whole run.
const netnsWait = 60 * time.Second

// TestNetnsRelayOnlyThroughRelay: two members in namespaces with no route
// between them talk through a relay in a third; the member in relay-only
// mode is seen by the other only at relayed addresses, and its real
// address appears nowhere in the other's peerstore or connection list.
func TestNetnsRelayOnlyThroughRelay(t *testing.T) {
	if os.Getenv(netnsRoleEnv) != "" {
		t.Skip("inside a child process")
	}
	if os.Geteuid() != 0 {
		t.Skip("network-namespace tests need root (they create namespaces and veth pairs); run as root, as CI does")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("network-namespace tests need iproute2's ip command")
	}
	var rnd [3]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	tag := "h" + hex.EncodeToString(rnd[:])
	nsHidden, nsRelay, nsJoiner := tag+"-hid", tag+"-rel", tag+"-joi"
	for _, ns := range []string{nsHidden, nsRelay, nsJoiner} {
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			t.Skipf("cannot create network namespaces here (%v: %s)", err, bytes.TrimSpace(out))
		}
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("removing namespace %s: %v: %s", ns, err, out)
			}
		})
	}
	ipCmd := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	link := func(ns, ifname, addr string) {
		ipCmd("-n", ns, "addr", "add", addr+"/24", "dev", ifname)
		ipCmd("-n", ns, "link", "set", ifname, "up")
		ipCmd("-n", ns, "link", "set", "lo", "up")
	}
	ipCmd("-n", nsHidden, "link", "add", tag+"a", "type", "veth", "peer", "name", tag+"b", "netns", nsRelay)
	ipCmd("-n", nsJoiner, "link", "add", tag+"c", "type", "veth", "peer", "name", tag+"d", "netns", nsRelay)
	link(nsHidden, tag+"a", netnsHiddenIP)
	link(nsRelay, tag+"b", netnsRelayIPA)
	link(nsJoiner, tag+"c", netnsJoinerIP)
	link(nsRelay, tag+"d", netnsRelayIPB)
	fwd, err := exec.Command("ip", "netns", "exec", nsRelay, "cat", "/proc/sys/net/ipv4/ip_forward").Output()
	if err != nil || strings.TrimSpace(string(fwd)) != "0" {
		t.Fatalf("the relay's namespace forwards packets (%q, %v); the members would have a route", fwd, err)
	}

	dir := t.TempDir()
	relay := startNetnsChild(t, nsRelay, "relay", dir)
	hidden := startNetnsChild(t, nsHidden, "hidden", dir)
	joiner := startNetnsChild(t, nsJoiner, "joiner", dir)
	if err := joiner.wait(); err != nil {
		t.Fatalf("joiner: %v\n%s\nhidden's output:\n%s", err, joiner.out.String(), hidden.out.String())
	}
	if err := os.WriteFile(filepath.Join(dir, "done"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := hidden.wait(); err != nil {
		t.Fatalf("hidden: %v\n%s", err, hidden.out.String())
	}
	if err := relay.wait(); err != nil {
		t.Fatalf("relay: %v\n%s", err, relay.out.String())
	}

	view, err := os.ReadFile(filepath.Join(dir, "joiner.view"))
	if err != nil {
		t.Fatal(err)
	}
	var conns int
	for _, line := range strings.Split(strings.TrimSpace(string(view)), "\n") {
		if strings.HasPrefix(line, "conn ") {
			conns++
		}
		if strings.Contains(line, netnsHiddenIP) {
			t.Errorf("the joiner holds the relay-only member's real address: %s", line)
		}
		if !strings.Contains(line, "/p2p-circuit") {
			t.Errorf("the joiner holds a direct address of the relay-only member: %s", line)
		}
	}
	if conns == 0 {
		t.Errorf("the joiner has no connection to the member it talked to:\n%s", view)
	}
}

// netnsChild is a child process running one node in a namespace.
type netnsChild struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan error
}

func (c *netnsChild) wait() error {
	select {
	case err := <-c.done:
		return err
	case <-time.After(netnsWait + 10*time.Second):
		return errors.New("did not finish")
	}
}

// startNetnsChild runs this test binary's TestNetnsChild in namespace ns
// with the given role; it is killed when the test ends.
func startNetnsChild(t *testing.T, ns, role, dir string) *netnsChild {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), netnsWait+15*time.Second)
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestNetnsChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), netnsRoleEnv+"="+role, netnsDirEnv+"="+dir)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting %s: %v", role, err)
	}
	c := &netnsChild{cmd: cmd, out: out, done: make(chan error, 1)}
	go func() { c.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-ctx.Done()
	})
	return c
}

// TestNetnsChild is the body of a child process of the network-namespace
// tests; it does nothing unless one of them started it.
func TestNetnsChild(t *testing.T) {
	role, dir := os.Getenv(netnsRoleEnv), os.Getenv(netnsDirEnv)
	if role == "" {
		t.Skip("helper process of the network-namespace tests; runs only when they start it")
	}
	listen := func(d DiscoveryConfig) func(*Config) {
		return func(c *Config) {
			c.ListenAddrs = []string{"/ip4/0.0.0.0/tcp/0"}
			c.Discovery = d
		}
	}
	switch role {
	case "relay":
		n := newTestNode(t, listen(DiscoveryConfig{RelayService: true}))
		var lines []string
		for _, a := range n.Addrs() {
			if !strings.Contains(a.String(), "/127.0.0.1/") {
				lines = append(lines, a.String())
			}
		}
		netnsWrite(t, dir, "relay.addrs", strings.Join(lines, "\n"))
		// The relay serves members of its own groups and the peers it is
		// told to; it is in no group here, so the two members are named.
		for _, name := range []string{"hidden.id", "joiner.id"} {
			id, err := peer.Decode(netnsAwait(t, dir, name))
			if err != nil {
				t.Fatal(err)
			}
			relayForIDs(t, n, id)
		}
		netnsAwait(t, dir, "done")
	case "hidden":
		relays := strings.Split(netnsAwait(t, dir, "relay.addrs"), "\n")
		n := newTestNode(t, listen(DiscoveryConfig{StaticRelays: relays, RelayOnly: true}))
		netnsWrite(t, dir, "hidden.id", n.PeerID().String())
		poll(t, "a relay reservation", func() bool { return len(n.Addrs()) > 0 })
		g, err := n.CreateGroup(ctxT(t), GroupOptions{Name: "netns", Pseudonym: "hid"})
		if err != nil {
			t.Fatal(err)
		}
		inv, _, err := g.CreateInvite(ctxT(t), InviteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		netnsWrite(t, dir, "invite", inv)
		waitMessageFor(t, n, g.ID(), "hello from the joiner", netnsWait)
		if _, err := g.Post(ctxT(t), "hello from hidden", MessageID{}); err != nil {
			t.Fatal(err)
		}
		netnsAwait(t, dir, "done")
	case "joiner":
		relays := strings.Split(netnsAwait(t, dir, "relay.addrs"), "\n")
		n := newTestNode(t, listen(DiscoveryConfig{StaticRelays: relays}))
		netnsWrite(t, dir, "joiner.id", n.PeerID().String())
		inv := netnsAwait(t, dir, "invite")
		hid, err := peer.Decode(netnsAwait(t, dir, "hidden.id"))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), netnsWait)
		defer cancel()
		res, err := n.Join(ctx, inv, "joi")
		if err != nil || res.Status != JoinJoined {
			t.Fatalf("join: %+v, %v", res, err)
		}
		// The hidden member posts only after this arrives; repeat it until
		// the mesh carries it.
		deadline := time.Now().Add(netnsWait)
		for {
			if _, err := res.Group.Post(ctxT(t), "hello from the joiner", MessageID{}); err != nil {
				t.Fatal(err)
			}
			if waitMessageWithin(n, res.Group.ID(), "hello from hidden", 2*time.Second) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no reply from the hidden member")
			}
		}
		var view []string
		for _, a := range n.host.Peerstore().Addrs(hid) {
			view = append(view, "peerstore "+a.String())
		}
		for _, c := range n.host.Network().ConnsToPeer(hid) {
			view = append(view, "conn "+c.RemoteMultiaddr().String())
		}
		netnsWrite(t, dir, "joiner.view", strings.Join(view, "\n"))
	default:
		t.Fatalf("unknown role %q", role)
	}
}

// netnsWrite writes a file for the other processes atomically (they poll
// for it by name).
func netnsWrite(t *testing.T, dir, name, content string) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name)
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// netnsAwait waits for another process's file and returns its content.
func netnsAwait(t *testing.T, dir, name string) string {
	t.Helper()
	deadline := time.Now().Add(netnsWait)
	for {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitMessageFor is waitMessage with its own bound.
func waitMessageFor(t *testing.T, tn *testNode, g crypto.GroupID, text string, bound time.Duration) {
	t.Helper()
	if !waitMessageWithin(tn, g, text, bound) {
		t.Fatalf("timed out waiting for message %q", text)
	}
}

// waitMessageWithin reports whether a message with text arrives in group g
// on tn's subscription within bound.
func waitMessageWithin(tn *testNode, g crypto.GroupID, text string, bound time.Duration) bool {
	deadline := time.NewTimer(bound)
	defer deadline.Stop()
	for {
		select {
		case e, ok := <-tn.sub.Events():
			if !ok {
				return false
			}
			if e.Kind == EventMessage && e.Group == g && e.Message.Text == text {
				return true
			}
		case <-deadline.C:
			return false
		}
	}
}
