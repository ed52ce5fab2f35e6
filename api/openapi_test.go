package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func testServerForDoc(t *testing.T) *Server {
	t.Helper()
	tok, _ := NewToken(nil)
	// The API's whole route table: the built-in routes and the node's
	// (NodeRoutes touches its node only when a request is served) and the
	// first-run setup and unlock routes.
	s, err := NewServer(Config{Token: tok, Addr: "127.0.0.1:7070", Routes: UnlockRoutes(SetupRoutes(NodeRoutes(nil, NodeOptions{}), nil), nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOpenAPIMatchesRoutes: every route in the table is in openapi.json
// and every operation there is a route, with matching security.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	if err := checkOpenAPI(openAPIDocument(), testServerForDoc(t).Routes()); err != nil {
		t.Fatal(err)
	}
}

// TestCheckOpenAPICatchesDrift shows the check is not vacuous.
func TestCheckOpenAPICatchesDrift(t *testing.T) {
	routes := testServerForDoc(t).Routes()
	noop := func(http.ResponseWriter, *http.Request) error { return nil }

	extra := append(routes, Route{Method: "DELETE", Path: "/api/v1/groups/{id}", Summary: "x", Handler: noop})
	if err := checkOpenAPI(openAPIDocument(), extra); err == nil || !strings.Contains(err.Error(), "DELETE /api/v1/groups/{id} is not in openapi.json") {
		t.Errorf("undocumented route: %v", err)
	}
	if err := checkOpenAPI(openAPIDocument(), routes[1:]); err == nil || !strings.Contains(err.Error(), "GET /login is in openapi.json but no route serves it") {
		t.Errorf("documented operation without a route: %v", err)
	}

	var doc map[string]any
	if err := json.Unmarshal(openAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	health := doc["paths"].(map[string]any)["/api/v1/health"].(map[string]any)["get"].(map[string]any)
	health["security"] = []any{}
	b, _ := json.Marshal(doc)
	if err := checkOpenAPI(b, routes); err == nil || !strings.Contains(err.Error(), "GET /api/v1/health: openapi.json security") {
		t.Errorf("security mismatch: %v", err)
	}
	delete(health, "security")
	doc["paths"].(map[string]any)["/api/v1/groups/{id}"] = map[string]any{"delete": map[string]any{"responses": map[string]any{"204": map[string]any{}}}}
	b, _ = json.Marshal(doc)
	if err := checkOpenAPI(b, extra); err == nil || !strings.Contains(err.Error(), `path parameter "id" is not declared`) {
		t.Errorf("undeclared path parameter: %v", err)
	}
	doc["openapi"] = "3.0.3"
	b, _ = json.Marshal(doc)
	if err := checkOpenAPI(b, routes); err == nil {
		t.Error("OpenAPI 3.0 accepted")
	}
}
