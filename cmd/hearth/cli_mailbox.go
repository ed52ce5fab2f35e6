package main

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// The mailbox commands. 'hearth mailbox info' runs on the mailbox (a node
// started with 'hearth up --mailbox') and prints the string its operator
// gives a host; 'hearth mailbox add GROUP STRING' is the host naming it as
// the group's mailbox, 'hearth mailbox show GROUP' tells any member which
// mailbox the group has, and 'hearth mailbox rm GROUP' stops naming it.
// All are clients of the running daemon.

// mailboxCommands lists the mailbox commands.
func mailboxCommands() []cliCommand {
	return []cliCommand{
		{name: "mailbox info", summary: "on a mailbox: the string a host gives 'hearth mailbox add', and what it holds", run: mailboxInfo},
		{name: "mailbox add", args: "GROUP STRING", minArgs: 2, maxArgs: 2, summary: "name the mailbox that printed STRING as the group's mailbox (hosts; STRING - reads it from stdin)", run: mailboxAdd},
		{name: "mailbox show", args: "GROUP", minArgs: 1, maxArgs: 1, summary: "show the group's mailbox", run: mailboxShow},
		{name: "mailbox rm", args: "GROUP", minArgs: 1, maxArgs: 1, summary: "stop naming a mailbox for the group (hosts)", run: mailboxRemove},
	}
}

// runMailbox runs 'hearth mailbox SUBCOMMAND'.
func runMailbox(ctx context.Context, e *env, args []string) int {
	return runFamily(ctx, e, "mailbox", mailboxCommands(), args)
}

func mailboxInfo(ctx context.Context, r *cliRun) error {
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	info, err := c.Mailbox(ctx)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(info, func(w io.Writer) {
		fmt.Fprintf(w, "This node is a mailbox for %d group(s), holding %d envelope(s), %d bytes; it cannot read any of them.\n", info.Groups, info.Envelopes, info.Bytes)
		fmt.Fprintln(w, "A host names it as a group's mailbox with:")
		fmt.Fprintf(w, "  hearth mailbox add GROUP %s\n", info.Registration)
		fmt.Fprintln(w, "Whoever has this string can register groups here: give it only to the hosts you serve.")
	})
}

func mailboxAdd(ctx context.Context, r *cliRun) error {
	gid, err := r.group(ctx, r.args[0])
	if err != nil {
		return err
	}
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	reg := r.args[1]
	if reg == "-" {
		// What 'hearth mailbox info' printed, whole or in part: the
		// registration is the word that begins "hearth-mailbox:".
		in, err := r.readStdin("registration string")
		if err != nil {
			return err
		}
		reg = ""
		for _, w := range strings.Fields(in) {
			if strings.HasPrefix(strings.ToLower(w), "hearth-mailbox:") {
				reg = w
				break
			}
		}
	}
	mb, err := c.SetMailbox(ctx, gid, reg)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(mb, func(w io.Writer) {
		fmt.Fprintf(w, "The group's mailbox is now %s. It keeps the group's envelopes for members who are offline, and cannot read them.\n", mb.PeerID)
	})
}

func mailboxShow(ctx context.Context, r *cliRun) error {
	gid, err := r.group(ctx, r.args[0])
	if err != nil {
		return err
	}
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	mb, err := c.GroupMailbox(ctx, gid)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(mb, func(w io.Writer) {
		fmt.Fprintf(w, "Mailbox %s\n", mb.PeerID)
		for _, a := range mb.Addrs {
			fmt.Fprintf(w, "  %s\n", a)
		}
	})
}

func mailboxRemove(ctx context.Context, r *cliRun) error {
	gid, err := r.group(ctx, r.args[0])
	if err != nil {
		return err
	}
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	err = c.RemoveMailbox(ctx, gid)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(struct {
		Removed bool `json:"removed"`
	}{true}, func(w io.Writer) {
		fmt.Fprintln(w, "The group no longer has a mailbox; the old one receives nothing from now on.")
	})
}
