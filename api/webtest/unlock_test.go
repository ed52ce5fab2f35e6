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

// startLockedDaemon creates a home sealed under pass with `hearth init`,
// then runs `hearth up` on it with no passphrase file and standard input
// not a terminal (it is /dev/null), as a desktop launcher or a service
// manager starts it, and returns once it has printed its login link. The
// daemon is stopped with SIGINT when the test ends.
func startLockedDaemon(t *testing.T, bin, pass string) *daemon {
	t.Helper()
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	passFile := filepath.Join(dir, "passphrase")
	if err := os.WriteFile(passFile, []byte(pass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HEARTH_") {
			env = append(env, kv)
		}
	}
	initCmd := exec.Command(bin, "init", "--home", home, "--passphrase-file", passFile)
	initCmd.Env = env
	if out, err := initCmd.CombinedOutput(); err != nil {
		t.Fatalf("hearth init: %v\n%s", err, out)
	}

	cmd := exec.Command(bin, "up", "--home", home, "--listen", "/ip4/127.0.0.1/tcp/0", "--api", "127.0.0.1:0")
	cmd.Env = env
	d := &daemon{name: "locked", home: home, stderr: &syncBuffer{}}
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
	d.exited = exited
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("locked: the daemon did not stop within 15 s of SIGINT")
		}
		if t.Failed() {
			t.Logf("locked daemon's output:\n%s\nlog:\n%s", stdout, d.stderr)
		}
	})
	select {
	case d.loginURL = <-found:
	case <-exited:
		t.Fatalf("hearth up exited before printing a login link:\n%s", d.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("hearth up printed no login link within 60 s:\n%s", d.stderr)
	}
	if !strings.Contains(stdout.String(), "Hearth is locked") {
		t.Errorf("hearth up on a home without a terminal or passphrase file did not say it is locked:\n%s", stdout)
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

// TestUnlockInBrowser: a member whose Hearth was started without a
// terminal (a launcher, a service) opens the login link and is asked for
// the passphrase in plain words, with the field focused; a wrong one is
// refused with a message screen readers read and the home stays locked;
// the right one opens the groups screen with a node that runs.
func TestUnlockInBrowser(t *testing.T) {
	needChromium(t)
	if testing.Short() {
		t.Skip("the browser test starts a daemon and a browser; skipped with -short")
	}
	const right = "copper lantern river autumn"
	shots := screenshotDir(t)
	bin := buildHearth(t)
	b := newBrowser(t, "browser")
	d := startLockedDaemon(t, bin, right)
	defer b.checkConsole()

	b.do("signing in", chromedp.Navigate(d.loginURL))
	b.waitText("main h1", "Unlock Hearth")
	b.waitText("main", "Hearth is locked. Enter your passphrase to open it.")
	b.waitJS("the passphrase field to have focus", `document.activeElement && document.activeElement.id === "unlock-pass"`)
	b.waitJS("the field's label", `document.querySelector('label[for="unlock-pass"]').textContent === "Passphrase"`)
	if !eval[bool](b, `document.getElementById("nav").hidden`) {
		t.Error("the navigation shows while Hearth is locked")
	}
	b.shot(shots, "unlock")

	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	if _, err := d.client.Status(ctx); err == nil || !strings.Contains(err.Error(), "unlock it") {
		t.Fatalf("status while locked: %v, want the locked message", err)
	}

	b.do("typing a wrong passphrase",
		chromedp.SendKeys("#unlock-pass", "copper lantern river autumm"),
		chromedp.Click(`#unlock-form button[type="submit"]`))
	b.waitText("#unlock-error", "does not open this Hearth home")
	b.waitJS("the error to be announced and tied to the field",
		`document.getElementById("unlock-error").getAttribute("role") === "alert" && `+
			`document.getElementById("unlock-pass").getAttribute("aria-invalid") === "true" && `+
			`document.getElementById("unlock-pass").getAttribute("aria-describedby").includes("unlock-error")`)
	b.waitJS("the button to be back", `!document.querySelector('#unlock-form button[type="submit"]').disabled`)
	b.shot(shots, "unlock-wrong")
	if _, err := d.client.Status(ctx); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("status after a wrong passphrase: %v, want locked", err)
	}

	eval[bool](b, `(() => { document.getElementById("unlock-pass").value = ""; return true; })()`)
	b.do("typing the right passphrase",
		chromedp.SendKeys("#unlock-pass", right),
		chromedp.Click(`#unlock-form button[type="submit"]`))
	b.waitText("main h1", "Your groups")
	b.waitJS("the navigation", `!document.getElementById("nav").hidden`)
	b.shot(shots, "unlock-groups")
	st, err := d.client.Status(ctx)
	if err != nil || st.PeerID == "" {
		t.Fatalf("status after unlocking: %+v, %v", st, err)
	}
	if log := d.stderr.String(); strings.Contains(log, right) || strings.Contains(log, "autumm") {
		t.Fatal("a passphrase is in the daemon's log")
	}
	if !strings.Contains(d.stderr.String(), "a passphrase typed in the web UI did not open the home") {
		t.Error("the log does not say a wrong passphrase was typed")
	}
}
