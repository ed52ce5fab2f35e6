package webtest

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/node"
)

// TestMailboxUI names a group's mailbox through the web UI. A mailbox
// node runs in this process; ann (the host, a real daemon) opens her
// group's Mailbox tab, which says the group has none, pastes the text
// 'hearth mailbox info' prints there, and sees the mailbox named (and the
// mailbox now serves the group); then she stops using it after a
// confirmation. Screenshots at desktop and phone widths.
func TestMailboxUI(t *testing.T) {
	needChromium(t)
	if testing.Short() {
		t.Skip("the browser test starts a daemon and a browser; skipped with -short")
	}
	shots := screenshotDir(t)
	bin := buildHearth(t)
	annCh := make(chan *daemon, 1)
	go func() { annCh <- startDaemonOrNil(t, bin, "ann") }()
	mb := startMailbox(t)
	ab := newBrowser(t, "ann's browser")
	ann := <-annCh
	if ann == nil {
		t.FailNow()
	}
	defer ab.checkConsole()
	ctx := t.Context()
	group, err := ann.client.CreateGroup(ctx, "Evening circle", "ann", "")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := mb.MailboxRegistration()
	if err != nil {
		t.Fatal(err)
	}

	ab.do("signing in (ann)", chromedp.Navigate(ann.loginURL))
	ab.waitText("main h1", "Your groups")
	ab.do("opening the Mailbox tab", chromedp.Navigate(ann.base+"/#/g/"+group+"/mailbox"))
	ab.waitText("#mailbox-none", "This group has no mailbox.")
	ab.shot(shots, "mailbox-none")
	ab.do("pasting something else", chromedp.SetValue("#mailbox-registration", "not the right text"),
		chromedp.Click(`main form button[type="submit"]`))
	ab.waitText("main form", "it begins")
	pasted := "This node is a mailbox for 0 group(s).\nA host names it as a group's mailbox with:\n  hearth mailbox add GROUP " + reg + "\n"
	ab.do("pasting what the mailbox printed", chromedp.SetValue("#mailbox-registration", pasted),
		chromedp.Click(`main form button[type="submit"]`))
	ab.waitText("#mailbox-current", mb.PeerID().String())
	ab.shot(shots, "mailbox-named")

	got, err := ann.client.GroupMailbox(ctx, group)
	if err != nil || got.PeerID != mb.PeerID().String() {
		t.Fatalf("the group's mailbox is %+v (%v), want %s", got, err, mb.PeerID())
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if s, err := mb.MailboxStats(); err == nil && s.Groups == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the mailbox does not serve the group after the host named it")
		}
		time.Sleep(50 * time.Millisecond)
	}

	ab.do("stopping", chromedp.Click("#mailbox-remove"))
	ab.do("confirming", chromedp.Click("#confirm-ok"))
	ab.waitText("#mailbox-none", "This group has no mailbox.")
	if _, err := ann.client.GroupMailbox(ctx, group); err == nil || !strings.Contains(err.Error(), "no mailbox") {
		t.Fatalf("after stopping, the group's mailbox: %v", err)
	}
}

// startMailbox runs a mailbox node in this process, on loopback.
func startMailbox(t *testing.T) *node.Node {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mailbox")
	pass := []byte("a passphrase for the mailbox")
	if err := node.InitHome(dir, pass, crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}, nil); err != nil {
		t.Fatal(err)
	}
	ks, err := node.UnlockHome(dir, pass)
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.New(t.Context(), node.Config{
		DataDir: dir, Keystore: ks, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		Mailbox: node.MailboxConfig{Enabled: true},
	})
	if err != nil {
		ks.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.Close()
		ks.Close()
	})
	return n
}
