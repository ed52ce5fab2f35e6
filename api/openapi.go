package api

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// openapiFS holds openapi.json, the hand-written OpenAPI 3.1 description
// of every route. embed.FS is read-only, so this package-level variable is
// never mutated.
//
//go:embed openapi.json
var openapiFS embed.FS

// openAPIDocument returns the embedded OpenAPI document.
func openAPIDocument() []byte {
	b, err := openapiFS.ReadFile("openapi.json")
	if err != nil {
		// The file is compiled in; failing to read it is impossible.
		panic("hearth/api: embedded openapi.json missing: " + err.Error())
	}
	return b
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) error {
	b := openAPIDocument()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}

// checkOpenAPI reports every difference between the route table and the
// OpenAPI document doc: a route the document does not describe, an
// operation the document describes that no route serves, a path parameter
// of a route the operation does not declare, an operation whose security
// disagrees with the route's Auth (Public: "security": []; TokenOnly:
// exactly [{"bearerToken": []}]), or an operation without responses. It
// returns nil when they agree exactly. Route files should call it on their
// own route table in their tests.
func checkOpenAPI(doc []byte, routes []Route) error {
	type parameter struct{ Name, In string }
	type operation struct {
		Parameters []parameter                `json:"parameters"`
		Security   *[]map[string][]string     `json:"security"`
		Responses  map[string]json.RawMessage `json:"responses"`
	}
	var d struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return fmt.Errorf("hearth/api: openapi.json does not parse: %w", err)
	}
	var problems []string
	if !strings.HasPrefix(d.OpenAPI, "3.1.") {
		problems = append(problems, fmt.Sprintf("openapi version is %q, want 3.1.x", d.OpenAPI))
	}
	methods := map[string]string{"get": "GET", "put": "PUT", "post": "POST", "delete": "DELETE", "patch": "PATCH",
		"head": "HEAD", "options": "OPTIONS", "trace": "TRACE"}
	table := make(map[string]Route)
	for _, rt := range routes {
		table[rt.pattern()] = rt
	}
	documented := make(map[string]bool)
	for path, item := range d.Paths {
		var shared []parameter
		if raw, ok := item["parameters"]; ok {
			if err := json.Unmarshal(raw, &shared); err != nil {
				problems = append(problems, fmt.Sprintf("%s: parameters do not parse: %v", path, err))
			}
		}
		for key, raw := range item {
			m, ok := methods[key]
			if !ok {
				continue // "parameters", "summary" and other path-item fields
			}
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				problems = append(problems, fmt.Sprintf("%s %s: operation does not parse: %v", m, path, err))
				continue
			}
			pat := m + " " + path
			documented[pat] = true
			rt, ok := table[pat]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s is in openapi.json but no route serves it", pat))
				continue
			}
			if len(op.Responses) == 0 {
				problems = append(problems, fmt.Sprintf("%s has no responses in openapi.json", pat))
			}
			public := op.Security != nil && len(*op.Security) == 0
			if public != (rt.Auth == Public) {
				problems = append(problems, fmt.Sprintf("%s: openapi.json security (public=%v) disagrees with the route (Auth=%d)", pat, public, rt.Auth))
			}
			tokenOnly := op.Security != nil && len(*op.Security) == 1 && len((*op.Security)[0]) == 1 && (*op.Security)[0]["bearerToken"] != nil
			if tokenOnly != (rt.Auth == TokenOnly) {
				problems = append(problems, fmt.Sprintf("%s: openapi.json security (bearer token only=%v) disagrees with the route (Auth=%d)", pat, tokenOnly, rt.Auth))
			}
			for _, seg := range strings.Split(path, "/") {
				if !strings.HasPrefix(seg, "{") {
					continue
				}
				name := strings.Trim(seg, "{}")
				found := false
				for _, p := range append(shared, op.Parameters...) {
					if p.In == "path" && p.Name == name {
						found = true
					}
				}
				if !found {
					problems = append(problems, fmt.Sprintf("%s: path parameter %q is not declared in openapi.json", pat, name))
				}
			}
		}
	}
	for pat := range table {
		if !documented[pat] {
			problems = append(problems, fmt.Sprintf("route %s is not in openapi.json", pat))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return fmt.Errorf("hearth/api: route table and openapi.json disagree:\n\t%s", strings.Join(problems, "\n\t"))
}
