package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
)

// This file sends and records notes: content sealed (crypto.SealNote, kind
// SecretNoteKey) to exactly one member of a group, who is not named. Every
// member's node tries to open every note with its own credential; only the
// recipient's opens it. The others learn that the author sent a note, and
// its size bucket, not to whom or what. Notes carry mentorship requests,
// their refusals, and hosts' pairing suggestions (mentor.go keeps what they
// start).

// maxNoteAttempts bounds how often sendNote seals a note again because the
// group moved to a new epoch between sealing it and sending it (a note is
// bound to the epoch of the envelope that carries it).
const maxNoteAttempts = 3

// sendNote seals body to the member to and sends it in the group.
// recorded says the note was recorded and will reach the recipient (err
// may still be a publishing error: the note then goes out by history
// sync). It returns ErrNoMember (wrapped) when to is not in the group (or
// is this member), and sendContent's errors.
func (g *Group) sendNote(ctx context.Context, to crypto.MemberID, body *protocol.NoteBody) (recorded bool, err error) {
	msg, err := body.Marshal()
	if err != nil {
		return false, fmt.Errorf("node: sending a note: %w", err)
	}
	defer crypto.Wipe(msg)
	for range maxNoteAttempts {
		g.mu.Lock()
		if g.closed {
			g.mu.Unlock()
			return false, ErrClosed
		}
		if g.sess.Removed() {
			g.mu.Unlock()
			return false, fmt.Errorf("node: sending a note: %w", ErrRemoved)
		}
		st := g.sess.GroupState()
		me := g.sess.Me()
		g.mu.Unlock()
		m, ok := st.MemberByID(to)
		if !ok || to == me.ID {
			return false, fmt.Errorf("node: member %s: %w", to, ErrNoMember)
		}
		keys, sealed, err := crypto.SealNote(crypto.SecretNoteKey, []crypto.MemberPublic{m.Public}, me.ID, g.id, st.Epoch, msg, g.n.rand)
		if err != nil {
			return false, fmt.Errorf("node: sealing a note: %w", err)
		}
		rec, err := g.sendContent(ctx, protocol.Note{Key: keys[0], Body: sealed})
		if rec == nil || rec.Epoch == st.Epoch {
			return rec != nil, err
		}
		// The group moved on between sealing and sending: the note is
		// bound to the old epoch and would open for nobody.
	}
	return false, errors.New("node: sending a note: the group kept changing epochs; try again")
}

// applyNoteLocked tries to open a note. One that is not for this member
// (every note, for all members but one) is stored (community.go) and
// otherwise ignored; one that is, is handed to the mentorship code by its
// kind. The caller holds g.mu.
func (g *Group) applyNoteLocked(rec *protocol.Received, c protocol.Note, now time.Time) ([]Event, error) {
	me := g.sess.Me()
	if rec.Author == me.ID {
		// Sealed to someone else, by this member: the sender keeps its
		// own record of what it sent (mentor.go).
		return nil, nil
	}
	plain, err := g.sess.OpenNote(crypto.SecretNoteKey, rec.Author, rec.Epoch, c.Key, c.Body)
	if err != nil {
		return nil, nil
	}
	defer crypto.Wipe(plain)
	body, err := protocol.UnmarshalNoteBody(plain)
	if err != nil {
		g.n.log.Debug("ignoring a note that opened but does not decode", "err", err)
		return nil, nil
	}
	switch body.Kind {
	case protocol.NoteMentorRequest:
		if body.Invite == "" {
			return nil, nil
		}
		kind := MentorAsk
		if body.Offer {
			kind = MentorOffer
		}
		return g.n.recordMentorRequest(&MentorRequest{
			ID: MentorshipID(body.ID), Group: g.id, Kind: kind, From: rec.Author, FromPseudonym: rec.Pseudonym,
			Text: body.Text, Received: now, invite: body.Invite,
		})
	case protocol.NoteMentorDecline:
		return g.n.mentorDeclined(g.id, rec.Author, MentorshipID(body.Ref), now)
	case protocol.NotePairing:
		if !g.authorRoleLocked(rec).IsAdmin() {
			g.n.log.Debug("ignoring a pairing suggestion from a member who is not a host or moderator")
			return nil, nil
		}
		subject, ok := memberIn(g.sess.GroupState().Roster, body.Subject)
		if !ok || subject.ID == me.ID {
			return nil, nil
		}
		return g.n.recordMentorRequest(&MentorRequest{
			ID: MentorshipID(body.ID), Group: g.id, Kind: MentorPairing, From: rec.Author, FromPseudonym: rec.Pseudonym,
			Text: body.Text, Subject: subject.ID, SubjectPseudonym: subject.Pseudonym, Received: now,
		})
	}
	return nil, nil
}

// memberIn finds a member in a roster.
func memberIn(roster []protocol.Member, id crypto.MemberID) (protocol.Member, bool) {
	for _, m := range roster {
		if m.ID == id {
			return m, true
		}
	}
	return protocol.Member{}, false
}
