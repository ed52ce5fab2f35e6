// "I need help now": sending an SOS, the crisis resources shown with it,
// answering ("I'm here"), and the live list of who is responding.
//
// The crisis resources are shown the moment the screen opens, before
// anything is sent, with the plain statement that fellow members are peers,
// not a crisis service. They come from this computer's Hearth (the list it
// ships with, or the member's config.toml); links are ordinary links the
// member chooses to open: nothing is fetched from them by this page.

import { request } from "./api.js";
import { h, replace, announce, errorSlot, showError, timeEl } from "./dom.js";
import { state, loadGroups, loadDetail } from "./state.js";
import { notify, loadWellbeing } from "./notify.js";

const enc = encodeURIComponent;

export const sosApi = {
  crisis: (region) => request("GET", `/api/v1/crisis-resources${region ? `?region=${enc(region)}` : ""}`),
  send: (body) => request("POST", "/api/v1/sos", body),
  all: () => request("GET", "/api/v1/sos"),
  answer: (g, id, text) => request("POST", `/api/v1/groups/${enc(g)}/sos/${enc(id)}/answer`, { text }),
  mentorships: () => request("GET", "/api/v1/mentorships"),
  wellbeing: () => request("GET", "/api/v1/private/wellbeing"),
  setWellbeing: (w) => request("PUT", "/api/v1/private/wellbeing", w),
};

function page(...children) {
  return h("div", { class: "page" }, ...children);
}

function setTitle(t) {
  document.title = `${t} · Hearth`;
}

/** The IDs of this member's own SOSes seen in this page's life. */
const mine = new Set();
/** The IDs of fellow members' SOSes this page has told the member of. */
const told = new Set();
/** The answers to the member's own SOSes this page has had (answerKey). */
const toldAnswers = new Set();
/** One answer: an answer given again later (with new words) is another. */
const answerKey = (r) => `${r.sos} ${r.author} ${r.received}`;
/** When this page started: what arrived before it is in the SOS list only. */
const pageStarted = Date.now();
let catchUps = 0;

/**
 * The "I need help now" button shown on every group's screens, with a
 * small link to recent SOSes and the SOS-alerts setting (left out where
 * that page is the one shown).
 */
export function sosButton(g, withLink = true) {
  return h(
    "span",
    { class: "sos-actions" },
    h("a", { class: "button sos-button", href: g ? `#/sos/new/${g}` : "#/sos/new", id: "sos-open" }, "I need help now"),
    withLink ? h("a", { class: "small", href: "#/sos" }, "SOS alerts and recent SOSes") : null,
  );
}

function groupLabel(g) {
  const d = state.details.get(g) || state.groups.get(g);
  return d ? d.name : "a group";
}

/** The name of a region code ("US" → "United States"), or the code. */
function regionName(code) {
  if (code === "INTL") return "Anywhere (international lines)";
  try {
    return new Intl.DisplayNames(undefined, { type: "region" }).of(code) || code;
  } catch {
    return code;
  }
}

/** A web address without its scheme, as people say it. */
function siteName(url) {
  try {
    const u = new URL(url);
    return u.host + (u.pathname === "/" ? "" : u.pathname);
  } catch {
    return url;
  }
}

/**
 * The crisis resources, with the notice first: each line's number is a
 * large call (and text) button, so it is found and tapped at once; the
 * region picker comes after the lines, for someone elsewhere.
 */
function crisisCard(c, picker) {
  const digits = (n) => n.replace(/\s+/g, "");
  const items = (c.resources || []).map((r) => {
    const how = [];
    if (r.phone) how.push(h("a", { class: "button call", href: `tel:${digits(r.phone)}`, "aria-label": `Call ${r.name}: ${r.phone}` }, `Call ${r.phone}`));
    if (r.sms) how.push(h("a", { class: "button secondary call", href: `sms:${digits(r.sms)}`, "aria-label": `Text ${r.name}: ${r.sms}` }, `Text ${r.sms}`));
    return h(
      "li",
      null,
      h("strong", null, r.name),
      how.length ? h("div", { class: "crisis-how" }, how) : null,
      r.note ? h("p", { class: "muted small" }, r.note) : null,
      r.url ? h("p", null, h("a", { href: r.url, rel: "noopener noreferrer", target: "_blank" }, siteName(r.url), h("span", { class: "sr-only" }, " (website, opens in a new tab)"))) : null,
    );
  });
  return h(
    "section",
    { class: "card crisis", "aria-labelledby": "crisis-h", id: "crisis" },
    h("h2", { id: "crisis-h" }, "If you are in danger, call now"),
    h("p", { class: "crisis-notice", id: "crisis-notice" }, c.notice),
    h("ul", { class: "crisis-list" }, items),
    picker,
  );
}

/** The region picker: the configured default, or any region with lines. */
function regionPicker(c, onchange) {
  const sel = h(
    "select",
    { id: "crisis-region", class: "inline", onchange: () => onchange(sel.value) },
    h("option", { value: "INTL" }, regionName("INTL")),
    (c.regions || []).filter((r) => r !== "INTL").map((r) => h("option", { value: r }, regionName(r))),
  );
  sel.value = c.region || "INTL";
  return h("div", { class: "field crisis-region" }, h("label", { for: "crisis-region" }, "Lines for your country or region"), sel);
}

/** The SOS screen: resources at once, then whom to ask, then who answers. */
export async function sendView(main, [g], ctx) {
  setTitle("I need help now");
  let crisis = await sosApi.crisis("");
  if (!ctx.isCurrent()) return;
  let chosenRegion = crisis.region || "";
  // The picker is made once and moved into each new card, so it keeps
  // keyboard focus while the lines under it change.
  const region = regionPicker(crisis, async (r) => {
    chosenRegion = r;
    try {
      crisis = await sosApi.crisis(r);
      replace(crisisBox, crisisCard(crisis, region));
      announce(`Lines for ${regionName(r)} are shown.`);
    } catch {
      // The resources already shown stay.
    }
  });
  const crisisBox = h("div", null, crisisCard(crisis, region));
  const [groups, mentorships] = await Promise.all([loadGroups(), sosApi.mentorships().catch(() => [])]);
  if (!ctx.isCurrent()) return;
  const mentors = mentorships.filter((m) => m.state === "active" && m.role === "mentee");
  const pairs = new Set(mentorships.map((m) => m.pair));
  const usable = groups.filter((gr) => !gr.removed && !pairs.has(gr.group));
  const err = errorSlot();
  const boxes = usable.map((gr) =>
    h("input", { type: "checkbox", id: `sos-g-${gr.group}`, value: gr.group, checked: gr.group === g || (!g && usable.length === 1) }),
  );
  const mentorBox = h("input", { type: "checkbox", id: "sos-mentor", disabled: mentors.length === 0, checked: mentors.length > 0 && !g });
  const text = h("textarea", { id: "sos-text", rows: "3", maxlength: "1024" });
  const result = h("div", { id: "sos-result" });
  let send;
  const form = h(
    "form",
    {
      class: "card",
      "aria-labelledby": "sos-send-h",
      onsubmit: async (ev) => {
        ev.preventDefault();
        showError(err, null);
        const body = {
          groups: boxes.filter((b) => b.checked).map((b) => b.value),
          mentors: mentorBox.checked,
          text: text.value,
          region: chosenRegion,
        };
        if (!body.groups.length && !body.mentors) {
          showError(err, new Error("Choose at least one group, or your mentor."));
          return;
        }
        send.disabled = true;
        try {
          const out = await sosApi.send(body);
          replace(crisisBox, crisisCard(out.crisis, region));
          showSent(result, out.sent);
          form.hidden = out.sent.some((s) => s.sos);
          // Focus goes to what was sent (the button pressed is gone), at
          // the top, with the crisis lines right under it.
          document.getElementById("sos-sent-h").focus();
          announce("Your SOS was sent. The crisis lines are just below.");
        } catch (e) {
          showError(err, e);
        } finally {
          send.disabled = false;
        }
      },
    },
    h("h2", { id: "sos-send-h" }, "Ask your people for help"),
    h("p", null, "Members of the groups you choose see your SOS at once and can answer “I’m here”. They are people in recovery like you."),
    h(
      "fieldset",
      { class: "taps" },
      h("legend", null, "Send it to"),
      usable.map((gr, i) => h("div", { class: "field check" }, boxes[i], h("label", { for: boxes[i].id }, gr.name))),
      h(
        "div",
        { class: "field check" },
        mentorBox,
        h(
          "label",
          { for: "sos-mentor" },
          mentors.length ? `My mentor (${mentors.map((m) => m.peer_pseudonym).join(", ")})` : "My mentor",
          mentors.length ? null : h("span", { class: "hint" }, "You have no mentor yet; you can ask someone from a group's Mentors tab."),
        ),
      ),
    ),
    h("div", { class: "field" }, h("label", { for: "sos-text" }, "What is happening?", h("span", { class: "hint" }, "Optional: a few words, or nothing at all.")), text),
    err,
    h("div", { class: "actions" }, (send = h("button", { type: "submit", class: "danger", id: "sos-send" }, "Send SOS"))),
  );
  replace(
    main,
    page(
      h("h1", null, "I need help now"),
      result,
      crisisBox,
      form,
      h("p", { class: "small" }, h("a", { href: "#/sos" }, "Recent SOSes and who answered")),
    ),
  );
  ctx.onEvent((type, data) => {
    if (type === "sos_reply" && data.sos_reply) addResponder(data.sos_reply);
  });
}

/** Shows where the SOS went, and an empty list of who is responding. */
function showSent(box, sent) {
  const ok = sent.filter((s) => s.sos);
  const failed = sent.filter((s) => !s.sos);
  replace(
    box,
    h(
      "div",
      { class: "card", id: "sos-sent" },
      h("h2", { id: "sos-sent-h", tabindex: "-1" }, ok.length ? "Your SOS was sent" : "Your SOS was not sent"),
      ok.map((s) => h("p", { class: "success" }, `It went to ${groupLabel(s.group)}: its members see it now.`)),
      failed.map((s) => h("p", { class: "error" }, `It did not go to ${groupLabel(s.group)}: ${s.error ? s.error.message : ""}`)),
      h("h3", { id: "responders-h" }, "Who is responding"),
      h("ul", { class: "rows", id: "responders", "aria-labelledby": "responders-h", "data-sos": ok.map((s) => s.sos.id).join(" ") }, h("li", { class: "muted", id: "no-responders" }, "No one yet. The crisis lines below are there for you now.")),
    ),
  );
}

/** Adds an answer to the responders list, when it answers the SOS shown. */
function addResponder(r) {
  const list = document.getElementById("responders");
  if (!list || !list.dataset.sos.split(" ").includes(r.sos)) return;
  const none = document.getElementById("no-responders");
  if (none) none.remove();
  const id = `resp-${r.sos}-${r.author}`;
  const old = document.getElementById(id);
  const li = h("li", { id }, h("span", { class: "who" }, `${r.pseudonym}: I’m here`), r.text ? h("span", { class: "what" }, r.text) : null, timeEl(r.received));
  if (old) old.replaceWith(li);
  else list.append(li);
  announce(`${r.pseudonym} is responding: I’m here.`);
}

/** The list of recent SOSes, with answer buttons and the alerts setting. */
export async function listView(main, _params, ctx) {
  setTitle("SOS");
  const [list, w] = await Promise.all([sosApi.all(), sosApi.wellbeing().catch(() => ({}))]);
  if (!ctx.isCurrent()) return;
  await loadGroups().catch(() => {});
  const err = errorSlot();
  const alerts = h("input", { type: "checkbox", id: "sos-alerts", checked: !!w.sos_alerts });
  const saved = h("p", { class: "success", role: "status", hidden: true });
  const listBox = h("div");
  const showList = (items) => {
    const had = listBox.contains(document.activeElement);
    const focused = had ? document.activeElement.id : "";
    const item = had && document.activeElement.closest(".sos-item") ? document.activeElement.closest(".sos-item").id : "";
    replace(
      listBox,
      items.length === 0
        ? h("p", { class: "muted" }, "No one has sent an SOS in the last week.")
        : h("ul", { class: "plain-list", id: "sos-list", "aria-labelledby": "recent-h" }, items.map((s) => sosItem(s, err))),
    );
    if (!had) return;
    const again = (focused && document.getElementById(focused)) || (item && document.querySelector(`#${item} button, #${item} a`));
    (again || document.getElementById("recent-h")).focus();
  };
  showList(list);
  alerts.addEventListener("change", async () => {
    try {
      // Read, change one field, write back: the other settings stay.
      const cur = await sosApi.wellbeing();
      await sosApi.setWellbeing({ ...cur, sos_alerts: alerts.checked });
      await loadWellbeing();
      saved.textContent = alerts.checked ? "SOS alerts are on." : "SOS alerts are off.";
      saved.hidden = false;
    } catch (e) {
      alerts.checked = !alerts.checked;
      showError(err, e);
    }
  });
  replace(
    main,
    page(
      h("h1", null, "SOS"),
      h("div", { class: "actions sos-top" }, sosButton("", false)),
      h(
        "section",
        { class: "card", "aria-labelledby": "alerts-h" },
        h("h2", { id: "alerts-h" }, "SOS alerts"),
        h("div", { class: "field check" }, alerts, h("label", { for: "sos-alerts" }, "Alert me when someone sends an SOS, even in quiet hours and digest mode", h("span", { class: "hint" }, "With a sound where your browser allows. Kept on this computer only."))),
        saved,
      ),
      err,
      h("h2", { id: "recent-h", tabindex: "-1" }, "The last week"),
      listBox,
    ),
  );
  // A new SOS or answer redraws the list only, in place: keyboard focus
  // stays where it was when its control is still there.
  ctx.onEvent(async (type) => {
    if (type !== "sos" && type !== "sos_reply") return;
    try {
      const fresh = await sosApi.all();
      if (ctx.isCurrent()) showList(fresh);
    } catch (e) {
      showError(err, e);
    }
  });
}

function sosItem(s, err) {
  const who = s.mine ? "You" : s.pseudonym;
  return h(
    "li",
    { class: "card sos-item", id: `sos-${s.id}` },
    h("p", null, h("strong", null, `${who} asked for help in ${groupLabel(s.group)}`), " · ", timeEl(s.sent)),
    s.text ? h("p", { class: "entry-text" }, s.text) : null,
    s.replies.length
      ? h("ul", { class: "rows" }, s.replies.map((r) => h("li", null, h("span", { class: "who" }, `${r.mine ? "You" : r.pseudonym}: I’m here`), r.text ? h("span", { class: "what" }, r.text) : null)))
      : h("p", { class: "muted small" }, "No answer yet."),
    s.mine
      ? null
      : h(
          "div",
          { class: "actions" },
          s.replies.some((r) => r.mine) ? null : Object.assign(hereButton(s, err), { id: `here-${s.id}` }),
          h("a", { class: "button secondary small", href: `#/g/${s.group}`, id: `sos-open-${s.id}`, "aria-label": `Open ${groupLabel(s.group)}` }, "Open the group"),
        ),
  );
}

/**
 * The "I'm here" button of an SOS. Once answered it gives way to a line
 * saying so (a disabled button would be hard to read and would drop
 * keyboard focus); focus moves to that line.
 */
function hereButton(s, err) {
  const b = h("button", {
    type: "button",
    class: "small",
    "aria-label": `I’m here: answer ${s.pseudonym}`,
    onclick: async () => {
      b.disabled = true;
      try {
        await sosApi.answer(s.group, s.id, "");
        const done = h("span", { class: "answered", tabindex: "-1" }, "You answered: I’m here");
        const hadFocus = document.activeElement === b;
        b.replaceWith(done);
        if (hadFocus) done.focus();
        announce(`${s.pseudonym} sees that you are here.`);
      } catch (e) {
        b.disabled = false;
        if (err) showError(err, e);
      }
    },
  }, "I’m here");
  return b;
}

/**
 * Live SOS events, wherever the member is in the UI: an SOS from someone
 * else gets an urgent notice, a banner that stays until dismissed, with
 * "I'm here" on it. In quiet hours and digest mode notify holds it unless
 * the member opted in to SOS alerts.
 */
export function handleSOSEvent(type, data) {
  if (type === "sos" && data.sos && data.sos.mine) mine.add(data.sos.id);
  if (type === "sos_reply" && data.sos_reply) toldAnswers.add(answerKey(data.sos_reply));
  if (type === "sos_reply" && data.sos_reply && !data.sos_reply.mine && mine.has(data.sos_reply.sos) && !document.getElementById("responders")) {
    // Someone answered the member's own SOS while they look elsewhere:
    // they asked for help, so this is never held back.
    notify({
      kind: "sos_reply",
      title: `${data.sos_reply.pseudonym} is here for you`,
      body: data.sos_reply.text || "They answered your SOS.",
      href: "#/sos",
      group: groupLabel(data.group),
      urgent: true,
    });
    return;
  }
  if (type !== "sos" || !data.sos || data.sos.mine || told.has(data.sos.id)) return;
  const s = data.sos;
  told.add(s.id);
  const where = groupLabel(data.group);
  if (!state.details.has(data.group)) loadDetail(data.group).catch(() => {});
  // One notice, prominent for everyone and kept until dismissed, with
  // "I'm here" on it unless the SOS arrived late. notify holds it in quiet
  // hours and digest mode unless the member opted in to SOS alerts.
  const err = errorSlot();
  notify({
    kind: "sos",
    title: `${s.pseudonym} needs help now`,
    body: s.late ? `Sent in ${where} a while ago, while you were away.` : `In ${where}.`,
    detail: s.text || !s.late ? h("div", null, s.text ? h("p", { class: "entry-text" }, s.text) : null, err) : null,
    actions: s.late ? [] : [hereButton(s, err)],
    href: "#/sos",
    group: where,
    id: `sos-banner-${s.id}`,
    className: "sos-banner",
  });
}

/**
 * Catches up on SOSes after the live stream lost events: the daemon drops
 * the oldest events of a reader that falls behind (and says so with an
 * "overflow" event), and a reconnecting stream misses what happened while
 * it was down. An SOS among them must not pass unseen, so the recent SOSes
 * are fetched again and each one that arrived since this page started and
 * that the member has not been told of (nor answered) is told of now, the
 * same way as a live one; an answer to the member's own SOS likewise.
 */
export async function catchUpSOS() {
  let list;
  try {
    list = await sosApi.all();
  } catch {
    // Signed out or Hearth gone: the page says so by other means.
    return;
  }
  const since = (t) => Date.parse(t) >= pageStarted;
  for (const s of list || []) {
    if (s.mine) {
      mine.add(s.id);
      for (const r of s.replies || []) {
        if (r.mine || !since(r.received) || toldAnswers.has(answerKey(r))) continue;
        if (document.getElementById("responders")) addResponder(r);
        handleSOSEvent("sos_reply", { group: s.group, sos_reply: r });
      }
      continue;
    }
    if (!since(s.received) || (s.replies || []).some((r) => r.mine)) continue;
    handleSOSEvent("sos", { group: s.group, sos: s });
  }
  // How many catch-ups are done, for tests waiting on one.
  catchUps++;
  document.documentElement.dataset.sosCatchUps = String(catchUps);
}
