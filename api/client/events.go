package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/hearthnet/hearth/api"
)

// maxEventLine bounds one line of the event stream; the daemon's events are
// far smaller.
const maxEventLine = 1 << 20

// ErrEventTooLarge is returned by EventStream.Next for a line longer than
// 1 MiB.
var ErrEventTooLarge = errors.New("hearth/api/client: event stream line too long")

// Event is one live event from the daemon. An event of type
// api.OverflowEvent means events before it were dropped because this
// reader fell behind: fetch current state again, then carry on.
type Event struct {
	Type string
	Data json.RawMessage
}

// EventStream reads the daemon's live events. It is not safe for
// concurrent use; Close may be called from another goroutine to end a Next
// that is waiting.
type EventStream struct {
	body io.ReadCloser
	r    *sseParser
}

// Events opens the daemon's event stream. When it returns, the daemon has
// subscribed this stream: every event published afterwards reaches it. The
// stream ends when ctx ends, when Close is called, or when the daemon
// stops. Errors are those of Do, and an error when the daemon answers with
// something other than an event stream.
func (c *Client) Events(ctx context.Context) (*EventStream, error) {
	resp, err := c.send(ctx, http.MethodGet, "/api/v1/events", nil)
	if err != nil {
		return nil, err
	}
	if mt, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";"); mt != "text/event-stream" {
		resp.Body.Close()
		return nil, errNotEventStream
	}
	return &EventStream{body: resp.Body, r: newSSEParser(resp.Body)}, nil
}

// Next returns the next event, skipping comments (heartbeats). It returns
// io.EOF when the daemon ends the stream, ErrEventTooLarge for an
// oversized line, and the transport's error when the connection breaks or
// the context ends.
func (s *EventStream) Next() (Event, error) { return s.r.next() }

// Close ends the stream.
func (s *EventStream) Close() error { return s.body.Close() }

// sseParser reads the text/event-stream format: lines "field: value",
// comments starting with ':', and a blank line ending each event. Several
// data lines are joined with newlines; "id" and "retry" are ignored (the
// daemon sends neither). Lines end in "\n", "\r\n" or "\r".
type sseParser struct {
	br *bufio.Reader
}

func newSSEParser(r io.Reader) *sseParser {
	return &sseParser{br: bufio.NewReaderSize(r, 64<<10)}
}

// line returns the next line without its ending.
func (p *sseParser) line() ([]byte, error) {
	var buf []byte
	for {
		chunk, err := p.br.ReadSlice('\n')
		if len(buf)+len(chunk) > maxEventLine {
			return nil, ErrEventTooLarge
		}
		buf = append(buf, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(buf) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		buf = bytes.TrimSuffix(buf[:len(buf)-1], []byte("\r"))
		return buf, nil
	}
}

func (p *sseParser) next() (Event, error) {
	var typ string
	var data []byte
	hasData := false
	for {
		line, err := p.line()
		if err != nil {
			return Event{}, err
		}
		// A lone "\r" ends lines in some servers; split on it too.
		for _, l := range bytes.Split(line, []byte("\r")) {
			if len(l) == 0 {
				if hasData {
					if typ == "" {
						typ = "message"
					}
					return Event{Type: typ, Data: json.RawMessage(data)}, nil
				}
				typ = ""
				continue
			}
			if l[0] == ':' {
				continue
			}
			field, value, _ := bytes.Cut(l, []byte(":"))
			value = bytes.TrimPrefix(value, []byte(" "))
			switch string(field) {
			case "event":
				typ = string(value)
			case "data":
				if hasData {
					data = append(data, '\n')
				}
				data = append(data, value...)
				hasData = true
				if len(data) > maxEventLine {
					return Event{}, ErrEventTooLarge
				}
			}
		}
	}
}

// IsOverflow reports whether ev is the marker that says events were
// dropped before it.
func (ev Event) IsOverflow() bool { return ev.Type == api.OverflowEvent }

// String describes the event by type and size, never by content.
func (ev Event) String() string { return fmt.Sprintf("event %s (%d bytes)", ev.Type, len(ev.Data)) }
