package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hearthnet/hearth/api"
	"github.com/hearthnet/hearth/api/client"
)

// recorded is one request a fake daemon saw.
type recorded struct {
	method, path, query, body, contentType string
}

// fakeDaemon answers every request with status and body, and records what
// it was sent. The end-to-end tests in package api drive the real routes;
// this one pins the exact requests each method sends, which is what the
// web UI and the CLI must agree on.
func fakeDaemon(t *testing.T, status int, body string) (*client.Client, *recorded) {
	t.Helper()
	rec := &recorded{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*rec = recorded{method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery, body: string(b), contentType: r.Header.Get("Content-Type")}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	tok, err := api.NewToken(nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(srv.URL, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

const (
	gid = "00112233445566778899aabbccddeeff"
	mid = "ffeeddccbbaa99887766554433221100"
	iid = "0011223344556677"
)

func TestMethodsSendTheContractsRequests(t *testing.T) {
	when := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		status   int
		answer   string
		call     func(ctx context.Context, c *client.Client) (any, error)
		want     recorded
		wantBack any
	}{
		{"Status", 200, `{"peer_id":"12D3Koo","addrs":["/ip4/127.0.0.1/tcp/1/p2p/12D3Koo"],"groups":2,"peers":1,"version":"v1"}`,
			func(ctx context.Context, c *client.Client) (any, error) { return c.Status(ctx) },
			recorded{method: "GET", path: "/api/v1/status"},
			client.Status{PeerID: "12D3Koo", Addrs: []string{"/ip4/127.0.0.1/tcp/1/p2p/12D3Koo"}, Groups: 2, Peers: 1, Version: "v1"}},
		{"Groups", 200, `[{"group":"` + gid + `","name":"Tuesday","role":"host","members":3,"epoch":4,"removed":false}]`,
			func(ctx context.Context, c *client.Client) (any, error) { return c.Groups(ctx) },
			recorded{method: "GET", path: "/api/v1/groups"},
			[]client.GroupSummary{{Group: gid, Name: "Tuesday", Role: "host", Members: 3, Epoch: 4}}},
		{"CreateGroup", 201, `{"group":"` + gid + `"}`,
			func(ctx context.Context, c *client.Client) (any, error) {
				return c.CreateGroup(ctx, "Tuesday", "ann", "30d")
			},
			recorded{method: "POST", path: "/api/v1/groups", body: `{"name":"Tuesday","pseudonym":"ann","retention":"30d"}`, contentType: "application/json"},
			gid},
		{"CreateGroup default retention", 201, `{"group":"` + gid + `"}`,
			func(ctx context.Context, c *client.Client) (any, error) {
				return c.CreateGroup(ctx, "Tuesday", "ann", "")
			},
			recorded{method: "POST", path: "/api/v1/groups", body: `{"name":"Tuesday","pseudonym":"ann"}`, contentType: "application/json"},
			gid},
		{"Group", 200, `{"group":"` + gid + `","name":"T","role":"member","members":2,"epoch":1,"removed":false,"retention":"forever","me":{"member":"` + mid + `","pseudonym":"bo","role":"member"}}`,
			func(ctx context.Context, c *client.Client) (any, error) { return c.Group(ctx, gid) },
			recorded{method: "GET", path: "/api/v1/groups/" + gid},
			client.GroupDetail{Group: gid, Name: "T", Role: "member", Members: 2, Epoch: 1, Retention: "forever", Me: client.Member{Member: mid, Pseudonym: "bo", Role: "member"}}},
		{"Members", 200, `[{"member":"` + mid + `","pseudonym":"bo","role":"moderator"}]`,
			func(ctx context.Context, c *client.Client) (any, error) { return c.Members(ctx, gid) },
			recorded{method: "GET", path: "/api/v1/groups/" + gid + "/members"},
			[]client.Member{{Member: mid, Pseudonym: "bo", Role: "moderator"}}},
		{"CreateInvite", 201, `{"invite":"hearth:abc","id":"` + iid + `","expires":"2026-11-27T12:00:00Z","uses_left":3,"approval":true}`,
			func(ctx context.Context, c *client.Client) (any, error) {
				return c.CreateInvite(ctx, gid, client.InviteOptions{Expires: "12h", Uses: 3, Approval: true})
			},
			recorded{method: "POST", path: "/api/v1/groups/" + gid + "/invites", body: `{"expires":"12h","uses":3,"approval":true}`, contentType: "application/json"},
			client.CreatedInvite{Invite: "hearth:abc", ID: iid, Expires: when, UsesLeft: 3, Approval: true}},
		{"CreateInvite defaults", 201, `{"invite":"hearth:abc","id":"` + iid + `","expires":"2026-11-27T12:00:00Z","uses_left":1,"approval":false}`,
			func(ctx context.Context, c *client.Client) (any, error) {
				return c.CreateInvite(ctx, gid, client.InviteOptions{})
			},
			recorded{method: "POST", path: "/api/v1/groups/" + gid + "/invites", body: `{}`, contentType: "application/json"},
			client.CreatedInvite{Invite: "hearth:abc", ID: iid, Expires: when, UsesLeft: 1}},
		{"Invites", 200, `[{"id":"` + iid + `","expires":"2026-11-27T12:00:00Z","uses_left":0,"approval":false,"revoked":true}]`,
			func(ctx context.Context, c *client.Client) (any, error) { return c.Invites(ctx, gid) },
			recorded{method: "GET", path: "/api/v1/groups/" + gid + "/invites"},
			[]client.Invite{{ID: iid, Expires: when, Revoked: true}}},
		{"RevokeInvite", 200, `{"revoked":true}`,
			func(ctx context.Context, c *client.Client) (any, error) { return nil, c.RevokeInvite(ctx, gid, iid) },
			recorded{method: "DELETE", path: "/api/v1/groups/" + gid + "/invites/" + iid},
			nil},
		{"Join", 200, `{"group":"` + gid + `","status":"waiting"}`,
			func(ctx context.Context, c *client.Client) (any, error) { return c.Join(ctx, "hearth:abc", "bo") },
			recorded{method: "POST", path: "/api/v1/join", body: `{"invite":"hearth:abc","pseudonym":"bo"}`, contentType: "application/json"},
			client.JoinResult{Group: gid, Status: client.JoinWaiting}},
		{"Waiting", 200, `[{"member":"` + mid + `","pseudonym":"bo","invite":"` + iid + `","requested":"2026-11-27T12:00:00Z"}]`,
			func(ctx context.Context, c *client.Client) (any, error) { return c.Waiting(ctx, gid) },
			recorded{method: "GET", path: "/api/v1/groups/" + gid + "/waiting"},
			[]client.WaitingRequest{{Member: mid, Pseudonym: "bo", Invite: iid, Requested: when}}},
		{"Admit", 200, `{"member":"` + mid + `","status":"admitted"}`,
			func(ctx context.Context, c *client.Client) (any, error) { return nil, c.Admit(ctx, gid, mid) },
			recorded{method: "POST", path: "/api/v1/groups/" + gid + "/waiting/" + mid + "/admit"},
			nil},
		{"Deny", 200, `{"member":"` + mid + `","status":"denied"}`,
			func(ctx context.Context, c *client.Client) (any, error) { return nil, c.Deny(ctx, gid, mid) },
			recorded{method: "POST", path: "/api/v1/groups/" + gid + "/waiting/" + mid + "/deny"},
			nil},
		{"SetRole", 200, `{"member":"` + mid + `","role":"host"}`,
			func(ctx context.Context, c *client.Client) (any, error) { return nil, c.SetRole(ctx, gid, mid, "host") },
			recorded{method: "POST", path: "/api/v1/groups/" + gid + "/members/" + mid + "/role", body: `{"role":"host"}`, contentType: "application/json"},
			nil},
		{"Remove", 200, `{"member":"` + mid + `","status":"removed"}`,
			func(ctx context.Context, c *client.Client) (any, error) { return nil, c.Remove(ctx, gid, mid) },
			recorded{method: "DELETE", path: "/api/v1/groups/" + gid + "/members/" + mid},
			nil},
		{"Leave", 200, `{"group":"` + gid + `","status":"left"}`,
			func(ctx context.Context, c *client.Client) (any, error) { return nil, c.Leave(ctx, gid) },
			recorded{method: "POST", path: "/api/v1/groups/" + gid + "/leave"},
			nil},
		{"Post", 201, `{"id":"` + mid + `"}`,
			func(ctx context.Context, c *client.Client) (any, error) { return c.Post(ctx, gid, "hi \"all\"", "") },
			recorded{method: "POST", path: "/api/v1/groups/" + gid + "/messages", body: `{"text":"hi \"all\""}`, contentType: "application/json"},
			mid},
		{"Post reply", 201, `{"id":"` + mid + `"}`,
			func(ctx context.Context, c *client.Client) (any, error) { return c.Post(ctx, gid, "yes", mid) },
			recorded{method: "POST", path: "/api/v1/groups/" + gid + "/messages", body: `{"text":"yes","reply_to":"` + mid + `"}`, contentType: "application/json"},
			mid},
		{"Messages", 200, `[{"id":"` + mid + `","group":"` + gid + `","author":"` + mid + `","pseudonym":"bo","text":"hi","sent":"2026-11-27T12:00:00Z","received":"2026-11-27T12:00:00Z","reply_to":"","late":true,"epoch":2}]`,
			func(ctx context.Context, c *client.Client) (any, error) { return c.Messages(ctx, gid, 20, mid) },
			recorded{method: "GET", path: "/api/v1/groups/" + gid + "/messages", query: "before=" + mid + "&limit=20"},
			[]client.Message{{ID: mid, Group: gid, Author: mid, Pseudonym: "bo", Text: "hi", Sent: when, Received: when, Late: true, Epoch: 2}}},
		{"Messages defaults", 200, `[]`,
			func(ctx context.Context, c *client.Client) (any, error) { return c.Messages(ctx, gid, 0, "") },
			recorded{method: "GET", path: "/api/v1/groups/" + gid + "/messages"},
			[]client.Message{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, rec := fakeDaemon(t, tc.status, tc.answer)
			got, err := tc.call(t.Context(), c)
			if err != nil {
				t.Fatal(err)
			}
			if *rec != tc.want {
				t.Errorf("sent %+v\nwant %+v", *rec, tc.want)
			}
			if tc.wantBack != nil && !reflect.DeepEqual(got, tc.wantBack) {
				t.Errorf("returned %#v\nwant %#v", got, tc.wantBack)
			}
		})
	}
}

// TestMethodsReturnAPIErrors: every method hands back the daemon's code,
// which is what the CLI branches on.
func TestMethodsReturnAPIErrors(t *testing.T) {
	c, _ := fakeDaemon(t, http.StatusNotFound, `{"error":{"code":"no_group","message":"no such group here"}}`)
	ctx := t.Context()
	calls := map[string]func() error{
		"Group":        func() error { _, err := c.Group(ctx, gid); return err },
		"Members":      func() error { _, err := c.Members(ctx, gid); return err },
		"Invites":      func() error { _, err := c.Invites(ctx, gid); return err },
		"RevokeInvite": func() error { return c.RevokeInvite(ctx, gid, iid) },
		"Waiting":      func() error { _, err := c.Waiting(ctx, gid); return err },
		"Admit":        func() error { return c.Admit(ctx, gid, mid) },
		"Leave":        func() error { return c.Leave(ctx, gid) },
		"Post":         func() error { _, err := c.Post(ctx, gid, "x", ""); return err },
		"Messages":     func() error { _, err := c.Messages(ctx, gid, 0, ""); return err },
	}
	for name, call := range calls {
		var e *client.Error
		if err := call(); !errors.As(err, &e) || e.Code != "no_group" || e.Status != http.StatusNotFound {
			t.Errorf("%s: %v, want *Error no_group 404", name, err)
		}
	}
}

// TestEmptyIDsRefusedLocally: an empty ID would make a different path
// (".../groups//members"), so the client refuses it without asking.
func TestEmptyIDsRefusedLocally(t *testing.T) {
	c, rec := fakeDaemon(t, 200, `{}`)
	ctx := t.Context()
	for name, err := range map[string]error{
		"group":  c.Leave(ctx, ""),
		"member": c.Admit(ctx, gid, ""),
		"invite": c.RevokeInvite(ctx, gid, ""),
	} {
		var e *client.Error
		if !errors.As(err, &e) || e.Code != client.CodeBadID || !strings.Contains(e.Message, name) {
			t.Errorf("empty %s ID: %v", name, err)
		}
	}
	if rec.method != "" {
		t.Errorf("a request was sent: %+v", *rec)
	}
}

func TestEventDecode(t *testing.T) {
	ev := client.Event{Type: client.EventMessage, Data: []byte(`{"group":"` + gid + `","message":{"id":"` + mid + `","text":"hi"}}`)}
	d, err := ev.Decode()
	if err != nil || d.Group != gid || d.Message == nil || d.Message.Text != "hi" {
		t.Fatalf("Decode = %+v, %v", d, err)
	}
	if _, err := (client.Event{Type: api.OverflowEvent, Data: []byte(`{"dropped":3}`)}).Decode(); err == nil {
		t.Error("overflow decoded as group data")
	}
	if _, err := (client.Event{Type: client.EventJoined, Data: []byte(`[`)}).Decode(); err == nil {
		t.Error("broken data decoded")
	}
}
