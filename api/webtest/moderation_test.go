package webtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hearthnet/hearth/api/client"
)

// TestModerationUI runs moderation through the web UI on two real
// daemons. Ann (the host) pins guidelines in the Guidelines tab; Bo, on
// the conversation, is shown them instead of the composer and accepts
// before posting. Bo edits his message from its "More" menu (Ann sees the
// edit live) and reports Ann's message; the report reaches Ann's Reports
// tab. Ann removes Bo's message for everyone with a reason, after a
// confirmation; both see the removal in its place. Ann mutes Bo (his
// messages fold, "Show it" opens one, the Members tab offers Unmute); Bo
// deletes his second message. Screenshots at desktop and phone widths.
func TestModerationUI(t *testing.T) {
	ds, bs := browserTest(t, []string{"ann", "bo"}, "ann's browser", "bo's browser")
	ann, bo := ds[0], ds[1]
	ab, bb := bs[0], bs[1]
	shots := screenshotDir(t)

	ctx := t.Context()
	group := eveningCircle(t, ann, bo)
	hears(t, group, bo, ann, "hello from bo")
	hears(t, group, ann, bo, "hello from ann")

	// Ann pins the guidelines.
	ab.do("signing in (ann)", chromedp.Navigate(ann.loginURL))
	ab.waitText("main h1", "Your groups")
	ab.do("opening the Guidelines tab", chromedp.Navigate(ann.base+"/#/g/"+group+"/guidelines"))
	ab.waitText("#guidelines-none", "no guidelines yet")
	ab.do("writing the guidelines", chromedp.SetValue("#guidelines-edit", "Be kind.\nShare your own story, not others'.\nWhat is shared here stays here."),
		chromedp.Click(`main form button[type="submit"]`))
	ab.waitText("#guidelines-status", "You have accepted these guidelines.")
	ab.shot(shots, "guidelines-editor")

	// Bo is asked to accept them before posting.
	bb.do("signing in (bo)", chromedp.Navigate(bo.loginURL))
	bb.waitText("main h1", "Your groups")
	waitGuidelines(t, bo, group)
	bb.do("opening the conversation (bo)", chromedp.Navigate(bo.base+"/#/g/"+group))
	bb.waitText("#guidelines-gate", "Share your own story")
	if eval[bool](bb, `!!document.querySelector("#compose")`) {
		t.Fatal("the composer shows before the guidelines are accepted")
	}
	bb.shot(shots, "guidelines-gate")
	bb.do("accepting", chromedp.Click("#accept-guidelines"))
	bb.waitJS("the composer", `!!document.querySelector("#compose")`)
	if d, err := bo.client.Group(ctx, group); err != nil || !d.GuidelinesAccepted {
		t.Fatalf("after accepting in the UI: %+v, %v", d, err)
	}

	// Bo posts, then edits from the message's menu.
	bb.do("posting", chromedp.SendKeys("#compose", "I had a rough day at work\n"))
	bb.waitJS("bo's message", `[...document.querySelectorAll(".message.mine .message-text")].some((e) => e.textContent === "I had a rough day at work")`)
	mine := eval[string](bb, `[...document.querySelectorAll(".message.mine")].find((e) => e.textContent.includes("rough day")).dataset.id`)
	sel := "#m-" + mine
	bb.do("opening the menu", chromedp.Click(sel+" summary"))
	bb.do("choosing Edit", chromedp.Click(sel+` button[data-act="edit"]`))
	bb.waitJS("the edit form", `!!document.querySelector("#edit-text-`+mine+`")`)
	bb.do("editing", chromedp.SetValue("#edit-text-"+mine, "I had a rough day, but I'm okay"), chromedp.Click(sel+` form button[type="submit"]`))
	bb.waitText(sel+" .message-text", "I'm okay")
	bb.waitText(sel+" .badge.edited", "Edited")
	ab.do("opening the conversation (ann)", chromedp.Navigate(ann.base+"/#/g/"+group))
	ab.waitText(sel+" .message-text", "I had a rough day, but I'm okay")
	ab.waitText(sel+" .badge.edited", "Edited")

	// Bo reports Ann's message.
	welcome, err := ann.client.Post(ctx, group, "Rough days pass. Tell us more?", "")
	if err != nil {
		t.Fatal(err)
	}
	ws := "#m-" + welcome
	bb.waitText(ws+" .message-text", "Rough days pass")
	bb.do("opening the menu of ann's message", chromedp.Click(ws+" summary"))
	focusShot(bb, shots, "message-menu", ws)
	bb.do("choosing Report", chromedp.Click(ws+` button[data-act="report"]`))
	bb.waitJS("the report form", `!!document.querySelector("#report-text-`+welcome+`")`)
	bb.do("reporting", chromedp.SetValue("#report-text-"+welcome, "felt pushy"), chromedp.Click(ws+` form button[type="submit"]`))
	bb.waitJS("the report sent", `!document.querySelector("#report-text-`+welcome+`")`)
	ab.do("opening Reports", chromedp.Navigate(ann.base+"/#/g/"+group+"/reports"))
	ab.waitText("#reports", "bo reported a message by ann")
	ab.waitText("#reports", "Rough days pass")
	ab.waitText("#reports", "felt pushy")
	ab.shot(shots, "reports")

	// Ann removes Bo's message for everyone.
	ab.do("back to the conversation", chromedp.Navigate(ann.base+"/#/g/"+group))
	ab.waitText(sel+" .message-text", "I'm okay")
	ab.do("opening the menu of bo's message", chromedp.Click(sel+" summary"))
	ab.do("choosing Remove", chromedp.Click(sel+` button[data-act="remove"]`))
	ab.do("giving a reason", chromedp.SetValue("#remove-text-"+mine, "please keep names out"), chromedp.Click(sel+` form button[type="submit"]`))
	ab.waitJS("the confirmation", `document.querySelector("#confirm").open`)
	ab.shot(shots, "remove-confirm-post")
	ab.do("confirming", chromedp.Click("#confirm-ok"))
	ab.waitText(sel+" .tombstone", "A moderator removed this message: please keep names out")
	bb.waitText(sel+" .tombstone", "A moderator removed this message: please keep names out")
	if eval[bool](bb, `document.querySelector("`+sel+`").textContent.includes("I'm okay")`) {
		t.Error("bo's page still shows the removed text")
	}
	focusShot(bb, shots, "removed-post", sel)

	// Ann mutes Bo: his messages fold on her screen only.
	second, err := bo.client.Post(ctx, group, "Sorry, I will keep names out", "")
	if err != nil {
		t.Fatal(err)
	}
	ss := "#m-" + second
	ab.waitText(ss+" .message-text", "keep names out")
	ab.do("opening the menu", chromedp.Click(ss+" summary"))
	ab.do("choosing Mute", chromedp.Click(ss+` button[data-act="mute"]`))
	ab.waitJS("the confirmation", `document.querySelector("#confirm").open`)
	ab.do("confirming", chromedp.Click("#confirm-ok"))
	ab.waitText(ss+" .folded-text", "whom you muted")
	focusShot(ab, shots, "muted", ss)
	ab.do("showing it anyway", chromedp.Click(ss+` button[data-act="reveal"]`))
	ab.waitText(ss+" .message-text", "keep names out")
	ab.do("opening Members", chromedp.Navigate(ann.base+"/#/g/"+group+"/members"))
	ab.waitText("main .rows", "Muted by you")
	ab.do("unmuting", chromedp.Click(`button[aria-label="Unmute bo"]`))
	ab.waitJS("the mute gone", `!document.querySelector("main .rows").textContent.includes("Muted by you")`)

	// Bo deletes his second message.
	bb.waitText(ss+" .message-text", "keep names out")
	bb.do("opening the menu", chromedp.Click(ss+" summary"))
	bb.do("choosing Delete", chromedp.Click(ss+` button[data-act="delete"]`))
	bb.waitJS("the confirmation", `document.querySelector("#confirm").open`)
	bb.do("confirming", chromedp.Click("#confirm-ok"))
	bb.waitText(ss+" .tombstone", "The author deleted this message.")
	ab.do("back to the conversation", chromedp.Navigate(ann.base+"/#/g/"+group))
	ab.waitText(ss+" .tombstone", "The author deleted this message.")
	focusShot(ab, shots, "conversation-moderated", ss)
}

// tidy dismisses the notices at the top of the page and scrolls the
// element sel into view.
func tidy(b *browser, sel string) {
	b.t.Helper()
	b.do("tidying the screen", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		for (const btn of document.querySelectorAll("#banners button")) if (btn.textContent.trim() === "Dismiss") btn.click();
		const e = document.querySelector(%q);
		if (e) e.scrollIntoView({ block: "center" });
	})()`, sel)))
}

// focusShot is b.shot, plus a phone-width screenshot (name-phone-focus.png)
// taken after scrolling the element sel into view at that width: on a
// phone the group's header leaves the conversation little room.
func focusShot(b *browser, dir, name, sel string) {
	b.t.Helper()
	tidy(b, sel)
	b.shot(dir, name)
	b.do("resizing to a phone", chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(1), chromedp.EmulateMobile))
	tidy(b, sel)
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	cancel()
	if err != nil {
		b.t.Fatalf("%s: screenshot %s: %v", b.name, name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+"-phone-focus.png"), buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.do("resizing back", chromedp.EmulateViewport(1280, 800, chromedp.EmulateScale(1)))
}

// waitGuidelines waits until d's node holds the group's guidelines.
func waitGuidelines(t *testing.T, d *daemon, group string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), stepTimeout)
	defer cancel()
	s, err := d.client.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if gl, err := d.client.Guidelines(ctx, group); err == nil && gl.Version > 0 {
		return
	}
	for {
		e, err := s.Next()
		if err != nil {
			t.Fatalf("%s: waiting for the guidelines: %v", d.name, err)
		}
		if e.Type == client.EventGuidelines {
			return
		}
	}
}
