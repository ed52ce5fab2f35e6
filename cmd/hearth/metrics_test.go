package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestMetricsServe(t *testing.T) {
	m, err := startMetrics("127.0.0.1:0", nodeGauges{
		connectedPeers: func() int { return 7 },
		groups:         func() int { return 3 },
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + m.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"hearth_connected_peers 7", "hearth_groups 3", "go_goroutines"} {
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
	_, err = startMetrics(ln.Addr().String(), nodeGauges{}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "address already in use; choose another address with --metrics") {
		t.Fatalf("error %v", err)
	}
}
