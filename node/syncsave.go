package node

import (
	"errors"
	"fmt"

	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// This file lets history sync and the mailbox catch-up save a group's
// session once a page instead of once an envelope. Gossip saves after every
// envelope (receive.go); saving the session (export, seal, write) for each
// of thousands of caught-up envelopes is what made catch-up slow
// (docs/PERFORMANCE.md, "History sync: catch-up").
//
// Crash safety. openLocked still stores each envelope (with its local copy)
// before any save that covers its generation, so the invariant in
// receive.go's header holds: a saved session never consumed a generation
// whose envelope is not stored. A deferred save adds the converse state:
// after a crash in a page, its posts are stored but the saved session has
// not consumed their generations. Left alone, that state would do harm:
//
//   - nothing brings the envelopes again through sync or the mailbox (their
//     vectors come from stored envelopes, and syncFeed.add skips held ones),
//     so the session would keep their keys, as skipped keys once a later
//     generation of their sender opens, long after the envelopes expire;
//   - gossip could bring them again (after a restart gossipsub has
//     forgotten what it saw, and peers offer recent messages): they would
//     open a second time, and the app would be shown the post twice.
//
// So before it opens a page, syncFeed.add writes a page mark (keySyncPage)
// naming the page's envelopes it does not hold, and after the page it saves
// the session and deletes the mark. When a group is loaded with a mark
// left (the process died in between), recoverSyncPage opens again every
// envelope the mark names that the store holds, which consumes the
// generations the saved session missed (an envelope it had consumed fails
// to open as a duplicate and changes nothing), saves the session and
// deletes the mark. Their posts are in History already; their events,
// held until the sync response ends, were lost with the process, as they
// always were when a crash came before the response's end. So each
// envelope's local copy is written once and its event shown at most once.
//
// Only content whose opening changes nothing in the session but the
// generation it consumes is deferred: posts, community content, and
// content refused or unreadable. A commit or a chain-key announcement
// changes the session itself (a new epoch, a sender's chain), so it is
// saved at once, which also covers everything deferred before it.

// keySyncPage is the KindGroup record of the page being applied with its
// session save deferred:
//
//	version u8 = 1 ‖ count u16 ‖ envelope ID [32] × count
var keySyncPage = []byte("syncpage")

// maxUnsaved bounds the envelopes whose session save a page may defer, and
// so the page mark: a sync or mailbox page holds at most this many.
// Envelopes retried after the page (syncFeed.retryLocked) are not named by
// its mark and are saved one by one.
const maxUnsaved = protocol.MaxSyncPageEnvelopes

// beginDeferredLocked writes the page mark naming ids and lets openLocked
// defer its saves until endDeferredLocked. If the mark cannot be written,
// or a deferred save is still owed (the last page's save failed, and its
// mark must not be overwritten), saves are not deferred. The caller holds
// g.mu.
func (g *Group) beginDeferredLocked(ids []storage.EnvelopeID) {
	if len(ids) == 0 || len(ids) > maxUnsaved || g.unsaved > 0 {
		return
	}
	e := newEnc()
	e.u16(uint16(len(ids)))
	for _, id := range ids {
		e.fixed(id[:])
	}
	if err := g.n.store.Put(storage.KindGroup, g.id, keySyncPage, e.bytes()); err != nil {
		g.n.log.Warn("marking a sync page", "err", err)
		return
	}
	g.deferSaves = true
}

// endDeferredLocked stops deferring, saves the session if a save was
// deferred, and deletes the page mark once the session is saved. If the
// save fails the mark stays, and the next load recovers the page. The
// caller holds g.mu.
func (g *Group) endDeferredLocked() {
	if !g.deferSaves {
		return
	}
	g.deferSaves = false
	if g.unsaved > 0 {
		if err := g.persistLocked(); err != nil {
			g.n.log.Warn("persisting a session", "err", err)
			return
		}
		g.unsaved = 0
	}
	if err := g.n.store.Delete(storage.KindGroup, g.id, keySyncPage); err != nil && !errors.Is(err, storage.ErrNotFound) {
		g.n.log.Warn("clearing a sync page mark", "err", err)
	}
}

// saveOpenedLocked saves the session after openLocked consumed a
// generation, unless a page is being applied (beginDeferredLocked) and the
// envelope is deferrable: its opening changed nothing in the session but
// the generation. The caller holds g.mu.
func (g *Group) saveOpenedLocked(deferrable bool) {
	if g.deferSaves && deferrable {
		g.unsaved++
		return
	}
	if err := g.persistLocked(); err != nil {
		g.n.log.Warn("persisting a session", "err", err)
		return
	}
	g.unsaved = 0
}

// recoverSyncPage finishes a page whose session save a crash prevented
// (see this file's comment). loadGroup calls it before the group receives
// anything.
func (g *Group) recoverSyncPage() error {
	st := g.n.store
	b, err := st.Get(storage.KindGroup, g.id, keySyncPage)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the sync page mark: %w", err)
	}
	d := newDec(b)
	n := int(d.u16())
	var ids []storage.EnvelopeID
	for i := 0; i < n && d.err == nil && i < maxUnsaved; i++ {
		var id storage.EnvelopeID
		d.fixed(id[:])
		ids = append(ids, id)
	}
	if err := d.finish(); err != nil || n > maxUnsaved {
		// A mark this code did not write: nothing can be recovered
		// from it.
		g.n.log.Warn("dropping an unreadable sync page mark")
		return st.Delete(storage.KindGroup, g.id, keySyncPage)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	consumed := 0
	now := g.n.now().UnixMilli()
	for _, id := range ids {
		e, err := st.GetEnvelope(g.id, id)
		if errors.Is(err, storage.ErrNotFound) {
			continue // not stored: its generation was not consumed either
		}
		if err != nil {
			return fmt.Errorf("reading an envelope of a sync page: %w", err)
		}
		if _, err := g.sess.Open(e.Raw, now, g.n.rand); err == nil {
			consumed++
		}
	}
	if consumed > 0 {
		if err := g.persistLocked(); err != nil {
			return err
		}
		g.n.log.Info("recovered a sync page interrupted before its session was saved", "envelopes", consumed)
	}
	return st.Delete(storage.KindGroup, g.id, keySyncPage)
}
