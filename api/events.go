package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
)

// DefaultEventBuffer is how many events a subscriber may fall behind before
// it is told it overflowed, when NewBroadcaster is given zero.
const DefaultEventBuffer = 256

// OverflowEvent is the Type of the marker a subscriber receives after the
// Broadcaster had to drop events for it. Everything it may have missed was
// published before the marker; it should fetch current state again (resync)
// and then carry on with the events that follow.
const OverflowEvent = "overflow"

// ErrBroadcasterClosed is returned by Publish after Close, and by Next once
// a subscription has been closed (by Unsubscribe or by the Broadcaster's
// Close) and every event buffered for it has been read.
var ErrBroadcasterClosed = errors.New("hearth/api: event broadcaster closed")

// ErrBadEvent is returned (wrapped) by Publish for an event whose type is
// not a usable SSE event name or whose data is not valid JSON.
var ErrBadEvent = errors.New("hearth/api: malformed event")

// maxEventType bounds an event type's length.
const maxEventType = 64

// Event is one live event: a type (the SSE "event:" field, for example
// "message" or "member_joined") and its data, one JSON value.
type Event struct {
	Type string
	Data json.RawMessage
}

// NewEvent returns an Event of type typ whose data is v marshalled to JSON.
func NewEvent(typ string, v any) (Event, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrBadEvent, err)
	}
	return Event{Type: typ, Data: b}, nil
}

// Broadcaster fans events out to any number of subscribers. Publish never
// blocks: each subscriber has a bounded buffer, and when a subscriber's
// buffer is full the event is dropped for that subscriber alone, which then
// receives an OverflowEvent marker once it has read what was buffered. No
// event is delivered to it between the drop and the marker, so the marker
// cleanly separates "may have missed something" from "complete from here".
//
// A Broadcaster is safe for concurrent use.
type Broadcaster struct {
	buffer int

	mu     sync.Mutex // guards everything below and every Subscription's lost and dropped
	subs   map[*Subscription]struct{}
	closed bool
}

// NewBroadcaster returns a Broadcaster whose subscribers may each fall
// buffer events behind (DefaultEventBuffer when buffer <= 0).
func NewBroadcaster(buffer int) *Broadcaster {
	if buffer <= 0 {
		buffer = DefaultEventBuffer
	}
	return &Broadcaster{buffer: buffer, subs: make(map[*Subscription]struct{})}
}

// Subscription is one subscriber's view of a Broadcaster. Read it with Next
// (or, inside this package, by selecting on ch and wake); release it with
// Unsubscribe.
type Subscription struct {
	b    *Broadcaster
	ch   chan Event    // buffered events, in publish order
	wake chan struct{} // capacity 1: signalled when lost becomes true
	done chan struct{} // closed when the subscription ends

	lost    bool // guarded by b.mu: events were dropped and the marker is not yet delivered
	dropped int  // guarded by b.mu: how many were dropped since the last marker
	ended   bool // guarded by b.mu
}

// Subscribe registers a new subscriber. After Close it returns a
// subscription that is already ended.
func (b *Broadcaster) Subscribe() *Subscription {
	s := &Subscription{
		b:    b,
		ch:   make(chan Event, b.buffer),
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		s.ended = true
		close(s.done)
		return s
	}
	b.subs[s] = struct{}{}
	return s
}

// Publish delivers ev to every current subscriber without ever waiting for
// any of them. It returns ErrBadEvent (wrapped) when ev.Type is empty,
// longer than 64 bytes or holds anything but ASCII letters, digits, '_',
// '-' and '.', or when ev.Data is not one valid JSON value; and
// ErrBroadcasterClosed after Close.
func (b *Broadcaster) Publish(ev Event) error {
	if err := checkEventType(ev.Type); err != nil {
		return err
	}
	// Compacting removes any newline, which would otherwise end the SSE
	// "data:" line early and let the data inject fields of its own.
	var buf bytes.Buffer
	if err := json.Compact(&buf, ev.Data); err != nil {
		return fmt.Errorf("%w: data is not valid JSON: %w", ErrBadEvent, err)
	}
	ev.Data = buf.Bytes()

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrBroadcasterClosed
	}
	for s := range b.subs {
		if s.lost {
			s.dropped++
			continue
		}
		select {
		case s.ch <- ev:
		default:
			s.lost = true
			s.dropped = 1
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	}
	return nil
}

// checkEventType accepts SSE event names Hearth uses: short, ASCII
// letters, digits, '_', '-', '.'. Anything else (a newline above all) could
// break the stream's framing.
func checkEventType(t string) error {
	if t == "" || len(t) > maxEventType {
		return fmt.Errorf("%w: type must be 1 to %d bytes", ErrBadEvent, maxEventType)
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
		if !ok {
			return fmt.Errorf("%w: type %q has a character other than letters, digits, '_', '-', '.'", ErrBadEvent, t)
		}
	}
	return nil
}

// Close ends every subscription; their readers get ErrBroadcasterClosed
// once they have read what was buffered. Close is idempotent.
func (b *Broadcaster) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	for s := range b.subs {
		s.endLocked()
	}
}

// Subscribers returns how many subscriptions are live.
func (b *Broadcaster) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// endLocked ends s. The caller must hold s.b.mu.
func (s *Subscription) endLocked() {
	if s.ended {
		return
	}
	s.ended = true
	delete(s.b.subs, s)
	close(s.done)
}

// Unsubscribe ends the subscription and releases it from the Broadcaster.
// It is idempotent.
func (s *Subscription) Unsubscribe() {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.endLocked()
}

// tryNext returns the next event without waiting: a buffered event, else
// the overflow marker if events were dropped, else ok false.
func (s *Subscription) tryNext() (ev Event, ok bool) {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	// Publish sends to ch only while holding b.mu, so under the lock ch
	// cannot fill up behind our back: when it is empty here and lost is
	// set, every event published before the drop has been read, and the
	// marker comes after all of them.
	select {
	case ev := <-s.ch:
		return ev, true
	default:
	}
	if !s.lost {
		return Event{}, false
	}
	n := s.dropped
	s.lost, s.dropped = false, 0
	return Event{Type: OverflowEvent, Data: json.RawMessage(fmt.Sprintf(`{"dropped":%d}`, n))}, true
}

// Next waits for the subscription's next event and returns it: events in
// publish order, with an OverflowEvent marker where events were dropped. It
// returns ctx.Err() when ctx ends first, and ErrBroadcasterClosed when the
// subscription has ended and nothing is left to read.
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	for {
		if ev, ok := s.tryNext(); ok {
			return ev, nil
		}
		select {
		case ev := <-s.ch:
			return ev, nil
		case <-s.wake:
		case <-s.done:
			if ev, ok := s.tryNext(); ok {
				return ev, nil
			}
			return Event{}, ErrBroadcasterClosed
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}
