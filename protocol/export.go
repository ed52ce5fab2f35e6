package protocol

import (
	"errors"
	"fmt"

	"github.com/hearthnet/hearth/crypto"
)

// sessionVersion is the first byte of an exported session.
const sessionVersion = 1

// Bounds on the exported chain states. crypto's encodings are at most a
// format byte, a generation, a key, a count and MaxSkippedKeys skipped
// (generation, key) pairs.
const (
	maxSendChainSize = 1 + 4 + crypto.KeySize
	maxRecvChainSize = 1 + 4 + crypto.KeySize + 2 + crypto.MaxSkippedKeys*(4+crypto.KeySize)
	maxStateSize     = 1 + crypto.GroupIDSize + 2 + MaxGroupNameBytes + 8 + 8 + 32 + 4 + 2 + MaxMembers*(memberMinSize+MaxPseudonymBytes) + maxMailboxSize
)

// Session export flags.
const (
	flagPrev    = 1 << 0
	flagRemoved = 1 << 1
	flagForked  = 1 << 2
	// flagLeft: the member left (Session.Leave).
	flagLeft = 1 << 3
	// flagWiped: the current epoch's keys are erased; it is exported
	// without secret and chains, and there is no previous epoch.
	flagWiped  = 1 << 4
	flagsKnown = flagPrev | flagRemoved | flagForked | flagLeft | flagWiped
)

// Export encodes everything the session holds, for the node to persist
// sealed (see docs/PROTOCOL.md, "Session export"): the member's credential,
// the current epoch and, during its grace period, the previous one, each
// with its secret and chain states. The result holds secrets: seal it, and
// wipe it (crypto.Wipe) when written.
func (s *Session) Export() ([]byte, error) {
	var w writer
	w.u8(sessionVersion)
	cred := s.cred.Marshal()
	defer crypto.Wipe(cred)
	w.fixed(cred)
	var flags uint8
	if s.prev != nil {
		flags |= flagPrev
	}
	if s.removal != nil {
		flags |= flagRemoved
	}
	if s.forked {
		flags |= flagForked
	}
	if s.left {
		flags |= flagLeft
	}
	if s.cur.wiped {
		flags |= flagWiped
	}
	w.u8(flags)
	w.u64(uint64(s.prevUntil))
	s.cur.export(&w)
	if s.prev != nil {
		s.prev.export(&w)
	}
	if s.removal != nil {
		b, err := s.removal.Marshal()
		if err != nil {
			return nil, err
		}
		w.bytes32("removal commit", b, maxCommitSize)
		w.u64(uint64(s.keysUntil))
	}
	s.exportRecent(&w)
	return w.finish()
}

func (e *epoch) export(w *writer) {
	st, err := e.state.Marshal()
	if err != nil {
		w.fail(err)
		return
	}
	w.bytes32("group state", st, maxStateSize)
	if e.commit == nil {
		w.bytes32("commit", nil, 0)
	} else {
		b, err := e.commit.Marshal()
		if err != nil {
			w.fail(err)
			return
		}
		w.bytes32("commit", b, maxCommitSize)
	}
	if e.wiped {
		return
	}
	w.fixed(e.secret[:])
	send, _ := e.send.MarshalBinary()
	w.bytes16("send chain", send, maxSendChainSize)
	crypto.Wipe(send)
	// Receive chains in roster order, so the encoding is deterministic.
	n := 0
	for _, m := range e.state.Roster {
		if e.recv[m.Index] != nil {
			n++
		}
	}
	w.count16("receive chains", n, MaxMembers)
	for _, m := range e.state.Roster {
		rc := e.recv[m.Index]
		if rc == nil {
			continue
		}
		b, _ := rc.MarshalBinary()
		w.u32(m.Index)
		w.bytes32("receive chain", b, maxRecvChainSize)
		crypto.Wipe(b)
	}
}

// ErrBadSessionExport is returned (wrapped, with the reason) by
// ImportSession when the bytes decode but do not describe a consistent
// session.
var ErrBadSessionExport = errors.New("hearth/protocol: exported session is inconsistent")

// ImportSession rebuilds a session from what Export produced. It is strict:
// it returns an error wrapping ErrMalformed for bytes that are not exactly
// one export, and ErrBadSessionExport (wrapped) when they decode to an
// inconsistent session (the member not in the current roster, a previous
// epoch that is not the one before, a commit that did not make its epoch, a
// receive chain for a non-member or for the member itself).
func ImportSession(b []byte) (*Session, error) {
	r := newReader(b)
	if v := r.u8("session version"); r.err == nil && v != sessionVersion {
		r.failf("session version", "%d is not supported", v)
	}
	credBytes := r.take("credential", crypto.MemberCredentialSize)
	flags := r.u8("flags")
	if r.err == nil && flags&^flagsKnown != 0 {
		r.failf("flags", "unknown bits %#x", flags)
	}
	prevUntil := int64(r.u64("grace deadline"))
	cur := importEpoch(r, flags&flagWiped == 0)
	var prev *epoch
	if flags&flagPrev != 0 {
		prev = importEpoch(r, true)
	}
	var removal *Commit
	var keysUntil int64
	if flags&flagRemoved != 0 {
		if cb := r.bytes32("removal commit", maxCommitSize); r.err == nil {
			var err error
			removal, err = UnmarshalCommit(cb)
			r.check("removal commit", err)
		}
		keysUntil = int64(r.u64("keys deadline"))
	}
	recent := importRecent(r)
	if err := r.finish(); err != nil {
		return nil, err
	}
	cred, err := crypto.UnmarshalMemberCredential(credBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: credential: %w", ErrMalformed, err)
	}
	s := &Session{cred: cred, cur: cur, prev: prev, prevUntil: prevUntil, removal: removal, keysUntil: keysUntil,
		forked: flags&flagForked != 0, left: flags&flagLeft != 0, recent: recent}
	if err := s.consistent(); err != nil {
		s.Wipe()
		return nil, err
	}
	return s, nil
}

// importEpoch reads an epoch as epoch.export wrote it; keys is false for
// a wiped epoch, exported without its keys.
func importEpoch(r *reader, keys bool) *epoch {
	stBytes := r.bytes32("group state", maxStateSize)
	cBytes := r.bytes32("commit", maxCommitSize)
	var secret crypto.EpochSecret
	var sendBytes []byte
	type rc struct {
		index uint32
		b     []byte
	}
	var recv []rc
	if keys {
		r.fixed("epoch secret", secret[:])
		sendBytes = r.bytes16("send chain", maxSendChainSize)
		n := r.count16("receive chains", MaxMembers, 4+4)
		for range n {
			idx := r.u32("receive chain index")
			recv = append(recv, rc{idx, r.bytes32("receive chain", maxRecvChainSize)})
		}
	}
	defer func() {
		secret.Wipe()
		crypto.Wipe(sendBytes)
		for _, x := range recv {
			crypto.Wipe(x.b)
		}
	}()
	if r.err != nil {
		return nil
	}
	state, err := UnmarshalGroupState(stBytes)
	r.check("group state", err)
	var commit *Commit
	if len(cBytes) > 0 {
		commit, err = UnmarshalCommit(cBytes)
		r.check("commit", err)
	}
	if r.err != nil {
		return nil
	}
	e := newEpoch(state, commit, &secret)
	if !keys {
		e.wipe()
		return e
	}
	e.send, err = crypto.UnmarshalSendChain(sendBytes)
	r.check("send chain", err)
	last := int64(-1)
	for _, x := range recv {
		if int64(x.index) <= last {
			r.failf("receive chains", "not in increasing index order")
			break
		}
		last = int64(x.index)
		c, err := crypto.UnmarshalRecvChain(x.b)
		r.check("receive chain", err)
		if err != nil {
			break
		}
		e.recv[x.index] = c
	}
	if r.err != nil {
		e.wipe()
		return nil
	}
	return e
}

// consistent checks the relations between the parts of an imported
// session.
func (s *Session) consistent() error {
	me := s.cred.ID()
	for _, ep := range []*epoch{s.cur, s.prev} {
		if ep == nil {
			continue
		}
		if _, ok := ep.state.MemberByID(me); !ok {
			return fmt.Errorf("%w: the member is not in epoch %d", ErrBadSessionExport, ep.state.Epoch)
		}
		if (ep.commit == nil) != (ep.state.Epoch == 0) {
			return fmt.Errorf("%w: epoch %d without the commit that made it", ErrBadSessionExport, ep.state.Epoch)
		}
		if ep.commit != nil {
			if id, err := ep.commit.ID(); err != nil || id != ep.state.LastCommit || ep.commit.Epoch != ep.state.Epoch || ep.commit.Group != ep.state.ID {
				return fmt.Errorf("%w: epoch %d's commit did not make it", ErrBadSessionExport, ep.state.Epoch)
			}
		}
		for idx := range ep.recv {
			m, ok := ep.state.MemberByIndex(idx)
			if !ok || m.ID == me {
				return fmt.Errorf("%w: a receive chain for index %d", ErrBadSessionExport, idx)
			}
		}
	}
	if s.forked && s.prev == nil {
		return fmt.Errorf("%w: a fork mark without the previous epoch", ErrBadSessionExport)
	}
	if s.cur.wiped && (s.prev != nil || s.forked || !s.Removed()) {
		return fmt.Errorf("%w: erased keys for a member still in the group, or with a previous epoch", ErrBadSessionExport)
	}
	for _, rec := range s.recent {
		if rec.epoch > s.cur.state.Epoch || rec.epoch == 0 {
			return fmt.Errorf("%w: a recorded commit for epoch %d", ErrBadSessionExport, rec.epoch)
		}
	}
	if s.left && (s.removal != nil || !s.cur.wiped) {
		return fmt.Errorf("%w: a member who left still holds keys or was removed", ErrBadSessionExport)
	}
	if s.prev != nil {
		// The epoch numbers are compared without adding to them: a hostile
		// export with a previous epoch of 2^64-1 must not wrap around to a
		// current epoch 0, which has no commit to compare parents with.
		if s.cur.commit == nil || s.cur.state.Epoch == 0 || s.prev.state.ID != s.cur.state.ID ||
			s.prev.state.Epoch != s.cur.state.Epoch-1 || s.cur.commit.Parent != s.prev.state.LastCommit {
			return fmt.Errorf("%w: the previous epoch is not the current one's parent", ErrBadSessionExport)
		}
	}
	if s.removal != nil {
		next, err := s.cur.state.ApplyCommit(s.removal)
		if err != nil {
			return fmt.Errorf("%w: the removal commit does not apply to the current epoch: %w", ErrBadSessionExport, err)
		}
		if _, ok := next.MemberByID(me); ok {
			return fmt.Errorf("%w: the removal commit does not remove the member", ErrBadSessionExport)
		}
	}
	return nil
}
