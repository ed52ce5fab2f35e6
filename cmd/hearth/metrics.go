package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/node"
)

// The daemon's Prometheus metrics (--metrics). What they may carry is
// narrow on purpose, because an operator may ship them to a monitoring
// service: counts and latencies only. No label ever holds a group or member
// ID, a peer ID, a name, a pseudonym or any text. The API's metrics are
// labelled by the route's pattern ("GET /api/v1/groups/{group}", never the
// path with its IDs) and the status code; every other metric has no label.

// nodeGauges are the node's numbers the metrics endpoint reports. Each is
// a count with no label.
type nodeGauges struct {
	connectedPeers func() int
	groups         func() int
}

// daemonMetrics holds the daemon's own collectors. It is made before the
// API starts (so requests are counted from the first) and served once the
// node runs; see serveMetrics.
type daemonMetrics struct {
	reg *prometheus.Registry

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	messagesSent     prometheus.Counter
	messagesReceived prometheus.Counter
	joins            prometheus.Counter
	removals         prometheus.Counter
	leaves           prometheus.Counter
	eventsMissed     prometheus.Counter
}

// newDaemonMetrics returns the daemon's collectors in a registry of their
// own (not the process-wide default one, which libraries may fill), with
// the Go runtime and process collectors.
func newDaemonMetrics() *daemonMetrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := &daemonMetrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_api_requests_total",
			Help: "Requests to the local API and web UI, by route pattern and status code.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hearth_api_request_duration_seconds",
			Help:    "Time to answer a request to the local API and web UI, by route pattern and status code (an event stream counts until it ends).",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route", "status"}),
		messagesSent:     counter("hearth_messages_sent_total", "Posts this member sent, in all groups."),
		messagesReceived: counter("hearth_messages_received_total", "Posts from other members this node received, in all groups."),
		joins:            counter("hearth_member_joins_total", "Members added to this node's groups, as this node learned of them."),
		removals:         counter("hearth_member_removals_total", "Members a host or moderator removed from this node's groups."),
		leaves:           counter("hearth_member_leaves_total", "Members who left this node's groups on their own."),
		eventsMissed: counter("hearth_metrics_events_missed_total",
			"Node events the metrics fell too far behind to count: the message and member counters are short by at most this much."),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration,
		m.messagesSent, m.messagesReceived, m.joins, m.removals, m.leaves, m.eventsMissed,
	)
	return m
}

// observeRequest is the API server's Config.Observe: route is a pattern
// or "(unmatched)", never a path.
func (m *daemonMetrics) observeRequest(route string, status int, took time.Duration) {
	s := strconv.Itoa(status)
	m.requests.WithLabelValues(route, s).Inc()
	m.duration.WithLabelValues(route, s).Observe(took.Seconds())
}

// addNodeGauges registers the node's gauges.
func (m *daemonMetrics) addNodeGauges(g nodeGauges) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hearth_connected_peers",
			Help: "Number of peers the node is connected to.",
		}, func() float64 { return float64(g.connectedPeers()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hearth_groups",
			Help: "Number of groups the node is a member of.",
		}, func() float64 { return float64(g.groups()) }),
	)
}

// eventCounter counts the node's events into the metrics from a
// subscription of its own, so the node needs no hook for metrics.
type eventCounter struct {
	quit chan struct{}
	done chan struct{}
	once sync.Once
}

// countEvents starts counting n's events into m until stop or until the
// node closes.
func (m *daemonMetrics) countEvents(n *node.Node) *eventCounter {
	ec := &eventCounter{quit: make(chan struct{}), done: make(chan struct{})}
	sub := n.Subscribe()
	go func() {
		defer close(ec.done)
		defer sub.Close()
		// This member's ID in each group, to tell its own posts from
		// others'; a member's ID in a group never changes.
		me := make(map[crypto.GroupID]crypto.MemberID)
		var missed uint64
		for {
			var ev node.Event
			var ok bool
			select {
			case ev, ok = <-sub.Events():
				if !ok {
					return
				}
			case <-ec.quit:
				return
			}
			m.count(n, me, ev)
			if d := sub.Dropped(); d > missed {
				m.eventsMissed.Add(float64(d - missed))
				missed = d
			}
		}
	}()
	return ec
}

// count adds one event to the counters.
func (m *daemonMetrics) count(n *node.Node, me map[crypto.GroupID]crypto.MemberID, ev node.Event) {
	switch ev.Kind {
	case node.EventMessage:
		if ev.Message == nil {
			return
		}
		id, ok := me[ev.Group]
		if !ok {
			g, err := n.Group(ev.Group)
			if err != nil {
				return
			}
			id = g.Info().Me.ID
			me[ev.Group] = id
		}
		if ev.Message.Author == id {
			m.messagesSent.Inc()
		} else {
			m.messagesReceived.Inc()
		}
	case node.EventMemberJoined:
		m.joins.Inc()
	case node.EventMemberRemoved:
		m.removals.Inc()
	case node.EventMemberLeft:
		m.leaves.Inc()
	}
}

// stop ends the counting and returns once it has. It may be called more
// than once.
func (ec *eventCounter) stop() {
	ec.once.Do(func() { close(ec.quit) })
	<-ec.done
}

// metricsServer serves Prometheus metrics at /metrics on a loopback
// address (settings.setMetrics refuses others).
type metricsServer struct {
	http *http.Server
	addr string
	done chan error
}

// startMetrics listens on addr and serves m's registry.
func startMetrics(addr string, m *daemonMetrics, logger *slog.Logger) (*metricsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot serve metrics on %s: %v; choose another address with --metrics", addr, opErr(err))
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}))
	ms := &metricsServer{
		http: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
		addr: ln.Addr().String(),
		done: make(chan error, 1),
	}
	go func() {
		err := ms.http.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		ms.done <- err
	}()
	return ms, nil
}

// shutdown stops the server, waiting for requests in flight until ctx ends.
func (m *metricsServer) shutdown(ctx context.Context) error {
	err := m.http.Shutdown(ctx)
	return errors.Join(err, <-m.done)
}

// opErr returns the operating system's reason inside a *net.OpError, so
// that a message names the address once.
func opErr(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}
