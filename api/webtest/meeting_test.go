package webtest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/hearthnet/hearth/api/client"
)

// TestMeetingUI runs a meeting through the web UI on two real daemons: the
// host schedules a weekly meeting in the Meetings tab and the member sees
// it live in their own time zone, with the calendar link; the host opens
// the room, the member goes to it from "Happening now", checks in
// anonymously and raises a hand; the host sees one more present and an
// anonymous hand (never the member's name), sets a share timer and gives
// the floor; both screens show the speaker and the countdown; a meeting
// about to start shows a reminder notice; the host closes the meeting and
// the member's screen says so. Screenshots at desktop and phone widths.
func TestMeetingUI(t *testing.T) {
	ds, bs := browserTest(t, []string{"host", "member"}, "host browser", "member browser")
	host, member := ds[0], ds[1]
	hb, mb := bs[0], bs[1]
	shots := screenshotDir(t)

	ctx := t.Context()
	group := eveningCircle(t, host, member)
	// Both ways heard before the browsers act, so the room's events are
	// not sent before the mesh has formed.
	hears := func(from, to *daemon, text string) {
		t.Helper()
		for i := 0; i < 30; i++ {
			msg := fmt.Sprintf("%s %d", text, i)
			if _, err := from.client.Post(ctx, group, msg, ""); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				ms, err := to.client.Messages(ctx, group, 50, "")
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range ms {
					if m.Text == msg {
						return
					}
				}
			}
		}
		t.Fatalf("%s never heard %s", to.name, from.name)
	}
	hears(member, host, "hello from bo")
	hears(host, member, "hello from ann")

	meetings := "/#/g/" + group + "/meetings"
	hb.do("signing in (host)", chromedp.Navigate(host.loginURL))
	hb.waitText("main h1", "Your groups")
	mb.do("signing in (member)", chromedp.Navigate(member.loginURL))
	mb.waitText("main h1", "Your groups")
	mb.do("opening the Meetings tab (member)", chromedp.Navigate(member.base+meetings))
	mb.waitText("#upcoming-title", "Coming up")
	if eval[bool](mb, `!!document.querySelector("#schedule-form")`) {
		t.Error("a member is shown the schedule form")
	}

	// The host schedules a weekly meeting.
	hb.do("opening the Meetings tab (host)", chromedp.Navigate(host.base+meetings))
	hb.waitText("#schedule-title", "Schedule a meeting")
	hb.do("filling in the schedule",
		chromedp.SetValue("#meeting-title", "Evening share"),
		chromedp.SetValue("#meeting-time", "19:30"),
		chromedp.Click("#meeting-day-mon"),
		chromedp.Click("#meeting-day-thu"),
		chromedp.SetValue("#meeting-format", "speaker"),
		chromedp.SetValue("#meeting-reading", "Just for today."),
	)
	hb.shot(shots, "meetings-schedule")
	hb.do("scheduling", chromedp.Click("#meeting-submit"))
	hb.waitText("#upcoming", "Evening share")
	mb.waitText("#upcoming", "Evening share")
	if href := eval[string](mb, `document.querySelector("#ics-link").getAttribute("href")`); href != "/api/v1/groups/"+group+"/meetings.ics" {
		t.Errorf("the calendar link is %q", href)
	}
	// The times are the member's own: the page's zone, 19:30 there.
	zone := eval[string](mb, `Intl.DateTimeFormat().resolvedOptions().timeZone`)
	mb.waitText("#zone-note", "Times are in your time zone ("+zone+")")
	half7 := eval[string](mb, `new Intl.DateTimeFormat(undefined, {hour: "numeric", minute: "2-digit"}).format(new Date(2000, 0, 1, 19, 30))`)
	if list := eval[string](mb, `document.querySelector("#upcoming").textContent`); !strings.Contains(list, half7) {
		t.Errorf("the upcoming list does not show %s: %s", half7, list)
	}
	mb.shot(shots, "meetings-upcoming")

	// The host opens the room; the member goes to it.
	hb.do("opening the room", chromedp.Click(`button[aria-label="Open the room for Evening share"]`))
	hb.waitText("#present-count", "0 present")
	mb.waitJS("the room under Happening now", `!!document.querySelector('a[id^="join-room-"]')`)
	mb.do("going to the room", chromedp.Click(`a[id^="join-room-"]`))
	mb.waitText("#present-count", "0 present")
	requireStops(t, mb, "the member's room before checking in", "checkin-anonymous", "checkin")
	// By keyboard alone: tick Anonymous, check in, raise the hand. Focus
	// moves from Check in (gone once checked in) to Raise my hand, and stays
	// on that button when it becomes Lower my hand.
	mb.do("ticking Anonymous by keyboard", chromedp.Focus("#checkin-anonymous"), chromedp.KeyEvent(" "))
	mb.do("checking in by keyboard", chromedp.Focus("#checkin"), chromedp.KeyEvent(kb.Enter))
	mb.waitText("#present-count", "1 present")
	mb.waitJS("focus on Raise my hand after checking in", `document.activeElement && document.activeElement.id === "raise-hand"`)
	mb.do("raising a hand by keyboard", chromedp.KeyEvent(kb.Enter))
	mb.waitText("#my-place", "number 1 in the queue")
	mb.waitJS("focus kept on the hand button, now Lower my hand", `document.activeElement && document.activeElement.id === "lower-hand"`)

	hb.waitText("#present-count", "1 present")
	hb.waitText("#anonymous-count", "1 of them anonymous")
	hb.waitText("#queue", "Someone (anonymous)")
	hb.do("the chair checks in", chromedp.Click("#checkin"))
	hb.waitText("#present-count", "2 present")
	hb.waitText("#attendees", "ann")
	if strings.Contains(eval[string](hb, `document.querySelector("#room").textContent`), "bo") {
		t.Error("the host's room screen names the anonymous member")
	}
	requireStops(t, hb, "the chair's room", "raise-hand", "checkout", "give-floor", "timer-seconds", "set-timer", "close-room")
	hb.do("setting the timer", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector("#timer-seconds"); s.value = "180"; s.dispatchEvent(new Event("change")); })()`),
		chromedp.Focus("#set-timer"), chromedp.KeyEvent(kb.Enter))
	hb.waitText("#share-timer", "Each share has 3 minutes")
	hb.waitText("#give-floor", "Give the floor to Someone (anonymous)")
	listenToAnnouncements(mb)
	hb.do("giving the floor", chromedp.Click("#give-floor"))
	hb.waitText("#speaker", "Someone (anonymous)")
	hb.waitText("#share-timer", "left in this share")
	mb.waitText("#speaker", "Someone (anonymous)")
	mb.waitText("#share-timer", "left in this share")
	mb.waitJS("the member's own End my share button, with focus moved to it from Lower my hand", `document.activeElement && document.activeElement.id === "end-my-share"`)
	// A screen reader hears that the floor is theirs, once; the countdown
	// is never read out by itself.
	mb.waitJS("the member told they have the floor", `window.said.some((s) => s.includes("You have the floor"))`)
	mb.waitJS("the countdown moving on", `/^2:5[0-8] left/.test(document.querySelector("#share-timer").textContent)`)
	if said := eval[[]string](mb, `window.said`); len(said) > 3 || strings.Contains(strings.Join(said, "\n"), "left in this share") {
		t.Errorf("the member's screen reader heard too much while the share ran: %q", said)
	}
	if live := eval[string](mb, `(() => { const e = document.querySelector("#share-timer"); return e.getAttribute("role") + " " + (e.closest("[aria-live]:not([aria-live=off])") ? "live" : "quiet"); })()`); live != "timer quiet" {
		t.Errorf("the share timer is %q, want a timer outside any live region", live)
	}
	hb.shot(shots, "meeting-room-chair")
	mb.shot(shots, "meeting-room-member")

	// A meeting five minutes away: the reminder notice.
	soon := time.Now().Add(5 * time.Minute).UTC().Format(time.RFC3339)
	if _, err := host.client.ScheduleMeeting(ctx, group, client.MeetingInput{Title: "Quick check-in", Start: soon, Minutes: 15}); err != nil {
		t.Fatal(err)
	}
	mb.waitText(`#banners .notice[data-kind="meeting"]`, "Quick check-in starts soon")

	// The chair closes the meeting.
	hb.do("closing", chromedp.Click("#close-room"))
	hb.do("confirming", chromedp.Click("#confirm-ok"))
	hb.waitText("#room", "This meeting has closed")
	mb.waitText("#room", "This meeting has closed")
	if eval[bool](mb, `!!document.querySelector("#raise-hand, #lower-hand, #checkin")`) {
		t.Error("the closed room still offers actions")
	}
	mb.shot(shots, "meeting-room-closed")

	// The host cancels the quick check-in from the Meetings tab: the
	// dialog's buttons say which keeps it, and focus is not lost when the
	// list redraws.
	hb.do("opening the Meetings tab (host)", chromedp.Navigate(host.base+meetings))
	hb.waitJS("the cancel button", `!!document.querySelector('button[aria-label="Cancel Quick check-in…"]')`)
	hb.do("cancelling", chromedp.Click(`button[aria-label="Cancel Quick check-in…"]`))
	hb.waitJS("the confirmation", `document.querySelector("#confirm").open`)
	if keep := eval[string](hb, `document.querySelector("#confirm-cancel").textContent`); keep != "No, keep it" {
		t.Errorf("the button that keeps the meeting says %q", keep)
	}
	hb.do("confirming", chromedp.Click("#confirm-ok"))
	hb.waitJS("the meeting gone from the list", `!document.querySelector('button[aria-label="Cancel Quick check-in…"]')`)
	hb.waitJS("focus kept on the page", `document.activeElement && document.activeElement !== document.body && document.querySelector("main").contains(document.activeElement)`)
	if keep := eval[string](hb, `document.querySelector("#confirm-cancel").textContent`); keep != "Cancel" {
		t.Errorf("after cancelling a meeting the dialog's cancel button still says %q", keep)
	}
}

// requireStops presses Tab from the top of the page until focus comes
// round again and fails the test unless every control named by id was
// reached, each with a visible focus ring (a solid outline at least 2 px
// wide).
func requireStops(t *testing.T, b *browser, screen string, ids ...string) {
	t.Helper()
	b.do("starting from the top", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur(); window.focus()`))
	reached := map[string]bool{}
	for i := 0; i < 120; i++ {
		b.do("pressing Tab", chromedp.KeyEvent(kb.Tab))
		const focused = `(() => {
			const e = document.activeElement;
			if (!e || e === document.body) return "";
			const s = getComputedStyle(e);
			const ring = s.outlineStyle === "solid" && parseFloat(s.outlineWidth) >= 2;
			return (e.id || e.tagName) + (ring ? "" : " (no focus ring: " + e.outerHTML.slice(0, 120) + ")");
		})()`
		id := eval[string](b, focused)
		// Asked twice, a moment apart: a live update may be redrawing the
		// element just then.
		if strings.Contains(id, "(no focus ring") && eval[string](b, focused) == id {
			t.Errorf("%s: %s: focus on %s shows no focus ring", b.name, screen, id)
		}
		reached[id] = true
		done := true
		for _, want := range ids {
			if !reached[want] {
				done = false
			}
		}
		if done {
			return
		}
	}
	for _, want := range ids {
		if !reached[want] {
			t.Errorf("%s: %s: %s cannot be reached with the Tab key", b.name, screen, want)
		}
	}
}

// listenToAnnouncements records, in window.said, each sentence the page
// gives its polite live region (#announce) from now on.
func listenToAnnouncements(b *browser) {
	b.t.Helper()
	b.do("listening to the live region", chromedp.Evaluate[chromedp.Void](`(() => {
		window.said = [];
		new MutationObserver(() => {
			const t = document.querySelector("#announce").textContent;
			if (t) window.said.push(t);
		}).observe(document.querySelector("#announce"), {childList: true, characterData: true, subtree: true});
	})()`))
}
