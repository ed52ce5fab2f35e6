package api

import (
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"rsc.io/qr"
)

// This file serves the web UI: the static files embedded from api/web, and
// the one route only the UI needs, which draws an invite as a QR code.
//
// The UI is plain HTML, CSS and JavaScript modules with no build step, so
// `go build` alone produces a working UI from what is committed. Every
// file it loads comes from this origin: the Content-Security-Policy that
// ServeHTTP sets on every response (default-src 'self', no inline script
// or style) would block anything else, and nothing in the UI asks for it.

// webFiles holds the UI's static files. embed.FS is read-only, so this
// package-level variable is never mutated.
//
//go:embed web
var webFiles embed.FS

// webRoot is the directory inside webFiles that "/" maps to.
const webRoot = "web"

// webType returns the Content-Type of the file kinds the UI is made of. A
// file with any other extension is not served, so a stray file added to
// api/web can never be sent with a type a browser would guess (the server
// also sends X-Content-Type-Options: nosniff).
func webType(name string) (string, bool) {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8", true
	case ".css":
		return "text/css; charset=utf-8", true
	case ".js":
		return "text/javascript; charset=utf-8", true
	case ".svg":
		return "image/svg+xml", true
	}
	return "", false
}

// maxQRText bounds the text the QR route encodes. An invite is a few
// hundred characters; a QR code holds at most 2953 bytes, and a code that
// dense would not scan from a screen anyway.
const maxQRText = 1500

// WebRoutes returns the routes of the web UI, for Config.Routes:
//
//   - GET / serves the UI's files (index.html at "/"). It is Public, so a
//     browser without a session still gets the page that tells the member
//     how to sign in; the files hold no secrets (they are in the source
//     tree), and every request still passes the Host and Origin checks.
//     Any other path it catches answers 404 not_found.
//   - POST /ui/qr takes {"text":"hearth:..."} and answers an SVG QR code
//     of the text, drawn here so the invite never goes to an outside
//     service. It needs a session or the token like every API route.
//
// These are UI routes, not part of the JSON API, so they are not described
// in openapi.json and tests of the API's route table leave them out.
func WebRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/", Auth: Public,
			Summary: "Serve the web UI's files", Handler: serveWebFile},
		{Method: http.MethodPost, Path: "/ui/qr",
			Summary: "Draw an invite as an SVG QR code", Handler: handleQR},
	}
}

// serveWebFile serves the embedded file named by the request path:
// index.html for "/", else the file of that name under api/web. Paths
// that are not clean (.., //, a trailing slash), name a directory, or have
// an extension webType does not know answer 404.
func serveWebFile(w http.ResponseWriter, r *http.Request) error {
	name := "index.html"
	if r.URL.Path != "/" {
		name = strings.TrimPrefix(r.URL.Path, "/")
	}
	ctype, ok := webType(name)
	if !ok || !fs.ValidPath(name) {
		return errNotFound()
	}
	b, err := webFiles.ReadFile(webRoot + "/" + name)
	if err != nil {
		return errNotFound()
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(b)
	}
	return nil
}

// qrRequest is the body of POST /ui/qr.
type qrRequest struct {
	Text string `json:"text"`
}

// handleQR serves POST /ui/qr: the text, which must be a Hearth invite
// ("hearth:" followed by printable ASCII), as an SVG QR code at error
// correction level M. It answers 400 bad_request for any other text.
// Restricting the route to invites keeps it from being a general-purpose
// encoder for whatever a confused caller sends.
func handleQR(w http.ResponseWriter, r *http.Request) error {
	var req qrRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if !isInviteText(req.Text) {
		return NewError(http.StatusBadRequest, CodeBadRequest,
			"only a Hearth invite (text starting with \"hearth:\") can be drawn as a QR code; create an invite first")
	}
	code, err := qr.Encode(req.Text, qr.M)
	if err != nil {
		return NewError(http.StatusBadRequest, CodeBadRequest,
			"this invite is too long to draw as a QR code; share it as text instead")
	}
	b := qrSVG(code)
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	h.Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}

// isInviteText reports whether s looks like an invite: "hearth:" and then
// only printable ASCII without spaces, at most maxQRText bytes in all.
func isInviteText(s string) bool {
	if !strings.HasPrefix(s, "hearth:") || len(s) <= len("hearth:") || len(s) > maxQRText {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// qrQuiet is the width in modules of the blank margin around a QR code;
// the standard asks for four.
const qrQuiet = 4

// qrSVG draws code as an SVG image: one path of unit squares, black on a
// white background (scanners need dark on light whatever the page's
// colours), with the quiet zone around it. It uses presentation
// attributes only, nothing the Content-Security-Policy's style-src would
// have to allow.
func qrSVG(code *qr.Code) []byte {
	n := code.Size + 2*qrQuiet
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" shape-rendering="crispEdges">`, n, n, n*8, n*8)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y := 0; y < code.Size; y++ {
		for x := 0; x < code.Size; x++ {
			if code.Black(x, y) {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+qrQuiet, y+qrQuiet)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return []byte(b.String())
}
