package node

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// BenchmarkGroupDelivery measures what a member of a Hearth group waits for
// a message, against the floor of plain gossipsub, in one run and on the
// same topology: four peers on loopback TCP, every pair connected (a full
// mesh; with four peers gossipsub's mesh holds every other peer), one
// publisher, three receivers.
//
//   - "hearth": four Hearth nodes (InitHome, New) in one group; node 0
//     calls Group.Post with a benchText-byte text, and a message counts as
//     delivered to a receiver when its EventMessage arrives on the
//     receiver's Subscription. Post seals the envelope (sender chain step,
//     XChaCha20-Poly1305, Ed25519 signature, padding to 512 bytes: a
//     585-byte envelope), stores it, and publishes; each receiver
//     validates (opens and verifies) it inline, stores the envelope and
//     its decrypted copy in Badger, and emits the event. Rate limits are
//     raised out of the way.
//   - "plain-gossipsub": four go-libp2p hosts with go-libp2p-pubsub's
//     defaults (every message signed by the publisher's peer key, author
//     and sequence number attached, each receiver verifying the signature),
//     publishing benchText-byte payloads; delivered when the receiver's
//     Subscription.Next returns it.
//
// At most benchWindow messages are in flight, so no queue overflows and
// every message is counted. Reported per sub-benchmark: msgs/s (messages
// delivered to all three receivers per second) and p50/p99 delivery
// latency in microseconds from the start of the publish call to each
// receiver's delivery. The Hearth sub-benchmark also reports its ratios
// to the plain floor measured just before it in the same process
// (x-msgs/s is Hearth's rate over the plain rate; x-p50 and x-p99 are
// Hearth's latencies over the plain ones).
func BenchmarkGroupDelivery(b *testing.B) {
	var floor benchGroupResult
	b.Run("plain-gossipsub", func(b *testing.B) {
		floor = benchPlainGossipsub(b)
		floor.report(b)
	})
	b.Run("hearth", func(b *testing.B) {
		res := benchHearthGroup(b)
		res.report(b)
		if floor.rate > 0 {
			b.ReportMetric(res.rate/floor.rate, "x-msgs/s")
			b.ReportMetric(float64(res.p50)/float64(floor.p50), "x-p50")
			b.ReportMetric(float64(res.p99)/float64(floor.p99), "x-p99")
		}
	})
}

const (
	benchGroupPeers = 4
	benchText       = 200
	benchGroupWin   = 8
)

// benchGroupResult is one sub-benchmark's measurements.
type benchGroupResult struct {
	rate     float64
	p50, p99 time.Duration
}

func (r benchGroupResult) report(b *testing.B) {
	b.ReportMetric(r.rate, "msgs/s")
	b.ReportMetric(float64(r.p50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(r.p99.Microseconds()), "p99-µs")
}

// benchGroupRun collects one run's timings: when each message was
// published and when each receiver got it.
type benchGroupRun struct {
	published []time.Time
	received  [][]time.Time  // [receiver][message]
	remaining []atomic.Int32 // receivers still to receive each message
	sig       transportSignal
}

func newBenchGroupRun(n int) *benchGroupRun {
	r := &benchGroupRun{
		published: make([]time.Time, n),
		received:  make([][]time.Time, benchGroupPeers-1),
		remaining: make([]atomic.Int32, n),
	}
	for i := range r.received {
		r.received[i] = make([]time.Time, n)
	}
	for i := range r.remaining {
		r.remaining[i].Store(benchGroupPeers - 1)
	}
	return r
}

// receive records message i arriving at receiver at now. Messages outside
// the run (and second copies) are ignored.
func (r *benchGroupRun) receive(receiver, i int, now time.Time) {
	if i < 0 || i >= len(r.published) || !r.received[receiver][i].IsZero() {
		return
	}
	r.received[receiver][i] = now
	if r.remaining[i].Add(-1) == 0 {
		r.sig.fire()
	}
}

// drive publishes b.N messages with publish, at most benchGroupWin in
// flight, and returns the measurements.
func (r *benchGroupRun) drive(b *testing.B, publish func(i int) error) benchGroupResult {
	b.Helper()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if i >= benchGroupWin {
			w := i - benchGroupWin
			transportWaitForBound(b, "delivery", e2eWait, &r.sig, func() bool { return r.remaining[w].Load() == 0 })
		}
		r.published[i] = time.Now()
		if err := publish(i); err != nil {
			b.Fatal(err)
		}
	}
	for i := max(0, b.N-benchGroupWin); i < b.N; i++ {
		transportWaitForBound(b, "delivery", e2eWait, &r.sig, func() bool { return r.remaining[i].Load() == 0 })
	}
	elapsed := time.Since(start)
	b.StopTimer()

	lat := make([]time.Duration, 0, b.N*(benchGroupPeers-1))
	for _, rec := range r.received {
		for i, at := range rec {
			lat = append(lat, at.Sub(r.published[i]))
		}
	}
	slices.Sort(lat)
	return benchGroupResult{
		rate: float64(b.N) / elapsed.Seconds(),
		p50:  lat[len(lat)/2],
		p99:  lat[len(lat)*99/100],
	}
}

// benchPlainGossipsub runs the floor: go-libp2p hosts and go-libp2p-pubsub
// with their defaults.
func benchPlainGossipsub(b *testing.B) benchGroupResult {
	topic := "bench-plain"
	hosts := make([]host.Host, benchGroupPeers)
	tracers := make([]*transportTracer, benchGroupPeers)
	for i := range hosts {
		h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { h.Close() })
		hosts[i] = h
		tracers[i] = newTransportTracer()
	}
	for i := range hosts {
		for j := i + 1; j < len(hosts); j++ {
			transportConnect(b, hosts[i], hosts[j])
		}
	}

	run := newBenchGroupRun(b.N)
	var publish func(ctx context.Context, data []byte) error
	for i, h := range hosts {
		ctx, cancel := context.WithCancel(context.Background())
		b.Cleanup(cancel)
		ps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithRawTracer(tracers[i]))
		if err != nil {
			b.Fatal(err)
		}
		tp, err := ps.Join(topic)
		if err != nil {
			b.Fatal(err)
		}
		sub, err := tp.Subscribe()
		if err != nil {
			b.Fatal(err)
		}
		receiver := i - 1
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				m, err := sub.Next(ctx)
				if err != nil {
					return
				}
				if receiver >= 0 && len(m.GetData()) >= 8 {
					run.receive(receiver, int(binary.BigEndian.Uint64(m.GetData())), time.Now())
				}
			}
		}()
		b.Cleanup(func() { sub.Cancel(); cancel(); <-done })
		if i == 0 {
			publish = func(ctx context.Context, data []byte) error { return tp.Publish(ctx, data) }
		}
	}
	for i := range hosts {
		var others []peer.ID
		for j, o := range hosts {
			if j != i {
				others = append(others, o.ID())
			}
		}
		transportWaitFor(b, "mesh", &tracers[i].sig, func() bool { return tracers[i].inMesh(topic, others...) })
	}

	payloads := make([][]byte, b.N)
	for i := range payloads {
		payloads[i] = make([]byte, benchText)
		if _, err := rand.Read(payloads[i]); err != nil {
			b.Fatal(err)
		}
		binary.BigEndian.PutUint64(payloads[i], uint64(i))
	}
	ctx := context.Background()
	return run.drive(b, func(i int) error { return publish(ctx, payloads[i]) })
}

// benchHearthGroup runs four Hearth nodes in one group.
func benchHearthGroup(b *testing.B) benchGroupResult {
	unlimited := func(c *Config) {
		c.RateLimit = RateLimit{PerMinute: 1 << 30, Burst: 1 << 30}
		c.EventBuffer = 1 << 16
	}
	members := make([]*e2eMember, benchGroupPeers)
	nodes := make([]*e2eNode, benchGroupPeers)
	for i := range members {
		nodes[i] = newE2ENode(b, fmt.Sprintf("bench%d", i), unlimited)
		members[i] = &e2eMember{e2eNode: nodes[i], pseudonym: fmt.Sprintf("member %d", i)}
	}
	e2eMesh(b, nodes...)
	id := e2eGroupOf(b, members[0], members[1:]...)
	// A first message from everyone, read by everyone, before the clock
	// starts: each member's chain key has then reached every other, and
	// no post waits in an outbox behind an announcement.
	warm := e2eAllPost(b, id, "warm-up", members...)
	e2eWaitAll(b, id, warm, members...)

	// Texts carry their index in a fixed-width prefix, padded to benchText.
	texts := make([]string, b.N)
	for i := range texts {
		head := fmt.Sprintf("%012d ", i)
		texts[i] = head + strings.Repeat("x", benchText-len(head))
	}
	run := newBenchGroupRun(b.N)
	for r, m := range members[1:] {
		sub := m.n.Subscribe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ev := range sub.Events() {
				if ev.Kind != EventMessage || ev.Message == nil || len(ev.Message.Text) < 12 {
					continue
				}
				if i, err := strconv.Atoi(ev.Message.Text[:12]); err == nil {
					run.receive(r, i, time.Now())
				}
			}
		}()
		b.Cleanup(func() { sub.Close(); <-done })
	}
	g := members[0].group(b, id)
	ctx := context.Background()
	res := run.drive(b, func(i int) error {
		_, err := g.Post(ctx, texts[i], MessageID{})
		return err
	})
	for _, m := range members[1:] {
		if d := m.rec.sub.Dropped(); d != 0 {
			b.Fatalf("%s dropped %d events", m.name, d)
		}
	}
	return res
}
