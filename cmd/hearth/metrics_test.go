package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestMetricsServe(t *testing.T) {
	dm := newDaemonMetrics()
	dm.addNodeGauges(nodeGauges{
		connectedPeers: func() int { return 7 },
		groups:         func() int { return 3 },
	})
	dm.observeRequest("GET /api/v1/groups/{group}", 200, 3*time.Millisecond)
	m, err := startMetrics("127.0.0.1:0", dm, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + m.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"hearth_connected_peers 7", "hearth_groups 3", "go_goroutines",
		`hearth_api_requests_total{route="GET /api/v1/groups/{group}",status="200"} 1`,
		`hearth_api_request_duration_seconds_bucket{route="GET /api/v1/groups/{group}",status="200",le="0.005"} 1`,
		"hearth_messages_sent_total 0"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if err := m.shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + m.addr + "/metrics"); err == nil {
		t.Fatal("metrics still served after shutdown")
	}
}

func TestMetricsAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = startMetrics(ln.Addr().String(), newDaemonMetrics(), slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "address already in use; choose another address with --metrics") {
		t.Fatalf("error %v", err)
	}
}
