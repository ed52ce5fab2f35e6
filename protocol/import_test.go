package protocol

import (
	"errors"
	"math"
	"testing"

	"github.com/hearthnet/hearth/crypto"
)

// wrappedEpochExport returns a well-formed export whose previous epoch is
// numbered 2^64-1, so that adding one to it wraps around to the current
// epoch 0, which has no commit. It is the reviewer's input that made
// ImportSession panic; FuzzSessionExport keeps it as a seed.
func wrappedEpochExport(tb testing.TB) []byte {
	tb.Helper()
	s, err := NewGroup("Circle", "Ann", 0, testRand(5))
	if err != nil {
		tb.Fatal(err)
	}
	st := s.cur.state.Clone()
	st.Epoch = math.MaxUint64
	c := &Commit{Group: st.ID, Epoch: math.MaxUint64, Signature: make([]byte, crypto.SignatureSize)}
	st.LastCommit, _ = c.ID()
	var sec crypto.EpochSecret
	prev := newEpoch(st, c, &sec)
	prev.send = crypto.NewSendChain(&crypto.ChainKey{})
	s.prev = prev
	b, err := s.Export()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestImportSessionWrappedEpochs(t *testing.T) {
	b := wrappedEpochExport(t)
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("ImportSession panicked: %v", p)
		}
	}()
	if _, err := ImportSession(b); !errors.Is(err, ErrBadSessionExport) {
		t.Fatalf("previous epoch 2^64-1 before epoch 0: %v, want ErrBadSessionExport", err)
	}
}

func TestApplyCommitRefusesEpochWrap(t *testing.T) {
	g := newTestGroup(t, 40)
	st := g.state.Clone()
	st.Epoch = math.MaxUint64
	st.LastCommit = [32]byte{1}
	if _, _, err := NewCommit(st, g.creds["Ann"], []Change{g.newAdd("Bo", RoleMember)}, g.r); !errors.Is(err, ErrWrongParent) {
		t.Fatalf("commit after epoch 2^64-1: %v, want ErrWrongParent", err)
	}
}
