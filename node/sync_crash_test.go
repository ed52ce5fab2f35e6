package node

import (
	"errors"
	"testing"

	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// TestSyncCrashBeforePageSave applies a sync page and leaves out the
// session's save at its end, as a crash there would, then restarts the
// member: the page's posts are in its history once each, loading the group
// consumed their generations (gossip, which offers the restarted member
// ann's recent posts, does not show them a second time), and the author's
// next post arrives once.
func TestSyncCrashBeforePageSave(t *testing.T) {
	ann, bo := syncMember(t, "ann"), syncMember(t, "bo")
	e2eConnect(t, ann.e2eNode, bo.e2eNode)
	id := e2eGroupOf(t, ann, bo)
	bo.stop(t)
	texts := syncPosts(t, id, "while bo was away", 5, ann)

	envs, err := ann.n.store.EnvelopesSince(id, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var raws [][]byte
	for _, e := range envs {
		raws = append(raws, e.Raw)
	}
	last := raws[len(raws)-1] // ann's newest post

	bo.start(t)
	g := bo.group(t, id)
	f := newSyncFeed(g, ann.addrInfo(t).ID)
	f.skipSave = true
	f.add(raws)
	f.finish()
	if f.accepted < len(texts) {
		t.Fatalf("the page opened %d envelopes, want at least %d", f.accepted, len(texts))
	}
	if _, err := bo.n.store.Get(storage.KindGroup, id, keySyncPage); err != nil {
		t.Fatalf("the page mark is not stored: %v", err)
	}
	bo.stop(t) // the crash: the session was last saved before the page
	bo.start(t)
	e2eConnect(t, bo.e2eNode, ann.e2eNode)
	g = bo.group(t, id)

	// The page's posts were stored before the save that never came.
	have := syncHistoryTexts(t, g)
	for _, text := range texts {
		if _, ok := have[text]; !ok {
			t.Fatalf("after the crash bo lacks %q", text)
		}
	}
	if len(have) != len(texts) {
		t.Fatalf("after the crash bo holds %d messages, want %d", len(have), len(texts))
	}

	// The author's next post opens over the generations the saved
	// session missed, and arrives once.
	next := "after bo's crash"
	if _, err := ann.group(t, id).Post(e2eCtx(t), next, MessageID{}); err != nil {
		t.Fatal(err)
	}
	e2ePoll(t, "bo to receive the next post", func() bool { return syncHistoryLen(g) == len(texts)+1 })
	bo.rec.waitEvent(t, EventMessage, id, func(ev Event) bool { return ev.Message.Text == next })
	shown := 0
	for _, ev := range bo.rec.all() {
		if ev.Kind == EventMessage {
			shown++
		}
	}
	if shown != 1 {
		t.Errorf("after the restart bo's app was shown %d messages, want 1", shown)
	}
	if got := syncHistoryTexts(t, g); len(got) != len(texts)+1 {
		t.Errorf("bo holds %d messages, want %d", len(got), len(texts)+1)
	}

	// Loading the group consumed the page's generations and cleared the
	// mark.
	g.mu.Lock()
	_, err = g.sess.Open(last, bo.n.now().UnixMilli(), bo.n.rand)
	g.mu.Unlock()
	if !errors.Is(err, protocol.ErrDuplicate) {
		t.Errorf("opening the page's last post again after the restart = %v, want a duplicate", err)
	}
	if _, err := bo.n.store.Get(storage.KindGroup, id, keySyncPage); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the page mark is still stored after the restart (%v)", err)
	}
}
