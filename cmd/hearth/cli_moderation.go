package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/hearthnet/hearth/api/client"
	"github.com/hearthnet/hearth/protocol"
)

// The moderation commands: an author's edit and delete, a host's or
// moderator's remove-post, report and the reports inbox, the group's
// guidelines, and mute, unmute, block and unblock, which stay on this
// node. All are clients of the running daemon. MSG is a message ID, or
// words of the message (its whole text, or a part only it has, among the
// group's last 500).

// moderationFlags holds the flags of the moderation commands.
type moderationFlags struct {
	reason, set, dismiss string
	accept, wait         bool
}

// moderationCommands lists the moderation commands; f receives their
// flags.
func moderationCommands(f *moderationFlags) []cliCommand {
	reason := func(what string) func(fs *flag.FlagSet, _ *cliOpts) {
		return func(fs *flag.FlagSet, _ *cliOpts) {
			fs.StringVar(&f.reason, "reason", "", what+" (`TEXT`)")
		}
	}
	member := func(name, summary string) cliCommand {
		return cliCommand{name: name, args: "GROUP MEMBER", minArgs: 2, maxArgs: 2, summary: summary, run: f.mute(name)}
	}
	return []cliCommand{
		{name: "edit", args: "GROUP MSG TEXT", minArgs: 3, maxArgs: 3, summary: "change the text of one of your own posts, for everyone (TEXT - reads it from stdin)", run: f.edit},
		{name: "delete", args: "GROUP MSG", minArgs: 2, maxArgs: 2, summary: "delete one of your own posts: every member's node erases it", run: f.delete},
		{name: "report", args: "GROUP MSG", minArgs: 2, maxArgs: 2, summary: "report a post to the group's hosts and moderators; only they can read the report", run: f.report,
			flags: reason("why you report it")},
		{name: "reports", args: "GROUP", minArgs: 1, maxArgs: 1, summary: "the reports you received as a host or moderator", run: f.reports,
			flags: func(fs *flag.FlagSet, _ *cliOpts) {
				fs.StringVar(&f.dismiss, "dismiss", "", "dismiss the report with this `ID`, erasing it from your node")
				fs.BoolVar(&f.wait, "wait", false, "wait until there is an open report")
			}},
		{name: "remove-post", args: "GROUP MSG", minArgs: 2, maxArgs: 2, summary: "remove a post as a host or moderator: every member's node erases it", run: f.removePost,
			flags: reason("the reason members see in its place")},
		{name: "guidelines", args: "GROUP", minArgs: 1, maxArgs: 1, summary: "show the group's guidelines; pin new ones (hosts and moderators) or accept them", run: f.guidelines,
			flags: func(fs *flag.FlagSet, _ *cliOpts) {
				fs.StringVar(&f.set, "set", "", "pin these guidelines (`TEXT`; - reads them from stdin)")
				fs.BoolVar(&f.accept, "accept", false, "accept the current guidelines")
				fs.BoolVar(&f.wait, "wait", false, "wait until the group has guidelines")
			}},
		member("mute", "fold a member's posts away, on your node only; they are never told"),
		member("unmute", "stop muting a member"),
		member("block", "hide a member's posts entirely, on your node only; they are never told"),
		member("unblock", "stop blocking a member"),
	}
}

// moderationSummary is the one-line summary of moderation command name,
// for main.go's command table.
func moderationSummary(name string) string {
	for _, c := range moderationCommands(&moderationFlags{}) {
		if c.name == name {
			return c.summary
		}
	}
	return ""
}

// runModeration runs the moderation command name.
func runModeration(name string) func(ctx context.Context, e *env, args []string) int {
	return func(ctx context.Context, e *env, args []string) int {
		return runFamily(ctx, e, name, moderationCommands(&moderationFlags{}), args)
	}
}

// message resolves the argument MSG of group id: a message ID, or words
// that are the whole text of exactly one of the group's last 500 messages,
// or failing that part of exactly one.
func (r *cliRun) message(ctx context.Context, c *client.Client, id, arg string) (string, error) {
	if isHexID(arg, messageIDLen) {
		return arg, nil
	}
	msgs, err := c.Messages(ctx, id, 500, "")
	if err := r.call(ctx, err); err != nil {
		return "", err
	}
	for _, part := range []bool{false, true} {
		var found []string
		for _, m := range msgs {
			if m.Text != "" && (m.Text == arg || part && strings.Contains(m.Text, arg)) {
				found = append(found, m.ID)
			}
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nil
		default:
			return "", cliErrorf("not_found", "%d messages say %q; give the message ID instead (see 'hearth read %s --json%s')", len(found), clean(arg, false, ""), shellQuote(r.args[0]), r.homeFlag)
		}
	}
	return "", cliErrorf("not_found", "no recent message says %q; give the message ID (see 'hearth read %s --json%s')", clean(arg, false, ""), shellQuote(r.args[0]), r.homeFlag)
}

// connectMessage connects, and resolves GROUP and MSG (the first two
// arguments).
func (r *cliRun) connectMessage(ctx context.Context) (*client.Client, string, string, error) {
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return nil, "", "", err
	}
	mid, err := r.message(ctx, c, id, r.args[1])
	if err != nil {
		return nil, "", "", err
	}
	return c, id, mid, nil
}

// checkReasonText refuses a reason the daemon would refuse.
func checkReasonText(s string) error {
	switch {
	case len(s) > protocol.MaxReasonText:
		return cliErrorf("bad_text", "the reason is %d bytes long, at most %d are allowed", len(s), protocol.MaxReasonText)
	case !utf8.ValidString(s):
		return cliErrorf("bad_text", "the reason is not valid UTF-8 text")
	}
	return nil
}

func (f *moderationFlags) edit(ctx context.Context, r *cliRun) error {
	text := r.args[2]
	if text == "-" {
		s, err := r.readStdin("new text")
		if err != nil {
			return err
		}
		text = strings.TrimRight(s, "\r\n")
	}
	switch {
	case !utf8.ValidString(text):
		return cliErrorf("bad_text", "the new text is not valid UTF-8")
	case strings.TrimSpace(text) == "":
		return cliErrorf("bad_text", "the new text is empty; to take the post back, use 'hearth delete'")
	case len(text) > protocol.MaxPostText:
		return cliErrorf("bad_text", "the new text is %d bytes long, at most %d fit in one post", len(text), protocol.MaxPostText)
	}
	c, id, mid, err := r.connectMessage(ctx)
	if err != nil {
		return err
	}
	m, err := c.EditMessage(ctx, id, mid, text)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(m, func(w io.Writer) {
		fmt.Fprintln(w, "Edited. Every member sees the new text.")
	})
}

func (f *moderationFlags) delete(ctx context.Context, r *cliRun) error {
	c, id, mid, err := r.connectMessage(ctx)
	if err != nil {
		return err
	}
	if err := r.call(ctx, c.DeleteMessage(ctx, id, mid)); err != nil {
		return err
	}
	return r.out(map[string]string{"message": mid, "status": "deleted"}, func(w io.Writer) {
		fmt.Fprintln(w, "Deleted. Members' nodes erase it; anyone who already read it may remember it.")
	})
}

func (f *moderationFlags) report(ctx context.Context, r *cliRun) error {
	if err := checkReasonText(f.reason); err != nil {
		return err
	}
	c, id, mid, err := r.connectMessage(ctx)
	if err != nil {
		return err
	}
	if err := r.call(ctx, c.ReportMessage(ctx, id, mid, f.reason)); err != nil {
		return err
	}
	return r.out(map[string]string{"message": mid, "status": "reported"}, func(w io.Writer) {
		fmt.Fprintln(w, "Reported. Only the group's hosts and moderators can read your report.")
	})
}

func (f *moderationFlags) removePost(ctx context.Context, r *cliRun) error {
	if err := checkReasonText(f.reason); err != nil {
		return err
	}
	c, id, mid, err := r.connectMessage(ctx)
	if err != nil {
		return err
	}
	if err := r.call(ctx, c.RemoveMessage(ctx, id, mid, f.reason)); err != nil {
		return err
	}
	return r.out(map[string]string{"message": mid, "status": "removed"}, func(w io.Writer) {
		fmt.Fprintln(w, "Removed. Members' nodes erase it and show that a moderator removed it.")
	})
}

func (f *moderationFlags) reports(ctx context.Context, r *cliRun) error {
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	if f.dismiss != "" {
		if !isHexID(f.dismiss, messageIDLen) {
			return cliErrorf(codeBadID, "--dismiss: %q is not a report ID (32 hex digits)", clean(f.dismiss, false, ""))
		}
		if err := r.call(ctx, c.DismissReport(ctx, id, f.dismiss)); err != nil {
			return err
		}
		return r.out(map[string]string{"report": f.dismiss, "status": "dismissed"}, func(w io.Writer) {
			fmt.Fprintln(w, "Dismissed: the report is erased from your node.")
		})
	}
	var list []client.Report
	err = poll(ctx, func() (bool, error) {
		var err error
		list, err = c.Reports(ctx, id)
		if err := r.call(ctx, err); err != nil {
			return false, err
		}
		for _, rep := range list {
			if rep.Status == "open" {
				return true, nil
			}
		}
		return !f.wait, nil
	})
	if err != nil {
		return err
	}
	if list == nil {
		list = []client.Report{}
	}
	return r.out(list, func(w io.Writer) {
		if len(list) == 0 {
			fmt.Fprintln(w, "No reports. (Only hosts and moderators receive them.)")
		}
		for _, rep := range list {
			fmt.Fprintf(w, "%s  %s  %s reported a post by %s", rep.ID, showTime(rep.Sent), clean(rep.ReporterPseudonym, false, ""), clean(rep.Pseudonym, false, ""))
			if rep.Status == "removed" {
				fmt.Fprint(w, " (since removed)")
			}
			fmt.Fprintln(w)
			fmt.Fprintf(w, "    post %s\n", rep.Post)
			if rep.Excerpt != "" {
				fmt.Fprintf(w, "    it said: %s\n", clean(rep.Excerpt, true, "      "))
			}
			if rep.Reason != "" {
				fmt.Fprintf(w, "    reason: %s\n", clean(rep.Reason, true, "      "))
			}
		}
	})
}

func (f *moderationFlags) guidelines(ctx context.Context, r *cliRun) error {
	if f.set != "" && f.accept {
		return usagef("give --set or --accept, not both")
	}
	text := f.set
	if text == "-" {
		s, err := r.readStdin("guidelines")
		if err != nil {
			return err
		}
		text = s
	}
	text = strings.TrimSpace(text)
	if f.set != "" && (text == "" || len(text) > protocol.MaxGuidelinesText || !utf8.ValidString(text)) {
		return cliErrorf("bad_text", "guidelines must be 1 to %d bytes of text", protocol.MaxGuidelinesText)
	}
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	var gl client.Guidelines
	switch {
	case f.set != "":
		gl, err = c.SetGuidelines(ctx, id, text)
	case f.accept:
		gl, err = c.AcceptGuidelines(ctx, id)
	default:
		err = poll(ctx, func() (bool, error) {
			var err error
			gl, err = c.Guidelines(ctx, id)
			if err := r.call(ctx, err); err != nil {
				return false, err
			}
			return !f.wait || gl.Version > 0, nil
		})
	}
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(gl, func(w io.Writer) {
		if gl.Version == 0 {
			fmt.Fprintln(w, "This group has no guidelines yet. A host or moderator can pin some with --set.")
			return
		}
		fmt.Fprintf(w, "Guidelines, version %d, pinned by %s on %s:\n\n", gl.Version, clean(gl.Pseudonym, false, ""), localTime(gl.Set))
		fmt.Fprintf(w, "  %s\n\n", clean(gl.Text, true, "  "))
		if gl.Current {
			fmt.Fprintln(w, "You have accepted this version.")
		} else {
			fmt.Fprintf(w, "You have not accepted this version yet: 'hearth guidelines %s --accept%s'.\n", shellQuote(r.args[0]), r.homeFlag)
		}
	})
}

// mute returns the run function of mute, unmute, block or unblock.
func (f *moderationFlags) mute(action string) func(ctx context.Context, r *cliRun) error {
	return func(ctx context.Context, r *cliRun) error {
		c, id, err := r.connectGroup(ctx)
		if err != nil {
			return err
		}
		mid, name, err := r.member(ctx, c, id, r.args[1])
		if err != nil {
			return err
		}
		do := map[string]func(context.Context, string, string) error{
			"mute": c.Mute, "unmute": c.Unmute, "block": c.Block, "unblock": c.Unblock,
		}[action]
		if err := r.call(ctx, do(ctx, id, mid)); err != nil {
			return err
		}
		status := map[string]string{"mute": "muted", "unmute": "none", "block": "blocked", "unblock": "none"}[action]
		return r.out(map[string]string{"member": mid, "status": status}, func(w io.Writer) {
			switch action {
			case "mute":
				fmt.Fprintf(w, "Muted %s on your node: their posts are folded away. Nothing was sent; they are not told.\n", name)
			case "block":
				fmt.Fprintf(w, "Blocked %s on your node: their posts are hidden. Nothing was sent; they are not told.\n", name)
			default:
				fmt.Fprintf(w, "%s's posts show as usual again.\n", name)
			}
		})
	}
}
