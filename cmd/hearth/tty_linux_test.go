//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal and returns its controlling side and the
// terminal side, or skips the test where the system has none.
func openPTY(t *testing.T) (ctl, tty *os.File) {
	t.Helper()
	ctl, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ctl.Close() })
	fd := int(ctl.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("cannot unlock the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Skipf("cannot name the pseudo-terminal: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("cannot open the pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	return ctl, tty
}

func echoOn(t *testing.T, tty *os.File) bool {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio.Lflag&unix.ECHO != 0
}

// TestTerminalPrompt reads a passphrase from a real (pseudo-)terminal: the
// prompt is shown, the answer is returned without its newline, and echo is
// on again afterwards.
func TestTerminalPrompt(t *testing.T) {
	ctl, tty := openPTY(t)
	var prompt bytes.Buffer
	r := stdinTerminal(tty, &prompt)
	if r == nil {
		t.Fatal("a pseudo-terminal was not recognised as a terminal")
	}
	if _, err := ctl.Write([]byte("hunter2 is long\n")); err != nil {
		t.Fatal(err)
	}
	p, err := r.readPassword(context.Background(), "Passphrase: ")
	if err != nil {
		t.Fatal(err)
	}
	if string(p) != "hunter2 is long" {
		t.Fatalf("read %q", p)
	}
	if prompt.String() != "Passphrase: \n" {
		t.Fatalf("prompt output %q", prompt.String())
	}
	if !echoOn(t, tty) {
		t.Fatal("echo is off after the prompt")
	}
}

// TestTerminalPromptInterrupted checks that a prompt cancelled by Ctrl-C
// (hearth catches SIGINT, which cancels the context) turns echo back on, so
// the person's shell does not stay blind.
func TestTerminalPromptInterrupted(t *testing.T) {
	ctl, tty := openPTY(t)
	var prompt bytes.Buffer
	r := stdinTerminal(tty, &prompt)
	if r == nil {
		t.Fatal("a pseudo-terminal was not recognised as a terminal")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := r.readPassword(ctx, "Passphrase: ")
		done <- err
	}()
	// Wait until the prompt is being read with echo off, then interrupt.
	for echoOn(t, tty) {
		select {
		case err := <-done:
			t.Fatalf("readPassword returned early: %v", err)
		default:
		}
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("interrupted prompt returned %v", err)
	}
	if !echoOn(t, tty) {
		t.Fatal("echo is still off after an interrupted prompt")
	}
	// Release the reader still blocked on the terminal.
	ctl.Write([]byte("\n"))
}
