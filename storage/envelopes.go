package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/hearthnet/hearth/crypto"
)

// MaxEnvelopeBatch is the most envelopes PutEnvelopes takes in one call.
// A batch is one Badger transaction (four keys per envelope), and this
// keeps it well inside the largest transaction the memory budget allows.
const MaxEnvelopeBatch = 1024

// EnvelopeIDOf returns the ID of an envelope: SHA-256 of its bytes.
func EnvelopeIDOf(raw []byte) EnvelopeID { return sha256.Sum256(raw) }

// EnvelopeMeta is what the node learned about an envelope when it opened
// it, and when it arrived. The store indexes envelopes by these fields; it
// cannot check them, since it never sees inside an envelope.
type EnvelopeMeta struct {
	Epoch      uint64
	Sender     uint32 // the sender's index in the epoch's roster
	Generation uint32 // the message's step in the sender's chain
	// Received is when this node received the envelope. Retention counts
	// from it. It must be after 1970 (the zero time is refused).
	Received time.Time
}

// EnvelopeInput is one envelope for PutEnvelopes.
type EnvelopeInput struct {
	Meta EnvelopeMeta
	Raw  []byte // the envelope exactly as received
}

// Envelope is a stored envelope.
type Envelope struct {
	ID   EnvelopeID
	Meta EnvelopeMeta
	// Arrival is the envelope's arrival number: the store numbers envelopes
	// 1, 2, 3, ... in the order they were first stored, across all groups,
	// and never reuses a number. Pass it to EnvelopesSince as the cursor.
	Arrival uint64
	// Raw is the envelope exactly as it was received.
	Raw []byte
}

// envelopeRecordVersion begins the plaintext of every envelope record.
const envelopeRecordVersion = 1

// envelopeHeaderSize: version(1) epoch(8) sender(4) generation(4)
// received(8) arrival(8).
const envelopeHeaderSize = 1 + 8 + 4 + 4 + 8 + 8

func encodeEnvelopeRecord(meta EnvelopeMeta, arrival uint64, raw []byte) []byte {
	b := make([]byte, 0, envelopeHeaderSize+len(raw))
	b = append(b, envelopeRecordVersion)
	b = binary.BigEndian.AppendUint64(b, meta.Epoch)
	b = binary.BigEndian.AppendUint32(b, meta.Sender)
	b = binary.BigEndian.AppendUint32(b, meta.Generation)
	b = binary.BigEndian.AppendUint64(b, uint64(meta.Received.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, arrival)
	return append(b, raw...)
}

// decodeEnvelopeRecord parses an envelope record's plaintext and checks
// that its bytes hash to id, so what it returns is exactly what was
// received.
func decodeEnvelopeRecord(id EnvelopeID, b []byte) (Envelope, error) {
	if len(b) <= envelopeHeaderSize || b[0] != envelopeRecordVersion {
		return Envelope{}, fmt.Errorf("storage: malformed envelope record: %w", ErrCorrupt)
	}
	// PutEnvelopes writes only times after 1970 (see unixNanos).
	if r := binary.BigEndian.Uint64(b[17:25]); r == 0 || r > math.MaxInt64 {
		return Envelope{}, fmt.Errorf("storage: envelope record with an impossible receive time: %w", ErrCorrupt)
	}
	e := Envelope{
		ID: id,
		Meta: EnvelopeMeta{
			Epoch:      binary.BigEndian.Uint64(b[1:9]),
			Sender:     binary.BigEndian.Uint32(b[9:13]),
			Generation: binary.BigEndian.Uint32(b[13:17]),
			Received:   time.Unix(0, int64(binary.BigEndian.Uint64(b[17:25]))),
		},
		Arrival: binary.BigEndian.Uint64(b[25:33]),
		Raw:     b[envelopeHeaderSize:],
	}
	if EnvelopeIDOf(e.Raw) != id {
		return Envelope{}, fmt.Errorf("storage: envelope does not match its ID: %w", ErrCorrupt)
	}
	return e, nil
}

// unixNanos returns t as nanoseconds since 1970, refusing times the key
// layout cannot order (before 1970, or the zero time).
func unixNanos(t time.Time, what string) (uint64, error) {
	if t.IsZero() || t.Before(time.Unix(0, 1)) {
		return 0, fmt.Errorf("storage: %s time must be after 1970: %w", what, ErrInvalid)
	}
	return uint64(t.UnixNano()), nil
}

func checkEnvelope(in EnvelopeInput) error {
	if len(in.Raw) == 0 || len(in.Raw) > MaxValueSize {
		return fmt.Errorf("storage: envelope of %d bytes (want 1 to %d): %w", len(in.Raw), MaxValueSize, ErrInvalid)
	}
	_, err := unixNanos(in.Meta.Received, "received")
	return err
}

// PutEnvelope stores an envelope exactly as received, with its index
// entries, in one atomic write. Storing an envelope the group already holds
// (the same bytes) changes nothing and returns added=false: "already had
// it". When PutEnvelope returns nil the envelope is acknowledged, with the
// durability the package documentation states. It returns ErrInvalid for
// an empty or oversized envelope or a zero Received time, and ErrClosed
// after Close.
func (s *Store) PutEnvelope(group crypto.GroupID, meta EnvelopeMeta, raw []byte) (added bool, err error) {
	res, err := s.PutEnvelopes(group, []EnvelopeInput{{Meta: meta, Raw: raw}})
	if err != nil {
		return false, err
	}
	return res[0], nil
}

// PutEnvelopes stores up to MaxEnvelopeBatch envelopes in one atomic write:
// after a crash either all of them are stored or none is. added[i] reports
// whether batch[i] was new (false when the store, or an earlier entry of the
// same batch, already had it). Errors as PutEnvelope; a batch larger than
// MaxEnvelopeBatch is ErrInvalid.
func (s *Store) PutEnvelopes(group crypto.GroupID, batch []EnvelopeInput) (added []bool, err error) {
	if len(batch) == 0 || len(batch) > MaxEnvelopeBatch {
		return nil, fmt.Errorf("storage: batch of %d envelopes (want 1 to %d): %w", len(batch), MaxEnvelopeBatch, ErrInvalid)
	}
	for _, in := range batch {
		if err := checkEnvelope(in); err != nil {
			return nil, err
		}
	}
	ids := make([]EnvelopeID, len(batch))
	for i, in := range batch {
		ids[i] = EnvelopeIDOf(in.Raw)
	}

	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()

	added = make([]bool, len(batch))
	arrival := s.arrival
	err = s.updateLocked(func(txn *badger.Txn) error {
		r := s.keyring(txn)
		defer r.wipe()
		seen := make(map[EnvelopeID]bool, len(batch))
		for i, in := range batch {
			id := ids[i]
			if seen[id] {
				continue
			}
			seen[id] = true
			pk := envelopeKey(group, id)
			_, err := txn.Get(pk)
			if err == nil {
				continue
			}
			if !errors.Is(err, badger.ErrKeyNotFound) {
				return fmt.Errorf("storage: reading: %w", err)
			}
			arrival++
			received := uint64(in.Meta.Received.UnixNano())
			if err := r.setDaySealed(pk, group, dayOf(received), encodeEnvelopeRecord(in.Meta, arrival, in.Raw)); err != nil {
				return err
			}
			for _, ik := range [][]byte{
				envByGenerationKey(group, in.Meta.Epoch, in.Meta.Sender, in.Meta.Generation, id),
				envByArrivalKey(group, arrival, id),
				envByReceivedKey(group, received, id),
			} {
				if err := txn.Set(ik, nil); err != nil {
					return err
				}
			}
			added[i] = true
		}
		if arrival == s.arrival {
			return nil
		}
		return s.setSealed(txn, metaKey(metaArrival), encodeUint(arrival, 8))
	})
	if err != nil {
		return nil, fmt.Errorf("storage: storing envelopes: %w", err)
	}
	s.arrival = arrival
	return added, nil
}

// getEnvelope reads and checks one envelope record in r's transaction.
func (s *Store) getEnvelope(r *keyring, group crypto.GroupID, id EnvelopeID) (Envelope, error) {
	b, day, err := r.getDaySealed(envelopeKey(group, id), group)
	if err != nil {
		return Envelope{}, err
	}
	e, err := decodeEnvelopeRecord(id, b)
	if err != nil {
		return Envelope{}, err
	}
	// The day named outside the seal is authenticated as associated data;
	// it must also be the day the record says the envelope arrived, or
	// retention would shred it on the wrong day.
	if dayOf(uint64(e.Meta.Received.UnixNano())) != day {
		return Envelope{}, fmt.Errorf("storage: envelope sealed under another day's key: %w", ErrCorrupt)
	}
	return e, nil
}

// GetEnvelope returns the envelope id of group. It returns ErrNotFound when
// the group does not hold it, ErrCorrupt when the stored record does not
// authenticate or its bytes no longer hash to id, and ErrClosed after Close.
func (s *Store) GetEnvelope(group crypto.GroupID, id EnvelopeID) (Envelope, error) {
	var e Envelope
	err := s.view(func(txn *badger.Txn) error {
		r := s.keyring(txn)
		defer r.wipe()
		var err error
		e, err = s.getEnvelope(r, group, id)
		return err
	})
	if err != nil {
		return Envelope{}, fmt.Errorf("storage: envelope: %w", err)
	}
	return e, nil
}

// HasEnvelope reports whether group holds envelope id, without reading it.
// It returns ErrClosed after Close.
func (s *Store) HasEnvelope(group crypto.GroupID, id EnvelopeID) (bool, error) {
	has := false
	err := s.view(func(txn *badger.Txn) error {
		_, err := txn.Get(envelopeKey(group, id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		has = err == nil
		return err
	})
	return has, err
}

func checkLimit(limit int) error {
	if limit <= 0 {
		return fmt.Errorf("storage: page limit %d: %w", limit, ErrInvalid)
	}
	return nil
}

// EnvelopesSince returns up to limit envelopes of group whose arrival
// number is greater than after, in arrival order. Pass 0 to start from the
// first, and the last envelope's Arrival to get the next page; an empty
// page means there is nothing newer yet. It returns ErrInvalid for a limit
// below 1, ErrCorrupt when an index entry and its record disagree or a
// record does not authenticate, and ErrClosed after Close.
func (s *Store) EnvelopesSince(group crypto.GroupID, after uint64, limit int) ([]Envelope, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	if after == ^uint64(0) {
		return nil, nil
	}
	var out []Envelope
	err := s.view(func(txn *badger.Txn) error {
		r := s.keyring(txn)
		defer r.wipe()
		prefix := groupPrefix(prefixEnvByArrival, group)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(newKey(prefixEnvByArrival, group, 8).u64(after + 1)); it.Valid() && len(out) < limit; it.Next() {
			f, ok := keyFields(it.Item().Key(), 8, EnvelopeIDSize)
			if !ok {
				return fmt.Errorf("storage: malformed arrival index key: %w", ErrCorrupt)
			}
			e, err := s.getEnvelope(r, group, toID(f[1]))
			if err != nil {
				return indexTargetErr(err)
			}
			if e.Arrival != binary.BigEndian.Uint64(f[0]) {
				return fmt.Errorf("storage: arrival index disagrees with its envelope: %w", ErrCorrupt)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: envelopes since %d: %w", after, err)
	}
	return out, nil
}

// indexTargetErr turns a missing record behind an index entry into
// ErrCorrupt: the two are only ever written and deleted together.
func indexTargetErr(err error) error {
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("storage: index entry without its envelope: %w", ErrCorrupt)
	}
	return err
}

// EnvelopesFor returns up to limit envelopes of group from sender in epoch
// whose generation lies in [fromGen, toGen], in generation order (envelopes
// that claim the same generation follow each other in ID order). Errors as
// EnvelopesSince.
func (s *Store) EnvelopesFor(group crypto.GroupID, epoch uint64, sender, fromGen, toGen uint32, limit int) ([]Envelope, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	if fromGen > toGen {
		return nil, nil
	}
	var out []Envelope
	err := s.view(func(txn *badger.Txn) error {
		r := s.keyring(txn)
		defer r.wipe()
		prefix := newKey(prefixEnvByGeneration, group, 12).u64(epoch).u32(sender)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(keyBuilder(bytes.Clone(prefix)).u32(fromGen)); it.Valid() && len(out) < limit; it.Next() {
			f, ok := keyFields(it.Item().Key(), 8, 4, 4, EnvelopeIDSize)
			if !ok {
				return fmt.Errorf("storage: malformed generation index key: %w", ErrCorrupt)
			}
			gen := binary.BigEndian.Uint32(f[2])
			if gen > toGen {
				break
			}
			e, err := s.getEnvelope(r, group, toID(f[3]))
			if err != nil {
				return indexTargetErr(err)
			}
			if e.Meta.Epoch != epoch || e.Meta.Sender != sender || e.Meta.Generation != gen {
				return fmt.Errorf("storage: generation index disagrees with its envelope: %w", ErrCorrupt)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: envelopes for epoch %d sender %d: %w", epoch, sender, err)
	}
	return out, nil
}

// GenerationRange is an inclusive run of generations: First to Last.
type GenerationRange struct {
	First, Last uint32
}

// SenderGenerations lists the generations held of one sender in one epoch,
// as ascending, disjoint, non-adjacent runs.
type SenderGenerations struct {
	Epoch  uint64
	Sender uint32
	Held   []GenerationRange
}

// GenerationVector summarises which envelopes group holds: for every
// (epoch, sender) with at least one envelope, in ascending order, the runs
// of generations held. Two members compare vectors to learn what each
// lacks. It reads index keys only, never envelope values. It returns
// ErrCorrupt for a malformed index key and ErrClosed after Close.
func (s *Store) GenerationVector(group crypto.GroupID) ([]SenderGenerations, error) {
	var out []SenderGenerations
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: groupPrefix(prefixEnvByGeneration, group)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			f, ok := keyFields(it.Item().Key(), 8, 4, 4, EnvelopeIDSize)
			if !ok {
				return fmt.Errorf("storage: malformed generation index key: %w", ErrCorrupt)
			}
			epoch := binary.BigEndian.Uint64(f[0])
			sender := binary.BigEndian.Uint32(f[1])
			gen := binary.BigEndian.Uint32(f[2])
			n := len(out)
			if n == 0 || out[n-1].Epoch != epoch || out[n-1].Sender != sender {
				out = append(out, SenderGenerations{Epoch: epoch, Sender: sender, Held: []GenerationRange{{gen, gen}}})
				continue
			}
			held := out[n-1].Held
			last := &held[len(held)-1]
			switch {
			case gen == last.Last:
				// Two envelopes claim one generation: held once.
			case gen == last.Last+1:
				last.Last = gen
			default:
				out[n-1].Held = append(held, GenerationRange{gen, gen})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: generation vector: %w", err)
	}
	return out, nil
}

// DeleteEnvelope deletes envelope id of group, its index entries and its
// local copy, in one atomic write: what a post's deletion by its author or
// removal by a moderator leaves of it. Deleting an envelope the group does
// not hold is not an error. As with every deletion, the old bytes stay in
// Badger's files, sealed under the day's shred key, until compaction and
// value-log GC (Reclaim) rewrite them or retention destroys the key (see
// "Lifetime of data" in the package documentation). It returns ErrCorrupt
// when the stored record does not authenticate, and ErrClosed after Close.
func (s *Store) DeleteEnvelope(group crypto.GroupID, id EnvelopeID) error {
	err := s.update(func(txn *badger.Txn) error {
		r := s.keyring(txn)
		defer r.wipe()
		e, err := s.getEnvelope(r, group, id)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, k := range [][]byte{
			envelopeKey(group, id),
			envByGenerationKey(group, e.Meta.Epoch, e.Meta.Sender, e.Meta.Generation, id),
			envByArrivalKey(group, e.Arrival, id),
			envByReceivedKey(group, uint64(e.Meta.Received.UnixNano()), id),
		} {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		if err := s.deleteMessageTxn(txn, group, id); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: deleting envelope: %w", err)
	}
	return nil
}
