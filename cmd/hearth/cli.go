package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hearthnet/hearth/api"
	"github.com/hearthnet/hearth/api/client"
	"github.com/hearthnet/hearth/protocol"
)

// The member-facing commands (status, group, invite, join, members, post,
// read, tail, ...) are clients of a running daemon: they find it through the
// home's api.addr and api.token, send one request to the local API, and print
// the answer. This file holds what they share: the command table, argument
// parsing, finding the daemon, output and errors.
//
// Output: human output on stdout; with --json, the API's JSON answer on
// stdout, one value on one line. Errors: one line on stderr and a non-zero
// exit code (1 when the command failed, 2 when the command line was wrong);
// with --json the line is the API's error object {"error":{"code","message"}},
// also on stderr, so stdout only ever holds answers.

// maxStdin bounds what a command reads from standard input ("-" for a
// post's text or an invite): more than a post may hold is a mistake.
const maxStdin = 64 << 10

// Error codes of errors the command line finds itself, before or instead
// of asking the daemon. The API's own codes pass through unchanged.
const (
	codeUsage    = "usage"     // the command line is wrong (exit 2)
	codeNoDaemon = "no_daemon" // no daemon runs for the home
	codeNoGroup  = "no_group"  // same meaning as the API's code
	codeNoMember = "no_member"
	codeBadID    = "bad_id"
	codeInput    = "bad_input" // standard input could not be read or was empty
)

// cliError is an error a member-facing command ends with: the code --json
// shows, the message people read, and the exit code.
type cliError struct {
	code string
	msg  string
	exit int
}

func (e *cliError) Error() string { return e.msg }

func cliErrorf(code, format string, args ...any) *cliError {
	return &cliError{code: code, msg: fmt.Sprintf(format, args...), exit: exitError}
}

// cliCommand is one member-facing command. name is what follows "hearth"
// ("invite create"); args names the positional arguments for the usage line.
type cliCommand struct {
	name    string
	args    string
	summary string
	// minArgs and maxArgs bound the positional arguments.
	minArgs, maxArgs int
	// flags adds the command's own flags (beyond --home and --json).
	flags func(fs *flag.FlagSet, o *cliOpts)
	run   func(ctx context.Context, r *cliRun) error
}

// cliOpts holds every flag of the member-facing commands; each command
// defines the ones it takes.
type cliOpts struct {
	home      string
	json      bool
	pseudonym string
	retention string
	expires   string
	uses      int
	approval  bool
	role      string
	replyTo   string
	before    string
	limit     int
	history   int
	count     int
	open      bool
	// guidelinesWait is how long join waits for the group's guidelines.
	guidelinesWait time.Duration
}

// cliRun is one run of a member-facing command.
type cliRun struct {
	e    *env
	cmd  *cliCommand
	opts *cliOpts
	args []string
	// home is the resolved home directory, homeFlag " --home DIR" when the
	// home came from --home (for commands hearth suggests), else "".
	home     string
	homeFlag string
	stdin    io.Reader
	c        *client.Client
}

// cliCommands lists the member-facing commands in the order help shows them.
func cliCommands() []cliCommand {
	return []cliCommand{
		{name: "status", summary: "show whether the daemon runs, its peer ID, addresses, groups and peers", run: runStatus},
		{name: "ui", summary: "print a new one-time link to the web UI of the running daemon", run: runUI,
			flags: func(fs *flag.FlagSet, o *cliOpts) {
				fs.BoolVar(&o.open, "open", false, "also open the link in your browser (with xdg-open, or open on macOS), when there is one")
			}},
		{name: "group create", args: "NAME", minArgs: 1, maxArgs: 1, summary: "create a group with you as its host", run: runGroupCreate,
			flags: func(fs *flag.FlagSet, o *cliOpts) {
				fs.StringVar(&o.pseudonym, "pseudonym", "", "your `NAME` in the group (required)")
				fs.StringVar(&o.retention, "retention", "", "how long members keep messages: `DURATION` like 30d or 12h, or forever (default forever)")
			}},
		{name: "group ls", summary: "list your groups", run: runGroupList},
		{name: "invite create", args: "GROUP", minArgs: 1, maxArgs: 1, summary: "make an invite; it is printed alone on stdout, the details on stderr", run: runInviteCreate,
			flags: func(fs *flag.FlagSet, o *cliOpts) {
				fs.StringVar(&o.expires, "expires", "24h", "how long the invite works: `DURATION` like 24h, 90m or 7d")
				fs.IntVar(&o.uses, "uses", 1, "how many people may join with it")
				fs.BoolVar(&o.approval, "approval", false, "joiners wait in the waiting room until a host admits them")
			}},
		{name: "invite ls", args: "GROUP", minArgs: 1, maxArgs: 1, summary: "list the invites you made for a group", run: runInviteList},
		{name: "invite revoke", args: "GROUP INVITE", minArgs: 2, maxArgs: 2, summary: "withdraw an invite, given by its ID or the invite itself (- reads it from stdin)", run: runInviteRevoke},
		{name: "join", args: "INVITE", minArgs: 1, maxArgs: 1, summary: "join a group with an invite (- reads it from stdin, which keeps it out of your shell history), and show its guidelines", run: runJoin,
			flags: func(fs *flag.FlagSet, o *cliOpts) {
				fs.StringVar(&o.pseudonym, "pseudonym", "", "your `NAME` in the group (required)")
				fs.DurationVar(&o.guidelinesWait, "guidelines-wait", defaultGuidelinesWait, "how long to wait, once in, for the group's guidelines to reach your node, to show them (0: do not wait)")
			}},
		{name: "members", args: "GROUP", minArgs: 1, maxArgs: 1, summary: "list a group's members", run: runMembers},
		{name: "waiting", args: "GROUP", minArgs: 1, maxArgs: 1, summary: "list who waits in a group's waiting room", run: runWaiting},
		{name: "admit", args: "GROUP MEMBER", minArgs: 2, maxArgs: 2, summary: "let someone in from the waiting room", run: runAdmit},
		{name: "deny", args: "GROUP MEMBER", minArgs: 2, maxArgs: 2, summary: "turn down someone in the waiting room", run: runDeny},
		{name: "remove", args: "GROUP MEMBER", minArgs: 2, maxArgs: 2, summary: "remove a member from a group", run: runRemove},
		{name: "promote", args: "GROUP MEMBER", minArgs: 2, maxArgs: 2, summary: "change a member's role", run: runPromote,
			flags: func(fs *flag.FlagSet, o *cliOpts) {
				fs.StringVar(&o.role, "role", "moderator", "the new `ROLE`: moderator, host or member")
			}},
		{name: "leave", args: "GROUP", minArgs: 1, maxArgs: 1, summary: "leave a group (its history stays readable on your node)", run: runLeave},
		{name: "post", args: "GROUP TEXT", minArgs: 2, maxArgs: 2, summary: "post a message (TEXT - reads it from stdin)", run: runPost,
			flags: func(fs *flag.FlagSet, o *cliOpts) {
				fs.StringVar(&o.replyTo, "reply-to", "", "the `ID` of the message this one answers")
			}},
		{name: "read", args: "GROUP", minArgs: 1, maxArgs: 1, summary: "show a group's messages, oldest first", run: runRead,
			flags: func(fs *flag.FlagSet, o *cliOpts) {
				fs.IntVar(&o.limit, "limit", 50, "show at most `N` messages (1 to 500)")
				fs.StringVar(&o.before, "before", "", "show the messages before the message `ID`")
			}},
		{name: "tail", args: "GROUP", minArgs: 1, maxArgs: 1, summary: "show a group's latest messages, then each new one until Ctrl-C", run: runTail,
			flags: func(fs *flag.FlagSet, o *cliOpts) {
				fs.IntVar(&o.history, "n", 10, "show the last `N` messages first (0 for none)")
				fs.IntVar(&o.count, "count", 0, "stop after showing `N` messages, those shown first included (0: never), to wait for a message in a script")
			}},
	}
}

// findCLICommand returns the member-facing command called name.
func findCLICommand(name string) (*cliCommand, bool) {
	for _, c := range cliCommands() {
		if c.name == name {
			return &c, true
		}
	}
	return nil, false
}

// runCLI runs the member-facing command name with args. It is what the
// entries of main.go's command table call.
func runCLI(name string) func(ctx context.Context, e *env, args []string) int {
	return func(ctx context.Context, e *env, args []string) int {
		cmd, ok := findCLICommand(name)
		if !ok {
			// A command with subcommands: the first argument names one.
			if len(args) == 0 || strings.HasPrefix(args[0], "-") {
				if len(args) > 0 && isHelpFlag(args[0]) {
					printHelp(e.stdout, name)
					return exitOK
				}
				return reportCLI(e, name, jsonWanted(args), &cliError{code: codeUsage, exit: exitUsage,
					msg: fmt.Sprintf("say what to do: %s (run 'hearth help %s')", strings.Join(subcommands(name), ", "), name)})
			}
			sub := name + " " + args[0]
			if cmd, ok = findCLICommand(sub); !ok {
				return reportCLI(e, name, jsonWanted(args), &cliError{code: codeUsage, exit: exitUsage,
					msg: fmt.Sprintf("unknown command %q; use %s (run 'hearth help %s')", sub, strings.Join(subcommands(name), ", "), name)})
			}
			args = args[1:]
		}
		return runCLICommand(ctx, e, cmd, args)
	}
}

func isHelpFlag(s string) bool { return s == "-h" || s == "-help" || s == "--help" }

// jsonWanted reports whether --json is among args, for errors found before
// the flags are parsed.
func jsonWanted(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "-json" || a == "--json" || a == "-json=true" || a == "--json=true" {
			return true
		}
	}
	return false
}

// subcommands returns the names of group's subcommands ("hearth group
// create", ...).
func subcommands(group string) []string {
	var out []string
	for _, c := range cliCommands() {
		if strings.HasPrefix(c.name, group+" ") {
			out = append(out, "'hearth "+c.name+"'")
		}
	}
	return out
}

func runCLICommand(ctx context.Context, e *env, cmd *cliCommand, args []string) int {
	opts, pos, err := parseCLIArgs(cmd, args)
	if errors.Is(err, errHelp) {
		printHelp(e.stdout, cmd.name)
		return exitOK
	}
	if err != nil {
		return reportCLI(e, cmd.name, jsonWanted(args), err)
	}
	r := &cliRun{e: e, cmd: cmd, opts: opts, args: pos, stdin: os.Stdin}
	if r.home, err = resolveHome(e, opts.home); err != nil {
		return reportCLI(e, cmd.name, opts.json, err)
	}
	if opts.home != "" {
		r.homeFlag = " --home " + shellQuote(opts.home)
	}
	if err := cmd.run(ctx, r); err != nil {
		return reportCLI(e, cmd.name, opts.json, err)
	}
	return exitOK
}

// parseCLIArgs parses the flags and positional arguments of cmd. Flags may
// come before, between or after the arguments; "--" ends the flags, so a
// text that starts with "-" can be posted ("hearth post g -- -30 days").
func parseCLIArgs(cmd *cliCommand, args []string) (*cliOpts, []string, error) {
	o := &cliOpts{}
	fs := flag.NewFlagSet("hearth "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	defineCLIFlags(fs, cmd, o)
	var pos []string
	rest := args
	for len(rest) > 0 {
		before := rest
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, nil, errHelp
			}
			return nil, nil, usagef("%v; run 'hearth help %s' to see the flags", err, cmd.name)
		}
		rest = fs.Args()
		if n := len(before) - len(rest); n > 0 && before[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		if len(rest) > 0 {
			pos = append(pos, rest[0])
			rest = rest[1:]
		}
	}
	switch {
	case len(pos) < cmd.minArgs:
		missing := strings.Fields(cmd.args)[len(pos)]
		return nil, nil, usagef("missing %s; usage: hearth %s %s", missing, cmd.name, cmd.args)
	case len(pos) > cmd.maxArgs:
		return nil, nil, usagef("unexpected argument %q; usage: hearth %s%s", pos[cmd.maxArgs], cmd.name, prefixSpace(cmd.args))
	}
	return o, pos, nil
}

func prefixSpace(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

func defineCLIFlags(fs *flag.FlagSet, cmd *cliCommand, o *cliOpts) {
	fs.StringVar(&o.home, "home", "", "the home `DIR` of the daemon to talk to (default $HEARTH_HOME, else $XDG_DATA_HOME/hearth, else ~/.local/share/hearth)")
	fs.BoolVar(&o.json, "json", false, "print the API's JSON answer (errors as {\"error\":{...}} on stderr)")
	if cmd.flags != nil {
		cmd.flags(fs, o)
	}
}

// printHelp prints the help of the command name: a member-facing command
// (or a command with member-facing subcommands) or, failing that, one of
// the daemon's commands.
func printHelp(w io.Writer, name string) {
	if name == "demo" {
		fmt.Fprint(w, `hearth demo: run three nodes in this process and show an encrypted group at work

Usage: hearth demo

Starts three nodes on 127.0.0.1 with temporary homes (cheap key-derivation
settings, for the demo only), has a host create a group, invite and admit two
members (one through the waiting room), exchange messages and remove one,
prints what each node saw, shows a hex dump of the host's database and checks
that no file holds the group's name, a pseudonym or a message. Everything is
removed at the end. It needs no daemon and touches no home of yours.
`)
		return
	}
	var cmds []cliCommand
	for _, c := range cliCommands() {
		if c.name == name || strings.HasPrefix(c.name, name+" ") {
			cmds = append(cmds, c)
		}
	}
	if len(cmds) == 0 {
		family := familyCommands()
		for _, c := range family {
			if c.name == name || strings.HasPrefix(c.name, name+" ") {
				printFamilyHelp(w, name, family)
				return
			}
		}
		printCommandHelp(w, name)
		return
	}
	for i, c := range cmds {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "hearth %s: %s\n\nUsage: hearth %s%s [flags]\n\nFlags:\n", c.name, c.summary, c.name, prefixSpace(c.args))
		fs := flag.NewFlagSet("hearth "+c.name, flag.ContinueOnError)
		defineCLIFlags(fs, &c, &cliOpts{})
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	fmt.Fprint(w, `
GROUP is a group's ID or its name; MEMBER is a member's ID or pseudonym.
Errors are one line on stderr; the exit code is 1 when the command failed
and 2 when the command line was wrong.
`)
}

// connect finds the daemon of the run's home and returns a client for it.
// It fails with codeNoDaemon, saying how to start one, when the daemon has
// never run there or does not answer.
func (r *cliRun) connect(ctx context.Context) (*client.Client, error) {
	if r.c != nil {
		return r.c, nil
	}
	noDaemon := cliErrorf(codeNoDaemon, "no Hearth daemon is running for the home %s; start one with 'hearth up%s'", r.home, r.homeFlag)
	c, err := client.NewFromHome(r.home)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, noDaemon
	case errors.Is(err, api.ErrTokenPermissions):
		return nil, cliErrorf("token_permissions", "other users can read the API token in %s; run 'chmod 600 %s/%s' and restart the daemon", r.home, r.home, api.TokenFile)
	case err != nil:
		return nil, cliErrorf(codeNoDaemon, "cannot find the daemon of the home %s: %v; restart it with 'hearth up%s'", r.home, err, r.homeFlag)
	}
	// One cheap request tells a stopped daemon (whose api.addr stays
	// behind) from a running one, so every command says the same thing
	// when there is none.
	if _, err := c.Health(ctx); err != nil {
		var ae *client.Error
		if errors.As(err, &ae) {
			return nil, apiError(ae)
		}
		if ctx.Err() != nil {
			return nil, cliErrorf("interrupted", "interrupted")
		}
		return nil, noDaemon
	}
	r.c = c
	return c, nil
}

// apiError turns an API error into the error the command ends with,
// keeping its code and message. An unauthorized answer almost always means
// the daemon restarted (with a new token) while this command read the old
// one, or another daemon now listens at the address.
func apiError(ae *client.Error) error {
	if ae.Code == api.CodeUnauthorized {
		return cliErrorf(ae.Code, "the daemon did not accept the API token; if it just restarted, run the command again")
	}
	return &cliError{code: ae.Code, msg: ae.Message, exit: exitError}
}

// call turns an error from a client method into the command's error.
func (r *cliRun) call(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var ae *client.Error
	if errors.As(err, &ae) {
		return apiError(ae)
	}
	if ctx.Err() != nil {
		return cliErrorf("interrupted", "interrupted; the daemon may still finish what was asked")
	}
	return cliErrorf(codeNoDaemon, "lost the connection to the daemon of the home %s; check it is running ('hearth status%s')", r.home, r.homeFlag)
}

// reportCLI prints err as the command's one line on stderr and returns the
// exit code.
func reportCLI(e *env, name string, asJSON bool, err error) int {
	code, msg, exit := "internal", err.Error(), exitError
	var ce *cliError
	var ue *usageError
	switch {
	case errors.As(err, &ce):
		code, exit = ce.code, ce.exit
	case errors.As(err, &ue):
		code, exit = codeUsage, exitUsage
	}
	msg = strings.ReplaceAll(msg, "\n", " ")
	if asJSON {
		type body struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		writeJSON(e.stderr, struct {
			Error body `json:"error"`
		}{body{code, msg}})
		return exit
	}
	fmt.Fprintf(e.stderr, "hearth %s: %s\n", name, msg)
	return exit
}

// writeJSON writes v as one line of JSON. HTML characters stay as they
// are: the output is for programs, not for a browser.
func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// out prints v as JSON with --json, and otherwise calls human.
func (r *cliRun) out(v any, human func(w io.Writer)) error {
	if r.opts.json {
		writeJSON(r.e.stdout, v)
		return nil
	}
	human(r.e.stdout)
	return nil
}

// readStdin reads what standard input holds, for an argument given as "-".
// what names it for messages.
func (r *cliRun) readStdin(what string) (string, error) {
	b, err := io.ReadAll(io.LimitReader(bufio.NewReader(r.stdin), maxStdin+1))
	if err != nil {
		return "", cliErrorf(codeInput, "cannot read the %s from standard input: %v", what, err)
	}
	if len(b) > maxStdin {
		return "", cliErrorf(codeInput, "the %s on standard input is longer than %d KiB", what, maxStdin>>10)
	}
	return string(b), nil
}

// clean makes text that came from other people safe to print on a
// terminal: control characters (escape sequences could rewrite the screen
// or the window title), line and paragraph separators and bidirectional
// formatting characters (which could make one name or message read as
// another) are shown as \u escapes; invalid UTF-8 shows as U+FFFD. When
// multiline is set, newlines and tabs stay, and every line after the first
// is indented by indent.
func clean(s string, multiline bool, indent string) string {
	var b strings.Builder
	for i, w := 0, 0; i < len(s); i += w {
		r, n := utf8.DecodeRuneInString(s[i:])
		w = n
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteRune(utf8.RuneError)
		case multiline && r == '\n':
			b.WriteString("\n" + indent)
		case multiline && r == '\t':
			b.WriteRune(r)
		case protocol.ForbiddenInName(r):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
