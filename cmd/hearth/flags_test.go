package main

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestParseFlagsErrors(t *testing.T) {
	cases := []struct {
		cmd  string
		args []string
		want string
	}{
		{"up", []string{"--nosuch"}, "flag provided but not defined: -nosuch; run 'hearth help up'"},
		{"up", []string{"extra"}, `unexpected argument "extra"`},
		{"up", []string{"--api"}, "flag needs an argument"},
		{"init", []string{"--listen", "/ip4/0.0.0.0/tcp/1"}, "not defined: -listen; run 'hearth help init'"},
		{"up", []string{"--home", ""}, "--home needs a directory"},
		{"init", []string{"--passphrase-file="}, "--passphrase-file needs a file name"},
		{"up", []string{"--api-allow-remote=perhaps"}, "invalid boolean value"},
	}
	for _, c := range cases {
		_, err := parseFlags(c.cmd, c.args)
		wantUsage(t, err)
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q: error %q, want it to contain %q", c.cmd, c.args, err, c.want)
		}
	}
}

func TestParseFlagsHelp(t *testing.T) {
	for _, a := range []string{"-h", "--help", "-help"} {
		if _, err := parseFlags("up", []string{a}); !errors.Is(err, errHelp) {
			t.Errorf("%s: %v", a, err)
		}
	}
}

func TestApplyFlagsValidates(t *testing.T) {
	for _, args := range [][]string{
		{"--listen", "/ip4/0.0.0.0/tcp/1", "--listen", "nonsense"},
		{"--api", "127.0.0.1:99999"},
		{"--log-level", "verbose"},
		{"--log-format", "logfmt"},
		{"--metrics", "0.0.0.0:9000"},
	} {
		f, err := parseFlags("up", args)
		if err != nil {
			t.Fatal(err)
		}
		s := defaultSettings()
		err = applyFlags(&s, f)
		wantUsage(t, err)
		if !strings.HasPrefix(err.Error(), args[len(args)-2]+": ") {
			t.Errorf("%q: error %q does not start with the flag", args, err)
		}
	}
}

// TestRunUsageErrorsExitTwo runs whole commands and checks that each wrong
// invocation prints one line on stderr and exits with 2, before creating
// any home.
func TestRunUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{"up", "--log-format", "xml"},
		{"up", "--api", "0.0.0.0:4748"},
		{"up", "--listen", "/ip4/1.2.3.4/udp/1"},
		{"init", "stray"},
		{"up", "--bogus"},
	} {
		home := t.TempDir() + "/home"
		e, stdout, stderr := testEnv(map[string]string{"HEARTH_HOME": home})
		code := run(context.Background(), e, args)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d (stderr %q)", args, code, exitUsage, stderr)
		}
		if stdout.Len() != 0 {
			t.Errorf("%q: stdout %q", args, stdout)
		}
		if strings.Count(stderr.String(), "\n") != 1 || !strings.HasPrefix(stderr.String(), "hearth "+args[0]+": ") {
			t.Errorf("%q: stderr is not one line: %q", args, stderr)
		}
		if ok, _ := dirExists(home); ok {
			t.Errorf("%q: a usage error created the home", args)
		}
	}
}
