package main

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/node"
)

// demoWait bounds each step of the demo that waits on the network: a join,
// an epoch change or a delivery takes a few gossipsub heartbeats (one
// second each); the bound is generous for a loaded machine.
const demoWait = 60 * time.Second

// demoDumpBytes is how much of the host's largest database file the demo
// shows in hex.
const demoDumpBytes = 256

// demoKDF are the Argon2id parameters of the demo's temporary homes: the
// cheapest the keystore accepts, so the demo starts in a moment. The homes
// are thrown away at the end and their passphrase is printed in no place,
// so the weak setting protects nothing real. A real home always uses
// crypto.DefaultKDFParams.
func demoKDF() crypto.KDFParams { return crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1} }

// What the demo's people say. Every string is long enough that finding it
// by chance in a few megabytes of ciphertext is out of the question, so the
// check that no file holds any of them cannot fail by accident.
const (
	demoGroupName = "Tuesday evening circle"
	demoHostName  = "River Stonebridge"
	demoSolName   = "Sol Amberly"
	demoWrenName  = "Wren Hollowell"
)

// demoNode is one of the demo's three nodes and everything it saw.
type demoNode struct {
	pseudonym string
	dir       string
	ks        *crypto.Keystore
	n         *node.Node
	sub       *node.Subscription
	drained   chan struct{}

	mu     sync.Mutex
	events []node.Event
}

// demo is one run of `hearth demo`.
type demo struct {
	e     *env
	root  string
	nodes []*demoNode
	// wake is signalled (without blocking) whenever any node emits an
	// event, so waits re-check their condition at once.
	wake chan struct{}
}

// runDemo is `hearth demo`: three nodes in this process, on loopback, with
// temporary homes, run through a group's life while the narration says
// what happens; then it shows that the host's files hold only ciphertext.
func runDemo(ctx context.Context, e *env, args []string) int {
	switch {
	case len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help"):
		printHelp(e.stdout, "demo")
		return exitOK
	case len(args) > 0:
		return fail(e, "demo", usagef("takes no arguments (run 'hearth help demo')"))
	}
	root, err := os.MkdirTemp("", "hearth-demo-")
	if err != nil {
		return fail(e, "demo", fmt.Errorf("cannot make a temporary directory: %v", err))
	}
	d := &demo{e: e, root: root, wake: make(chan struct{}, 1)}
	runErr := d.run(ctx)
	closeErr := d.closeNodes()
	rmErr := os.RemoveAll(root)
	if rmErr == nil {
		d.say("Removed the temporary homes in %s.", root)
	}
	if ctx.Err() != nil && runErr != nil {
		runErr = errors.New("interrupted; the temporary homes were removed")
	}
	if err := oneLine(runErr, closeErr, rmErrf(root, rmErr)); err != nil {
		return fail(e, "demo", err)
	}
	d.say("Done.")
	return exitOK
}

func rmErrf(root string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("cannot remove the temporary homes in %s (remove it by hand): %v", root, err)
}

func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.e.stdout, format+"\n", args...)
}

func (d *demo) run(ctx context.Context) error {
	d.say("Hearth demo: three people, each with their own node, meet in an end-to-end-encrypted group.")
	d.say("Everything happens on this machine, on 127.0.0.1, in a temporary directory removed at the end.")
	d.say("The temporary homes use cheap key-derivation settings so the demo starts fast; a real home seals its keystore with Argon2id at 64 MiB.")
	d.say("")

	d.say("1. Starting three nodes: %s (the host), %s and %s.", demoHostName, demoSolName, demoWrenName)
	for _, p := range []string{demoHostName, demoSolName, demoWrenName} {
		dn, err := d.startNode(ctx, p)
		if err != nil {
			return err
		}
		d.say("   %-18s listens on %s", p, listenAddrs(dn.n))
	}
	host, sol, wren := d.nodes[0], d.nodes[1], d.nodes[2]
	// Here the nodes are told each other's addresses; on the internet a
	// member's node reaches the host through the address in the invite.
	if err := d.connectAll(ctx); err != nil {
		return err
	}

	d.say("")
	d.say("2. %s creates the group %q.", demoHostName, demoGroupName)
	g, err := host.n.CreateGroup(ctx, node.GroupOptions{Name: demoGroupName, Pseudonym: demoHostName})
	if err != nil {
		return fmt.Errorf("creating the group: %v", err)
	}
	id := g.ID()
	d.say("   Its ID is %s. The name is known only to members.", id)

	d.say("")
	d.say("3. %s makes an invite and gives it to %s, who joins at once.", demoHostName, demoSolName)
	invite, _, err := g.CreateInvite(ctx, node.InviteOptions{Expires: time.Hour})
	if err != nil {
		return fmt.Errorf("creating an invite: %v", err)
	}
	res, err := sol.n.Join(ctx, invite, demoSolName)
	if err != nil {
		return fmt.Errorf("%s joining: %v", demoSolName, err)
	}
	d.say("   %s: %s.", demoSolName, res.Status)
	if err := d.settle(ctx, id, host, sol); err != nil {
		return err
	}
	d.say("   Both nodes now see 2 members at epoch %d.", g.Info().Epoch)

	d.say("")
	d.say("4. %s makes an invite that needs approval. %s uses it and waits in the waiting room.", demoHostName, demoWrenName)
	invite, _, err = g.CreateInvite(ctx, node.InviteOptions{Expires: time.Hour, Approval: true})
	if err != nil {
		return fmt.Errorf("creating an invite: %v", err)
	}
	res, err = wren.n.Join(ctx, invite, demoWrenName)
	if err != nil {
		return fmt.Errorf("%s joining: %v", demoWrenName, err)
	}
	d.say("   %s: %s.", demoWrenName, res.Status)
	var waiting node.JoinRequest
	if err := d.waitFor(ctx, demoHostName+" to see the request", func() bool {
		for _, r := range g.WaitingRoom() {
			if r.Pseudonym == demoWrenName {
				waiting = r
				return true
			}
		}
		return false
	}); err != nil {
		return err
	}
	d.say("   %s sees %q in the waiting room and admits them.", demoHostName, waiting.Pseudonym)
	if err := g.Admit(ctx, waiting.Member); err != nil {
		return fmt.Errorf("admitting %s: %v", demoWrenName, err)
	}
	if err := d.waitFor(ctx, demoWrenName+" to be admitted", func() bool { return wren.saw(node.EventJoined, id) }); err != nil {
		return err
	}
	if err := d.connectAll(ctx); err != nil {
		return err
	}
	if err := d.settle(ctx, id, host, sol, wren); err != nil {
		return err
	}
	d.say("   All three nodes now see 3 members at epoch %d.", g.Info().Epoch)

	d.say("")
	d.say("5. They talk. Each message is sealed by its author's node and opened by each reader's.")
	welcome, err := d.post(ctx, host, id, "Welcome, both of you. Nothing said here leaves this circle.", node.MessageID{})
	if err != nil {
		return err
	}
	thanks, err := d.post(ctx, sol, id, "Thank you. Ninety days today, and I wanted to tell someone.", node.MessageID{})
	if err != nil {
		return err
	}
	reply, err := d.post(ctx, wren, id, "Ninety days is a lot of mornings. I am glad you are here.", thanks.ID)
	if err != nil {
		return err
	}
	talk := []*node.Message{welcome, thanks, reply}
	if err := d.waitFor(ctx, "every node to receive every message", func() bool {
		for _, dn := range d.nodes {
			for _, m := range talk {
				if !dn.holds(id, m.ID) {
					return false
				}
			}
		}
		return true
	}); err != nil {
		return err
	}
	d.say("   Every node received all three messages.")

	d.say("")
	d.say("6. %s removes %s. The group moves to a new epoch whose keys %s never receives.", demoHostName, demoSolName, demoSolName)
	sg, err := sol.n.Group(id)
	if err != nil {
		return err
	}
	if err := g.Remove(ctx, sg.Info().Me.ID); err != nil {
		return fmt.Errorf("removing %s: %v", demoSolName, err)
	}
	if err := d.waitFor(ctx, demoSolName+"'s node to learn of the removal", func() bool { return sol.saw(node.EventRemoved, id) }); err != nil {
		return err
	}
	if err := d.settle(ctx, id, host, wren); err != nil {
		return err
	}
	after, err := d.post(ctx, host, id, "Sol has stepped away for now; we keep a chair for them.", node.MessageID{})
	if err != nil {
		return err
	}
	if err := d.waitFor(ctx, demoWrenName+" to receive the message", func() bool { return wren.holds(id, after.ID) }); err != nil {
		return err
	}
	if sol.holds(id, after.ID) {
		return errors.New("the removed member's node holds a message sent after the removal")
	}
	d.say("   %s's message after the removal reached %s; %s's node cannot read it and does not hold it.", demoHostName, demoWrenName, demoSolName)

	d.say("")
	d.say("7. What each node saw:")
	for _, dn := range d.nodes {
		d.say("   %s:", dn.pseudonym)
		for _, line := range dn.story(id) {
			d.say("     %s", line)
		}
	}

	d.say("")
	d.say("8. Stopping the nodes (everything is flushed to disk), then reading the files as a thief would.")
	if err := d.closeNodes(); err != nil {
		return err
	}
	if err := d.dumpLargest(host.dir); err != nil {
		return err
	}
	secrets := []string{demoGroupName, demoHostName, demoSolName, demoWrenName}
	for _, m := range append(talk, after) {
		secrets = append(secrets, m.Text)
	}
	files, size, found, err := searchFiles(d.root, secrets)
	if err != nil {
		return err
	}
	if len(found) > 0 {
		return fmt.Errorf("found readable text on disk: %s", strings.Join(found, "; "))
	}
	d.say("   Checked %d files (%d bytes) in the three homes: the group name, the pseudonyms and the message texts appear in none of them. Only ciphertext is on disk.", files, size)
	d.say("")
	return nil
}

// startNode makes a home for pseudonym under the demo's directory, unlocks
// it, starts its node on loopback and records its events.
func (d *demo) startNode(ctx context.Context, pseudonym string) (*demoNode, error) {
	dir := filepath.Join(d.root, strings.ToLower(strings.Fields(pseudonym)[0]))
	// The passphrase protects a home that lives for a minute; it is
	// random anyway, so nothing guessable is ever on disk.
	pass := make([]byte, 16)
	if _, err := cryptorand.Read(pass); err != nil {
		return nil, fmt.Errorf("cannot draw a passphrase: %v", err)
	}
	defer crypto.Wipe(pass)
	if err := node.InitHome(dir, pass, demoKDF(), nil); err != nil {
		return nil, fmt.Errorf("creating a home for %s: %v", pseudonym, err)
	}
	ks, err := node.UnlockHome(dir, pass)
	if err != nil {
		return nil, fmt.Errorf("opening the home of %s: %v", pseudonym, err)
	}
	n, err := node.New(ctx, node.Config{
		DataDir:     dir,
		Keystore:    ks,
		ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		Now:         d.e.now,
		EventBuffer: 4096,
	})
	if err != nil {
		ks.Close()
		return nil, fmt.Errorf("starting the node of %s: %v", pseudonym, err)
	}
	dn := &demoNode{pseudonym: pseudonym, dir: dir, ks: ks, n: n, sub: n.Subscribe(), drained: make(chan struct{})}
	go dn.record(d.wake)
	d.nodes = append(d.nodes, dn)
	return dn, nil
}

// record keeps every event of dn's subscription until it closes.
func (dn *demoNode) record(wake chan<- struct{}) {
	defer close(dn.drained)
	for ev := range dn.sub.Events() {
		dn.mu.Lock()
		dn.events = append(dn.events, ev)
		dn.mu.Unlock()
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

// saw reports whether dn emitted an event of kind for group id.
func (dn *demoNode) saw(kind node.EventKind, id crypto.GroupID) bool {
	dn.mu.Lock()
	defer dn.mu.Unlock()
	for _, ev := range dn.events {
		if ev.Kind == kind && ev.Group == id {
			return true
		}
	}
	return false
}

// holds reports whether dn's history of group id has the message mid.
func (dn *demoNode) holds(id crypto.GroupID, mid node.MessageID) bool {
	g, err := dn.n.Group(id)
	if err != nil {
		return false
	}
	page, err := g.History(node.MessageID{}, 1000)
	if err != nil {
		return false
	}
	for _, m := range page {
		if m.ID == mid {
			return true
		}
	}
	return false
}

// story describes, one line each, the events dn emitted for group id.
func (dn *demoNode) story(id crypto.GroupID) []string {
	dn.mu.Lock()
	defer dn.mu.Unlock()
	// Messages can arrive before the one they answer: name authors from
	// every message first.
	names := make(map[node.MessageID]string)
	for _, ev := range dn.events {
		if ev.Kind == node.EventMessage {
			names[ev.Message.ID] = ev.Message.Pseudonym
		}
	}
	var out []string
	for _, ev := range dn.events {
		if ev.Group != id {
			continue
		}
		switch ev.Kind {
		case node.EventMessage:
			m := ev.Message
			line := fmt.Sprintf("message from %s: %q", m.Pseudonym, m.Text)
			if !m.ReplyTo.IsZero() {
				line = fmt.Sprintf("message from %s, replying to %s: %q", m.Pseudonym, names[m.ReplyTo], m.Text)
			}
			out = append(out, line)
		case node.EventMemberJoined:
			out = append(out, fmt.Sprintf("%s joined", ev.Member.Pseudonym))
		case node.EventMemberLeft:
			out = append(out, fmt.Sprintf("%s left", ev.Member.Pseudonym))
		case node.EventMemberRemoved:
			out = append(out, fmt.Sprintf("%s was removed", ev.Member.Pseudonym))
		case node.EventRoleChanged:
			out = append(out, fmt.Sprintf("%s is now %s", ev.Member.Pseudonym, ev.Member.Role))
		case node.EventRemoved:
			out = append(out, "this member was removed from the group; its history stays readable here")
		case node.EventJoinRequest:
			out = append(out, fmt.Sprintf("%s asked to join and waits for approval", ev.Request.Pseudonym))
		case node.EventJoined:
			out = append(out, "admitted to the group")
		case node.EventJoinDenied:
			out = append(out, "the request to join was declined")
		case node.EventEpochChanged:
			out = append(out, fmt.Sprintf("the group moved to epoch %d (new keys)", ev.Epoch))
		}
	}
	return out
}

// connectAll connects every pair of running nodes.
func (d *demo) connectAll(ctx context.Context) error {
	for i, a := range d.nodes {
		for _, b := range d.nodes[i+1:] {
			infos, err := peer.AddrInfosFromP2pAddrs(b.n.Addrs()...)
			if err != nil || len(infos) != 1 {
				return fmt.Errorf("the addresses of %s do not name one node: %v", b.pseudonym, err)
			}
			if err := a.n.Connect(ctx, infos[0]); err != nil {
				return fmt.Errorf("connecting %s to %s: %v", a.pseudonym, b.pseudonym, err)
			}
		}
	}
	return nil
}

// settle waits until every one of members sees a roster of exactly that
// many members at one common epoch.
func (d *demo) settle(ctx context.Context, id crypto.GroupID, members ...*demoNode) error {
	return d.waitFor(ctx, "every member to see the same roster", func() bool {
		var epoch uint64
		for i, m := range members {
			g, err := m.n.Group(id)
			if err != nil {
				return false
			}
			info := g.Info()
			if info.Members != len(members) || info.Removed {
				return false
			}
			if i == 0 {
				epoch = info.Epoch
			} else if info.Epoch != epoch {
				return false
			}
		}
		return true
	})
}

// post has dn post text to group id and narrates it.
func (d *demo) post(ctx context.Context, dn *demoNode, id crypto.GroupID, text string, replyTo node.MessageID) (*node.Message, error) {
	g, err := dn.n.Group(id)
	if err != nil {
		return nil, err
	}
	m, err := g.Post(ctx, text, replyTo)
	if err != nil {
		return nil, fmt.Errorf("%s posting: %v", dn.pseudonym, err)
	}
	d.say("   %s: %s", dn.pseudonym, text)
	return m, nil
}

// waitFor waits until cond holds, re-checking it whenever a node emits an
// event and, for changes that emit none (a connection, a mesh), every
// 50 ms. It fails after demoWait, naming what it waited for.
func (d *demo) waitFor(ctx context.Context, what string, cond func() bool) error {
	deadline := time.NewTimer(demoWait)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-d.wake:
		case <-tick.C:
		case <-deadline.C:
			return fmt.Errorf("gave up after %v waiting for %s", demoWait, what)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// closeNodes stops every node still running and closes its keystore. It is
// safe to call more than once.
func (d *demo) closeNodes() error {
	var errs []error
	for _, dn := range d.nodes {
		if dn.n == nil {
			continue
		}
		if err := dn.n.Close(); err != nil {
			errs = append(errs, fmt.Errorf("stopping the node of %s: %v", dn.pseudonym, err))
		}
		dn.sub.Close()
		<-dn.drained
		dn.ks.Close()
		dn.n = nil
	}
	return oneLine(errs...)
}

// dumpLargest prints demoDumpBytes from the middle of the largest table
// or value-log file of the database in the home dir, in hex. Badger
// preallocates some files and pads others with zeros; the size that counts
// is up to the last non-zero byte, so the dump shows data, not padding.
func (d *demo) dumpLargest(dir string) error {
	var best string
	var bestData []byte
	err := filepath.WalkDir(filepath.Join(dir, "store"), func(path string, de fs.DirEntry, err error) error {
		if err != nil || !de.Type().IsRegular() {
			return err
		}
		if ext := filepath.Ext(path); ext != ".sst" && ext != ".vlog" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		b = bytes.TrimRight(b, "\x00")
		if len(b) > len(bestData) {
			best, bestData = path, b
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading the host's database files: %v", err)
	}
	if best == "" {
		return errors.New("the host's database holds no table or value-log file")
	}
	off := max(len(bestData)/2-demoDumpBytes/2, 0)
	slice := bestData[off:min(off+demoDumpBytes, len(bestData))]
	rel, _ := filepath.Rel(d.root, best)
	d.say("   %d bytes of %s, from offset %d:", len(slice), rel, off)
	for line := range strings.SplitSeq(strings.TrimRight(hex.Dump(slice), "\n"), "\n") {
		d.say("   %s", line)
	}
	return nil
}

// searchFiles reads every regular file under root and reports how many
// there are, their total size, and which of secrets occur in which file.
func searchFiles(root string, secrets []string) (files int, size int64, found []string, err error) {
	err = filepath.WalkDir(root, func(path string, de fs.DirEntry, err error) error {
		if err != nil || !de.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		size += int64(len(b))
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				rel, _ := filepath.Rel(root, path)
				found = append(found, fmt.Sprintf("%q in %s", s, rel))
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, nil, fmt.Errorf("reading the homes' files: %v", err)
	}
	sort.Strings(found)
	return files, size, found, nil
}
