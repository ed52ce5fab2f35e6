package node

import (
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/hearthnet/hearth/crypto"
)

// This file says which of a group's members this node is connected to now,
// for an interface to show "online now, as far as this computer knows".
//
// Gossip carries no author (sealed sender), so a connection alone names no
// member. But every member announces its node's peer ID inside the group
// (addresses.go), so a member already knows which peer each other member
// said it runs, and sees whether it is connected to that peer: presence
// adds nothing a member could not work out, and nothing outside the group
// learns anything from it. It is a claim and a local view: a member could
// announce another's peer ID, a member connected only to others does not
// show, and a member whose node is online but not connected to this one
// shows as not online.

// OnlineMembers returns the IDs of the group's current members, other than
// this one, whose node (the peer ID in their newest address announcement)
// this node is connected to now, directly or through a relay. It returns
// nil after Close, and once this member was removed or left (its roster is
// no longer kept up to date).
func (g *Group) OnlineMembers() []crypto.MemberID {
	g.mu.Lock()
	if g.closed || g.sess.Removed() {
		g.mu.Unlock()
		return nil
	}
	st := g.sess.GroupState()
	me := g.sess.Me().ID
	g.mu.Unlock()
	net := g.n.host.Network()
	var out []crypto.MemberID
	for _, m := range st.Roster {
		if m.ID == me {
			continue
		}
		a, err := g.loadAnnounced(withPrefix(prefixAddrs, m.ID[:]))
		if err != nil {
			continue // never announced, or the store is closing
		}
		if c := net.Connectedness(a.peer); c == network.Connected || c == network.Limited {
			out = append(out, m.ID)
		}
	}
	return out
}
