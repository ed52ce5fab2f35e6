// Package openapicheck compares the Go types that encode and decode the
// API's bodies (the server's in package api, the client's in api/client)
// with the component schemas of openapi.json: every property a type has,
// and no other, with the right JSON type; the fields a response always
// carries (no omitempty) listed as required; and additionalProperties
// false, which for a request body is what the server's strict decoder
// enforces (an unknown field is refused). It is used by the tests of both
// packages.
package openapicheck

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"
)

// Mode says how a Go type relates to its schema.
type Mode int

const (
	// Response: the server encodes the type. Properties must match
	// exactly; fields without omitempty are required.
	Response Mode = iota
	// Request: the server decodes the type strictly. Properties must
	// match exactly; required fields are the handler's business, but must
	// be properties.
	Request
	// ClientRequest: the client encodes the type. Every field must
	// be a property (the server would refuse anything else); fields the
	// client never sends may be missing.
	ClientRequest
	// ClientResponse: the client decodes the type. Its fields must be
	// the properties exactly: a field that is no property is never
	// filled, and a property with no field is lost to the client's users.
	ClientResponse
	// ClientPart: the client decodes part of the body with the type (one
	// of several types for one body, as for the events' data). Every
	// field must be a property; the test checks that the parts together
	// cover the properties (FieldNames).
	ClientPart
)

// Checker compares Go types with the document's component schemas.
type Checker struct {
	// Schemas are the document's component schemas, by name.
	Schemas  map[string]map[string]any
	problems []string
	seen     map[string]bool // "schema<-type" pairs already checked
}

// New returns a checker of the component schemas of the OpenAPI document
// doc.
func New(doc []byte) (*Checker, error) {
	var d struct {
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, err
	}
	return &Checker{Schemas: d.Components.Schemas, seen: make(map[string]bool)}, nil
}

// Addf records a problem.
func (c *Checker) Addf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// FieldNames returns the JSON names of t's fields, as encoding/json
// encodes them.
func FieldNames(t reflect.Type) []string {
	var out []string
	for _, f := range jsonFields(t) {
		out = append(out, f.name)
	}
	return out
}

// Properties returns the property names of the component schema name.
func (c *Checker) Properties(name string) []string {
	props, _ := c.Schemas[name]["properties"].(map[string]any)
	var out []string
	for p := range props {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// jsonField is one field of a struct as encoding/json sees it.
type jsonField struct {
	name      string
	typ       reflect.Type
	omitempty bool
}

// jsonFields lists t's fields as encoding/json encodes them: exported,
// not "-", embedded structs without a tag flattened.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, jsonFields(ft)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name: name, typ: ft, omitempty: slices.Contains(strings.Split(opts, ","), "omitempty")})
	}
	return out
}

// Types the checker knows how encoding/json writes.
func timeType() reflect.Type     { return reflect.TypeFor[time.Time]() }
func durationType() reflect.Type { return reflect.TypeFor[time.Duration]() }
func rawType() reflect.Type      { return reflect.TypeFor[json.RawMessage]() }
func marshalerType() reflect.Type {
	return reflect.TypeFor[json.Marshaler]()
}
func textType() reflect.Type {
	return reflect.TypeFor[interface{ MarshalText() ([]byte, error) }]()
}

// jsonTypeOf returns the JSON type a value of t encodes to, or "" when it
// cannot tell (a custom marshaler other than text, an interface).
func jsonTypeOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType():
		return "string"
	case t == rawType():
		return ""
	case t.Implements(textType()) || reflect.PointerTo(t).Implements(textType()):
		return "string"
	case t.Implements(marshalerType()) || reflect.PointerTo(t).Implements(marshalerType()):
		return ""
	case t == durationType():
		return "integer"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return "string"
		}
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return ""
}

// schemaTypes returns the JSON types a schema allows ("type" as a string
// or a list), nil when it does not say.
func schemaTypes(s map[string]any) []string {
	switch v := s["type"].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// resolve follows a $ref to a component schema, returning its name too.
func (c *Checker) resolve(s map[string]any) (map[string]any, string) {
	ref, ok := s["$ref"].(string)
	if !ok {
		return s, ""
	}
	name, ok := strings.CutPrefix(ref, "#/components/schemas/")
	if !ok {
		c.Addf("unsupported $ref %q", ref)
		return nil, ""
	}
	target, ok := c.Schemas[name]
	if !ok {
		c.Addf("$ref %q names no schema", ref)
		return nil, ""
	}
	return target, name
}

// Check compares the component schema name with t.
func (c *Checker) Check(name string, t reflect.Type, mode Mode) {
	s, ok := c.Schemas[name]
	if !ok {
		c.Addf("%s: no such schema in components.schemas (for %v)", name, t)
		return
	}
	c.check(name, s, t, mode)
}

// check compares schema s (at path where) with t, recursing into
// properties, array items and $refs.
func (c *Checker) check(where string, s map[string]any, t reflect.Type, mode Mode) {
	// A choice (a field that may be null) is checked against each of its
	// alternatives but null.
	for _, key := range []string{"oneOf", "anyOf"} {
		if alts, ok := s[key].([]any); ok {
			for _, a := range alts {
				if alt, ok := a.(map[string]any); ok && !slices.Equal(schemaTypes(alt), []string{"null"}) {
					c.check(where, alt, t, mode)
				}
			}
			return
		}
	}
	s, ref := c.resolve(s)
	if s == nil {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if ref != "" {
		key := fmt.Sprintf("%s<-%v/%d", ref, t, mode)
		if c.seen[key] {
			return
		}
		c.seen[key] = true
		where = ref
	}
	if want := jsonTypeOf(t); want != "" {
		if types := schemaTypes(s); types != nil && !slices.Contains(types, want) && !(want == "integer" && slices.Contains(types, "number")) {
			c.Addf("%s: the schema says %v, %v encodes as %s", where, types, t, want)
			return
		}
	}
	switch {
	case t == timeType():
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		if items, ok := s["items"].(map[string]any); ok && jsonTypeOf(t) == "array" {
			c.check(where+"[]", items, t.Elem(), mode)
		}
	case t.Kind() == reflect.Struct && jsonTypeOf(t) == "object":
		c.checkObject(where, s, t, mode)
	}
}

func (c *Checker) checkObject(where string, s map[string]any, t reflect.Type, mode Mode) {
	props, _ := s["properties"].(map[string]any)
	fields := jsonFields(t)
	have := make(map[string]jsonField, len(fields))
	for _, f := range fields {
		have[f.name] = f
		p, ok := props[f.name].(map[string]any)
		if !ok {
			c.Addf("%s: %v has the field %q, the schema has no such property", where, t, f.name)
			continue
		}
		c.check(where+"."+f.name, p, f.typ, mode)
	}
	if mode != ClientRequest && mode != ClientPart {
		for name := range props {
			if _, ok := have[name]; !ok {
				c.Addf("%s: the schema has the property %q, %v has no such field", where, name, t)
			}
		}
	}
	if mode == Response || mode == Request {
		if s["additionalProperties"] != false {
			c.Addf("%s: additionalProperties must be false (%v has exactly the properties listed%s)", where, t,
				map[bool]string{true: ", and the decoder refuses any other", false: ""}[mode == Request])
		}
	}
	var required []string
	if r, ok := s["required"].([]any); ok {
		for _, x := range r {
			name, _ := x.(string)
			required = append(required, name)
			if _, ok := props[name]; !ok {
				c.Addf("%s: %q is required but is not a property", where, name)
			}
		}
	}
	if mode == Response {
		for _, f := range fields {
			if always := !f.omitempty; always != slices.Contains(required, f.name) {
				c.Addf("%s: %q should %sbe required (%v always sends it: %v)", where, f.name,
					map[bool]string{true: "", false: "not "}[always], t, always)
			}
		}
	}
}

// Err returns the problems found, sorted, as one error.
func (c *Checker) Err() error {
	if len(c.problems) == 0 {
		return nil
	}
	sort.Strings(c.problems)
	c.problems = slices.Compact(c.problems)
	return fmt.Errorf("openapi.json and the Go types disagree:\n\t%s", strings.Join(c.problems, "\n\t"))
}
