package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hearthnet/hearth/crypto"
)

// testKDF are the Argon2id parameters homes are created with in tests: the
// cheapest the keystore accepts, so that scripts which create many homes
// stay fast. The real binary always uses crypto.DefaultKDFParams.
func testKDF() crypto.KDFParams { return crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1} }

// TestMain lets the test binary act as the hearth command inside scripts, so
// the scripts exercise the real argument parsing, output, signal handling and
// exit codes. Only the key derivation cost differs from the real binary.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"hearth": func() {
			ctx, stop := shutdownOnSignal(context.Background())
			e := osEnv()
			e.kdf = testKDF()
			code := run(ctx, e, os.Args[1:])
			stop()
			os.Exit(code)
		},
	})
}

// TestScripts runs every script in testdata/script. Each script is a small
// session at a terminal: the commands a person types and what they must see.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":       cmdExits,
			"waitfile":    cmdWaitFile,
			"until":       cmdUntil,
			"api":         cmdAPI,
			"login":       cmdLogin,
			"pathwithout": cmdPathWithout,
			"capture":     cmdCapture,
			"perm":        cmdPerm,
			"term":        cmdTerm,
		},
	})
}

// cmdExits is the script command "exits CODE command [args...]": it runs the
// command like exec, keeps its stdout and stderr for the assertions that
// follow, and fails unless the command exits with CODE. Scripts use it to
// pin the exit codes people's scripts rely on (1 failure, 2 usage).
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: %q is not an exit code", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("exits: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// cmdWaitFile is the script command "waitfile FILE": it waits, up to 30
// seconds, until FILE exists. Scripts use it to know that a daemon started
// in the background is serving. It polls, because the daemon is another
// process and a file is the event it offers.
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfile FILE")
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("waitfile: %s did not appear within 30s", args[0])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cmdUntil is the script command "until REGEXP command [args...]": it
// runs the command, as exec does, until it succeeds with standard output
// matching REGEXP, for state another daemon reaches in its own time (a
// mailbox taking a group a host named). It fails after 30 s; stdout and
// stderr are the last run's.
func cmdUntil(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: until REGEXP command [args...]")
	}
	re, err := regexp.Compile(args[0])
	if err != nil {
		ts.Fatalf("until: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := ts.Exec(args[1], args[2:]...)
		if err == nil && re.MatchString(ts.ReadFile("stdout")) {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("until: %s did not print a match for %s within 30s (last error: %v)", args[1], args[0], err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestHelpColumns: hearth help lists every command with its summary
// starting in one column, after the longest name (crisis-resources).
func TestHelpColumns(t *testing.T) {
	var b strings.Builder
	printUsage(&b)
	longest := 0
	for _, c := range commands() {
		longest = max(longest, len(c.name))
	}
	if longest < len("crisis-resources") {
		t.Fatalf("the longest command name is %d characters; the test expects crisis-resources", longest)
	}
	col := -1
	listed := 0
	for _, line := range strings.Split(b.String(), "\n") {
		for _, c := range commands() {
			if !strings.HasPrefix(line, "  "+c.name+" ") {
				continue
			}
			listed++
			at := strings.Index(line, c.summary)
			if at < 0 || strings.TrimSpace(line[:at]) != c.name {
				t.Errorf("%q: the summary does not follow the name", line)
				continue
			}
			if col < 0 {
				col = at
			}
			if at != col || at < 2+longest+1 {
				t.Errorf("%q: summary at column %d, want %d (after the longest name)", line, at, col)
			}
		}
	}
	if listed != len(commands()) {
		t.Errorf("%d of %d commands listed", listed, len(commands()))
	}
}
