package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/hearthnet/hearth/crypto"
)

// SetRetention sets how long group keeps envelopes (and their local
// copies) after they were received: 0 means forever, which is also the
// default for a group that never had a retention set. Shortening it takes
// effect at the next Expire. It returns ErrInvalid for a negative duration
// and ErrClosed after Close.
func (s *Store) SetRetention(group crypto.GroupID, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("storage: negative retention: %w", ErrInvalid)
	}
	k := retentionKey(group)
	return s.update(func(txn *badger.Txn) error {
		if d == 0 {
			return txn.Delete(k)
		}
		return s.setSealed(txn, k, encodeUint(uint64(d), 8))
	})
}

// Retention returns group's retention; 0 means forever. It returns
// ErrCorrupt when the stored setting does not authenticate and ErrClosed
// after Close.
func (s *Store) Retention(group crypto.GroupID) (time.Duration, error) {
	var d time.Duration
	err := s.view(func(txn *badger.Txn) error {
		b, err := s.getSealed(txn, retentionKey(group))
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		v, err := decodeUint(b, 8)
		d = time.Duration(v)
		return err
	})
	return d, err
}

// MarkEpochEnded records that group's epoch ended (a commit moved the group
// on) at the given time. Expire deletes an ended epoch's secrets and chain
// state (KindEpochSecret, KindChainState) once the end is past retention
// and none of the epoch's envelopes remain. Marking an epoch again moves
// its end. It returns ErrInvalid for a time before 1970 and ErrClosed after
// Close.
func (s *Store) MarkEpochEnded(group crypto.GroupID, epoch uint64, at time.Time) error {
	ns, err := unixNanos(at, "epoch end")
	if err != nil {
		return err
	}
	return s.update(func(txn *badger.Txn) error {
		return s.setSealed(txn, epochEndedKey(group, epoch), encodeUint(ns, 8))
	})
}

// ExpireStats counts what one Expire deleted.
type ExpireStats struct {
	Envelopes int // envelopes, each with its index entries
	Messages  int // local copies of those envelopes
	Epochs    int // ended epochs whose secrets and chain state were deleted
	// ShredKeys counts the shred keys destroyed: one per (group, day)
	// wholly past retention and one per expired epoch. Once a key is gone,
	// what was sealed under it cannot be read from any file.
	ShredKeys int
}

// expireChunk bounds how many envelopes one expiry transaction deletes.
const expireChunk = 256

// Expire applies every group's retention at now: it deletes each envelope
// received at or before now minus the retention together with its index
// entries and its local copy (one atomic write per envelope), then the
// secrets and chain state of every ended epoch whose end is that old and
// that has no envelope left. Groups kept forever are untouched.
//
// Then it crypto-shreds: it destroys the shred key of every day of the
// group wholly at or before the cutoff, and of every epoch it expired, and
// removes every version of those keys from Badger's live files (shred.go).
// From then on the expired envelopes, copies and epoch records cannot be
// read from any file, even with the passphrase. An envelope is deleted as
// soon as it expires, and its day's key when the whole UTC day has, so at
// most one day later.
//
// Deleted records are gone from every read at once. Their bytes stay in
// Badger's files, encrypted and sealed under destroyed keys, until
// compaction and value-log GC rewrite them: call Reclaim afterwards to free
// the space. Expire returns ErrClosed after Close; an error part-way leaves
// everything deleted so far consistently deleted, and the next Expire
// continues, shredding what an earlier one could not.
func (s *Store) Expire(now time.Time) (ExpireStats, error) {
	var st ExpireStats
	if err := s.acquire(); err != nil {
		return st, err
	}
	defer s.mu.RUnlock()

	type policy struct {
		group crypto.GroupID
		keep  time.Duration
	}
	var policies []policy
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixRetention}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != 1+crypto.GroupIDSize {
				return fmt.Errorf("storage: malformed retention key: %w", ErrCorrupt)
			}
			b, err := s.openItem(it.Item())
			if err != nil {
				return err
			}
			v, err := decodeUint(b, 8)
			if err != nil {
				return err
			}
			var g crypto.GroupID
			copy(g[:], k[1:])
			policies = append(policies, policy{g, time.Duration(v)})
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("storage: expire: %w", err)
	}
	var shred []shredCandidate
	for _, p := range policies {
		cutoff := now.Add(-p.keep)
		if cutoff.Before(time.Unix(0, 1)) {
			continue
		}
		if err := s.expireEnvelopes(p.group, uint64(cutoff.UnixNano()), &st); err != nil {
			return st, fmt.Errorf("storage: expire: %w", err)
		}
		if err := s.expireEpochs(p.group, uint64(cutoff.UnixNano()), &st); err != nil {
			return st, fmt.Errorf("storage: expire: %w", err)
		}
		c, err := s.expiredShredKeys(p.group, uint64(cutoff.UnixNano()))
		if err != nil {
			return st, fmt.Errorf("storage: expire: %w", err)
		}
		shred = append(shred, c...)
	}
	n, err := s.shred(shred)
	if err != nil {
		return st, fmt.Errorf("storage: expire: %w", err)
	}
	st.ShredKeys = n
	return st, nil
}

// expiredShredKeys lists group's shred keys whose period is over at cutoff:
// every day key of a day that ended at or before cutoff, and every epoch
// key of an epoch that has neither an ended-epoch marker nor a record left
// (expireEpochs deletes the marker last). Each is dropped only if, once
// writes are held off, nothing sealed under it remains; otherwise a later
// Expire finds it again.
func (s *Store) expiredShredKeys(group crypto.GroupID, cutoff uint64) ([]shredCandidate, error) {
	// Day d covers receive times [d*dayNanos, (d+1)*dayNanos); it is over
	// when (d+1)*dayNanos-1 <= cutoff, that is when d < (cutoff+1)/dayNanos.
	firstLive := (cutoff + 1) / dayNanos
	var out []shredCandidate
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: groupPrefix(prefixDayShredKey, group)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			f, ok := keyFields(it.Item().Key(), 4)
			if !ok {
				return fmt.Errorf("storage: malformed day shred key: %w", ErrCorrupt)
			}
			day := binary.BigEndian.Uint32(f[0])
			if uint64(day) >= firstLive {
				break
			}
			out = append(out, shredCandidate{
				prefix: it.Item().KeyCopy(nil),
				inUse: func(txn *badger.Txn) (bool, error) {
					return dayInUse(txn, group, day), nil
				},
			})
		}
		it2 := txn.NewIterator(badger.IteratorOptions{Prefix: groupPrefix(prefixEpochShredKey, group)})
		defer it2.Close()
		for it2.Rewind(); it2.Valid(); it2.Next() {
			f, ok := keyFields(it2.Item().Key(), 8)
			if !ok {
				return fmt.Errorf("storage: malformed epoch shred key: %w", ErrCorrupt)
			}
			epoch := binary.BigEndian.Uint64(f[0])
			if epochInUse(txn, group, epoch) {
				continue // current, or ended but not yet expired
			}
			out = append(out, shredCandidate{
				prefix: it2.Item().KeyCopy(nil),
				inUse: func(txn *badger.Txn) (bool, error) {
					return epochInUse(txn, group, epoch), nil
				},
			})
		}
		return nil
	})
	return out, err
}

// dayInUse reports whether group still holds an envelope received on day
// (its local copy, if any, goes with it).
func dayInUse(txn *badger.Txn, group crypto.GroupID, day uint32) bool {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: groupPrefix(prefixEnvByReceived, group)})
	defer it.Close()
	it.Seek(newKey(prefixEnvByReceived, group, 8).u64(uint64(day) * dayNanos))
	if !it.Valid() {
		return false
	}
	f, ok := keyFields(it.Item().Key(), 8, EnvelopeIDSize)
	// A malformed key is treated as in use: never shred on a guess.
	return !ok || dayOf(binary.BigEndian.Uint64(f[0])) == day
}

// epochInUse reports whether group's epoch still has a record sealed under
// its shred key, or an ended-epoch marker (so it has not expired yet).
func epochInUse(txn *badger.Txn, group crypto.GroupID, epoch uint64) bool {
	for _, p := range []byte{byte(KindEpochSecret), byte(KindChainState)} {
		if anyKey(txn, newKey(p, group, 8).u64(epoch)) {
			return true
		}
	}
	_, err := txn.Get(epochEndedKey(group, epoch))
	return !errors.Is(err, badger.ErrKeyNotFound)
}

// expireEnvelopes deletes group's envelopes received at or before cutoff
// (Unix nanoseconds), oldest first.
func (s *Store) expireEnvelopes(group crypto.GroupID, cutoff uint64, st *ExpireStats) error {
	prefix := groupPrefix(prefixEnvByReceived, group)
	for {
		var ids []EnvelopeID
		var stale [][]byte // received-index keys, deleted with their envelopes
		err := s.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			defer it.Close()
			for it.Rewind(); it.Valid() && len(ids) < expireChunk; it.Next() {
				f, ok := keyFields(it.Item().Key(), 8, EnvelopeIDSize)
				if !ok {
					return fmt.Errorf("storage: malformed received index key: %w", ErrCorrupt)
				}
				if binary.BigEndian.Uint64(f[0]) > cutoff {
					break
				}
				ids = append(ids, toID(f[1]))
				stale = append(stale, it.Item().KeyCopy(nil))
			}
			return nil
		})
		if err != nil || len(ids) == 0 {
			return err
		}
		var chunk ExpireStats
		err = s.write(func(txn *badger.Txn) error {
			r := s.keyring(txn)
			defer r.wipe()
			chunk = ExpireStats{}
			for i, id := range ids {
				if err := txn.Delete(stale[i]); err != nil {
					return err
				}
				e, err := s.getEnvelope(r, group, id)
				if errors.Is(err, ErrNotFound) {
					continue // only the stray index entry was left
				}
				if err != nil {
					return err
				}
				for _, k := range [][]byte{
					envelopeKey(group, id),
					envByGenerationKey(group, e.Meta.Epoch, e.Meta.Sender, e.Meta.Generation, id),
					envByArrivalKey(group, e.Arrival, id),
				} {
					if err := txn.Delete(k); err != nil {
						return err
					}
				}
				chunk.Envelopes++
				switch err := s.deleteMessageTxn(txn, group, id); {
				case err == nil:
					chunk.Messages++
				case !errors.Is(err, ErrNotFound):
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		st.Envelopes += chunk.Envelopes
		st.Messages += chunk.Messages
	}
}

// expireEpochs deletes the secrets and chain state of group's epochs that
// ended at or before cutoff and hold no envelope any more.
func (s *Store) expireEpochs(group crypto.GroupID, cutoff uint64, st *ExpireStats) error {
	var due []uint64
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: groupPrefix(prefixEpochEnded, group)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			f, ok := keyFields(it.Item().Key(), 8)
			if !ok {
				return fmt.Errorf("storage: malformed ended-epoch key: %w", ErrCorrupt)
			}
			b, err := s.openItem(it.Item())
			if err != nil {
				return err
			}
			ended, err := decodeUint(b, 8)
			if err != nil {
				return err
			}
			if ended > cutoff {
				continue
			}
			epoch := binary.BigEndian.Uint64(f[0])
			left := newKey(prefixEnvByGeneration, group, 8).u64(epoch)
			remains := txn.NewIterator(badger.IteratorOptions{Prefix: left})
			remains.Rewind()
			busy := remains.Valid()
			remains.Close()
			if !busy {
				due = append(due, epoch)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, epoch := range due {
		for _, kind := range []Kind{KindEpochSecret, KindChainState} {
			if _, err := s.deletePrefix(newKey(byte(kind), group, 8).u64(epoch)); err != nil {
				return err
			}
		}
		// The marker goes last, so an interrupted expiry is found again.
		if err := s.write(func(txn *badger.Txn) error {
			return txn.Delete(epochEndedKey(group, epoch))
		}); err != nil {
			return err
		}
		st.Epochs++
	}
	return nil
}

// DeleteGroup deletes everything the store holds for group: envelopes,
// local copies, records of every kind, retention and epoch markers. Then it
// crypto-shreds the group: every shred key of the group is removed from
// Badger's live files, so none of its envelopes, copies or epoch records
// can be read back from any file (see Expire). It runs in several
// transactions, deleting the KindGroup record last, so after an
// interruption the group is still listed by Groups and DeleteGroup can be
// run again. It returns ErrClosed after Close.
func (s *Store) DeleteGroup(group crypto.GroupID) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	for _, p := range groupPrefixes() {
		if _, err := s.deletePrefix(groupPrefix(p, group)); err != nil {
			return fmt.Errorf("storage: deleting group: %w", err)
		}
	}
	sealedUnderShredKeys := []byte{prefixEnvelope, prefixMessage, byte(KindEpochSecret), byte(KindChainState)}
	inUse := func(txn *badger.Txn) (bool, error) {
		for _, p := range sealedUnderShredKeys {
			if anyKey(txn, groupPrefix(p, group)) {
				return true, nil
			}
		}
		return false, nil
	}
	var cands []shredCandidate
	err := s.db.View(func(txn *badger.Txn) error {
		for _, p := range []byte{prefixDayShredKey, prefixEpochShredKey} {
			if anyKey(txn, groupPrefix(p, group)) {
				cands = append(cands, shredCandidate{prefix: groupPrefix(p, group), inUse: inUse})
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: deleting group: %w", err)
	}
	if _, err := s.shred(cands); err != nil {
		return fmt.Errorf("storage: deleting group: %w", err)
	}
	if _, err := s.deletePrefix(groupPrefix(byte(KindGroup), group)); err != nil {
		return fmt.Errorf("storage: deleting group: %w", err)
	}
	return nil
}

// reclaimDiscardRatio is the share of a value-log file that must be
// garbage before Reclaim rewrites it. Badger counts garbage exactly (from
// compaction, not by sampling), so a low ratio costs only the rewrite of
// the live part. At one tenth, a 64 MB file is rewritten at the first
// Reclaim after 6.4 MB of it has expired; retention expires in arrival
// order, so a file whose envelopes have all expired is rewritten at the
// first Reclaim after the last of them did. The bytes that wait are sealed
// under shred keys that no longer exist (Expire destroyed them), so this
// ratio decides how soon disk space comes back, not what can be read.
const reclaimDiscardRatio = 0.1

// Reclaim compacts the store and runs value-log garbage collection until no
// file other than the one being written has at least a tenth of garbage
// (see reclaimDiscardRatio), so the bytes of deleted records leave the
// files and their space is freed. Deletions still in the in-memory table
// are counted once that table is flushed: Expire flushes it whenever it
// shreds a key, and Close always does. It can take seconds on a large
// store; writes continue meanwhile. It returns ErrClosed after Close.
func (s *Store) Reclaim() error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	return s.reclaim()
}

// reclaim is Reclaim for a caller holding the shared lock (or Open).
func (s *Store) reclaim() error {
	s.maint.Lock()
	defer s.maint.Unlock()
	if err := s.db.Flatten(1); err != nil {
		return fmt.Errorf("storage: compacting: %w", err)
	}
	for {
		err := s.db.RunValueLogGC(reclaimDiscardRatio)
		switch {
		case err == nil:
			continue
		case errors.Is(err, badger.ErrNoRewrite), errors.Is(err, badger.ErrRejected):
			return nil
		default:
			return fmt.Errorf("storage: value-log gc: %w", err)
		}
	}
}
