package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, configFileName), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestConfigDefaults(t *testing.T) {
	s := defaultSettings()
	if !reflect.DeepEqual(s.listen, []string{"/ip4/0.0.0.0/tcp/4747", "/ip4/0.0.0.0/udp/4747/quic-v1"}) {
		t.Errorf("default listen %q", s.listen)
	}
	if s.api != "127.0.0.1:4748" || s.apiAllowRemote || s.logLevel != slog.LevelInfo || s.logFormat != "text" || s.metrics != "" {
		t.Errorf("defaults %+v", s)
	}
	if err := s.check(); err != nil {
		t.Errorf("defaults fail their own check: %v", err)
	}
}

func TestConfigMissingFileIsEmpty(t *testing.T) {
	s := defaultSettings()
	if err := applyConfigFile(&s, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, defaultSettings()) {
		t.Fatalf("a missing config.toml changed the settings: %+v", s)
	}
}

func TestConfigEveryKey(t *testing.T) {
	dir := writeConfig(t, `# every key
listen = ["/ip4/127.0.0.1/tcp/5000", "/ip6/::1/udp/5000/quic-v1"]
api = "127.0.0.1:5001"
api_allow_remote = true
log_level = "debug"
log_format = "json"
metrics = "127.0.0.1:9464"
`)
	s := defaultSettings()
	if err := applyConfigFile(&s, dir); err != nil {
		t.Fatal(err)
	}
	want := settings{
		listen:         []string{"/ip4/127.0.0.1/tcp/5000", "/ip6/::1/udp/5000/quic-v1"},
		listenSet:      true,
		api:            "127.0.0.1:5001",
		apiAllowRemote: true,
		logLevel:       slog.LevelDebug,
		logFormat:      "json",
		metrics:        "127.0.0.1:9464",
		apiFrom:        filepath.Join(dir, configFileName) + `, line 3, key "api"`,
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got  %+v\nwant %+v", s, want)
	}
}

func TestConfigEmptyListenMeansNowhere(t *testing.T) {
	s := defaultSettings()
	if err := applyConfigFile(&s, writeConfig(t, "listen = []\n")); err != nil {
		t.Fatal(err)
	}
	if len(s.listen) != 0 {
		t.Fatalf("listen = %q, want none", s.listen)
	}
}

// TestConfigErrorsNameFileLineKey checks that every kind of mistake in
// config.toml is reported as one line naming the file, the line and (where
// there is one) the key, and exits as a usage error.
func TestConfigErrorsNameFileLineKey(t *testing.T) {
	cases := []struct {
		doc  string
		want []string
	}{
		{"log_level = \"info\"\ndiscovrey = true\n", []string{`line 2: unknown key "discovrey"`, "docs/CONFIG.md"}},
		{"\n[relays]\nstatik = []\n", []string{`line 3: unknown key "relays.statik"`}},
		{"discovery = true\n", []string{`line 1, key "discovery"`, "a table"}},
		{"api = 4748\n", []string{`line 1, key "api"`, `"host:port"`}},
		{"\n\nlisten = \"/ip4/0.0.0.0/tcp/1\"\n", []string{`line 3, key "listen"`, "a list of multiaddr"}},
		{"api_allow_remote = \"yes\"\n", []string{`line 1, key "api_allow_remote"`, "true or false"}},
		{"api = \"127.0.0.1:1\"\napi = \"127.0.0.1:2\"\n", []string{`line 2, key "api"`, "already defined"}},
		{"api = \n", []string{"line 1:"}},
		{"\nlog_level = \"loud\"\n", []string{`line 2, key "log_level"`, `"loud" is not one of debug, info, warn, error`}},
		{"log_format = \"xml\"\n", []string{`line 1, key "log_format"`, "neither text nor json"}},
		{"listen = [\n  \"/ip4/0.0.0.0/tcp/1\",\n  \"/dns4/example.com/tcp/1\",\n]\n", []string{`line 1, key "listen"`, "TCP", "QUIC"}},
		{"# c\n\"api\" = \"example.com:1\"\n", []string{`line 2, key "api"`, "not an IP address"}},
		{"metrics = \"0.0.0.0:9464\"\n", []string{`line 1, key "metrics"`, "not a loopback address"}},
	}
	for _, c := range cases {
		dir := writeConfig(t, c.doc)
		s := defaultSettings()
		err := applyConfigFile(&s, dir)
		wantUsage(t, err)
		msg := err.Error()
		if !strings.HasPrefix(msg, filepath.Join(dir, configFileName)+",") {
			t.Errorf("%q: error %q does not start with the file", c.doc, msg)
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("%q: error is not one line: %q", c.doc, msg)
		}
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%q: error %q does not contain %q", c.doc, msg, w)
			}
		}
	}
}

func TestConfigTooLarge(t *testing.T) {
	s := defaultSettings()
	err := applyConfigFile(&s, writeConfig(t, "# "+strings.Repeat("x", maxConfigFile)+"\n"))
	wantUsage(t, err)
}

func TestEnvOverridesConfig(t *testing.T) {
	dir := writeConfig(t, `api = "127.0.0.1:5001"
log_level = "debug"
log_format = "json"
listen = ["/ip4/127.0.0.1/tcp/5000"]
`)
	vars := map[string]string{
		"HEARTH_API":        "127.0.0.1:6001",
		"HEARTH_LOG_LEVEL":  "warn",
		"HEARTH_LISTEN":     "/ip4/127.0.0.1/tcp/6000, /ip4/127.0.0.1/udp/6000/quic-v1",
		"HEARTH_METRICS":    "[::1]:9000",
		"HEARTH_LOG_FORMAT": "text",
	}
	e, _, _ := testEnv(vars)
	f, err := parseFlags("up", nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := resolveSettings(e, dir, f)
	if err != nil {
		t.Fatal(err)
	}
	if s.api != "127.0.0.1:6001" || s.logLevel != slog.LevelWarn || s.logFormat != "text" || s.metrics != "[::1]:9000" ||
		!reflect.DeepEqual(s.listen, []string{"/ip4/127.0.0.1/tcp/6000", "/ip4/127.0.0.1/udp/6000/quic-v1"}) {
		t.Fatalf("environment did not override config.toml: %+v", s)
	}
}

func TestFlagsOverrideEnvAndConfig(t *testing.T) {
	dir := writeConfig(t, "api = \"127.0.0.1:5001\"\nlog_level = \"debug\"\napi_allow_remote = true\n")
	e, _, _ := testEnv(map[string]string{"HEARTH_API": "127.0.0.1:6001", "HEARTH_LOG_LEVEL": "warn"})
	f, err := parseFlags("up", []string{"--api", "127.0.0.1:7001", "--log-level=error", "--listen", "/ip4/127.0.0.1/tcp/7000", "--listen", "/ip6/::1/tcp/7000"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := resolveSettings(e, dir, f)
	if err != nil {
		t.Fatal(err)
	}
	if s.api != "127.0.0.1:7001" || s.logLevel != slog.LevelError ||
		!reflect.DeepEqual(s.listen, []string{"/ip4/127.0.0.1/tcp/7000", "/ip6/::1/tcp/7000"}) {
		t.Fatalf("flags did not override: %+v", s)
	}
	if !s.apiAllowRemote {
		t.Fatal("a key no flag set was lost")
	}
	// An explicit --api-allow-remote=false overrides the file's true.
	f, err = parseFlags("up", []string{"--api-allow-remote=false", "--api", "0.0.0.0:1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = resolveSettings(e, dir, f)
	wantUsage(t, err)
}

func TestAPIRemoteNeedsAllow(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:4748", "192.168.1.10:4748", "[::]:4748", "[2001:db8::1]:4748"} {
		s := defaultSettings()
		if err := s.setAPI(addr, "--api"); err != nil {
			t.Fatal(err)
		}
		err := s.check()
		wantUsage(t, err)
		if !strings.Contains(err.Error(), "--api-allow-remote") || !strings.HasPrefix(err.Error(), "--api: ") {
			t.Errorf("%s: error %q", addr, err)
		}
		s.apiAllowRemote = true
		if err := s.check(); err != nil {
			t.Errorf("%s with allow-remote: %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:4748", "127.8.9.10:0", "[::1]:4748", "[::ffff:127.0.0.1]:1"} {
		s := defaultSettings()
		if err := s.setAPI(addr, "--api"); err != nil {
			t.Fatal(err)
		}
		if err := s.check(); err != nil {
			t.Errorf("loopback %s refused: %v", addr, err)
		}
	}
}

func TestCheckHostPort(t *testing.T) {
	for _, bad := range []string{"", "127.0.0.1", ":4748", "localhost:4748", "example.com:1", "127.0.0.1:65536",
		"127.0.0.1:-1", "127.0.0.1:http", "127.0.0.1:+1", "127.0.0.1:01", "::1:4748", "[::1]"} {
		if err := checkHostPort(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, good := range []string{"127.0.0.1:0", "127.0.0.1:65535", "[::1]:4748", "0.0.0.0:1"} {
		if err := checkHostPort(good); err != nil {
			t.Errorf("%q refused: %v", good, err)
		}
	}
}

func TestCheckListenAddr(t *testing.T) {
	for _, good := range []string{"/ip4/0.0.0.0/tcp/4747", "/ip4/0.0.0.0/udp/4747/quic-v1", "/ip6/::/tcp/0", "/ip6/::1/udp/0/quic-v1"} {
		if err := checkListenAddr(good); err != nil {
			t.Errorf("%q refused: %v", good, err)
		}
	}
	for _, bad := range []string{"", "0.0.0.0:4747", "/ip4/0.0.0.0", "/ip4/0.0.0.0/udp/4747", "/ip4/0.0.0.0/udp/1/quic",
		"/dns4/example.com/tcp/1", "/ip4/0.0.0.0/tcp/1/ws", "/ip4/999.0.0.1/tcp/1", "/ip4/0.0.0.0/tcp/1/p2p/x"} {
		if err := checkListenAddr(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestEnvBadValues(t *testing.T) {
	for k, v := range map[string]string{
		"HEARTH_LISTEN":           "/ip4/0.0.0.0/udp/1",
		"HEARTH_API":              "nohost",
		"HEARTH_API_ALLOW_REMOTE": "maybe",
		"HEARTH_LOG_LEVEL":        "chatty",
		"HEARTH_LOG_FORMAT":       "yaml",
		"HEARTH_METRICS":          "10.0.0.1:9000",
	} {
		s := defaultSettings()
		err := applyEnv(&s, func(name string) string {
			if name == k {
				return v
			}
			return ""
		})
		wantUsage(t, err)
		if !strings.HasPrefix(err.Error(), k+": ") {
			t.Errorf("%s=%s: error %q does not name the variable", k, v, err)
		}
	}
}

// FuzzConfig feeds arbitrary bytes to the config.toml reader: it must never
// panic, must report every error as one line naming the file, and must
// leave only validated values in the settings it accepts.
func FuzzConfig(f *testing.F) {
	for _, seed := range []string{
		"",
		"listen = [\"/ip4/0.0.0.0/tcp/4747\", \"/ip6/::/udp/1/quic-v1\"]\napi = \"127.0.0.1:4748\"\n",
		"api_allow_remote = true\nlog_level = \"debug\"\nlog_format = \"json\"\nmetrics = \"[::1]:9\"\n",
		"discovery = true\n",
		"[relays]\nx = 1\n",
		"a.b.c = 1\n",
		"api = '''\nx'''\n",
		"listen = [[1], {a = 2}]\n",
		"\"api\" = \"127.0.0.1:0\"\n\"api\" = 1\n",
		"api = \"\\u0000:1\"\n",
		"log_level = 1979-05-27T07:32:00Z\n",
		"\xff\xfe=\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		s := defaultSettings()
		err := applyConfig(&s, "/h/config.toml", doc)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			if !strings.HasPrefix(err.Error(), "/h/config.toml") {
				t.Fatalf("error does not name the file: %q", err)
			}
			if exitCode(err) != exitUsage {
				t.Fatalf("config error exits with %d: %q", exitCode(err), err)
			}
			return
		}
		for _, a := range s.listen {
			if checkListenAddr(a) != nil {
				t.Fatalf("accepted listen address %q", a)
			}
		}
		if checkHostPort(s.api) != nil {
			t.Fatalf("accepted api %q", s.api)
		}
		if s.metrics != "" && !isLoopbackHostPort(s.metrics) {
			t.Fatalf("accepted metrics %q", s.metrics)
		}
		if s.logFormat != "text" && s.logFormat != "json" {
			t.Fatalf("accepted log format %q", s.logFormat)
		}
	})
}
