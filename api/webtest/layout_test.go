package webtest

import (
	"fmt"

	"github.com/chromedp/chromedp"
)

// asPhone makes the tab a 360x740 phone with a touch screen (its main
// pointer is coarse), as shot does for its phone screenshots; asDesktop
// makes it the 1280x800 desktop the tests start with.
func (b *browser) asPhone() {
	b.t.Helper()
	b.do("becoming a phone", chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(1), chromedp.EmulateMobile, chromedp.EmulateTouch))
}

func (b *browser) asDesktop() {
	b.t.Helper()
	b.do("becoming a desktop", chromedp.EmulateViewport(1280, 800, chromedp.EmulateScale(1)))
}

// rect is an element's box on screen, in CSS pixels.
type rect struct {
	Top, Bottom, Left, Right, Height float64
	Found                            bool
}

// rectOf returns the box of the first element sel matches.
func rectOf(b *browser, sel string) rect {
	b.t.Helper()
	return eval[rect](b, fmt.Sprintf(`(() => {
		const e = document.querySelector(%q);
		if (!e) return {Found: false};
		const r = e.getBoundingClientRect();
		return {Top: r.top, Bottom: r.bottom, Left: r.left, Right: r.right, Height: r.height, Found: r.width > 0 && r.height > 0};
	})()`, sel))
}
