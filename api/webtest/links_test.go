package webtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hearthnet/hearth/api/client"
)

// linkPage is a web page with the two forms of an invite link to the
// member's Hearth: #join=hearth:... as typed, and #join=web%2Bhearth%3A...
// as the browser hands over a web+hearth: link once the member chose to
// open them with Hearth. The page also tries, with the member's cookie, to
// read their groups and to make them join through the API; it records what
// it saw in window.results.
const linkPage = `<!doctype html><title>a page with a link</title>
<p><a id="plain" href="%[1]s/#join=%[2]s">Join us (hearth:)</a></p>
<p><a id="web" href="%[1]s/#join=%[3]s">Join us (web+hearth:)</a></p>
<script>
const results = {};
(async () => {
  try { const r = await fetch(%[1]q + "/api/v1/groups", {credentials: "include"}); results.read = "read " + r.status + ": " + await r.text(); } catch (e) { results.read = "blocked: " + e.name; }
  try { const r = await fetch(%[1]q + "/api/v1/join", {method: "POST", credentials: "include", headers: {"Content-Type": "application/json"}, body: JSON.stringify({invite: %[2]q, pseudonym: "Forced"})}); results.join_json = "answered " + r.status; } catch (e) { results.join_json = "blocked: " + e.name; }
  try { await fetch(%[1]q + "/api/v1/join", {method: "POST", mode: "no-cors", credentials: "include", headers: {"Content-Type": "text/plain"}, body: JSON.stringify({invite: %[2]q, pseudonym: "Forced"})}); results.join_simple = "sent"; } catch (e) { results.join_simple = "blocked: " + e.name; }
  window.results = results;
})();
</script>`

// TestInviteLinkUI: an invite link in a page on another site, or on another
// port of 127.0.0.1, opens the member's Hearth on the join form with the
// invite filled in (both the hearth: and the web+hearth: form), and joins
// nothing by itself; the same page cannot read or join through the API.
// The join screen's button asks the browser to open web+hearth: links
// with this Hearth. A mistyped invite is refused with a plain sentence in
// the form.
func TestInviteLinkUI(t *testing.T) {
	ds, bs := browserTest(t, []string{"host", "member"}, "member browser")
	host, member := ds[0], ds[1]
	mb := bs[0]
	shots := screenshotDir(t)
	ctx := t.Context()
	group, err := host.client.CreateGroup(ctx, "Link circle", "River", "")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := host.client.CreateInvite(ctx, group, client.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	invite := inv.Invite

	// The browser would hand the handler's URL to the page; the test only
	// records what the page asks of the browser.
	mb.onEveryPage(`navigator.registerProtocolHandler = (...args) => { window.registered = args; };`)
	mb.do("signing in", chromedp.Navigate(member.loginURL))
	mb.waitText("main h1", "Your groups")

	pages := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, linkPage, member.base, invite, url.QueryEscape("web+"+invite))
	}))
	defer pages.Close()
	port := pages.URL[strings.LastIndex(pages.URL, ":")+1:]
	nothingJoined := func(when string) {
		t.Helper()
		if gs, err := member.client.Groups(ctx); err != nil || len(gs) != 0 {
			t.Fatalf("%s the member is in %+v (%v), want no group", when, gs, err)
		}
		if ms, err := host.client.Members(ctx, group); err != nil || len(ms) != 1 {
			t.Fatalf("%s the group has members %+v (%v), want the host alone", when, ms, err)
		}
	}
	landsOnJoinForm := func(link string) {
		t.Helper()
		mb.do("clicking the "+link+" link", chromedp.Click("#"+link))
		mb.waitAcrossNavigation("the join form filled in", fmt.Sprintf(`location.origin === %q && (() => { const i = document.querySelector("#join-invite"); return !!i && i.value === %q; })()`, member.base, invite))
		if h := eval[string](mb, `location.hash`); h != "#/join" {
			t.Errorf("after the %s link the address shows %q; the invite should leave the address bar", link, h)
		}
		mb.waitText("#join-from-link", "Nothing has been sent yet")
		if f := eval[string](mb, `document.activeElement.id`); f != "join-pseudonym" {
			t.Errorf("the join form opens with focus on %q, want the name field", f)
		}
		nothingJoined("after the " + link + " link")
	}

	// From another site (evil.test is 127.0.0.1 to this browser): the
	// page's requests to the API are refused, its link opens the form.
	mb.do("opening a page on another site", chromedp.Navigate("http://evil.test:"+port+"/"))
	mb.waitJS("the page's attempts", `!!window.results`)
	var results map[string]string
	if err := json.Unmarshal([]byte(eval[string](mb, `JSON.stringify(window.results)`)), &results); err != nil {
		t.Fatal(err)
	}
	if len(results) != 3 || !strings.HasPrefix(results["read"], "blocked") || !strings.HasPrefix(results["join_json"], "blocked") {
		t.Errorf("the other site's requests to the API: %v", results)
	}
	nothingJoined("after the other site's requests")
	mb.takeConsole() // the refused fetches are reported there
	landsOnJoinForm("web")
	mb.shot(shots, "join-from-link")

	// From another port of 127.0.0.1 (the same site), the hearth: form.
	mb.do("opening a page on another local port", chromedp.Navigate(pages.URL))
	mb.waitJS("the page's attempts", `!!window.results`)
	mb.takeConsole()
	landsOnJoinForm("plain")

	// The join screen offers to open web+hearth: links with this Hearth.
	mb.do("choosing to open hearth links here", chromedp.Click("#register-links"))
	mb.waitText("#link-handler-status", "Done.")
	if got := eval[[]string](mb, `window.registered || []`); len(got) != 2 || got[0] != "web+hearth" || got[1] != member.base+"/#join=%s" {
		t.Errorf("the page registered %q, want web+hearth at %s/#join=%%s", got, member.base)
	}

	// A mistyped invite is refused with a sentence that says what to do.
	i, c := len("hearth:")+10, "a"
	if invite[i] == 'a' {
		c = "b"
	}
	typo := invite[:i] + c + invite[i+1:]
	mb.do("pasting a mistyped invite",
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const i = document.querySelector("#join-invite"); i.value = %q; i.dispatchEvent(new Event("input")); })()`, typo)),
		chromedp.SendKeys("#join-pseudonym", "Sam"),
		chromedp.Click(`main form button[type="submit"]`))
	mb.waitText("main form .error", "This invite looks mistyped; copy it again exactly, or ask for it again.")
	if eval[string](mb, `document.querySelector("#join-invite").getAttribute("aria-invalid")`) != "true" {
		t.Error("the mistyped invite's field is not marked invalid")
	}
	mb.shot(shots, "join-mistyped")
	nothingJoined("after the mistyped invite")
}

// waitAcrossNavigation is waitJS for just after a click that navigates:
// until the new document has loaded, evaluating fails (the old document's
// context is gone), which only means "not yet".
func (b *browser) waitAcrossNavigation(what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: waiting for %s: %v\npage:\n%s", b.name, what, err, b.pageText())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
