package crypto

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"golang.org/x/crypto/argon2"
)

// This file holds the keystore: the one file on disk that carries the node's
// secrets (the device key seed and the storage root key), sealed with
// XChaCha20-Poly1305 under a key that Argon2id derives from the member's
// passphrase. Parsing and marshalling work on bytes (ksParse, ksMarshal) so
// they can be fuzzed; the disk is touched only by ksReadFile and
// ksWriteFile. The byte layout is documented in docs/PROTOCOL.md.

// ErrBadPassphrase is returned when an intact keystore file does not open
// with the passphrase given. Because the file carries a checksum over all of
// its bytes, this error means the passphrase is wrong (or the file was
// deliberately forged), never that the file was damaged.
var ErrBadPassphrase = errors.New("hearth/crypto: the passphrase does not open this keystore")

// ErrKeystoreCorrupt is returned (wrapped, with the reason) when a keystore
// file is damaged, truncated, not a keystore at all, or names cost parameters
// outside the bounds this package accepts.
var ErrKeystoreCorrupt = errors.New("hearth/crypto: keystore file is corrupt")

// ErrKeystoreVersion is returned (wrapped) when a keystore file, or the
// secrets sealed inside it, uses a format version or a key derivation
// function this build does not know: it was most likely written by a newer
// Hearth.
var ErrKeystoreVersion = errors.New("hearth/crypto: unsupported keystore version")

// ErrKeystoreExists is returned when CreateKeystore finds something already
// at the path. It never overwrites: an existing keystore may hold the only
// copy of a member's device key and storage root.
var ErrKeystoreExists = errors.New("hearth/crypto: a keystore already exists at this path")

// ErrEmptyPassphrase is returned when a keystore is created, re-sealed or
// opened with an empty passphrase.
var ErrEmptyPassphrase = errors.New("hearth/crypto: the passphrase is empty")

// errKsClosed is returned by ChangePassphrase after Close.
var errKsClosed = errors.New("hearth/crypto: keystore is closed")

// The keystore file layout, format version 1 (all integers big-endian):
//
//	header     magic "HEARTHKS" (8) | version u8 = 1 | KDF id u8 = 1 |
//	           time u32 | memory KiB u32 | threads u8 | salt (16) | nonce (24)
//	ciphertext XChaCha20-Poly1305(key = Argon2id(passphrase, salt, time,
//	           memory, threads, 32), nonce, payload, ad = header)  (81)
//	checksum   SHA-256(header || ciphertext)  (32)
//
// and the payload is: payload version u8 = 1 | device key seed (32) |
// storage root key (32). Every size is fixed, so a version 1 file is exactly
// ksFileSize bytes.
const (
	ksMagic          = "HEARTHKS"
	ksFormatVersion  = 1
	ksKDFArgon2id    = 1
	ksSaltSize       = 16
	ksPayloadVersion = 1

	ksOffVersion = len(ksMagic)
	ksOffKDF     = ksOffVersion + 1
	ksOffTime    = ksOffKDF + 1
	ksOffMemory  = ksOffTime + 4
	ksOffThreads = ksOffMemory + 4
	ksOffSalt    = ksOffThreads + 1
	ksOffNonce   = ksOffSalt + ksSaltSize
	ksHeaderSize = ksOffNonce + NonceSize // 59

	ksPayloadSize    = 1 + ed25519.SeedSize + KeySize // 65
	ksCiphertextSize = ksPayloadSize + TagSize        // 81
	ksChecksumSize   = sha256.Size                    // 32
	ksFileSize       = ksHeaderSize + ksCiphertextSize + ksChecksumSize
)

// Bounds on the Argon2id cost parameters, enforced on every file opened and
// every keystore written. A keystore file is input like any other, and its
// checksum is unkeyed: anyone who can edit the file can set any parameters,
// and they are read before the passphrase can be checked. So the bounds are
// what an edited file can force an unlock to spend: at most 1 GiB of memory
// (a laptop survives it; RFC 9106's 2 GiB first setting would not fit a
// phone), at most 16 passes, and at most 4 GiB of memory passes in all
// (memory x time), about 21 times the default's 192 MiB, so an unlock of
// the worst acceptable file costs about a second and a half where the
// default costs 65 ms. That still leaves room to raise the default several
// times. The memory floor of 8 KiB per lane is the minimum RFC 9106 section
// 3.1 allows.
const (
	ksMaxTime      = 16
	ksMaxThreads   = 64
	ksMaxMemoryKiB = 1024 * 1024     // 1 GiB
	ksMaxWorkKiB   = 4 * 1024 * 1024 // memory x time, in KiB passes
)

// KDFParams are the Argon2id cost parameters a keystore is sealed with. They
// are stored in the file's header, so a keystore always opens with the
// parameters it was written with.
type KDFParams struct {
	// Time is the number of passes over memory, 1 to 16.
	Time uint32
	// MemoryKiB is the memory used, in KiB, from 8*Threads to 1024*1024
	// (1 GiB). Time x MemoryKiB is at most 4*1024*1024 (4 GiB of passes).
	MemoryKiB uint32
	// Threads is the number of lanes, 1 to 64. The derived key depends on
	// it, so it is part of the parameters, not a tuning knob of the machine
	// that opens the file.
	Threads uint8
}

// DefaultKDFParams returns the parameters Hearth seals keystores with: RFC
// 9106's second recommended setting for Argon2id (3 passes, 64 MiB, 4
// lanes), which costs about a fifth of a second on a laptop and fits the
// memory of a phone. RFC 9106's first setting (2 GiB) would not.
func DefaultKDFParams() KDFParams {
	return KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}
}

// ksCheckParams returns a description of the first field of p that is out of
// bounds, or "" when p is acceptable.
func ksCheckParams(p KDFParams) string {
	switch {
	case p.Time < 1 || p.Time > ksMaxTime:
		return fmt.Sprintf("time cost %d is outside 1..%d", p.Time, ksMaxTime)
	case p.Threads < 1 || p.Threads > ksMaxThreads:
		return fmt.Sprintf("threads %d is outside 1..%d", p.Threads, ksMaxThreads)
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > ksMaxMemoryKiB:
		return fmt.Sprintf("memory %d KiB is outside %d..%d KiB for %d threads",
			p.MemoryKiB, 8*uint32(p.Threads), ksMaxMemoryKiB, p.Threads)
	case uint64(p.Time)*uint64(p.MemoryKiB) > ksMaxWorkKiB:
		return fmt.Sprintf("time cost %d with memory %d KiB is %d KiB of passes, more than %d",
			p.Time, p.MemoryKiB, uint64(p.Time)*uint64(p.MemoryKiB), ksMaxWorkKiB)
	}
	return ""
}

// ksValidateParams checks parameters a caller asked to seal with.
func ksValidateParams(p KDFParams) error {
	if msg := ksCheckParams(p); msg != "" {
		return fmt.Errorf("hearth/crypto: invalid keystore parameters: %s", msg)
	}
	return nil
}

// ksFile is a parsed keystore file: everything in it but the checksum, which
// ksParse verifies and ksMarshal recomputes.
type ksFile struct {
	params     KDFParams
	salt       [ksSaltSize]byte
	nonce      [NonceSize]byte
	ciphertext [ksCiphertextSize]byte
}

// header returns the ksHeaderSize-byte header, which is also the associated
// data of the ciphertext: every parameter, the salt and the nonce are
// authenticated, so none can be changed without the file failing to open.
func (f *ksFile) header() []byte {
	h := make([]byte, ksHeaderSize)
	copy(h, ksMagic)
	h[ksOffVersion] = ksFormatVersion
	h[ksOffKDF] = ksKDFArgon2id
	binary.BigEndian.PutUint32(h[ksOffTime:], f.params.Time)
	binary.BigEndian.PutUint32(h[ksOffMemory:], f.params.MemoryKiB)
	h[ksOffThreads] = f.params.Threads
	copy(h[ksOffSalt:], f.salt[:])
	copy(h[ksOffNonce:], f.nonce[:])
	return h
}

// ksMarshal returns the file's bytes: header, ciphertext and checksum.
func ksMarshal(f *ksFile) []byte {
	out := make([]byte, 0, ksFileSize)
	out = append(out, f.header()...)
	out = append(out, f.ciphertext[:]...)
	sum := sha256.Sum256(out)
	return append(out, sum[:]...)
}

// ksParse parses and checks a keystore file's bytes without the passphrase.
// The checks run in this order, so that each error names the real cause:
// magic (ErrKeystoreCorrupt), format version (ErrKeystoreVersion: a newer
// format may have another length and place its checksum elsewhere, so the
// version is read before anything that depends on the layout), exact length
// and checksum (ErrKeystoreCorrupt), KDF id (ErrKeystoreVersion), then the
// bounds on each cost parameter (ErrKeystoreCorrupt, naming the field).
//
// The checksum is unkeyed, so it proves nothing against an attacker, who can
// recompute it; it exists so that a flipped bit or a short write is reported
// as corruption rather than as a wrong passphrase, which would send a member
// looking for a passphrase that was never the problem. Authenticity comes
// from the AEAD alone.
func ksParse(b []byte) (*ksFile, error) {
	if len(b) < len(ksMagic) || string(b[:len(ksMagic)]) != ksMagic {
		return nil, fmt.Errorf("%w: not a Hearth keystore (bad magic)", ErrKeystoreCorrupt)
	}
	if len(b) <= ksOffVersion {
		return nil, fmt.Errorf("%w: truncated to %d bytes", ErrKeystoreCorrupt, len(b))
	}
	if v := b[ksOffVersion]; v != ksFormatVersion {
		return nil, fmt.Errorf("%w: file format version %d, this build reads version %d", ErrKeystoreVersion, v, ksFormatVersion)
	}
	if len(b) != ksFileSize {
		return nil, fmt.Errorf("%w: file is %d bytes, want %d", ErrKeystoreCorrupt, len(b), ksFileSize)
	}
	sum := sha256.Sum256(b[:ksFileSize-ksChecksumSize])
	// The checksum is not a secret and guards nothing against an attacker,
	// so a constant-time comparison is not needed; Equal is used anyway so
	// every comparison in the package reads the same.
	if !Equal(sum[:], b[ksFileSize-ksChecksumSize:]) {
		return nil, fmt.Errorf("%w: checksum mismatch (the file is damaged or incomplete)", ErrKeystoreCorrupt)
	}
	if id := b[ksOffKDF]; id != ksKDFArgon2id {
		return nil, fmt.Errorf("%w: unknown key derivation function %d", ErrKeystoreVersion, id)
	}
	f := &ksFile{params: KDFParams{
		Time:      binary.BigEndian.Uint32(b[ksOffTime:]),
		MemoryKiB: binary.BigEndian.Uint32(b[ksOffMemory:]),
		Threads:   b[ksOffThreads],
	}}
	if msg := ksCheckParams(f.params); msg != "" {
		return nil, fmt.Errorf("%w: %s", ErrKeystoreCorrupt, msg)
	}
	copy(f.salt[:], b[ksOffSalt:ksOffNonce])
	copy(f.nonce[:], b[ksOffNonce:ksHeaderSize])
	copy(f.ciphertext[:], b[ksHeaderSize:ksHeaderSize+ksCiphertextSize])
	return f, nil
}

// ksDeriveKey runs Argon2id over the passphrase with the file's salt and
// parameters. The caller wipes the result. (Argon2's working memory, which
// x/crypto allocates and drops, cannot be wiped from here.)
func ksDeriveKey(passphrase []byte, f *ksFile) [KeySize]byte {
	out := argon2.IDKey(passphrase, f.salt[:], f.params.Time, f.params.MemoryKiB, f.params.Threads, KeySize)
	var k [KeySize]byte
	copy(k[:], out)
	Wipe(out)
	return k
}

// Keystore is an unlocked keystore: the node's device key and storage root
// key, held in memory, and the path of the file they are sealed in. Its
// methods are safe for concurrent use. After Close it holds no secrets and
// is unusable.
type Keystore struct {
	path string

	mu     sync.Mutex // guards every field below
	params KDFParams
	device *DeviceKey
	root   *[KeySize]byte
	closed bool
}

// CreateKeystore creates a new keystore file at path holding a fresh device
// key and a fresh storage root key, both drawn from r (crypto/rand when r is
// nil), sealed under passphrase with params. From r it reads, in order, the
// device key seed (32 bytes), the storage root (32), the salt (16) and the
// nonce (24).
//
// It never replaces anything: if something exists at path it returns
// ErrKeystoreExists, and the file appears at path only once it is complete
// and synced to disk (see ksWriteFile). The parent directory must exist. It
// returns ErrEmptyPassphrase for an empty passphrase and an error naming the
// field for parameters outside the bounds of KDFParams. On error no file is
// left behind.
func CreateKeystore(path string, passphrase []byte, params KDFParams, r io.Reader) (*Keystore, error) {
	if len(passphrase) == 0 {
		return nil, ErrEmptyPassphrase
	}
	if err := ksValidateParams(params); err != nil {
		return nil, err
	}
	// Refuse early, before spending a second on Argon2id; ksWriteFile
	// refuses again atomically, in case a file appears in between.
	if _, err := os.Lstat(path); err == nil {
		return nil, ErrKeystoreExists
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("hearth/crypto: creating keystore: %w", err)
	}
	device, err := NewDeviceKey(r)
	if err != nil {
		return nil, err
	}
	root, err := NewKey(r)
	if err != nil {
		device.Wipe()
		return nil, err
	}
	k := &Keystore{path: path, params: params, device: device, root: root}
	data, err := k.seal(passphrase, params, r)
	if err != nil {
		k.Close()
		return nil, err
	}
	placed, err := ksWriteFile(path, false, ksBytes(data))
	if err != nil {
		k.Close()
		if placed {
			// The file was linked into place but a later step (directory
			// sync) failed. Nothing was at path before, so removing it
			// restores the state the caller saw, and the error means what
			// it says: there is no keystore.
			_ = os.Remove(path)
		}
		if errors.Is(err, fs.ErrExist) {
			return nil, ErrKeystoreExists
		}
		return nil, fmt.Errorf("hearth/crypto: creating keystore: %w", err)
	}
	return k, nil
}

// OpenKeystore reads the keystore file at path and unlocks it with
// passphrase. It only reads the file, never writes it.
//
// It returns a wrapped fs.ErrNotExist when there is no file, an error
// wrapping ErrKeystoreCorrupt when the file is damaged, truncated or names
// out-of-bounds parameters, one wrapping ErrKeystoreVersion when it was
// written in a format this build does not know, ErrEmptyPassphrase for an
// empty passphrase, and ErrBadPassphrase when the file is intact but the
// passphrase does not open it. The file is checked before the passphrase is
// used, so damage is never reported as a wrong passphrase and a hostile file
// cannot make Argon2id run with unbounded cost.
func OpenKeystore(path string, passphrase []byte) (*Keystore, error) {
	b, err := ksReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := ksParse(b)
	if err != nil {
		return nil, err
	}
	if len(passphrase) == 0 {
		return nil, ErrEmptyPassphrase
	}
	key := ksDeriveKey(passphrase, f)
	defer Wipe(key[:])
	payload, err := openWithNonce(make([]byte, 0, ksPayloadSize), &key, f.nonce[:], f.ciphertext[:], f.header())
	if err != nil {
		return nil, ErrBadPassphrase
	}
	defer Wipe(payload)
	// The length is fixed by the file's, so this cannot fail for a file
	// ksParse accepted; it is checked so the slicing below never can panic.
	if len(payload) != ksPayloadSize {
		return nil, fmt.Errorf("%w: sealed payload is %d bytes, want %d", ErrKeystoreCorrupt, len(payload), ksPayloadSize)
	}
	// The payload authenticated, so whoever wrote it knew the passphrase:
	// an unknown payload version is a newer writer, not damage.
	if v := payload[0]; v != ksPayloadVersion {
		return nil, fmt.Errorf("%w: sealed payload version %d, this build reads version %d", ErrKeystoreVersion, v, ksPayloadVersion)
	}
	device, err := DeviceKeyFromSeed(payload[1 : 1+ed25519.SeedSize])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeystoreCorrupt, err)
	}
	root := new([KeySize]byte)
	copy(root[:], payload[1+ed25519.SeedSize:])
	return &Keystore{path: path, params: f.params, device: device, root: root}, nil
}

// ChangePassphrase re-seals the keystore's secrets under newPassphrase and
// params, with a fresh salt and nonce drawn from r (crypto/rand when r is
// nil), and atomically replaces the file at Path. The device key and storage
// root do not change, so the node's peer ID and its database keys stay the
// same.
//
// It returns ErrEmptyPassphrase for an empty passphrase, an error naming the
// field for out-of-bounds parameters, and an error after Close. When it
// fails the file still opens with the old passphrase and Params is
// unchanged, with one exception the error states: if the new file was
// already renamed into place and only the sync of the directory failed, the
// new passphrase is in effect (Params reports the new parameters) but may
// not survive a power loss. In every case calling ChangePassphrase again
// with the same new passphrase is safe.
//
// It holds the Keystore's lock while Argon2id runs, so DeviceKey,
// StorageRoot and Params called meanwhile wait for it.
//
// Changing the passphrase does not change the secrets: a copy of the old file
// (a backup, or blocks the storage device has not yet erased) still opens
// with the old passphrase.
func (k *Keystore) ChangePassphrase(newPassphrase []byte, params KDFParams, r io.Reader) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	// A zero Keystore (not from CreateKeystore or OpenKeystore) holds no
	// secrets and is treated as closed.
	if k.closed || k.device == nil || k.root == nil {
		return errKsClosed
	}
	if len(newPassphrase) == 0 {
		return ErrEmptyPassphrase
	}
	if err := ksValidateParams(params); err != nil {
		return err
	}
	data, err := k.seal(newPassphrase, params, r)
	if err != nil {
		return err
	}
	placed, err := ksWriteFile(k.path, true, ksBytes(data))
	if placed {
		k.params = params
	}
	if err != nil {
		if placed {
			return fmt.Errorf("hearth/crypto: the new passphrase is in place but may not be durable: %w", err)
		}
		return fmt.Errorf("hearth/crypto: rewriting keystore (the old passphrase still opens it): %w", err)
	}
	return nil
}

// seal returns the bytes of a keystore file holding k's secrets sealed under
// passphrase, with a salt and nonce read from r. It wipes the derived key and
// the plaintext payload before returning. The caller holds k.mu or owns k
// exclusively.
func (k *Keystore) seal(passphrase []byte, params KDFParams, r io.Reader) ([]byte, error) {
	f := &ksFile{params: params}
	if err := readRandom(r, f.salt[:]); err != nil {
		return nil, err
	}
	// A random 24-byte nonce never repeats in practice (see NonceSize); it
	// would be safe even fixed, since the salt makes every key fresh, but
	// a fresh nonce costs nothing and keeps the rule "never reuse a nonce"
	// free of exceptions.
	if err := readRandom(r, f.nonce[:]); err != nil {
		return nil, err
	}
	var payload [ksPayloadSize]byte
	defer Wipe(payload[:])
	seed := k.device.Seed()
	payload[0] = ksPayloadVersion
	copy(payload[1:], seed)
	Wipe(seed)
	copy(payload[1+ed25519.SeedSize:], k.root[:])

	key := ksDeriveKey(passphrase, f)
	defer Wipe(key[:])
	sealWithNonce(f.ciphertext[:0], &key, f.nonce[:], payload[:], f.header())
	return ksMarshal(f), nil
}

// DeviceKey returns the node's device key. The key is owned by the Keystore:
// Close wipes it, and DeviceKey returns nil after Close, so a closed
// keystore can never hand out a zeroed key that would still sign.
func (k *Keystore) DeviceKey() *DeviceKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil
	}
	return k.device
}

// StorageRoot returns the storage root key, from which DeriveStorageKeys
// derives the database keys. The array is owned by the Keystore: Close wipes
// it, and StorageRoot returns nil after Close.
func (k *Keystore) StorageRoot() *[KeySize]byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil
	}
	return k.root
}

// Params returns the Argon2id parameters the file on disk is sealed with.
func (k *Keystore) Params() KDFParams {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.params
}

// Path returns the path of the keystore file, as given when it was created
// or opened.
func (k *Keystore) Path() string { return k.path }

// Close wipes the device key and the storage root key from memory, including
// the copies returned earlier by DeviceKey and StorageRoot. Afterwards
// DeviceKey and StorageRoot return nil and ChangePassphrase fails. Close
// leaves the file alone and may be called more than once.
func (k *Keystore) Close() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return
	}
	k.closed = true
	if k.device != nil {
		k.device.Wipe()
	}
	if k.root != nil {
		Wipe(k.root[:])
	}
}

// ksReadFile reads a keystore file, reading at most one byte more than a
// valid file holds, so a huge file (or a device like /dev/zero given as the
// path) costs nothing and is then rejected by ksParse for its length.
func ksReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("hearth/crypto: opening keystore: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(ksFileSize)+1))
	if err != nil {
		return nil, fmt.Errorf("hearth/crypto: reading keystore: %w", err)
	}
	return b, nil
}

// ksBytes returns a write function for ksWriteFile that writes data.
func ksBytes(data []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}
}

// ksWriteFile atomically and durably puts the bytes that write produces at
// path. It writes them to a new temporary file in the same directory
// (created with mode 0600, so the file is never readable by others even for
// an instant), syncs it, then moves it into place: with rename when replace
// is true, or, when replace is false, with a hard link, which fails with
// fs.ErrExist rather than replace anything, closing the race between
// checking for a file and creating it. Finally it syncs the directory, so the
// new name survives a power loss.
//
// placed reports whether path now holds the new bytes. When err is not nil
// and placed is false, path is untouched and the temporary file is removed;
// when placed is true, only a step after the move (removing the temporary
// link, syncing the directory) failed.
func ksWriteFile(path string, replace bool, write func(io.Writer) error) (placed bool, err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return false, err
	}
	tmpName := tmp.Name()
	defer func() {
		if tmp != nil {
			tmp.Close()
		}
		if !placed {
			// Nothing was placed: the temporary file is abandoned and path
			// is exactly as it was.
			os.Remove(tmpName)
		}
	}()
	// CreateTemp already uses 0600; saying so again does not depend on
	// that staying true.
	if err := tmp.Chmod(0o600); err != nil {
		return false, err
	}
	if err := write(tmp); err != nil {
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		return false, err
	}
	err = tmp.Close()
	tmp = nil
	if err != nil {
		return false, err
	}
	if replace {
		if err := os.Rename(tmpName, path); err != nil {
			return false, err
		}
		placed = true
	} else {
		if err := os.Link(tmpName, path); err != nil {
			return false, err
		}
		placed = true
		// The file now has two names; drop the temporary one before the
		// directory is synced, so the sync covers both changes.
		if err := os.Remove(tmpName); err != nil {
			return true, err
		}
	}
	return true, ksSyncDir(dir)
}

// ksSyncDir flushes a directory's entries to disk, so a rename or link in it
// survives a power loss. Windows offers no way to sync a directory through
// os.File, and NTFS journals renames itself, so there it does nothing.
func ksSyncDir(dir string) error {
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
