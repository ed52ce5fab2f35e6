package webtest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hearthnet/hearth/api/client"
)

// TestHostingUI: a host's invites and members screens, with a second real
// member. Open invites are named by when they stop working and can be
// revoked; a revoked, a used-up and an expired invite move to the folded
// past invites, with no Revoke button. The host promotes a member to
// moderator and host and back, each behind a confirmation that says what
// changes; a moderator sees no role buttons (only hosts may change roles).
func TestHostingUI(t *testing.T) {
	ds, bs := browserTest(t, []string{"host", "member"}, "browser")
	host, member := ds[0], ds[1]
	b := bs[0]
	shots := screenshotDir(t)
	ctx := t.Context()
	group, err := host.client.CreateGroup(ctx, "Hosting circle", "River", "")
	if err != nil {
		t.Fatal(err)
	}
	used, err := host.client.CreateInvite(ctx, group, client.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := member.client.Join(ctx, used.Invite, "Sam"); err != nil || res.Status != client.JoinJoined {
		t.Fatalf("joining: %+v, %v", res, err)
	}
	hourly, err := host.client.CreateInvite(ctx, group, client.InviteOptions{Expires: "1h", Uses: 3})
	if err != nil {
		t.Fatal(err)
	}

	// The page's clock can be moved on (fakeClock starts at the real now).
	now := time.Now()
	b.onEveryPage(fakeClock(now.Hour(), now.Minute(), now.Second()))
	b.do("signing in", chromedp.Navigate(host.loginURL))
	b.waitText("main h1", "Your groups")
	b.do("opening the invites", chromedp.Navigate(host.base+"/#/g/"+group+"/invites"))
	b.waitText("#open-invites", "3 uses left")
	b.waitText("#past-invites summary", "Past invites (1)")
	if got := eval[string](b, `document.querySelector("#past-invites").textContent`); !strings.Contains(got, "Used up") {
		t.Errorf("the invite Sam used shows as %q, want Used up", got)
	}
	if eval[bool](b, `document.querySelector("#open-invites").textContent.includes("Invite ")`) {
		t.Error("open invites are still named by their ID")
	}

	// A new invite from the form; then it is revoked.
	b.do("creating an invite", chromedp.Click(`main form button[type="submit"]`))
	b.waitJS("two open invites", `document.querySelectorAll("#open-invites > li").length === 2`)
	b.waitText("#open-invites", "Works until tomorrow at")
	b.fullShot(shots, "invites")
	// The new one is told apart by its one use: by its day it cannot be
	// in the hour before midnight, when the hour-long one ends tomorrow too.
	made := eval[string](b, `[...document.querySelectorAll("#open-invites > li")].find((li) => li.textContent.includes("1 use left")).querySelector("button").getAttribute("aria-label")`)
	b.do("asking to revoke", chromedp.Click(fmt.Sprintf(`#open-invites button[aria-label=%q]`, made)))
	b.waitJS("the confirmation", `document.querySelector("#confirm").open`)
	b.waitText("#confirm-body", "Nobody will be able to join with the invite that works until tomorrow at")
	b.do("confirming", chromedp.Click("#confirm-ok"))
	b.waitText("#past-invites summary", "Past invites (2)")
	b.waitJS("one open invite", `document.querySelectorAll("#open-invites > li").length === 1`)
	if got := eval[string](b, `document.querySelector("#past-invites").textContent`); !strings.Contains(got, "Revoked") {
		t.Errorf("past invites after revoking: %q", got)
	}
	invs, err := host.client.Invites(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	revoked := 0
	for _, i := range invs {
		if i.Revoked {
			revoked++
			if i.ID == hourly.ID || i.ID == used.ID {
				t.Errorf("revoking the new invite revoked %s", i.ID)
			}
		}
	}
	if revoked != 1 || len(invs) != 3 {
		t.Errorf("after revoking, the node has %+v; want three invites, one revoked", invs)
	}

	// Two hours on, the hour-long invite has expired: it is past too, and
	// no Revoke button is left.
	eval[bool](b, `(window.clockOffset += 2 * 3600 * 1000, true)`)
	b.do("leaving the invites", chromedp.Click(fmt.Sprintf(`nav.tabs a[href="#/g/%s/members"]`, group)))
	b.waitText(".rows", "Sam")
	b.do("coming back", chromedp.Click(fmt.Sprintf(`nav.tabs a[href="#/g/%s/invites"]`, group)))
	b.waitText("#no-open-invites", "No invites are open")
	b.waitText("#past-invites summary", "Past invites (3)")
	b.do("unfolding the past invites", chromedp.Click("#past-invites summary"))
	if got := eval[string](b, `document.querySelector("#past-invites").textContent`); !strings.Contains(got, "Expired today at") && !strings.Contains(got, "Expired yesterday at") {
		t.Errorf("past invites two hours on: %q", got)
	}
	if n := eval[int](b, `document.querySelectorAll("main button[aria-label^='Revoke']").length`); n != 0 {
		t.Errorf("%d Revoke buttons with no invite open", n)
	}
	b.fullShot(shots, "invites-past")

	// Promoting: member to moderator, moderator to host, host back to
	// moderator, each confirmed with what changes.
	sam := memberNamed(t, host.client, group, "Sam")
	// confirmRole answers the open confirmation of a role change with OK.
	confirmRole := func(says, role string) {
		t.Helper()
		b.waitJS("the confirmation", `document.querySelector("#confirm").open`)
		b.waitText("#confirm-body", says)
		b.do("confirming", chromedp.Click("#confirm-ok"))
		b.waitJS("Sam's new role", fmt.Sprintf(`[...document.querySelectorAll(".rows li")].some((li) => li.textContent.includes("Sam") && li.querySelector(".what").textContent === %q)`, role))
		if got := roleOf(t, host.client, group, sam); got != role {
			t.Errorf("after confirming %q the node says Sam is %s", says, got)
		}
	}
	promote := func(label, says, role string) {
		t.Helper()
		b.do("asking: "+label, chromedp.Click(fmt.Sprintf(`button[aria-label=%q]`, label+": Sam")))
		confirmRole(says, role)
	}
	// Sam's node announced itself in the group and is connected: the
	// members list says Sam is online now, and never says it of River.
	for deadline := time.Now().Add(stepTimeout); ; time.Sleep(100 * time.Millisecond) {
		ms, err := host.client.Members(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(ms, func(m client.Member) bool { return m.Pseudonym == "Sam" && m.Online }) {
			if slices.ContainsFunc(ms, func(m client.Member) bool { return m.Pseudonym == "River" && m.Online }) {
				t.Errorf("the members list says the host is online to itself: %+v", ms)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Sam is never online in the host's members list: %+v", ms)
		}
	}
	b.do("opening the members", chromedp.Click(fmt.Sprintf(`nav.tabs a[href="#/g/%s/members"]`, group)))
	b.waitText(".rows", "Sam")
	b.waitJS("Sam shown online", `[...document.querySelectorAll(".rows li")].some((li) => li.textContent.includes("Sam") && !!li.querySelector(".badge.online"))`)
	if eval[bool](b, `[...document.querySelectorAll(".rows li")].some((li) => li.textContent.includes("(you)") && !!li.querySelector(".badge.online"))`) {
		t.Error("the host is shown online to themselves")
	}
	b.waitText("#online-hint", "as far as this computer knows")
	b.do("opening Sam's confirmation", chromedp.Click(`button[aria-label="Make moderator: Sam"]`))
	b.waitJS("the confirmation", `document.querySelector("#confirm").open`)
	b.shot(shots, "promote-confirm")
	// Cancel, and in the same moment ask again: the dialog's close event
	// for the Cancel comes after the new confirmation opened, and must not
	// answer it (it did: OK then did nothing).
	b.do("cancelling and asking again at once", chromedp.Evaluate[chromedp.Void](`document.querySelector("#confirm-cancel").click();
		document.querySelector('button[aria-label="Make moderator: Sam"]').click()`))
	if got := roleOf(t, host.client, group, sam); got != "member" {
		t.Fatalf("cancelling made Sam %s", got)
	}
	confirmRole("Sam will be able to create invites, let people in from the waiting room and remove members.", "moderator")
	promote("Make host", "Sam will be able to do everything you can in this group", "host")
	promote("Make moderator", "Sam will no longer be a host: they will still be able to create invites, let people in and remove members, but no longer change anyone's role.", "moderator")
	b.shot(shots, "members-host")

	// Sam, a moderator, may remove but not change roles: no role buttons.
	// Sam's node applies the last change a moment after the host's.
	for deadline := time.Now().Add(stepTimeout); roleOf(t, member.client, group, sam) != "moderator"; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Sam's node never learns Sam is a moderator again (it says %s)", roleOf(t, member.client, group, sam))
		}
	}
	b.do("signing in as Sam", chromedp.Navigate(member.loginURL))
	b.waitText("main h1", "Your groups")
	b.do("opening Sam's members list", chromedp.Navigate(member.base+"/#/g/"+group+"/members"))
	b.waitText(".rows", "River")
	if n := eval[int](b, `document.querySelectorAll("main button[aria-label^='Make ']").length`); n != 0 {
		t.Errorf("a moderator is offered %d role buttons", n)
	}
	b.waitText("#roles-hint", "Only a host can change someone's role")
	if !eval[bool](b, `!!document.querySelector("button[aria-label='Remove River']")`) {
		t.Error("a moderator is not offered Remove")
	}
	b.shot(shots, "members-moderator")
}

// roleOf returns the role the node gives member in group.
func roleOf(t *testing.T, c *client.Client, group, member string) string {
	t.Helper()
	ms, err := c.Members(t.Context(), group)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Member == member {
			return m.Role
		}
	}
	t.Fatalf("no member %s in %+v", member, ms)
	return ""
}
