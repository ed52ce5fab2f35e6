package api

import "net/http"

// DecodeJSON exposes decodeJSON to the external tests, which play the part
// of a route file.
func DecodeJSON(w http.ResponseWriter, r *http.Request, dst any) error { return decodeJSON(w, r, dst) }

// WriteJSON exposes writeJSON to the external tests.
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }
