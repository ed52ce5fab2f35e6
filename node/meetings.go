package node

import (
	"time"

	"github.com/hearthnet/hearth/protocol"
)

// This file records meetings: schedules and live meeting rooms.
// BEING BUILT: the envelope is stored (community.go) and nothing else yet.

func (g *Group) applyMeetingLocked(rec *protocol.Received, c protocol.Meeting, now time.Time) ([]Event, error) {
	return nil, nil
}

func (g *Group) applyMeetingEventLocked(rec *protocol.Received, c protocol.MeetingEvent, env []byte, now time.Time) ([]Event, error) {
	return nil, nil
}
