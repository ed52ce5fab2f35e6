package webtest

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hearthnet/hearth/api/client"
)

// TestMissedEventsUI: a member who sent an SOS watches "Who is
// responding". When the daemon's event stream drops events (it sends
// "overflow" in their place) the page starts again from what the daemon
// has, but keeps that screen: the answers already listed stay, and an
// answer whose event was dropped is added to the list by the catch-up.
// Then, in the conversation, a message whose event never arrived (sent
// while the stream was down) shows once the stream opens again, and the
// member's unsent draft is still in the composer.
func TestMissedEventsUI(t *testing.T) {
	ds, bs := browserTest(t, []string{"ann", "bo"}, "bo's browser")
	ann, bo := ds[0], ds[1]
	bb := bs[0]
	shots := screenshotDir(t)
	ctx := t.Context()
	group := eveningCircle(t, ann, bo)
	hears(t, group, bo, ann, "hello from bo")
	hears(t, group, ann, bo, "hello from ann")

	bb.onEveryPage(eventTap)
	bb.do("signing in", chromedp.Navigate(bo.loginURL))
	bb.waitText("main h1", "Your groups")
	bb.waitJS("the live stream", `document.querySelector("#conn").classList.contains("live")`)
	bb.do("opening the SOS screen", chromedp.Navigate(bo.base+"/#/sos/new/"+group))
	bb.waitText("main h1", "I need help now")
	bb.do("sending", chromedp.Click("#sos-send"))
	bb.waitText("#responders", "No one yet")
	var sent []client.SOS
	var err error
	for deadline := time.Now().Add(stepTimeout); len(sent) == 0; time.Sleep(100 * time.Millisecond) {
		if sent, err = ann.client.SOSes(ctx, group); err != nil || time.Now().After(deadline) {
			t.Fatalf("the SOS did not reach ann: %+v, %v", sent, err)
		}
	}
	if _, err := ann.client.AnswerSOS(ctx, group, sent[0].ID, "here with you"); err != nil {
		t.Fatal(err)
	}
	bb.waitText("#responders", "here with you")

	overflow := func(n string) {
		t.Helper()
		eval[bool](bb, `(window.eventTap.sources.at(-1).dispatchEvent(new MessageEvent("overflow", { data: '{"dropped":1}' })), true)`)
		bb.waitJS("the catch-up", `document.documentElement.dataset.sosCatchUps === "`+n+`"`)
	}
	// Events were dropped: the list of who is responding stays.
	overflow("1")
	if !eval[bool](bb, `!!document.querySelector("#sos-sent") && document.querySelector("#responders").textContent.includes("here with you")`) {
		t.Fatalf("after an overflow the SOS screen shows:\n%s", bb.pageText())
	}

	// An answer whose event is dropped comes in with the catch-up.
	eval[bool](bb, `(window.eventTap.drop.add("sos_reply"), true)`)
	if _, err := ann.client.AnswerSOS(ctx, group, sent[0].ID, "calling you now"); err != nil {
		t.Fatal(err)
	}
	bb.waitJS("the answer's event swallowed", `window.eventTap.dropped === 1`)
	eval[bool](bb, `(window.eventTap.drop.clear(), true)`)
	overflow("2")
	bb.waitText("#responders", "calling you now")
	if eval[bool](bb, `!!document.querySelector('.notice[data-kind="sos_reply"]')`) {
		t.Error("with the list of who is responding on screen, the caught-up answer also came as a notice")
	}
	bb.shot(shots, "sos-responders-after-overflow")

	// The stream goes down (here: its message events are swallowed) while
	// ann posts, then opens again.
	bb.do("opening the conversation", chromedp.Navigate(bo.base+"/#/g/"+group))
	bb.waitText("main", "hello from ann")
	bb.do("typing a draft", chromedp.SendKeys("#compose", "half a thought"))
	eval[bool](bb, `(window.eventTap.dropped = 0, window.eventTap.drop.add("message"), true)`)
	if _, err := ann.client.Post(ctx, group, "said while you were away", ""); err != nil {
		t.Fatal(err)
	}
	bb.waitJS("the message's event swallowed", `window.eventTap.dropped === 1`)
	if eval[bool](bb, `document.querySelector("main").textContent.includes("said while you were away")`) {
		t.Fatal("the swallowed message showed anyway")
	}
	eval[bool](bb, `(window.eventTap.drop.clear(), window.eventTap.sources.at(-1).dispatchEvent(new Event("open")), true)`)
	bb.waitText("main", "said while you were away")
	if draft := eval[string](bb, `document.querySelector("#compose").value`); draft != "half a thought" {
		t.Errorf("after the stream opened again the draft is %q", draft)
	}
}
