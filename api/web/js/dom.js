// Small DOM helpers. Text from the network (messages, pseudonyms, group
// names) only ever reaches the page as text nodes or attribute values set
// through the DOM, never as HTML, so a member cannot inject markup or
// script into another member's page.

/**
 * h("p", {class: "x", onclick: fn}, "text", child) builds an element.
 * Attributes starting with "on" become event listeners; boolean true sets
 * an empty attribute, false/null/undefined leaves it out.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === false || v === null || v === undefined) continue;
      if (k.startsWith("on") && typeof v === "function") {
        el.addEventListener(k.slice(2), v);
      } else if (k === "class") {
        el.className = v;
      } else if (k === "value" && (tag === "input" || tag === "textarea" || tag === "select")) {
        el.value = v;
      } else if (v === true) {
        el.setAttribute(k, "");
      } else {
        el.setAttribute(k, String(v));
      }
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) {
      append(el, c);
    } else if (c instanceof Node) {
      el.appendChild(c);
    } else {
      el.appendChild(document.createTextNode(String(c)));
    }
  }
}

/** Replaces the children of el. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** Says text to screen readers through the polite live region. */
export function announce(text) {
  const region = document.getElementById("announce");
  region.textContent = "";
  // A separate task, so that repeating the same words is announced again.
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

/** An error paragraph for a form, empty until set with showError. */
export function errorSlot() {
  return h("p", { class: "error", role: "alert", hidden: true });
}

/** Shows err's message (or clears the slot when err is null). */
export function showError(slot, err) {
  if (!err) {
    slot.hidden = true;
    slot.textContent = "";
    return;
  }
  slot.textContent = err.message || String(err);
  slot.hidden = false;
}

/**
 * Asks the person to confirm an action in a modal dialog; resolves true
 * when they confirm. The dialog traps focus and closes on Escape (the
 * browser's <dialog> does both), and Cancel has focus first, so a stray
 * Enter never confirms a removal. quote, when given, is shown as it is
 * (line breaks kept) under the body: the exact words about to be sent.
 */
export function confirmAction({ title, body, confirm, danger = true, quote = "" }) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-body").textContent = body;
  const q = document.getElementById("confirm-quote");
  q.textContent = quote;
  q.hidden = quote === "";
  const ok = document.getElementById("confirm-ok");
  ok.textContent = confirm;
  ok.className = danger ? "danger" : "";
  const opener = document.activeElement;
  wireConfirm(dialog);
  // One still open (a second click elsewhere) is answered no.
  if (settleConfirm) settleConfirm(false);
  return new Promise((resolve) => {
    settleConfirm = (yes) => {
      settleConfirm = null;
      // Focus goes back to what opened the dialog once it has closed
      // (while it is open, the rest of the page is inert).
      const restore = () => {
        if (opener && opener.isConnected) opener.focus();
      };
      if (dialog.open) dialog.addEventListener("close", restore, { once: true });
      else restore();
      resolve(yes);
    };
    if (!dialog.open) dialog.showModal();
    document.getElementById("confirm-cancel").focus();
  });
}

// settleConfirm answers the confirmation open now; null when none is.
let settleConfirm = null;

/**
 * Wires the confirmation dialog once. The answer is taken as the dialog
 * closes: from the button that submitted its form, or no when Escape
 * cancelled it. Never from its close event: that comes later, as a task
 * of its own, by when the next confirmation may have opened (a quick
 * Cancel and a click on another action), and it would answer that one
 * instead, leaving the open dialog's buttons doing nothing.
 */
function wireConfirm(dialog) {
  if (dialog.dataset.wired) return;
  dialog.dataset.wired = "true";
  const answer = (yes) => {
    if (settleConfirm) settleConfirm(yes);
  };
  dialog.querySelector("form").addEventListener("submit", (ev) => answer(!!ev.submitter && ev.submitter.value === "ok"));
  dialog.addEventListener("cancel", () => answer(false));
  // Closed some other way: no, unless it is open again already (the
  // late close event of an earlier confirmation).
  dialog.addEventListener("close", () => {
    if (!dialog.open) answer(false);
  });
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

/** A <time> element for an RFC 3339 string: the time today, else day and time. */
export function timeEl(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h("time", null, "");
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  const text = sameDay ? timeFmt.format(d) : `${dayFmt.format(d)}, ${timeFmt.format(d)}`;
  return h("time", { datetime: iso, title: fullFmt.format(d) }, text);
}

/** A plain-language description of how far off an RFC 3339 time is. */
export function relative(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const mins = Math.round((d.getTime() - Date.now()) / 60000);
  const abs = Math.abs(mins);
  let text;
  if (abs < 1) return "just now";
  if (abs < 60) text = `${abs} minute${abs === 1 ? "" : "s"}`;
  else if (abs < 48 * 60) text = `${Math.round(abs / 60)} hours`;
  else text = `${Math.round(abs / 1440)} days`;
  return mins >= 0 ? `in ${text}` : `${text} ago`;
}
