package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// lockFileName is the lock file inside the home. It holds the PID of the
// process that holds the lock, for the message a second process shows.
const lockFileName = "hearth.lock"

// homeLock is an exclusive lock on a home, held by one hearth process at a
// time (a daemon, or `hearth init` while it creates the home).
type homeLock struct {
	f *os.File
}

// lockHome takes the lock on the home in dir without waiting. When another
// process holds it, the error names that process's PID.
//
// The lock is flock(2) on a file that is never removed: the kernel drops it
// when the process exits however it exits (kill -9 included), so a crash
// never leaves a stale lock behind, and because the file stays, two
// processes can never lock two different files under the same name (which
// removing it on exit would allow). The PID in it is only for the message.
func lockHome(dir string) (*homeLock, error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open the lock file %s: %v", path, osErr(err))
	}
	if err := flockNB(f); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, &homeInUseError{msg: fmt.Sprintf("another hearth %s is already using the home %s; stop it first, or give a different --home", holderDescription(f), dir)}
		}
		return nil, fmt.Errorf("cannot lock %s: %v", path, err)
	}
	if err := writePID(f); err != nil {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
		return nil, fmt.Errorf("cannot write the lock file %s: %v", path, osErr(err))
	}
	return &homeLock{f: f}, nil
}

// homeInUseError is lockHome's error when another process holds the
// lock: a running daemon, most likely, which a command may ask instead.
type homeInUseError struct{ msg string }

func (e *homeInUseError) Error() string { return e.msg }

// flockNB takes an exclusive flock on f without blocking, retrying when a
// signal interrupts the call.
func flockNB(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// holderDescription says which process holds the lock on f, from the PID
// the holder wrote into it.
func holderDescription(f *os.File) string {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid, err := strconv.Atoi(string(bytes.TrimSpace(buf[:n])))
	if err != nil || pid <= 0 {
		// The holder has locked the file but not yet written its PID.
		return "process"
	}
	return fmt.Sprintf("process (pid %d)", pid)
}

// release empties the lock file and drops the lock. It is safe to call
// more than once.
func (l *homeLock) release() error {
	if l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	// Empty the file first, so that no one reads our PID after we are gone.
	terr := f.Truncate(0)
	uerr := unix.Flock(int(f.Fd()), unix.LOCK_UN)
	cerr := f.Close()
	return errors.Join(terr, uerr, cerr)
}
