// Package client is the Go client of Hearth's local control API, used by
// the hearth command line to drive the daemon. It sends the API token as a
// bearer token, turns every JSON error the API returns into an *Error that
// errors.As finds, and reads the live event stream.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hearthnet/hearth/api"
)

// maxErrorBody and maxResponseBody bound what the client reads, so a
// confused or hostile server cannot make it allocate without limit.
const (
	maxErrorBody    = 64 << 10
	maxResponseBody = 16 << 20
)

// CodeBadResponse is the Code of an *Error made by the client itself when a
// response is not what the API sends: a non-JSON error page, a body that
// does not decode, an unexpected content type.
const CodeBadResponse = "bad_response"

// Error is an error response from the API: the HTTP status, the stable
// code and the message for people. Find it with errors.As.
type Error struct {
	Status  int
	Code    string
	Message string
}

// Error returns the message with the code, for printing.
func (e *Error) Error() string {
	return fmt.Sprintf("%s (%s)", e.Message, e.Code)
}

// Client talks to one daemon. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	token api.Token
	http  *http.Client
}

// New returns a client for the API at baseURL (such as
// "http://127.0.0.1:7070") that authenticates with token. A nil hc means a
// client of the client's own that never uses a proxy (the token must not
// pass through one) and never follows redirects. It returns an error when
// baseURL is not an http URL with a host and no path.
func New(baseURL string, token api.Token, hc *http.Client) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("hearth/api/client: %q is not an API address like http://127.0.0.1:7070", baseURL)
	}
	u.Path = ""
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = nil
		hc = &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Client{base: u, token: token, http: hc}, nil
}

// NewFromHome returns a client for the daemon whose home directory is
// home: it reads the address from api.AddrFile and the token from
// api.TokenFile. Errors are those of api.ReadAddr and api.LoadToken: an
// error wrapping fs.ErrNotExist means the daemon has not run there yet, and
// api.ErrTokenPermissions that the token file must be made private.
func NewFromHome(home string) (*Client, error) {
	addr, err := api.ReadAddr(home)
	if err != nil {
		return nil, err
	}
	token, err := api.LoadToken(home)
	if err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		// A daemon listening on every interface is reached on loopback.
		host = "127.0.0.1"
	}
	return New("http://"+net.JoinHostPort(host, port), token, nil)
}

// Do sends a request with method to path (such as "/api/v1/health"). When
// in is not nil it is sent as a JSON body; when out is not nil a successful
// JSON response is decoded into it. It returns an *Error for every error
// response (status 400 or more, or a response the API would not send), and
// the transport's error, wrapped, when the daemon cannot be reached.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.send(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
		return nil
	}
	if !isJSON(resp.Header.Get("Content-Type")) {
		return &Error{Status: resp.StatusCode, Code: CodeBadResponse, Message: "the daemon answered with something other than JSON"}
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBody)).Decode(out); err != nil {
		return &Error{Status: resp.StatusCode, Code: CodeBadResponse, Message: "the daemon's answer did not decode: " + err.Error()}
	}
	return nil
}

// send makes the request and returns a successful (2xx) response, or an
// error; the caller closes the body.
func (c *Client) send(ctx context.Context, method, path string, in any) (*http.Response, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("hearth/api/client: path %q does not start with /", path)
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("hearth/api/client: encoding the request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, body)
	if err != nil {
		return nil, fmt.Errorf("hearth/api/client: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+string(c.token))
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("hearth/api/client: cannot reach the daemon at %s (is it running?): %w", c.base.Host, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, decodeError(resp)
}

// decodeError turns an error response into an *Error.
func decodeError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var body struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if isJSON(resp.Header.Get("Content-Type")) && json.Unmarshal(b, &body) == nil && body.Error != nil && body.Error.Code != "" {
		return &Error{Status: resp.StatusCode, Code: body.Error.Code, Message: body.Error.Message}
	}
	return &Error{Status: resp.StatusCode, Code: CodeBadResponse,
		Message: fmt.Sprintf("the daemon answered %q, which is not an API error; is something else listening at this address?", resp.Status)}
}

func isJSON(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/json")
}

// Health is the body of GET /api/v1/health.
type Health struct {
	Status  string `json:"status"`
	Version string `json:"version"`
}

// Health asks the daemon whether it is running. Errors are those of Do.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	if err := c.Do(ctx, http.MethodGet, "/api/v1/health", nil, &h); err != nil {
		return Health{}, err
	}
	if h.Status != "ok" {
		return h, &Error{Status: http.StatusOK, Code: CodeBadResponse, Message: fmt.Sprintf("the daemon reports status %q", h.Status)}
	}
	return h, nil
}

// errNotEventStream is returned by Events when the response is not an
// event stream.
var errNotEventStream = errors.New("hearth/api/client: the daemon did not answer with an event stream")

// LoginLink is the body of POST /api/v1/login-link.
type LoginLink struct {
	// URL logs one browser in to the web UI, once.
	URL string `json:"url"`
	// Expires is when the link stops working if it has not been used.
	Expires time.Time `json:"expires"`
}

// LoginLink asks the daemon for a new one-time login link for the web UI
// (what `hearth ui` prints). Errors are those of Do.
func (c *Client) LoginLink(ctx context.Context) (LoginLink, error) {
	var l LoginLink
	if err := c.Do(ctx, http.MethodPost, "/api/v1/login-link", nil, &l); err != nil {
		return LoginLink{}, err
	}
	return l, nil
}
