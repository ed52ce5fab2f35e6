package webtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hearthnet/hearth/api/client"
	"github.com/hearthnet/hearth/node"
)

// TestMeetingReminderQuietUI: a meeting's reminder (meeting_soon) that comes
// during quiet hours shows and sounds nothing and is held; when quiet hours
// end, the summary counts it. In digest mode a reminder is held the same way
// until the member opens the digest.
func TestMeetingReminderQuietUI(t *testing.T) {
	ds, bs := browserTest(t, []string{"host"}, "browser")
	d := ds[0]
	b := bs[0]
	shots := screenshotDir(t)
	ctx := t.Context()
	group, err := d.client.CreateGroup(ctx, "Evening circle", "ann", "")
	if err != nil {
		t.Fatal(err)
	}

	b.do("signing in", chromedp.Navigate(d.loginURL))
	b.waitText("main h1", "Your groups")
	eval[bool](b, `(window.chimes = 0, window.AudioContext = class { constructor() { window.chimes++; throw new Error("no audio in the test"); } }, true)`)
	now := eval[int](b, `(() => { const d = new Date(); return d.getHours() * 60 + d.getMinutes(); })()`)
	b.settle(d, node.Wellbeing{QuietStart: clock(now - 60), QuietEnd: clock(now + 60)})

	// The daemon reminds of a meeting five minutes away, in quiet hours.
	schedule := func(title string) {
		t.Helper()
		start := time.Now().Add(5 * time.Minute).UTC().Format(time.RFC3339)
		if _, err := d.client.ScheduleMeeting(ctx, group, client.MeetingInput{Title: title, Start: start, Minutes: 30}); err != nil {
			t.Fatal(err)
		}
	}
	schedule("Quick check-in")
	b.waitJS("the reminder held", `document.documentElement.dataset.held === "1"`)
	if eval[bool](b, `!!document.querySelector('#banners .notice[data-kind="meeting"], #held-open')`) || eval[int](b, `window.chimes`) != 0 {
		t.Error("a meeting reminder in quiet hours showed or sounded something")
	}

	// Quiet hours end: the summary says what was held, with a link.
	b.settle(d, node.Wellbeing{QuietStart: clock(now + 60), QuietEnd: clock(now + 120)})
	b.waitText("#held-summary", "While it was quiet: 1 meeting reminder")
	b.waitText("#held-summary", "Quick check-in starts soon")
	if href := eval[string](b, `document.querySelector("#held-summary a").getAttribute("href")`); href != "#/g/"+group+"/meetings" {
		t.Errorf("the held reminder links to %q, want the group's meetings", href)
	}
	b.do("scrolling to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	b.do("opening the list", chromedp.Click("#held-summary summary"))
	b.shot(shots, "meeting-reminder-held")
	b.do("dismissing the summary", chromedp.Click(`#held-summary button`))

	// Digest mode: held until the member opens the digest.
	b.settle(d, node.Wellbeing{Digest: true})
	schedule("Late check-in")
	b.waitText("#held-open", "Show held notifications (1)")
	if eval[bool](b, `!!document.querySelector('#banners .notice[data-kind="meeting"]')`) {
		t.Error("a meeting reminder in digest mode was shown at once")
	}
	b.do("opening the digest", chromedp.Click("#held-open"))
	b.waitText("#held-summary", "Your digest: 1 meeting reminder")
}

// TestReflectionRemindersUI: while the UI is open, the morning intention
// and evening review reminders come as notifications at the times the
// member chose, once a day, and not when that reflection is written
// already; in quiet hours the reminder is held and summarised when they
// end. The page's clock is moved (fakeClock) rather than waited on.
func TestReflectionRemindersUI(t *testing.T) {
	ds, bs := browserTest(t, []string{"private"}, "browser")
	d := ds[0]
	b := bs[0]
	shots := screenshotDir(t)
	ctx := t.Context()
	if err := d.client.SetWellbeing(ctx, node.Wellbeing{MorningReminder: "08:00", EveningReminder: "21:00", QuietStart: "20:30", QuietEnd: "22:00"}); err != nil {
		t.Fatal(err)
	}
	// Today's intention is written already.
	if _, err := d.client.AddJournal(ctx, client.JournalInput{Kind: "intention", Text: "One day at a time."}); err != nil {
		t.Fatal(err)
	}

	b.onEveryPage(fakeClock(7, 59, 0))
	b.do("signing in", chromedp.Navigate(d.loginURL))
	b.waitText("main h1", "Your groups")
	// check has the page run its timed checks now, as it does every half
	// minute, and waits until the reminders' check is done.
	check := func() {
		t.Helper()
		n := eval[int](b, `Number(document.documentElement.dataset.reflectionChecks || 0)`)
		eval[bool](b, `(import("/js/notify.js").then((m) => m.loadWellbeing()), true)`)
		b.waitJS("the reminders checked", fmt.Sprintf(`Number(document.documentElement.dataset.reflectionChecks || 0) > %d`, n))
	}
	reminders := `document.querySelectorAll('#banners .notice[data-kind="reminder"]').length`
	held := `(document.documentElement.dataset.held || "0")`

	check()
	if n := eval[int](b, reminders); n != 0 {
		t.Fatalf("%d reminders before their time", n)
	}
	// Morning, with today's intention written: no reminder.
	b.setClock(0, 8, 0, 30)
	check()
	if n, h := eval[int](b, reminders), eval[string](b, held); n != 0 || h != "0" {
		t.Errorf("with today's intention written, %d reminders shown and %s held", n, h)
	}

	// Evening, in quiet hours: held, nothing shown.
	b.setClock(0, 21, 0, 30)
	check()
	b.waitJS("the review reminder held", held+` === "1"`)
	if n := eval[int](b, reminders); n != 0 {
		t.Errorf("%d reminders shown in quiet hours", n)
	}
	// Quiet hours over: the summary.
	b.setClock(0, 22, 0, 30)
	check()
	b.waitText("#held-summary", "While it was quiet: 1 reminder")
	b.waitText("#held-summary", "Time for your evening review")
	b.do("dismissing the summary", chromedp.Click(`#held-summary button`))

	// The next morning, nothing written that day: the reminder, at once,
	// leading to the journal; and only once.
	b.setClock(1, 8, 0, 30)
	check()
	b.waitText(`#banners .notice[data-kind="reminder"]`, "Time for your morning intention")
	check()
	if n := eval[int](b, reminders); n != 1 {
		t.Errorf("%d morning reminders after a second check, want 1", n)
	}
	b.do("scrolling to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	b.shot(shots, "reminder-morning")
	b.do("opening it", chromedp.Click(`#banners .notice[data-kind="reminder"] a`))
	b.waitText("main h1", "Journal")
	if k := eval[string](b, `document.querySelector("#j-kind").value`); k != "intention" {
		t.Errorf("the reminder opened the journal with kind %q, want intention", k)
	}
}
