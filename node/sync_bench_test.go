package node

import (
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkSyncCatchUp measures a member catching up on envelopes it
// missed: ann posts HEARTH_SYNC_BENCH_N messages (10,000 by default) while
// bo is offline, then bo starts and syncs them (transfer, opening,
// storage, events). It reports envelopes per second, the peak Go heap
// above the level before bo started (both nodes share the process), and,
// as the floor measured in the same run, how fast ann's store merely
// reads the same envelopes back.
//
//	HEARTH_SYNC_BENCH_N=100000 go test -run='^$' -bench=BenchmarkSyncCatchUp -benchtime=1x -timeout=30m ./node/
func BenchmarkSyncCatchUp(b *testing.B) {
	n := 10_000
	if s := os.Getenv("HEARTH_SYNC_BENCH_N"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("HEARTH_SYNC_BENCH_N=%q", s)
		}
		n = v
	}
	for range b.N {
		ann := &e2eMember{newE2ENode(b, "ann", syncUnlimited), "ann"}
		bo := &e2eMember{newE2ENode(b, "bo", syncUnlimited), "bo"}
		e2eConnect(b, ann.e2eNode, bo.e2eNode)
		id := e2eGroupOf(b, ann, bo)
		bo.stop(b)
		g := ann.group(b, id)
		for i := range n {
			if _, err := g.Post(e2eCtx(b), "catch-up benchmark message "+strconv.Itoa(i), MessageID{}); err != nil {
				b.Fatal(err)
			}
		}

		// The floor: reading the envelopes back from ann's store.
		floorStart := time.Now()
		read, after := 0, uint64(0)
		for {
			page, err := ann.n.store.EnvelopesSince(id, after, 1000)
			if err != nil {
				b.Fatal(err)
			}
			read += len(page)
			if len(page) < 1000 {
				break
			}
			after = page[len(page)-1].Arrival
		}
		floor := time.Since(floorStart)

		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		var peak atomic.Uint64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for {
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()

		start := time.Now()
		bo.start(b)
		e2eConnect(b, bo.e2eNode, ann.e2eNode)
		bg := bo.group(b, id)
		ok := e2ePollFor(20*time.Minute, func() bool {
			vec, err := bo.n.store.GenerationVector(id)
			if err != nil {
				return false
			}
			held := 0
			for _, e := range vec {
				for _, r := range e.Held {
					if r.Last != ^uint32(0) {
						held += int(r.Last-r.First) + 1
					}
				}
			}
			return held >= n
		})
		took := time.Since(start)
		close(stop)
		<-sampled
		if !ok {
			b.Fatalf("bo did not catch up on %d envelopes", n)
		}
		if got := len(e2eHistory(b, bg)); got < n {
			b.Fatalf("bo's history holds %d messages, want %d", got, n)
		}
		b.ReportMetric(float64(n)/took.Seconds(), "envelopes/s")
		b.ReportMetric(float64(read)/floor.Seconds(), "floor-envelopes/s")
		b.ReportMetric(took.Seconds()/floor.Seconds(), "ratio-to-floor")
		b.ReportMetric(float64(peak.Load()-min(peak.Load(), base))/(1<<20), "peak-heap-MiB")
		ann.stop(b)
		bo.stop(b)
	}
}
