package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/hearthnet/hearth/api/client"
	"github.com/hearthnet/hearth/protocol"
)

// Lengths of the API's IDs, in lower-case hex digits.
const (
	groupIDLen   = 32
	memberIDLen  = 32
	messageIDLen = 32
	inviteIDLen  = 16
)

// isHexID reports whether s is n lower-case hex digits, the form of the
// API's IDs.
func isHexID(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// runStatus is `hearth status`.
func runStatus(ctx context.Context, r *cliRun) error {
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	st, err := c.Status(ctx)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(st, func(w io.Writer) {
		fmt.Fprintf(w, "Hearth is running (version %s) for the home %s.\n", clean(st.Version, false, ""), r.home)
		fmt.Fprintf(w, "Peer ID:    %s\n", clean(st.PeerID, false, ""))
		for i, a := range st.Addrs {
			label := ""
			if i == 0 {
				label = "Listening:"
			}
			fmt.Fprintf(w, "%-11s %s\n", label, clean(a, false, ""))
		}
		if len(st.Addrs) == 0 {
			fmt.Fprintln(w, "Listening:  nowhere (this node only dials out)")
		}
		fmt.Fprintf(w, "Groups:     %d\n", st.Groups)
		fmt.Fprintf(w, "Peers:      %d connected\n", st.Peers)
	})
}

// runGroupCreate is `hearth group create NAME --pseudonym P`.
func runGroupCreate(ctx context.Context, r *cliRun) error {
	name := r.args[0]
	if _, err := protocol.ValidateGroupName(name); err != nil {
		return nameError("bad_group_name", err)
	}
	if r.opts.pseudonym == "" {
		return usagef("say what the group calls you with --pseudonym NAME")
	}
	if _, err := protocol.ValidatePseudonym(r.opts.pseudonym); err != nil {
		return nameError("bad_pseudonym", err)
	}
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	id, err := c.CreateGroup(ctx, name, r.opts.pseudonym, r.opts.retention)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(map[string]string{"group": id}, func(w io.Writer) {
		fmt.Fprintf(w, "Created the group %q, with you as its host.\n", clean(strings.TrimSpace(name), false, ""))
		fmt.Fprintf(w, "Group ID: %s\n", id)
		fmt.Fprintf(w, "Invite someone with 'hearth invite create %s%s'.\n", id, r.homeFlag)
	})
}

// nameError turns a pseudonym or group name the protocol refuses into a
// one-line error with the API's code for it.
func nameError(code string, err error) error {
	msg := err.Error()
	for _, s := range []error{protocol.ErrBadPseudonym, protocol.ErrBadGroupName} {
		msg = strings.TrimPrefix(msg, s.Error()+": ")
	}
	return cliErrorf(code, "%s; choose another", msg)
}

// runGroupList is `hearth group ls`.
func runGroupList(ctx context.Context, r *cliRun) error {
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	groups, err := c.Groups(ctx)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	if groups == nil {
		groups = []client.GroupSummary{}
	}
	return r.out(groups, func(w io.Writer) {
		if len(groups) == 0 {
			fmt.Fprintf(w, "You are in no group yet. Create one with 'hearth group create NAME --pseudonym YOURNAME%s', or join one with 'hearth join INVITE'.\n", r.homeFlag)
			return
		}
		for _, g := range groups {
			state := fmt.Sprintf("%s, %d %s, epoch %d", g.Role, g.Members, plural(g.Members, "member", "members"), g.Epoch)
			if g.Removed {
				state = "no longer a member; history kept"
			}
			fmt.Fprintf(w, "%s  %s (%s)\n", g.Group, clean(g.Name, false, ""), state)
		}
	})
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// group resolves the argument GROUP, an ID or a group's name, to an ID.
// An ID is taken as it is (the daemon says when it knows no such group);
// a name must match exactly one of the member's groups, exactly or, when
// none does, ignoring case.
func (r *cliRun) group(ctx context.Context, arg string) (string, error) {
	if isHexID(arg, groupIDLen) {
		return arg, nil
	}
	c, err := r.connect(ctx)
	if err != nil {
		return "", err
	}
	groups, err := c.Groups(ctx)
	if err := r.call(ctx, err); err != nil {
		return "", err
	}
	for _, fold := range []bool{false, true} {
		var ids []string
		for _, g := range groups {
			if g.Name == arg || fold && strings.EqualFold(g.Name, strings.TrimSpace(arg)) {
				ids = append(ids, g.Group)
			}
		}
		switch len(ids) {
		case 0:
			continue
		case 1:
			return ids[0], nil
		default:
			return "", cliErrorf(codeNoGroup, "you are in %d groups called %q; give the group's ID instead (see 'hearth group ls%s')", len(ids), clean(arg, false, ""), r.homeFlag)
		}
	}
	return "", cliErrorf(codeNoGroup, "you are in no group called %q; see your groups with 'hearth group ls%s'", clean(arg, false, ""), r.homeFlag)
}
