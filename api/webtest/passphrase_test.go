package webtest

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hearthnet/hearth/crypto"
)

// TestChangePassphraseUI: the Well-being screen's passphrase form refuses
// a short or mistyped new passphrase in the page, shows the daemon's
// answer to a wrong current one, and with the right one re-seals the
// keystore: from then on only the new passphrase opens the home on disk,
// the node keeps running, and no field keeps a passphrase.
func TestChangePassphraseUI(t *testing.T) {
	ds, bs := browserTest(t, []string{"keys"}, "browser")
	d := ds[0]
	b := bs[0]
	shots := screenshotDir(t)
	const old, next = "a passphrase for keys", "lanterns over the quiet harbour"
	keystore := filepath.Join(d.home, "keystore")
	opens := func(pass string) bool {
		ks, err := crypto.OpenKeystore(keystore, []byte(pass))
		if errors.Is(err, crypto.ErrBadPassphrase) {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		ks.Close()
		return true
	}

	b.do("signing in", chromedp.Navigate(d.loginURL))
	b.waitText("main h1", "Your groups")
	b.do("opening the well-being settings", chromedp.Navigate(d.base+"/#/me/settings"))
	b.waitText("main h1", "Well-being")
	b.checkLabels("well-being")
	fill := func(what, current, nw, again string) {
		b.do(what, chromedp.Evaluate[chromedp.Void](`for (const id of ["pp-current", "pp-new", "pp-again"]) document.getElementById(id).value = ""`),
			chromedp.SendKeys("#pp-current", current), chromedp.SendKeys("#pp-new", nw), chromedp.SendKeys("#pp-again", again),
			chromedp.Click(`#pp-form button[type="submit"]`))
	}

	fill("a short new passphrase", old, "too short", "too short")
	b.waitText("#pp-form .error", "too short: use at least 10 characters")
	fill("two different new passphrases", old, next, next+"!")
	b.waitText("#pp-form .error", "The two new passphrases differ")
	fill("a wrong current passphrase", "not my passphrase", next, next)
	b.waitText("#pp-form .error", "does not open")
	if !opens(old) || opens(next) {
		t.Fatal("a refused change changed the keystore")
	}
	b.do("bringing the form into view", chromedp.Evaluate[chromedp.Void](`document.querySelector("#pp-form").scrollIntoView({block: "center"})`))
	b.shot(shots, "passphrase-wrong")

	fill("the right current passphrase", old, next, next)
	b.waitText("#pp-done", "Changed. From now on the new passphrase opens Hearth")
	if left := eval[string](b, `["pp-current", "pp-new", "pp-again"].map((id) => document.getElementById(id).value).join("")`); left != "" {
		t.Errorf("the form still holds %d characters of passphrase", len(left))
	}
	if opens(old) || !opens(next) {
		t.Fatal("after the change the keystore does not open with the new passphrase alone")
	}
	b.shot(shots, "passphrase-changed")
	if _, err := d.client.CreateGroup(t.Context(), "Circle", "ann", ""); err != nil {
		t.Fatalf("the node after the change: %v", err)
	}
	if log := d.stderr.String(); strings.Contains(log, old) || strings.Contains(log, next) {
		t.Fatal("a passphrase is in the daemon's log")
	}
}
