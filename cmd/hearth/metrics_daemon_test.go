package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hearthnet/hearth/api/client"
)

// metricsBound bounds every wait of the metrics test: a join and a post
// between two nodes take a few gossipsub heartbeats.
const metricsBound = 45 * time.Second

// testDaemon is `hearth up` running in this process on a home of its own.
type testDaemon struct {
	home   string
	stderr *signalWriter
	c      *client.Client
}

// startTestDaemon runs `hearth up` with extra flags on a new home, waits
// until it prints its login link (by then the API and any metrics serve),
// and stops it when the test ends.
func startTestDaemon(t *testing.T, extra ...string) *testDaemon {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "home")
	pass := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e, _, _ := testEnv(nil)
	e.now = time.Now
	stdout := &signalWriter{ready: make(chan struct{})}
	stderr := &signalWriter{ready: make(chan struct{})}
	e.stdout, e.stderr = stdout, stderr
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	args := append([]string{"up", "--home", dir, "--passphrase-file", pass, "--listen", "/ip4/127.0.0.1/tcp/0", "--api", "127.0.0.1:0"}, extra...)
	go func() { code <- run(ctx, e, args) }()
	t.Cleanup(func() {
		cancel()
		if c := <-code; c != exitOK {
			t.Errorf("up exited with %d: %s", c, stderr.String())
		}
	})
	select {
	case <-stdout.ready:
	case c := <-code:
		code <- c
		t.Fatalf("up exited with %d before serving: %s", c, stderr.String())
	case <-time.After(metricsBound):
		t.Fatal("up did not print its login link in time")
	}
	c, err := client.NewFromHome(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &testDaemon{home: dir, stderr: stderr, c: c}
}

// metricsAddrRE finds the metrics address in the daemon's log.
var metricsAddrRE = regexp.MustCompile(`msg="serving metrics" addr=http://(127\.0\.0\.1:[0-9]+)/metrics`)

// scrape returns the metric families the daemon serves, and the raw text.
func (d *testDaemon) scrape(t *testing.T) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	m := metricsAddrRE.FindStringSubmatch(d.stderr.String())
	if m == nil {
		t.Fatalf("the log does not say where metrics are served:\n%s", d.stderr.String())
	}
	resp, err := http.Get("http://" + m[1] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("the metrics do not parse: %v", err)
	}
	return fams, string(body)
}

// value returns the value of the counter name with the given labels (""
// for none), or -1 when there is none.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f, ok := fams[name]
	if !ok {
		return -1
	}
	for _, m := range f.GetMetric() {
		match := len(m.GetLabel()) == len(labels)
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		}
	}
	return -1
}

// TestMetricsCountWithoutNaming runs a daemon with --metrics beside a
// second one, has them create a group, join, talk and part, and scrapes the
// first: the API's request counter and latency histogram, the message,
// join and removal counters all moved, and no metric or label holds an ID,
// a name, a pseudonym, a peer ID or a word anyone wrote.
func TestMetricsCountWithoutNaming(t *testing.T) {
	ann := startTestDaemon(t, "--metrics", "127.0.0.1:0")
	bo := startTestDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), metricsBound)
	defer cancel()

	const (
		groupName = "Marigold circle"
		annName   = "Annwyl Quince"
		boName    = "Bartholomew Zest"
		annText   = "lanternfish tuesday"
		boText    = "periwinkle thursday"
	)
	events, err := ann.c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	group, err := ann.c.CreateGroup(ctx, groupName, annName, "")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := ann.c.CreateInvite(ctx, group, client.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bo.c.Join(ctx, inv.Invite, boName); err != nil {
		t.Fatal(err)
	}
	if _, err := ann.c.Post(ctx, group, annText, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := bo.c.Post(ctx, group, boText, ""); err != nil {
		t.Fatal(err)
	}
	// Ann's node has Bo's post once its event arrives.
	var boID string
	for boID == "" {
		ev, err := events.Next()
		if err != nil {
			t.Fatalf("waiting for Bo's post: %v", err)
		}
		if d, err := ev.Decode(); err == nil && ev.Type == client.EventMessage && d.Message != nil && d.Message.Text == boText {
			boID = d.Message.Author
		}
	}
	if err := ann.c.Remove(ctx, group, boID); err != nil {
		t.Fatal(err)
	}

	// The counters are fed from the node's events, asynchronously: look
	// again until the removal is counted.
	var fams map[string]*dto.MetricFamily
	var text string
	deadline := time.Now().Add(metricsBound)
	for {
		fams, text = ann.scrape(t)
		if value(fams, "hearth_member_removals_total", nil) >= 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for name, want := range map[string]float64{
		"hearth_messages_sent_total":     1,
		"hearth_messages_received_total": 1,
		"hearth_member_joins_total":      1,
		"hearth_member_removals_total":   1,
		"hearth_member_leaves_total":     0,
		"hearth_groups":                  1,
	} {
		if got := value(fams, name, nil); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	for _, route := range []struct{ pattern, status string }{
		{"POST /api/v1/groups", "201"},
		{"POST /api/v1/groups/{group}/invites", "201"},
		{"POST /api/v1/groups/{group}/messages", "201"},
		{"DELETE /api/v1/groups/{group}/members/{member}", "200"},
	} {
		labels := map[string]string{"route": route.pattern, "status": route.status}
		if got := value(fams, "hearth_api_requests_total", labels); got != 1 {
			t.Errorf("hearth_api_requests_total%v = %v, want 1", labels, got)
		}
		if got := value(fams, "hearth_api_request_duration_seconds", labels); got != 1 {
			t.Errorf("hearth_api_request_duration_seconds%v has %v samples, want 1", labels, got)
		}
	}

	// Nothing that names the group or its people, nor anything they
	// wrote, appears anywhere in the scrape; Hearth's own metrics have no
	// label but the route pattern and status (and the histogram's le).
	annStatus, err := ann.c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	boStatus, err := bo.c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	detail, err := ann.c.Group(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	for what, secret := range map[string]string{
		"group ID": group, "group name": groupName, "Ann's pseudonym": annName, "Bo's pseudonym": boName,
		"Ann's member ID": detail.Me.Member, "Bo's member ID": boID, "Ann's peer ID": annStatus.PeerID,
		"Bo's peer ID": boStatus.PeerID, "Ann's post": annText, "Bo's post": boText, "the invite": inv.Invite,
		"the invite ID": inv.ID,
	} {
		if strings.Contains(text, secret) {
			t.Errorf("the metrics carry %s", what)
		}
	}
	routeRE := regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE) /[a-z0-9/{}._-]*$|^\(unmatched\)$`)
	for name, f := range fams {
		if !strings.HasPrefix(name, "hearth_") {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "route":
					if !routeRE.MatchString(l.GetValue()) || regexp.MustCompile(`[0-9a-f]{16}`).MatchString(l.GetValue()) {
						t.Errorf("%s: route label %q is not a bare route pattern", name, l.GetValue())
					}
				case "status":
					if !regexp.MustCompile(`^[1-5][0-9][0-9]$`).MatchString(l.GetValue()) {
						t.Errorf("%s: status label %q", name, l.GetValue())
					}
				default:
					t.Errorf("%s has the label %s=%q", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}
