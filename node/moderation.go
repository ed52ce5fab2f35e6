package node

import (
	"github.com/hearthnet/hearth/protocol"
)

// This file records moderation: edits and deletions by a post's author, removals by a host or moderator, reports sealed to them.
// BEING BUILT: the envelope is stored (community.go) and nothing else yet.

func (g *Group) applyEditLocked(rec *protocol.Received, c protocol.Edit) ([]Event, error) {
	return nil, nil
}

func (g *Group) applyDeleteLocked(rec *protocol.Received, c protocol.Delete) ([]Event, error) {
	return nil, nil
}

func (g *Group) applyTombstoneLocked(rec *protocol.Received, c protocol.Tombstone) ([]Event, error) {
	return nil, nil
}

func (g *Group) applyReportLocked(rec *protocol.Received, c protocol.Report) ([]Event, error) {
	return nil, nil
}
