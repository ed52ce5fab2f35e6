package storage

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The memory measurement of docs/PERFORMANCE.md. It writes about 1.2 GB,
// so it runs only when asked:
//
//	HEARTH_STORAGE_RSS=1 go test -run '^TestRSS$' -v -timeout 30m ./storage/
//
// Each phase runs in a fresh child process, so one phase's peak does not
// hide another's: "fill" opens an empty store (the idle figure), then
// stores 1,000,000 envelopes of 1 KiB in batches; "reopen" opens the full
// store (idle again), then reads history pages and the generation vector.
const (
	rssEnv      = "HEARTH_STORAGE_RSS"
	rssPhaseEnv = "HEARTH_STORAGE_RSS_PHASE"
	rssDirEnv   = "HEARTH_STORAGE_RSS_DIR"
	rssCount    = 1_000_000
)

func TestRSS(t *testing.T) {
	if os.Getenv(rssEnv) != "1" {
		t.Skip("set HEARTH_STORAGE_RSS=1 to measure memory (writes ~1.2 GB)")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/status")
	}
	dir := filepath.Join(t.TempDir(), "store")
	for _, phase := range []string{"fill", "reopen"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRSSChild$", "-test.count=1", "-test.timeout=30m")
		cmd.Env = append(os.Environ(), rssPhaseEnv+"="+phase, rssDirEnv+"="+dir)
		out, err := cmd.CombinedOutput()
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "RSS ") {
				t.Log(strings.TrimPrefix(line, "RSS "))
			}
		}
		if err != nil {
			t.Fatalf("%s phase: %v\n%s", phase, err, out)
		}
	}
	var size int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			size += fi.Size()
		}
		return nil
	})
	t.Logf("store on disk: %d MiB", size>>20)
}

// TestRSSChild is one phase of TestRSS, run in its own process.
func TestRSSChild(t *testing.T) {
	phase, dir := os.Getenv(rssPhaseEnv), os.Getenv(rssDirEnv)
	if phase == "" || dir == "" {
		t.Skip("runs only as TestRSS's child process")
	}
	report("process before Open", "")
	switch phase {
	case "fill":
		s := openNew(t, dir)
		report("idle, empty store", "")
		peak := memStatus()["VmRSS"]
		start := time.Now()
		for i := 0; i < rssCount; i += MaxEnvelopeBatch {
			batch := make([]EnvelopeInput, 0, MaxEnvelopeBatch)
			for j := i; j < i+MaxEnvelopeBatch && j < rssCount; j++ {
				raw, meta := benchEnvelope(j)
				meta.Received = t0.Add(time.Duration(j) * time.Millisecond)
				batch = append(batch, EnvelopeInput{Meta: meta, Raw: raw})
			}
			if _, err := s.PutEnvelopes(testGroup, batch); err != nil {
				t.Fatal(err)
			}
			if rss := memStatus()["VmRSS"]; rss > peak {
				peak = rss
			}
		}
		elapsed := time.Since(start)
		report("after storing 1,000,000 x 1 KiB", fmt.Sprintf("in %v (%.0f envelopes/s), peak VmRSS sampled per batch %d MiB", elapsed.Round(time.Second), float64(rssCount)/elapsed.Seconds(), peak>>10))
		runtime.GC()
		report("after storing, after a GC", "")
		mustClose(t, s)
	case "reopen":
		s := reopen(t, dir)
		report("idle, store of 1,000,000 envelopes", "")
		var cursor uint64
		for i := 0; i < 100; i++ {
			page, err := s.EnvelopesSince(testGroup, cursor, 100)
			if err != nil || len(page) != 100 {
				t.Fatal(len(page), err)
			}
			cursor = page[len(page)-1].Arrival
		}
		vec, err := s.GenerationVector(testGroup)
		if err != nil || len(vec) == 0 {
			t.Fatal(err)
		}
		report("after 100 sync pages and a generation vector over 1,000,000", "")
		mustClose(t, s)
	}
}

// memStatus reads the memory lines of /proc/self/status, in KiB.
func memStatus() map[string]int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return nil
	}
	defer f.Close()
	m := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var name string
		var kb int64
		if n, _ := fmt.Sscanf(sc.Text(), "%s %d kB", &name, &kb); n == 2 {
			m[strings.TrimSuffix(name, ":")] = kb
		}
	}
	return m
}

func report(stage, extra string) {
	m := memStatus()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("RSS %-60s VmRSS %4d MiB (anon %4d, file %4d)  VmHWM %4d MiB  Go heap in use %4d MiB %s\n",
		stage, m["VmRSS"]>>10, m["RssAnon"]>>10, m["RssFile"]>>10, m["VmHWM"]>>10, ms.HeapInuse>>20, extra)
}
