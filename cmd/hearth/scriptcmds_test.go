package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// loginLinkRE finds a login link in a command's output.
var loginLinkRE = regexp.MustCompile(`http://[^\s"/]+/login\?code=[A-Za-z0-9_-]+`)

// cmdLogin is the script command "login FILE STATUS": it opens the first
// login link in FILE as a browser would (Accept text/html, no redirects
// followed), fails unless the answer has STATUS, and writes the answer's
// Content-Type and body to login.out.
func cmdLogin(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: login FILE STATUS")
	}
	link := loginLinkRE.FindString(ts.ReadFile(args[0]))
	if link == "" {
		ts.Fatalf("login: %s holds no login link", args[0])
	}
	req, err := http.NewRequest(http.MethodGet, link, nil)
	ts.Check(err)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	hc := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	ts.Check(err)
	out := "Content-Type: " + resp.Header.Get("Content-Type") + "\n" + string(body)
	ts.Check(os.WriteFile(filepath.Join(ts.Getenv("WORK"), "login.out"), []byte(out), 0o600))
	if want, err := strconv.Atoi(args[1]); err != nil || resp.StatusCode != want {
		ts.Fatalf("login: status %d, want %s: %s", resp.StatusCode, args[1], body)
	}
}

// cmdPathWithout is the script command "pathwithout NAME...": it drops
// from PATH every directory holding a program called one of NAMEs, so a
// script can show what a command does where that program is missing
// (hearth itself stays reachable).
func cmdPathWithout(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: pathwithout NAME...")
	}
	var kept []string
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		has := false
		for _, name := range args {
			if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && !fi.IsDir() {
				has = true
			}
		}
		if !has {
			kept = append(kept, dir)
		}
	}
	ts.Setenv("PATH", strings.Join(kept, string(filepath.ListSeparator)))
}

// cmdCapture is the script command "capture VAR FILE REGEXP": it sets the
// environment variable VAR to the first submatch of REGEXP (multi-line
// mode) in FILE, and fails when there is none. Scripts use it to carry an
// ID a command printed into the next command.
func cmdCapture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: capture VAR FILE REGEXP")
	}
	re, err := regexp.Compile("(?m)" + args[2])
	ts.Check(err)
	m := re.FindStringSubmatch(ts.ReadFile(args[1]))
	if len(m) < 2 {
		ts.Fatalf("capture: %s has nothing matching %s", args[1], args[2])
	}
	ts.Setenv(args[0], m[1])
}

// cmdPerm is the script command "perm FILE MODE": it fails unless FILE's
// permission bits are MODE (octal, such as 0600).
func cmdPerm(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: perm FILE MODE")
	}
	want, err := strconv.ParseUint(args[1], 8, 32)
	ts.Check(err)
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	if got := fi.Mode().Perm(); got != os.FileMode(want) {
		ts.Fatalf("%s has mode %04o, want %04o", args[0], got, want)
	}
}

// cmdTerm is the script command "term HOME": it sends SIGTERM, as a
// service manager stopping the daemon does, to the process whose PID the
// lock file of HOME holds (testscript's kill sends only SIGINT or SIGKILL).
func cmdTerm(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: term HOME")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(ts.ReadFile(filepath.Join(args[0], lockFileName))))
	if err != nil || pid <= 0 {
		ts.Fatalf("term: the lock file of %s holds no PID", args[0])
	}
	p, err := os.FindProcess(pid)
	ts.Check(err)
	ts.Check(p.Signal(syscall.SIGTERM))
}
