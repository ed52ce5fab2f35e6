package protocol

import (
	"bytes"
	"testing"

	"github.com/hearthnet/hearth/crypto"
)

// fuzzSeeds returns real encodings of every message, from a small group
// where a member has joined and posted, for the fuzzers' seed corpora.
func fuzzSeeds(f *testing.F) map[string][][]byte {
	f.Helper()
	v, err := buildVectors()
	if err != nil {
		f.Fatal(err)
	}
	seeds := map[string][][]byte{}
	for _, x := range v {
		seeds[x.kind] = append(seeds[x.kind], x.bytes)
	}
	return seeds
}

// fuzzRoundTrip registers the seeds of kind and checks that whatever
// decodes re-encodes to exactly the input.
func fuzzRoundTrip(f *testing.F, kind string, decodeEncode func([]byte) ([]byte, error)) {
	for _, s := range fuzzSeeds(f)[kind] {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := decodeEncode(b)
		if err != nil {
			return
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("decoded and re-encoded differently:\n in %x\nout %x", b, out)
		}
	})
}

func FuzzGroupState(f *testing.F) {
	fuzzRoundTrip(f, "group state", func(b []byte) ([]byte, error) {
		s, err := UnmarshalGroupState(b)
		if err != nil {
			return nil, err
		}
		return s.Marshal()
	})
}

func FuzzCommit(f *testing.F) {
	fuzzRoundTrip(f, "commit", func(b []byte) ([]byte, error) {
		c, err := UnmarshalCommit(b)
		if err != nil {
			return nil, err
		}
		return c.Marshal()
	})
}

func FuzzContent(f *testing.F) {
	fuzzRoundTrip(f, "content", func(b []byte) ([]byte, error) {
		c, err := UnmarshalContent(b)
		if err != nil {
			return nil, err
		}
		return MarshalContent(c)
	})
}

func FuzzWelcome(f *testing.F) {
	fuzzRoundTrip(f, "welcome", func(b []byte) ([]byte, error) {
		w, err := UnmarshalWelcome(b)
		if err != nil {
			return nil, err
		}
		return w.Marshal()
	})
}

func FuzzSessionExport(f *testing.F) {
	f.Add(wrappedEpochExport(f))
	fuzzRoundTrip(f, "session export", func(b []byte) ([]byte, error) {
		s, err := ImportSession(b)
		if err != nil {
			return nil, err
		}
		return s.Export()
	})
}

func FuzzJoinChallenge(f *testing.F) {
	fuzzRoundTrip(f, "join challenge", func(b []byte) ([]byte, error) {
		c, err := UnmarshalJoinChallenge(b)
		if err != nil {
			return nil, err
		}
		return c.Marshal(), nil
	})
}

func FuzzJoinRequest(f *testing.F) {
	fuzzRoundTrip(f, "join request", func(b []byte) ([]byte, error) {
		r, err := UnmarshalJoinRequest(b)
		if err != nil {
			return nil, err
		}
		return r.Marshal()
	})
}

func FuzzInviteState(f *testing.F) {
	fuzzRoundTrip(f, "invite state", func(b []byte) ([]byte, error) {
		s, err := UnmarshalInviteState(b)
		if err != nil {
			return nil, err
		}
		return s.Marshal(), nil
	})
}

func FuzzJoinResponse(f *testing.F) {
	fuzzRoundTrip(f, "join response", func(b []byte) ([]byte, error) {
		r, err := UnmarshalJoinResponse(b)
		if err != nil {
			return nil, err
		}
		return r.Marshal()
	})
}

// FuzzSessionOpen feeds arbitrary bytes, seeded with real envelopes, to a
// member's session: Open must never panic, and must never accept anything
// but the envelopes that were really sealed for it.
func FuzzSessionOpen(f *testing.F) {
	v, err := buildVectors()
	if err != nil {
		f.Fatal(err)
	}
	for _, x := range v {
		if x.kind == "envelope" {
			f.Add(x.bytes)
		}
	}
	genuine := map[[32]byte]bool{}
	for _, x := range v {
		if x.kind == "envelope" {
			genuine[crypto.EnvelopeID(x.bytes)] = true
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ImportSession(v.find("session export: Bo").bytes)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := s.Open(b, vectorNow, nil)
		if err == nil && !genuine[rec.ID] {
			t.Fatalf("accepted an envelope nobody sealed: %x", b)
		}
	})
}
