package node

import (
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// meshTracker follows gossipsub's mesh for every topic the node joins,
// through the router's tracer hooks, so the node can tell when a new
// epoch's topic is ready to carry its chain-key announcement (see
// Group.tick). Gossipsub sends a node's own message to its mesh peers only;
// a peer that is subscribed but not yet grafted misses it for good (it is
// grafted at the next heartbeat, and mesh peers are never sent gossip about
// it). Announcements are sent once per epoch and nobody can read a
// member's posts without them, so they wait until the mesh holds every
// subscribed peer.
//
// Its methods never block gossipsub: each takes a mutex for a map update.
type meshTracker struct {
	mu   sync.Mutex
	mesh map[string]map[peer.ID]struct{}
}

var _ pubsub.RawTracer = (*meshTracker)(nil)

func newMeshTracker() *meshTracker {
	return &meshTracker{mesh: make(map[string]map[peer.ID]struct{})}
}

// peers returns the mesh peers of topic that gossipsub has grafted. A peer
// that disconnected may still be listed (gossipsub does not trace its
// removal); callers intersect with the topic's current peers.
func (m *meshTracker) peers(topic string) map[peer.ID]struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[peer.ID]struct{}, len(m.mesh[topic]))
	for p := range m.mesh[topic] {
		out[p] = struct{}{}
	}
	return out
}

func (m *meshTracker) Graft(p peer.ID, topic string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.mesh[topic]
	if s == nil {
		s = make(map[peer.ID]struct{})
		m.mesh[topic] = s
	}
	s[p] = struct{}{}
}

func (m *meshTracker) Prune(p peer.ID, topic string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.mesh[topic], p)
}

func (m *meshTracker) Leave(topic string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.mesh, topic)
}

// The remaining hooks carry nothing the node needs.

func (m *meshTracker) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (m *meshTracker) OnClosedOutboundStream(peer.ID)                       {}
func (m *meshTracker) Join(string)                                          {}
func (m *meshTracker) ValidateMessage(*pubsub.Message)                      {}
func (m *meshTracker) DeliverMessage(*pubsub.Message)                       {}
func (m *meshTracker) RejectMessage(*pubsub.Message, string)                {}
func (m *meshTracker) DuplicateMessage(*pubsub.Message)                     {}
func (m *meshTracker) ThrottlePeer(peer.ID)                                 {}
func (m *meshTracker) RecvRPC(*pubsub.RPC)                                  {}
func (m *meshTracker) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (m *meshTracker) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (m *meshTracker) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (m *meshTracker) UndeliverableMessage(*pubsub.Message)                 {}
