// Notifications: the one place the UI tells the member about something that
// happened away from the screen they are on (a meeting about to start, an
// SOS, a new message while the tab is hidden). Every feature calls notify;
// this module decides how, and whether now, following the member's
// well-being settings (quiet hours, digest), which never leave the machine.
//
// During quiet hours nothing is shown: no sound, no system notification,
// no notice on the page. What arrived is held, and when quiet hours end it
// is shown as one summary ("While it was quiet: 3 messages in Tuesday
// group, 1 meeting reminder"). In digest mode everything is held the same
// way and summarised every DIGEST_EVERY_MS, or whenever the member opens
// the summary from the small "held" button. An urgent notification always
// goes through at once. An SOS is shown prominently to everyone (an alert,
// with a sound); whether it also breaks through quiet hours and the digest
// is the member's choice (the SOS alerts setting): without it, an SOS that
// arrives in quiet hours is held and summarised like everything else.
// Held notifications live in this page's memory only.

import { request } from "./api.js";
import { h, announce } from "./dom.js";

/** How often a digest is shown while notifications are held in digest mode. */
const DIGEST_EVERY_MS = 60 * 60 * 1000;
/** How often quiet hours and the digest are checked. */
const CHECK_EVERY_MS = 30 * 1000;

let settings = {};
let held = [];
let wasQuiet = false;
let lastDigest = Date.now();
let timer = null;

/**
 * Reads the well-being settings from this computer's Hearth. Called when
 * the UI starts and again whenever the settings screen saves; a summary
 * due because the change ended quiet hours or digest mode shows at once.
 */
export async function loadWellbeing() {
  try {
    settings = (await request("GET", "/api/v1/private/wellbeing")) || {};
  } catch {
    // Signed out, or an older daemon: notifications then simply show.
    settings = {};
  }
  if (!timer) {
    timer = setInterval(check, CHECK_EVERY_MS);
    window.addEventListener("hashchange", dropSeen);
  }
  check();
}

/** Minutes since midnight of an "HH:MM" string, or -1. */
function minutesOf(s) {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(s || "");
  return m ? Number(m[1]) * 60 + Number(m[2]) : -1;
}

/**
 * Whether now falls in the quiet hours (the page's local time, which is
 * this computer's, as the daemon's is). A range whose end comes before
 * its start crosses midnight; equal or unset ends mean no quiet hours.
 */
export function inQuietHours(now = new Date()) {
  const s = minutesOf(settings.quiet_start);
  const e = minutesOf(settings.quiet_end);
  if (s < 0 || e < 0 || s === e) return false;
  const m = now.getHours() * 60 + now.getMinutes();
  return s < e ? m >= s && m < e : m >= s || m < e;
}

/**
 * Tells the member about something.
 *   kind:   "message" | "meeting" | "sos" | "report" | "mentor" | "reminder" | ...
 *   title:  a short line; body: a sentence or two; href: "#/..." to open.
 *   group:  the group's name, when it happened in one (for the summary).
 *   tag:    notices with the same tag replace each other on the page.
 *   urgent: shown at once, with a sound where the browser allows, even in
 *           quiet hours and digest mode. An "sos" is always shown as
 *           urgent (prominent, an alert, a sound) when it is shown; it
 *           breaks through quiet hours and the digest exactly when the
 *           member opted in to SOS alerts (sos_alerts), whatever the
 *           caller says. For other kinds the caller decides.
 *   detail: an element shown under the body (a member's own words);
 *   actions: buttons shown before Open and Dismiss ("I'm here");
 *   id, className: for the caller to find and style its notice.
 * A notice about the screen the member is already looking at is only
 * said to screen readers: the screen itself shows it.
 */
export function notify({ kind, title, body = "", href = "", group = "", tag = "", urgent = false, detail = null, actions = [], id = "", className = "" }) {
  const isSOS = kind === "sos";
  const breaksThrough = isSOS ? !!settings.sos_alerts : !!urgent;
  const note = { kind, title, body, href, group, tag, urgent: isSOS || !!urgent, at: new Date(), detail, actions, id, className };
  if (!breaksThrough && (inQuietHours() || settings.digest)) {
    held.push(note);
    wasQuiet = wasQuiet || inQuietHours();
    updateHeld();
    return;
  }
  if (!note.urgent && note.href && note.href === location.hash && document.visibilityState === "visible") {
    announce(`${note.title}. ${note.body}`);
    return;
  }
  show(note);
}

/** Shows the summary of what is held now, if anything is. */
export function showHeld() {
  if (held.length === 0) return;
  const notes = held;
  held = [];
  lastDigest = Date.now();
  const lead = wasQuiet ? "While it was quiet" : "Your digest";
  wasQuiet = false;
  updateHeld();
  const line = summaryLine(notes);
  const area = document.getElementById("banners");
  if (!area) return;
  const old = document.getElementById("held-summary");
  if (old) old.remove();
  const list = h(
    "ul",
    { class: "held-list" },
    notes.map((n) => h("li", null, n.href ? h("a", { href: n.href }, n.title) : n.title)),
  );
  const card = h(
    "div",
    { class: "notice summary", id: "held-summary" },
    h("strong", null, `${lead}: ${line}`),
    h("details", null, h("summary", null, "What arrived"), list),
    h("button", { type: "button", class: "secondary small", "aria-label": `Dismiss: ${lead}`, onclick: () => {
      const hadFocus = card.contains(document.activeElement);
      card.remove();
      if (hadFocus) document.getElementById("main").focus({ preventScroll: true });
    } }, "Dismiss"),
  );
  // The banner area is a polite live region: adding the summary is what
  // screen readers hear.
  area.append(card);
}

/** "3 messages in Tuesday group, 1 meeting reminder". */
function summaryLine(notes) {
  const counts = new Map();
  for (const n of notes) {
    const key = `${n.kind}\u0000${n.kind === "message" ? n.group : ""}`;
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  const parts = [];
  for (const [key, count] of counts) {
    const [kind, group] = key.split("\u0000");
    parts.push(describe(kind, group, count));
  }
  return parts.join(", ");
}

const kindNames = {
  message: ["message", "messages"],
  meeting: ["meeting reminder", "meeting reminders"],
  sos: ["SOS", "SOSes"],
  report: ["report", "reports"],
  mentor: ["mentorship note", "mentorship notes"],
  reminder: ["reminder", "reminders"],
};

function describe(kind, group, count) {
  const [one, many] = kindNames[kind] || ["notification", "notifications"];
  const what = `${count} ${count === 1 ? one : many}`;
  return kind === "message" && group ? `${what} in ${group}` : what;
}

/** Shows or updates the small button that opens the held summary. */
function updateHeld() {
  document.documentElement.dataset.held = String(held.length);
  const area = document.getElementById("banners");
  if (!area) return;
  let btn = document.getElementById("held-open");
  // In quiet hours not even the count shows; in digest mode it is a quiet
  // button the member can open whenever they like.
  if (held.length === 0 || inQuietHours()) {
    if (btn) btn.remove();
    return;
  }
  if (!btn) {
    btn = h("button", { type: "button", class: "secondary small held-open", id: "held-open", onclick: showHeld });
    area.append(btn);
  }
  btn.textContent = `Show held notifications (${held.length})`;
}

/** What runs at every check besides the held notifications (everyCheck). */
const checkers = [];

/**
 * Has fn(settings) called at every check: when the UI starts, whenever the
 * well-being settings are read again, and every CHECK_EVERY_MS. A feature
 * with something due at a time of day (the reflection reminders) looks
 * here whether it is due, and calls notify, which applies quiet hours and
 * the digest. fn may be async; its failures are its own.
 */
export function everyCheck(fn) {
  checkers.push(fn);
}

function check() {
  showHeldWhenAllowed();
  for (const fn of checkers) Promise.resolve().then(() => fn(settings)).catch(() => {});
}

/** Shows what quiet hours or the digest held, when they allow. */
function showHeldWhenAllowed() {
  const quiet = inQuietHours();
  if (quiet) {
    wasQuiet = wasQuiet || held.length > 0;
    updateHeld();
    return;
  }
  if (held.length === 0) return;
  if (wasQuiet || !settings.digest || Date.now() - lastDigest >= DIGEST_EVERY_MS) {
    showHeld();
    return;
  }
  updateHeld();
}

/**
 * Takes away the ordinary notices about the screen just opened: the member
 * is looking at what they pointed to. Urgent ones stay until dismissed.
 */
function dropSeen() {
  for (const n of document.querySelectorAll("#banners > .notice[data-href]:not(.urgent)")) {
    if (n.dataset.href === location.hash && !n.contains(document.activeElement)) n.remove();
  }
}

/** How many ordinary notices stay on the page; older ones make way. */
const MAX_NOTICES = 3;

// show puts a notice on the page. The banner area is a polite live region
// (index.html), so adding the notice is what screen readers hear, once; an
// urgent notice is an alert as well. Open and Dismiss carry the notice's
// title in their names, since several notices may be on the page.
function show(note) {
  const area = document.getElementById("banners");
  if (!area) return;
  const dismiss = () => {
    const hadFocus = card.contains(document.activeElement);
    card.remove();
    // Focus does not fall to the top of the page with the notice.
    if (hadFocus) document.getElementById("main").focus({ preventScroll: true });
  };
  const card = h(
    "div",
    {
      class: `notice${note.urgent ? " urgent" : ""}${note.className ? " " + note.className : ""}`,
      role: note.urgent ? "alert" : null,
      id: note.id || null,
      "data-kind": note.kind,
      "data-tag": note.tag || null,
      "data-href": note.href || null,
    },
    h("strong", null, note.title),
    note.body ? h("p", null, note.body) : null,
    note.detail,
    h(
      "div",
      { class: "notice-actions" },
      note.actions,
      note.href ? h("a", { href: note.href, "aria-label": `Open: ${note.title}`, onclick: () => card.remove() }, "Open") : null,
      h("button", { type: "button", class: "secondary small", "aria-label": `Dismiss: ${note.title}`, onclick: dismiss }, "Dismiss"),
    ),
  );
  // A newer notice of the same thing (more messages in one group)
  // replaces the older one rather than stacking up.
  if (note.tag) {
    for (const old of area.querySelectorAll(".notice[data-tag]")) if (old.dataset.tag === note.tag) old.remove();
  }
  // An SOS never makes way, whatever came after it.
  const ordinary = [...area.querySelectorAll(":scope > .notice:not(.urgent):not(.summary):not(.sos-banner)")];
  if (!note.urgent) for (const old of ordinary.slice(0, Math.max(0, ordinary.length - MAX_NOTICES + 1))) if (!old.contains(document.activeElement)) old.remove();
  area.append(card);
  if (note.urgent) chime();
  if (document.visibilityState !== "visible" && "Notification" in window && Notification.permission === "granted") {
    try {
      const sys = systemNotice(note.kind);
      new Notification(sys.title, { body: sys.body, tag: note.kind, requireInteraction: note.urgent });
    } catch {
      // Some browsers allow notifications only from a service worker; the
      // in-page notice above is enough.
    }
  }
}

/**
 * What a system notification says. Unlike the notice on the page, it may
 * show on a locked screen, to anyone near the device, so it names no one,
 * no group and no text: a pseudonym, a group's name ("AA Tuesday") or an
 * answer's words there would tell a passer-by that the member is in
 * recovery, and with whom. The member opens Hearth to see who and what.
 */
export function systemNotice(kind) {
  const lines = {
    sos: "Someone in one of your groups asked for help.",
    sos_reply: "Someone answered your call for help.",
    meeting: "A meeting starts soon.",
    message: "You have new messages.",
    report: "There is something for moderators to look at.",
    mentor: "You have a new mentorship note.",
    reminder: "A reminder you set is due.",
  };
  return { title: "Hearth", body: lines[kind] || "Something new is waiting for you." };
}

/** A short, soft two-note chime, where the browser lets a page play one. */
function chime() {
  try {
    const ctx = new AudioContext();
    const gain = ctx.createGain();
    gain.gain.value = 0.08;
    gain.connect(ctx.destination);
    [660, 880].forEach((f, i) => {
      const o = ctx.createOscillator();
      o.frequency.value = f;
      o.connect(gain);
      o.start(ctx.currentTime + i * 0.18);
      o.stop(ctx.currentTime + i * 0.18 + 0.15);
    });
    setTimeout(() => ctx.close(), 1000);
  } catch {
    // No audio (autoplay policy, no device): the notice is enough.
  }
}
