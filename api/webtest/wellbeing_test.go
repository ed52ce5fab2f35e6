package webtest

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hearthnet/hearth/api/client"
)

// TestWellbeingNotificationsUI: a fellow member's message shows a notice at
// once normally; during quiet hours (set in the Well-being screen to cover
// the page's current time) it is held with nothing shown, and when the
// member moves quiet hours away from now the summary appears; in digest
// mode messages are held and the summary shows when the member opens it.
// With screenshots at desktop and phone widths.
func TestWellbeingNotificationsUI(t *testing.T) {
	ds, bs := browserTest(t, []string{"host", "member"}, "browser")
	host, member := ds[0], ds[1]
	b := bs[0]
	shots := screenshotDir(t)

	// The member joins the host's group and is heard there before the
	// browser opens (a post before the mesh forms may come by sync only,
	// much later).
	ctx := t.Context()
	group, err := host.client.CreateGroup(ctx, "Tuesday group", "ann", "")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := host.client.CreateInvite(ctx, group, client.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := member.client.Join(ctx, inv.Invite, "bo"); err != nil || res.Status != "joined" {
		t.Fatalf("joining: %+v, %v", res, err)
	}
	// seen waits until the host holds a post with text.
	seen := func(text string, within time.Duration) bool {
		for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			ms, err := host.client.Messages(ctx, group, 50, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if m.Text == text {
					return true
				}
			}
		}
		return false
	}
	// heard has the member post text and waits until the host has it.
	heard := func(text string) {
		t.Helper()
		if _, err := member.client.Post(ctx, group, text, ""); err != nil {
			t.Fatal(err)
		}
		if !seen(text, stepTimeout) {
			t.Fatalf("the host never received %q", text)
		}
	}
	// The first post may go out before the member's node has grafted the
	// host into its mesh; it is sent again until one arrives.
	for i := 0; ; i++ {
		text := fmt.Sprintf("warming up %d", i)
		if _, err := member.client.Post(ctx, group, text, ""); err != nil {
			t.Fatal(err)
		}
		if seen(text, 2*time.Second) {
			break
		}
		if i == 20 {
			t.Fatal("the host never heard the member")
		}
	}

	b.do("signing in", chromedp.Navigate(host.loginURL))
	b.waitText("main h1", "Your groups")
	b.do("opening the well-being settings", chromedp.Navigate(host.base+"/#/me/settings"))
	b.waitText("main h1", "Well-being")
	noticeCount := `document.querySelectorAll('#banners .notice[data-kind="message"]').length`

	// Normally a message in a group the member is not looking at shows a
	// notice at once.
	heard("first, with no quiet hours")
	b.waitJS("a notice of the new message", noticeCount+` === 1`)
	b.waitText(`#banners .notice[data-kind="message"]`, "in Tuesday group")

	// A system notification (the page hidden, permission granted) may show
	// on a locked screen: it names no group, no one and no text, for a
	// message and for an answer to an SOS alike.
	eval[bool](b, `(() => {
		window.sysNotes = [];
		window.Notification = class { static permission = "granted"; constructor(title, o) { window.sysNotes.push(title + " | " + ((o && o.body) || "")); } };
		Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
		return true;
	})()`)
	heard("while the page is hidden")
	b.waitJS("a system notification of the message", `window.sysNotes.length === 1`)
	eval[bool](b, `(import("/js/notify.js").then((m) => m.notify({ kind: "sos_reply", title: "ann is here for you", body: "calling you now, ann", group: "Tuesday group", urgent: true })), true)`)
	b.waitJS("a system notification of the answer", `window.sysNotes.length === 2`)
	sys := eval[string](b, `window.sysNotes.join("\n")`)
	for _, leak := range []string{"Tuesday", "ann", "calling", "bo "} {
		if strings.Contains(sys, leak) {
			t.Errorf("a system notification shows %q: %q", leak, sys)
		}
	}
	eval[bool](b, `(delete document.visibilityState, document.querySelectorAll('#banners .notice:not([data-kind="message"])').forEach((n) => n.remove()), true)`)

	// Quiet hours around the page's own clock: held, nothing shown.
	now := eval[int](b, `(() => { const d = new Date(); return d.getHours() * 60 + d.getMinutes(); })()`)
	save := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		b.do(what, append(actions, chromedp.Evaluate[chromedp.Void](`document.querySelector("#w-saved").hidden = true`),
			chromedp.Click(`form[aria-labelledby="w-h"] button[type="submit"]`))...)
		b.waitJS("the settings saved", `!document.querySelector("#w-saved").hidden`)
	}
	save("setting quiet hours around now",
		chromedp.SetValue("#w-qs", clock(now-60)), chromedp.SetValue("#w-qe", clock(now+60)))
	heard("during quiet hours")
	b.waitJS("the message held", `document.documentElement.dataset.held === "1"`)
	if n := eval[int](b, noticeCount); n != 1 {
		t.Errorf("%d message notices during quiet hours, want only the one from before", n)
	}
	if eval[bool](b, `!!document.querySelector("#held-open")`) {
		t.Error("quiet hours show a count of held notifications; they should show nothing")
	}

	// Quiet hours moved away from now: the summary appears.
	save("moving quiet hours away from now",
		chromedp.SetValue("#w-qs", clock(now+60)), chromedp.SetValue("#w-qe", clock(now+120)))
	b.waitText("#held-summary", "While it was quiet: 1 message in Tuesday group")
	if n := eval[int](b, noticeCount); n != 1 {
		t.Errorf("%d message notices after quiet hours, want the summary instead", n)
	}
	b.do("scrolling to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	b.shot(shots, "wellbeing-quiet-summary")
	b.do("dismissing the summary", chromedp.Click(`#held-summary button`))

	// Digest: held, with a quiet button that opens the summary.
	save("turning on the digest",
		chromedp.SetValue("#w-qs", ""), chromedp.SetValue("#w-qe", ""), chromedp.Click("#w-digest"))
	heard("digest one")
	heard("digest two")
	b.waitJS("both messages held", `document.documentElement.dataset.held === "2"`)
	if n := eval[int](b, noticeCount); n != 1 {
		t.Errorf("%d message notices in digest mode, want none new", n)
	}
	b.waitText("#held-open", "Show held notifications (2)")
	b.do("scrolling to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	b.shot(shots, "wellbeing-digest-held")
	b.do("opening the digest", chromedp.Click("#held-open"))
	b.waitText("#held-summary", "Your digest: 2 messages in Tuesday group")
	if eval[bool](b, `!!document.querySelector("#held-open")`) {
		t.Error("the held button stays after the summary was shown")
	}
	b.do("scrolling to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	b.shot(shots, "wellbeing-digest-summary")
}

// clock formats minutes since midnight (any integer, wrapped to a day) as
// HH:MM.
func clock(m int) string {
	m = ((m % 1440) + 1440) % 1440
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

// TestPanicWipeUI: the Well-being screen's wipe button asks for the word
// WIPE; a page on another origin cannot wipe through the member's session;
// a wrong word wipes nothing; WIPE wipes: the page says so, the home
// directory is gone and the daemon has exited.
func TestPanicWipeUI(t *testing.T) {
	ds, bs := browserTest(t, []string{"wipe"}, "browser")
	d := ds[0]
	b := bs[0]
	shots := screenshotDir(t)
	homeExists := func() bool {
		_, err := os.Stat(d.home)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		return err == nil
	}

	b.do("signing in", chromedp.Navigate(d.loginURL))
	b.waitText("main h1", "Your groups")
	// Opening a group leaves a read marker in localStorage; the usage
	// count is in sessionStorage.
	group, err := d.client.CreateGroup(t.Context(), "Circle", "ann", "")
	if err != nil {
		t.Fatal(err)
	}
	b.do("opening the group", chromedp.Navigate(d.base+"/#/g/"+group))
	b.waitJS("the read marker", `(localStorage.getItem("hearth.read.v1") || "").includes("`+group+`")`)
	eval[bool](b, `(sessionStorage.setItem("hearth-usage", JSON.stringify({day: new Date().toDateString(), minutes: 3, noticed: false})), true)`)
	kept := `Object.keys(localStorage).concat(Object.keys(sessionStorage)).filter((k) => k.startsWith("hearth"))`

	// Another origin on the same machine, with the session cookie in the
	// browser: the request is refused and nothing is wiped.
	attack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>attack</title><script>
window.result = "pending";
fetch(%q + "/api/v1/wipe", {method: "POST", credentials: "include", headers: {"Content-Type": "text/plain"}, body: '{"confirm":"WIPE"}'})
  .then(r => r.text().then(t => { window.result = r.status + " " + t; }))
  .catch(e => { window.result = "blocked: " + e.name; });
</script>`, d.base)
	}))
	defer attack.Close()
	b.do("opening a page on another origin", chromedp.Navigate(attack.URL))
	b.waitJS("the other page's attempt", `window.result !== "pending"`)
	if !homeExists() {
		t.Fatalf("a page on another origin wiped the home (%s)", eval[string](b, `window.result`))
	}

	b.do("opening the well-being settings", chromedp.Navigate(d.base+"/#/me/settings"))
	b.waitText("main h1", "Well-being")
	b.do("opening the wipe confirmation", chromedp.Click("#wipe-open"))
	b.waitJS("the confirmation", `!document.querySelector("#wipe-confirm").hidden && document.activeElement.id === "wipe-word"`)
	b.do("typing the wrong word", chromedp.SendKeys("#wipe-word", "wipe"), chromedp.Click(`#wipe-confirm button[type="submit"]`))
	b.waitText("#wipe-confirm .error", "Type WIPE")
	if !homeExists() {
		t.Fatal("a wrong confirmation wiped the home")
	}
	b.do("bringing the confirmation into view", chromedp.Evaluate[chromedp.Void](`document.querySelector("#wipe-confirm").scrollIntoView({block: "center"})`))
	b.shot(shots, "wipe-confirm")

	b.do("typing WIPE", chromedp.Evaluate[chromedp.Void](`document.querySelector("#wipe-word").value = ""`), chromedp.SendKeys("#wipe-word", "WIPE"),
		chromedp.Click(`#wipe-confirm button[type="submit"]`))
	b.waitText("main h1", "Everything was wiped")
	if keys := eval[[]string](b, kept); len(keys) > 0 {
		t.Errorf("after the wipe the browser still keeps %q", keys)
	}
	select {
	case <-d.exited:
	case <-time.After(stepTimeout):
		t.Fatalf("the daemon still runs %v after the wipe", stepTimeout)
	}
	if homeExists() {
		t.Fatalf("the home %s still exists after the wipe", d.home)
	}
	b.shot(shots, "wipe-done")
}
