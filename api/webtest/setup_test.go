package webtest

import (
	"bufio"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hearthnet/hearth/api/client"
)

// startSetupDaemon runs `hearth up` on a new home with no passphrase file
// and standard input not a terminal (it is /dev/null), as a program started
// from a desktop launcher is, and returns once it has printed its login
// link. The daemon is stopped with SIGINT when the test ends.
func startSetupDaemon(t *testing.T, bin string) *daemon {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	cmd := exec.Command(bin, "up", "--home", home, "--listen", "/ip4/127.0.0.1/tcp/0", "--api", "127.0.0.1:0")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HEARTH_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	d := &daemon{name: "setup", home: home, stderr: &syncBuffer{}}
	cmd.Stderr = d.stderr
	stdout := &syncBuffer{}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	exited := make(chan struct{})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			stdout.Write([]byte(sc.Text() + "\n"))
			if m := loginLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("setup: the daemon did not stop within 15 s of SIGINT")
		}
		if t.Failed() {
			t.Logf("setup daemon's output:\n%s\nlog:\n%s", stdout, d.stderr)
		}
	})
	select {
	case d.loginURL = <-found:
	case <-exited:
		t.Fatalf("hearth up exited before printing a login link:\n%s", d.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("hearth up printed no login link within 60 s:\n%s", d.stderr)
	}
	if !strings.Contains(stdout.String(), "To choose your passphrase") {
		t.Errorf("hearth up on a new home without a terminal did not say it waits for setup:\n%s", stdout)
	}
	u, err := url.Parse(d.loginURL)
	if err != nil {
		t.Fatal(err)
	}
	d.base = "http://" + u.Host
	if d.client, err = client.NewFromHome(home); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestFirstRunSetup: a person who never touches a terminal beyond starting
// the program opens the login link, reads what Hearth protects and what it
// does not, is told a weak passphrase is weak and a short one refused,
// chooses a good one twice, and lands on the groups screen with a node
// that runs: they start a group.
func TestFirstRunSetup(t *testing.T) {
	needChromium(t)
	if testing.Short() {
		t.Skip("the browser test starts a daemon and a browser; skipped with -short")
	}
	shots := screenshotDir(t)
	bin := buildHearth(t)
	b := newBrowser(t, "browser")
	d := startSetupDaemon(t, bin)
	defer b.checkConsole()
	if _, err := os.Stat(filepath.Join(d.home, "keystore")); err == nil {
		t.Fatal("the home has a keystore before a passphrase was chosen")
	}

	b.do("signing in", chromedp.Navigate(d.loginURL))
	b.waitText("main h1", "Set up Hearth")
	b.waitText("main", "directly between your computers")
	b.waitText("main", "It cannot stop a member from copying")
	b.waitText("#setup-no-recovery", "Nobody can recover this passphrase")
	b.waitText("#setup-strength", "Too short")
	b.shot(shots, "setup")

	// A weak passphrase: the hint says why as it is typed; a short one is
	// refused and nothing is created.
	b.do("typing a common passphrase", chromedp.SendKeys("#setup-pass", "password1234"))
	b.waitText("#setup-strength", "Weak")
	b.waitText("#setup-strength-notes", "“password”")
	b.waitText("#setup-strength-notes", "1234")
	b.shot(shots, "setup-weak")
	clearFields(b)
	b.do("shortening it", chromedp.SendKeys("#setup-pass", "sunny"),
		chromedp.SendKeys("#setup-again", "sunny"), chromedp.Click(`#setup-form button[type="submit"]`))
	b.waitText("#setup-form .error", "too short")
	b.waitText("#setup-strength", "Too short")

	// Two passphrases that differ are refused.
	good := "copper lantern river autumn"
	clearFields(b)
	b.do("typing a good passphrase and a different one",
		chromedp.SendKeys("#setup-pass", good), chromedp.SendKeys("#setup-again", good+"s"),
		chromedp.Click(`#setup-form button[type="submit"]`))
	b.waitText("#setup-form .error", "differ")
	b.waitText("#setup-strength", "Strong")
	if _, err := os.Stat(filepath.Join(d.home, "keystore")); err == nil {
		t.Fatal("a refused passphrase created the home")
	}
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	if _, err := d.client.Status(ctx); err == nil || !strings.Contains(err.Error(), "web UI") {
		t.Fatalf("status before setup: %v, want the setup_required message", err)
	}

	// The good one twice: the home is created, and the groups screen shows.
	b.do("confirming the passphrase", chromedp.SendKeys("#setup-again", good), chromedp.Click(`#setup-form button[type="submit"]`))
	b.waitText("main h1", "Your groups")
	b.waitText("main", "Welcome to Hearth")
	if _, err := os.Stat(filepath.Join(d.home, "keystore")); err != nil {
		t.Fatalf("no keystore after setup: %v", err)
	}
	if strings.Contains(d.stderr.String(), good) {
		t.Fatal("the passphrase is in the daemon's log")
	}

	b.do("starting a group", chromedp.Click(`a[href="#/new"]`))
	b.waitText("main h1", "Start a group")
	b.do("filling the group form",
		chromedp.SendKeys("#group-name", "First circle"),
		chromedp.SendKeys("#group-pseudonym", "Robin"),
		chromedp.Click(`main form button[type="submit"]`))
	b.waitJS("the invite screen", `/^#\/g\/[0-9a-f]{32}\/invites$/.test(location.hash)`)
	b.waitText("main h1", "First circle")
	gs, err := d.client.Groups(ctx)
	if err != nil || len(gs) != 1 || gs[0].Name != "First circle" {
		t.Fatalf("the daemon's groups after setup: %+v, %v", gs, err)
	}

	// The status screen keeps the peer count and says what it knows of
	// reachability.
	b.do("opening the status screen", chromedp.Click("#nav-status"))
	b.waitText("main h1", "Status")
	b.waitText("#status-peers", "0")
	b.waitText("#status-reach", "Not known yet")
	b.shot(shots, "setup-status")
}

// clearFields empties both passphrase fields as a person selecting and
// deleting would, so the strength hint hears of it.
func clearFields(b *browser) {
	b.t.Helper()
	eval[bool](b, `(() => {
		for (const id of ["setup-pass", "setup-again"]) {
			const e = document.getElementById(id);
			e.value = "";
			e.dispatchEvent(new Event("input", { bubbles: true }));
		}
		return true;
	})()`)
}
