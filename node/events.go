package node

import (
	"sync"
	"sync/atomic"

	"github.com/hearthnet/hearth/crypto"
)

// EventKind says what an Event reports.
type EventKind int

// The kinds of event a node emits.
const (
	// EventMessage: a message was posted (by anyone, this member
	// included); Event.Message is set.
	EventMessage EventKind = iota + 1
	// EventMemberJoined: a member was added; Event.Member is set.
	EventMemberJoined
	// EventMemberLeft: a member left on their own; Event.Member is set.
	EventMemberLeft
	// EventMemberRemoved: an admin removed a member; Event.Member is set.
	EventMemberRemoved
	// EventRoleChanged: a member's role changed; Event.Member holds the
	// new role.
	EventRoleChanged
	// EventRemoved: this member is no longer in the group (removed by an
	// admin, or left). Its history stays readable.
	EventRemoved
	// EventJoinRequest: someone waits in the waiting room of a group this
	// member administers; Event.Request is set.
	EventJoinRequest
	// EventJoined: a join that waited for approval was admitted; the
	// group is now in Node.Groups.
	EventJoined
	// EventJoinDenied: a join that waited for approval was declined (or
	// refused when asked again).
	EventJoinDenied
	// EventEpochChanged: the group moved to a new epoch (every roster
	// change does); Event.Epoch is the new epoch.
	EventEpochChanged
	// EventSOS: a member asked for help now (this member included: see
	// SOS.Mine); Event.SOS is set. High priority: an interface alerts on
	// it even in quiet hours for members who opted in to SOS alerts.
	EventSOS
	// EventSOSReply: a member answered an SOS ("I'm here");
	// Event.SOSReply is set.
	EventSOSReply
	// EventMentorRequest: a member asked this member for mentorship,
	// offered it, or a host suggested a pairing; Event.MentorRequest is
	// set.
	EventMentorRequest
	// EventMentorship: one of this member's mentorships changed state
	// (asked, active, declined, ended); Event.Mentorship is set.
	EventMentorship
	// EventMeeting: a meeting was scheduled, changed or cancelled;
	// Event.Meeting is set.
	EventMeeting
	// EventMeetingRoom: a live meeting room changed; Event.Room holds its
	// new state.
	EventMeetingRoom
	// EventMeetingSoon: a meeting starts within the reminder lead time
	// (Config.MeetingReminder); Event.Meeting and Event.Occurrence are set.
	// Emitted once per occurrence; whether to show it (quiet hours) is the
	// interface's choice.
	EventMeetingSoon
	// EventMessageEdited: a post's author edited it; Event.Message is the
	// post as it now reads (Message.Edited set).
	EventMessageEdited
	// EventMessageRemoved: a post was deleted by its author or removed by
	// a host or moderator, and erased from this node; Event.Removal is
	// set.
	EventMessageRemoved
	// EventReport: a member reported a post to this host or moderator;
	// Event.Report is set.
	EventReport
	// EventGuidelines: a host or moderator pinned new guidelines;
	// Event.Guidelines is set.
	EventGuidelines
)

// String returns the kind's name, for logs and debugging.
func (k EventKind) String() string {
	switch k {
	case EventMessage:
		return "message"
	case EventMemberJoined:
		return "member-joined"
	case EventMemberLeft:
		return "member-left"
	case EventMemberRemoved:
		return "member-removed"
	case EventRoleChanged:
		return "role-changed"
	case EventRemoved:
		return "removed"
	case EventJoinRequest:
		return "join-request"
	case EventJoined:
		return "joined"
	case EventJoinDenied:
		return "join-denied"
	case EventEpochChanged:
		return "epoch-changed"
	case EventSOS:
		return "sos"
	case EventSOSReply:
		return "sos-reply"
	case EventMentorRequest:
		return "mentor-request"
	case EventMentorship:
		return "mentorship"
	case EventMeeting:
		return "meeting"
	case EventMeetingRoom:
		return "meeting-room"
	case EventMeetingSoon:
		return "meeting-soon"
	case EventMessageEdited:
		return "message-edited"
	case EventMessageRemoved:
		return "message-removed"
	case EventReport:
		return "report"
	case EventGuidelines:
		return "guidelines"
	}
	return "unknown"
}

// Event is something that happened in one of the node's groups. Which
// pointer field is set depends on Kind (see each EventKind).
type Event struct {
	Kind    EventKind
	Group   crypto.GroupID
	Message *Message     // EventMessage
	Member  *MemberInfo  // member joined, left, removed, role changed
	Request *JoinRequest // EventJoinRequest
	Epoch   uint64       // EventEpochChanged
	// SOS and mentorship events (sos.go, mentor.go).
	SOS           *SOS           // EventSOS
	SOSReply      *SOSReply      // EventSOSReply
	MentorRequest *MentorRequest // EventMentorRequest
	Mentorship    *Mentorship    // EventMentorship
	// Meetings (meetings.go).
	Meeting    *MeetingInfo       // EventMeeting, EventMeetingSoon
	Room       *MeetingRoom       // EventMeetingRoom
	Occurrence *MeetingOccurrence // EventMeetingSoon
	// Moderation events (moderation.go).
	Removal    *Removal    // EventMessageRemoved
	Report     *Report     // EventReport
	Guidelines *Guidelines // EventGuidelines
}

// defaultEventBuffer is a subscription's buffer when Config.EventBuffer is
// zero.
const defaultEventBuffer = 256

// Subscription is one consumer's stream of the node's events. The node never
// waits for a subscriber: when its buffer is full, the oldest buffered event
// is dropped to make room for the newest, and Dropped counts it. A consumer
// that falls behind therefore loses old events, never the node's progress;
// history and membership can always be re-read from Group.
type Subscription struct {
	b       *broker
	ch      chan Event
	dropped atomic.Uint64
	// closed is guarded by b.mu: a subscription is closed (its channel
	// closed) exactly once, under the lock that emit holds while sending.
	closed bool
}

// Events returns the channel the events arrive on. It is closed by Close,
// and when the node closes.
func (s *Subscription) Events() <-chan Event { return s.ch }

// Dropped returns how many events were dropped because the buffer was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close ends the subscription and closes its channel. It may be called more
// than once, and after the node has closed.
func (s *Subscription) Close() {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.remove(s)
}

// broker fans events out to subscriptions.
type broker struct {
	mu     sync.Mutex // guards subs, closed, and every subscription's closed flag
	subs   []*Subscription
	size   int
	closed bool
}

func newBroker(size int) *broker {
	if size <= 0 {
		size = defaultEventBuffer
	}
	return &broker{size: size}
}

// subscribe adds a subscription; after close it returns one whose channel is
// already closed.
func (b *broker) subscribe() *Subscription {
	s := &Subscription{b: b, ch: make(chan Event, b.size)}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		s.closed = true
		close(s.ch)
		return s
	}
	b.subs = append(b.subs, s)
	return s
}

// remove closes s and forgets it. The caller holds b.mu.
func (b *broker) remove(s *Subscription) {
	if s.closed {
		return
	}
	s.closed = true
	close(s.ch)
	for i, x := range b.subs {
		if x == s {
			b.subs = append(b.subs[:i], b.subs[i+1:]...)
			break
		}
	}
}

// emit delivers e to every subscription without blocking: when a buffer is
// full its oldest event is dropped. emit is safe to call with any other lock
// held, since it takes only b.mu and never waits on a consumer.
func (b *broker) emit(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.subs {
		for {
			select {
			case s.ch <- e:
			default:
				// Full: drop the oldest. The consumer may have taken
				// one meanwhile, in which case there is nothing to drop
				// and the send succeeds on the next round.
				select {
				case <-s.ch:
					s.dropped.Add(1)
				default:
				}
				continue
			}
			break
		}
	}
}

// close closes every subscription; later subscriptions start closed.
func (b *broker) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for len(b.subs) > 0 {
		b.remove(b.subs[0])
	}
}
