package node

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// BenchmarkMailboxCatchUp measures a member catching up from the mailbox
// alone: the host names a mailbox, bo goes offline, the host posts
// HEARTH_MAILBOX_BENCH_N messages (2,000 by default), the mailbox stores
// them (what gossip dropped under the load, the host's sync pushes), the
// host goes offline, and bo starts and fetches everything from the
// mailbox (transfer, opening, storage, events). It reports envelopes per
// second of bo's catch-up, and of the mailbox's storing.
//
//	HEARTH_MAILBOX_BENCH_N=10000 go test -run='^$' -bench=BenchmarkMailboxCatchUp -benchtime=1x -timeout=30m ./node/
func BenchmarkMailboxCatchUp(b *testing.B) {
	n := 2_000
	if s := os.Getenv("HEARTH_MAILBOX_BENCH_N"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("HEARTH_MAILBOX_BENCH_N=%q", s)
		}
		n = v
	}
	for range b.N {
		host := &e2eMember{newE2ENode(b, "host", syncUnlimited), "host"}
		bo := &e2eMember{newE2ENode(b, "bo", syncUnlimited), "bo"}
		mb := newE2ENode(b, "mailbox", syncUnlimited, func(c *Config) { c.Mailbox = MailboxConfig{Enabled: true} })
		e2eMesh(b, host.e2eNode, bo.e2eNode, mb)
		id := e2eGroupOf(b, host, bo)
		reg, err := mb.n.MailboxRegistration()
		if err != nil {
			b.Fatal(err)
		}
		g := host.group(b, id)
		if err := g.SetMailbox(e2eCtx(b), reg); err != nil {
			b.Fatal(err)
		}
		e2eSettle(b, id, host, bo)
		bo.stop(b)

		start := time.Now()
		for i := range n {
			if _, err := g.Post(e2eCtx(b), "mailbox benchmark message "+strconv.Itoa(i), MessageID{}); err != nil {
				b.Fatal(err)
			}
		}
		e2ePoll(b, "the mailbox to hold every post", func() bool {
			s, err := mb.n.MailboxStats()
			if err != nil {
				return false
			}
			if s.Envelopes >= n+2 {
				return true
			}
			_, _ = g.Sync(e2eCtx(b))
			return false
		})
		stored := time.Since(start)
		host.stop(b)

		start = time.Now()
		bo.start(b)
		bg := bo.group(b, id)
		e2ePollFor(10*time.Minute, func() bool { return syncHistoryLen(bg) >= n })
		took := time.Since(start)
		if got := syncHistoryLen(bg); got < n {
			b.Fatalf("bo caught up %d of %d", got, n)
		}
		b.ReportMetric(float64(n)/took.Seconds(), "catchup_env/s")
		b.ReportMetric(float64(n)/stored.Seconds(), "post_and_store_env/s")
		b.Logf("bo caught up %d posts from the mailbox alone in %v; posting and storing took %v", n, took, stored)
	}
}
