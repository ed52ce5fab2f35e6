package webtest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hearthnet/hearth/api/client"
	"github.com/hearthnet/hearth/node"
)

// TestPrivateSpaceUI drives the private space in a real browser: a
// check-in in two taps, a journal entry found by search, the insight
// charts over a generated month (each with its summary in words and both
// series drawn with distinct line patterns and markers), a day counter with
// a slip, and the well-being screen; with screenshots at desktop and phone
// widths.
func TestPrivateSpaceUI(t *testing.T) {
	ds, bs := browserTest(t, []string{"private"}, "browser")
	d := ds[0]
	b := bs[0]
	shots := screenshotDir(t)

	// A month of history, through the API, so the charts have something
	// to draw: craving high on "payday" evenings, mood rising.
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	now := time.Now()
	for day := 29; day >= 1; day-- {
		at := now.AddDate(0, 0, -day).Truncate(time.Hour)
		in := client.CheckInInput{At: at.UTC().Format(time.RFC3339), Mood: 1 + (30-day)/8, Craving: 2 + day%3}
		if day%5 == 0 {
			in.Triggers = []string{"payday"}
			in.Craving = 9
		}
		if day == 1 {
			// A quarter hour, which Go and JavaScript round differently.
			in.SleepHours = 7.25
		}
		if _, err := d.client.AddCheckIn(ctx, in); err != nil {
			t.Fatal(err)
		}
	}

	// A morning reminder that is always due: the check-in screen offers
	// an intention until one is written today.
	if err := d.client.SetWellbeing(ctx, node.Wellbeing{MorningReminder: "00:00"}); err != nil {
		t.Fatal(err)
	}

	group, err := d.client.CreateGroup(ctx, "Circle", "ann", "")
	if err != nil {
		t.Fatal(err)
	}

	b.do("signing in", chromedp.Navigate(d.loginURL))
	b.waitText("main h1", "Your groups")
	b.do("opening the private space", chromedp.Click("#nav-private"))
	b.waitText("main h1", "Your private space")
	b.waitText("main", "Only on this computer")
	if !eval[bool](b, `document.querySelector("#craving-step").disabled`) {
		t.Error("the craving step is open before a mood was chosen")
	}

	// Sleep, triggers and a note first (optional), then two taps: a mood,
	// then a craving level, which saves.
	// The reminder card comes in above once the screen has checked what is
	// due; a click before would land where the layout then shifts.
	b.waitJS("the reminder check", `document.querySelector("#checkin-card")?.dataset.reminders !== undefined`)
	b.do("opening the optional fields", chromedp.Click(`#checkin-card details.more summary`))
	b.waitJS("the optional fields open", `document.querySelector("#checkin-card details.more").open`)
	b.do("filling sleep, triggers and a note",
		chromedp.SendKeys("#ci-sleep", "6.5"),
		chromedp.SendKeys("#ci-triggers", "Tired, alone"),
		chromedp.SendKeys("#ci-note", "Long day at work."))
	b.do("tapping a mood", chromedp.Click(`button[data-mood="4"]`))
	b.waitJS("the craving step to open", `!document.querySelector("#craving-step").disabled`)
	b.fullShot(shots, "private-checkin-craving")
	b.do("tapping a craving level", chromedp.Click(`button[data-craving="3"]`))
	b.waitText("#checkin-done", "Saved on this computer: mood 4 of 5, craving 3 of 10.")
	b.waitText("#recent-list", "mood 4 of 5, craving 3 of 10, triggers: alone, tired")
	b.fullShot(shots, "private-checkin")

	// Sharing a check-in, after a confirmation naming the group and
	// showing the exact text, posts exactly that text; the other check-ins
	// stay here.
	share := func(li, want string) {
		t.Helper()
		b.do("sharing a check-in", chromedp.Click(`#recent-list li:`+li+` .share button`))
		b.waitJS("the share confirmation", `document.querySelector("#confirm").open`)
		b.waitText("#confirm-body", "It will be posted to Circle")
		if q := eval[string](b, `document.querySelector("#confirm-quote").textContent`); q != want {
			t.Errorf("the confirmation shows %q, want the text to be posted, %q", q, want)
		}
		if li == "first-child" {
			b.shot(shots, "private-share-confirm")
		}
		b.do("confirming the share", chromedp.Click("#confirm-ok"))
		b.waitText("#recent-list li:"+li, "Shared with Circle.")
	}
	today := "Check-in: mood 4/5, craving 3/10, slept 6.5 h, triggers: alone, tired\nLong day at work."
	yesterday := "Check-in: mood 4/5, craving 3/10, slept 7.2 h"
	share("first-child", today)
	share("nth-child(2)", yesterday)
	msgs, err := d.client.Messages(ctx, group, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Text != today || msgs[1].Text != yesterday {
		t.Fatalf("the group holds %+v, want only the two shared check-ins", msgs)
	}
	cs, err := d.client.CheckIns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last := cs[len(cs)-1]; len(cs) != 30 || last.Mood != 4 || last.Craving != 3 || last.SleepHours != 6.5 ||
		strings.Join(last.Triggers, ",") != "alone,tired" || last.Note != "Long day at work." {
		t.Fatalf("after the two taps the daemon holds %d check-ins, the last %+v", len(cs), last)
	}

	// The reminder leads to the journal with the kind chosen.
	b.waitText("#reflection-reminder", "You have not set an intention for today.")
	b.do("following the reminder", chromedp.Click(`#reflection-reminder a[data-kind="intention"]`))
	b.waitText("main h1", "Journal")
	if k := eval[string](b, `document.querySelector("#j-kind").value`); k != "intention" {
		t.Errorf("the reminder opened the journal with kind %q, want intention", k)
	}
	b.do("writing an intention",
		chromedp.SendKeys("#j-text", "Be patient with myself today."),
		chromedp.Click(`form[aria-labelledby="j-new"] button[type="submit"]`))
	b.waitText("#journal-list", "Morning intention")

	// Journal: write, then find it by search.
	b.do("writing an entry",
		chromedp.SetValue("#j-kind", ""),
		chromedp.SendKeys("#j-text", "Walked by the canal after the meeting."),
		chromedp.SendKeys("#j-tags", "walk, evening"),
		chromedp.Click(`form[aria-labelledby="j-new"] button[type="submit"]`))
	b.waitText("#journal-list", "Walked by the canal")
	if _, err := d.client.AddJournal(ctx, client.JournalInput{Text: "Called my sponsor."}); err != nil {
		t.Fatal(err)
	}
	// The search field looks like the other fields.
	if st := eval[string](b, `(() => { const a = getComputedStyle(document.querySelector("#j-search")), b = getComputedStyle(document.querySelector("#j-tags")); return ["borderTopStyle", "borderTopColor", "borderTopLeftRadius", "paddingLeft", "fontSize", "backgroundColor"].filter((k) => a[k] !== b[k]).join(", "); })()`); st != "" {
		t.Errorf("the journal's search field differs from the other fields in: %s", st)
	}
	b.do("searching", chromedp.SendKeys("#j-search", "canal"), chromedp.Click(`form[role="search"] button`))
	b.waitJS("only the matching entry", `(() => { const t = document.querySelector("#journal-list").textContent; return t.includes("canal") && !t.includes("sponsor") && !t.includes("Be patient"); })()`)

	// Editing an entry in place. The wait above needs the intention gone
	// too: before the search lands, the list already lacks the entry added
	// through the API, and clicking Edit then would race the search's
	// re-render.
	b.do("editing the entry", chromedp.Click(`#journal-list article button.secondary`))
	// The fields of the edit form have labels one can see.
	if got := eval[string](b, `[...document.querySelectorAll("#journal-list article textarea, #journal-list article input")].map((f) => f.labels.length && f.labels[0].getClientRects().length ? f.labels[0].textContent : "(none)").join(" | ")`); got != "Entry | TagsSeparated by commas" {
		t.Errorf("the edit form's visible labels are %q", got)
	}
	b.do("changing its text",
		chromedp.SetValue(`#journal-list article textarea`, "Walked by the canal and the river after the meeting."),
		chromedp.Click(`#journal-list article button.small:not(.secondary)`))
	b.waitText("#journal-list", "canal and the river")
	b.fullShot(shots, "private-journal")

	// With today's intention written, the reminder is gone.
	b.do("back to check-in", chromedp.Click(`nav.tabs a[href="#/me"]`))
	b.waitJS("the reminder check", `document.querySelector("#checkin-card")?.dataset.reminders === "0"`)
	if eval[bool](b, `!!document.querySelector("#reflection-reminder")`) {
		t.Error("the intention reminder is still shown after writing one")
	}

	// Insight: a chart per window, each with its summary in words, and
	// the two series told apart without colour.
	b.do("opening insight", chromedp.Click(`nav.tabs a[href="#/me/insight"]`))
	b.waitText("main h1", "Insight")
	b.waitText("#trend-30-summary", "Last 30 days: 30 check-ins")
	b.waitText("#triggers-summary", "payday: craving 9.0 with it")
	if n := eval[int](b, `document.querySelectorAll("#chart-30 rect.craving-mark").length`); n != 30 {
		t.Errorf("the 30-day chart has %d craving markers, want 30 (one per day with a check-in)", n)
	}
	if n := eval[int](b, `document.querySelectorAll("#chart-30 circle.mood-mark").length`); n != 30 {
		t.Errorf("the 30-day chart has %d mood markers, want 30", n)
	}
	if dash := eval[string](b, `document.querySelector("#chart-30 path.craving-line").getAttribute("stroke-dasharray") || ""`); dash == "" {
		t.Error("the craving line is not dashed: the series would differ by colour only")
	}
	if title := eval[string](b, `document.querySelector("#chart-7 title").textContent`); !strings.Contains(title, "7 days") {
		t.Errorf("the 7-day chart's accessible title is %q", title)
	}
	b.waitText("#streak", "longest run 30 days")
	// Which triggers and times of day go with high cravings, in words and
	// beside the bars.
	b.waitText("#triggers-summary", "payday: 5 of 5 check-ins with craving 7 or more")
	b.waitText("#times-summary", "Craving 7 or more:")
	b.waitText("#chart-triggers", "9.0 · 5 of 5 at 7+")
	if dups := eval[[]string](b, `(() => { const ids = [...document.querySelectorAll("[id]")].map((e) => e.id); return ids.filter((id, i) => ids.indexOf(id) !== i); })()`); len(dups) > 0 {
		t.Errorf("IDs used twice on the insight screen: %q", dups)
	}
	// On a phone the charts are drawn for its width: every label at least
	// 10 px on the screen and inside its chart.
	b.do("resizing to a phone", chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(1), chromedp.EmulateMobile))
	b.waitJS("readable chart labels at phone width", `(() => {
		const texts = [...document.querySelectorAll("svg.chart text")];
		return texts.length > 20 && texts.every((t) => {
			const svg = t.ownerSVGElement, vb = svg.viewBox.baseVal, box = t.getBBox();
			const scale = svg.getBoundingClientRect().width / vb.width;
			return Number(t.getAttribute("font-size")) * scale >= 10 && box.x >= -0.5 && box.x + box.width <= vb.width + 0.5;
		});
	})()`)
	b.do("resizing back", chromedp.EmulateViewport(1280, 800, chromedp.EmulateScale(1)))
	b.fullShot(shots, "private-insight")

	// Milestones: start a counter, record a slip; the history stays.
	b.do("opening milestones", chromedp.Click(`nav.tabs a[href="#/me/milestones"]`))
	b.waitText("main h1", "Milestones")
	b.do("starting a counter", chromedp.SendKeys("#m-name", "alcohol-free"), chromedp.Click(`form[aria-labelledby="m-new"] button[type="submit"]`))
	b.waitText("#habit-list", "alcohol-free")
	b.do("recording a slip", chromedp.Click(`#habit-list button.secondary`))
	b.waitJS("the confirmation", `document.querySelector("#confirm").open`)
	b.do("confirming", chromedp.Click("#confirm-ok"))
	b.waitText("#habit-list", "1 slip recorded")
	b.do("asking to share the milestone", chromedp.Click(`#habit-list .share button`))
	b.waitJS("the share confirmation", `document.querySelector("#confirm").open`)
	if q := eval[string](b, `document.querySelector("#confirm-quote").textContent`); q != "Milestone: 0 days of alcohol-free" {
		t.Errorf("the milestone's share confirmation shows %q", q)
	}
	b.do("not sharing it", chromedp.Click("#confirm-cancel"))
	// A slip that cannot be recorded (the counter was deleted meanwhile,
	// from the CLI) says so, plainly, where it was asked for.
	hs, err := d.client.Habits(ctx)
	if err != nil || len(hs) != 1 {
		t.Fatalf("habits: %+v, %v", hs, err)
	}
	if err := d.client.DeleteHabit(ctx, hs[0].ID.String()); err != nil {
		t.Fatal(err)
	}
	b.do("recording a slip on the deleted counter", chromedp.Click(`#habit-list button.secondary`))
	b.waitJS("the confirmation", `document.querySelector("#confirm").open`)
	b.do("confirming", chromedp.Click("#confirm-ok"))
	b.waitJS("the error on the counter", `(() => { const e = document.querySelector("#habit-list li .error"); return !!e && !e.hidden && e.textContent.length > 0; })()`)
	t.Logf("a slip on a deleted counter says: %s", eval[string](b, `document.querySelector("#habit-list li .error").textContent`))
	b.fullShot(shots, "private-milestones")

	// The daily usage notice: with a limit of 5 minutes and 6 counted
	// today, opening the check-in screen shows it, once.
	if err := d.client.SetWellbeing(ctx, node.Wellbeing{DailyNoticeMinutes: 5}); err != nil {
		t.Fatal(err)
	}
	eval[bool](b, `sessionStorage.setItem("hearth-usage", JSON.stringify({day: new Date().toDateString(), minutes: 6, noticed: false})) === undefined`)
	b.do("back to check-in", chromedp.Click(`nav.tabs a[href="#/me"]`))
	b.waitText("#usage-notice", "about 6 minutes in Hearth today")
	b.waitJS("the check-in screen", `document.querySelector("#checkin-card")?.dataset.reminders !== undefined`)
	b.do("dismissing the notice", chromedp.Click("#usage-notice button"))
	b.do("opening insight again", chromedp.Click(`nav.tabs a[href="#/me/insight"]`))
	b.waitText("#streak", "longest run")
	b.do("and check-in again", chromedp.Click(`nav.tabs a[href="#/me"]`))
	b.waitJS("the reminder check", `document.querySelector("#checkin-card")?.dataset.reminders !== undefined`)
	if eval[bool](b, `!!document.querySelector("#usage-notice")`) {
		t.Error("the usage notice came back the same day after being shown")
	}

	// Well-being settings are saved and read back.
	b.do("opening well-being", chromedp.Click(`nav.tabs a[href="#/me/settings"]`))
	b.waitText("main h1", "Well-being")
	b.do("ticking digest", chromedp.Click("#w-digest"), chromedp.Click(`form[aria-labelledby="w-h"] button[type="submit"]`))
	b.waitText("#w-saved", "Saved on this computer.")
	w, err := d.client.Wellbeing(ctx)
	if err != nil || !w.Digest {
		t.Fatalf("digest not saved: %v %+v", err, w)
	}
	b.fullShot(shots, "private-wellbeing")
}
