package crypto

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// schedCheckVectors compares got, marshalled as indented JSON, byte for byte
// with testdata/name. With HEARTH_UPDATE_VECTORS=1 it rewrites the file
// instead. It is shared by the schedule, chain and envelope tests.
func schedCheckVectors(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", name)
	if os.Getenv("HEARTH_UPDATE_VECTORS") == "1" {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading vectors (regenerate with HEARTH_UPDATE_VECTORS=1): %v", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("%s does not match what the code derives; the wire format or a key derivation changed.\ngot:\n%s", path, b)
	}
}

// schedPattern returns n bytes counting up from start, a recognisable fixed
// input for vectors.
func schedPattern(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func schedFixedInputs() (GroupID, uint64, *EpochSecret) {
	var g GroupID
	copy(g[:], schedPattern(0x10, GroupIDSize))
	var s EpochSecret
	copy(s[:], schedPattern(0x40, KeySize))
	return g, 7, &s
}

type schedVector struct {
	Group               string `json:"group"`
	Epoch               uint64 `json:"epoch"`
	Secret              string `json:"epoch_secret"`
	TopicID             string `json:"topic_id"`
	SenderData          string `json:"sender_data_key"`
	SyncAuth            string `json:"sync_auth_key"`
	Rendezvous          string `json:"rendezvous_key"`
	Topic               string `json:"topic"`
	RendezvousDay       int64  `json:"rendezvous_day"`
	RendezvousNamespace string `json:"rendezvous_namespace"`
}

func TestScheduleVectors(t *testing.T) {
	g, epoch, s := schedFixedInputs()
	k := DeriveEpochKeys(g, epoch, s)
	const day = 20418 // 2025-11-26
	schedCheckVectors(t, "schedule.json", schedVector{
		Group:               hex.EncodeToString(g[:]),
		Epoch:               epoch,
		Secret:              hex.EncodeToString(s[:]),
		TopicID:             hex.EncodeToString(k.TopicID[:]),
		SenderData:          hex.EncodeToString(k.SenderData[:]),
		SyncAuth:            hex.EncodeToString(k.SyncAuth[:]),
		Rendezvous:          hex.EncodeToString(k.Rendezvous[:]),
		Topic:               k.Topic(),
		RendezvousDay:       day,
		RendezvousNamespace: k.RendezvousNamespace(day),
	})
}

func TestScheduleKeysDistinct(t *testing.T) {
	g, epoch, s := schedFixedInputs()
	k := DeriveEpochKeys(g, epoch, s)
	keys := [][]byte{s[:], k.TopicID[:], k.SenderData[:], k.SyncAuth[:], k.Rendezvous[:]}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if bytes.Equal(keys[i], keys[j]) {
				t.Errorf("keys %d and %d are equal", i, j)
			}
		}
	}

	// Another epoch, another group or another secret changes every key.
	var g2 GroupID
	copy(g2[:], g[:])
	g2[0] ^= 1
	s2 := *s
	s2[31] ^= 1
	for name, other := range map[string]EpochKeys{
		"epoch":  DeriveEpochKeys(g, epoch+1, s),
		"group":  DeriveEpochKeys(g2, epoch, s),
		"secret": DeriveEpochKeys(g, epoch, &s2),
	} {
		if other.TopicID == k.TopicID || other.SenderData == k.SenderData ||
			other.SyncAuth == k.SyncAuth || other.Rendezvous == k.Rendezvous {
			t.Errorf("changing the %s left a key unchanged", name)
		}
		if other.Topic() == k.Topic() {
			t.Errorf("changing the %s left the topic unchanged", name)
		}
		if other.RendezvousNamespace(100) == k.RendezvousNamespace(100) {
			t.Errorf("changing the %s left the rendezvous namespace unchanged", name)
		}
	}
}

func TestScheduleNames(t *testing.T) {
	g, epoch, s := schedFixedInputs()
	k := DeriveEpochKeys(g, epoch, s)

	topic := k.Topic()
	if !regexp.MustCompile(`^/hearth/1/[a-z2-7]{32}$`).MatchString(topic) {
		t.Errorf("topic %q is not /hearth/1/ and 32 lower-case base32 characters", topic)
	}
	// The topic must not carry the group ID in any readable form.
	if bytes.Contains([]byte(topic), []byte(g.String())) {
		t.Errorf("topic %q contains the group ID", topic)
	}

	seen := map[string]int64{}
	for day := int64(20000); day < 20030; day++ {
		ns := k.RendezvousNamespace(day)
		if !regexp.MustCompile(`^/hearth/1/rv/[a-z2-7]{32}$`).MatchString(ns) {
			t.Fatalf("namespace %q has the wrong form", ns)
		}
		if prev, ok := seen[ns]; ok {
			t.Fatalf("days %d and %d share namespace %q", prev, day, ns)
		}
		seen[ns] = day
		if ns != k.RendezvousNamespace(day) {
			t.Fatalf("namespace for day %d is not deterministic", day)
		}
	}
	if k.RendezvousNamespace(-1) == k.RendezvousNamespace(1) {
		t.Error("day -1 and day 1 share a namespace")
	}
}

func TestScheduleWipe(t *testing.T) {
	g, epoch, s := schedFixedInputs()
	k := DeriveEpochKeys(g, epoch, s)
	k.Wipe()
	if k != (EpochKeys{}) {
		t.Error("EpochKeys.Wipe left key bytes behind")
	}
	s.Wipe()
	if *s != (EpochSecret{}) {
		t.Error("EpochSecret.Wipe left secret bytes behind")
	}
}

func TestNewEpochSecret(t *testing.T) {
	a, err := NewEpochSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewEpochSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	if *a == *b {
		t.Error("two fresh epoch secrets are equal")
	}
	if _, err := NewEpochSecret(bytes.NewReader(make([]byte, KeySize-1))); err == nil {
		t.Error("NewEpochSecret succeeded with a short random source")
	}
	det, err := NewEpochSecret(bytes.NewReader(schedPattern(1, KeySize)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(det[:], schedPattern(1, KeySize)) {
		t.Error("NewEpochSecret does not take its bytes from the given reader")
	}
}
