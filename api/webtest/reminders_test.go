package webtest

import (
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
	needChromium(t)
	if testing.Short() {
		t.Skip("the browser test starts a daemon and a browser; skipped with -short")
	}
	shots := screenshotDir(t)
	bin := buildHearth(t)
	dch := make(chan *daemon, 1)
	go func() { dch <- startDaemonOrNil(t, bin, "host") }()
	b := newBrowser(t, "browser")
	d := <-dch
	if d == nil {
		t.FailNow()
	}
	defer b.checkConsole()
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
