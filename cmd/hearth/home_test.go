package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolveHomePrecedence(t *testing.T) {
	all := map[string]string{
		"HEARTH_HOME":   "/h/hearth-home",
		"XDG_DATA_HOME": "/h/xdg",
		"HOME":          "/h/user",
	}
	cases := []struct {
		name string
		flag string
		drop []string
		want string
	}{
		{"flag wins", "/h/flag", nil, "/h/flag"},
		{"HEARTH_HOME next", "", nil, "/h/hearth-home"},
		{"then XDG_DATA_HOME", "", []string{"HEARTH_HOME"}, "/h/xdg/hearth"},
		{"then HOME", "", []string{"HEARTH_HOME", "XDG_DATA_HOME"}, "/h/user/.local/share/hearth"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vars := map[string]string{}
			for k, v := range all {
				vars[k] = v
			}
			for _, k := range c.drop {
				delete(vars, k)
			}
			e, _, _ := testEnv(vars)
			got, err := resolveHome(e, c.flag)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("home = %q, want %q", got, c.want)
			}
		})
	}
}

func TestResolveHomeRelativeXDGIgnored(t *testing.T) {
	e, _, _ := testEnv(map[string]string{"XDG_DATA_HOME": "relative/dir", "HOME": "/h/user"})
	got, err := resolveHome(e, "")
	if err != nil {
		t.Fatal(err)
	}
	if got != "/h/user/.local/share/hearth" {
		t.Fatalf("home = %q: a relative XDG_DATA_HOME must be ignored", got)
	}
}

func TestResolveHomeMakesRelativeFlagAbsolute(t *testing.T) {
	e, _, _ := testEnv(nil)
	got, err := resolveHome(e, "rel/home")
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(got) || !strings.HasSuffix(got, "/rel/home") {
		t.Fatalf("home = %q, want an absolute path ending in rel/home", got)
	}
}

func TestResolveHomeNoHome(t *testing.T) {
	e, _, _ := testEnv(nil)
	_, err := resolveHome(e, "")
	wantUsage(t, err)
	if !strings.Contains(err.Error(), "--home") {
		t.Fatalf("error %q does not say how to give a home", err)
	}
}

func TestEnsureHomeCreatesPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "home")
	created, err := ensureHome(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Fatal("ensureHome did not report creating the home")
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("new home has mode %04o, want 0700", fi.Mode().Perm())
	}
	created, err = ensureHome(dir)
	if err != nil || created {
		t.Fatalf("second ensureHome = %v, %v; want false, nil", created, err)
	}
}

func TestEnsureHomeRefusesOpenPermissions(t *testing.T) {
	for _, mode := range []os.FileMode{0o750, 0o705, 0o701, 0o770, 0o777} {
		dir := filepath.Join(t.TempDir(), "home")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		_, err := ensureHome(dir)
		if err == nil {
			t.Fatalf("mode %04o accepted", mode)
		}
		if !strings.Contains(err.Error(), "chmod 700 "+dir) {
			t.Fatalf("mode %04o: error %q does not say how to fix it", mode, err)
		}
	}
}

func TestEnsureHomeRefusesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ensureHome(path)
	if err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("ensureHome on a file = %v", err)
	}
}

func TestHomeIsNew(t *testing.T) {
	dir := t.TempDir()
	isNew, err := homeIsNew(dir)
	if err != nil || !isNew {
		t.Fatalf("empty dir: homeIsNew = %v, %v", isNew, err)
	}
	if err := os.WriteFile(filepath.Join(dir, homeKeystoreName), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	isNew, err = homeIsNew(dir)
	if err != nil || isNew {
		t.Fatalf("dir with keystore: homeIsNew = %v, %v", isNew, err)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/plain/path-1_2.x": "/plain/path-1_2.x",
		"/with space":       `"/with space"`,
		"/it's":             `"/it's"`,
		"/it's $HOME":       `'/it'\''s $HOME'`,
		`say "hi"`:          `'say "hi"'`,
		"Wow!":              `'Wow!'`,
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}
