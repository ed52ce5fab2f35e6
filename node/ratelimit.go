package node

import (
	"sync"
	"time"
)

// limiter is a set of token buckets, one per key: each holds up to burst
// tokens and refills at perMinute tokens a minute. It bounds its memory: when
// it holds maxKeys buckets and a new key arrives, buckets that are full again
// (their key has been quiet long enough to be forgotten without changing any
// answer) are dropped first, and if none is, the new key is refused.
//
// It is safe for concurrent use.
type limiter[K comparable] struct {
	mu        sync.Mutex
	perMinute float64
	burst     float64
	maxKeys   int
	buckets   map[K]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxLimiterEntries bounds every limiter's buckets.
const maxLimiterEntries = 4096

// Join attempts each peer may make on an admin's /hearth/join/1: 30 a
// minute, 10 at once. The invite secret is 128 bits, so this limit is not
// what stops guessing (nothing could guess it at any rate); it keeps one
// peer from making the admin run many signature checks and store writes.
// It is generous enough for a joiner who retries after typing mistakes.
const (
	joinAttemptsPerMinute = 30
	joinAttemptsBurst     = 10
)

func newLimiter[K comparable](perMinute, burst, maxKeys int) *limiter[K] {
	return &limiter[K]{
		perMinute: float64(perMinute),
		burst:     float64(burst),
		maxKeys:   maxKeys,
		buckets:   make(map[K]*bucket),
	}
}

// refill brings b up to date at now. The caller holds l.mu.
func (l *limiter[K]) refill(b *bucket, now time.Time) {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(l.burst, b.tokens+d.Minutes()*l.perMinute)
		b.last = now
	}
}

// get returns k's bucket, creating a full one. It returns nil when the
// limiter is full of active buckets. The caller holds l.mu.
func (l *limiter[K]) get(k K, now time.Time) *bucket {
	if b, ok := l.buckets[k]; ok {
		l.refill(b, now)
		return b
	}
	if len(l.buckets) >= l.maxKeys {
		for key, b := range l.buckets {
			l.refill(b, now)
			if b.tokens >= l.burst {
				delete(l.buckets, key)
			}
		}
		if len(l.buckets) >= l.maxKeys {
			return nil
		}
	}
	b := &bucket{tokens: l.burst, last: now}
	l.buckets[k] = b
	return b
}

// allow reports whether k has a token at now, without taking it.
func (l *limiter[K]) allow(k K, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(k, now)
	return b != nil && b.tokens >= 1
}

// take takes one of k's tokens at now and reports whether there was one.
func (l *limiter[K]) take(k K, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(k, now)
	if b == nil || b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
