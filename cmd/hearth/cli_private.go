package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hearthnet/hearth/api"
	"github.com/hearthnet/hearth/api/client"
	"github.com/hearthnet/hearth/node"
	"github.com/hearthnet/hearth/storage"
)

// The private-space commands: journal, checkin, insight, milestone, export
// and wipe. All but wipe are clients of the running daemon, like the group
// commands (cli.go); wipe works on the home directly and needs the daemon
// stopped, since a running node holds the keys it is about to destroy.

// privateFlags holds the flags of the private-space commands.
type privateFlags struct {
	tags, kind, search, tag string
	// tagsSet records that --tags was given, even empty: journal edit
	// keeps an entry's tags without it and removes them with --tags ''.
	tagsSet            bool
	sleep              float64
	triggers, note, at string
	start, format      string
	yes                bool
}

// privateCommands lists the private-space commands; f receives their flags.
func privateCommands(f *privateFlags) []cliCommand {
	tagsFlag := func(fs *flag.FlagSet, _ *cliOpts) {
		fs.StringVar(&f.tags, "tags", "", "comma-separated `TAGS`")
	}
	return []cliCommand{
		{name: "journal add", args: "TEXT", minArgs: 1, maxArgs: 1, summary: "write a private journal entry (TEXT - reads it from stdin)", run: f.journalAdd,
			flags: func(fs *flag.FlagSet, o *cliOpts) {
				tagsFlag(fs, o)
				fs.StringVar(&f.kind, "kind", "", "`KIND` of entry: intention (morning) or review (evening); default a plain entry")
			}},
		{name: "journal ls", summary: "list or search journal entries, newest first (the search runs in memory)", run: f.journalList,
			flags: func(fs *flag.FlagSet, _ *cliOpts) {
				fs.StringVar(&f.search, "search", "", "show entries containing every one of these `WORDS`")
				fs.StringVar(&f.tag, "tag", "", "show entries with this `TAG`")
				fs.StringVar(&f.kind, "kind", "", "show entries of this `KIND` (intention or review)")
			}},
		{name: "journal edit", args: "ID TEXT", minArgs: 2, maxArgs: 2, summary: "replace an entry's text (TEXT - reads it from stdin), and its tags with --tags", run: f.journalEdit,
			flags: func(fs *flag.FlagSet, _ *cliOpts) {
				fs.Func("tags", "replace the entry's tags with these comma-separated `TAGS` ('' removes them; without --tags they stay)", func(s string) error {
					f.tags, f.tagsSet = s, true
					return nil
				})
			}},
		{name: "journal rm", args: "ID", minArgs: 1, maxArgs: 1, summary: "delete a journal entry", run: f.journalRemove},
		{name: "checkin add", args: "MOOD CRAVING", minArgs: 2, maxArgs: 2, summary: "record a check-in: mood 1 (very low) to 5 (very good), craving 0 (none) to 10", run: f.checkinAdd,
			flags: func(fs *flag.FlagSet, _ *cliOpts) {
				fs.Float64Var(&f.sleep, "sleep", 0, "hours of sleep last night")
				fs.StringVar(&f.triggers, "triggers", "", "comma-separated `TRIGGERS`, your own words")
				fs.StringVar(&f.note, "note", "", "a short `NOTE`")
				fs.StringVar(&f.at, "at", "", "when, as RFC 3339 `TIME` (default now)")
			}},
		{name: "checkin ls", summary: "list your check-ins, oldest first", run: f.checkinList},
		{name: "checkin share", args: "ID GROUP", minArgs: 2, maxArgs: 2, summary: "post one check-in to a group; nothing else is sent", run: f.checkinShare},
		{name: "insight", summary: "trends, trigger and time-of-day patterns, streaks and day counters", run: f.insight},
		{name: "milestone add", args: "NAME", minArgs: 1, maxArgs: 1, summary: "start a day counter (sobriety or any habit)", run: f.milestoneAdd,
			flags: func(fs *flag.FlagSet, _ *cliOpts) {
				fs.StringVar(&f.start, "start", "", "the start `DATE` (YYYY-MM-DD, default today)")
			}},
		{name: "milestone ls", summary: "show your day counters", run: f.milestoneList},
		{name: "milestone slip", args: "ID", minArgs: 1, maxArgs: 1, summary: "record a slip: the counter restarts, the history is kept", run: f.milestoneSlip,
			flags: func(fs *flag.FlagSet, _ *cliOpts) {
				fs.StringVar(&f.note, "note", "", "a short `NOTE`")
			}},
		{name: "milestone share", args: "ID GROUP", minArgs: 2, maxArgs: 2, summary: "post a counter's milestone (its name and days) to a group", run: f.milestoneShare},
		{name: "export", args: "FILE", minArgs: 1, maxArgs: 1, summary: "write everything you own on this node to FILE (readable by you only)", run: f.export,
			flags: func(fs *flag.FlagSet, _ *cliOpts) {
				fs.StringVar(&f.format, "format", "", "`FORMAT` json or csv (default: from FILE's extension, else json)")
			}},
		{name: "wipe", summary: "destroy this home: keys first, so everything is unreadable at once, then the files", run: f.wipe,
			flags: func(fs *flag.FlagSet, _ *cliOpts) {
				fs.BoolVar(&f.yes, "yes", false, "do not ask for confirmation")
			}},
	}
}

// runPrivate runs the private-space command name ("journal", "checkin",
// "insight", "milestone", "export", "wipe"). It is what the entries of
// main.go's command table call.
func runPrivate(name string) func(ctx context.Context, e *env, args []string) int {
	return func(ctx context.Context, e *env, args []string) int {
		return runFamily(ctx, e, name, privateCommands(&privateFlags{}), args)
	}
}

func printFamilyHelp(w io.Writer, name string, cmds []cliCommand) {
	first := true
	for _, c := range cmds {
		if c.name != name && !strings.HasPrefix(c.name, name+" ") {
			continue
		}
		if !first {
			fmt.Fprintln(w)
		}
		first = false
		fmt.Fprintf(w, "hearth %s: %s\n\nUsage: hearth %s%s [flags]\n\nFlags:\n", c.name, c.summary, c.name, prefixSpace(c.args))
		fs := flag.NewFlagSet("hearth "+c.name, flag.ContinueOnError)
		defineCLIFlags(fs, &c, &cliOpts{})
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

func splitCommaList(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// textArg returns the text argument, reading stdin for "-".
func textArg(r *cliRun, arg string) (string, error) {
	if arg != "-" {
		return arg, nil
	}
	s, err := r.readStdin("text")
	return strings.TrimRight(s, "\r\n"), err
}

func printEntry(w io.Writer, e node.JournalEntry) {
	kind := ""
	if e.Kind != "" {
		kind = " (" + e.Kind + ")"
	}
	fmt.Fprintf(w, "%s  %s%s", e.ID, e.Created.Local().Format("2006-01-02 15:04"), kind)
	if len(e.Tags) > 0 {
		fmt.Fprintf(w, "  #%s", strings.Join(e.Tags, " #"))
	}
	fmt.Fprintf(w, "\n  %s\n", clean(e.Text, true, "  "))
}

func (f *privateFlags) journalAdd(ctx context.Context, r *cliRun) error {
	text, err := textArg(r, r.args[0])
	if err != nil {
		return err
	}
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	e, err := c.AddJournal(ctx, client.JournalInput{Kind: f.kind, Text: text, Tags: splitCommaList(f.tags)})
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(e, func(w io.Writer) { fmt.Fprintf(w, "Saved on this machine only. Entry ID: %s\n", e.ID) })
}

func (f *privateFlags) journalList(ctx context.Context, r *cliRun) error {
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	es, err := c.SearchJournal(ctx, f.search, f.tag, f.kind)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(es, func(w io.Writer) {
		if len(es) == 0 {
			fmt.Fprintln(w, "No journal entries.")
		}
		for _, e := range es {
			printEntry(w, e)
		}
	})
}

func (f *privateFlags) journalEdit(ctx context.Context, r *cliRun) error {
	text, err := textArg(r, r.args[1])
	if err != nil {
		return err
	}
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	// nil keeps the entry's tags; --tags, even empty, replaces them.
	var tags []string
	if f.tagsSet {
		tags = append([]string{}, splitCommaList(f.tags)...)
	}
	e, err := c.EditJournal(ctx, r.args[0], text, tags)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(e, func(w io.Writer) { fmt.Fprintln(w, "Entry updated.") })
}

func (f *privateFlags) journalRemove(ctx context.Context, r *cliRun) error {
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	if err := r.call(ctx, c.DeleteJournal(ctx, r.args[0])); err != nil {
		return err
	}
	return r.out(map[string]string{"deleted": r.args[0]}, func(w io.Writer) { fmt.Fprintln(w, "Entry deleted.") })
}

func (f *privateFlags) checkinAdd(ctx context.Context, r *cliRun) error {
	mood, err1 := strconv.Atoi(r.args[0])
	craving, err2 := strconv.Atoi(r.args[1])
	if err1 != nil || mood < 1 || mood > 5 {
		return usagef("MOOD must be a whole number from 1 (very low) to 5 (very good)")
	}
	if err2 != nil || craving < 0 || craving > 10 {
		return usagef("CRAVING must be a whole number from 0 (none) to 10")
	}
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	ci, err := c.AddCheckIn(ctx, client.CheckInInput{At: f.at, Mood: mood, Craving: craving, SleepHours: f.sleep, Triggers: splitCommaList(f.triggers), Note: f.note})
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(ci, func(w io.Writer) { fmt.Fprintf(w, "Checked in (kept on this machine only). ID: %s\n", ci.ID) })
}

func (f *privateFlags) checkinList(ctx context.Context, r *cliRun) error {
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	cs, err := c.CheckIns(ctx)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(cs, func(w io.Writer) {
		if len(cs) == 0 {
			fmt.Fprintln(w, "No check-ins yet.")
		}
		for _, ci := range cs {
			fmt.Fprintf(w, "%s  %s  %s\n", ci.ID, ci.At.Local().Format("2006-01-02 15:04"), clean(strings.ReplaceAll(node.RenderCheckIn(ci), "\n", " — "), false, ""))
		}
	})
}

func (f *privateFlags) share(ctx context.Context, r *cliRun, do func(*client.Client, context.Context, string, string) (client.Shared, error)) error {
	gid, err := r.group(ctx, r.args[1])
	if err != nil {
		return err
	}
	sh, err := do(r.c, ctx, r.args[0], gid)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(sh, func(w io.Writer) {
		fmt.Fprintf(w, "Shared with the group as message %s:\n  %s\n", sh.ID, clean(sh.Text, true, "  "))
	})
}

func (f *privateFlags) checkinShare(ctx context.Context, r *cliRun) error {
	return f.share(ctx, r, (*client.Client).ShareCheckIn)
}

func (f *privateFlags) milestoneShare(ctx context.Context, r *cliRun) error {
	return f.share(ctx, r, (*client.Client).ShareMilestone)
}

func (f *privateFlags) insight(ctx context.Context, r *cliRun) error {
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	in, err := c.Insight(ctx)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(in, func(w io.Writer) {
		for _, s := range in.Summary {
			fmt.Fprintln(w, clean(s, false, ""))
		}
	})
}

func (f *privateFlags) milestoneAdd(ctx context.Context, r *cliRun) error {
	start := ""
	if f.start != "" {
		d, err := time.ParseInLocation("2006-01-02", f.start, time.Local)
		if err != nil {
			return usagef("--start must be a date like 2026-03-01")
		}
		start = d.Format(time.RFC3339)
	}
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	h, err := c.AddHabit(ctx, r.args[0], start)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(h, func(w io.Writer) {
		fmt.Fprintf(w, "Counting %s: %d days. ID: %s\n", clean(h.Name, false, ""), h.Status.Days, h.ID)
	})
}

func (f *privateFlags) milestoneList(ctx context.Context, r *cliRun) error {
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	hs, err := c.Habits(ctx)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(hs, func(w io.Writer) {
		if len(hs) == 0 {
			fmt.Fprintln(w, "No day counters yet; start one with 'hearth milestone add NAME'.")
		}
		for _, h := range hs {
			s := h.Status
			fmt.Fprintf(w, "%s  %s: %d days (since %s; longest run %d; %d slips recorded; next milestone %d)\n",
				h.ID, clean(h.Name, false, ""), s.Days, s.Since.Local().Format("2006-01-02"), s.LongestRun, s.Slips, s.Next)
		}
	})
}

func (f *privateFlags) milestoneSlip(ctx context.Context, r *cliRun) error {
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	h, err := c.RecordSlip(ctx, r.args[0], "", f.note)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	return r.out(h, func(w io.Writer) {
		fmt.Fprintf(w, "Recorded. The counter starts again today; your %d-day longest run and the history stay.\n", h.Status.LongestRun)
	})
}

func (f *privateFlags) export(ctx context.Context, r *cliRun) error {
	path := r.args[0]
	format := f.format
	if format == "" {
		format = "json"
		if strings.EqualFold(filepath.Ext(path), ".csv") {
			format = "csv"
		}
	}
	if format != "json" && format != "csv" {
		return usagef("--format must be json or csv")
	}
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	// O_EXCL: never overwrite a file, never follow a planted link; 0600:
	// the export is everything the member owns, in the clear.
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return cliErrorf("export_file", "cannot create %s: %v (the export never overwrites a file; choose a new name)", path, opErr(err))
	}
	err = c.Export(ctx, format, out)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return r.call(ctx, err)
	}
	return r.out(map[string]string{"file": path, "format": format}, func(w io.Writer) {
		fmt.Fprintf(w, "Exported to %s (%s). It is not encrypted: keep it somewhere safe, and delete it when done.\n", path, format)
	})
}

// confirmWord is what the member types to confirm a wipe.
const confirmWord = "wipe"

func (f *privateFlags) wipe(ctx context.Context, r *cliRun) error {
	if !f.yes {
		fmt.Fprintf(r.e.stderr, "This destroys the Hearth home %s: your keys, groups, messages, journal and check-ins.\n"+
			"Nothing can bring it back. Type %q to go on: ", r.home, confirmWord)
		line, err := bufio.NewReader(r.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return cliErrorf(codeInput, "cannot read the confirmation: %v", err)
		}
		if strings.TrimSpace(line) != confirmWord {
			return cliErrorf("not_confirmed", "nothing was wiped (the confirmation was not %q)", confirmWord)
		}
	}
	err := node.WipeHome(r.home)
	switch {
	case errors.Is(err, node.ErrNoHome):
		return cliErrorf("no_home", "there is no Hearth home in %s", r.home)
	case errors.Is(err, storage.ErrLocked):
		// The daemon holds the keys: only it can let go of them, so ask
		// it to wipe (it destroys the keys first too, then stops).
		return f.wipeThroughDaemon(ctx, r)
	case err != nil:
		return cliErrorf("wipe_failed", "the wipe did not finish: %v; run it again", err)
	}
	return r.out(map[string]string{"wiped": r.home}, func(w io.Writer) {
		fmt.Fprintf(w, "Wiped. The keys were destroyed first, then %s was deleted.\n", r.home)
	})
}

// wipeThroughDaemon has the daemon running on the home wipe it: the member
// already confirmed, so the daemon's own confirmation word goes with the
// request.
func (f *privateFlags) wipeThroughDaemon(ctx context.Context, r *cliRun) error {
	c, err := r.connect(ctx)
	if err != nil {
		return cliErrorf("daemon_running", "the daemon of %s holds its keys but does not answer; stop it (Ctrl-C where 'hearth up' runs) and run 'hearth wipe%s' again. Nothing was wiped.", r.home, r.homeFlag)
	}
	if err := r.call(ctx, c.Wipe(ctx, api.WipeConfirmation)); err != nil {
		return err
	}
	return r.out(map[string]string{"wiped": r.home}, func(w io.Writer) {
		fmt.Fprintf(w, "Wiped by the running daemon, which has stopped. The keys were destroyed first, then %s was deleted.\n", r.home)
	})
}
