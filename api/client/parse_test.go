package client

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestSSEParser(t *testing.T) {
	in := "event: a\ndata: 1\ndata: 2\n\n: heartbeat\n\ndata: x\r\n\r\nevent:b\ndata:{}\rid: 7\r\r\n\nevent: c\ndata: partial"
	p := newSSEParser(strings.NewReader(in))
	for _, want := range []Event{{Type: "a", Data: []byte("1\n2")}, {Type: "message", Data: []byte("x")}, {Type: "b", Data: []byte("{}")}} {
		ev, err := p.next()
		if err != nil || ev.Type != want.Type || string(ev.Data) != string(want.Data) {
			t.Fatalf("got %q %q %v, want %q %q", ev.Type, ev.Data, err, want.Type, want.Data)
		}
	}
	if _, err := p.next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated last event: %v", err)
	}
	p = newSSEParser(strings.NewReader("data: " + strings.Repeat("x", maxEventLine) + "\n\n"))
	if _, err := p.next(); !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("oversized line: %v", err)
	}
	p = newSSEParser(strings.NewReader(strings.Repeat("data: "+strings.Repeat("x", 1000)+"\n", 1100) + "\n"))
	if _, err := p.next(); !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("oversized event: %v", err)
	}
}
