package node

import (
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
)

// Reachability values, as Node.Reachability reports them.
const (
	ReachabilityUnknown = "unknown" // no judgement yet, or none possible
	ReachabilityPublic  = "public"  // other peers can dial this node directly
	ReachabilityPrivate = "private" // behind NAT or a firewall: reached by dialling out or through a relay
)

// reachability holds go-libp2p's latest judgement of whether this node can
// be dialled directly.
type reachability struct {
	v atomic.Value // string
}

// Reachability says whether other peers can dial this node directly, as
// go-libp2p's AutoNAT (or a relay-only or relay-service setting, which
// force the answer) last judged it: ReachabilityPublic,
// ReachabilityPrivate or ReachabilityUnknown.
func (n *Node) Reachability() string {
	if s, ok := n.reach.v.Load().(string); ok {
		return s
	}
	return ReachabilityUnknown
}

// watchReachability follows the host's reachability events until the node
// closes. It is started once by New.
func (n *Node) watchReachability() error {
	sub, err := n.host.EventBus().Subscribe(new(event.EvtLocalReachabilityChanged))
	if err != nil {
		return err
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer sub.Close()
		for {
			select {
			case <-n.ctx.Done():
				return
			case e, ok := <-sub.Out():
				if !ok {
					return
				}
				n.reach.v.Store(reachabilityName(e.(event.EvtLocalReachabilityChanged).Reachability))
			}
		}
	}()
	return nil
}

func reachabilityName(r network.Reachability) string {
	switch r {
	case network.ReachabilityPublic:
		return ReachabilityPublic
	case network.ReachabilityPrivate:
		return ReachabilityPrivate
	}
	return ReachabilityUnknown
}
