package node

import (
	"time"

	"github.com/hearthnet/hearth/protocol"
)

// This file records SOS requests and the answers to them.
// BEING BUILT: the envelope is stored (community.go) and nothing else yet.

func (g *Group) applySOSLocked(rec *protocol.Received, c protocol.SOS, now time.Time) ([]Event, error) {
	return nil, nil
}

func (g *Group) applySOSReplyLocked(rec *protocol.Received, c protocol.SOSReply, now time.Time) ([]Event, error) {
	return nil, nil
}
