package storage

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/hearthnet/hearth/crypto"
)

// Checking Badger's logs before Badger replays them.
//
// When Badger opens a store it replays every memtable's write-ahead log
// (NNNNN.mem) and the newest value-log file (NNNNNN.vlog), entry by entry,
// and stops at the first entry that does not parse or whose checksum fails;
// it then truncates the file there and carries on (badger v4.9.6:
// memtable.go, (*logFile).iterate and (*memTable).UpdateSkipList; value.go,
// (*valueLog).open and (*safeRead).Entry). That is the right answer to a
// crash, which can leave the last entry half written. It is the wrong one
// to a damaged byte in the middle of a log: everything after the damage,
// writes the store had acknowledged, is silently dropped, and the files are
// rewritten so nothing can be recovered. checkLogs replays the logs the
// same way first, reading only, and refuses a store whose logs are damaged
// rather than interrupted, before Badger has opened anything for writing.
//
// The format, as badger v4.9.6 writes it (memtable.go (*logFile).encodeEntry
// and bootstrap, structs.go header.Encode; nothing of it is exported, so it
// is parsed here):
//
//	file   data key ID (8, big-endian; 0: not encrypted) | base IV (12) | entries
//	entry  meta (1) | user meta (1) | uvarint key length | uvarint value length |
//	       uvarint expiresAt | key | value | CRC-32C (4, big-endian)
//
// The checksum covers every byte before it as stored, key and value
// encrypted, so it is verified without any key. Key and value are
// encrypted with AES-CTR under the data key (from the key registry), IV =
// base IV | the entry's file offset (uint32, big-endian); the key ends with
// its 8-byte version, MaxUint64 - commit timestamp. In a write-ahead log a
// transaction is its entries with meta bit 6 (bitTxn) set, all of one
// timestamp, followed by an end marker with bit 7 (bitFinTxn) whose value
// is that timestamp in decimal; Badger keeps a transaction only once it
// has read its end marker, and stops at an entry that breaks that order,
// so those rules are followed here too (they need the keys decrypted).
// Value-log entries carry no transaction bits: each stands alone.
//
// What a crash can leave, and what is therefore accepted: the process being
// killed leaves every entry it finished and at most one half-copied entry
// (any of its bytes, since a long memmove may store its first bytes last),
// then the zeros the file was created with (Badger creates each log at its
// full size and never appends to one again after a crash); a power failure
// can also lose whole sectors of what was written since the last fsync,
// which read back as zeros. Everything Badger drops in those cases was
// never acknowledged (or, without Options.SyncWrites, is within what the
// durability contract says power loss may take).
//
// So where Badger would stop at an entry that does not verify, the log is
// refused (ErrCorrupt) if an entry that verifies begins anywhere within
// one maximal entry after it (the failing entry was written whole, so it
// was damaged since), or if anything nonzero lies further on; unless an
// aligned 512-byte block of zeros, a lost sector, lies between the failing
// entry and that evidence. It is refused as well when an entry that
// verifies breaks the transaction order, which no crash produces. What
// cannot be told from an interrupted write is accepted: damage to the last
// entry written. Logs written without encryption (data key 0, never the
// case for a Hearth store) are checked the same way, but their plain
// zeros could pass for a lost sector.

const (
	// logHeaderSize is the data key ID and the base IV (vlogHeaderSize).
	logHeaderSize = 20
	// entryHeaderPeek covers meta, user meta and three uvarints of up to
	// ten bytes each, so an over-long varint is seen as such.
	entryHeaderPeek = 2 + 3*binary.MaxVarintLen64
	// badgerMaxKey is the key length above which Badger's replay stops.
	badgerMaxKey = 1 << 16
	bitTxn       = 1 << 6
	bitFinTxn    = 1 << 7
	// sectorSize is the smallest unit a device writes: a power failure
	// loses whole, aligned sectors.
	sectorSize = 512
	// logMaxKey is the longest key any log entry of a Hearth store has: a
	// record key (prefix, group, epoch, caller key), room for Badger's own
	// internal keys, and the 8-byte version.
	logMaxKey = 1 + crypto.GroupIDSize + 8 + MaxRecordKeySize + 64 + 8
	// walMaxValue: a write-ahead log holds values below valueThreshold
	// inline, and a value pointer (12 bytes) or a transaction's end marker
	// (up to 20 digits) otherwise.
	walMaxValue = valueThreshold
	// vlogMaxValue: the value log holds values of up to MaxValueSize, plus
	// what sealing adds (well under 4 KiB).
	vlogMaxValue = MaxValueSize + 4096
)

// checkLogs checks every write-ahead log and the newest value-log file of
// the store in dir, reading only. It returns ErrCorrupt for a log Badger's
// replay would cut short at damage, ErrWrongKey never (the key registry has
// been checked already), and a plain error for I/O failures.
func checkLogs(dir string, badgerKey []byte) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	var wals []string
	newestVlog, newestFid := "", int64(-1)
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, ".mem"):
			if _, err := strconv.ParseInt(strings.TrimSuffix(name, ".mem"), 10, 64); err != nil {
				return fmt.Errorf("storage: %s: %s is not a write-ahead log: %w", dir, name, ErrCorrupt)
			}
			wals = append(wals, name)
		case strings.HasSuffix(name, ".vlog"):
			fid, err := strconv.ParseUint(strings.TrimSuffix(name, ".vlog"), 10, 32)
			if err != nil {
				return fmt.Errorf("storage: %s: %s is not a value log: %w", dir, name, ErrCorrupt)
			}
			if int64(fid) > newestFid {
				newestVlog, newestFid = name, int64(fid)
			}
		}
	}
	if len(wals) == 0 && newestVlog == "" {
		return nil
	}
	kr, err := badger.OpenKeyRegistry(badger.KeyRegistryOptions{Dir: dir, ReadOnly: true, EncryptionKey: badgerKey})
	if err != nil {
		// inspectDir opened the same registry a moment ago.
		return fmt.Errorf("storage: %s: key registry unreadable (%v): %w", dir, err, ErrCorrupt)
	}
	defer kr.Close()
	keys := &logKeys{kr: kr}
	defer keys.wipe()

	slices.Sort(wals)
	for _, name := range wals {
		if err := checkLog(filepath.Join(dir, name), keys, true); err != nil {
			return err
		}
	}
	if newestVlog != "" {
		return checkLog(filepath.Join(dir, newestVlog), keys, false)
	}
	return nil
}

// logKeys hands out data keys from the registry and wipes the ones it
// handed out.
type logKeys struct {
	kr   *badger.KeyRegistry
	used [][]byte
}

func (k *logKeys) block(id uint64) (cipher.Block, error) {
	dk, err := k.kr.DataKey(id)
	if err != nil || dk == nil {
		return nil, fmt.Errorf("data key %d is not in the key registry", id)
	}
	k.used = append(k.used, dk.Data)
	return aes.NewCipher(dk.Data)
}

func (k *logKeys) wipe() {
	for _, b := range k.used {
		crypto.Wipe(b)
	}
}

// checkLog checks one log file; wal says whether it is a memtable's
// write-ahead log (transactions) or a value-log file.
func checkLog(path string, keys *logKeys, wal bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	kind := "value log"
	maxValue := int64(vlogMaxValue)
	if wal {
		kind, maxValue = "write-ahead log", walMaxValue
	}
	l := &logReader{f: f, size: fi.Size(), maxValue: maxValue}
	if l.size < logHeaderSize {
		// Badger starts such a file afresh. Created at full size in one
		// step, a log is this short only if something cut it.
		zero, err := l.zeroFrom(0)
		if err != nil {
			return fmt.Errorf("storage: reading %s: %w", path, err)
		}
		if !zero {
			return fmt.Errorf("storage: %s %s is cut short at %d bytes: %w", kind, path, l.size, ErrCorrupt)
		}
		return nil
	}
	var hdr [logHeaderSize]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return fmt.Errorf("storage: reading %s: %w", path, err)
	}
	if id := binary.BigEndian.Uint64(hdr[:8]); id != 0 {
		if l.block, err = keys.block(id); err != nil {
			return fmt.Errorf("storage: %s %s: %v: %w", kind, path, err, ErrCorrupt)
		}
	}
	copy(l.baseIV[:], hdr[8:])

	stop, verified, err := l.replay(wal)
	if err != nil {
		return fmt.Errorf("storage: reading %s: %w", path, err)
	}
	if stop < 0 {
		return nil
	}
	if verified {
		return fmt.Errorf("storage: %s %s: entry at byte %d breaks transaction order, and opening would drop it and everything after it: %w",
			kind, path, stop, ErrCorrupt)
	}
	damaged, err := l.damagedAt(stop, wal)
	if err != nil {
		return fmt.Errorf("storage: reading %s: %w", path, err)
	}
	if damaged {
		return fmt.Errorf("storage: %s %s is damaged at byte %d, with written entries after it that opening would drop: %w",
			kind, path, stop, ErrCorrupt)
	}
	return nil
}

// logReader reads one log file.
type logReader struct {
	f        *os.File
	size     int64
	maxValue int64        // the largest value an entry of this log can hold
	block    cipher.Block // the data key; nil if the log is not encrypted
	baseIV   [12]byte
	buf      []byte // see scratch
	copyBuf  []byte // for streaming values through the checksum
}

// entry is what the replay needs of one log entry.
type entry struct {
	meta       byte
	hlen       int64
	klen, vlen int64
	key        []byte // decrypted, for transaction entries only
	value      []byte // decrypted, for end markers only
}

func (e *entry) size() int64 { return e.hlen + e.klen + e.vlen + crc32.Size }

// replay walks the entries from the first, as Badger's iterate does. It
// returns stop = -1 if the log ends cleanly (at its end or where an entry
// fails, with nothing of a verified entry lost), or the offset of the
// entry at which Badger's replay stops: verified says whether that entry
// itself verified (and broke the transaction order) or failed to.
func (l *logReader) replay(wal bool) (stop int64, verified bool, err error) {
	r := bufio.NewReaderSize(io.NewSectionReader(l.f, logHeaderSize, l.size-logHeaderSize), 64<<10)
	off := int64(logHeaderSize)
	var open uint64 // timestamp of the transaction being read; 0: none
	for {
		e, ok, err := l.readEntry(r, off, wal)
		if err != nil {
			return 0, false, err
		}
		if !ok {
			if off >= l.size {
				return -1, false, nil
			}
			return off, false, nil
		}
		if e.klen == 0 {
			// Badger's end-of-log marker (Entry.isZero); it writes none.
			return off, false, nil
		}
		switch {
		case e.meta&bitTxn != 0:
			ts := keyTimestamp(e.key)
			if open == 0 {
				open = ts
			}
			if open != ts {
				return off, true, nil
			}
		case e.meta&bitFinTxn != 0:
			ts, err := strconv.ParseUint(string(e.value), 10, 64)
			if err != nil || ts != open {
				return off, true, nil
			}
			open = 0
		default:
			if open != 0 {
				return off, true, nil
			}
		}
		off += e.size()
	}
}

// readEntry reads the entry at off. ok is false when the entry does not
// parse or its checksum fails, which is where Badger's replay stops. err
// is an I/O error only.
func (l *logReader) readEntry(r *bufio.Reader, off int64, wal bool) (e entry, ok bool, err error) {
	h, err := r.Peek(entryHeaderPeek)
	if err != nil && !errors.Is(err, io.EOF) {
		return e, false, err
	}
	e, ok = parseEntryHeader(h)
	if !ok || e.klen > badgerMaxKey || off+e.size() > l.size {
		return e, false, nil
	}
	sum := crc32.New(castagnoli)
	kv := make([]byte, e.klen)
	if _, err := r.Discard(int(e.hlen)); err != nil {
		return e, false, err
	}
	sum.Write(h[:e.hlen])
	if _, err := io.ReadFull(r, kv); err != nil {
		return e, false, err
	}
	sum.Write(kv)
	var value []byte
	fin := e.meta&bitTxn == 0 && e.meta&bitFinTxn != 0
	if fin && e.vlen <= 32 {
		value = make([]byte, e.vlen)
		if _, err := io.ReadFull(r, value); err != nil {
			return e, false, err
		}
		sum.Write(value)
	} else {
		if l.copyBuf == nil {
			l.copyBuf = make([]byte, 32<<10)
		}
		n, err := io.CopyBuffer(sum, io.LimitReader(r, e.vlen), l.copyBuf)
		if err == nil && n != e.vlen {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return e, false, err
		}
	}
	var crc [crc32.Size]byte
	if _, err := io.ReadFull(r, crc[:]); err != nil {
		return e, false, err
	}
	if binary.BigEndian.Uint32(crc[:]) != sum.Sum32() {
		return e, false, nil
	}
	if wal && e.meta&(bitTxn|bitFinTxn) != 0 && l.block != nil {
		var iv [aes.BlockSize]byte
		copy(iv[:], l.baseIV[:])
		binary.BigEndian.PutUint32(iv[12:], uint32(off))
		ctr := cipher.NewCTR(l.block, iv[:])
		ctr.XORKeyStream(kv, kv)
		ctr.XORKeyStream(value, value)
	}
	e.key, e.value = kv, value
	return e, true, nil
}

// parseEntryHeader decodes an entry header as Badger's header.DecodeFrom
// does, lengths truncated to 32 bits as Badger keeps them. ok is false if
// the header is cut off or a varint overflows.
func parseEntryHeader(h []byte) (e entry, ok bool) {
	if len(h) < 2 {
		return e, false
	}
	e.meta = h[0]
	p := 2
	var v [3]uint64
	for i := range v {
		x, n := binary.Uvarint(h[p:])
		if n <= 0 {
			return e, false
		}
		v[i] = x
		p += n
	}
	e.hlen, e.klen, e.vlen = int64(p), int64(uint32(v[0])), int64(uint32(v[1]))
	return e, true
}

// keyTimestamp is y.ParseTs: the commit timestamp in a key's version.
func keyTimestamp(key []byte) uint64 {
	if len(key) <= 8 {
		return 0
	}
	return ^binary.BigEndian.Uint64(key[len(key)-8:])
}

// damagedAt decides whether the entry at stop, which does not verify, is
// damage rather than the interrupted end of the log (see the comment at
// the top of this file): whether anything written follows it that a crash
// cannot explain.
func (l *logReader) damagedAt(stop int64, wal bool) (bool, error) {
	// The largest entry this log holds: a torn final entry leaves nothing
	// written beyond it.
	window := int64(entryHeaderPeek+logMaxKey+crc32.Size) + l.maxValue
	buf := make([]byte, min(2*window, l.size-stop))
	if _, err := l.f.ReadAt(buf, stop); err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	written := int64(len(buf))
	for written > 0 && buf[written-1] == 0 {
		written--
	}
	// A verifying entry anywhere after the failing one means the failing
	// one was written whole and damaged since.
	for i := int64(1); i < min(window, written); i++ {
		if l.verifiesAt(buf[i:], stop+i, wal) {
			lost, err := l.lostSector(stop, stop+i)
			return !lost, err
		}
	}
	at, err := l.firstWritten(stop + window)
	if err != nil || at < 0 {
		return false, err
	}
	lost, err := l.lostSector(stop, at)
	return !lost, err
}

// verifiesAt reports whether b begins with an entry shaped like those a
// Hearth store writes (no user meta, no expiry, a key and a value of sizes
// this log holds, no transaction bits in a value log) whose checksum
// verifies. The shape is only a cheap filter before the checksum: it
// cannot make damage pass, only keep the search fast.
func (l *logReader) verifiesAt(b []byte, off int64, wal bool) bool {
	e, ok := parseEntryHeader(b[:min(len(b), entryHeaderPeek)])
	switch {
	case !ok, b[1] != 0, b[e.hlen-1] != 0, // user meta, expiresAt
		e.klen <= 8, e.klen > logMaxKey, e.vlen > l.maxValue,
		!wal && e.meta&(bitTxn|bitFinTxn) != 0,
		e.size() > int64(len(b)), off+e.size() > l.size:
		return false
	}
	n := e.size() - crc32.Size
	return crc32.Checksum(b[:n], castagnoli) == binary.BigEndian.Uint32(b[n:])
}

// firstWritten returns the offset of the first nonzero byte at or after
// from, or -1 if there is none.
func (l *logReader) firstWritten(from int64) (int64, error) {
	buf := l.scratch()
	for off := max(from, 0); off < l.size; {
		n := min(int64(len(buf)), l.size-off)
		if _, err := l.f.ReadAt(buf[:n], off); err != nil {
			return 0, err
		}
		if !allZero(buf[:n]) {
			return off + int64(slices.IndexFunc(buf[:n], func(b byte) bool { return b != 0 })), nil
		}
		off += n
	}
	return -1, nil
}

// zeroFrom reports whether every byte from off to the end is zero.
func (l *logReader) zeroFrom(off int64) (bool, error) {
	at, err := l.firstWritten(off)
	return at < 0, err
}

// lostSector reports whether an aligned sector of zeros lies entirely
// within [from rounded down to a sector, to).
func (l *logReader) lostSector(from, to int64) (bool, error) {
	buf := l.scratch()
	to = min(to, l.size)
	for off := from &^ (sectorSize - 1); off+sectorSize <= to; {
		n := min(int64(len(buf)), to-off) &^ (sectorSize - 1)
		if _, err := l.f.ReadAt(buf[:n], off); err != nil {
			return false, err
		}
		for i := int64(0); i < n; i += sectorSize {
			if allZero(buf[i : i+sectorSize]) {
				return true, nil
			}
		}
		off += n
	}
	return false, nil
}

// scratch is the reader's buffer for reading runs of sectors.
func (l *logReader) scratch() []byte {
	if l.buf == nil {
		l.buf = make([]byte, 256*sectorSize)
	}
	return l.buf
}

var (
	zeroSector [sectorSize]byte
	castagnoli = crc32.MakeTable(crc32.Castagnoli) // Badger's y.CastagnoliCrcTable
)

// allZero reports whether b holds only zeros.
func allZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), sectorSize)
		if !bytes.Equal(b[:n], zeroSector[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}
