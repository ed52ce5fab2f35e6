package node

import (
	"math"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// This file is the application-specific part of gossipsub's peer scores
// (P5, score.go): the points a peer lost by forwarding envelopes that
// claimed an epoch ahead of the group and never opened (receive.go, "Held
// envelopes"). Such an envelope cannot be checked when it arrives, so
// gossipsub is told to ignore it, which costs the forwarder nothing; this
// is what makes a flood of them cost something. Honest peers never
// forward one.
//
// Each such envelope costs penaltyPoints, and a peer's points halve every
// penaltyHalfLife: six at once put a peer below the gossip threshold,
// eleven below the publish threshold, twenty-six below the graylist
// threshold (score.go). Gossipsub
// keeps a disconnected peer's score (RetainScore), and this file keeps its
// points, so reconnecting washes nothing.

const (
	penaltyPoints   = 100
	penaltyHalfLife = 30 * time.Minute
	// maxPenalised bounds the peers remembered; past it the one with the
	// fewest points left is forgotten.
	maxPenalised = 4096
)

// penalties counts, per peer, the points it lost. Its methods are safe for
// concurrent use (gossipsub calls score from its own goroutine), and a nil
// *penalties records nothing and scores every peer 0.
type penalties struct {
	now func() time.Time

	mu     sync.Mutex
	points map[peer.ID]penalty
}

type penalty struct {
	points float64
	at     time.Time
}

func newPenalties(now func() time.Time) *penalties {
	return &penalties{now: now, points: make(map[peer.ID]penalty)}
}

// decayed returns p's points at now.
func (p penalty) decayed(now time.Time) float64 {
	d := now.Sub(p.at)
	if d <= 0 {
		return p.points
	}
	return p.points * math.Exp2(-float64(d)/float64(penaltyHalfLife))
}

// add charges id for one envelope that never opened.
func (ps *penalties) add(id peer.ID) {
	if ps == nil || id == "" {
		return
	}
	now := ps.now()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	cur, ok := ps.points[id]
	if !ok && len(ps.points) >= maxPenalised {
		var least peer.ID
		low := math.Inf(1)
		for p, v := range ps.points {
			if d := v.decayed(now); d < low {
				least, low = p, d
			}
		}
		delete(ps.points, least)
	}
	ps.points[id] = penalty{points: cur.decayed(now) + penaltyPoints, at: now}
}

// score is gossipsub's AppSpecificScore: minus the points id has left.
func (ps *penalties) score(id peer.ID) float64 {
	if ps == nil {
		return 0
	}
	now := ps.now()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p, ok := ps.points[id]
	if !ok {
		return 0
	}
	d := p.decayed(now)
	if d < 1 {
		delete(ps.points, id)
		return 0
	}
	return -d
}
