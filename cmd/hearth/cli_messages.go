package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hearthnet/hearth/api"
	"github.com/hearthnet/hearth/api/client"
	"github.com/hearthnet/hearth/protocol"
)

// tailSeen bounds how many message IDs tail remembers to print each
// message once: enough to cover a page of history and an overflow's
// re-read, without growing for as long as tail runs.
const tailSeen = 4096

// runPost is `hearth post GROUP TEXT [--reply-to MSG]`.
func runPost(ctx context.Context, r *cliRun) error {
	text := r.args[1]
	if text == "-" {
		s, err := r.readStdin("message")
		if err != nil {
			return err
		}
		// A shell's echo and a file end with a newline the person did
		// not mean as part of the message.
		text = strings.TrimRight(s, "\r\n")
	}
	switch {
	case !utf8.ValidString(text):
		return cliErrorf("bad_text", "the message is not valid UTF-8 text")
	case strings.TrimSpace(text) == "":
		return cliErrorf("bad_text", "the message is empty; write something to post")
	case len(text) > protocol.MaxPostText:
		return cliErrorf("bad_text", "the message is %d bytes long, at most %d fit in one post; split it in two", len(text), protocol.MaxPostText)
	}
	if r.opts.replyTo != "" && !isHexID(r.opts.replyTo, messageIDLen) {
		return cliErrorf(codeBadID, "--reply-to: %q is not a message ID (32 hex digits, see 'hearth read --json')", clean(r.opts.replyTo, false, ""))
	}
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	mid, err := c.Post(ctx, id, text, r.opts.replyTo)
	if err := r.call(ctx, err); err != nil {
		var ce *cliError
		if errors.As(err, &ce) && ce.code == api.CodeGuidelinesNotAccepted {
			ce.msg = fmt.Sprintf("this group asks you to accept its guidelines before you post; read them with 'hearth guidelines %s%s', then accept them with 'hearth guidelines %s --accept%s'",
				shellQuote(r.args[0]), r.homeFlag, shellQuote(r.args[0]), r.homeFlag)
		}
		return err
	}
	return r.out(map[string]string{"id": mid}, func(w io.Writer) {
		fmt.Fprintf(w, "Posted. Message ID: %s\n", mid)
	})
}

// runRead is `hearth read GROUP [--limit N] [--before MSG]`.
func runRead(ctx context.Context, r *cliRun) error {
	if r.opts.limit < 1 || r.opts.limit > 500 {
		return usagef("--limit must be from 1 to 500")
	}
	if r.opts.before != "" && !isHexID(r.opts.before, messageIDLen) {
		return cliErrorf(codeBadID, "--before: %q is not a message ID (32 hex digits, see 'hearth read --json')", clean(r.opts.before, false, ""))
	}
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	msgs, err := c.Messages(ctx, id, r.opts.limit, r.opts.before)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	if msgs == nil {
		msgs = []client.Message{}
	}
	return r.out(msgs, func(w io.Writer) {
		if len(msgs) == 0 {
			if r.opts.before == "" {
				fmt.Fprintln(w, "No messages yet.")
			} else {
				fmt.Fprintln(w, "No older messages.")
			}
			return
		}
		names := make(map[string]string)
		for _, m := range msgs {
			names[m.ID] = m.Pseudonym
		}
		for _, m := range msgs {
			printMessage(w, m, names)
		}
		if len(msgs) == r.opts.limit {
			fmt.Fprintf(w, "Older messages: 'hearth read %s --before %s%s'\n", shellQuote(r.args[0]), msgs[0].ID, r.homeFlag)
		}
	})
}

// printMessage prints m for people: when it was sent, who sent it, what
// it answers and its text, every part cleaned of anything that could act
// on the terminal. names maps the IDs of messages at hand to their
// authors, to say whom a reply answers.
func printMessage(w io.Writer, m client.Message, names map[string]string) {
	who := clean(m.Pseudonym, false, "")
	if m.ReplyTo != "" {
		if n, ok := names[m.ReplyTo]; ok {
			who += " (replying to " + clean(n, false, "") + ")"
		} else {
			who += " (replying to an earlier message)"
		}
	}
	late := ""
	if m.Late {
		late = " (arrived late)"
	}
	if m.Edited != "" {
		late += " (edited)"
	}
	text := clean(m.Text, true, "    ")
	if m.Muted {
		text = "[muted]"
	}
	if rm := m.Removed; rm != nil {
		// Moderation (cli_moderation.go): the text is erased.
		text = "[deleted by its author]"
		if rm.By == "moderator" {
			text = "[removed by a moderator]"
			if rm.Reason != "" {
				text = "[removed by a moderator: " + clean(rm.Reason, false, "") + "]"
			}
		}
	}
	fmt.Fprintf(w, "%s  %s: %s%s\n", showTime(m.Sent), who, text, late)
}

// showTime shows t in the local time zone, to the minute.
func showTime(t time.Time) string {
	return t.Local().Format("2006-01-02 15:04")
}

// runTail is `hearth tail GROUP`: the last few messages, then each new one
// as it arrives, until interrupted. With --json each message is one line
// of JSON.
func runTail(ctx context.Context, r *cliRun) error {
	if r.opts.history < 0 || r.opts.history > 500 {
		return usagef("-n must be from 0 to 500")
	}
	if r.opts.count < 0 {
		return usagef("--count must be 0 or more")
	}
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	// Subscribe first, then read the history: a message that arrives in
	// between is in one or the other (or both, and printed once), never
	// in neither.
	stream, err := c.Events(ctx)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	defer stream.Close()
	stop := context.AfterFunc(ctx, func() { stream.Close() })
	defer stop()

	// A group this member was removed from or left gets no new
	// messages: show its history and say so, rather than wait forever.
	detail, err := c.Group(ctx, id)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	t := &tailer{r: r, names: make(map[string]string)}
	if r.opts.history > 0 {
		if err := t.catchUp(ctx, c, id, r.opts.history); err != nil {
			return err
		}
	}
	if t.done() {
		return nil
	}
	if detail.Removed {
		t.noLonger()
		return nil
	}
	if !r.opts.json {
		fmt.Fprintln(r.e.stderr, "Waiting for new messages; press Ctrl-C to stop.")
	}
	for {
		ev, err := stream.Next()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, io.EOF) {
				return cliErrorf(codeNoDaemon, "the daemon stopped; start it again with 'hearth up%s'", r.homeFlag)
			}
			return r.call(ctx, err)
		}
		switch ev.Type {
		case api.OverflowEvent:
			// Events were dropped while this reader lagged: whatever
			// was missed is in the history.
			if err := t.catchUp(ctx, c, id, 500); err != nil {
				return err
			}
			if t.done() {
				return nil
			}
		case "message":
			data, err := ev.Decode()
			if err != nil || data.Group != id || data.Message == nil {
				continue
			}
			t.print(*data.Message)
			if t.done() {
				return nil
			}
		case "removed":
			if data, err := ev.Decode(); err == nil && data.Group == id {
				t.noLonger()
				return nil
			}
		}
	}
}

// tailer prints each message of a tail once.
type tailer struct {
	r     *cliRun
	names map[string]string // message ID → author, for replies and dedup
	order []string          // IDs in names, oldest first
	shown int
}

// noLonger tells a person that the group will bring no new messages.
func (t *tailer) noLonger() {
	if !t.r.opts.json {
		fmt.Fprintln(t.r.e.stderr, "You are no longer a member of this group; no new messages will come.")
	}
}

// done reports whether tail has shown the messages --count asked for.
func (t *tailer) done() bool {
	return t.r.opts.count > 0 && t.shown >= t.r.opts.count
}

// catchUp prints the messages among the last n of group id not printed
// yet.
func (t *tailer) catchUp(ctx context.Context, c *client.Client, id string, n int) error {
	msgs, err := c.Messages(ctx, id, n, "")
	if err := t.r.call(ctx, err); err != nil {
		return err
	}
	for _, m := range msgs {
		t.print(m)
	}
	return nil
}

func (t *tailer) print(m client.Message) {
	if _, dup := t.names[m.ID]; dup || t.done() {
		return
	}
	t.shown++
	t.names[m.ID] = m.Pseudonym
	t.order = append(t.order, m.ID)
	if len(t.order) > tailSeen {
		delete(t.names, t.order[0])
		t.order = t.order[1:]
	}
	if t.r.opts.json {
		writeJSON(t.r.e.stdout, m)
		return
	}
	printMessage(t.r.e.stdout, m, t.names)
}
