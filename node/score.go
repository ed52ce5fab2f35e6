package node

import (
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// This file holds the gossipsub peer-score parameters. Gossipsub v1.1 keeps
// a score for every peer it talks to and acts on it: below the gossip
// threshold a peer's IHAVE gossip is ignored and none is sent to it, below
// the publish threshold the node's own messages are not sent to it, and
// below the graylist threshold every RPC from it is dropped unread.
//
// Hearth's groups are small (a few to a few dozen members), traffic is
// bursty and human-paced (a quiet evening can have no messages at all), and
// only members can produce an envelope that validates. So the parameters
// follow Lotus's reasoning (node/modules/lp2p/pubsub.go: heavy invalid-
// message penalty, mesh-delivery penalties off for a small network) and
// differ where Hearth differs:
//
//   - The one signal that cannot be faked is an invalid message: a peer
//     that forwards something the group engine rejects as garbage is either
//     broken or hostile, and two such messages graylist it.
//   - Delivery-rate penalties (P3, P3b) are off: they punish peers for a
//     topic being quiet, which in a support group is normal.
//   - Positive scores are small and capped, so a peer cannot bank goodwill
//     by relaying valid traffic and then spend it on garbage.

// Score thresholds (see hearthScoreThresholds). Ordered as gossipsub
// requires: 0 >= gossip >= publish >= graylist.
const (
	// scoreGossipThreshold: below this a peer's gossip is ignored. One
	// invalid message (-1000) crosses it.
	scoreGossipThreshold = -500
	// scorePublishThreshold: below this the node stops publishing to the
	// peer. One invalid message reaches it exactly; the comparison is
	// strict, so it takes a little more.
	scorePublishThreshold = -1000
	// scoreGraylistThreshold: below this every RPC from the peer is
	// dropped before it is parsed further. Two invalid messages (-4000)
	// cross it.
	scoreGraylistThreshold = -2500
	// scoreAcceptPXThreshold: peer exchange is accepted only from peers
	// scoring at least this. The positive topic scores are capped at
	// scoreTopicCap and the app-specific score is documented to stay below
	// it, so no peer reaches it and peer exchange is never followed: a
	// PRUNE with peer records would otherwise make the node dial addresses
	// a stranger chose, revealing its IP address to them.
	scoreAcceptPXThreshold = 1000
	// scoreOpportunisticGraft: when the median score of the mesh falls
	// below this, gossipsub grafts better-scoring peers. A peer that was
	// first to relay two messages recently scores at least this.
	scoreOpportunisticGraft = 1
	// scoreTopicCap caps the positive part of the topic scores summed over
	// all topics.
	scoreTopicCap = 10
)

// scoreInvalidWeight is P4's weight: the score of n invalid messages is
// n*n*scoreInvalidWeight (times the topic weight, 1).
const scoreInvalidWeight = -1000

// scoreDecayInterval is how often counters decay; gossipsub requires at
// least one second.
const scoreDecayInterval = time.Second

// scoreDecayToZero is the value below which a decaying counter is zero.
const scoreDecayToZero = 0.01

// hearthScoreThresholds returns the thresholds described above.
func hearthScoreThresholds() *pubsub.PeerScoreThresholds {
	return &pubsub.PeerScoreThresholds{
		GossipThreshold:             scoreGossipThreshold,
		PublishThreshold:            scorePublishThreshold,
		GraylistThreshold:           scoreGraylistThreshold,
		AcceptPXThreshold:           scoreAcceptPXThreshold,
		OpportunisticGraftThreshold: scoreOpportunisticGraft,
	}
}

// hearthScoreParams returns the node-wide score parameters. appScore is P5,
// the application's own opinion of a peer (nil means 0 for every peer); it
// must return values well below scoreAcceptPXThreshold.
//
// A fresh value is returned on every call: gossipsub keeps the Topics map
// and adds each joined topic's parameters to it (see hearthTopicScoreParams),
// so two PubSub instances must never share one.
func hearthScoreParams(appScore func(peer.ID) float64) *pubsub.PeerScoreParams {
	if appScore == nil {
		appScore = func(peer.ID) float64 { return 0 }
	}
	return &pubsub.PeerScoreParams{
		// Per-topic parameters are added as topics are joined: Hearth's
		// topic names are opaque and rotate every epoch, so none is known
		// up front.
		Topics: make(map[string]*pubsub.TopicScoreParams),

		// The sum of positive topic scores is capped; see scoreTopicCap.
		TopicScoreCap: scoreTopicCap,

		// P5: the group engine's opinion (penalties.go: envelopes
		// claiming a future epoch that never opened). Weight 1: the
		// function returns score points directly.
		AppSpecificScore:  appScore,
		AppSpecificWeight: 1,

		// P6: many peers from one IP address. A household, a clinic's
		// Wi-Fi or a mobile carrier's NAT legitimately puts several
		// members behind one address, so the threshold is generous; past
		// it, the penalty grows with the square of the surplus and soon
		// graylists, which is what keeps one machine from filling a
		// group's mesh with sybils that drop messages (the only eclipse
		// defence left with delivery penalties off). Loopback addresses
		// are never counted by gossipsub.
		IPColocationFactorWeight:    -50,
		IPColocationFactorThreshold: 10,

		// P7: broken gossip promises (IHAVE not followed by the message)
		// and GRAFTs during a backoff. A few are tolerated (network
		// hiccups); beyond six the squared excess costs 10 points each
		// and decays over ten minutes.
		BehaviourPenaltyWeight:    -10,
		BehaviourPenaltyThreshold: 6,
		BehaviourPenaltyDecay:     pubsub.ScoreParameterDecayWithBase(10*time.Minute, scoreDecayInterval, scoreDecayToZero),

		DecayInterval: scoreDecayInterval,
		DecayToZero:   scoreDecayToZero,

		// A disconnected peer's counters are kept for six hours, so a
		// graylisted peer cannot wash its score by reconnecting.
		RetainScore: 6 * time.Hour,

		// Deliveries are remembered as long as the seen-message cache.
		SeenMsgTTL: seenMessagesTTL,
	}
}

// hearthTopicScoreParams returns the parameters for one group topic.
func hearthTopicScoreParams() *pubsub.TopicScoreParams {
	return &pubsub.TopicScoreParams{
		// Every group topic counts the same.
		TopicWeight: 1,

		// P1: time in the mesh. +1 after an hour, no more: a small reward
		// for staying, so opportunistic grafting prefers stable peers.
		TimeInMeshWeight:  1.0 / 3600,
		TimeInMeshQuantum: time.Second,
		TimeInMeshCap:     3600,

		// P2: first deliveries of valid messages, +0.5 each, capped at 10
		// messages (+5), decaying over an hour.
		FirstMessageDeliveriesWeight: 0.5,
		FirstMessageDeliveriesDecay:  pubsub.ScoreParameterDecayWithBase(time.Hour, scoreDecayInterval, scoreDecayToZero),
		FirstMessageDeliveriesCap:    10,

		// P3 and P3b (mesh delivery rate and the sticky failure penalty)
		// are off: zero weights. A group can be silent for days, and a
		// penalty for not delivering messages that nobody sent would prune
		// honest members from each other's meshes.
		MeshMessageDeliveriesWeight: 0,
		MeshFailurePenaltyWeight:    0,

		// P4: invalid messages. Squared, so one costs 1000, two 4000 (past
		// the graylist), ten 100000. Decays to zero over an hour (the
		// counter shrinks by 0.128% a second): a peer that sent one bad
		// message by accident is back above the gossip threshold in about
		// five minutes; one that sent two is graylisted for about three,
		// one that sent ten for about twenty-five.
		InvalidMessageDeliveriesWeight: scoreInvalidWeight,
		InvalidMessageDeliveriesDecay:  pubsub.ScoreParameterDecayWithBase(time.Hour, scoreDecayInterval, scoreDecayToZero),
	}
}
