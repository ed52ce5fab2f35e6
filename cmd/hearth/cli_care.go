package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hearthnet/hearth/api/client"
	"github.com/hearthnet/hearth/node"
	"github.com/hearthnet/hearth/protocol"
)

// The care commands: "I need help now" (sos), answering one, the crisis
// resources, and mentorship. The crisis resources come from this machine
// (the shipped list and the home's config.toml), never from the daemon or
// the network, so `hearth sos` prints them first even when the daemon is
// not running.

// careFlags holds the flags of the care commands.
type careFlags struct {
	mentor, offer        bool
	region, text         string
	wait, waitAnswer     bool
	waitFor              string
	noResources, verbose bool
}

// careCommands lists the care commands; f receives their flags.
func careCommands(f *careFlags) []cliCommand {
	region := func(fs *flag.FlagSet, _ *cliOpts) {
		fs.StringVar(&f.region, "region", "", "the `REGION` of the crisis resources: a two-letter country code such as US or GB (default crisis_region in config.toml)")
	}
	return []cliCommand{
		{name: "sos", args: "[GROUP...] [TEXT]", minArgs: 0, maxArgs: 64, summary: "I need help now: print crisis resources, then send an SOS to groups, your mentor, or both", run: f.send,
			flags: func(fs *flag.FlagSet, o *cliOpts) {
				region(fs, o)
				fs.BoolVar(&f.mentor, "mentor", false, "send it to your mentor too (or only, when no GROUP is given)")
				fs.StringVar(&f.text, "text", "", "what you want to say (`TEXT`; or give it as the last argument)")
			}},
		{name: "sos ls", args: "[GROUP]", maxArgs: 1, summary: "the SOSes of the last week and who answered", run: f.list,
			flags: func(fs *flag.FlagSet, _ *cliOpts) {
				fs.BoolVar(&f.wait, "wait", false, "wait until an SOS from another member is here")
				fs.BoolVar(&f.waitAnswer, "wait-answer", false, "wait until someone has answered one of your SOSes")
			}},
		{name: "sos answer", args: "GROUP [SOS] [TEXT]", minArgs: 1, maxArgs: 3, summary: "answer an SOS: \"I'm here\" (default the newest SOS of another member in GROUP)", run: f.answer},
		{name: "crisis-resources", summary: "print the crisis lines for your region (from this machine; nothing is fetched)", run: f.resources, flags: region},
		{name: "mentor ask", args: "GROUP MEMBER", minArgs: 2, maxArgs: 2, summary: "ask a member to be your mentor (or offer to be theirs); only they can read it", run: f.ask,
			flags: func(fs *flag.FlagSet, _ *cliOpts) {
				fs.BoolVar(&f.offer, "offer", false, "offer to be their mentor instead")
				fs.StringVar(&f.text, "text", "", "a few words to go with it (`TEXT`)")
			}},
		{name: "mentor ls", summary: "your mentorships and the requests waiting for your answer", run: f.mentorList,
			flags: func(fs *flag.FlagSet, _ *cliOpts) {
				fs.StringVar(&f.waitFor, "wait", "", "wait until there is a `STATE`: request (one waits for you), active, declined or ended")
			}},
		{name: "mentor accept", args: "[ID]", maxArgs: 1, summary: "accept a request (default the only one waiting); a pairing suggestion asks the member it names", run: f.accept},
		{name: "mentor decline", args: "[ID]", maxArgs: 1, summary: "decline a request (default the only one waiting), or dismiss a pairing suggestion", run: f.decline},
		{name: "mentor end", args: "[ID]", maxArgs: 1, summary: "end a mentorship (default the only active one), or withdraw your request", run: f.end},
		{name: "mentor suggest", args: "GROUP MEMBER WITH", minArgs: 3, maxArgs: 3, summary: "suggest to MEMBER that they pair with WITH (hosts and moderators)", run: f.suggest,
			flags: func(fs *flag.FlagSet, _ *cliOpts) {
				fs.StringVar(&f.text, "text", "", "a few words to go with it (`TEXT`)")
			}},
	}
}

// runCare runs "hearth sos ...", "hearth mentor ..." and "hearth
// crisis-resources": the entries of main.go's command table.
func runCare(name string) func(ctx context.Context, e *env, args []string) int {
	return func(ctx context.Context, e *env, args []string) int {
		return runFamily(ctx, e, name, careCommands(&careFlags{}), args)
	}
}

// crisisDirectory reads the crisis resources of the home's config.toml
// over the shipped ones. A config file that does not read still leaves
// the shipped list, with a note on stderr: crisis lines are never held
// back by a typo.
func (f *careFlags) crisisDirectory(r *cliRun) *node.CrisisDirectory {
	s := defaultSettings()
	if err := applyConfigFile(&s, r.home); err != nil {
		fmt.Fprintf(r.e.stderr, "hearth: %v (showing the crisis resources Hearth ships with)\n", err)
		s = defaultSettings()
	}
	d, err := node.NewCrisisDirectory(s.crisisResources, s.crisisRegion)
	if err != nil {
		d, _ = node.NewCrisisDirectory(nil, "")
	}
	return d
}

// crisisOf returns the resources for the --region flag (or the default).
func (f *careFlags) crisisOf(r *cliRun) (client.Crisis, error) {
	region := node.NormalizeRegion(f.region)
	if region != "" && region != node.RegionInternational && (len(region) != 2 || strings.IndexFunc(region, func(c rune) bool { return c < 'A' || c > 'Z' }) >= 0) {
		return client.Crisis{}, usagef("--region must be a two-letter country code such as US or GB")
	}
	d := f.crisisDirectory(r)
	used, list := d.For(region)
	out := client.Crisis{Region: used, Regions: d.Regions(), Notice: node.CrisisNotice}
	for _, c := range list {
		out.Resources = append(out.Resources, client.CrisisResource(c))
	}
	return out, nil
}

// printCrisis prints the crisis resources, plainly, first.
func printCrisis(w io.Writer, c client.Crisis) {
	fmt.Fprintln(w, c.Notice)
	fmt.Fprintln(w)
	for _, res := range c.Resources {
		fmt.Fprintf(w, "  %s", clean(res.Name, false, ""))
		switch {
		case res.Phone != "" && res.SMS == res.Phone:
			fmt.Fprintf(w, ": call or text %s", clean(res.Phone, false, ""))
		case res.Phone != "" && res.SMS != "":
			fmt.Fprintf(w, ": call %s, text %s", clean(res.Phone, false, ""), clean(res.SMS, false, ""))
		case res.Phone != "":
			fmt.Fprintf(w, ": call %s", clean(res.Phone, false, ""))
		case res.SMS != "":
			fmt.Fprintf(w, ": text %s", clean(res.SMS, false, ""))
		}
		if res.URL != "" {
			fmt.Fprintf(w, "  %s", clean(res.URL, false, ""))
		}
		fmt.Fprintln(w)
		if res.Note != "" {
			fmt.Fprintf(w, "    %s\n", clean(res.Note, false, ""))
		}
	}
	fmt.Fprintln(w)
}

func (f *careFlags) resources(_ context.Context, r *cliRun) error {
	c, err := f.crisisOf(r)
	if err != nil {
		return err
	}
	return r.out(c, func(w io.Writer) { printCrisis(w, c) })
}

// checkCareText refuses text the daemon would refuse, before anything is
// sent.
func checkCareText(what, s string, max int) error {
	switch {
	case len(s) > max:
		return cliErrorf("bad_text", "the %s is %d bytes long, at most %d are allowed", what, len(s), max)
	case !utf8.ValidString(s):
		return cliErrorf("bad_text", "the %s is not valid UTF-8 text", what)
	}
	return nil
}

// send prints the crisis resources, then sends the SOS. The last argument
// is the text when it names none of the member's groups (and --text is
// not given).
func (f *careFlags) send(ctx context.Context, r *cliRun) error {
	crisis, err := f.crisisOf(r)
	if err != nil {
		return err
	}
	if !r.opts.json {
		printCrisis(r.e.stdout, crisis)
	}
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	text := f.text
	args := r.args
	var groups []string
	for i, a := range args {
		id, err := r.group(ctx, a)
		if err != nil {
			var ce *cliError
			if i == len(args)-1 && text == "" && errors.As(err, &ce) && ce.code == codeNoGroup && !isHexID(a, groupIDLen) {
				text = a
				break
			}
			return err
		}
		groups = append(groups, id)
	}
	if len(groups) == 0 && !f.mentor {
		return cliErrorf("no_sos_target", "say where to send the SOS: one of your groups ('hearth group ls%s'), or --mentor", r.homeFlag)
	}
	if err := checkCareText("SOS text", text, protocol.MaxSOSText); err != nil {
		return err
	}
	sent, err := c.SendSOS(ctx, client.SOSInput{Groups: groups, Mentors: f.mentor, Text: text, Region: f.region})
	if err := r.call(ctx, err); err != nil {
		return err
	}
	names := r.groupNames(ctx, c)
	return r.out(sent, func(w io.Writer) {
		for _, s := range sent.Sent {
			name := names[s.Group]
			if name == "" {
				name = s.Group
			}
			if s.SOS != nil {
				fmt.Fprintf(w, "Your SOS went to %s: its members see it now. SOS ID: %s\n", clean(name, false, ""), s.SOS.ID)
			} else if s.Error != nil {
				fmt.Fprintf(w, "Your SOS did not go to %s: %s\n", clean(name, false, ""), clean(s.Error.Message, false, ""))
			}
		}
		fmt.Fprintf(w, "See who answers with 'hearth sos ls%s'.\n", r.homeFlag)
	})
}

// groupNames maps the member's group IDs to their names (empty when the
// list does not read: names are a courtesy here).
func (r *cliRun) groupNames(ctx context.Context, c *client.Client) map[string]string {
	out := make(map[string]string)
	if gs, err := c.Groups(ctx); err == nil {
		for _, g := range gs {
			out[g.Group] = g.Name
		}
	}
	return out
}

// pollInterval is how often the --wait flags look again.
const pollInterval = 200 * time.Millisecond

// poll calls check until it reports done, every pollInterval, until ctx
// ends.
func poll(ctx context.Context, check func() (bool, error)) error {
	for {
		done, err := check()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return cliErrorf("interrupted", "interrupted while waiting")
		case <-time.After(pollInterval):
		}
	}
}

func (f *careFlags) list(ctx context.Context, r *cliRun) error {
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	group := ""
	if len(r.args) == 1 {
		if group, err = r.group(ctx, r.args[0]); err != nil {
			return err
		}
	}
	var list []client.SOS
	err = poll(ctx, func() (bool, error) {
		var err error
		list, err = c.SOSes(ctx, group)
		if err := r.call(ctx, err); err != nil {
			return false, err
		}
		if !f.wait && !f.waitAnswer {
			return true, nil
		}
		for _, s := range list {
			if f.wait && !s.Mine || f.waitAnswer && s.Mine && len(s.Replies) > 0 {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	names := r.groupNames(ctx, c)
	return r.out(list, func(w io.Writer) {
		if len(list) == 0 {
			fmt.Fprintln(w, "No SOS in the last week.")
		}
		for _, s := range list {
			who := clean(s.Pseudonym, false, "")
			if s.Mine {
				who = "You"
			}
			fmt.Fprintf(w, "%s  %s  %s in %s", s.ID, localTime(s.Sent), who, clean(names[s.Group], false, ""))
			if s.Text != "" {
				fmt.Fprintf(w, ": %s", clean(s.Text, true, "    "))
			}
			fmt.Fprintln(w)
			if len(s.Replies) == 0 {
				fmt.Fprintln(w, "    No answer yet.")
			}
			for _, a := range s.Replies {
				name := clean(a.Pseudonym, false, "")
				if a.Mine {
					name = "You"
				}
				fmt.Fprintf(w, "    %s: I'm here", name)
				if a.Text != "" {
					fmt.Fprintf(w, " — %s", clean(a.Text, true, "    "))
				}
				fmt.Fprintln(w)
			}
		}
	})
}

// localTime shows an API time in this machine's zone.
func localTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.Local().Format("2006-01-02 15:04")
}

func (f *careFlags) answer(ctx context.Context, r *cliRun) error {
	c, group, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	var sosID, text string
	rest := r.args[1:]
	if len(rest) > 0 && isHexID(rest[0], messageIDLen) {
		sosID, rest = rest[0], rest[1:]
	}
	if len(rest) > 1 {
		return usagef("unexpected argument %q; usage: hearth sos answer GROUP [SOS] [TEXT]", rest[1])
	}
	if len(rest) == 1 {
		text = rest[0]
	}
	if err := checkCareText("answer", text, protocol.MaxSOSText); err != nil {
		return err
	}
	if sosID == "" {
		list, err := c.SOSes(ctx, group)
		if err := r.call(ctx, err); err != nil {
			return err
		}
		for _, s := range list {
			if !s.Mine {
				sosID = s.ID
				break
			}
		}
		if sosID == "" {
			return cliErrorf("no_sos", "nobody else in %s sent an SOS in the last week", clean(r.args[0], false, ""))
		}
	}
	reply, err := c.AnswerSOS(ctx, group, sosID, text)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(reply, func(w io.Writer) {
		fmt.Fprintln(w, "You answered \"I'm here\": they see it now. Reach out to them directly if you can.")
	})
}

func (f *careFlags) ask(ctx context.Context, r *cliRun) error {
	c, group, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	member, name, err := r.member(ctx, c, group, r.args[1])
	if err != nil {
		return err
	}
	if err := checkCareText("text", f.text, protocol.MaxNoteText); err != nil {
		return err
	}
	m, err := c.AskMentor(ctx, group, member, f.text, f.offer)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(m, func(w io.Writer) {
		what := "to be your mentor"
		if f.offer {
			what = "whether you may be their mentor"
		}
		fmt.Fprintf(w, "Asked %s %s; only they can read it. Mentorship ID: %s\n", name, what, m.ID)
	})
}

// mentorView is what mentor ls prints with --json.
type mentorView struct {
	Requests    []client.MentorRequest `json:"requests"`
	Mentorships []client.Mentorship    `json:"mentorships"`
}

func (f *careFlags) mentorList(ctx context.Context, r *cliRun) error {
	switch f.waitFor {
	case "", "request", "active", "declined", "ended":
	default:
		return usagef("--wait takes request, active, declined or ended")
	}
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	var v mentorView
	err = poll(ctx, func() (bool, error) {
		var err error
		if v.Requests, err = c.MentorRequests(ctx); err != nil {
			return false, r.call(ctx, err)
		}
		if v.Mentorships, err = c.Mentorships(ctx); err != nil {
			return false, r.call(ctx, err)
		}
		switch f.waitFor {
		case "":
			return true, nil
		case "request":
			return len(v.Requests) > 0, nil
		}
		for _, m := range v.Mentorships {
			if m.State == f.waitFor {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	return r.out(v, func(w io.Writer) {
		if len(v.Requests) == 0 && len(v.Mentorships) == 0 {
			fmt.Fprintln(w, "No mentorships and no requests.")
		}
		for _, q := range v.Requests {
			from := clean(q.FromPseudonym, false, "")
			switch q.Kind {
			case "ask":
				fmt.Fprintf(w, "%s  request: %s asks you to be their mentor", q.ID, from)
			case "offer":
				fmt.Fprintf(w, "%s  request: %s offers to be your mentor", q.ID, from)
			default:
				fmt.Fprintf(w, "%s  suggestion: %s suggests you pair with %s", q.ID, from, clean(q.SubjectPseudonym, false, ""))
			}
			if q.Text != "" {
				fmt.Fprintf(w, ": %s", clean(q.Text, true, "    "))
			}
			fmt.Fprintln(w)
		}
		for _, m := range v.Mentorships {
			role := "your mentor"
			if m.Role == "mentor" {
				role = "your mentee"
			}
			fmt.Fprintf(w, "%s  %s: %s is %s", m.ID, m.State, clean(m.PeerPseudonym, false, ""), role)
			if m.State == "asked" {
				fmt.Fprint(w, " (waiting for their answer)")
			}
			if m.Outsiders {
				fmt.Fprint(w, " (ended because someone else was added to your private group: what either of you wrote after that may have been read by them)")
			}
			fmt.Fprintln(w)
		}
	})
}

// only returns the ID argument, or the one item's ID when none is given
// and exactly one fits.
func only(r *cliRun, ids []string, what, listCmd string) (string, error) {
	if len(r.args) == 1 {
		return r.args[0], nil
	}
	switch len(ids) {
	case 1:
		return ids[0], nil
	case 0:
		return "", cliErrorf("no_mentorship", "there is no %s; see '%s%s'", what, listCmd, r.homeFlag)
	}
	return "", cliErrorf(codeUsage, "there are %d of them; give the ID (see '%s%s')", len(ids), listCmd, r.homeFlag)
}

func (f *careFlags) waitingRequest(ctx context.Context, r *cliRun, c *client.Client) (string, error) {
	if len(r.args) == 1 {
		return r.args[0], nil
	}
	reqs, err := c.MentorRequests(ctx)
	if err := r.call(ctx, err); err != nil {
		return "", err
	}
	var ids []string
	for _, q := range reqs {
		ids = append(ids, q.ID)
	}
	return only(r, ids, "request waiting for you", "hearth mentor ls")
}

func (f *careFlags) accept(ctx context.Context, r *cliRun) error {
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	id, err := f.waitingRequest(ctx, r, c)
	if err != nil {
		return err
	}
	m, err := c.AcceptMentor(ctx, id)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(m, func(w io.Writer) {
		if m.State == "asked" {
			fmt.Fprintf(w, "Asked %s to be your mentor. Mentorship ID: %s\n", clean(m.PeerPseudonym, false, ""), m.ID)
			return
		}
		fmt.Fprintf(w, "You and %s now share a private group of two; talk there with 'hearth post %s TEXT'.\n", clean(m.PeerPseudonym, false, ""), m.Pair)
	})
}

func (f *careFlags) decline(ctx context.Context, r *cliRun) error {
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	id, err := f.waitingRequest(ctx, r, c)
	if err != nil {
		return err
	}
	if err := r.call(ctx, c.DeclineMentor(ctx, id)); err != nil {
		return err
	}
	return r.out(map[string]string{"id": id, "status": "declined"}, func(w io.Writer) { fmt.Fprintln(w, "Declined.") })
}

func (f *careFlags) end(ctx context.Context, r *cliRun) error {
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	id := ""
	if len(r.args) == 1 {
		id = r.args[0]
	} else {
		ms, err := c.Mentorships(ctx)
		if err := r.call(ctx, err); err != nil {
			return err
		}
		var ids []string
		for _, m := range ms {
			if m.State == "active" || m.State == "asked" {
				ids = append(ids, m.ID)
			}
		}
		if id, err = only(r, ids, "open mentorship", "hearth mentor ls"); err != nil {
			return err
		}
	}
	m, err := c.EndMentorship(ctx, id)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(m, func(w io.Writer) {
		fmt.Fprintf(w, "The mentorship with %s has ended; your conversation stays readable on your node.\n", clean(m.PeerPseudonym, false, ""))
	})
}

func (f *careFlags) suggest(ctx context.Context, r *cliRun) error {
	c, group, err := r.connectGroup(ctx)
	if err != nil {
		return err
	}
	a, aName, err := r.member(ctx, c, group, r.args[1])
	if err != nil {
		return err
	}
	b, bName, err := r.member(ctx, c, group, r.args[2])
	if err != nil {
		return err
	}
	if err := r.call(ctx, c.SuggestPairing(ctx, group, a, b, f.text)); err != nil {
		return err
	}
	return r.out(map[string]string{"member": a, "with": b, "status": "suggested"}, func(w io.Writer) {
		fmt.Fprintf(w, "Suggested to %s that they pair with %s; only %s can read it.\n", aName, bName, aName)
	})
}
