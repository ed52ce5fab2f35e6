package storage

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// killChildEnv carries the store directory to TestKillChild when the test
// binary runs itself as the child of TestKillDurability.
const killChildEnv = "HEARTH_STORAGE_KILL_CHILD"

// TestKillChild is not a test on its own: it is the process that
// TestKillDurability starts and kills. It stores envelopes for ever,
// single ones and batches, and reports on stdout:
//
//	S <id> [<id>...]   about to store these (one call)
//	A                  the call returned nil: acknowledged
//
// The parent reads these lines through a pipe, so a line it has read was
// written strictly after the event it names.
func TestKillChild(t *testing.T) {
	dir := os.Getenv(killChildEnv)
	if dir == "" {
		t.Skip("runs only as TestKillDurability's child process")
	}
	s, err := Open(dir, testKeys(1), Options{Create: true})
	if err != nil {
		fmt.Println("E", err)
		os.Exit(2)
	}
	out := os.Stdout
	// A sender of its own per child, so generations never repeat across
	// rounds and the generation vector counts every envelope once.
	sender := mrand.Uint32()
	var gen uint32
	for {
		n := 1
		if mrand.IntN(3) == 0 {
			n = 1 + mrand.IntN(64)
		}
		batch := make([]EnvelopeInput, n)
		line := []string{"S"}
		for i := range batch {
			raw := make([]byte, 200+mrand.IntN(1800))
			rand.Read(raw)
			gen++
			batch[i] = EnvelopeInput{Meta: EnvelopeMeta{Epoch: 1, Sender: sender, Generation: gen, Received: time.Now()}, Raw: raw}
			id := EnvelopeIDOf(raw)
			line = append(line, hex.EncodeToString(id[:]))
		}
		fmt.Fprintln(out, strings.Join(line, " "))
		if n == 1 {
			_, err = s.PutEnvelope(testGroup, batch[0].Meta, batch[0].Raw)
		} else {
			_, err = s.PutEnvelopes(testGroup, batch)
		}
		if err != nil {
			fmt.Fprintln(out, "E", err)
			os.Exit(2)
		}
		fmt.Fprintln(out, "A")
	}
}

// TestKillDurability shows the durability contract: a child process
// stores envelopes and is killed with SIGKILL after a random number of
// acknowledgements; on reopening, every acknowledged envelope is there and
// intact, the call in flight is there entirely or not at all, and nothing
// else is. Three kills in a row on the same store also exercise recovery
// of a store that was itself recovered from a kill.
func TestKillDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := filepath.Join(t.TempDir(), "store")
	acked := map[EnvelopeID]bool{}
	for round := 0; round < 3; round++ {
		pending := killChild(t, dir, 20+mrand.IntN(400), acked)

		s := reopen(t, dir)
		for id := range acked {
			e, err := s.GetEnvelope(testGroup, id)
			if err != nil {
				t.Fatalf("round %d: acknowledged envelope lost: %v", round, err)
			}
			if EnvelopeIDOf(e.Raw) != id {
				t.Fatalf("round %d: envelope damaged", round)
			}
		}
		inFlight := 0
		for _, id := range pending {
			if has, err := s.HasEnvelope(testGroup, id); err != nil {
				t.Fatal(err)
			} else if has {
				inFlight++
			}
		}
		if inFlight != 0 && inFlight != len(pending) {
			t.Fatalf("round %d: %d of the %d envelopes of the interrupted call were stored", round, inFlight, len(pending))
		}
		if inFlight > 0 {
			for _, id := range pending {
				acked[id] = true // stored, so later rounds must keep them
			}
		}
		// Nothing else is stored, and every index agrees with the records.
		all, err := s.EnvelopesSince(testGroup, 0, 1<<30)
		if err != nil {
			t.Fatalf("round %d: reading back: %v", round, err)
		}
		if len(all) != len(acked) {
			t.Fatalf("round %d: %d envelopes stored, %d acknowledged", round, len(all), len(acked))
		}
		held := 0
		vec, err := s.GenerationVector(testGroup)
		if err != nil {
			t.Fatal(err)
		}
		for _, sg := range vec {
			for _, r := range sg.Held {
				held += int(r.Last-r.First) + 1
			}
		}
		if held != len(acked) {
			t.Fatalf("round %d: generation index holds %d, records %d", round, held, len(acked))
		}
		t.Logf("round %d: %d envelopes acknowledged in total; interrupted call of %d stored: %v", round, len(acked), len(pending), inFlight > 0)
		mustClose(t, s)
	}
}

// killChild runs TestKillChild on dir, kills it with SIGKILL once it has
// acknowledged ackTarget calls, records every acknowledged ID in acked and
// returns the IDs of the call that was in flight, if any.
func killChild(t *testing.T, dir string, ackTarget int, acked map[EnvelopeID]bool) (pending []EnvelopeID) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acks, killed := 0, false
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) > 1 && fields[0] == "S":
			pending = pending[:0]
			for _, h := range fields[1:] {
				b, err := hex.DecodeString(h)
				if err != nil || len(b) != EnvelopeIDSize {
					t.Fatalf("bad line from child: %q", sc.Text())
				}
				pending = append(pending, EnvelopeID(b))
			}
		case len(fields) == 1 && fields[0] == "A":
			for _, id := range pending {
				acked[id] = true
			}
			pending = pending[:0]
			acks++
			if acks == ackTarget && !killed {
				// The child keeps writing while the signal is on its way:
				// the kill lands wherever it lands.
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		case len(fields) > 0 && fields[0] == "E":
			t.Fatalf("child failed: %s", sc.Text())
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !killed || !errors.As(err, &exit) || exit.ExitCode() != -1 {
		t.Fatalf("child was not killed by the signal (killed=%v, acks=%d, err=%v)\n%s", killed, acks, err, stderr.String())
	}
	return pending
}
