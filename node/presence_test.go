package node

import (
	"slices"
	"testing"
	"time"

	"github.com/hearthnet/hearth/crypto"
)

// TestOnlineMembers: each of two members sees the other online once the
// other's address announcement arrived and they are connected, never
// itself; when one stops, the other sees no one online; a member who never
// announced (the node that does not announce) is not shown online although
// connected; a member who left sees no one.
func TestOnlineMembers(t *testing.T) {
	fast := withAnnounceEvery(200 * time.Millisecond)
	ann, bo := newTestNode(t, fast), newTestNode(t, fast)
	ga, gb := twoMembers(t, ann, bo)
	annID, boID := ga.Info().Me.ID, gb.Info().Me.ID
	poll(t, "each member to see the other online", func() bool {
		return slices.Equal(ga.OnlineMembers(), []crypto.MemberID{boID}) && slices.Equal(gb.OnlineMembers(), []crypto.MemberID{annID})
	})

	// cy's node announces nothing: connected to ann, but not known to be
	// cy's, so not shown online.
	cy := newTestNode(t, withAnnounceEvery(-1))
	inv, _, err := ga.CreateInvite(ctxT(t), InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := cy.Join(ctxT(t), inv, "cy")
	if err != nil || res.Status != JoinJoined {
		t.Fatalf("cy joining: %+v, %v", res, err)
	}
	poll(t, "ann seeing the roster of three", func() bool { return len(ga.Members()) == 3 })
	if len(cy.host.Network().ConnsToPeer(ann.PeerID())) == 0 {
		t.Fatal("cy is not connected to ann; the test shows nothing about members who never announced")
	}
	if got := ga.OnlineMembers(); !slices.Equal(got, []crypto.MemberID{boID}) {
		t.Errorf("with cy connected but never announced, ann sees online %v, want bo alone", got)
	}

	bo.stop()
	poll(t, "ann seeing bo go offline", func() bool { return len(ga.OnlineMembers()) == 0 })

	if err := res.Group.Leave(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := res.Group.OnlineMembers(); got != nil {
		t.Errorf("after leaving, cy sees online %v", got)
	}
}
