// Notifications: the one place the UI tells the member about something that
// happened away from the screen they are on (a meeting about to start, an
// SOS, a new message while the tab is hidden). Every feature calls notify;
// this module decides how, and whether now, following the member's
// well-being settings (quiet hours, digest), which never leave the machine.

import { h, announce } from "./dom.js";

/**
 * Tells the member about something.
 *   kind:   "message" | "meeting" | "sos" | "report" | "mentor" | ...
 *   title:  a short line; body: a sentence or two; href: "#/..." to open.
 *   urgent: an SOS for a member who opted in to SOS alerts: shown at once,
 *           with a sound where the browser allows, even in quiet hours.
 */
export function notify({ kind, title, body = "", href = "", urgent = false }) {
  const note = { kind, title, body, href, urgent, at: new Date() };
  show(note);
}

function show(note) {
  const area = document.getElementById("banners");
  if (!area) return;
  const card = h(
    "div",
    { class: `notice${note.urgent ? " urgent" : ""}`, role: note.urgent ? "alert" : "status", "data-kind": note.kind },
    h("strong", null, note.title),
    note.body ? h("p", null, note.body) : null,
    note.href ? h("a", { href: note.href }, "Open") : null,
    h("button", { type: "button", class: "secondary small", onclick: () => card.remove() }, "Dismiss"),
  );
  area.append(card);
  announce(`${note.title}. ${note.body}`);
  if (document.visibilityState !== "visible" && "Notification" in window && Notification.permission === "granted") {
    try {
      new Notification(note.title, { body: note.body, tag: note.kind, requireInteraction: note.urgent });
    } catch {
      // Some browsers allow notifications only from a service worker; the
      // in-page notice above is enough.
    }
  }
}
