package node

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	ma "github.com/multiformats/go-multiaddr"
)

// BenchmarkTransportRawGossipsub measures gossipsub alone, with no group
// engine: four hosts on loopback TCP, one publishing to the other three.
// "default-signing" is go-libp2p-pubsub with its defaults (every message
// signed by the publisher's key, author and sequence number attached, each
// receiver verifying the signature, no validator); "hearth-nosign" is
// Hearth's configuration (no signature, no author, content-hash IDs,
// Hearth's scores and limits) with a trivial accepting inline validator and
// groupTopic's delivery queue. Payloads are 585 bytes, the size of an
// envelope in the 512-byte padding bucket. At most benchWindow messages are
// in flight, so no queue overflows and every message is counted.
//
// Reported: msgs/s (messages delivered to all three receivers per second)
// and p50/p99 delivery latency in microseconds, from the start of Publish
// to the receiver's handler.
func BenchmarkTransportRawGossipsub(b *testing.B) {
	b.Run("default-signing", func(b *testing.B) { benchmarkTransportGossip(b, false) })
	b.Run("hearth-nosign", func(b *testing.B) { benchmarkTransportGossip(b, true) })
}

const (
	benchPeers   = 4
	benchPayload = 585
	benchWindow  = 8
)

// benchmarkTransportRun collects one benchmark run's timings.
type benchmarkTransportRun struct {
	published []time.Time
	received  [][]time.Time   // [receiver][message]
	remaining []atomic.Int32  // receivers still to receive each message
	sig       transportSignal // fires when a message reaches its last receiver
}

func (r *benchmarkTransportRun) receive(receiver int, data []byte) {
	now := time.Now()
	if len(data) < 8 {
		return
	}
	i := binary.BigEndian.Uint64(data)
	if i >= uint64(len(r.published)) {
		return
	}
	r.received[receiver][i] = now
	if r.remaining[i].Add(-1) == 0 {
		r.sig.fire()
	}
}

func benchmarkTransportGossip(b *testing.B, hearth bool) {
	topic := transportTopicName(b)
	hosts := make([]host.Host, benchPeers)
	tracers := make([]*transportTracer, benchPeers)
	for i := range hosts {
		hosts[i] = transportHost(b)
		tracers[i] = newTransportTracer()
	}
	for i := range hosts {
		for j := i + 1; j < len(hosts); j++ {
			transportConnectVia(b, hosts[i], hosts[j], transportAddrWith(b, hosts[j], ma.P_TCP))
		}
	}

	run := &benchmarkTransportRun{
		published: make([]time.Time, b.N),
		received:  make([][]time.Time, benchPeers-1),
		remaining: make([]atomic.Int32, b.N),
	}
	for r := range run.received {
		run.received[r] = make([]time.Time, b.N)
	}
	for i := range run.remaining {
		run.remaining[i].Store(benchPeers - 1)
	}

	// publish is node 0's publish function.
	var publish func(ctx context.Context, data []byte) error
	for i, h := range hosts {
		receiver := i - 1 // node 0 publishes; nodes 1..3 are receivers 0..2
		record := func(data []byte) {
			if receiver >= 0 {
				run.receive(receiver, data)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		b.Cleanup(cancel)
		if hearth {
			ps, err := newPubSub(ctx, h, pubsubConfig{rawTracer: tracers[i]})
			if err != nil {
				b.Fatal(err)
			}
			gt, err := joinGroupTopic(ctx, h, ps, topicConfig{
				name:     topic,
				validate: transportAccept,
				handle:   func(_ context.Context, m *pubsub.Message) { record(m.GetData()) },
			})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() {
				lctx, lcancel := context.WithTimeout(context.Background(), transportWait)
				defer lcancel()
				_ = gt.leave(lctx)
			})
			if i == 0 {
				publish = func(ctx context.Context, data []byte) error { return gt.publish(ctx, data, nil) }
			}
			continue
		}
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
		go func() {
			for {
				m, err := sub.Next(ctx)
				if err != nil {
					return
				}
				record(m.GetData())
			}
		}()
		b.Cleanup(sub.Cancel)
		if i == 0 {
			publish = func(ctx context.Context, data []byte) error { return tp.Publish(ctx, data) }
		}
	}
	for i := range hosts {
		others := make([]host.Host, 0, benchPeers-1)
		others = append(others, hosts[:i]...)
		others = append(others, hosts[i+1:]...)
		transportWaitFor(b, "mesh", &tracers[i].sig, func() bool {
			for _, o := range others {
				if !tracers[i].inMesh(topic, o.ID()) {
					return false
				}
			}
			return true
		})
	}

	payloads := make([][]byte, b.N)
	for i := range payloads {
		payloads[i] = make([]byte, benchPayload)
		if _, err := rand.Read(payloads[i]); err != nil {
			b.Fatal(err)
		}
		binary.BigEndian.PutUint64(payloads[i], uint64(i))
	}

	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if i >= benchWindow {
			waitFor := i - benchWindow
			transportWaitFor(b, "delivery", &run.sig, func() bool { return run.remaining[waitFor].Load() == 0 })
		}
		run.published[i] = time.Now()
		if err := publish(ctx, payloads[i]); err != nil {
			b.Fatal(err)
		}
	}
	for i := max(0, b.N-benchWindow); i < b.N; i++ {
		transportWaitFor(b, "delivery", &run.sig, func() bool { return run.remaining[i].Load() == 0 })
	}
	elapsed := time.Since(start)
	b.StopTimer()

	lat := make([]time.Duration, 0, b.N*(benchPeers-1))
	for _, rec := range run.received {
		for i, at := range rec {
			lat = append(lat, at.Sub(run.published[i]))
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
