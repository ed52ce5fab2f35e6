package api

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/node"
	"github.com/hearthnet/hearth/protocol"
)

// TestEventOfEveryKind: every kind of node event becomes the contract's
// event type with exactly the contract's fields, and a kind this version
// does not know is dropped rather than sent half-formed.
func TestEventOfEveryKind(t *testing.T) {
	g := crypto.GroupID{1}
	m := &node.MemberInfo{ID: crypto.MemberID{2}, Pseudonym: "bo", Role: protocol.RoleModerator}
	msg := &node.Message{ID: node.MessageID{3}, Group: g, Author: crypto.MemberID{2}, Pseudonym: "bo", Text: "hi",
		Sent: time.Unix(1, 0), Received: time.Unix(2, 0), Epoch: 4}
	req := &node.JoinRequest{Member: crypto.MemberID{5}, Pseudonym: "cy", Invite: crypto.InviteID{6}, Requested: time.Unix(3, 0)}
	cases := []struct {
		ev   node.Event
		typ  string
		keys []string
	}{
		{node.Event{Kind: node.EventMessage, Group: g, Message: msg}, "message", []string{"group", "message"}},
		{node.Event{Kind: node.EventMemberJoined, Group: g, Member: m}, "member_joined", []string{"group", "member"}},
		{node.Event{Kind: node.EventMemberLeft, Group: g, Member: m}, "member_left", []string{"group", "member"}},
		{node.Event{Kind: node.EventMemberRemoved, Group: g, Member: m}, "member_removed", []string{"group", "member"}},
		{node.Event{Kind: node.EventRoleChanged, Group: g, Member: m}, "role_changed", []string{"group", "member"}},
		{node.Event{Kind: node.EventRemoved, Group: g}, "removed", []string{"group"}},
		{node.Event{Kind: node.EventJoinRequest, Group: g, Request: req}, "join_request", []string{"group", "request"}},
		{node.Event{Kind: node.EventJoined, Group: g}, "joined", []string{"group"}},
		{node.Event{Kind: node.EventJoinDenied, Group: g}, "join_denied", []string{"group"}},
		{node.Event{Kind: node.EventEpochChanged, Group: g}, "epoch_changed", []string{"group", "epoch"}},
	}
	for _, tc := range cases {
		typ, data, ok := eventOf(tc.ev)
		if !ok || typ != tc.typ {
			t.Errorf("%v: type %q ok %v, want %q", tc.ev.Kind, typ, ok, tc.typ)
			continue
		}
		b, _ := json.Marshal(data)
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(b, &fields); err != nil {
			t.Fatal(err)
		}
		if len(fields) != len(tc.keys) {
			t.Errorf("%s: fields %s, want %v", typ, b, tc.keys)
		}
		for _, k := range tc.keys {
			if _, ok := fields[k]; !ok {
				t.Errorf("%s: no %q in %s", typ, k, b)
			}
		}
		if string(fields["group"]) != `"`+g.String()+`"` {
			t.Errorf("%s: group %s", typ, fields["group"])
		}
	}
	for _, ev := range []node.Event{
		{Kind: node.EventKind(99), Group: g},
		{Kind: node.EventMessage, Group: g},
		{Kind: node.EventMemberJoined, Group: g},
		{Kind: node.EventJoinRequest, Group: g},
	} {
		if typ, _, ok := eventOf(ev); ok {
			t.Errorf("%v without its data became %q", ev.Kind, typ)
		}
	}
}
