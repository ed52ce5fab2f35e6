package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/node"
	"github.com/hearthnet/hearth/protocol"
)

// contractStatus is the status of every code, as the contract
// (docs/PROTOCOL.md, "Local control API") publishes it.
func contractStatus() map[string]int {
	return map[string]int{
		CodeBadRequest: 400, CodeUnknownField: 400, CodeBadPseudonym: 400, CodeBadGroupName: 400,
		CodeBadText: 400, CodeBadDuration: 400, CodeBadID: 400, CodeNoGroup: 404, CodeNoInvite: 404,
		CodeNotWaiting: 404, CodeNoMember: 404, CodeNotAdmin: 403, CodeRemoved: 409, CodeAlreadyMember: 409,
		CodeInviteMistyped: 400, CodeInviteMalformed: 400, CodeInviteExpired: 410, CodeInviteRevoked: 410,
		CodeInviteUsedUp: 410, CodeInviteUnknown: 404, CodeJoinDenied: 403, CodeAdminUnreachable: 502,
		CodeUnavailable: 503, CodeInternal: 500, CodeConflict: 409, CodeNotFound: 404,
	}
}

// nodeSentinels are the node's exported errors by name. The test below
// parses node/errors.go, so a sentinel added there fails it until it is
// listed here and mapped.
func nodeSentinels() map[string]error {
	return map[string]error{
		"ErrHomeExists": node.ErrHomeExists, "ErrNoHome": node.ErrNoHome, "ErrClosed": node.ErrClosed,
		"ErrNoGroup": node.ErrNoGroup, "ErrNotAdmin": node.ErrNotAdmin, "ErrRemoved": node.ErrRemoved,
		"ErrNoInvite": node.ErrNoInvite, "ErrNotWaiting": node.ErrNotWaiting, "ErrNoMember": node.ErrNoMember,
		"ErrNoMessage": node.ErrNoMessage, "ErrInviteMistyped": node.ErrInviteMistyped,
		"ErrInviteMalformed": node.ErrInviteMalformed, "ErrInviteExpired": node.ErrInviteExpired,
		"ErrInviteRevoked": node.ErrInviteRevoked, "ErrInviteUsedUp": node.ErrInviteUsedUp,
		"ErrInviteUnknown": node.ErrInviteUnknown, "ErrJoinDenied": node.ErrJoinDenied,
		"ErrJoinFailed": node.ErrJoinFailed, "ErrAdminUnreachable": node.ErrAdminUnreachable,
		"ErrAlreadyMember": node.ErrAlreadyMember,
	}
}

// notFromRoutes are node sentinels no route can meet: they come from
// InitHome, UnlockHome and New, which the daemon calls before the API
// exists.
func notFromRoutes() []string { return []string{"ErrHomeExists", "ErrNoHome"} }

// TestEveryNodeSentinelHasACode: every exported error of the node, and the
// protocol errors the node passes on, is answered with a contract code and
// the contract's status, never as an internal error, even wrapped the way
// the node wraps them.
func TestEveryNodeSentinelHasACode(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "../node/errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, s := range gd.Specs {
			for _, n := range s.(*ast.ValueSpec).Names {
				if n.IsExported() && strings.HasPrefix(n.Name, "Err") {
					declared = append(declared, n.Name)
				}
			}
		}
	}
	known := nodeSentinels()
	for _, name := range declared {
		if _, ok := known[name]; !ok {
			t.Errorf("node.%s is new: map it in nodeErrorTable and list it in nodeSentinels", name)
		}
	}
	status := contractStatus()
	check := func(name string, sentinel error) {
		err := nodeError(fmt.Errorf("node: doing something: %w", sentinel))
		var ae *APIError
		if !errors.As(err, &ae) {
			t.Errorf("%s: not mapped (%v)", name, err)
			return
		}
		if ae.Code == CodeInternal {
			t.Errorf("%s: mapped to internal", name)
		}
		if want, ok := status[ae.Code]; !ok || want != ae.Status {
			t.Errorf("%s: code %q with status %d; the contract says %d", name, ae.Code, ae.Status, want)
		}
		if ae.Message == "" || strings.Contains(ae.Message, "hearth/") || strings.HasSuffix(ae.Message, ".") {
			t.Errorf("%s: message %q is not a plain sentence for people", name, ae.Message)
		}
	}
	for name, sentinel := range known {
		if slices.Contains(notFromRoutes(), name) {
			continue
		}
		check("node."+name, sentinel)
	}
	for name, sentinel := range map[string]error{
		"protocol.ErrBadPseudonym": protocol.ErrBadPseudonym, "protocol.ErrBadGroupName": protocol.ErrBadGroupName,
		"protocol.ErrBadPost": protocol.ErrBadPost, "protocol.ErrBadRole": protocol.ErrBadRole,
		"protocol.ErrLastHost": protocol.ErrLastHost, "protocol.ErrBadChange": protocol.ErrBadChange,
		"protocol.ErrRosterFull": protocol.ErrRosterFull, "crypto.ErrBadID": crypto.ErrBadID,
		"crypto.ErrInviteVersion": crypto.ErrInviteVersion,
	} {
		check(name, sentinel)
	}
}

// TestNodeErrorSpecifics pins the choices a reader could get wrong: a
// newer invite version is malformed with its own message, an APIError
// passes through, and an unknown error stays itself (500, no details).
func TestNodeErrorSpecifics(t *testing.T) {
	var ae *APIError
	err := nodeError(fmt.Errorf("node: %w: %w", node.ErrInviteMalformed, crypto.ErrInviteVersion))
	if !errors.As(err, &ae) || ae.Code != CodeInviteMalformed || !strings.Contains(ae.Message, "newer version") {
		t.Errorf("newer invite: %v", err)
	}
	mine := NewError(http.StatusTeapot, "tea", "have some")
	if got := nodeError(fmt.Errorf("wrapped: %w", mine)); got != mine {
		t.Errorf("APIError changed: %v", got)
	}
	other := errors.New("disk on fire")
	if got := nodeError(other); got != other {
		t.Errorf("unknown error became %v", got)
	}
	if nodeError(nil) != nil {
		t.Error("nil became an error")
	}
}

// TestCodesInOpenAPI: every code the routes can answer is in the error
// code enum of openapi.json, so a client generated from it knows them all.
func TestCodesInOpenAPI(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				Error struct {
					Properties struct {
						Error struct {
							Properties struct {
								Code struct {
									Enum []string `json:"enum"`
								} `json:"code"`
							} `json:"properties"`
						} `json:"error"`
					} `json:"properties"`
				} `json:"Error"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	enum := doc.Components.Schemas.Error.Properties.Error.Properties.Code.Enum
	for code := range contractStatus() {
		if !slices.Contains(enum, code) {
			t.Errorf("code %q is not in openapi.json's enum", code)
		}
	}
	for _, m := range nodeErrorTable() {
		if !slices.Contains(enum, m.code) {
			t.Errorf("code %q of %v is not in openapi.json's enum", m.code, m.err)
		}
	}
}
