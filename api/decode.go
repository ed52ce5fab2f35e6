package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// DefaultMaxBodyBytes is the body limit when Config.MaxBodyBytes is zero.
// Every request the API takes is a small JSON object; 1 MiB leaves room for
// a long post and refuses anything meant to exhaust memory.
const DefaultMaxBodyBytes = 1 << 20

// bodyReadTimeout bounds how long a handler waits for a request body, so a
// client that sends its body a byte a minute cannot pin a handler.
const bodyReadTimeout = 30 * time.Second

// maxJSONDepth bounds the nesting of a request body. encoding/json copes
// with deep nesting, but no request Hearth takes needs more than a few
// levels, and the duplicate-key scan keeps one set per level.
const maxJSONDepth = 32

type bodyLimitKey struct{}

// decodeJSON reads the request body into dst, strictly: the Content-Type
// must be application/json (optionally with charset=utf-8), the body must
// hold exactly one JSON value and nothing after it but whitespace, no
// object may repeat a key (compared case-insensitively, as encoding/json
// matches names), and every key must name a field of dst. It returns an
// *APIError ready to be returned from a handler: 415
// unsupported_media_type, 413 body_too_large, 400 unknown_field or 400
// bad_request.
//
// Requiring application/json is also a defence: an HTML form on another
// site can send text/plain or form bodies without a CORS preflight, but not
// application/json.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if err := checkJSONContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	limit, ok := r.Context().Value(bodyLimitKey{}).(int64)
	if !ok || limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	// Errors are ignored: not every ResponseWriter can set deadlines (the
	// httptest recorder cannot), and then the server's own limits apply.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyReadTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errBodyTooLarge(limit)
		}
		return NewError(http.StatusBadRequest, CodeBadRequest, "the request body could not be read; send it again")
	}
	return decodeJSONBytes(body, dst)
}

// checkJSONContentType accepts "application/json" with no parameter or
// with charset=utf-8, and nothing else.
func checkJSONContentType(ct string) error {
	bad := NewError(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
		"send the request body as JSON with the header \"Content-Type: application/json\"")
	if ct == "" {
		return bad
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return bad
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return bad
		}
	}
	return nil
}

// decodeJSONBytes is decodeJSON after the body has been read; it never
// panics, whatever body holds.
func decodeJSONBytes(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return NewError(http.StatusBadRequest, CodeBadRequest, "the request body is empty; send a JSON object")
	}
	if err := checkJSONKeys(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonDecodeError(err)
	}
	// Exactly one value: anything after it but whitespace is refused, so
	// "{...}{...}" or "{...} garbage" cannot smuggle a second request.
	if _, err := dec.Token(); err != io.EOF {
		return NewError(http.StatusBadRequest, CodeBadRequest,
			"the request body has data after the JSON value; send exactly one JSON object")
	}
	return nil
}

// jsonDecodeError turns an encoding/json error into an *APIError whose
// message names the problem without echoing the body.
func jsonDecodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return NewError(http.StatusBadRequest, CodeBadRequest,
			fmt.Sprintf("the request body is not valid JSON (at byte %d); fix the syntax and send it again", syntax.Offset))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return NewError(http.StatusBadRequest, CodeBadRequest,
				fmt.Sprintf("the request body must be a JSON %s", typ.Type.Kind()))
		}
		return NewError(http.StatusBadRequest, CodeBadRequest,
			fmt.Sprintf("the field %q must be of JSON type for %s", field, typ.Type.Kind()))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return NewError(http.StatusBadRequest, CodeBadRequest, "the request body ends in the middle of a JSON value; send all of it")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return NewError(http.StatusBadRequest, CodeUnknownField,
			fmt.Sprintf("the request body has the field %s, which this endpoint does not take; remove it", name))
	}
	return NewError(http.StatusBadRequest, CodeBadRequest, "the request body does not match what this endpoint takes")
}

// checkJSONKeys walks body's tokens and refuses an object that repeats a
// key, or nesting deeper than maxJSONDepth. Repeated keys are a classic
// parser differential (one reader takes the first, another the last), and
// encoding/json silently keeps the last. Keys are compared after case
// folding, because encoding/json matches "Name" and "NAME" to the same
// field. Syntax errors are left for the decoder to report.
func checkJSONKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		object    bool
		expectKey bool
		keys      map[string]struct{}
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		if len(stack) == 0 && !isDelimOpen(tok) {
			// A top-level scalar or the end of the first value: the decoder
			// handles whatever follows.
			return nil
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].expectKey {
			if k, ok := tok.(string); ok {
				folded := strings.ToLower(strings.ToUpper(k))
				if _, dup := stack[n-1].keys[folded]; dup {
					return NewError(http.StatusBadRequest, CodeBadRequest,
						fmt.Sprintf("the request body repeats the field %q; send each field once", k))
				}
				stack[n-1].keys[folded] = struct{}{}
				stack[n-1].expectKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].expectKey = true
			}
			if len(stack) >= maxJSONDepth {
				return NewError(http.StatusBadRequest, CodeBadRequest, "the request body is nested too deeply")
			}
			obj := tok == json.Delim('{')
			f := frame{object: obj, expectKey: obj}
			if obj {
				f.keys = make(map[string]struct{})
			}
			stack = append(stack, f)
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return nil
			}
			if stack[len(stack)-1].object {
				stack[len(stack)-1].expectKey = true
			}
		default:
			if stack[len(stack)-1].object {
				stack[len(stack)-1].expectKey = true
			}
		}
	}
}

func isDelimOpen(tok json.Token) bool {
	return tok == json.Delim('{') || tok == json.Delim('[')
}
