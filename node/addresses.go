package node

import (
	"time"

	"github.com/hearthnet/hearth/protocol"
)

// This file records members' node addresses, announced inside the group.
// BEING BUILT: the envelope is stored (community.go) and nothing else yet.

func (g *Group) applyAddressesLocked(rec *protocol.Received, c protocol.Addresses, now time.Time) ([]Event, error) {
	return nil, nil
}
