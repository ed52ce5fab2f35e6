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
import { notify, loadWellbeing, inQuietHours } from "./notify.js";

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

/** The crisis resources, as text and links, with the notice first. */
function crisisCard(c) {
  const items = (c.resources || []).map((r) => {
    const how = [];
    if (r.phone && r.sms === r.phone) how.push(h("span", null, "Call or text ", h("a", { href: `tel:${r.phone.replace(/\s+/g, "")}` }, r.phone)));
    else {
      if (r.phone) how.push(h("span", null, "Call ", h("a", { href: `tel:${r.phone.replace(/\s+/g, "")}` }, r.phone)));
      if (r.sms) how.push(h("span", null, " Text ", h("a", { href: `sms:${r.sms.replace(/\s+/g, "")}` }, r.sms)));
    }
    return h(
      "li",
      null,
      h("strong", null, r.name),
      how.length ? h("p", { class: "crisis-how" }, how) : null,
      r.url ? h("p", null, h("a", { href: r.url, rel: "noopener noreferrer", target: "_blank" }, r.url)) : null,
      r.note ? h("p", { class: "muted small" }, r.note) : null,
    );
  });
  return h(
    "section",
    { class: "card crisis", "aria-labelledby": "crisis-h", id: "crisis" },
    h("h2", { id: "crisis-h" }, "If you are in danger, call now"),
    h("p", { class: "crisis-notice", id: "crisis-notice" }, c.notice),
    h("ul", { class: "crisis-list" }, items),
  );
}

/** The region picker: the configured default, or any region with lines. */
function regionPicker(c, onchange) {
  const sel = h(
    "select",
    { id: "crisis-region", class: "inline", onchange: () => onchange(sel.value) },
    h("option", { value: "INTL" }, "Anywhere (international)"),
    (c.regions || []).map((r) => h("option", { value: r }, r)),
  );
  sel.value = c.region || "INTL";
  return h("div", { class: "field" }, h("label", { for: "crisis-region" }, "Your country or region"), sel);
}

/** The SOS screen: resources at once, then whom to ask, then who answers. */
export async function sendView(main, [g], ctx) {
  setTitle("I need help now");
  let crisis = await sosApi.crisis("");
  if (!ctx.isCurrent()) return;
  const crisisBox = h("div", null, crisisCard(crisis));
  let chosenRegion = crisis.region || "";
  const region = regionPicker(crisis, async (r) => {
    chosenRegion = r;
    try {
      crisis = await sosApi.crisis(r);
      replace(crisisBox, crisisCard(crisis));
    } catch {
      // The resources already shown stay.
    }
  });
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
  const result = h("section", { id: "sos-result", "aria-live": "polite" });
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
          replace(crisisBox, crisisCard(out.crisis));
          showSent(result, out.sent);
          form.hidden = true;
          announce("Your SOS was sent. The crisis lines stay above.");
        } catch (e) {
          showError(err, e);
        } finally {
          send.disabled = false;
        }
      },
    },
    h("h2", { id: "sos-send-h" }, "Ask your people for help"),
    h("p", null, "Members of the groups you choose see your SOS at once and can answer “I’m here”. They are people in recovery like you, not a crisis service."),
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
      region,
      crisisBox,
      form,
      result,
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
      h("h2", null, "Your SOS was sent"),
      ok.map((s) => h("p", { class: "success" }, `It went to ${groupLabel(s.group)}: its members see it now.`)),
      failed.map((s) => h("p", { class: "error" }, `It did not go to ${groupLabel(s.group)}: ${s.error ? s.error.message : ""}`)),
      h("h3", null, "Who is responding"),
      h("ul", { class: "rows", id: "responders", "data-sos": ok.map((s) => s.sos.id).join(" ") }, h("li", { class: "muted", id: "no-responders" }, "No one yet. Keep the crisis lines above in mind.")),
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
      h("div", { class: "actions" }, sosButton("", false)),
      h(
        "section",
        { class: "card", "aria-labelledby": "alerts-h" },
        h("h2", { id: "alerts-h" }, "SOS alerts"),
        h("div", { class: "field check" }, alerts, h("label", { for: "sos-alerts" }, "Alert me when someone sends an SOS, even in quiet hours and digest mode", h("span", { class: "hint" }, "With a sound where your browser allows. Kept on this computer only."))),
        saved,
      ),
      err,
      h("h2", null, "The last week"),
      list.length === 0 ? h("p", { class: "muted" }, "No one has sent an SOS in the last week.") : h("ul", { class: "plain-list", id: "sos-list" }, list.map((s) => sosItem(s, err))),
    ),
  );
  ctx.onEvent((type) => {
    if (type === "sos" || type === "sos_reply") ctx.rerender();
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
    s.mine ? null : h("div", { class: "actions" }, hereButton(s, err), h("a", { class: "button secondary small", href: `#/g/${s.group}` }, "Open the group")),
  );
}

/** The "I'm here" button of an SOS. */
function hereButton(s, err) {
  const b = h("button", {
    type: "button",
    class: "small",
    onclick: async () => {
      b.disabled = true;
      try {
        await sosApi.answer(s.group, s.id, "");
        b.textContent = "You answered: I’m here";
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
 * else gets an urgent notice (urgent when the member opted in to SOS
 * alerts: notify decides) and a banner that stays until dismissed, with
 * "I'm here" on it.
 */
export function handleSOSEvent(type, data) {
  if (type === "sos" && data.sos && data.sos.mine) mine.add(data.sos.id);
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
  if (type !== "sos" || !data.sos || data.sos.mine) return;
  const s = data.sos;
  const where = groupLabel(data.group);
  if (!state.details.has(data.group)) loadDetail(data.group).catch(() => {});
  notify({
    kind: "sos",
    title: `${s.pseudonym} needs help now`,
    body: s.late ? `Sent in ${where} a while ago, while you were away.` : `In ${where}. You can answer “I’m here”.`,
    href: "#/sos",
    group: where,
  });
  if (s.late) return;
  // The banner stays on screen until dismissed, so it keeps to quiet
  // hours and digest mode as notify does, unless the member opted in to
  // SOS alerts; what notify held is in its summary then.
  sosApi
    .wellbeing()
    .catch(() => ({}))
    .then((w) => {
      if (w.sos_alerts || (!inQuietHours() && !w.digest)) showBanner(s, where);
    });
}

function showBanner(s, where) {
  const area = document.getElementById("banners");
  if (!area || document.getElementById(`sos-banner-${s.id}`)) return;
  const err = errorSlot();
  const el = h(
    "div",
    { class: "banner sos-banner", role: "alert", id: `sos-banner-${s.id}` },
    h("strong", null, `${s.pseudonym} needs help now (${where})`),
    s.text ? h("p", { class: "entry-text" }, s.text) : null,
    h("div", { class: "actions" }, hereButton(s, err), h("a", { class: "button secondary small", href: "#/sos" }, "See all"),
      h("button", { type: "button", class: "secondary small", onclick: () => el.remove() }, "Dismiss")),
    err,
  );
  area.prepend(el);
}
