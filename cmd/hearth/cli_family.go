package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// runFamily runs one command of a family that keeps its own command list
// and flags (the private space, SOS and mentors, meetings, moderation, the
// mailbox): the command called name itself, or "name SUB" when the first
// argument names one of its subcommands (which wins over name's own
// arguments, as in "hearth sos ls"). -h or --help anywhere before "--"
// prints the command's help.
func runFamily(ctx context.Context, e *env, name string, cmds []cliCommand, args []string) int {
	find := func(n string) *cliCommand {
		for i := range cmds {
			if cmds[i].name == n {
				return &cmds[i]
			}
		}
		return nil
	}
	cmd := find(name)
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		if sub := find(name + " " + args[0]); sub != nil {
			cmd, args = sub, args[1:]
		}
	}
	if cmd == nil {
		if len(args) > 0 && isHelpFlag(args[0]) {
			printFamilyHelp(e.stdout, name, cmds)
			return exitOK
		}
		var subs []string
		for _, c := range cmds {
			if strings.HasPrefix(c.name, name+" ") {
				subs = append(subs, "'hearth "+c.name+"'")
			}
		}
		msg := fmt.Sprintf("say what to do: %s", strings.Join(subs, ", "))
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			msg = fmt.Sprintf("unknown command %q; use %s", name+" "+args[0], strings.Join(subs, ", "))
		}
		return reportCLI(e, name, jsonWanted(args), &cliError{code: codeUsage, exit: exitUsage, msg: msg})
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		if isHelpFlag(a) {
			printFamilyHelp(e.stdout, cmd.name, cmds)
			return exitOK
		}
	}
	return runCLICommand(ctx, e, cmd, args)
}

// familyCommands lists the commands of every family (the private space,
// moderation, care, meetings, the mailbox and the passphrase), for `hearth
// help`; the flags they define are not used.
func familyCommands() []cliCommand {
	return slices.Concat(privateCommands(&privateFlags{}), moderationCommands(&moderationFlags{}), careCommands(&careFlags{}),
		meetingCommands(&meetingFlags{}), mailboxCommands(), passphraseCommands(&passphraseFlags{}))
}
