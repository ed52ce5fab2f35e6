package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/hearthnet/hearth/api/client"
)

// runMembers is `hearth members GROUP`.
func runMembers(ctx context.Context, r *cliRun) error {
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	members, err := c.Members(ctx, id)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	if members == nil {
		members = []client.Member{}
	}
	return r.out(members, func(w io.Writer) {
		for _, m := range members {
			fmt.Fprintf(w, "%s  %s (%s)\n", m.Member, clean(m.Pseudonym, false, ""), m.Role)
		}
	})
}

// runWaiting is `hearth waiting GROUP`.
func runWaiting(ctx context.Context, r *cliRun) error {
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	reqs, err := c.Waiting(ctx, id)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	if reqs == nil {
		reqs = []client.WaitingRequest{}
	}
	return r.out(reqs, func(w io.Writer) {
		if len(reqs) == 0 {
			fmt.Fprintln(w, "Nobody is waiting to join.")
			return
		}
		for _, q := range reqs {
			fmt.Fprintf(w, "%s  %s (asked %s, invite %s)\n", q.Member, clean(q.Pseudonym, false, ""), showTime(q.Requested), q.Invite)
		}
		fmt.Fprintf(w, "Let someone in with 'hearth admit %s MEMBER%s', or turn them down with 'hearth deny'.\n", r.args[0], r.homeFlag)
	})
}

// runAdmit is `hearth admit GROUP MEMBER`.
func runAdmit(ctx context.Context, r *cliRun) error {
	return r.waitingDecision(ctx, "admitted", (*client.Client).Admit)
}

// runDeny is `hearth deny GROUP MEMBER`.
func runDeny(ctx context.Context, r *cliRun) error {
	return r.waitingDecision(ctx, "denied", (*client.Client).Deny)
}

func (r *cliRun) waitingDecision(ctx context.Context, status string, do func(*client.Client, context.Context, string, string) error) error {
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	member, name, err := r.waitingMember(ctx, c, id, r.args[1])
	if err != nil {
		return err
	}
	if err := r.call(ctx, do(c, ctx, id, member)); err != nil {
		return err
	}
	return r.out(map[string]string{"member": member, "status": status}, func(w io.Writer) {
		if status == "admitted" {
			fmt.Fprintf(w, "Admitted %s. Their node receives the group's keys when it next reaches yours.\n", name)
		} else {
			fmt.Fprintf(w, "Turned down %s's request.\n", name)
		}
	})
}

// runRemove is `hearth remove GROUP MEMBER`.
func runRemove(ctx context.Context, r *cliRun) error {
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	member, name, err := r.member(ctx, c, id, r.args[1])
	if err != nil {
		return err
	}
	if err := r.call(ctx, c.Remove(ctx, id, member)); err != nil {
		return err
	}
	return r.out(map[string]string{"member": member, "status": "removed"}, func(w io.Writer) {
		fmt.Fprintf(w, "Removed %s. The group moved to new keys they do not have.\n", name)
	})
}

// runPromote is `hearth promote GROUP MEMBER [--role moderator]`.
func runPromote(ctx context.Context, r *cliRun) error {
	role := r.opts.role
	switch role {
	case "moderator", "host", "member":
	default:
		return usagef("--role: %q is not a role; use moderator, host or member", clean(role, false, ""))
	}
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	member, name, err := r.member(ctx, c, id, r.args[1])
	if err != nil {
		return err
	}
	if err := r.call(ctx, c.SetRole(ctx, id, member, role)); err != nil {
		return err
	}
	return r.out(map[string]string{"member": member, "role": role}, func(w io.Writer) {
		fmt.Fprintf(w, "%s is now a %s.\n", name, role)
	})
}

// runLeave is `hearth leave GROUP`.
func runLeave(ctx context.Context, r *cliRun) error {
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	if err := r.call(ctx, c.Leave(ctx, id)); err != nil {
		return err
	}
	return r.out(map[string]string{"group": id, "status": "left"}, func(w io.Writer) {
		fmt.Fprintln(w, "You left the group. Its history stays readable on your node: 'hearth read' still shows it.")
	})
}

// connectGroup connects to the daemon and resolves the first argument,
// GROUP.
func (r *cliRun) connectGroup(ctx context.Context) (*client.Client, string, error) {
	c, err := r.connect(ctx)
	if err != nil {
		return nil, "", err
	}
	id, err := r.group(ctx, r.args[0])
	if err != nil {
		return nil, "", err
	}
	return c, id, nil
}

// member resolves the argument MEMBER, an ID or a pseudonym, among the
// members of group id, and returns the ID and a name to show.
func (r *cliRun) member(ctx context.Context, c *client.Client, id, arg string) (string, string, error) {
	members, err := c.Members(ctx, id)
	if err := r.call(ctx, err); err != nil {
		return "", "", err
	}
	var cands []idName
	for _, m := range members {
		cands = append(cands, idName{m.Member, m.Pseudonym})
	}
	return r.pick(arg, cands, "is in the group", "hearth members "+shellQuote(r.args[0]))
}

// waitingMember resolves MEMBER among those waiting to join group id.
func (r *cliRun) waitingMember(ctx context.Context, c *client.Client, id, arg string) (string, string, error) {
	reqs, err := c.Waiting(ctx, id)
	if err := r.call(ctx, err); err != nil {
		return "", "", err
	}
	var cands []idName
	for _, q := range reqs {
		cands = append(cands, idName{q.Member, q.Pseudonym})
	}
	return r.pick(arg, cands, "is waiting to join", "hearth waiting "+shellQuote(r.args[0]))
}

type idName struct{ id, name string }

// pick finds arg among cands by ID, then by exact pseudonym, then by
// pseudonym ignoring case. An ID nobody has is passed on as it is, so the
// daemon's answer (which knows best) is what the person reads.
func (r *cliRun) pick(arg string, cands []idName, what, listCmd string) (string, string, error) {
	if isHexID(arg, memberIDLen) {
		for _, c := range cands {
			if c.id == arg {
				return c.id, clean(c.name, false, ""), nil
			}
		}
		return arg, arg, nil
	}
	for _, fold := range []bool{false, true} {
		var found []idName
		for _, c := range cands {
			if c.name == arg || fold && strings.EqualFold(c.name, strings.TrimSpace(arg)) {
				found = append(found, c)
			}
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0].id, clean(found[0].name, false, ""), nil
		default:
			return "", "", cliErrorf(codeNoMember, "%d people are called %q; give the member ID instead (see '%s%s')", len(found), clean(arg, false, ""), listCmd, r.homeFlag)
		}
	}
	return "", "", cliErrorf(codeNoMember, "nobody called %q %s; see '%s%s'", clean(arg, false, ""), what, listCmd, r.homeFlag)
}
