package webtest

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hearthnet/hearth/api/client"
	"github.com/hearthnet/hearth/node"
)

// TestSOSPriorityUI: an SOS is shown prominently to every member (an
// alert, with a sound, kept until dismissed); the SOS-alerts opt-in decides
// only whether it breaks through quiet hours. Bo sends two SOSes, in two
// groups, to Ann (opted in) and Cy (not). The first comes while both are in
// quiet hours: Ann's page alerts at once; Cy's holds it, showing and
// sounding nothing, and summarises it when Cy's quiet hours end. The second
// comes outside quiet hours: both pages alert, and on Cy's page the SOS
// stays when more ordinary notices arrive than the page keeps.
func TestSOSPriorityUI(t *testing.T) {
	ds, bs := browserTest(t, []string{"bo", "ann", "cy"}, "ann's browser", "cy's browser")
	bo, ann, cy := ds[0], ds[1], ds[2]
	ab, cb := bs[0], bs[1]
	shots := screenshotDir(t)

	ctx := t.Context()
	var groups []string
	for _, name := range []string{"Evening circle", "Morning circle"} {
		g, err := bo.client.CreateGroup(ctx, name, "bo", "")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []*daemon{ann, cy} {
			inv, err := bo.client.CreateInvite(ctx, g, client.InviteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if res, err := m.client.Join(ctx, inv.Invite, m.name); err != nil || res.Status != "joined" {
				t.Fatalf("%s joining %s: %+v, %v", m.name, name, res, err)
			}
			hears(t, g, bo, m, "hello from bo")
		}
		groups = append(groups, g)
	}

	// Both sign in; a stand-in AudioContext counts the chimes.
	for _, p := range []struct {
		b *browser
		d *daemon
	}{{ab, ann}, {cb, cy}} {
		p.b.do("signing in", chromedp.Navigate(p.d.loginURL))
		p.b.waitText("main h1", "Your groups")
		eval[bool](p.b, `(window.chimes = 0, window.AudioContext = class { constructor() { window.chimes++; throw new Error("no audio in the test"); } }, true)`)
	}
	now := eval[int](ab, `(() => { const d = new Date(); return d.getHours() * 60 + d.getMinutes(); })()`)
	quiet := node.Wellbeing{QuietStart: clock(now - 60), QuietEnd: clock(now + 60)}
	awake := node.Wellbeing{QuietStart: clock(now + 60), QuietEnd: clock(now + 120)}
	ab.settle(ann, node.Wellbeing{QuietStart: quiet.QuietStart, QuietEnd: quiet.QuietEnd, SOSAlerts: true})
	cb.settle(cy, quiet)

	alerted := func(b *browser, sosText string) {
		t.Helper()
		b.waitJS("an SOS alert", fmt.Sprintf(`[...document.querySelectorAll('#banners .sos-banner.urgent[role="alert"]')].some((n) => n.textContent.includes("bo needs help now") && n.textContent.includes(%q))`, sosText))
	}

	// In quiet hours: Ann is alerted; Cy's page holds it, silently.
	if _, err := bo.client.SendSOS(ctx, client.SOSInput{Groups: []string{groups[0]}, Text: "first, in the quiet"}); err != nil {
		t.Fatal(err)
	}
	alerted(ab, "first, in the quiet")
	if n := eval[int](ab, `window.chimes`); n != 1 {
		t.Errorf("ann's page chimed %d times for an SOS in quiet hours, want 1 (she opted in)", n)
	}
	ab.do("scrolling to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	ab.shot(shots, "sos-quiet-opted-in")
	cb.waitJS("the SOS held", `document.documentElement.dataset.held === "1"`)
	if eval[bool](cb, `!!document.querySelector("#banners .sos-banner, #held-open")`) || eval[int](cb, `window.chimes`) != 0 {
		t.Error("cy's page showed or sounded something for an SOS in quiet hours, without the SOS-alerts opt-in")
	}

	// Cy's quiet hours end: the summary counts the SOS.
	cb.settle(cy, awake)
	cb.waitText("#held-summary", "While it was quiet: 1 SOS")
	cb.do("scrolling to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	cb.shot(shots, "sos-quiet-summary")
	cb.do("dismissing the summary", chromedp.Click(`#held-summary button`))

	// Outside quiet hours: prominent for both, with a sound.
	ab.settle(ann, node.Wellbeing{QuietStart: awake.QuietStart, QuietEnd: awake.QuietEnd, SOSAlerts: true})
	if _, err := bo.client.SendSOS(ctx, client.SOSInput{Groups: []string{groups[1]}, Text: "second, in the day"}); err != nil {
		t.Fatal(err)
	}
	alerted(ab, "second, in the day")
	alerted(cb, "second, in the day")
	if n := eval[int](cb, `window.chimes`); n != 1 {
		t.Errorf("cy's page chimed %d times for an SOS outside quiet hours, want 1", n)
	}
	cb.do("scrolling to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	cb.shot(shots, "sos-not-opted-in")

	// More ordinary notices than the page keeps: the SOS stays.
	eval[bool](cb, `(import("/js/notify.js").then((m) => { for (let i = 1; i <= 4; i++) m.notify({ kind: "report", title: "Something to look at " + i }); window.flooded = true; }), true)`)
	cb.waitJS("the ordinary notices", `window.flooded`)
	if n := eval[int](cb, `document.querySelectorAll('#banners .notice[data-kind="report"]').length`); n != 3 {
		t.Errorf("%d ordinary notices on the page, want the newest 3", n)
	}
	if !eval[bool](cb, `[...document.querySelectorAll("#banners .sos-banner")].some((n) => n.textContent.includes("second, in the day"))`) {
		t.Error("newer ordinary notices pushed the SOS off cy's page")
	}
}

// TestSOSOverflowUI: when the daemon's event stream drops events (a reader
// that fell behind gets an "overflow" event in their place), an SOS among
// them is not missed: the page fetches the recent SOSes again and alerts on
// the one it never heard of, once. The test stands between the stream and
// the page (eventTap) to swallow the SOS event, as an overflow would, then
// hands the page the overflow event the daemon sends.
func TestSOSOverflowUI(t *testing.T) {
	ds, bs := browserTest(t, []string{"bo", "ann"}, "ann's browser")
	bo, ann := ds[0], ds[1]
	ab := bs[0]
	shots := screenshotDir(t)

	ctx := t.Context()
	group, err := bo.client.CreateGroup(ctx, "Evening circle", "bo", "")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := bo.client.CreateInvite(ctx, group, client.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := ann.client.Join(ctx, inv.Invite, "ann"); err != nil || res.Status != "joined" {
		t.Fatalf("joining: %+v, %v", res, err)
	}
	hears(t, group, bo, ann, "hello from bo")

	ab.onEveryPage(eventTap)
	ab.do("signing in", chromedp.Navigate(ann.loginURL))
	ab.waitText("main h1", "Your groups")
	ab.waitJS("the live stream", `document.querySelector("#conn").classList.contains("live")`)

	// The SOS event never reaches the page.
	eval[bool](ab, `(window.eventTap.drop.add("sos"), true)`)
	if _, err := bo.client.SendSOS(ctx, client.SOSInput{Groups: []string{group}, Text: "lost in the crowd"}); err != nil {
		t.Fatal(err)
	}
	ab.waitJS("the SOS event swallowed", `window.eventTap.dropped === 1`)
	if eval[bool](ab, `!!document.querySelector("#banners .sos-banner")`) {
		t.Fatal("the page shows the SOS whose event was swallowed: the test's tap does not work")
	}
	eval[bool](ab, `(window.eventTap.drop.clear(), true)`)

	// The daemon says events were dropped: the page catches up.
	overflow := `(window.eventTap.sources.at(-1).dispatchEvent(new MessageEvent("overflow", { data: '{"dropped":1}' })), true)`
	eval[bool](ab, overflow)
	ab.waitJS("the catch-up", `document.documentElement.dataset.sosCatchUps === "1"`)
	ab.waitJS("the dropped SOS alerted", `[...document.querySelectorAll('#banners .sos-banner.urgent[role="alert"]')].some((n) => n.textContent.includes("bo needs help now") && n.textContent.includes("lost in the crowd"))`)
	ab.waitJS("the I'm here button on it", `!!document.querySelector("#banners .sos-banner button[aria-label^='I’m here']")`)
	ab.do("scrolling to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	ab.shot(shots, "sos-after-overflow")

	// Another overflow tells nothing twice.
	eval[bool](ab, overflow)
	ab.waitJS("the second catch-up", `document.documentElement.dataset.sosCatchUps === "2"`)
	if n := eval[int](ab, `document.querySelectorAll("#banners .sos-banner").length`); n != 1 {
		t.Errorf("%d SOS banners after a second overflow, want the one", n)
	}
}
