package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/hearthnet/hearth/crypto"
)

// Message is the node's local readable copy of an envelope's content: what
// the member's UI shows. It is stored sealed, and it lives exactly as long
// as its envelope: retention, DeleteGroup and the envelope's expiry remove
// both together.
type Message struct {
	// ID is the envelope the content came from.
	ID EnvelopeID
	// Sort orders the group's history (for example the send time in Unix
	// nanoseconds); Messages pages newest-first by (Sort, ID).
	Sort    uint64
	Content []byte
}

// Cursor returns the position just after m for the next Messages page.
func (m Message) Cursor() MessageCursor { return MessageCursor{Sort: m.Sort, ID: m.ID} }

// MessageCursor is a position in a group's history: Messages returns what
// sorts strictly before it.
type MessageCursor struct {
	Sort uint64
	ID   EnvelopeID
}

// PutMessage stores content as the local copy of envelope id of group,
// under sort, replacing the copy already there (an edit, a moderator's
// removal). The envelope must be stored first: tying each copy to an
// envelope is what lets retention delete both together. It returns
// ErrNotFound when the group does not hold the envelope, ErrInvalid for
// oversized content, and ErrClosed after Close.
func (s *Store) PutMessage(group crypto.GroupID, id EnvelopeID, sort uint64, content []byte) error {
	if len(content) > MaxValueSize {
		return fmt.Errorf("storage: message of %d bytes exceeds %d: %w", len(content), MaxValueSize, ErrInvalid)
	}
	err := s.update(func(txn *badger.Txn) error {
		r := s.keyring(txn)
		defer r.wipe()
		e, err := s.getEnvelope(r, group, id)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("storage: no envelope for this message: %w", ErrNotFound)
		}
		if err != nil {
			return err
		}
		if err := s.deleteMessageTxn(txn, group, id); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		// The copy is sealed under its envelope's day key, so it is
		// shredded with the envelope.
		day := dayOf(uint64(e.Meta.Received.UnixNano()))
		if err := r.setDaySealed(messageKey(group, sort, id), group, day, content); err != nil {
			return err
		}
		return s.setSealed(txn, messageLinkKey(group, id), encodeUint(sort, 8))
	})
	if err != nil {
		return fmt.Errorf("storage: storing message: %w", err)
	}
	return nil
}

// messageSort reads the sort key of envelope id's local copy.
func (s *Store) messageSort(txn *badger.Txn, group crypto.GroupID, id EnvelopeID) (uint64, error) {
	b, err := s.getSealed(txn, messageLinkKey(group, id))
	if err != nil {
		return 0, err
	}
	return decodeUint(b, 8)
}

// deleteMessageTxn deletes envelope id's local copy and its link, or
// returns ErrNotFound when there is none.
func (s *Store) deleteMessageTxn(txn *badger.Txn, group crypto.GroupID, id EnvelopeID) error {
	sort, err := s.messageSort(txn, group, id)
	if err != nil {
		return err
	}
	if err := txn.Delete(messageKey(group, sort, id)); err != nil {
		return err
	}
	return txn.Delete(messageLinkKey(group, id))
}

// GetMessage returns the local copy of envelope id. It returns ErrNotFound
// when there is none, ErrCorrupt when it does not authenticate, and
// ErrClosed after Close.
func (s *Store) GetMessage(group crypto.GroupID, id EnvelopeID) (Message, error) {
	var m Message
	err := s.view(func(txn *badger.Txn) error {
		sort, err := s.messageSort(txn, group, id)
		if err != nil {
			return err
		}
		r := s.keyring(txn)
		defer r.wipe()
		content, _, err := r.getDaySealed(messageKey(group, sort, id), group)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("storage: message link without its message: %w", ErrCorrupt)
		}
		m = Message{ID: id, Sort: sort, Content: content}
		return err
	})
	if err != nil {
		return Message{}, fmt.Errorf("storage: message: %w", err)
	}
	return m, nil
}

// DeleteMessage deletes the local copy of envelope id, keeping the envelope
// (which other members may still need from us). Deleting a copy that is not
// there is not an error. It returns ErrClosed after Close.
func (s *Store) DeleteMessage(group crypto.GroupID, id EnvelopeID) error {
	err := s.update(func(txn *badger.Txn) error {
		err := s.deleteMessageTxn(txn, group, id)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: deleting message: %w", err)
	}
	return nil
}

// Messages returns up to limit local copies of group, newest first: those
// that sort strictly before the cursor, or the newest when before is nil.
// Pass the last message's Cursor() for the next page; a page shorter than
// limit is the last. It returns ErrInvalid for a limit below 1, ErrCorrupt
// when a copy does not authenticate, and ErrClosed after Close.
func (s *Store) Messages(group crypto.GroupID, before *MessageCursor, limit int) ([]Message, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	prefix := groupPrefix(prefixMessage, group)
	var seek []byte
	if before == nil {
		// Past every key of the group: 0xff in every position of sort and ID.
		seek = append(bytes.Clone(prefix), bytes.Repeat([]byte{0xff}, 8+EnvelopeIDSize+1)...)
	} else {
		seek = messageKey(group, before.Sort, before.ID)
	}
	var out []Message
	err := s.view(func(txn *badger.Txn) error {
		r := s.keyring(txn)
		defer r.wipe()
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true, PrefetchValues: false})
		defer it.Close()
		for it.Seek(seek); it.Valid() && len(out) < limit; it.Next() {
			item := it.Item()
			if before != nil && bytes.Equal(item.Key(), seek) {
				continue
			}
			f, ok := keyFields(item.Key(), 8, EnvelopeIDSize)
			if !ok {
				return fmt.Errorf("storage: malformed message key: %w", ErrCorrupt)
			}
			content, _, err := r.openDayItem(item, group)
			if err != nil {
				return err
			}
			out = append(out, Message{ID: toID(f[1]), Sort: binary.BigEndian.Uint64(f[0]), Content: content})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: messages: %w", err)
	}
	return out, nil
}
