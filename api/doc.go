// Package api is Hearth's local control API: HTTP/JSON and server-sent
// events that the daemon serves on loopback for its web UI and its
// command-line client, and (in api/client) the Go client the CLI uses.
//
// This package is the security and plumbing layer. It promises that no
// route handler runs unless every one of these holds, checked in this order
// for every request:
//
//  1. the Host header names a loopback address (127.0.0.1, [::1] or
//     localhost) with the server's own port, or, when Config.AllowRemote is
//     set, one of Config.AllowedHosts, which defeats DNS rebinding;
//  2. neither the Origin header nor Sec-Fetch-Site says the request came
//     from another origin, which defeats cross-site requests;
//  3. the request carries the API token as "Authorization: Bearer <token>",
//     or a session cookie obtained through a one-time login URL, and a
//     cookie-authenticated request that changes state also carries a
//     same-origin Origin header (a TokenOnly route, such as POST
//     /api/v1/login-link, takes the token alone and refuses whatever a
//     browser sends);
//  4. the body is no larger than Config.MaxBodyBytes.
//
// Every response carries a strict Content-Security-Policy and related
// headers; API responses are never cached. Errors are JSON objects
// {"error": {"code": "...", "message": "..."}} with a stable code (see the
// Code constants) and a message that tells a person what to do. A handler
// that panics produces a 500 "internal" error without details; the request
// log never records bodies, tokens, cookies or query strings.
//
// Routes are declared as a table (Route) so that every route, its method,
// its authentication and its summary can be checked against the embedded
// OpenAPI 3.1 document served at /api/v1/openapi.json. Routes beyond the
// built-in ones (login, logout, health, events, the OpenAPI document, a
// new login link) are passed in Config.Routes; whoever adds one adds it to
// openapi.json too, and a test of that route set should call checkOpenAPI
// on it. The bodies are named Go types, each listed against its component
// schema in openapi_schema_test.go (and the client's in api/client), so a
// field added to one and not the other fails the tests.
//
// Live events reach the web UI over server-sent events at /api/v1/events
// from a Broadcaster that never lets a slow reader hold up the node.
//
// The token lives in TokenFile (mode 0600) in the node's home directory,
// and the address the daemon listens on in AddrFile beside it; WriteToken,
// LoadToken, WriteAddr and ReadAddr manage both.
package api
