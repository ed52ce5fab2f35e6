package webtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hearthnet/hearth/api/client"
)

// TestWebUI is the member's and the host's whole path through the web UI
// on two real daemons: sign in with the one-time link, start a group,
// invite with approval, join from a #join= link, let the joiner in from
// the waiting room, talk both ways live, reply in a thread, remove the
// member, and see the member's UI say so. On the way it checks that a
// page on another origin cannot read or change anything through the API,
// and that the UI does not work under a foreign Host name. It saves a
// screenshot of every main screen at desktop and phone widths.
func TestWebUI(t *testing.T) {
	needChromium(t)
	if testing.Short() {
		t.Skip("the browser test starts two daemons and two browsers; skipped with -short")
	}
	shots := screenshotDir(t)
	bin := buildHearth(t)
	type started struct {
		d *daemon
		b *browser
	}
	// The daemons and browsers start in parallel: each waits mostly on
	// its passphrase KDF or on Chromium starting.
	hostCh, memberCh := make(chan started, 1), make(chan started, 1)
	go func() { hostCh <- started{startDaemonOrNil(t, bin, "host"), nil} }()
	go func() { memberCh <- started{startDaemonOrNil(t, bin, "member"), nil} }()
	hb := newBrowser(t, "host browser")
	mb := newBrowser(t, "member browser")
	host, member := (<-hostCh).d, (<-memberCh).d
	if host == nil || member == nil {
		t.FailNow()
	}
	defer hb.checkConsole()
	defer mb.checkConsole()

	// Signing in: the one-time link sets the session and opens the UI.
	hb.do("opening the login link", chromedp.Navigate(host.loginURL))
	hb.waitText("main h1", "Your groups")
	hb.waitText("main", "Welcome to Hearth")
	hb.waitText("main", "cannot stop a member from copying")
	hb.shot(shots, "welcome")

	// A used link does not work twice; the page says what to do.
	mb.do("opening the host's used login link", chromedp.Navigate(host.loginURL))
	mb.waitText("body", "already used")

	// The host starts a group and lands on its invite screen.
	hb.do("starting a group", chromedp.Click(`a[href="#/new"]`))
	hb.waitText("main h1", "Start a group")
	hb.do("filling the group form",
		chromedp.SendKeys("#group-name", "Tuesday evening circle"),
		chromedp.SendKeys("#group-pseudonym", "River"),
		chromedp.Click(`main form button[type="submit"]`))
	hb.waitJS("the invite screen", `/^#\/g\/[0-9a-f]{32}\/invites$/.test(location.hash)`)
	hb.waitText("main h1", "Tuesday evening circle")
	group := regexp.MustCompile(`[0-9a-f]{32}`).FindString(eval[string](hb, `location.hash`))

	// An invite that needs approval, as a link and a QR code drawn locally.
	hb.do("creating an invite", chromedp.Click("#invite-approval"), chromedp.Click(`main form button[type="submit"]`))
	hb.waitJS("the QR code", `(() => { const i = document.querySelector("#invite-qr"); return !!i && i.complete && i.naturalWidth > 100; })()`)
	invite := eval[string](hb, `document.querySelector("#invite-text").value`)
	if !strings.HasPrefix(invite, "hearth:") {
		t.Fatalf("the invite shown is %q", invite)
	}
	if link := eval[string](hb, `document.querySelector("#invite-link").getAttribute("href")`); link != "web+"+invite {
		t.Errorf("the invite's link is %q, want web+%s", link, invite)
	}
	if src := eval[string](hb, `document.querySelector("#invite-qr").src`); !strings.HasPrefix(src, "data:image/svg+xml;base64,") {
		t.Errorf("the QR code comes from %.60s, not from a local data: URL", src)
	}
	hb.waitText(".rows", "needs approval")
	hb.shot(shots, "invite")

	// The host watches the waiting room while the member asks to join.
	hb.do("opening the waiting room", chromedp.Click(fmt.Sprintf(`nav.tabs a[href="#/g/%s/waiting"]`, group)))
	hb.waitText("main", "Nobody is waiting")

	mb.do("signing the member in", chromedp.Navigate(member.loginURL))
	mb.waitText("main h1", "Your groups")
	mb.do("opening a #join= link", chromedp.Navigate(member.base+"/#join="+invite))
	mb.waitJS("the join form filled in", `(() => { const i = document.querySelector("#join-invite"); return !!i && i.value.startsWith("hearth:"); })()`)
	if h := eval[string](mb, `location.hash`); h != "#/join" {
		t.Errorf("after opening a #join= link the address still shows %q; the invite should leave the address bar", h)
	}
	mb.do("asking to join", chromedp.SendKeys("#join-pseudonym", "Sam"), chromedp.Click(`main form button[type="submit"]`))
	mb.waitText("main", "Waiting for a host to let you in")
	mb.shot(shots, "join-waiting")

	// The request appears live (join_request event), and the host lets Sam in.
	hb.waitText("main .rows", "Sam")
	hb.waitText("nav.tabs", "Waiting room (1)")
	hb.waitText("#waiting-badge", "1 waiting")
	// On a phone the waiting count shows without scrolling the tabs, and
	// the tab row, scrolled to the current tab, shows there are more.
	// The row scrolls when its resize observer runs, a moment after the
	// window narrows; it marks the fade at its edge as it does.
	hb.asPhone()
	hb.waitJS("the fade at the tab row's edge", `document.querySelector("nav.tabs").classList.contains("more-before")`)
	if r := rectOf(hb, "#waiting-badge"); !r.Found || r.Left < 0 || r.Right > 360 || r.Top < 0 || r.Bottom > 740 {
		t.Errorf("on a phone the waiting count is at %+v, not on the screen", r)
	}
	if r := rectOf(hb, "#tab-waiting"); !r.Found || r.Left < 0 || r.Right > 360 {
		t.Errorf("on a phone the current tab (the waiting room) is at %+v, off the screen", r)
	}
	hb.asDesktop()
	hb.shot(shots, "waiting-room")
	hb.do("letting Sam in", chromedp.Click(`button[aria-label="Let Sam in"]`))
	hb.waitText("main", "Nobody is waiting")

	// The member's waiting screen turns into the conversation by itself.
	mb.waitJS("the conversation", fmt.Sprintf(`location.hash === "#/g/%s" && !!document.querySelector("#compose")`, group))
	mb.waitText("main h1", "Tuesday evening circle")

	// A message typed by the member (sent with Enter) reaches the host,
	// whose group list counts it as new.
	hb.do("going to the group list", chromedp.Click(`#nav-groups`))
	hb.waitText(".group-list", "Tuesday evening circle")
	mb.do("typing a message", chromedp.SendKeys("#compose", "Hello from Sam. First time here.\n"))
	mb.waitText(".messages", "Hello from Sam")
	hb.waitText(".group-list", "1 new")
	hb.shot(shots, "groups")
	hb.do("opening the group", chromedp.Click(`a.group-link`))
	hb.waitText(".messages", "Hello from Sam. First time here.")

	// The host answers with the Send button; it appears live for the member.
	hb.do("answering", chromedp.SendKeys("#compose", "Welcome, Sam. Glad you are here."), chromedp.Click(`.composer button[type="submit"]`))
	mb.waitText(".messages", "Welcome, Sam. Glad you are here.")

	// On a phone the conversation gets most of the screen: the header is
	// short, and every message so far is in view. There, Enter starts a
	// new line (a phone keyboard has no Shift+Enter) and Send sends.
	hb.asPhone()
	head, scroller := rectOf(hb, ".group-head"), rectOf(hb, ".scroller")
	if head.Bottom > 230 || scroller.Height < 280 {
		t.Errorf("on a phone the group's header ends at %.0f px and the conversation is %.0f px tall, of 740", head.Bottom, scroller.Height)
	}
	if first := rectOf(hb, ".messages > li"); !first.Found || first.Top < scroller.Top || first.Bottom > scroller.Bottom {
		t.Errorf("on a phone the first message is at %+v, outside the conversation at %+v", first, scroller)
	}
	hb.do("typing two lines on a phone", chromedp.SendKeys("#compose", "Two lines\nfrom a phone"))
	if v := eval[string](hb, `document.querySelector("#compose").value`); v != "Two lines\nfrom a phone" {
		t.Errorf("on a phone, Enter in the composer left %q, want a new line", v)
	}
	hb.do("sending with Send", chromedp.Click(`.composer button[type="submit"]`))
	mb.waitJS("the two lines", `[...document.querySelectorAll(".message-text")].some((p) => p.textContent === "Two lines\nfrom a phone")`)
	hb.asDesktop()

	// A draft survives moving to another screen and back.
	hb.do("writing a draft", chromedp.SendKeys("#compose", "Half a thought"))
	hb.do("leaving the conversation", chromedp.Click(fmt.Sprintf(`nav.tabs a[href="#/g/%s/members"]`, group)))
	hb.waitText(".rows", "Sam")
	hb.do("coming back", chromedp.Click(fmt.Sprintf(`nav.tabs a[href="#/g/%s"]`, group)))
	hb.waitJS("the draft", `(() => { const c = document.querySelector("#compose"); return !!c && c.value === "Half a thought"; })()`)
	hb.do("clearing the draft", chromedp.Evaluate[chromedp.Void](`(() => { const c = document.querySelector("#compose"); c.value = ""; c.dispatchEvent(new Event("input")); })()`))

	// The member replies in a thread; the host sees the reply count and
	// opens the thread.
	mb.do("replying to River", chromedp.Click(`a[aria-label="Reply to River"]`))
	mb.waitText("#thread-title", "Thread")
	if focused := eval[string](mb, `document.activeElement.id`); focused != "compose" {
		t.Errorf("after Reply, focus is on %q, want the composer", focused)
	}
	mb.do("typing the reply", chromedp.SendKeys("#compose", "Thank you, River.\n"))
	mb.waitText(".messages", "Thank you, River.")
	hb.waitText(".messages", "1 reply")
	hb.shot(shots, "conversation")
	hb.do("opening the thread", chromedp.Click(`a[data-key^="thread-"]`))
	hb.waitText("#thread-title", "Thread")
	hb.waitText(".messages", "Thank you, River.")
	hb.shot(shots, "thread")
	mb.do("back to the conversation", chromedp.Click(`main a[href="#/g/`+group+`"]`))
	mb.waitText(".messages", "Welcome, Sam")
	mb.shot(shots, "conversation-member")

	// Status: the two daemons are connected now.
	hb.do("opening status", chromedp.Click("#nav-status"))
	hb.waitJS("a connected peer", `(() => { const e = document.querySelector("#status-peers"); return !!e && Number(e.textContent) >= 1; })()`)
	hb.shot(shots, "status")

	t.Run("history pages in upward", func(t *testing.T) {
		pageHistory(t, hb, host, group)
	})

	sam := memberNamed(t, host.client, group, "Sam")
	t.Run("another origin cannot read or post", func(t *testing.T) {
		crossOrigin(t, hb, host, group, sam)
	})
	t.Run("foreign Host is refused", func(t *testing.T) {
		foreignHost(t, hb, host)
	})

	// The host removes Sam, behind a confirmation that says what it does.
	hb.do("opening members", chromedp.Navigate(host.base+"/#/g/"+group+"/members"))
	hb.waitText(".rows", "Sam")
	hb.shot(shots, "members")
	hb.do("asking to remove Sam", chromedp.Click(`button[aria-label="Remove Sam"]`))
	hb.waitJS("the confirmation", `document.querySelector("#confirm").open`)
	hb.waitText("#confirm-body", "Sam will no longer be able to read new messages in this group")
	if f := eval[string](hb, `document.activeElement.id`); f != "confirm-cancel" {
		t.Errorf("the confirmation opens with focus on %q, want Cancel", f)
	}
	hb.shot(shots, "remove-confirm")
	hb.do("confirming", chromedp.Click("#confirm-ok"))
	hb.waitJS("Sam gone from the members list", `!document.querySelector(".rows").textContent.includes("Sam")`)

	// The member's UI says so plainly, once, and offers nothing that no
	// longer works there: no composer, no Reply, no SOS to the group, no
	// members, meetings, mentors or mailbox.
	mb.waitText("#removed-notice", "You were removed from this group")
	if n := eval[int](mb, `[...document.querySelectorAll("main, #banners")].reduce((n, e) => n + (e.textContent.match(/You were removed from/g) || []).length, 0)`); n != 1 {
		t.Errorf("the removed member's screen says %d times that they were removed, want once", n)
	}
	for what, sel := range map[string]string{
		"a composer":                         "#compose",
		"a Reply link":                       "a[data-reply]",
		"the SOS button":                     "#sos-open",
		"a Members, Meetings or Mentors tab": `nav.tabs a[href$="/members"], nav.tabs a[href$="/meetings"], nav.tabs a[href$="/mentor"], nav.tabs a[href$="/mailbox"]`,
	} {
		if eval[bool](mb, fmt.Sprintf(`!!document.querySelector(%q)`, sel)) {
			t.Errorf("the removed member still has %s", what)
		}
	}
	mb.waitText(".messages", "Welcome, Sam")
	mb.shot(shots, "removed")
	mb.do("going to the group list", chromedp.Click(`#nav-groups`))
	mb.waitText(".group-list", "You were removed")

	// Signing out ends the session: the page says how to sign in again,
	// and reloading does not bring the groups back. What the browser kept
	// for Hearth goes too (the read markers name the groups by ID), and is
	// not written again, even from a conversation coming back into view.
	hb.do("opening the conversation", chromedp.Navigate(host.base+"/#/g/"+group))
	hb.waitJS("the read marker", `(localStorage.getItem("hearth.read.v1") || "").includes("`+group+`")`)
	eval[bool](hb, `(sessionStorage.setItem("hearth-usage", JSON.stringify({day: new Date().toDateString(), minutes: 3, noticed: false})), true)`)
	hb.do("signing out", chromedp.Click("#signout"))
	hb.waitText("main h1", "Open Hearth with your sign-in link")
	hb.do("the page coming back into view", chromedp.Evaluate[chromedp.Void](`document.dispatchEvent(new Event("visibilitychange"))`))
	kept := `Object.keys(localStorage).concat(Object.keys(sessionStorage)).filter((k) => k.startsWith("hearth"))`
	if keys := eval[[]string](hb, kept); len(keys) > 0 {
		t.Errorf("after signing out the browser still keeps %q", keys)
	}
	hb.shot(shots, "signed-out")
	hb.do("reloading", chromedp.Reload())
	hb.waitText("main h1", "Open Hearth with your sign-in link")
}

// pageHistory posts more messages than one page holds, opens the
// conversation, scrolls to the top, and checks that the older page comes
// in above without moving what the member was reading.
func pageHistory(t *testing.T, b *browser, host *daemon, group string) {
	const n = 60
	for i := 1; i <= n; i++ {
		if _, err := host.client.Post(t.Context(), group, fmt.Sprintf("Paged message %d", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	// A fresh page load, so that only the newest page is in memory.
	b.do("opening the conversation", chromedp.Navigate(host.base+"/#/g/"+group), chromedp.Reload())
	b.waitText(".messages", fmt.Sprintf("Paged message %d", n))
	if got := eval[int](b, `document.querySelectorAll(".messages > li").length`); got != 50 {
		t.Errorf("the first page shows %d messages, want 50", got)
	}
	if eval[bool](b, `document.querySelector(".messages").textContent.includes("Hello from Sam")`) {
		t.Error("the oldest message is shown before paging")
	}
	// Scroll to the top; remember where the first message sits.
	first := eval[string](b, `(() => {
		const s = document.querySelector(".scroller"); s.scrollTop = 0;
		const li = document.querySelector(".messages > li");
		window.pagedAnchor = [li.id, li.getBoundingClientRect().top];
		return li.id;
	})()`)
	b.waitText(".messages", "Hello from Sam")
	b.waitText(".history-state", "This is the start")
	moved := eval[float64](b, `Math.abs(document.getElementById(window.pagedAnchor[0]).getBoundingClientRect().top - window.pagedAnchor[1])`)
	if moved > 40 {
		t.Errorf("message %s moved %.0f px when the older page came in", first, moved)
	}
}

// startDaemonOrNil is startDaemon for a goroutine: it reports failure with
// Error (Fatal must run on the test's goroutine) and returns nil.
func startDaemonOrNil(t *testing.T, bin, name string) (d *daemon) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		// startDaemon calls Fatal, which ends this goroutine only; the
		// failure is recorded and d stays nil.
		d = startDaemon(t, bin, name)
	}()
	<-done
	return d
}

// memberNamed returns the member ID of the member with that pseudonym.
func memberNamed(t *testing.T, c *client.Client, group, pseudonym string) string {
	t.Helper()
	ms, err := c.Members(t.Context(), group)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Pseudonym == pseudonym {
			return m.Member
		}
	}
	t.Fatalf("no member %q in %+v", pseudonym, ms)
	return ""
}

// attackPage is served from another port of 127.0.0.1: the same site as
// the API (so SameSite=Strict cookies would go along) but another origin.
// It tries to read groups, create a group, post, remove a member, leave,
// and listen to events, each in the ways a browser lets a page try, and
// records what it saw in window.results.
const attackPage = `<!doctype html><title>attack</title><script>
const api = %q, group = %q, member = %q;
const results = {};
async function attempt(name, fn) {
  try { results[name] = await fn(); } catch (e) { results[name] = "blocked: " + e.name; }
}
(async () => {
  await attempt("read", async () => { const r = await fetch(api + "/api/v1/groups", {credentials: "include"}); return "read " + r.status + ": " + await r.text(); });
  await attempt("read_messages", async () => { const r = await fetch(api + "/api/v1/groups/" + group + "/messages", {credentials: "include"}); return "read " + r.status + ": " + await r.text(); });
  await attempt("create_json", async () => { const r = await fetch(api + "/api/v1/groups", {method: "POST", credentials: "include", headers: {"Content-Type": "application/json"}, body: JSON.stringify({name: "Taken over", pseudonym: "Mallory"})}); return "answered " + r.status; });
  await attempt("create_simple", async () => { await fetch(api + "/api/v1/groups", {method: "POST", mode: "no-cors", credentials: "include", headers: {"Content-Type": "text/plain"}, body: JSON.stringify({name: "Taken over", pseudonym: "Mallory"})}); return "sent"; });
  await attempt("post_simple", async () => { await fetch(api + "/api/v1/groups/" + group + "/messages", {method: "POST", mode: "no-cors", credentials: "include", headers: {"Content-Type": "text/plain"}, body: JSON.stringify({text: "forged by another page"})}); return "sent"; });
  await attempt("remove", async () => { await fetch(api + "/api/v1/groups/" + group + "/members/" + member, {method: "DELETE", mode: "no-cors", credentials: "include"}); return "sent"; });
  await attempt("leave_form", () => new Promise((resolve) => {
    const f = document.createElement("iframe"); f.name = "sink"; document.body.appendChild(f);
    const form = document.createElement("form"); form.method = "POST"; form.target = "sink"; form.enctype = "text/plain";
    form.action = api + "/api/v1/groups/" + group + "/leave"; document.body.appendChild(form);
    f.onload = () => resolve("submitted"); setTimeout(() => resolve("submitted"), 3000); form.submit();
  }));
  await attempt("qr", async () => { const r = await fetch(api + "/ui/qr", {method: "POST", credentials: "include", headers: {"Content-Type": "application/json"}, body: JSON.stringify({text: "hearth:x"})}); return "answered " + r.status; });
  await attempt("events", () => new Promise((resolve) => {
    const es = new EventSource(api + "/api/v1/events", {withCredentials: true});
    es.onopen = () => { es.close(); resolve("opened"); };
    es.onerror = () => { es.close(); resolve("blocked"); };
  }));
  window.results = results;
})();
</script>`

// crossOrigin opens the attack page in the host's signed-in browser and
// checks that every attempt failed and nothing changed in the group.
func crossOrigin(t *testing.T, b *browser, host *daemon, group, member string) {
	ctx := t.Context()
	before, err := host.client.Groups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	msgsBefore, err := host.client.Messages(ctx, group, 500, "")
	if err != nil {
		t.Fatal(err)
	}
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, attackPage, host.base, group, member)
	}))
	defer attacker.Close()
	b.takeConsole()
	b.do("opening the attack page", chromedp.Navigate(attacker.URL))
	b.waitJS("the attack to finish", `!!window.results`)
	var results map[string]string
	if err := json.Unmarshal([]byte(eval[string](b, `JSON.stringify(window.results)`)), &results); err != nil {
		t.Fatal(err)
	}
	for name, res := range results {
		switch name {
		case "read", "read_messages", "create_json", "qr":
			if !strings.HasPrefix(res, "blocked") {
				t.Errorf("%s from another origin: %s", name, res)
			}
		case "events":
			if res != "blocked" {
				t.Errorf("the event stream opened for another origin: %s", res)
			}
		}
	}
	// The form's answer was refused a frame: the one report expected.
	for _, line := range strings.Split(strings.TrimSpace(b.takeConsole()), "\n") {
		if line != "" && !strings.Contains(line, "frame-ancestors 'none'") {
			t.Errorf("the attack page reported: %s", line)
		}
	}
	if len(results) != 9 {
		t.Errorf("the attack page recorded %d results, want 9: %v", len(results), results)
	}
	after, err := host.client.Groups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("groups before the attack %+v, after %+v", before, after)
	}
	for _, g := range after {
		if g.Name == "Taken over" || g.Group == group && g.Removed {
			t.Errorf("the attack changed the groups: %+v", after)
		}
	}
	if len(after) > 0 && after[0].Members != before[0].Members {
		t.Errorf("the attack changed the members: %d before, %d after", before[0].Members, after[0].Members)
	}
	msgsAfter, err := host.client.Messages(ctx, group, 500, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgsAfter) != len(msgsBefore) {
		t.Errorf("the attack posted: %d messages before, %d after", len(msgsBefore), len(msgsAfter))
	}
}

// foreignHost opens the UI under a name that resolves to 127.0.0.1 (as a
// DNS rebinding attack would arrange) and checks that it does not load.
func foreignHost(t *testing.T, b *browser, host *daemon) {
	port := host.base[strings.LastIndex(host.base, ":")+1:]
	b.do("opening the UI as evil.test", chromedp.Navigate("http://evil.test:"+port+"/"))
	b.waitText("body", "forbidden_host")
	if eval[bool](b, `!!document.querySelector("#main")`) {
		t.Error("the UI loaded under a foreign Host name")
	}
	b.do("opening the API as evil.test", chromedp.Navigate("http://evil.test:"+port+"/api/v1/groups"))
	b.waitText("body", "forbidden_host")
}
