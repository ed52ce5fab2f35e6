package node

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
)

// syncProbe makes h count the history sync requests it receives (and
// answer none) on the returned channel.
func syncProbe(h host.Host) <-chan struct{} {
	asked := make(chan struct{}, 64)
	h.SetStreamHandler(syncProtocolID, func(s network.Stream) {
		s.Reset()
		select {
		case asked <- struct{}{}:
		default:
		}
	})
	return asked
}

// syncTriggerLog records the triggers of the sync rounds a node's loop
// starts, from its debug log (syncRoundMsg).
type syncTriggerLog struct {
	sig transportSignal

	mu   sync.Mutex
	seen []string
}

func (l *syncTriggerLog) Enabled(context.Context, slog.Level) bool { return true }

func (l *syncTriggerLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != syncRoundMsg {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "trigger" {
			l.mu.Lock()
			l.seen = append(l.seen, a.Value.String())
			l.mu.Unlock()
		}
		return true
	})
	l.sig.fire()
	return nil
}

func (l *syncTriggerLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *syncTriggerLog) WithGroup(string) slog.Handler      { return l }

// mark returns how many triggers were recorded so far.
func (l *syncTriggerLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen)
}

// since reports whether trigger was recorded after mark.
func (l *syncTriggerLog) since(mark int, trigger string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.seen[mark:], trigger)
}

// wait waits until trigger is recorded after mark, calling nudge (if not
// nil) every 200 ms meanwhile.
func (l *syncTriggerLog) wait(t *testing.T, mark int, trigger string, nudge func()) {
	t.Helper()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(e2eWait)
	for !l.since(mark, trigger) {
		select {
		case <-l.sig.wait():
		case <-tick.C:
			if nudge != nil {
				nudge()
			}
		case <-deadline:
			t.Fatalf("no sync round for %q", trigger)
		}
	}
}

// syncDrain empties asked.
func syncDrain(asked <-chan struct{}) {
	for {
		select {
		case <-asked:
		default:
			return
		}
	}
}

// syncWaitAsked waits until asked receives.
func syncWaitAsked(t *testing.T, asked <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-asked:
	case <-time.After(e2eWait):
		t.Fatalf("the peer was not asked after %s", what)
	}
}

// TestSyncTriggers shows each of the sync loop's triggers starting a sync
// with a peer known in the group, without waiting on the real clock: the
// group's first rounds and the start round (the node's clock moved past
// them), a known peer connecting, the periodic round, a network change
// (the host reporting new reachability), and a peer joining the group's
// topic.
func TestSyncTriggers(t *testing.T) {
	clock := &e2eClock{}
	log := &syncTriggerLog{}
	ann := &e2eMember{newE2ENode(t, "ann", syncUnlimited, func(c *Config) {
		c.Now = clock.now
		c.Logger = slog.New(log)
	}), "ann"}
	bo := syncMember(t, "bo")
	e2eConnect(t, ann.e2eNode, bo.e2eNode)
	id := e2eGroupOf(t, ann, bo)
	g := ann.group(t, id)

	mark := log.mark()
	clock.advance(time.Minute)
	log.wait(t, mark, "new group", nil)
	log.wait(t, mark, "periodic", nil) // the start round

	// A peer known in the group (it forwarded the group's envelopes)
	// connecting.
	probe := transportHost(t)
	asked := syncProbe(probe)
	g.mu.Lock()
	g.notePeerLocked(probe.ID(), g.n.now())
	g.mu.Unlock()
	mark = log.mark()
	if err := probe.Connect(e2eCtx(t), ann.addrInfo(t)); err != nil {
		t.Fatal(err)
	}
	log.wait(t, mark, "peer connected", nil)
	syncWaitAsked(t, asked, "it connected")

	// The periodic round, once the node's clock passes it.
	syncDrain(asked)
	mark = log.mark()
	clock.advance(syncInterval*3/2 + time.Second)
	log.wait(t, mark, "periodic", nil)
	syncWaitAsked(t, asked, "the periodic round")

	// A network change: its round comes once the node's clock passes the
	// settling time.
	em, err := ann.n.host.EventBus().Emitter(new(event.EvtLocalReachabilityChanged))
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	syncDrain(asked)
	mark = log.mark()
	if err := em.Emit(event.EvtLocalReachabilityChanged{Reachability: network.ReachabilityPrivate}); err != nil {
		t.Fatal(err)
	}
	log.wait(t, mark, "network change", func() { clock.advance(syncNetworkSettle) })
	syncWaitAsked(t, asked, "the network change")

	// A peer joining the group's topic, unknown when it connected.
	sn := newE2ESniffer(t)
	joined := syncProbe(sn.h)
	sn.connect(t, ann.e2eNode)
	topic := e2eTopic(t, ann.e2eNode, id)
	e2ePoll(t, "the peer to learn the topic", func() bool { return slices.Contains(sn.announced(), topic) })
	mark = log.mark()
	sn.subscribeAll(t)
	log.wait(t, mark, "peer joined a topic", nil)
	syncWaitAsked(t, joined, "it joined the topic")
}
