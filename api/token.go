package api

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// TokenFile is the name of the file, in the node's home directory, that
// holds the API token. It is written with mode 0600.
const TokenFile = "api.token"

// AddrFile is the name of the file, in the node's home directory, that
// holds the host:port the daemon's API listens on, so the CLI can find it.
const AddrFile = "api.addr"

// tokenSize is the number of random bytes in a token or session secret:
// 256 bits, beyond any online or offline guessing.
const tokenSize = 32

// tokenLen is the length of a token's text form: tokenSize bytes as
// unpadded base64url.
const tokenLen = (tokenSize*8 + 5) / 6

// maxAddrFileSize bounds what ReadAddr reads: a host:port is short.
const maxAddrFileSize = 512

// ErrTokenPermissions is returned (wrapped, with the path and the fix) by
// LoadToken when the token file can be read by the file's group or by other
// users. The token is then no longer a secret of this user, so it is not
// used at all.
var ErrTokenPermissions = errors.New("hearth/api: the API token file is readable by other users")

// ErrTokenInvalid is returned (wrapped) by LoadToken when the token file
// does not hold exactly one token as WriteToken writes it, and by NewServer
// for a malformed Config.Token.
var ErrTokenInvalid = errors.New("hearth/api: the API token is malformed")

// ErrAddrInvalid is returned (wrapped) by ReadAddr and WriteAddr when the
// address is not a host:port with a port from 1 to 65535.
var ErrAddrInvalid = errors.New("hearth/api: the API address is malformed")

// Token is the API token: 32 random bytes as 43 characters of unpadded
// base64url. Its String and LogValue methods hide it, so a Token printed or
// logged by mistake shows nothing; string(t) gives the secret itself.
type Token string

// String returns a placeholder, never the token.
func (Token) String() string { return "[api token redacted]" }

// GoString returns a placeholder, never the token.
func (Token) GoString() string { return "[api token redacted]" }

// LogValue returns a placeholder, never the token (for log/slog).
func (Token) LogValue() slog.Value { return slog.StringValue("[api token redacted]") }

// NewToken returns a fresh token read from r (crypto/rand when r is nil).
func NewToken(r io.Reader) (Token, error) {
	b, err := randomSecret(r)
	if err != nil {
		return "", err
	}
	return Token(b), nil
}

// randomSecret returns tokenSize random bytes from r (crypto/rand when nil)
// as unpadded base64url.
func randomSecret(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [tokenSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("hearth/api: reading randomness: %w", err)
	}
	s := base64.RawURLEncoding.EncodeToString(b[:])
	clear(b[:])
	return s, nil
}

// parseToken checks that s is exactly a token as NewToken makes it.
func parseToken(s string) (Token, error) {
	if len(s) != tokenLen {
		return "", fmt.Errorf("%w: it must be %d characters, not %d", ErrTokenInvalid, tokenLen, len(s))
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != tokenSize {
		return "", fmt.Errorf("%w: it is not unpadded base64url of %d bytes", ErrTokenInvalid, tokenSize)
	}
	clear(b)
	return Token(s), nil
}

// equalSecret reports whether a and b are equal, in time that depends only
// on their lengths (which are public: every token is tokenLen characters).
func equalSecret(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// WriteToken makes a fresh random token, writes it to TokenFile in dir with
// mode 0600, replacing any token already there, and returns it. The file is
// written atomically: a temporary file that is never readable by others is
// synced and renamed into place, so a reader sees the old token or the new
// one, never a part. It fails when randomness or the file system fails.
func WriteToken(dir string) (Token, error) {
	t, err := NewToken(nil)
	if err != nil {
		return "", err
	}
	if err := writeFileAtomic(filepath.Join(dir, TokenFile), []byte(t)); err != nil {
		return "", fmt.Errorf("hearth/api: writing the API token: %w", err)
	}
	return t, nil
}

// LoadToken reads the token from TokenFile in dir. It returns an error
// wrapping fs.ErrNotExist when there is none, ErrTokenPermissions when the
// file's mode lets its group or other users read or write it, and
// ErrTokenInvalid when it holds anything but one token (no newline, no
// whitespace).
func LoadToken(dir string) (Token, error) {
	path := filepath.Join(dir, TokenFile)
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hearth/api: opening the API token: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("hearth/api: opening the API token: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%w: %s is not a regular file", ErrTokenInvalid, path)
	}
	// Windows has no Unix permission bits (Go reports 0666 or 0444); the
	// home directory's ACL is what protects the file there.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%w: %s has mode %04o; run \"chmod 600 %s\", or delete it and restart the daemon to make a new one",
			ErrTokenPermissions, path, fi.Mode().Perm(), path)
	}
	b, err := io.ReadAll(io.LimitReader(f, tokenLen+1))
	if err != nil {
		return "", fmt.Errorf("hearth/api: reading the API token: %w", err)
	}
	t, err := parseToken(string(b))
	if err != nil {
		return "", fmt.Errorf("%w (in %s; delete it and restart the daemon to make a new one)", err, path)
	}
	return t, nil
}

// WriteAddr writes addr, a host:port, to AddrFile in dir (mode 0600,
// atomically, replacing any address there). It returns ErrAddrInvalid for a
// malformed address.
func WriteAddr(dir, addr string) error {
	if err := checkAddr(addr); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, AddrFile), []byte(addr+"\n")); err != nil {
		return fmt.Errorf("hearth/api: writing the API address: %w", err)
	}
	return nil
}

// ReadAddr returns the host:port in AddrFile in dir. It returns an error
// wrapping fs.ErrNotExist when the file does not exist (the daemon has
// never run), and ErrAddrInvalid when it holds anything but one host:port
// followed by an optional newline.
func ReadAddr(dir string) (string, error) {
	f, err := os.Open(filepath.Join(dir, AddrFile))
	if err != nil {
		return "", fmt.Errorf("hearth/api: opening the API address file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxAddrFileSize+1))
	if err != nil {
		return "", fmt.Errorf("hearth/api: reading the API address file: %w", err)
	}
	if len(b) > maxAddrFileSize {
		return "", fmt.Errorf("%w: the file is too long", ErrAddrInvalid)
	}
	addr := strings.TrimSuffix(string(b), "\n")
	if err := checkAddr(addr); err != nil {
		return "", err
	}
	return addr, nil
}

// checkAddr accepts host:port with a non-empty host free of spaces and
// control characters and a port from 1 to 65535.
func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: %q is not host:port", ErrAddrInvalid, addr)
	}
	if host == "" || strings.ContainsFunc(host, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("%w: %q has no usable host", ErrAddrInvalid, addr)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 || strconv.Itoa(p) != port {
		return fmt.Errorf("%w: %q has no port from 1 to 65535", ErrAddrInvalid, addr)
	}
	return nil
}

// writeFileAtomic puts data at path with mode 0600: it writes a temporary
// file in the same directory (created 0600, so never readable by others
// even for an instant), syncs it, renames it into place and syncs the
// directory. On failure path is untouched and the temporary file removed.
func writeFileAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(name, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir flushes a directory's entries so a rename in it survives a power
// loss. Windows cannot sync a directory through os.File and journals
// renames itself, so there it does nothing.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}
