// Command hearth is the Hearth node: the daemon that keeps a member's groups
// (`hearth up`) and the command-line client that drives it.
//
// Everything that talks to a person lives here: prompts, messages on stderr,
// exit codes, --json output. The packages below it never print or exit.
//
// The files are split by concern: home.go finds and checks the home
// directory, passphrase.go reads the passphrase, config.go reads config.toml
// and the environment, flags.go parses and validates the command line,
// logging.go builds the log handler, lock.go keeps a second daemon off a home,
// signals.go turns SIGINT and SIGTERM into a cancelled context, init.go is
// `hearth init`, and up.go is `hearth up`.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hearthnet/hearth/crypto"
)

func main() {
	ctx, stop := shutdownOnSignal(context.Background())
	code := run(ctx, osEnv(), os.Args[1:])
	stop()
	os.Exit(code)
}

// Exit codes. Scripts can rely on these.
const (
	exitOK    = 0
	exitError = 1 // the command failed; stderr says why and what to do
	exitUsage = 2 // the command line, the environment or config.toml was wrong
)

// env is everything a command takes from the process it runs in. main fills
// it from the operating system; tests fill it with buffers, a fixed
// environment and a fake terminal, so no command reads a global.
type env struct {
	stdout io.Writer
	stderr io.Writer
	// getenv returns the value of an environment variable, "" when unset.
	getenv func(string) string
	// now is the clock.
	now func() time.Time
	// terminal reads a passphrase without echo. Nil when standard input
	// is not a terminal, in which case the passphrase must come from a file.
	terminal passwordReader
	// kdf are the Argon2id parameters a new home's keystore is sealed with.
	// Always crypto.DefaultKDFParams in the real binary; the tests use cheap
	// ones so that scripts creating many homes stay fast.
	kdf crypto.KDFParams
}

// osEnv returns the env of the real process.
func osEnv() *env {
	return &env{
		stdout:   os.Stdout,
		stderr:   os.Stderr,
		getenv:   os.Getenv,
		now:      time.Now,
		terminal: stdinTerminal(os.Stdin, os.Stderr),
		kdf:      crypto.DefaultKDFParams(),
	}
}

// command is one `hearth` subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) int
}

// commands lists the subcommands in the order `hearth help` shows them.
func commands() []command {
	return []command{
		{"init", "create a new Hearth home (identity, keystore and database)", runInit},
		{"up", "start the node and its web UI on 127.0.0.1", runUp},
		{"status", "show whether your node runs, and its peers and groups", runCLI("status")},
		{"ui", "print a new one-time link to the web UI (--open opens it in your browser)", runCLI("ui")},
		{"group", "create a group (group create) or list yours (group ls)", runCLI("group")},
		{"invite", "make (invite create), list (invite ls) or revoke (invite revoke) invites", runCLI("invite")},
		{"join", "join a group with an invite", runCLI("join")},
		{"members", "list a group's members", runCLI("members")},
		{"waiting", "list who waits in a group's waiting room", runCLI("waiting")},
		{"admit", "let someone in from the waiting room", runCLI("admit")},
		{"deny", "turn down someone in the waiting room", runCLI("deny")},
		{"remove", "remove a member from a group", runCLI("remove")},
		{"promote", "change a member's role (moderator, host or member)", runCLI("promote")},
		{"leave", "leave a group", runCLI("leave")},
		{"post", "post a message to a group", runCLI("post")},
		{"read", "show a group's messages", runCLI("read")},
		{"tail", "follow a group's new messages until Ctrl-C", runCLI("tail")},
		{"edit", moderationSummary("edit"), runModeration("edit")},
		{"delete", moderationSummary("delete"), runModeration("delete")},
		{"report", moderationSummary("report"), runModeration("report")},
		{"reports", moderationSummary("reports"), runModeration("reports")},
		{"remove-post", moderationSummary("remove-post"), runModeration("remove-post")},
		{"guidelines", moderationSummary("guidelines"), runModeration("guidelines")},
		{"mute", moderationSummary("mute"), runModeration("mute")},
		{"unmute", moderationSummary("unmute"), runModeration("unmute")},
		{"block", moderationSummary("block"), runModeration("block")},
		{"unblock", moderationSummary("unblock"), runModeration("unblock")},
		{"journal", "write, edit, search your private journal (journal add|ls|edit|rm)", runPrivate("journal")},
		{"checkin", "record a mood and craving check-in (checkin add|ls|share)", runPrivate("checkin")},
		{"insight", "your trends, patterns, streaks and day counters, as text", runPrivate("insight")},
		{"milestone", "day counters: start, record a slip, share (milestone add|ls|slip|share)", runPrivate("milestone")},
		{"export", "write everything you own on this node to a JSON or CSV file", runPrivate("export")},
		{"wipe", "destroy this home now: keys first, then the files", runPrivate("wipe")},
		{"passphrase", "change the passphrase that opens this home", runPassphrase},
		{"meeting", "schedule, list and export meetings; take part in a live room (meeting schedule|ls|ics|open|checkin|raise|floor|close|...)", runMeeting},
		{"sos", "I need help now: crisis resources, then an SOS to your group, your mentor, or both (sos [GROUP...]|ls|answer)", runCare("sos")},
		{"crisis-resources", "print the crisis lines for your region, from this machine", runCare("crisis-resources")},
		{"mentor", "ask for or offer mentorship, answer requests, end one (mentor ask|ls|accept|decline|end|suggest)", runCare("mentor")},
		{"mailbox", "a mailbox keeps a group's envelopes for members who are offline, unread (mailbox info|add|show|rm)", runMailbox},
		{"demo", "watch three nodes meet in an encrypted group, in this process", runDemo},
		{"version", "print the version of this build", runVersion},
		{"help", "show this help, or help for one command", runHelp},
	}
}

// run runs the command named by args[0] and returns the process's exit
// code. ctx is cancelled when the process is asked to stop.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		printUsage(e.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "hearth: unknown command %q; run 'hearth help' to see the commands\n", name)
	return exitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `Hearth keeps your support groups end-to-end encrypted, on your own machine.

Usage: hearth <command> [arguments]

Commands:
`)
	// The summaries start in one column, after the longest name.
	width := 0
	for _, c := range commands() {
		width = max(width, len(c.name))
	}
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprint(w, `
Run 'hearth help <command>' for more about a command.
`)
}

func runHelp(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		printUsage(e.stdout)
		return exitOK
	}
	if len(args) > 1 {
		fmt.Fprintln(e.stderr, "hearth help: give one command name, for example 'hearth help up'")
		return exitUsage
	}
	for _, c := range commands() {
		if c.name == args[0] {
			printHelp(e.stdout, c.name)
			return exitOK
		}
	}
	fmt.Fprintf(e.stderr, "hearth help: unknown command %q; run 'hearth help' to see the commands\n", args[0])
	return exitUsage
}
