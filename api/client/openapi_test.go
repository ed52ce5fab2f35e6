package client

import (
	"os"
	"reflect"
	"testing"

	"github.com/hearthnet/hearth/api/internal/openapicheck"
	"github.com/hearthnet/hearth/node"
)

// TestOpenAPISchemasMatchClientTypes: the client's types agree with the
// component schemas of api/openapi.json: what it decodes has exactly the
// properties the server sends, and what it sends only properties the
// server takes (the server refuses any other field).
func TestOpenAPISchemasMatchClientTypes(t *testing.T) {
	doc, err := os.ReadFile("../openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := openapicheck.New(doc)
	if err != nil {
		t.Fatal(err)
	}
	res := func(name string, v any) { c.Check(name, reflect.TypeOf(v), openapicheck.ClientResponse) }
	req := func(name string, v any) { c.Check(name, reflect.TypeOf(v), openapicheck.ClientRequest) }

	res("LoginLink", LoginLink{})
	res("Status", Status{})
	res("GroupSummary", GroupSummary{})
	res("GroupDetail", GroupDetail{})
	res("Member", Member{})
	req("CreateGroupRequest", createGroupRequest{})
	req("CreateInviteRequest", InviteOptions{})
	res("CreatedInvite", CreatedInvite{})
	res("Invite", Invite{})
	req("JoinRequest", joinRequest{})
	res("JoinResult", JoinResult{})
	res("WaitingRequest", WaitingRequest{})
	req("RoleRequest", roleRequest{})
	req("PostRequest", postRequest{})
	res("Message", Message{})
	// The events' data come in three parts; together they are the
	// whole of EventData.
	parts := map[string]bool{}
	for _, v := range []any{EventData{}, CareEventData{}, MeetingEventData{}} {
		c.Check("EventData", reflect.TypeOf(v), openapicheck.ClientPart)
		for _, name := range openapicheck.FieldNames(reflect.TypeOf(v)) {
			parts[name] = true
		}
	}
	for _, p := range c.Properties("EventData") {
		if !parts[p] {
			c.Addf("EventData: no client type decodes the property %q", p)
		}
	}
	res("JournalEntry", node.JournalEntry{})
	req("JournalRequest", JournalInput{})
	req("JournalEdit", editJournalRequest{})
	res("CheckIn", node.CheckIn{})
	req("CheckInRequest", CheckInInput{})
	res("Habit", Habit{})
	res("Insight", Insight{})
	res("Shared", Shared{})
	res("Wellbeing", node.Wellbeing{})
	req("Wellbeing", node.Wellbeing{})
	res("CrisisResource", CrisisResource{})
	res("Crisis", Crisis{})
	res("SOS", SOS{})
	res("SOSReply", SOSReply{})
	req("SOSRequest", SOSInput{})
	res("SOSSent", SOSSent{})
	res("Mentorship", Mentorship{})
	res("MentorRequest", MentorRequest{})
	res("Meeting", Meeting{})
	req("MeetingRequest", MeetingInput{})
	res("Occurrence", Occurrence{})
	res("RoomMember", RoomMember{})
	res("RoomSelf", RoomSelf{})
	res("Room", Room{})
	res("Removal", Removal{})
	res("Report", Report{})
	res("Guidelines", Guidelines{})
	res("MutedMember", Muted{})
	req("ReasonRequest", reasonRequest{})
	res("MailboxInfo", MailboxInfo{})
	res("GroupMailbox", GroupMailbox{})
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
}
