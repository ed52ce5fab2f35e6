package webtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hearthnet/hearth/api/client"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// stepTimeout bounds one step of a test: a page load, or waiting for
// something to appear. Joining dials the host over libp2p; everything else
// is local.
const stepTimeout = 45 * time.Second

func needChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skip("the browser tests need Debian's headless Chromium at " + chromiumPath +
			" (apt-get install chromium; .ci/run installs it)")
	}
}

// syncBuffer collects a process's output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// buildHearth builds the hearth binary into a temporary directory.
func buildHearth(t *testing.T) string {
	t.Helper()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	bin := filepath.Join(t.TempDir(), "hearth")
	cmd := exec.CommandContext(t.Context(), goTool, "build", "-o", bin, "github.com/hearthnet/hearth/cmd/hearth")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building hearth: %v\n%s", err, out)
	}
	return bin
}

// daemon is one `hearth up` process with its own home.
type daemon struct {
	name     string
	home     string
	base     string // http://127.0.0.1:PORT
	loginURL string
	stderr   *syncBuffer
	client   *client.Client
	// exited is closed when the process has exited.
	exited <-chan struct{}
}

var loginLine = regexp.MustCompile(`^\s+(http://127\.0\.0\.1:[0-9]+/login\?code=[A-Za-z0-9_-]+)\s*$`)

// startDaemon runs `hearth up` on loopback with a fresh home and returns
// once it has printed its login link. The daemon is stopped with SIGINT
// when the test ends.
func startDaemon(t *testing.T, bin, name string) *daemon {
	t.Helper()
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	pass := filepath.Join(dir, "passphrase")
	if err := os.WriteFile(pass, []byte("a passphrase for "+name+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "up", "--home", home, "--passphrase-file", pass,
		"--listen", "/ip4/127.0.0.1/tcp/0", "--api", "127.0.0.1:0")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HEARTH_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	d := &daemon{name: name, home: home, stderr: &syncBuffer{}}
	cmd.Stderr = d.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
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
			t.Errorf("%s: the daemon did not stop within 15 s of SIGINT", name)
		}
		if t.Failed() {
			t.Logf("%s daemon's log:\n%s", name, d.stderr)
		}
	})
	select {
	case d.loginURL = <-found:
	case <-exited:
		t.Fatalf("%s: hearth up exited before printing a login link:\n%s", name, d.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("%s: hearth up printed no login link within 60 s:\n%s", name, d.stderr)
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

// browser is one headless Chromium with its own profile, and one tab in it.
type browser struct {
	t       *testing.T
	name    string
	ctx     context.Context
	console *syncBuffer // exceptions and CSP reports seen by the tab
}

// newBrowser starts a Chromium that talks to nothing but loopback (no
// background networking, updates, sync or QUIC) and maps the name
// evil.test to 127.0.0.1, for the foreign-Host test.
func newBrowser(t *testing.T, name string) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("host-resolver-rules", "MAP evil.test 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		acancel()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: starting Chromium: %v", name, err)
	}
	b := &browser{t: t, name: name, ctx: ctx, console: &syncBuffer{}}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Refused to") {
				fmt.Fprintf(b.console, "%s %s:%d %s\n", m.Type, m.URL, m.Line+1, m.Text)
			}
		}
	}()
	return b
}

// do runs actions with the step timeout, failing the test with what the
// page showed when one fails.
//
// A single action (a click, most often) that fails because the element it
// found was replaced before it could act ("Could not find node with given
// id": the live event stream re-rendered that part of the screen between
// chromedp's query and its scroll or click) is tried again: the failure
// comes before any input reaches the page, so nothing happens twice. A
// list of actions is never retried, since typing twice would.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	err := chromedp.Do(ctx, actions...)
	for try := 0; err != nil && len(actions) == 1 && try < 3 && strings.Contains(err.Error(), "Could not find node with given id"); try++ {
		err = chromedp.Do(ctx, actions...)
	}
	if err != nil {
		b.t.Fatalf("%s: %s: %v\n%s", b.name, what, err, b.pageText())
	}
}

// waitJS waits until the JavaScript expression is truthy.
func (b *browser) waitJS(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(stepTimeout))); err != nil {
		b.t.Fatalf("%s: waiting for %s: %v\npage:\n%s", b.name, what, err, b.pageText())
	}
}

// waitText waits until the element sel exists and its text holds want.
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	b.waitJS(fmt.Sprintf("%q in %s", want, sel),
		fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); })()`, sel, want))
}

// eval evaluates a JavaScript expression and returns its value.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("%s: evaluating %s: %v", b.name, expr, err)
	}
	return v
}

// pageText is the address and visible text of the page, for failures.
func (b *browser) pageText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
	if err != nil {
		return "(page unreadable: " + err.Error() + ")"
	}
	return s
}

// screenshotDir is where screenshots go: $HEARTH_SCREENSHOTS, else
// test-output/screenshots at the repository's root (gitignored).
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("HEARTH_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "test-output", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// shot saves the screen at desktop (1280x800) and phone (360x740) sizes
// as name-desktop.png and name-phone.png, and checks that at phone width
// nothing is wider than the screen (no sideways scrolling).
func (b *browser) shot(dir, name string) {
	b.t.Helper()
	b.shotOf(dir, name, chromedp.CaptureScreenshot())
}

// fullShot is shot of the whole page, scrolled or not.
func (b *browser) fullShot(dir, name string) {
	b.t.Helper()
	b.shotOf(dir, name, chromedp.FullScreenshot(100))
}

func (b *browser) shotOf(dir, name string, capture chromedp.Action[[]byte]) {
	b.t.Helper()
	b.checkLabels(name)
	sizes := []struct {
		suffix string
		w, h   int64
		mobile bool
	}{{"desktop", 1280, 800, false}, {"phone", 360, 740, true}}
	for _, s := range sizes {
		opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
		if s.mobile {
			opts = append(opts, chromedp.EmulateMobile)
		}
		b.do("resizing to "+s.suffix, chromedp.EmulateViewport(s.w, s.h, opts...))
		if s.mobile {
			if w := eval[int](b, `document.documentElement.scrollWidth`); w > int(s.w) {
				b.t.Errorf("%s: screen %q is %d px wide at a %d px phone width", b.name, name, w, s.w)
			}
		}
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		buf, err := chromedp.Run(ctx, capture)
		cancel()
		if err != nil {
			b.t.Fatalf("%s: screenshot %s: %v", b.name, name, err)
		}
		if _, err := png.DecodeConfig(bytes.NewReader(buf)); err != nil {
			b.t.Fatalf("%s: screenshot %s is not a PNG: %v", b.name, name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-"+s.suffix+".png"), buf, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.do("resizing back", chromedp.EmulateViewport(1280, 800, chromedp.EmulateScale(1)))
}

// checkLabels fails the test if a visible control on the screen has no
// name a screen reader could say: form fields need a <label> or
// aria-label, buttons and links need text or aria-label.
func (b *browser) checkLabels(screen string) {
	b.t.Helper()
	missing := eval[[]string](b, `(() => {
		const out = [];
		const visible = (e) => e.getClientRects().length > 0;
		for (const e of document.querySelectorAll("input, select, textarea")) {
			if (visible(e) && e.labels.length === 0 && !e.getAttribute("aria-label")) out.push(e.outerHTML.slice(0, 80));
		}
		for (const e of document.querySelectorAll("button, a[href]")) {
			if (visible(e) && !(e.textContent.trim() || e.getAttribute("aria-label") || e.querySelector("img[alt]:not([alt=''])"))) out.push(e.outerHTML.slice(0, 80));
		}
		return out;
	})()`)
	for _, m := range missing {
		b.t.Errorf("%s: screen %q has a control without a name: %s", b.name, screen, m)
	}
}

// takeConsole returns what the tab reported so far and forgets it.
func (b *browser) takeConsole() string {
	b.console.mu.Lock()
	defer b.console.mu.Unlock()
	s := b.console.b.String()
	b.console.b.Reset()
	return s
}

// checkConsole fails the test if the tab threw an exception or reported
// a Content-Security-Policy violation.
func (b *browser) checkConsole() {
	b.t.Helper()
	if s := b.console.String(); s != "" {
		b.t.Errorf("%s: the page reported errors:\n%s", b.name, s)
	}
}

// browserTest begins a browser test: it skips without Chromium or under
// -short, then starts a daemon for each name in daemons and a browser for
// each name in browsers, all at once, and fails the test if a daemon does
// not start. Each browser's console is checked when the test ends.
func browserTest(t *testing.T, daemons []string, browsers ...string) ([]*daemon, []*browser) {
	t.Helper()
	needChromium(t)
	if testing.Short() {
		t.Skip("the browser test starts daemons and a browser; skipped with -short")
	}
	bin := buildHearth(t)
	started := make([]chan *daemon, len(daemons))
	for i, name := range daemons {
		started[i] = make(chan *daemon, 1)
		go func() { started[i] <- startDaemonOrNil(t, bin, name) }()
	}
	bs := make([]*browser, len(browsers))
	for i, name := range browsers {
		bs[i] = newBrowser(t, name)
	}
	ds := make([]*daemon, len(daemons))
	failed := false
	for i, ch := range started {
		ds[i] = <-ch
		failed = failed || ds[i] == nil
	}
	if failed {
		t.FailNow()
	}
	for _, b := range bs {
		t.Cleanup(b.checkConsole)
	}
	return ds, bs
}
