package api

import (
	"errors"
	"log/slog"
	"sync"

	"github.com/hearthnet/hearth/node"
)

// The live event types the node bridge publishes (the SSE "event:" field),
// besides OverflowEvent.
const (
	EventMessage       = "message"
	EventMemberJoined  = "member_joined"
	EventMemberLeft    = "member_left"
	EventMemberRemoved = "member_removed"
	EventRoleChanged   = "role_changed"
	EventRemoved       = "removed"
	EventJoinRequest   = "join_request"
	EventJoined        = "joined"
	EventJoinDenied    = "join_denied"
	EventEpochChanged  = "epoch_changed"
	// Meetings: a schedule changed (data.meeting), a live room changed
	// (data.room, its new state), a meeting starts soon (data.meeting and
	// data.occurrence).
	EventMeeting     = "meeting"
	EventMeetingRoom = "meeting_room"
	EventMeetingSoon = "meeting_soon"
	// Care: an SOS (data.sos), an answer to one (data.sos_reply), a
	// mentorship request or pairing suggestion (data.mentor_request), a
	// mentorship that changed state (data.mentorship).
	EventSOS           = "sos"
	EventSOSReply      = "sos_reply"
	EventMentorRequest = "mentor_request"
	EventMentorship    = "mentorship"
)

// eventJSON is the data of every node event: the group, and the one other
// field the event's type calls for.
type eventJSON struct {
	Group   string       `json:"group"`
	Message *messageJSON `json:"message,omitempty"`
	Member  *memberJSON  `json:"member,omitempty"`
	Request *waitingJSON `json:"request,omitempty"`
	Epoch   *uint64      `json:"epoch,omitempty"`
	// Meetings (routes_meetings.go).
	Meeting    *meetingJSON    `json:"meeting,omitempty"`
	Room       *roomJSON       `json:"room,omitempty"`
	Occurrence *occurrenceJSON `json:"occurrence,omitempty"`
	// Care (routes_care.go).
	SOS           *sosJSON           `json:"sos,omitempty"`
	SOSReply      *sosReplyJSON      `json:"sos_reply,omitempty"`
	MentorRequest *mentorRequestJSON `json:"mentor_request,omitempty"`
	Mentorship    *mentorshipJSON    `json:"mentorship,omitempty"`
	// Moderation (routes_moderation.go).
	Removal    *removalJSON    `json:"removal,omitempty"`
	Report     *reportJSON     `json:"report,omitempty"`
	Guidelines *guidelinesJSON `json:"guidelines,omitempty"`
}

// overflowJSON is the data of OverflowEvent.
type overflowJSON struct {
	Dropped uint64 `json:"dropped"`
}

// eventOf converts a node event into the API's; ok is false for a kind
// this version does not know, or an event missing the field its kind
// needs (which the node never sends).
func eventOf(ev node.Event) (typ string, data eventJSON, ok bool) {
	data.Group = ev.Group.String()
	member := func(t string) (string, eventJSON, bool) {
		if ev.Member == nil {
			return "", data, false
		}
		m := memberOf(*ev.Member)
		data.Member = &m
		return t, data, true
	}
	switch ev.Kind {
	case node.EventMessage:
		if ev.Message == nil {
			return "", data, false
		}
		m := messageOf(*ev.Message)
		data.Message = &m
		return EventMessage, data, true
	case node.EventMemberJoined:
		return member(EventMemberJoined)
	case node.EventMemberLeft:
		return member(EventMemberLeft)
	case node.EventMemberRemoved:
		return member(EventMemberRemoved)
	case node.EventRoleChanged:
		return member(EventRoleChanged)
	case node.EventRemoved:
		return EventRemoved, data, true
	case node.EventJoinRequest:
		if ev.Request == nil {
			return "", data, false
		}
		q := waitingOf(*ev.Request)
		data.Request = &q
		return EventJoinRequest, data, true
	case node.EventJoined:
		return EventJoined, data, true
	case node.EventJoinDenied:
		return EventJoinDenied, data, true
	case node.EventEpochChanged:
		e := ev.Epoch
		data.Epoch = &e
		return EventEpochChanged, data, true
	case node.EventMeeting:
		if ev.Meeting == nil {
			return "", data, false
		}
		m := meetingOf(*ev.Meeting)
		data.Meeting = &m
		return EventMeeting, data, true
	case node.EventMeetingRoom:
		if ev.Room == nil {
			return "", data, false
		}
		r := roomOf(*ev.Room)
		data.Room = &r
		return EventMeetingRoom, data, true
	case node.EventMeetingSoon:
		if ev.Occurrence == nil {
			return "", data, false
		}
		o := occurrenceOf(*ev.Occurrence)
		data.Occurrence = &o
		data.Meeting = &o.Meeting
		return EventMeetingSoon, data, true
	case node.EventSOS:
		if ev.SOS == nil {
			return "", data, false
		}
		j := sosOf(*ev.SOS)
		data.SOS = &j
		return EventSOS, data, true
	case node.EventSOSReply:
		if ev.SOSReply == nil {
			return "", data, false
		}
		j := sosReplyOf(*ev.SOSReply)
		data.SOSReply = &j
		return EventSOSReply, data, true
	case node.EventMentorRequest:
		if ev.MentorRequest == nil {
			return "", data, false
		}
		j := mentorRequestOf(*ev.MentorRequest)
		data.MentorRequest = &j
		return EventMentorRequest, data, true
	case node.EventMentorship:
		if ev.Mentorship == nil {
			return "", data, false
		}
		j := mentorshipOf(*ev.Mentorship)
		data.Mentorship = &j
		return EventMentorship, data, true
	}
	if typ, data, ok := moderationEventOf(ev, data); ok {
		return typ, data, true
	}
	return "", data, false
}

// EventBridge carries a node's events to a Broadcaster, and so to every
// open /api/v1/events stream. It never makes the node wait: the node's
// subscription drops its oldest event when the bridge falls behind, and
// the Broadcaster never blocks. When the node dropped events, the bridge
// publishes an OverflowEvent {"dropped": n} after the event it was
// carrying, so every reader knows to fetch current state again; nothing
// the node dropped comes after that marker.
type EventBridge struct {
	stopOnce sync.Once
	quit     chan struct{}
	done     chan struct{}
}

// BridgeEvents subscribes to n's events and publishes each to b as the
// contract's event type and JSON data, until Stop, until n closes, or
// until b closes. log receives warnings (never event content); nil
// discards them.
func BridgeEvents(n *node.Node, b *Broadcaster, log *slog.Logger) *EventBridge {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	br := &EventBridge{quit: make(chan struct{}), done: make(chan struct{})}
	sub := n.Subscribe()
	go br.run(n, sub, b, log)
	return br
}

func (br *EventBridge) run(n *node.Node, sub *node.Subscription, b *Broadcaster, log *slog.Logger) {
	defer close(br.done)
	defer sub.Close()
	var dropped uint64
	for {
		var ev node.Event
		var ok bool
		select {
		case ev, ok = <-sub.Events():
			if !ok {
				return // the node closed
			}
		case <-br.quit:
			return
		}
		typ, data, known := eventOf(ev)
		if known && !moderateEvent(n, ev, &data) {
			// A blocked member's post is not served (routes_moderation.go).
		} else if known {
			e, err := NewEvent(typ, data)
			if err == nil {
				err = b.Publish(e)
			}
			if errors.Is(err, ErrBroadcasterClosed) {
				return
			}
			if err != nil {
				log.Warn("dropping a node event that did not convert", "kind", ev.Kind.String(), "err", err)
			}
		} else {
			log.Warn("dropping a node event of a kind this API does not know", "kind", ev.Kind.String())
		}
		// Checked after publishing: any event the node dropped so far was
		// older than the ones still buffered, which all follow the marker.
		if d := sub.Dropped(); d > dropped {
			e, err := NewEvent(OverflowEvent, overflowJSON{Dropped: d - dropped})
			if err == nil {
				err = b.Publish(e)
			}
			if errors.Is(err, ErrBroadcasterClosed) {
				return
			}
			dropped = d
		}
	}
}

// Stop ends the bridge and its node subscription, and returns once its
// goroutine has finished. It may be called more than once, and after the
// node or the Broadcaster closed.
func (br *EventBridge) Stop() {
	br.stopOnce.Do(func() { close(br.quit) })
	<-br.done
}
