package node

import (
	"time"

	"github.com/hearthnet/hearth/protocol"
)

// This file records notes sealed to one member: mentorship requests and pairing suggestions.
// BEING BUILT: the envelope is stored (community.go) and nothing else yet.

func (g *Group) applyNoteLocked(rec *protocol.Received, c protocol.Note, now time.Time) ([]Event, error) {
	return nil, nil
}
