package api_test

import (
	"encoding/xml"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"rsc.io/qr"

	"github.com/hearthnet/hearth/api"
)

// startWebServer is startServer with the web UI's routes added.
func startWebServer(t *testing.T) *testServer {
	t.Helper()
	return startServer(t, func(c *api.Config) {
		c.Routes = append(c.Routes, api.WebRoutes()...)
	})
}

// get fetches path from ts with no credentials at all, as a browser that
// has not signed in would.
func get(t *testing.T, ts *testServer, p string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.url+p, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := noRedirect().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// webFiles lists the files under api/web, as the binary embeds them.
func webFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := fs.WalkDir(os.DirFS("web"), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("api/web holds only %v", files)
	}
	return files
}

// TestWebServesUI checks that a browser without a session gets the page
// (which tells the member how to sign in), every UI file with its exact
// type and the strict CSP, and that nothing outside api/web is reachable.
func TestWebServesUI(t *testing.T) {
	ts := startWebServer(t)
	status, hdr, body := get(t, ts, "/")
	if status != http.StatusOK || hdr.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET / = %d %q", status, hdr.Get("Content-Type"))
	}
	if !strings.Contains(body, `<script type="module" src="/js/app.js"></script>`) {
		t.Errorf("index.html does not load the app module:\n%s", body)
	}
	csp := hdr.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP on the page = %q", csp)
	}
	want := map[string]string{
		".html": "text/html; charset=utf-8",
		".css":  "text/css; charset=utf-8",
		".js":   "text/javascript; charset=utf-8",
		".svg":  "image/svg+xml",
	}
	for _, f := range webFiles(t) {
		status, hdr, body := get(t, ts, "/"+f)
		if status != http.StatusOK || hdr.Get("Content-Type") != want[path.Ext(f)] {
			t.Errorf("GET /%s = %d %q, want 200 %q", f, status, hdr.Get("Content-Type"), want[path.Ext(f)])
		}
		disk, err := os.ReadFile("web/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if body != string(disk) {
			t.Errorf("GET /%s does not serve the file in api/web", f)
		}
		if hdr.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET /%s lacks nosniff", f)
		}
	}
	for _, p := range []string{"/nope.js", "/js/", "/js", "/web/index.html", "/routes_web.go", "/..%2fgo.mod",
		"/js/../index.html", "/openapi.json", "/.hidden.js", "/api/v1/nothing-here"} {
		status, hdr, body := get(t, ts, p)
		// The mux redirects unclean paths to their clean form, which then
		// goes through the same checks.
		if status != http.StatusNotFound && status != http.StatusMovedPermanently && status != http.StatusTemporaryRedirect {
			t.Errorf("GET %s = %d, want 404", p, status)
		}
		if strings.Contains(body, "<html") || strings.Contains(body, "package api") {
			t.Errorf("GET %s served a file: %.80s", p, body)
		}
		if status == http.StatusNotFound && !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			t.Errorf("GET %s: 404 is not a JSON error", p)
		}
	}
}

// TestWebRefusesForeignHost checks that the UI is not served under a
// name other than loopback, which is what DNS rebinding would need.
func TestWebRefusesForeignHost(t *testing.T) {
	ts := startWebServer(t)
	for _, host := range []string{"evil.example:" + ts.port, "127.0.0.1.evil.example:" + ts.port, "localhost:1"} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.url+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		status, code, body, _ := do(t, req)
		if status != http.StatusForbidden || code != api.CodeForbiddenHost || strings.Contains(string(body), "<html") {
			t.Errorf("GET / with Host %s = %d %q", host, status, code)
		}
	}
}

// TestWebFilesStayLocal checks what the CSP would otherwise only catch at
// run time in a browser: no file loads anything from another origin, the
// HTML has no inline script, style or event-handler attribute, and the
// scripts never turn text into markup or code.
func TestWebFilesStayLocal(t *testing.T) {
	remote := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	inlineHTML := regexp.MustCompile(`(?i)(<style|\sstyle=|\son[a-z]+=|javascript:)`)
	scripts := regexp.MustCompile(`(?is)<script([^>]*)>(.*?)</script>`)
	unsafeJS := regexp.MustCompile(`\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\("style"|\.cssText|localStorage\.setItem\((?:[^)]*)draft`)
	for _, f := range webFiles(t) {
		b, err := os.ReadFile("web/" + f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, m := range remote.FindAllString(s, -1) {
			// The SVG namespace is a name, not something fetched.
			if m != "http://www.w3.org" {
				t.Errorf("%s refers to another origin: %q", f, m)
			}
		}
		switch path.Ext(f) {
		case ".html":
			if m := inlineHTML.FindString(s); m != "" {
				t.Errorf("%s has inline script or style the CSP would block: %q", f, m)
			}
			for _, m := range scripts.FindAllStringSubmatch(s, -1) {
				if !strings.Contains(m[1], `src="/`) || strings.TrimSpace(m[2]) != "" {
					t.Errorf("%s has an inline script the CSP would block: %q", f, m[0])
				}
			}
		case ".js":
			if m := unsafeJS.FindString(s); m != "" {
				t.Errorf("%s uses %q", f, m)
			}
		}
	}
}

// TestWebQR checks that the QR route draws exactly the invite's QR code,
// refuses other text, and needs credentials like the API.
func TestWebQR(t *testing.T) {
	ts := startWebServer(t)
	invite := "hearth:" + strings.Repeat("abcdefgh23", 20)
	req := ts.request(t, http.MethodPost, "/ui/qr", `{"text":"`+invite+`"}`)
	status, _, body, resp := do(t, req)
	if status != http.StatusOK || resp.Header.Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("POST /ui/qr = %d %q: %s", status, resp.Header.Get("Content-Type"), body)
	}
	if err := xml.Unmarshal(body, new(struct{})); err != nil {
		t.Fatalf("the SVG is not well-formed XML: %v", err)
	}
	// Read the squares back and compare them with the code itself.
	var svg struct {
		ViewBox string `xml:"viewBox,attr"`
		Path    struct {
			D string `xml:"d,attr"`
		} `xml:"path"`
	}
	if err := xml.Unmarshal(body, &svg); err != nil {
		t.Fatal(err)
	}
	code, err := qr.Encode(invite, qr.M)
	if err != nil {
		t.Fatal(err)
	}
	if want := "0 0 " + strconv.Itoa(code.Size+8) + " " + strconv.Itoa(code.Size+8); svg.ViewBox != want {
		t.Errorf("viewBox %q, want %q (the code with a four-module quiet zone)", svg.ViewBox, want)
	}
	drawn := make(map[[2]int]bool)
	for _, m := range regexp.MustCompile(`M(\d+) (\d+)h1v1h-1z`).FindAllStringSubmatch(svg.Path.D, -1) {
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		drawn[[2]int{x - 4, y - 4}] = true
	}
	black := 0
	for y := 0; y < code.Size; y++ {
		for x := 0; x < code.Size; x++ {
			if code.Black(x, y) != drawn[[2]int{x, y}] {
				t.Fatalf("module (%d,%d) drawn %v, code says %v", x, y, drawn[[2]int{x, y}], code.Black(x, y))
			}
			if code.Black(x, y) {
				black++
			}
		}
	}
	if black != len(drawn) || black == 0 {
		t.Errorf("%d squares drawn for %d dark modules", len(drawn), black)
	}

	for _, bad := range []string{`{"text":"https://evil.example/"}`, `{"text":"hearth:"}`, `{"text":"hearth:a b"}`,
		`{"text":"hearth:` + strings.Repeat("a", 1500) + `"}`, `{"text":"hearth:x","extra":1}`} {
		status, code, _, _ := do(t, ts.request(t, http.MethodPost, "/ui/qr", bad))
		// The long one may meet the test server's small body limit first.
		if status != http.StatusBadRequest && status != http.StatusRequestEntityTooLarge {
			t.Errorf("POST /ui/qr %.40s = %d %q, want 400", bad, status, code)
		}
	}
	noAuth := ts.request(t, http.MethodPost, "/ui/qr", `{"text":"`+invite+`"}`)
	noAuth.Header.Del("Authorization")
	if status, code, _, _ := do(t, noAuth); status != http.StatusUnauthorized {
		t.Errorf("POST /ui/qr without credentials = %d %q, want 401", status, code)
	}
}
