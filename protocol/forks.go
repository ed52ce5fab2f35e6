package protocol

import (
	"errors"
	"fmt"

	"github.com/hearthnet/hearth/crypto"
)

// A session settles a fork (two valid commits on one parent) only while it
// still holds the parent epoch's keys: for EpochGrace after moving on. A
// rival that arrives later cannot even be opened, and without more the
// members who followed it and those who did not would stay split for good,
// each side seeing the other's envelopes as noise. The session therefore
// remembers, for its last maxRecentCommits epochs, which commit it
// followed and which parent members could have made a rival, and CheckCommit
// recognises a rival the node comes across later (from history sync, or
// from a peer's stored commits) as a fork.
//
// Detection is all this gives: the session cannot switch sides once the
// parent's keys are gone, so a split past the grace period is reported
// (ErrForkDetected) for people to mend, not healed: an admin on the winning
// side re-adds the members stranded on the other.

// maxRecentCommits bounds how many applied commits a session remembers.
const maxRecentCommits = 64

// maxRecordedAdmins bounds how many parent-epoch committers a record keeps:
// every admin of a roster of MaxMembers.
const maxRecordedAdmins = MaxMembers

// commitRecord is what a session remembers of a commit it applied: enough
// to recognise, and authenticate, a rival of it.
type commitRecord struct {
	epoch  uint64
	parent [32]byte
	id     [32]byte
	// admins are the members of the parent epoch who could sign a commit
	// (hosts and moderators), ordered as in the parent roster.
	admins []crypto.MemberPublic
}

// ErrForkDetected is wrapped by a *ForkError: a validly signed commit on the
// parent of a commit this session followed, that is not that commit, was
// found after the fork could be settled.
var ErrForkDetected = errors.New("hearth/protocol: the group has split: a rival commit was found too late to settle it")

// ForkError describes a fork found by CheckCommit. It wraps
// ErrForkDetected.
type ForkError struct {
	// Epoch is the epoch number both commits make.
	Epoch uint64
	// Ours is the CommitID this session followed; Theirs the rival's.
	Ours, Theirs [32]byte
	// Committer signed the rival.
	Committer crypto.MemberID
}

func (e *ForkError) Error() string {
	return fmt.Sprintf("%v: epoch %d was made by commit %x here and by commit %x (from %s) elsewhere",
		ErrForkDetected, e.Epoch, e.Ours[:8], e.Theirs[:8], e.Committer)
}

// Unwrap returns ErrForkDetected.
func (e *ForkError) Unwrap() error { return ErrForkDetected }

// ErrCommitUnknown is returned by CheckCommit for a commit it cannot place:
// of an epoch it does not remember, or on a parent it did not follow.
var ErrCommitUnknown = errors.New("hearth/protocol: commit is not on this session's recent chain")

// record remembers c, applied on parent, replacing any record of the same
// epoch (a fork this session settled), and forgets the oldest beyond
// maxRecentCommits.
func (s *Session) record(parent *GroupState, c *Commit) {
	id, err := c.ID()
	if err != nil {
		return
	}
	rec := commitRecord{epoch: c.Epoch, parent: c.Parent, id: id}
	for _, m := range parent.Roster {
		if m.Role.IsAdmin() {
			rec.admins = append(rec.admins, m.Public)
		}
	}
	for len(s.recent) > 0 && s.recent[len(s.recent)-1].epoch >= c.Epoch {
		s.recent = s.recent[:len(s.recent)-1]
	}
	s.recent = append(s.recent, rec)
	if len(s.recent) > maxRecentCommits {
		s.recent = append(s.recent[:0:0], s.recent[len(s.recent)-maxRecentCommits:]...)
	}
}

// CheckCommit tells whether c, a commit the node came across outside Open
// (history sync, a peer's stored commits), is one this session followed
// (nil), a rival of one of them (a *ForkError, wrapping ErrForkDetected), or
// neither (ErrCommitUnknown, wrapped). A rival counts only when it names
// the same parent and is signed by a host or moderator of that parent
// epoch; a commit whose signature does not verify is ErrCommitUnknown.
// Whether the rival's changes were allowed is not checked (the parent's
// full roster is no longer held): the signature shows an admin of the
// group made it, and that the group has split. The session remembers the
// last 64 commits it applied.
func (s *Session) CheckCommit(c *Commit) error {
	id, err := c.ID()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCommitUnknown, err)
	}
	for _, rec := range s.recent {
		if rec.epoch != c.Epoch || c.Group != s.cur.state.ID {
			continue
		}
		if rec.id == id {
			return nil
		}
		if rec.parent != c.Parent {
			break
		}
		body, err := c.body()
		if err != nil {
			break
		}
		for _, p := range rec.admins {
			if p.ID() == c.Committer && p.Verify(commitPurpose, body, c.Signature) {
				return &ForkError{Epoch: c.Epoch, Ours: rec.id, Theirs: id, Committer: c.Committer}
			}
		}
		break
	}
	return fmt.Errorf("%w (epoch %d)", ErrCommitUnknown, c.Epoch)
}

func (s *Session) exportRecent(w *writer) {
	w.count16("recent commits", len(s.recent), maxRecentCommits)
	for _, rec := range s.recent {
		w.u64(rec.epoch)
		w.fixed(rec.parent[:])
		w.fixed(rec.id[:])
		w.count16("recorded admins", len(rec.admins), maxRecordedAdmins)
		for _, p := range rec.admins {
			w.fixed(p.Marshal())
		}
	}
}

func importRecent(r *reader) []commitRecord {
	n := r.count16("recent commits", maxRecentCommits, 8+32+32+2)
	var out []commitRecord
	for i := 0; i < n && r.err == nil; i++ {
		rec := commitRecord{epoch: r.u64("recorded epoch")}
		r.fixed("recorded parent", rec.parent[:])
		r.fixed("recorded commit", rec.id[:])
		k := r.count16("recorded admins", maxRecordedAdmins, crypto.MemberPublicSize)
		for j := 0; j < k && r.err == nil; j++ {
			p, err := crypto.UnmarshalMemberPublic(r.take("recorded admin", crypto.MemberPublicSize))
			r.check("recorded admin", err)
			rec.admins = append(rec.admins, p)
		}
		if r.err == nil && len(out) > 0 && rec.epoch <= out[len(out)-1].epoch {
			r.failf("recent commits", "not in increasing epoch order")
		}
		out = append(out, rec)
	}
	return out
}
