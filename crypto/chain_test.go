package crypto

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"
)

func chainFixedKey() *ChainKey {
	var k ChainKey
	copy(k[:], schedPattern(0x80, KeySize))
	return &k
}

// chainSendKeys returns the first n message keys of the chain from key.
func chainSendKeys(t testing.TB, key *ChainKey, n int) []MessageKey {
	t.Helper()
	s := NewSendChain(key)
	keys := make([]MessageKey, n)
	for i := range keys {
		gen, k, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		if gen != uint32(i) {
			t.Fatalf("send chain gave generation %d, want %d", gen, i)
		}
		keys[i] = k
	}
	return keys
}

// chainState returns the marshalled state of c.
func chainState(t testing.TB, c *RecvChain) []byte {
	t.Helper()
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type chainVector struct {
	ChainKey    string   `json:"chain_key"`
	ChainKeys   []string `json:"chain_keys"`
	MessageKeys []string `json:"message_keys"`
}

func TestChainVectors(t *testing.T) {
	ck := *chainFixedKey()
	v := chainVector{ChainKey: hex.EncodeToString(ck[:])}
	for range 4 {
		v.ChainKeys = append(v.ChainKeys, hex.EncodeToString(ck[:]))
		mk := chainMessageKey(&ck)
		v.MessageKeys = append(v.MessageKeys, hex.EncodeToString(mk[:]))
		chainAdvance(&ck)
	}
	schedCheckVectors(t, "chain.json", v)

	// The send chain must produce exactly the vector's keys.
	for i, k := range chainSendKeys(t, chainFixedKey(), 4) {
		if hex.EncodeToString(k[:]) != v.MessageKeys[i] {
			t.Errorf("send chain generation %d does not match the ratchet definition", i)
		}
	}
}

func TestChainInOrderAndOutOfOrder(t *testing.T) {
	want := chainSendKeys(t, chainFixedKey(), 10)
	for _, order := range [][]uint32{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{5, 2, 0, 9, 1, 3, 4, 8, 6, 7},
		{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	} {
		r := NewRecvChain(chainFixedKey())
		for _, gen := range order {
			got, err := r.Peek(gen)
			if err != nil {
				t.Fatalf("order %v: peek %d: %v", order, gen, err)
			}
			if got != want[gen] {
				t.Fatalf("order %v: generation %d key differs from the sender's", order, gen)
			}
			if err := r.Consume(gen); err != nil {
				t.Fatalf("order %v: consume %d: %v", order, gen, err)
			}
		}
		if r.Skipped() != 0 {
			t.Errorf("order %v: %d skipped keys left after every generation arrived", order, r.Skipped())
		}
	}
}

func TestChainDuplicatesRejected(t *testing.T) {
	r := NewRecvChain(chainFixedKey())
	for _, gen := range []uint32{3, 1} {
		if err := r.Consume(gen); err != nil {
			t.Fatal(err)
		}
	}
	for _, gen := range []uint32{3, 1} {
		before := chainState(t, r)
		if _, err := r.Peek(gen); !errors.Is(err, ErrGenerationUsed) {
			t.Errorf("peek of consumed generation %d: got %v, want ErrGenerationUsed", gen, err)
		}
		if err := r.Consume(gen); !errors.Is(err, ErrGenerationUsed) {
			t.Errorf("second consume of generation %d: got %v, want ErrGenerationUsed", gen, err)
		}
		if !bytes.Equal(before, chainState(t, r)) {
			t.Errorf("a rejected duplicate of generation %d changed the chain", gen)
		}
	}
	// The generations skipped over are still open.
	want := chainSendKeys(t, chainFixedKey(), 3)
	for _, gen := range []uint32{0, 2} {
		if k, err := r.Peek(gen); err != nil || k != want[gen] {
			t.Errorf("skipped generation %d: key matches %v, err %v", gen, k == want[gen], err)
		}
	}
}

func TestChainTooFarAhead(t *testing.T) {
	r := NewRecvChain(chainFixedKey())
	if err := r.Consume(10); err != nil {
		t.Fatal(err)
	}
	before := chainState(t, r)
	limit := uint32(11 + MaxSkip)
	for _, gen := range []uint32{limit, limit + 1, ControlGeneration - 1, ControlGeneration} {
		if _, err := r.Peek(gen); !errors.Is(err, ErrTooFarAhead) {
			t.Errorf("peek %d: got %v, want ErrTooFarAhead", gen, err)
		}
		if err := r.Consume(gen); !errors.Is(err, ErrTooFarAhead) {
			t.Errorf("consume %d: got %v, want ErrTooFarAhead", gen, err)
		}
		if !bytes.Equal(before, chainState(t, r)) {
			t.Fatalf("rejecting generation %d changed the chain", gen)
		}
	}
	// The furthest allowed jump works and gives the sender's key.
	want := chainSendKeys(t, chainFixedKey(), int(limit))
	k, err := r.Peek(limit - 1)
	if err != nil {
		t.Fatal(err)
	}
	if k != want[limit-1] {
		t.Error("key at the furthest allowed jump differs from the sender's")
	}
	if err := r.Consume(limit - 1); err != nil {
		t.Fatal(err)
	}
	if got := r.Skipped(); got != 10+MaxSkip-1 {
		t.Errorf("skipped keys after jump: %d, want %d", got, 10+MaxSkip-1)
	}
}

func TestChainPeekDoesNotChangeState(t *testing.T) {
	// A message that fails to authenticate is peeked but never consumed:
	// the chain must be exactly as it was, and the message's generation and
	// every later one must still be open.
	r := NewRecvChain(chainFixedKey())
	if err := r.Consume(2); err != nil {
		t.Fatal(err)
	}
	before := chainState(t, r)
	for _, gen := range []uint32{0, 1, 3, 50, 2 + MaxSkip} {
		if _, err := r.Peek(gen); err != nil {
			t.Fatalf("peek %d: %v", gen, err)
		}
	}
	if !bytes.Equal(before, chainState(t, r)) {
		t.Fatal("Peek changed the chain's state")
	}
	want := chainSendKeys(t, chainFixedKey(), 51)
	if k, err := r.Peek(50); err != nil || k != want[50] {
		t.Error("generation 50 no longer opens after peeks")
	}
}

func TestChainSkippedKeyEviction(t *testing.T) {
	want := chainSendKeys(t, chainFixedKey(), 3*MaxSkip)
	r := NewRecvChain(chainFixedKey())
	// Three maximal jumps skip 1023 + 1022 + 1022 = 3067 generations; the
	// 1019 oldest keys cannot be kept.
	for _, gen := range []uint32{MaxSkip - 1, 2*MaxSkip - 2, 3*MaxSkip - 3} {
		if err := r.Consume(gen); err != nil {
			t.Fatalf("consume %d: %v", gen, err)
		}
		if r.Skipped() > MaxSkippedKeys {
			t.Fatalf("chain holds %d skipped keys, more than MaxSkippedKeys", r.Skipped())
		}
	}
	if r.Skipped() != MaxSkippedKeys {
		t.Fatalf("chain holds %d skipped keys, want %d", r.Skipped(), MaxSkippedKeys)
	}
	// Generations 0..3068 were skipped except 1023 and 2046, which were
	// consumed: 3067 keys, of which the lowest 1019 (0..1018) were evicted.
	skippedTotal := 3*MaxSkip - 3 - 2
	evicted := uint32(skippedTotal - MaxSkippedKeys) // the first kept generation
	for _, gen := range []uint32{0, evicted - 1} {
		if _, err := r.Peek(gen); !errors.Is(err, ErrGenerationUsed) {
			t.Errorf("evicted generation %d: got %v, want ErrGenerationUsed", gen, err)
		}
	}
	for _, gen := range []uint32{evicted, 2*MaxSkip - 3, 3*MaxSkip - 4} {
		k, err := r.Peek(gen)
		if err != nil {
			t.Fatalf("kept generation %d: %v", gen, err)
		}
		if k != want[gen] {
			t.Errorf("kept generation %d has the wrong key", gen)
		}
	}
	// Evicted keys are gone from the stored state too.
	state := chainState(t, r)
	if bytes.Contains(state, want[0][:]) || bytes.Contains(state, want[evicted-1][:]) {
		t.Error("stored state still holds an evicted key")
	}
	if !bytes.Contains(state, want[evicted][:]) {
		t.Error("stored state lacks a kept skipped key")
	}
	back, err := UnmarshalRecvChain(state)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(chainState(t, back), state) {
		t.Error("a full receive chain does not survive a storage round trip")
	}
}

func TestChainForwardSecrecy(t *testing.T) {
	var chainKeys []ChainKey
	ck := *chainFixedKey()
	for range 6 {
		chainKeys = append(chainKeys, ck)
		chainAdvance(&ck)
	}
	msgKeys := chainSendKeys(t, chainFixedKey(), 6)

	r := NewRecvChain(chainFixedKey())
	// Generation 4 arrives first (0-3 skipped), then 1.
	for _, gen := range []uint32{4, 1} {
		if err := r.Consume(gen); err != nil {
			t.Fatal(err)
		}
	}
	state := chainState(t, r)
	for gen, k := range chainKeys[:5] {
		if bytes.Contains(state, k[:]) {
			t.Errorf("state after consuming generation 4 holds chain key %d", gen)
		}
	}
	if !bytes.Contains(state, chainKeys[5][:]) {
		t.Error("state lacks the chain key of the next generation")
	}
	for _, gen := range []int{1, 4} {
		if bytes.Contains(state, msgKeys[gen][:]) {
			t.Errorf("state holds the message key of consumed generation %d", gen)
		}
	}
	for _, gen := range []int{0, 2, 3} {
		if !bytes.Contains(state, msgKeys[gen][:]) {
			t.Errorf("state lacks the message key of skipped generation %d", gen)
		}
	}

	s := NewSendChain(chainFixedKey())
	if _, _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	sent, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sent, chainKeys[0][:]) || bytes.Contains(sent, msgKeys[0][:]) {
		t.Error("send chain state still holds generation 0's keys after it was used")
	}
}

func TestSendChainExhaustion(t *testing.T) {
	state := make([]byte, sendChainStateSize)
	state[0] = chainFormatSend
	binary.BigEndian.PutUint32(state[1:], ControlGeneration-1)
	copy(state[5:], chainFixedKey()[:])
	s, err := UnmarshalSendChain(state)
	if err != nil {
		t.Fatal(err)
	}
	gen, k, err := s.Next()
	if err != nil {
		t.Fatal(err)
	}
	if gen != ControlGeneration-1 || k != chainSendKeys(t, chainFixedKey(), 1)[0] {
		t.Errorf("last generation: got %d, want %d with the stored key's message key", gen, ControlGeneration-1)
	}
	if _, _, err := s.Next(); !errors.Is(err, ErrChainExhausted) {
		t.Errorf("after the last generation: got %v, want ErrChainExhausted", err)
	}
	if s.Generation() != ControlGeneration {
		t.Errorf("exhausted chain reports generation %d, want ControlGeneration", s.Generation())
	}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !chainIsZero((*ChainKey)(b[5:])) {
		t.Error("exhausted send chain still stores a chain key")
	}
	back, err := UnmarshalSendChain(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := back.Next(); !errors.Is(err, ErrChainExhausted) {
		t.Error("an exhausted chain is usable again after a storage round trip")
	}
}

func TestRecvChainEnd(t *testing.T) {
	state := make([]byte, recvChainHeaderSize)
	state[0] = chainFormatRecv
	binary.BigEndian.PutUint32(state[1:], ControlGeneration-1)
	copy(state[5:], chainFixedKey()[:])
	r, err := UnmarshalRecvChain(state)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Peek(ControlGeneration); !errors.Is(err, ErrTooFarAhead) {
		t.Errorf("peek of the control generation: got %v, want ErrTooFarAhead", err)
	}
	if err := r.Consume(ControlGeneration - 1); err != nil {
		t.Fatal(err)
	}
	if err := r.Consume(ControlGeneration - 1); !errors.Is(err, ErrGenerationUsed) {
		t.Errorf("replay of the last generation: got %v, want ErrGenerationUsed", err)
	}
	b := chainState(t, r)
	if !chainIsZero((*ChainKey)(b[5:])) {
		t.Error("a receive chain past its last generation still stores a chain key")
	}
}

func TestChainStateRoundTrip(t *testing.T) {
	s := NewSendChain(chainFixedKey())
	for range 3 {
		if _, _, err := s.Next(); err != nil {
			t.Fatal(err)
		}
	}
	sb, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	s2, err := UnmarshalSendChain(sb)
	if err != nil {
		t.Fatal(err)
	}
	g1, k1, _ := s.Next()
	g2, k2, _ := s2.Next()
	if g1 != 3 || g1 != g2 || k1 != k2 {
		t.Error("a restored send chain does not continue where the original left off")
	}

	r := NewRecvChain(chainFixedKey())
	for _, gen := range []uint32{7, 2} {
		if err := r.Consume(gen); err != nil {
			t.Fatal(err)
		}
	}
	rb := chainState(t, r)
	r2, err := UnmarshalRecvChain(rb)
	if err != nil {
		t.Fatal(err)
	}
	for _, gen := range []uint32{0, 1, 3, 6, 8, 20} {
		a, errA := r.Peek(gen)
		b, errB := r2.Peek(gen)
		if errA != nil || errB != nil || a != b {
			t.Errorf("generation %d: restored chain disagrees (%v, %v)", gen, errA, errB)
		}
	}
	for _, gen := range []uint32{2, 7} {
		if _, err := r2.Peek(gen); !errors.Is(err, ErrGenerationUsed) {
			t.Errorf("restored chain reopens consumed generation %d", gen)
		}
	}
}

func TestChainStateStrict(t *testing.T) {
	s := NewSendChain(chainFixedKey())
	sb, _ := s.MarshalBinary()
	r := NewRecvChain(chainFixedKey())
	if err := r.Consume(3); err != nil {
		t.Fatal(err)
	}
	rb := chainState(t, r) // next 4, skipped 0, 1, 2

	mutate := func(b []byte, f func([]byte) []byte) []byte {
		return f(append([]byte(nil), b...))
	}
	sendBad := map[string][]byte{
		"empty":           nil,
		"short":           sb[:len(sb)-1],
		"trailing":        append(append([]byte(nil), sb...), 0),
		"format":          mutate(sb, func(b []byte) []byte { b[0] = chainFormatRecv; return b }),
		"exhausted key":   mutate(sb, func(b []byte) []byte { binary.BigEndian.PutUint32(b[1:], ControlGeneration); return b }),
		"receive as send": rb[:sendChainStateSize],
	}
	for name, b := range sendBad {
		if _, err := UnmarshalSendChain(b); err == nil {
			t.Errorf("send chain state %s accepted", name)
		}
	}

	recvBad := map[string][]byte{
		"empty":         nil,
		"short header":  rb[:recvChainHeaderSize-1],
		"short entry":   rb[:len(rb)-1],
		"trailing":      append(append([]byte(nil), rb...), 0),
		"format":        mutate(rb, func(b []byte) []byte { b[0] = chainFormatSend; return b }),
		"count high":    mutate(rb, func(b []byte) []byte { binary.BigEndian.PutUint16(b[5+KeySize:], 4); return b }),
		"count too big": mutate(rb, func(b []byte) []byte { binary.BigEndian.PutUint16(b[5+KeySize:], MaxSkippedKeys+1); return b }),
		"exhausted key": mutate(rb, func(b []byte) []byte { binary.BigEndian.PutUint32(b[1:], ControlGeneration); return b }),
		"gen not below next": mutate(rb, func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[recvChainHeaderSize+2*recvChainEntrySize:], 4)
			return b
		}),
		"gens not ascending": mutate(rb, func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[recvChainHeaderSize+recvChainEntrySize:], 0)
			return b
		}),
	}
	for name, b := range recvBad {
		if _, err := UnmarshalRecvChain(b); err == nil {
			t.Errorf("receive chain state %s accepted", name)
		}
	}
}

func TestChainWipe(t *testing.T) {
	s := NewSendChain(chainFixedKey())
	s.Wipe()
	if _, _, err := s.Next(); !errors.Is(err, ErrChainExhausted) {
		t.Errorf("wiped send chain: got %v, want ErrChainExhausted", err)
	}
	if b, _ := s.MarshalBinary(); !chainIsZero((*ChainKey)(b[5:])) {
		t.Error("wiped send chain still holds its key")
	}

	r := NewRecvChain(chainFixedKey())
	if err := r.Consume(5); err != nil {
		t.Fatal(err)
	}
	skipped := &r.skipped[:cap(r.skipped)][0]
	r.Wipe()
	if skipped.key != (MessageKey{}) {
		t.Error("wiped receive chain left a skipped key in memory")
	}
	for _, gen := range []uint32{0, 6, 100} {
		if _, err := r.Peek(gen); err == nil {
			t.Errorf("wiped receive chain still opens generation %d", gen)
		}
	}
}

func TestChainGrowthWipesOldArray(t *testing.T) {
	r := NewRecvChain(chainFixedKey())
	if err := r.Consume(3); err != nil {
		t.Fatal(err)
	}
	old := r.skipped[:cap(r.skipped)]
	// A jump larger than the current capacity forces the slice to grow.
	if err := r.Consume(uint32(4 + 2*cap(old))); err != nil {
		t.Fatal(err)
	}
	for i := range old {
		if old[i].key != (MessageKey{}) {
			t.Fatal("growing the skipped-key list left keys in the old array")
		}
	}
}

func FuzzUnmarshalChainState(f *testing.F) {
	s := NewSendChain(chainFixedKey())
	sb, _ := s.MarshalBinary()
	f.Add(sb)
	r := NewRecvChain(chainFixedKey())
	if err := r.Consume(4); err != nil {
		f.Fatal(err)
	}
	rb, _ := r.MarshalBinary()
	f.Add(rb)
	f.Add([]byte{chainFormatRecv})
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := UnmarshalSendChain(b); err == nil {
			out, _ := s.MarshalBinary()
			if !bytes.Equal(out, b) {
				t.Fatal("send chain state does not round-trip")
			}
		}
		if r, err := UnmarshalRecvChain(b); err == nil {
			out, _ := r.MarshalBinary()
			if !bytes.Equal(out, b) {
				t.Fatal("receive chain state does not round-trip")
			}
			if r.Skipped() > MaxSkippedKeys {
				t.Fatal("decoded chain holds more than MaxSkippedKeys")
			}
			// Whatever was decoded stays usable without panicking.
			_, _ = r.Peek(0)
			_ = r.Consume(r.next)
		}
	})
}
