package api

import (
	"bufio"
	"net/http"
	"time"
)

// handleEvents serves GET /api/v1/events as a server-sent event stream.
//
// Each event is written as
//
//	event: <type>
//	data: <one line of JSON>
//	<blank line>
//
// and an idle stream carries a comment line ": heartbeat" every
// Config.Heartbeat. Events carry no "id:" field: the server keeps no
// history to resume from, so a client that reconnects, or that receives an
// "overflow" event, fetches current state again instead. The stream ends
// when the client goes away or the server shuts down.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) error {
	rc := http.NewResponseController(w)
	sub := s.events.Subscribe()
	defer sub.Unsubscribe()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	// The first comment tells the client the subscription is in place:
	// everything published from now on reaches it.
	bw.WriteString(": ready\n\n")
	if bw.Flush() != nil || rc.Flush() != nil {
		return nil
	}

	ticker := time.NewTicker(s.heartbeat)
	defer ticker.Stop()
	for {
		// Write whatever is ready, then flush once.
		for {
			ev, ok := sub.tryNext()
			if !ok {
				break
			}
			writeSSE(bw, ev)
		}
		if bw.Flush() != nil || rc.Flush() != nil {
			return nil
		}
		select {
		case ev := <-sub.ch:
			writeSSE(bw, ev)
		case <-sub.wake:
		case <-ticker.C:
			bw.WriteString(": heartbeat\n\n")
		case <-sub.done:
			return nil
		case <-s.closing:
			return nil
		case <-r.Context().Done():
			return nil
		}
	}
}

// writeSSE writes one event. Publish guarantees the type is a plain token
// and the data one line of compact JSON, so neither can break the framing.
func writeSSE(w *bufio.Writer, ev Event) {
	w.WriteString("event: ")
	w.WriteString(ev.Type)
	w.WriteString("\ndata: ")
	w.Write(ev.Data)
	w.WriteString("\n\n")
}
