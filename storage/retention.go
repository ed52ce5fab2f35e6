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
}

// expireChunk bounds how many envelopes one expiry transaction deletes.
const expireChunk = 256

// Expire applies every group's retention at now: it deletes each envelope
// received at or before now minus the retention together with its index
// entries and its local copy (one atomic write per envelope), then the
// secrets and chain state of every ended epoch whose end is that old and
// that has no envelope left. Groups kept forever are untouched.
//
// Deleted records are gone from every read at once. Their bytes stay in
// Badger's files, still encrypted, until compaction and value-log GC
// rewrite them: call Reclaim afterwards to hasten that. Expire returns
// ErrClosed after Close; an error part-way leaves everything deleted so far
// consistently deleted, and the next Expire continues.
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
	}
	return st, nil
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
			chunk = ExpireStats{}
			for i, id := range ids {
				if err := txn.Delete(stale[i]); err != nil {
					return err
				}
				e, err := s.getEnvelope(txn, group, id)
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
// local copies, records of every kind, retention and epoch markers. It runs
// in several transactions, deleting the KindGroup record last, so after an
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
	return nil
}

// Reclaim compacts the store and runs value-log garbage collection until it
// finds nothing more to rewrite, so the bytes of deleted records leave the
// files. Deletions still in the in-memory table are reclaimed by a later
// Reclaim, after that table is flushed (it is at the latest by Close). It
// can take seconds on a large store; writes continue meanwhile. It returns
// ErrClosed after Close.
func (s *Store) Reclaim() error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	if err := s.db.Flatten(1); err != nil {
		return fmt.Errorf("storage: compacting: %w", err)
	}
	for {
		err := s.db.RunValueLogGC(0.5)
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
