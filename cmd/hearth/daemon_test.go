package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthnet/hearth/node"
)

// TestInitHomeLayout pins what home.go assumes about node's home layout:
// node.InitHome writes the keystore under homeKeystoreName, so homeIsNew
// tells a new home from an existing one.
func TestInitHomeLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home")
	e, _, _ := testEnv(nil)
	if err := createHome(e, dir, []byte("pass")); err != nil {
		t.Fatal(err)
	}
	isNew, err := homeIsNew(dir)
	if err != nil || isNew {
		t.Fatalf("after node.InitHome, homeIsNew = %v, %v", isNew, err)
	}
	if err := createHome(e, dir, []byte("pass")); err == nil || !strings.Contains(err.Error(), "already a Hearth home") {
		t.Fatalf("second createHome: %v", err)
	}
	if _, err := unlockHome(dir, []byte("wrong")); err == nil || !strings.Contains(err.Error(), "passphrase does not open") {
		t.Fatalf("wrong passphrase: %v", err)
	}
}

// signalWriter is a buffer that closes ready when its first write arrives.
type signalWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	once  sync.Once
	ready chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.once.Do(func() { close(w.ready) })
	return w.buf.Write(p)
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestUpReturnsAfterEverythingIsClosed runs `hearth up` in this process,
// cancels its context as a signal would, and checks that by the time run
// returns the node's store, the lock and the API port are all released: the
// home can be unlocked and a node started on it at once.
func TestUpReturnsAfterEverythingIsClosed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home")
	pass := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(pass, []byte("words words\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e, _, _ := testEnv(map[string]string{"HEARTH_HOME": dir, "HEARTH_PASSPHRASE_FILE": pass})
	stdout := &signalWriter{ready: make(chan struct{})}
	var stderr signalWriter
	stderr.ready = make(chan struct{})
	e.stdout, e.stderr = stdout, &stderr

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, e, []string{"up", "--listen", "/ip4/127.0.0.1/tcp/0", "--api", "127.0.0.1:0"})
	}()
	select {
	case <-stdout.ready:
	case c := <-code:
		t.Fatalf("up exited with %d before serving: %s", c, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("up did not print its login link within 30s")
	}
	cancel()
	if c := <-code; c != exitOK {
		t.Fatalf("up exited with %d: %s", c, stderr.String())
	}
	if !strings.Contains(stdout.String(), "/login?code=") {
		t.Fatalf("stdout %q has no login link", stdout.String())
	}
	if !strings.Contains(stderr.String(), "stopped; everything is saved") {
		t.Fatalf("stderr %q", stderr.String())
	}

	l, err := lockHome(dir)
	if err != nil {
		t.Fatalf("lock still held after up returned: %v", err)
	}
	defer l.release()
	ks, err := node.UnlockHome(dir, []byte("words words"))
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	n, err := node.New(context.Background(), node.Config{DataDir: dir, Keystore: ks})
	if err != nil {
		t.Fatalf("the store was not closed when up returned: %v", err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
}
