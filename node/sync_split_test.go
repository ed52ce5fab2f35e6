package node

import (
	"bytes"
	"slices"
	"testing"

	"github.com/hearthnet/hearth/storage"
)

// TestSyncSplitHeals splits four members into two halves, has both halves
// post while apart, then heals the split: every node ends with the same
// envelopes (count and hashes) of the epoch all four share, and the same
// 120 messages. The split is made by stopping one half while the other
// posts, then cutting its connections to the other half while it posts;
// the nodes' own reconnection may rejoin the halves sooner than the test
// does, which changes only when, not whether, sync must close the gap.
func TestSyncSplitHeals(t *testing.T) {
	ms := []*e2eMember{syncMember(t, "ann"), syncMember(t, "bo"), syncMember(t, "cy"), syncMember(t, "di")}
	e2eMesh(t, ms[0].e2eNode, ms[1].e2eNode, ms[2].e2eNode, ms[3].e2eNode)
	id := e2eGroupOf(t, ms[0], ms[1], ms[2], ms[3])
	// Every envelope from the epoch all four share on: those before it
	// belong to epochs the later joiners were never members of.
	shared := ms[0].group(t, id).Info().Epoch
	// The split: cy and di go offline, keep their stores, and come back
	// connected only to each other.
	ms[2].stop(t)
	ms[3].stop(t)
	syncPosts(t, id, "left", 60, ms[0], ms[1])
	ms[2].start(t)
	ms[3].start(t)
	e2eConnect(t, ms[2].e2eNode, ms[3].e2eNode)
	for _, m := range ms {
		for _, o := range ms {
			if (m == ms[2] || m == ms[3]) != (o == ms[2] || o == ms[3]) {
				_ = m.n.host.Network().ClosePeer(o.n.PeerID())
			}
		}
	}
	e2eWaitMeshed(t, id, ms[2], ms[3])
	syncPosts(t, id, "right", 60, ms[2], ms[3])
	// Heal.
	e2eMesh(t, ms[0].e2eNode, ms[1].e2eNode, ms[2].e2eNode, ms[3].e2eNode)
	ids := func(m *e2eMember) []storage.EnvelopeID {
		var out []storage.EnvelopeID
		var after uint64
		for {
			page, err := m.n.store.EnvelopesSince(id, after, 500)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page {
				if e.Meta.Epoch >= shared {
					out = append(out, e.ID)
				}
			}
			if len(page) < 500 {
				break
			}
			after = page[len(page)-1].Arrival
		}
		slices.SortFunc(out, func(a, b storage.EnvelopeID) int { return bytes.Compare(a[:], b[:]) })
		return out
	}
	e2ePoll(t, "every node to hold every envelope", func() bool {
		for _, m := range ms {
			if _, err := m.group(t, id).Sync(e2eCtx(t)); err != nil {
				return false
			}
		}
		first := ids(ms[0])
		for _, m := range ms[1:] {
			if !slices.Equal(ids(m), first) {
				return false
			}
		}
		return true
	})
	for _, m := range ms {
		if got := len(syncHistoryTexts(t, m.group(t, id))); got != 120 {
			t.Errorf("%s holds %d messages, want 120", m.name, got)
		}
	}
}
