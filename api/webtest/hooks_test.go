package webtest

import (
	"context"
	"fmt"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/hearthnet/hearth/node"
)

// onEveryPage has the browser run script at the start of every document it
// opens from now on, before the page's own scripts: a test's stand-in for
// something the page would otherwise take from the browser.
func (b *browser) onEveryPage(script string) {
	b.t.Helper()
	b.do("adding a script to every page", func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script})
		return chromedp.Void{}, err
	})
}

// eventTap wraps the page's EventSource so a test can stand between the
// daemon's event stream and the UI: window.eventTap.drop holds the event
// types to swallow (each swallowed one is counted in dropped), and
// window.eventTap.sources the streams opened, on which a test can
// dispatch an event the daemon would send.
const eventTap = `(() => {
	if (window.eventTap) return;
	const Real = window.EventSource;
	const tap = { sources: [], drop: new Set(), dropped: 0 };
	window.eventTap = tap;
	window.EventSource = class extends Real {
		constructor(...args) {
			super(...args);
			tap.sources.push(this);
		}
		addEventListener(type, fn, opts) {
			return super.addEventListener(type, (ev) => {
				if (tap.drop.has(type)) {
					tap.dropped++;
					return;
				}
				fn(ev);
			}, opts);
		}
	};
})()`

// settle sets the member's well-being on their daemon and has the page
// read it again, as the Well-being screen does when it saves.
func (b *browser) settle(d *daemon, w node.Wellbeing) {
	b.t.Helper()
	if err := d.client.SetWellbeing(b.t.Context(), w); err != nil {
		b.t.Fatal(err)
	}
	eval[bool](b, `(window.settled = false, import("/js/notify.js").then((m) => m.loadWellbeing()).then(() => { window.settled = true; }), true)`)
	b.waitJS("the settings read", `window.settled`)
}

// fakeClock is a script that replaces the page's Date with one that runs
// window.clockOffset milliseconds from the real clock, starting at hh:mm:ss
// today in the page's own time zone; setClock moves it later. Timers still
// run on the real clock.
func fakeClock(hh, mm, ss int) string {
	return fmt.Sprintf(`(() => {
	if (window.clockOffset !== undefined) return;
	const Real = Date;
	const start = new Real();
	start.setHours(%d, %d, %d, 0);
	window.clockOffset = start.getTime() - Real.now();
	window.Date = class extends Real {
		constructor(...args) {
			if (args.length === 0) super(Real.now() + window.clockOffset);
			else super(...args);
		}
		static now() { return Real.now() + window.clockOffset; }
	};
})()`, hh, mm, ss)
}

// setClock moves the page's clock (fakeClock) to hh:mm:ss, days after the
// real today, in the page's own time zone.
func (b *browser) setClock(days, hh, mm, ss int) {
	b.t.Helper()
	eval[bool](b, fmt.Sprintf(`(() => {
		const real = Date.now() - window.clockOffset;
		const want = new Date(real);
		want.setDate(want.getDate() + %d);
		want.setHours(%d, %d, %d, 0);
		window.clockOffset = want.getTime() - real;
		return true;
	})()`, days, hh, mm, ss))
}
