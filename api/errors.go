package api

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Stable error codes. Clients (the web UI, the CLI, scripts) branch on the
// code, never on the message, so a code once published keeps its meaning.
// Route files may define further codes for their own domain (for example
// "invite_expired"); a code is lower-case ASCII words joined by underscores.
const (
	// CodeUnauthorized: the request carried no valid token or session.
	CodeUnauthorized = "unauthorized"
	// CodeForbiddenOrigin: the request came from another origin (Origin or
	// Sec-Fetch-Site), or a cookie-authenticated request that changes state
	// carried no Origin header.
	CodeForbiddenOrigin = "forbidden_origin"
	// CodeForbiddenHost: the Host header is not one the server answers to.
	CodeForbiddenHost = "forbidden_host"
	// CodeBadRequest: the request is malformed (bad JSON, wrong types,
	// trailing data, missing parameters).
	CodeBadRequest = "bad_request"
	// CodeUnknownField: the JSON body names a field the route does not take.
	CodeUnknownField = "unknown_field"
	// CodeBodyTooLarge: the body exceeds the server's limit.
	CodeBodyTooLarge = "body_too_large"
	// CodeUnsupportedMediaType: a body was sent without Content-Type
	// application/json.
	CodeUnsupportedMediaType = "unsupported_media_type"
	// CodeNotFound: no such route or no such object.
	CodeNotFound = "not_found"
	// CodeMethodNotAllowed: the path exists but not with this method.
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeConflict: the request conflicts with the current state.
	CodeConflict = "conflict"
	// CodeInvalidLoginCode: a login link was already used, has expired or
	// was never issued.
	CodeInvalidLoginCode = "invalid_login_code"
	// CodeInternal: the server failed; the message never carries details.
	CodeInternal = "internal"
	// CodeUnavailable: the node cannot serve this right now (starting,
	// locked, shutting down).
	CodeUnavailable = "unavailable"
)

// APIError is an error a handler returns to have it sent to the client as
// {"error": {"code": Code, "message": Message}} with HTTP status Status.
// Message is shown to people: it says what went wrong and what to do, and
// never carries secrets or group content.
type APIError struct {
	Status  int
	Code    string
	Message string
}

// Error returns the code and message, for logs and tests.
func (e *APIError) Error() string {
	return fmt.Sprintf("hearth/api: %s (%d): %s", e.Code, e.Status, e.Message)
}

// NewError returns an *APIError with the given status, code and message.
func NewError(status int, code, message string) *APIError {
	return &APIError{Status: status, Code: code, Message: message}
}

// The errors the plumbing itself returns. Each is built fresh by a function
// (package-level values would be shared and mutable).

func errUnauthorized() *APIError {
	return NewError(http.StatusUnauthorized, CodeUnauthorized,
		"this request needs the API token: send it as \"Authorization: Bearer <token>\" "+
			"(the token is in the file "+TokenFile+" in the node's home directory), "+
			"or open the login link the daemon printed (run 'hearth ui' for a new one)")
}

func errForbiddenOrigin() *APIError {
	return NewError(http.StatusForbidden, CodeForbiddenOrigin,
		"requests from other web sites are refused; open the Hearth web UI from the link the daemon printed, or run 'hearth ui' for a new one")
}

func errNeedOrigin() *APIError {
	return NewError(http.StatusForbidden, CodeForbiddenOrigin,
		"a request that changes something and is authenticated by the session cookie must carry an Origin header; "+
			"use the Hearth web UI, or send the API token instead")
}

func errNotFound() *APIError {
	return NewError(http.StatusNotFound, CodeNotFound,
		"there is no such API endpoint; see /api/v1/openapi.json for the ones that exist")
}

func errMethodNotAllowed() *APIError {
	return NewError(http.StatusMethodNotAllowed, CodeMethodNotAllowed,
		"this endpoint does not accept that method; see the Allow header or /api/v1/openapi.json")
}

func errInternal() *APIError {
	return NewError(http.StatusInternalServerError, CodeInternal,
		"the node hit an internal error; the daemon's log has details, and trying again may help")
}

func errBodyTooLarge(limit int64) *APIError {
	return NewError(http.StatusRequestEntityTooLarge, CodeBodyTooLarge,
		fmt.Sprintf("the request body is larger than the limit of %d bytes; send less", limit))
}

// errorBody is the wire form of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeJSON sends v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// A response value that does not marshal is a bug in the handler;
		// say so without details rather than send half a body.
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: errorDetail{Code: CodeInternal, Message: errInternal().Message}})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", fmt.Sprint(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeList answers 200 with list converted item by item with conv: a JSON
// array, [] rather than null when list is empty. Every list route answers
// through it.
func writeList[T, J any](w http.ResponseWriter, list []T, conv func(T) J) error {
	out := make([]J, 0, len(list))
	for _, x := range list {
		out = append(out, conv(x))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// writeError sends e as a JSON error response. A 401 also carries
// WWW-Authenticate, as RFC 9110 requires.
func writeError(w http.ResponseWriter, e *APIError) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hearth"`)
	}
	writeJSON(w, e.Status, errorBody{Error: errorDetail{Code: e.Code, Message: e.Message}})
}
