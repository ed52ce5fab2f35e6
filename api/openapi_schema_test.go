package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/hearthnet/hearth/api/internal/openapicheck"
	"github.com/hearthnet/hearth/node"
)

// The bodies openapi.json describes, checked against the Go types that
// really encode and decode them (api/internal/openapicheck says how). The
// client's types are checked against the same schemas in api/client's
// openapi_test.go.

// serverSchemaTypes are the Go types the server encodes (responses) and
// decodes (requests) for each component schema.
func serverSchemaTypes() []struct {
	name string
	typ  reflect.Type
	mode openapicheck.Mode
} {
	type entry = struct {
		name string
		typ  reflect.Type
		mode openapicheck.Mode
	}
	res := func(name string, v any) entry { return entry{name, reflect.TypeOf(v), openapicheck.Response} }
	req := func(name string, v any) entry { return entry{name, reflect.TypeOf(v), openapicheck.Request} }
	return []entry{
		res("Error", errorBody{}),
		res("LoginLink", loginLinkJSON{}),
		res("Status", statusJSON{}),
		res("GroupSummary", groupSummaryJSON{}),
		res("GroupDetail", groupDetailJSON{}),
		res("Member", memberJSON{}),
		req("CreateGroupRequest", createGroupRequest{}),
		res("GroupCreated", groupCreatedJSON{}),
		req("CreateInviteRequest", createInviteRequest{}),
		res("CreatedInvite", createdInviteJSON{}),
		res("Invite", inviteJSON{}),
		res("Revoked", revokedJSON{}),
		req("JoinRequest", joinRequest{}),
		res("JoinResult", joinResultJSON{}),
		res("WaitingRequest", waitingJSON{}),
		req("Empty", noFields{}),
		res("MemberStatus", memberStatusJSON{}),
		req("RoleRequest", roleRequest{}),
		res("RoleResult", roleResultJSON{}),
		res("LeftResult", leftJSON{}),
		req("PostRequest", postRequest{}),
		res("Posted", postedJSON{}),
		res("Message", messageJSON{}),
		res("EventData", eventJSON{}),
		res("Overflow", overflowJSON{}),
		res("JournalEntry", node.JournalEntry{}),
		req("JournalRequest", journalRequest{}),
		req("JournalEdit", editJournalRequest{}),
		res("CheckIn", node.CheckIn{}),
		req("CheckInRequest", checkInRequest{}),
		res("Habit", habitJSON{}),
		res("Slip", node.Slip{}),
		res("HabitStatus", node.HabitStatus{}),
		req("HabitRequest", habitRequest{}),
		req("SlipRequest", slipRequest{}),
		req("ShareRequest", shareRequest{}),
		res("Shared", sharedJSON{}),
		res("Insight", insightJSON{}),
		res("Wellbeing", node.Wellbeing{}),
		req("Wellbeing", node.Wellbeing{}),
		res("SetupStatus", setupStatusJSON{}),
		req("SetupRequest", setupRequest{}),
		res("CrisisResource", crisisResourceJSON{}),
		res("Crisis", crisisJSON{}),
		res("SOSReply", sosReplyJSON{}),
		res("SOS", sosJSON{}),
		req("SOSRequest", sosRequest{}),
		res("SOSSent", sosSentAllJSON{}),
		req("TextRequest", textRequest{}),
		res("Mentorship", mentorshipJSON{}),
		res("MentorRequest", mentorRequestJSON{}),
		res("Declined", declinedJSON{}),
		req("AskMentorRequest", askMentorRequest{}),
		req("PairingRequest", pairingRequest{}),
		res("PairingSuggested", pairingSuggestedJSON{}),
		res("Meeting", meetingJSON{}),
		req("MeetingRequest", scheduleRequest{}),
		res("Occurrence", occurrenceJSON{}),
		res("RoomMember", roomMemberJSON{}),
		res("RoomSelf", roomSelfJSON{}),
		res("Room", roomJSON{}),
		req("CheckInRoomRequest", checkInRoomRequest{}),
		req("FloorRequest", floorRequest{}),
		req("TimerRequest", timerRequest{}),
		res("Removal", removalJSON{}),
		req("EditRequest", editRequest{}),
		req("ReasonRequest", reasonRequest{}),
		req("GuidelinesRequest", guidelinesRequest{}),
		res("MessageStatus", messageStatusJSON{}),
		res("ReportDismissed", reportDismissedJSON{}),
		res("MuteStatus", memberStatusJSON{}),
		res("MutedMember", mutedJSON{}),
		res("Report", reportJSON{}),
		res("Guidelines", guidelinesJSON{}),
		req("WipeRequest", wipeRequest{}),
		res("Wiped", wipeJSON{}),
		req("PassphraseChange", passphraseRequest{}),
		res("PassphraseChanged", passphraseJSON{}),
		res("MailboxInfo", mailboxInfoJSON{}),
		res("GroupMailbox", groupMailboxJSON{}),
		req("SetMailboxRequest", setMailboxRequest{}),
		res("UnlockStatus", unlockStatusJSON{}),
		req("UnlockRequest", unlockRequest{}),
	}
}

// TestOpenAPISchemasMatchTypes: every component schema describes exactly
// the Go type the server encodes or decodes with it, and every schema has
// such a type.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	c, err := openapicheck.New(openAPIDocument())
	if err != nil {
		t.Fatal(err)
	}
	covered := make(map[string]bool)
	for _, e := range serverSchemaTypes() {
		c.Check(e.name, e.typ, e.mode)
		covered[e.name] = true
	}
	for name := range c.Schemas {
		if !covered[name] {
			c.Addf("%s: no Go type is checked against this schema; add it to serverSchemaTypes", name)
		}
	}
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestSchemaCheckerCatchesDrift shows the check is not vacuous: a
// property renamed, one missing, additionalProperties dropped, a required
// field left out, and a wrong JSON type are each reported.
func TestSchemaCheckerCatchesDrift(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	status := schemas["Status"].(map[string]any)
	props := status["properties"].(map[string]any)
	props["peerid"] = props["peer_id"]
	delete(props, "peer_id")
	delete(props, "version")
	delete(status, "additionalProperties")
	post := schemas["PostRequest"].(map[string]any)
	post["properties"].(map[string]any)["reply_to"] = map[string]any{"type": "integer"}
	member := schemas["Member"].(map[string]any)
	member["required"] = []any{"member", "role"}
	b, _ := json.Marshal(doc)
	c, err := openapicheck.New(b)
	if err != nil {
		t.Fatal(err)
	}
	c.Check("Status", reflect.TypeOf(statusJSON{}), openapicheck.Response)
	c.Check("PostRequest", reflect.TypeOf(postRequest{}), openapicheck.Request)
	c.Check("Member", reflect.TypeOf(memberJSON{}), openapicheck.Response)
	err = c.Err()
	for _, want := range []string{
		`Status: api.statusJSON has the field "peer_id"`,
		`Status: the schema has the property "peerid"`,
		`Status: api.statusJSON has the field "version", the schema has no such property`,
		`Status: additionalProperties must be false`,
		`PostRequest.reply_to: the schema says [integer], string encodes as string`,
		`Member: "pseudonym" should be required`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("drift not reported: %s\n%v", want, err)
		}
	}
}
