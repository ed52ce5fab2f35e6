package storage

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/hearthnet/hearth/crypto"
)

// Each benchmark has a floor beside it: the same amount of work done on a
// bare Badger database with the same options and encryption, without
// Hearth's sealing, indexes or checks. The ratio between the two is what
// Hearth itself costs (docs/PERFORMANCE.md).

// openFloor opens a bare Badger with the store's options.
func openFloor(b *testing.B) *badger.DB {
	b.Helper()
	keys := testKeys(1)
	db, err := badger.Open(badgerOptions(filepath.Join(b.TempDir(), "floor"), keys.Badger[:], Options{}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// benchEnvelope returns a unique 1 KiB envelope for index i: epochs of
// 10,000 envelopes, 100 senders, and every seventh generation missing, so
// the generation vector has runs to merge and holes to record.
func benchEnvelope(i int) ([]byte, EnvelopeMeta) {
	raw := make([]byte, 1024)
	binary.BigEndian.PutUint64(raw, uint64(i))
	gen := uint32(i%10000) / 100
	gen += gen / 6 // skip generations 6, 13, 20, ...
	return raw, EnvelopeMeta{Epoch: uint64(i / 10000), Sender: uint32(i % 100), Generation: gen, Received: t0}
}

// BenchmarkPutEnvelope stores 1 KiB envelopes one call each.
func BenchmarkPutEnvelope(b *testing.B) {
	b.Run("hearth", func(b *testing.B) {
		s := openNew(b, filepath.Join(b.TempDir(), "s"))
		defer mustClose(b, s)
		b.SetBytes(1024)
		for i := 0; b.Loop(); i++ {
			raw, meta := benchEnvelope(i)
			if _, err := s.PutEnvelope(testGroup, meta, raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("floor", func(b *testing.B) {
		db := openFloor(b)
		b.SetBytes(1024)
		for i := 0; b.Loop(); i++ {
			raw, _ := benchEnvelope(i)
			id := EnvelopeIDOf(raw)
			if err := db.Update(func(txn *badger.Txn) error { return txn.Set(id[:], raw) }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPutEnvelopesBatch stores 1 KiB envelopes in batches of 256; one
// op is one envelope.
func BenchmarkPutEnvelopesBatch(b *testing.B) {
	const batchSize = 256
	b.Run("hearth", func(b *testing.B) {
		s := openNew(b, filepath.Join(b.TempDir(), "s"))
		defer mustClose(b, s)
		b.SetBytes(1024)
		batch := make([]EnvelopeInput, 0, batchSize)
		i := 0
		for b.Loop() {
			raw, meta := benchEnvelope(i)
			i++
			batch = append(batch, EnvelopeInput{Meta: meta, Raw: raw})
			if len(batch) == batchSize {
				if _, err := s.PutEnvelopes(testGroup, batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	})
	b.Run("floor", func(b *testing.B) {
		// The same batches as Hearth's: every 256 values are flushed
		// inside the timed loop, as each PutEnvelopes call commits its
		// batch before returning. (A partial last batch is written by
		// neither side.)
		db := openFloor(b)
		b.SetBytes(1024)
		wb := db.NewWriteBatch()
		n := 0
		for i := 0; b.Loop(); i++ {
			raw, _ := benchEnvelope(i)
			id := EnvelopeIDOf(raw)
			if err := wb.Set(id[:], raw); err != nil {
				b.Fatal(err)
			}
			if n++; n == batchSize {
				if err := wb.Flush(); err != nil {
					b.Fatal(err)
				}
				wb, n = db.NewWriteBatch(), 0
			}
		}
		wb.Cancel()
	})
}

// fillStore stores n 1 KiB envelopes, each with a local copy when copies is
// set, in batches.
func fillStore(b *testing.B, s *Store, n int, copies bool) {
	b.Helper()
	for i := 0; i < n; i += MaxEnvelopeBatch {
		var batch []EnvelopeInput
		for j := i; j < i+MaxEnvelopeBatch && j < n; j++ {
			raw, meta := benchEnvelope(j)
			batch = append(batch, EnvelopeInput{Meta: meta, Raw: raw})
		}
		if _, err := s.PutEnvelopes(testGroup, batch); err != nil {
			b.Fatal(err)
		}
		if copies {
			for j, in := range batch {
				if err := s.PutMessage(testGroup, EnvelopeIDOf(in.Raw), uint64(i+j), in.Raw[:512]); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}

// BenchmarkHistoryPage reads the newest page of 50 local copies from a
// group of 10,000, then pages of 100 envelopes in arrival order (sync).
func BenchmarkHistoryPage(b *testing.B) {
	s := openNew(b, filepath.Join(b.TempDir(), "s"))
	defer mustClose(b, s)
	fillStore(b, s, 10000, true)
	floor := openFloor(b)
	for i := 0; i < 10000; i++ {
		raw, _ := benchEnvelope(i)
		key := binary.BigEndian.AppendUint64([]byte{0x20}, uint64(i))
		if err := floor.Update(func(txn *badger.Txn) error { return txn.Set(key, raw[:512+40]) }); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("messages50/hearth", func(b *testing.B) {
		for b.Loop() {
			page, err := s.Messages(testGroup, &MessageCursor{Sort: 5000}, 50)
			if err != nil || len(page) != 50 {
				b.Fatal(len(page), err)
			}
		}
	})
	b.Run("messages50/floor", func(b *testing.B) {
		seek := binary.BigEndian.AppendUint64([]byte{0x20}, 5000)
		for b.Loop() {
			n := 0
			err := floor.View(func(txn *badger.Txn) error {
				it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{0x20}, Reverse: true})
				defer it.Close()
				for it.Seek(seek); it.Valid() && n < 50; it.Next() {
					if _, err := it.Item().ValueCopy(nil); err != nil {
						return err
					}
					n++
				}
				return nil
			})
			if err != nil || n != 50 {
				b.Fatal(n, err)
			}
		}
	})
	b.Run("since100/hearth", func(b *testing.B) {
		for b.Loop() {
			page, err := s.EnvelopesSince(testGroup, 5000, 100)
			if err != nil || len(page) != 100 {
				b.Fatal(len(page), err)
			}
		}
	})
	b.Run("since100/floor", func(b *testing.B) {
		// 100 values read by key, in order: what the page must at least do.
		for b.Loop() {
			err := floor.View(func(txn *badger.Txn) error {
				for i := 5000; i < 5100; i++ {
					item, err := txn.Get(binary.BigEndian.AppendUint64([]byte{0x20}, uint64(i)))
					if err != nil {
						return err
					}
					if _, err := item.ValueCopy(nil); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGenerationVector computes the vector of a group holding 100,000
// envelopes (10 epochs x 100 senders x 100 generations, with holes),
// against a key-only
// scan of the same number of keys.
func BenchmarkGenerationVector(b *testing.B) {
	const n = 100000
	s := openNew(b, filepath.Join(b.TempDir(), "s"))
	defer mustClose(b, s)
	fillStore(b, s, n, false)
	b.Run("hearth", func(b *testing.B) {
		for b.Loop() {
			vec, err := s.GenerationVector(testGroup)
			if err != nil || len(vec) != 1000 || len(vec[0].Held) != 17 {
				b.Fatal(len(vec), err)
			}
		}
	})
	b.Run("floor", func(b *testing.B) {
		for b.Loop() {
			count := 0
			err := s.db.View(func(txn *badger.Txn) error {
				it := txn.NewIterator(badger.IteratorOptions{Prefix: groupPrefix(prefixEnvByGeneration, testGroup)})
				defer it.Close()
				for it.Rewind(); it.Valid(); it.Next() {
					count++
				}
				return nil
			})
			if err != nil || count != n {
				b.Fatal(count, err)
			}
		}
	})
}

// putEnvelopesV1 stores a batch the way schema 1 did: the same
// transaction, keys and duplicate check as PutEnvelopes, but the record
// sealed under the Records key instead of its day's shred key. It is the
// "before" that BenchmarkShredKeyCost compares against.
func putEnvelopesV1(s *Store, group crypto.GroupID, batch []EnvelopeInput) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.updateLocked(func(txn *badger.Txn) error {
		for _, in := range batch {
			id := EnvelopeIDOf(in.Raw)
			pk := envelopeKey(group, id)
			if _, err := txn.Get(pk); err == nil {
				continue
			}
			s.arrival++
			if err := s.setSealed(txn, pk, encodeEnvelopeRecord(in.Meta, s.arrival, in.Raw)); err != nil {
				return err
			}
			for _, ik := range [][]byte{
				envByGenerationKey(group, in.Meta.Epoch, in.Meta.Sender, in.Meta.Generation, id),
				envByArrivalKey(group, s.arrival, id),
				envByReceivedKey(group, uint64(in.Meta.Received.UnixNano()), id),
			} {
				if err := txn.Set(ik, nil); err != nil {
					return err
				}
			}
		}
		return s.setSealed(txn, metaKey(metaArrival), encodeUint(s.arrival, 8))
	})
}

// BenchmarkShredKeyCost measures what sealing under per-(group, day)
// shred keys costs an insert: PutEnvelopes (which looks up, and opens, the
// day's key in the same transaction) against the schema-1 path that
// sealed under the store-wide Records key. One op is one 1 KiB envelope,
// stored one per call and in batches of 256.
func BenchmarkShredKeyCost(b *testing.B) {
	for _, size := range []int{1, 256} {
		for _, variant := range []string{"daykey", "recordskey"} {
			b.Run(fmt.Sprintf("batch%d/%s", size, variant), func(b *testing.B) {
				s := openNew(b, filepath.Join(b.TempDir(), "s"))
				defer mustClose(b, s)
				b.SetBytes(1024)
				batch := make([]EnvelopeInput, 0, size)
				i := 0
				for b.Loop() {
					raw, meta := benchEnvelope(i)
					i++
					batch = append(batch, EnvelopeInput{Meta: meta, Raw: raw})
					if len(batch) < size {
						continue
					}
					var err error
					if variant == "daykey" {
						_, err = s.PutEnvelopes(testGroup, batch)
					} else {
						err = putEnvelopesV1(s, testGroup, batch)
					}
					if err != nil {
						b.Fatal(err)
					}
					batch = batch[:0]
				}
			})
		}
	}
}
