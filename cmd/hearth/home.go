package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// homeKeystoreName is the keystore's file name inside a home, as node's
// home layout defines it (node.InitHome writes it, node.UnlockHome reads
// it). hearth looks for it only to decide, before asking for a passphrase,
// whether a home is new and so whether to ask twice; TestInitHomeLayout
// fails if node's layout moves it.
const homeKeystoreName = "keystore"

// resolveHome returns the absolute path of the home directory: flagHome when
// given, else $HEARTH_HOME, else $XDG_DATA_HOME/hearth, else
// $HOME/.local/share/hearth. XDG_DATA_HOME is ignored unless it is absolute,
// as the XDG Base Directory specification says.
func resolveHome(e *env, flagHome string) (string, error) {
	dir := flagHome
	switch {
	case dir != "":
	case e.getenv("HEARTH_HOME") != "":
		dir = e.getenv("HEARTH_HOME")
	case filepath.IsAbs(e.getenv("XDG_DATA_HOME")):
		dir = filepath.Join(e.getenv("XDG_DATA_HOME"), "hearth")
	case e.getenv("HOME") != "":
		dir = filepath.Join(e.getenv("HOME"), ".local", "share", "hearth")
	default:
		return "", usagef("cannot tell where your Hearth home is: HOME is not set; give --home DIR or set HEARTH_HOME")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("cannot resolve the home directory %q: %v", dir, err)
	}
	return abs, nil
}

// ensureHome makes sure dir exists and is private to this user: it creates
// dir with mode 0700 when it is missing (with any missing parents) and
// reports created, and otherwise checks it with checkHome.
func ensureHome(dir string) (created bool, err error) {
	_, err = os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return false, fmt.Errorf("cannot create the home directory %s: %v", dir, osErr(err))
		}
		// MkdirAll's mode passes through the umask; the home must be
		// exactly 0700 whatever the umask is.
		if err := os.Chmod(dir, 0o700); err != nil {
			return false, fmt.Errorf("cannot make the home directory %s private: %v", dir, osErr(err))
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("cannot use the home directory %s: %v", dir, osErr(err))
	}
	return false, checkHome(dir)
}

// checkHome refuses a home that is not a directory, that belongs to another
// user, or whose permissions let any other user in.
//
// The home holds the passphrase-sealed keystore, the encrypted database and
// the API token in plain. The token is enough to drive the node, so a home
// another local user can read or enter hands them the member's groups; and
// a home another user can write lets them swap the keystore or config.toml.
// Any group or other permission bit is refused, not only read: on a
// directory, execute alone lets a user open files whose names they know.
func checkHome(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("cannot use the home directory %s: %v", dir, osErr(err))
	}
	if !fi.IsDir() {
		return fmt.Errorf("the home %s is not a directory; give another --home or HEARTH_HOME", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("the home directory %s belongs to another user (uid %d); run hearth as that user, or give a home of your own with --home", dir, st.Uid)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("the home directory %s has mode %04o, which lets other users see your Hearth files; run 'chmod 700 %s' and try again", dir, perm, dir)
	}
	return nil
}

// homeIsNew reports whether dir holds no keystore yet, so that a passphrase
// for it is a new one (asked twice) and the home must be initialised.
func homeIsNew(dir string) (bool, error) {
	_, err := os.Lstat(filepath.Join(dir, homeKeystoreName))
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	default:
		return false, fmt.Errorf("cannot look for the keystore in %s: %v", dir, osErr(err))
	}
}

// osErr returns the operating system's reason inside a *fs.PathError, so
// that a message names the path once, in its own words.
func osErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
