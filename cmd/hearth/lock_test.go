package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLockRefusesSecondHolder(t *testing.T) {
	dir := t.TempDir()
	first, err := lockHome(dir)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file, so a second open in the same
	// process conflicts exactly as a second daemon would.
	_, err = lockHome(dir)
	if err == nil {
		t.Fatal("a second lock on the same home was granted")
	}
	want := fmt.Sprintf("another hearth process (pid %d) is already using the home %s", os.Getpid(), dir)
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not contain %q", err, want)
	}
	if err := first.release(); err != nil {
		t.Fatal(err)
	}
	if err := first.release(); err != nil {
		t.Fatalf("second release: %v", err)
	}
	second, err := lockHome(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	defer second.release()
}

func TestLockFileHoldsPIDOnlyWhileHeld(t *testing.T) {
	dir := t.TempDir()
	l, err := lockHome(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, lockFileName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != fmt.Sprintf("%d\n", os.Getpid()) {
		t.Fatalf("lock file holds %q", b)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("lock file mode %04o", fi.Mode().Perm())
	}
	if err := l.release(); err != nil {
		t.Fatal(err)
	}
	b, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 0 {
		t.Fatalf("after release the lock file still holds %q", b)
	}
}

func TestLockHolderWithoutPID(t *testing.T) {
	dir := t.TempDir()
	l, err := lockHome(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.release()
	// A holder that has locked but not yet written its PID.
	if err := l.f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	_, err = lockHome(dir)
	if err == nil || !strings.Contains(err.Error(), "another hearth process is already using") {
		t.Fatalf("error %v", err)
	}
}

func TestLockRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.Symlink(target, filepath.Join(dir, lockFileName)); err != nil {
		t.Fatal(err)
	}
	if _, err := lockHome(dir); err == nil {
		t.Fatal("a symlinked lock file was followed")
	}
	if _, err := os.Stat(target); err == nil {
		t.Fatal("locking created the symlink's target")
	}
}
