package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hearthnet/hearth/api"
)

// TestWantsBrowserSetup: the passphrase is chosen in the browser only when
// asked for, or when there is neither a terminal nor a passphrase file; a
// person at a terminal or with a file keeps the terminal path.
func TestWantsBrowserSetup(t *testing.T) {
	for _, tc := range []struct {
		name     string
		terminal bool
		envFile  string
		f        cmdFlags
		want     bool
		usage    bool
	}{
		{name: "no terminal, no file", want: true},
		{name: "terminal", terminal: true, want: false},
		{name: "flag file", f: cmdFlags{passphraseFile: "p"}, want: false},
		{name: "env file", envFile: "p", want: false},
		{name: "asked for, at a terminal", terminal: true, f: cmdFlags{setupInBrowser: true}, want: true},
		{name: "asked for, env file", envFile: "p", f: cmdFlags{setupInBrowser: true}, want: true},
		{name: "asked for with a flag file", f: cmdFlags{setupInBrowser: true, passphraseFile: "p"}, usage: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _, _ := testEnv(map[string]string{"HEARTH_PASSPHRASE_FILE": tc.envFile})
			if tc.terminal {
				e.terminal = &fakeTerminal{}
			}
			got, err := wantsBrowserSetup(e, &tc.f)
			if tc.usage {
				wantUsage(t, err)
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// cmdAPI is the script command "api METHOD PATH STATUS [JSON]": it sends
// one request to the daemon of $HEARTH_HOME with the home's API token, fails
// unless the answer has STATUS, and writes the answer's body to api.out in
// the script's work directory for grep.
func cmdAPI(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 || len(args) > 4 {
		ts.Fatalf("usage: api METHOD PATH STATUS [JSON]")
	}
	home := ts.Getenv("HEARTH_HOME")
	addr, err := api.ReadAddr(home)
	ts.Check(err)
	tok, err := api.LoadToken(home)
	ts.Check(err)
	var body io.Reader
	if len(args) == 4 {
		body = strings.NewReader(args[3])
	}
	req, err := http.NewRequest(args[0], "http://"+addr+args[1], body)
	ts.Check(err)
	req.Header.Set("Authorization", "Bearer "+string(tok))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	ts.Check(err)
	ts.Check(os.WriteFile(filepath.Join(ts.Getenv("WORK"), "api.out"), out, 0o600))
	if want, err := strconv.Atoi(args[2]); err != nil || resp.StatusCode != want {
		ts.Fatalf("%s %s: status %d, want %s: %s", args[0], args[1], resp.StatusCode, args[2], bytes.TrimSpace(out))
	}
}
