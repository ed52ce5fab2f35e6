//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package storage

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// probeLock reports ErrLocked when another Badger (in this process or
// another) holds dir's directory lock. Badger takes an exclusive flock on
// the directory for read-write use; taking and dropping a shared one here
// tells whether Badger's would succeed, before anything is opened for
// writing, so an in-use store is reported plainly and left untouched.
func probeLock(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("storage: opening %s: %w", dir, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("storage: %s: %w", dir, ErrLocked)
		}
		return fmt.Errorf("storage: locking %s: %w", dir, err)
	}
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
