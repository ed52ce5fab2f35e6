package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hearthnet/hearth/api/client"
	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
)

// runInviteCreate is `hearth invite create GROUP`. The invite goes alone
// on stdout, so that it can be copied, piped or redirected to a file
// without anything around it ('hearth invite create g > invite.txt'); what
// it is and how to hand it over goes to stderr.
func runInviteCreate(ctx context.Context, r *cliRun) error {
	if r.opts.uses < 1 {
		return usagef("--uses must be at least 1")
	}
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	inv, err := c.CreateInvite(ctx, id, client.InviteOptions{Expires: r.opts.expires, Uses: r.opts.uses, Approval: r.opts.approval})
	if err := r.call(ctx, err); err != nil {
		return err
	}
	if r.opts.json {
		writeJSON(r.e.stdout, inv)
		return nil
	}
	how := "joins at once"
	if inv.Approval {
		how = "waits in the waiting room until a host admits them ('hearth waiting')"
	}
	fmt.Fprintf(r.e.stderr, "Made invite %s: it works until %s for %d %s, and whoever uses it %s.\nGive it only to the person you invite, in a private message; anyone holding it can ask to join:\n",
		inv.ID, showTime(inv.Expires), inv.UsesLeft, plural(inv.UsesLeft, "person", "people"), how)
	fmt.Fprintln(r.e.stdout, inv.Invite)
	return nil
}

// runInviteList is `hearth invite ls GROUP`.
func runInviteList(ctx context.Context, r *cliRun) error {
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	invites, err := c.Invites(ctx, id)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	if invites == nil {
		invites = []client.Invite{}
	}
	return r.out(invites, func(w io.Writer) {
		if len(invites) == 0 {
			fmt.Fprintln(w, "You made no invites for this group.")
			return
		}
		for _, inv := range invites {
			state := fmt.Sprintf("until %s, %d %s left", showTime(inv.Expires), inv.UsesLeft, plural(inv.UsesLeft, "use", "uses"))
			if inv.Approval {
				state += ", with approval"
			}
			if inv.Revoked {
				state = "revoked"
			}
			fmt.Fprintf(w, "%s  %s\n", inv.ID, state)
		}
	})
}

// runInviteRevoke is `hearth invite revoke GROUP INVITE`: INVITE is the
// invite's ID or the invite itself ("-" reads it from stdin), whose ID is
// worked out here so that the secret never goes to the daemon again.
func runInviteRevoke(ctx context.Context, r *cliRun) error {
	arg := r.args[1]
	if arg == "-" {
		s, err := r.readStdin("invite")
		if err != nil {
			return err
		}
		arg = s
	}
	inviteID, err := inviteIDOf(arg)
	if err != nil {
		return err
	}
	c, id, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	if err := r.call(ctx, c.RevokeInvite(ctx, id, inviteID)); err != nil {
		return err
	}
	return r.out(map[string]bool{"revoked": true}, func(w io.Writer) {
		fmt.Fprintf(w, "Revoked invite %s: nobody can join with it any more.\n", inviteID)
	})
}

// inviteIDOf returns the ID named by s: an invite ID (16 hex digits) or an
// invite ("hearth:...").
func inviteIDOf(s string) (string, error) {
	s = strings.TrimSpace(s)
	if isHexID(s, inviteIDLen) {
		return s, nil
	}
	if !strings.HasPrefix(strings.ToLower(s), crypto.InvitePrefix) {
		return "", cliErrorf(codeBadID, "%q is neither an invite ID (16 hex digits, see 'hearth invite ls') nor an invite", clean(s, false, ""))
	}
	inv, err := crypto.ParseInvite(s)
	if err != nil {
		return "", inviteError(err)
	}
	defer inv.Wipe()
	return inv.ID().String(), nil
}

// inviteError says what is wrong with an invite that does not parse, with
// the API's code for it.
func inviteError(err error) error {
	if errors.Is(err, crypto.ErrInviteChecksum) {
		return cliErrorf("invite_mistyped", "the invite has a typing mistake; copy it again exactly as you received it")
	}
	return cliErrorf("invite_malformed", "this is not a Hearth invite; ask for it again, and copy all of it")
}

// runJoin is `hearth join INVITE --pseudonym P`.
func runJoin(ctx context.Context, r *cliRun) error {
	if r.opts.pseudonym == "" {
		return usagef("say what the group will call you with --pseudonym NAME")
	}
	if _, err := protocol.ValidatePseudonym(r.opts.pseudonym); err != nil {
		return nameError("bad_pseudonym", err)
	}
	invite := r.args[0]
	if invite == "-" {
		s, err := r.readStdin("invite")
		if err != nil {
			return err
		}
		if invite = strings.TrimSpace(s); invite == "" {
			return cliErrorf(codeInput, "standard input holds no invite")
		}
	}
	if r.opts.guidelinesWait < 0 {
		return usagef("--guidelines-wait must not be negative")
	}
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	// The event stream opens before the join, so guidelines that reach the
	// node while it joins are not missed.
	var events *client.EventStream
	if r.opts.guidelinesWait > 0 {
		if events, err = c.Events(ctx); err == nil {
			defer events.Close()
		}
	}
	res, err := c.Join(ctx, invite, r.opts.pseudonym)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	out := joinOutput{JoinResult: res}
	if res.Status == "joined" {
		out.Guidelines = joinGuidelines(ctx, c, events, res.Group, r.opts.guidelinesWait)
	}
	return r.out(out, func(w io.Writer) {
		if res.Status == "waiting" {
			fmt.Fprintf(w, "Asked to join; a host must admit you. Your node keeps asking, even across restarts; 'hearth group ls%s' shows the group once you are in.\nGroup ID: %s\n", r.homeFlag, res.Group)
			return
		}
		fmt.Fprintf(w, "You joined the group.\nGroup ID: %s\nSay hello with 'hearth post %s TEXT%s'.\n", res.Group, res.Group, r.homeFlag)
		if gl := out.Guidelines; gl != nil {
			// On stderr, so standard output stays the join's answer.
			fmt.Fprintf(r.e.stderr, "\nThis group asks you to accept its guidelines (version %d, pinned by %s) before you post:\n\n  %s\n\n",
				gl.Version, clean(gl.Pseudonym, false, ""), clean(gl.Text, true, "  "))
			fmt.Fprintf(r.e.stderr, "Accept them with 'hearth guidelines %s --accept%s'.\n", res.Group, r.homeFlag)
		}
	})
}

// defaultGuidelinesWait is how long join waits, by default, for a group's
// guidelines: the host sends them again to each new member right after
// adding them, and they arrive within a second or two on a working
// network. A group without guidelines costs the whole wait.
const defaultGuidelinesWait = 3 * time.Second

// joinOutput is join's answer with --json: the API's, and the group's
// guidelines when it has any (and they arrived in time).
type joinOutput struct {
	client.JoinResult
	Guidelines *client.Guidelines `json:"guidelines,omitempty"`
}

// joinGuidelines returns the guidelines of the group just joined, once the
// node holds them, waiting up to wait for them on events (opened before
// the join; nil when there is none); nil when the group has none by then.
func joinGuidelines(ctx context.Context, c *client.Client, events *client.EventStream, group string, wait time.Duration) *client.Guidelines {
	held := func() *client.Guidelines {
		if gl, err := c.Guidelines(ctx, group); err == nil && gl.Version > 0 {
			return &gl
		}
		return nil
	}
	if gl := held(); gl != nil || events == nil {
		return gl
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	stop := context.AfterFunc(wctx, func() { events.Close() })
	defer stop()
	for {
		ev, err := events.Next()
		if err != nil {
			break
		}
		if ev.IsOverflow() {
			if gl := held(); gl != nil {
				return gl
			}
			continue
		}
		if ev.Type != client.EventGuidelines {
			continue
		}
		if d, err := ev.Decode(); err == nil && d.Group == group && d.Guidelines != nil && d.Guidelines.Version > 0 {
			return held()
		}
	}
	// Time is up (or the stream ended): the node may have them after all.
	return held()
}
