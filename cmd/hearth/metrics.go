package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// nodeGauges are the node's numbers the metrics endpoint reports. Each is
// a count with no label: no peer IDs, group IDs or names ever reach
// metrics, which an operator may ship to a monitoring service.
type nodeGauges struct {
	connectedPeers func() int
	groups         func() int
}

// metricsServer serves Prometheus metrics at /metrics on a loopback
// address (settings.setMetrics refuses others).
type metricsServer struct {
	http *http.Server
	addr string
	done chan error
}

// startMetrics listens on addr and serves, from a registry of its own (not
// the process-wide default one, which libraries may fill), the Go runtime
// and process collectors and g.
func startMetrics(addr string, g nodeGauges, logger *slog.Logger) (*metricsServer, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hearth_connected_peers",
			Help: "Number of peers the node is connected to.",
		}, func() float64 { return float64(g.connectedPeers()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hearth_groups",
			Help: "Number of groups the node is a member of.",
		}, func() float64 { return float64(g.groups()) }),
	)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot serve metrics on %s: %v; choose another address with --metrics", addr, opErr(err))
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}))
	m := &metricsServer{
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
		err := m.http.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		m.done <- err
	}()
	return m, nil
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
