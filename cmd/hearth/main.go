// Command hearth is the Hearth node: the daemon that keeps a member's groups
// (`hearth up`) and the command-line client that drives it.
//
// Everything that talks to a person lives here: prompts, messages on stderr,
// exit codes, --json output. The packages below it never print or exit.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes. Scripts can rely on these.
const (
	exitOK    = 0
	exitError = 1 // the command failed; stderr says why and what to do
	exitUsage = 2 // the command line itself was wrong
)

// command is one `hearth` subcommand.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands lists the subcommands in the order `hearth help` shows them.
func commands() []command {
	return []command{
		{"up", "start the node and its web UI on 127.0.0.1", runUp},
		{"version", "print the version of this build", runVersion},
		{"help", "show this help, or help for one command", runHelp},
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printUsage(stderr)
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
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "hearth: unknown command %q; run 'hearth help' to see the commands\n", name)
	return exitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `Hearth keeps your support groups end-to-end encrypted, on your own machine.

Usage: hearth <command> [arguments]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run 'hearth help <command>' for more about a command.
`)
}

func runHelp(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printUsage(stdout)
		return exitOK
	}
	if len(args) > 1 {
		fmt.Fprintln(stderr, "hearth help: give one command name, for example 'hearth help up'")
		return exitUsage
	}
	for _, c := range commands() {
		if c.name == args[0] {
			fmt.Fprintf(stdout, "hearth %s: %s\n", c.name, c.summary)
			return exitOK
		}
	}
	fmt.Fprintf(stderr, "hearth help: unknown command %q; run 'hearth help' to see the commands\n", args[0])
	return exitUsage
}

func runUp(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "hearth up: the daemon is not built yet in this version; "+
		"'hearth version' and 'hearth help' work, and 'go test ./...' runs what is built")
	return exitError
}
