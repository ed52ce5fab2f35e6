package api

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestTokenRoundTrip(t *testing.T) {
	dir := t.TempDir()
	tok, err := WriteToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) != 43 {
		t.Fatalf("token length %d", len(tok))
	}
	if b, err := base64.RawURLEncoding.Strict().DecodeString(string(tok)); err != nil || len(b) != 32 {
		t.Fatalf("token is not 32 bytes of base64url: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dir, TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %04o", fi.Mode().Perm())
	}
	got, err := LoadToken(dir)
	if err != nil || got != tok {
		t.Fatalf("LoadToken: %v, equal %v", err, got == tok)
	}
	// A second write replaces the token and leaves no temporary file.
	tok2, err := WriteToken(dir)
	if err != nil || tok2 == tok {
		t.Fatalf("second WriteToken: %v, same token %v", err, tok2 == tok)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries after two writes", len(entries))
	}
	if got, _ := LoadToken(dir); got != tok2 {
		t.Fatal("LoadToken does not return the new token")
	}
}

func TestLoadTokenRefusesLooseMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits on Windows")
	}
	dir := t.TempDir()
	if _, err := WriteToken(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, TokenFile)
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660, 0o602} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadToken(dir)
		if !errors.Is(err, ErrTokenPermissions) || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: %v, want ErrTokenPermissions naming the fix", mode, err)
		}
	}
	os.Chmod(path, 0o400)
	if _, err := LoadToken(dir); err != nil {
		t.Errorf("mode 0400: %v", err)
	}
}

func TestLoadTokenRefusesMalformed(t *testing.T) {
	good, _ := NewToken(nil)
	for _, content := range []string{
		"", string(good) + "\n", " " + string(good), string(good)[:42], string(good) + "A",
		strings.Repeat("=", 43), strings.Replace(string(good), string(good)[0:1], "+", 1),
		// 43 characters whose last one has bits set beyond the 32 bytes.
		strings.Repeat("A", 42) + "B",
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, TokenFile), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadToken(dir); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("content %q: %v, want ErrTokenInvalid", content, err)
		}
	}
	if _, err := LoadToken(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, TokenFile), 0o700)
	if _, err := LoadToken(dir); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("directory in place of the file: %v", err)
	}
}

// TestTokenRedacted: printing or logging a Token by mistake shows nothing.
func TestTokenRedacted(t *testing.T) {
	tok, _ := NewToken(nil)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("oops", "token", tok)
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%v %s %#v", tok, tok, tok), logs.String()} {
		if strings.Contains(s, string(tok)) {
			t.Errorf("token leaked in %q", s)
		}
	}
}

func TestAddrFile(t *testing.T) {
	dir := t.TempDir()
	for _, addr := range []string{"127.0.0.1:7070", "[::1]:65535", "localhost:1"} {
		if err := WriteAddr(dir, addr); err != nil {
			t.Fatal(err)
		}
		if got, err := ReadAddr(dir); err != nil || got != addr {
			t.Fatalf("ReadAddr = %q, %v; want %q", got, err, addr)
		}
	}
	for _, addr := range []string{"", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", ":7070", "127.0.0.1:07070", "a b:1", "127.0.0.1:x"} {
		if err := WriteAddr(dir, addr); !errors.Is(err, ErrAddrInvalid) {
			t.Errorf("WriteAddr(%q) = %v, want ErrAddrInvalid", addr, err)
		}
	}
	for _, content := range []string{"127.0.0.1:7070\n\n", "127.0.0.1:7070 ", strings.Repeat("a", 600) + ":1"} {
		os.WriteFile(filepath.Join(dir, AddrFile), []byte(content), 0o600)
		if _, err := ReadAddr(dir); !errors.Is(err, ErrAddrInvalid) {
			t.Errorf("ReadAddr of %q: %v, want ErrAddrInvalid", content, err)
		}
	}
	if _, err := ReadAddr(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing address file: %v", err)
	}
}

// FuzzParseToken: the token parser never panics, and accepts exactly the
// canonical encodings of 32 bytes.
func FuzzParseToken(f *testing.F) {
	good, _ := NewToken(nil)
	f.Add(string(good))
	f.Add(string(good) + "\n")
	f.Add(strings.Repeat("A", 42) + "B")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := parseToken(s)
		if err != nil {
			return
		}
		b, derr := base64.RawURLEncoding.DecodeString(string(tok))
		if derr != nil || len(b) != 32 || base64.RawURLEncoding.EncodeToString(b) != s {
			t.Fatalf("accepted non-canonical token %q", s)
		}
	})
}
