// The private space: check-in, journal, insight, day counters and
// well-being. Everything shown here comes from, and goes to, this
// computer's own Hearth only; the one exception is a "Share" button, which
// posts a single item to a group the person picks. Charts are inline SVG
// drawn here, from numbers, with presentation attributes only (nothing the
// Content-Security-Policy's style-src would have to allow), and every chart
// has its findings written out in words beside it.

import { request } from "./api.js";
import { h, replace, announce, errorSlot, showError, confirmAction, timeEl } from "./dom.js";
import { loadWellbeing, notify, everyCheck } from "./notify.js";
import { forgetBrowserStorage } from "./state.js";
import { minLength, strength } from "./setup.js";

const P = "/api/v1/private";
const enc = encodeURIComponent;

const papi = {
  checkins: () => request("GET", `${P}/checkins`),
  addCheckIn: (c) => request("POST", `${P}/checkins`, c),
  shareCheckIn: (id, group) => request("POST", `${P}/checkins/${enc(id)}/share`, { group }),
  journal: (q, tag) => {
    const s = new URLSearchParams();
    if (q) s.set("q", q);
    if (tag) s.set("tag", tag);
    const qs = s.toString();
    return request("GET", `${P}/journal${qs ? "?" + qs : ""}`);
  },
  addJournal: (e) => request("POST", `${P}/journal`, e),
  editJournal: (id, text, tags) => request("PUT", `${P}/journal/${enc(id)}`, { text, tags }),
  deleteJournal: (id) => request("DELETE", `${P}/journal/${enc(id)}`),
  habits: () => request("GET", `${P}/habits`),
  addHabit: (name, start) => request("POST", `${P}/habits`, start ? { name, start } : { name }),
  slip: (id, note) => request("POST", `${P}/habits/${enc(id)}/slip`, note ? { note } : {}),
  shareMilestone: (id, group) => request("POST", `${P}/habits/${enc(id)}/share`, { group }),
  insight: () => request("GET", `${P}/insight`),
  wellbeing: () => request("GET", `${P}/wellbeing`),
  setWellbeing: (w) => request("PUT", `${P}/wellbeing`, w),
  wipe: (confirm) => request("POST", "/api/v1/wipe", { confirm }),
  changePassphrase: (current, next) => request("POST", "/api/v1/passphrase", { current, new: next }),
  groups: () => request("GET", "/api/v1/groups"),
};

const moods = ["Very low", "Low", "Okay", "Good", "Very good"];

// The gentle daily usage notice. Minutes the page is visible are counted
// in this tab's sessionStorage (a count and the date, nothing else), and
// once they reach the limit the member set in Well-being a notice appears,
// once a day. Nothing is sent anywhere.
const USAGE_KEY = "hearth-usage";

function usageToday() {
  const day = new Date().toDateString();
  try {
    const u = JSON.parse(sessionStorage.getItem(USAGE_KEY) || "{}");
    if (u && u.day === day && Number.isFinite(u.minutes)) return u;
  } catch {
    // A damaged count starts again from zero.
  }
  return { day, minutes: 0, noticed: false };
}

function saveUsage(u) {
  try {
    sessionStorage.setItem(USAGE_KEY, JSON.stringify(u));
  } catch {
    // Storage may be unavailable; the notice then simply does not show.
  }
}

/** Shows the usage notice if today's minutes reached the member's limit. */
async function checkUsage() {
  const u = usageToday();
  if (u.noticed) return;
  const w = await papi.wellbeing();
  if (!w.daily_notice_minutes || u.minutes < w.daily_notice_minutes) return;
  u.noticed = true;
  saveUsage(u);
  const area = document.getElementById("banners");
  if (!area || document.getElementById("usage-notice")) return;
  const el = h(
    "div",
    { class: "banner", role: "status", id: "usage-notice" },
    h("strong", null, "A gentle reminder"),
    h("p", null, `You have spent about ${u.minutes} minutes in Hearth today. Maybe a good moment for a break.`),
    h("button", { type: "button", class: "secondary small", onclick: () => el.remove() }, "Dismiss"),
  );
  area.appendChild(el);
}

setInterval(() => {
  // Only while signed in (the navigation shows): a signed-out or wiped
  // page sends nothing and writes nothing.
  const nav = document.getElementById("nav");
  if (document.visibilityState !== "visible" || !nav || nav.hidden) return;
  const u = usageToday();
  u.minutes += 1;
  saveUsage(u);
  checkUsage().catch(() => {});
}, 60000);

function page(...children) {
  return h("div", { class: "page" }, ...children);
}

function setTitle(t) {
  document.title = `${t} · Hearth`;
}

function tabs(current) {
  const items = [
    ["/me", "Check in"],
    ["/me/journal", "Journal"],
    ["/me/insight", "Insight"],
    ["/me/milestones", "Milestones"],
    ["/me/settings", "Well-being"],
  ];
  return h(
    "nav",
    { class: "tabs", "aria-label": "Private space" },
    h("ul", null, items.map(([href, label]) => h("li", null, h("a", { href: "#" + href, "aria-current": href === current ? "page" : null }, label)))),
  );
}

function privacyNote() {
  return h("p", { class: "muted small private-note" }, "Only on this computer, encrypted. Nothing here is sent anywhere unless you press Share on one item.");
}

function tagList(s) {
  return s
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "");
}

// Check-in: tap a mood, then a craving level, and it is saved.

export async function checkinView(main, _params, ctx) {
  setTitle("Check in");
  const err = errorSlot();
  const done = h("p", { class: "success", role: "status", id: "checkin-done", hidden: true });
  let mood = 0;
  const sleep = h("input", { type: "number", id: "ci-sleep", min: "0", max: "24", step: "0.5", inputmode: "decimal" });
  const triggers = h("input", { type: "text", id: "ci-triggers", autocomplete: "off" });
  const note = h("textarea", { id: "ci-note", rows: "2", maxlength: "4000" });
  const cravingStep = h("fieldset", { class: "taps", id: "craving-step", disabled: true });
  const moodStep = h(
    "fieldset",
    { class: "taps", id: "mood-step" },
    h("legend", null, "1. How is your mood?"),
    h(
      "div",
      { class: "tap-row" },
      moods.map((label, i) =>
        h(
          "button",
          {
            type: "button",
            class: "tap",
            "data-mood": String(i + 1),
            "aria-pressed": "false",
            onclick: (ev) => {
              mood = i + 1;
              for (const b of moodStep.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b === ev.currentTarget));
              cravingStep.disabled = false;
              announce(`Mood ${label}. Now choose how strong any craving is.`);
              cravingStep.querySelector("button").focus();
            },
          },
          h("span", { class: "tap-num" }, String(i + 1)),
          h("span", null, label),
        ),
      ),
    ),
  );
  replace(
    cravingStep,
    h("legend", null, "2. How strong is any craving? (0 none, 10 overwhelming) Tapping saves."),
    h(
      "div",
      { class: "tap-row" },
      Array.from({ length: 11 }, (_, c) =>
        h(
          "button",
          {
            type: "button",
            class: "tap narrow",
            "data-craving": String(c),
            onclick: async () => {
              const body = { mood, craving: c };
              if (sleep.value !== "") body.sleep_hours = Number(sleep.value);
              const tr = tagList(triggers.value);
              if (tr.length) body.triggers = tr;
              if (note.value.trim() !== "") body.note = note.value;
              try {
                await papi.addCheckIn(body);
                showError(err, null);
                done.textContent = `Saved on this computer: mood ${mood} of 5, craving ${c} of 10.`;
                done.hidden = false;
                announce(done.textContent);
                mood = 0;
                cravingStep.disabled = true;
                for (const b of moodStep.querySelectorAll("button")) b.setAttribute("aria-pressed", "false");
                sleep.value = "";
                triggers.value = "";
                note.value = "";
                if (ctx.isCurrent()) renderRecent(recent);
              } catch (e) {
                showError(err, e);
              }
            },
          },
          String(c),
        ),
      ),
    ),
  );
  const recent = h("section", { class: "card", "aria-labelledby": "recent-h" });
  replace(
    main,
    page(
      h("h1", null, "Your private space"),
      tabs("/me"),
      privacyNote(),
      h(
        "section",
        { class: "card", id: "checkin-card", "aria-labelledby": "ci-h" },
        h("h2", { id: "ci-h" }, "Check in"),
        moodStep,
        cravingStep,
        h(
          "details",
          { class: "more" },
          h("summary", null, "Add sleep, triggers or a note (optional, before you tap a craving level)"),
          h("div", { class: "field" }, h("label", { for: "ci-sleep" }, "Hours of sleep"), sleep),
          h("div", { class: "field" }, h("label", { for: "ci-triggers" }, "Triggers", h("span", { class: "hint" }, "Your own words, separated by commas")), triggers),
          h("div", { class: "field" }, h("label", { for: "ci-note" }, "Note"), note),
        ),
        err,
        done,
      ),
      recent,
    ),
  );
  await renderRecent(recent);
  checkUsage().catch(() => {});
  const due = await dueReflections();
  if (!ctx.isCurrent()) return;
  // How many reminders were shown, for tests waiting on the check.
  main.querySelector("#checkin-card").dataset.reminders = String(due.length);
  if (due.length > 0) {
    main.querySelector(".private-note").after(
      h(
        "section",
        { class: "card reminder", id: "reflection-reminder", "aria-labelledby": "rem-h" },
        h("h2", { id: "rem-h" }, "A moment for yourself"),
        due.map(([kind, text]) => h("p", null, text, " ", h("a", { href: `#/me/journal/${kind}`, "data-kind": kind }, kind === "intention" ? "Write an intention" : "Write a review"))),
      ),
    );
  }
  ctx.onEvent(() => {});
}

/**
 * The reflections whose reminder time has passed today with nothing
 * written yet: the morning intention and the evening review, at the times
 * the member chose in Well-being. Shown when the person opens the check-in
 * screen; the notification at the time itself is remindOfReflections'.
 */
async function dueReflections() {
  const [w, entries] = await Promise.all([papi.wellbeing(), papi.journal("", "")]);
  const now = new Date();
  return reflectionsPassed(w, now)
    .filter((kind) => !wroteToday(entries, kind, now))
    .map((kind) => [kind, kind === "intention" ? "You have not set an intention for today." : "How did today go? An evening review can help."]);
}

/** The reflection kinds whose reminder time has passed today, by now. */
function reflectionsPassed(w, now) {
  const mins = now.getHours() * 60 + now.getMinutes();
  const passed = (hhmm) => {
    const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm || "");
    return !!m && mins >= Number(m[1]) * 60 + Number(m[2]);
  };
  const out = [];
  if (passed(w.morning_reminder)) out.push("intention");
  if (passed(w.evening_reminder)) out.push("review");
  return out;
}

function wroteToday(entries, kind, now) {
  const today = now.toDateString();
  return entries.some((e) => e.kind === kind && new Date(e.created).toDateString() === today);
}

// The reflection reminders as notifications. While the UI is open, once a
// reminder's time has passed today and nothing of its kind is written, a
// notification says so, once a day: through notify, so quiet hours hold
// it (and summarise it when they end) and the digest gathers it. Which
// reminders this tab already gave today is kept in its sessionStorage (the
// date and the kinds, nothing else), so a reload does not repeat them.
const REMINDED_KEY = "hearth-reminded";
let reflectionChecks = 0;

function remindedToday(now) {
  const day = now.toDateString();
  try {
    const r = JSON.parse(sessionStorage.getItem(REMINDED_KEY) || "{}");
    if (r && r.day === day && Array.isArray(r.kinds)) return r;
  } catch {
    // A damaged record starts the day afresh.
  }
  return { day, kinds: [] };
}

async function remindOfReflections(w) {
  try {
    const nav = document.getElementById("nav");
    if (!nav || nav.hidden) return;
    const now = new Date();
    const done = remindedToday(now);
    const fresh = reflectionsPassed(w, now).filter((kind) => !done.kinds.includes(kind));
    if (fresh.length === 0) return;
    // Recorded before asking the journal, so overlapping checks remind once.
    done.kinds.push(...fresh);
    try {
      sessionStorage.setItem(REMINDED_KEY, JSON.stringify(done));
    } catch {
      // Without storage a reload may remind again; that is all.
    }
    let entries;
    try {
      entries = await papi.journal("", "");
    } catch {
      // Asked again at the next check.
      done.kinds = done.kinds.filter((k) => !fresh.includes(k));
      sessionStorage.setItem(REMINDED_KEY, JSON.stringify(done));
      return;
    }
    for (const kind of fresh) {
      if (wroteToday(entries, kind, now)) continue;
      notify(
        kind === "intention"
          ? { kind: "reminder", title: "Time for your morning intention", body: "A few words about how you want today to go.", href: "#/me/journal/intention", tag: "reminder:intention" }
          : { kind: "reminder", title: "Time for your evening review", body: "How did today go?", href: "#/me/journal/review", tag: "reminder:review" },
      );
    }
  } finally {
    // How many checks ran, for tests waiting on one.
    document.documentElement.dataset.reflectionChecks = String(++reflectionChecks);
  }
}

everyCheck(remindOfReflections);

async function renderRecent(section) {
  const [cs, groups] = await Promise.all([papi.checkins(), papi.groups()]);
  const last = (cs || []).slice(-7).reverse();
  replace(
    section,
    h("h2", { id: "recent-h" }, "Recent check-ins"),
    last.length === 0
      ? h("p", { class: "muted" }, "None yet.")
      : h(
          "ul",
          { class: "plain-list", id: "recent-list" },
          last.map((c) =>
            h(
              "li",
              null,
              timeEl(c.at),
              ` — mood ${c.mood} of 5, craving ${c.craving} of 10`,
              c.triggers && c.triggers.length ? `, triggers: ${c.triggers.join(", ")}` : "",
              shareControl(groups, "check-in", checkInText(c), (g) => papi.shareCheckIn(c.id, g)),
            ),
          ),
        ),
  );
}

/**
 * The text that sharing check-in c posts, exactly as Hearth writes it
 * (node.RenderCheckIn): every field of the check-in, the note on a line of
 * its own.
 */
function checkInText(c) {
  let t = `Check-in: mood ${c.mood}/5, craving ${c.craving}/10`;
  if (c.sleep_hours > 0) t += `, slept ${oneDecimal(c.sleep_hours)} h`;
  if (c.triggers && c.triggers.length) t += `, triggers: ${c.triggers.join(", ")}`;
  if (c.note) t += `\n${c.note}`;
  return t;
}

/** The text that sharing day counter hb posts (node.RenderMilestone). */
function milestoneText(hb) {
  const d = hb.status.days;
  return `Milestone: ${d} ${d === 1 ? "day" : "days"} of ${hb.name}`;
}

/**
 * x with one decimal as Go's %.1f writes it. toFixed agrees except on an
 * exact tie (a quarter hour, 7.25), which Go rounds to the even digit and
 * toFixed up; such a tie is exactly representable, so it is found exactly.
 */
function oneDecimal(x) {
  const t = x * 10;
  if (Number.isInteger(t * 2) && !Number.isInteger(t)) {
    const down = Math.floor(t);
    return ((down % 2 === 0 ? down : down + 1) / 10).toFixed(1);
  }
  return x.toFixed(1);
}

/**
 * A Share button that posts one item to a chosen group, after asking; the
 * question shows text, the exact words that will be posted.
 */
function shareControl(groups, what, text, share) {
  const live = (groups || []).filter((g) => !g.removed);
  if (live.length === 0) return null;
  const select = h("select", { "aria-label": `Group to share this ${what} with`, class: "inline" }, live.map((g) => h("option", { value: g.group }, g.name)));
  const status = h("span", { class: "small", role: "status" });
  return h(
    "span",
    { class: "share" },
    " ",
    select,
    h(
      "button",
      {
        type: "button",
        class: "secondary small",
        onclick: async () => {
          const name = select.options[select.selectedIndex].text;
          const ok = await confirmAction({
            title: `Share this ${what}?`,
            body: `It will be posted to ${name}, where every member can read it, exactly as below. Nothing else from your private space is sent.`,
            quote: text,
            confirm: "Share",
            danger: false,
          });
          if (!ok) return;
          try {
            await share(select.value);
            status.textContent = ` Shared with ${name}.`;
          } catch (e) {
            status.textContent = ` ${e.message}`;
          }
        },
      },
      "Share",
    ),
    status,
  );
}

// Journal

export async function journalView(main, [preset], ctx) {
  setTitle("Journal");
  const err = errorSlot();
  const text = h("textarea", { id: "j-text", rows: "5", maxlength: "65536", required: true });
  const tags = h("input", { type: "text", id: "j-tags", autocomplete: "off" });
  const kind = h("select", { id: "j-kind" }, h("option", { value: "" }, "Journal entry"), h("option", { value: "intention" }, "Morning intention"), h("option", { value: "review" }, "Evening review"));
  if (preset) kind.value = preset;
  const search = h("input", { type: "search", id: "j-search", autocomplete: "off" });
  const list = h("div", { id: "journal-list" });
  const load = async () => {
    const es = await papi.journal(search.value.trim(), "");
    if (!ctx.isCurrent()) return;
    replace(
      list,
      es.length === 0
        ? h("p", { class: "muted" }, search.value ? "No entries match." : "No entries yet.")
        : es.map((e) => entryCard(e, load)),
    );
  };
  replace(
    main,
    page(
      h("h1", null, "Journal"),
      tabs("/me/journal"),
      privacyNote(),
      h(
        "form",
        {
          class: "card",
          "aria-labelledby": "j-new",
          onsubmit: async (ev) => {
            ev.preventDefault();
            try {
              await papi.addJournal({ kind: kind.value, text: text.value, tags: tagList(tags.value) });
              text.value = "";
              tags.value = "";
              showError(err, null);
              announce("Entry saved.");
              await load();
            } catch (e) {
              showError(err, e);
            }
          },
        },
        h("h2", { id: "j-new" }, "New entry"),
        h("div", { class: "field" }, h("label", { for: "j-kind" }, "Kind"), kind),
        h("div", { class: "field" }, h("label", { for: "j-text" }, "What is on your mind?"), text),
        h("div", { class: "field" }, h("label", { for: "j-tags" }, "Tags", h("span", { class: "hint" }, "Separated by commas")), tags),
        err,
        h("div", { class: "actions" }, h("button", { type: "submit" }, "Save entry")),
      ),
      h(
        "form",
        {
          role: "search",
          class: "field",
          onsubmit: (ev) => {
            ev.preventDefault();
            load();
          },
        },
        h("label", { for: "j-search" }, "Search your entries", h("span", { class: "hint" }, "Searched here, in memory; no index is written to disk")),
        h("div", { class: "actions" }, search, h("button", { type: "submit", class: "secondary" }, "Search")),
      ),
      list,
    ),
  );
  await load();
  ctx.onEvent(() => {});
}

function entryCard(e, reload) {
  const kinds = { intention: "Morning intention", review: "Evening review" };
  const body = h("p", { class: "entry-text" }, e.text);
  const entryErr = errorSlot();
  const card = h(
    "article",
    { class: "card entry" },
    h("h3", null, timeEl(e.created), e.kind ? ` · ${kinds[e.kind] || e.kind}` : ""),
    body,
    e.tags && e.tags.length ? h("p", { class: "muted small" }, "Tags: ", e.tags.join(", ")) : null,
    h(
      "div",
      { class: "actions" },
      h(
        "button",
        {
          type: "button",
          class: "secondary small",
          onclick: () => {
            const ta = h("textarea", { rows: "5", id: `edit-${e.id}-text` });
            ta.value = e.text;
            const tg = h("input", { type: "text", id: `edit-${e.id}-tags`, autocomplete: "off", value: (e.tags || []).join(", ") });
            const es = errorSlot();
            replace(
              card,
              h("div", { class: "field" }, h("label", { for: ta.id }, "Entry"), ta),
              h("div", { class: "field" }, h("label", { for: tg.id }, "Tags", h("span", { class: "hint" }, "Separated by commas")), tg),
              es,
              h(
                "div",
                { class: "actions" },
                h(
                  "button",
                  {
                    type: "button",
                    class: "small",
                    onclick: async () => {
                      try {
                        await papi.editJournal(e.id, ta.value, tagList(tg.value));
                        await reload();
                      } catch (err) {
                        showError(es, err);
                      }
                    },
                  },
                  "Save",
                ),
                h("button", { type: "button", class: "secondary small", onclick: reload }, "Cancel"),
              ),
            );
            ta.focus();
          },
        },
        "Edit",
      ),
      h(
        "button",
        {
          type: "button",
          class: "secondary small",
          onclick: async () => {
            const ok = await confirmAction({ title: "Delete this entry?", body: "It is removed from this computer.", confirm: "Delete" });
            if (!ok) return;
            try {
              await papi.deleteJournal(e.id);
            } catch (err) {
              showError(entryErr, err);
              return;
            }
            await reload();
          },
        },
        "Delete",
      ),
    ),
    entryErr,
  );
  return card;
}

// Insight: charts drawn as SVG, each with its summary in words.

const SVG = "http://www.w3.org/2000/svg";

function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) {
    if (c === null || c === undefined) continue;
    el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return el;
}

/**
 * Charts are drawn as wide, in user units, as their figure is in CSS
 * pixels (between CHART_MIN and CHART_MAX), and drawn again when the window
 * changes size: a label's font size is then its size on the screen, where a
 * fixed 640-unit chart shrunk onto a phone would show 5-pixel labels.
 */
const CHART_MAX = 640;
const CHART_MIN = 280;
/** Below this width, bar charts put each label above its bar. */
const CHART_NARROW = 480;

/**
 * A line chart of daily mood (0-5 scale, solid line, round markers) and
 * craving (0-10 scale, dashed line, square markers) over a trend's days,
 * W units wide. The two series differ in line pattern and marker shape,
 * not only in colour, and the legend says which is which.
 */
function trendChart(tr, id, W) {
  const H = 220,
    L = 30,
    R = 12,
    T = 12,
    B = 28;
  const n = tr.daily.length;
  const x = (i) => L + (n <= 1 ? 0 : (i * (W - L - R)) / (n - 1));
  const y = (v) => T + (H - T - B) * (1 - v / 10);
  // Markers stay apart where days are close together (90 days on a phone).
  const step = n <= 1 ? W : (W - L - R) / (n - 1);
  const m = Math.max(2, Math.min(3.5, step / 2));
  const grid = [];
  for (const v of [0, 2, 4, 6, 8, 10]) {
    grid.push(s("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "currentColor", "stroke-opacity": "0.2" }));
    grid.push(s("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", "font-size": "12", fill: "currentColor" }, String(v)));
  }
  const path = (key, scale) => {
    let d = "";
    let pen = false;
    tr.daily.forEach((p, i) => {
      if (p.count === 0) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)} ${y(p[key] * scale).toFixed(1)}`;
      pen = true;
    });
    return d;
  };
  const moodMarks = [];
  const cravMarks = [];
  tr.daily.forEach((p, i) => {
    if (p.count === 0) return;
    moodMarks.push(s("circle", { cx: x(i), cy: y(p.mood * 2), r: m, class: "mood-mark", "stroke-width": m > 3 ? 2 : 1.5 }));
    const cy = y(p.craving);
    cravMarks.push(s("rect", { x: x(i) - m, y: cy - m, width: 2 * m, height: 2 * m, class: "craving-mark" }));
  });
  const first = tr.daily[0] ? tr.daily[0].day : "";
  const last = tr.daily[n - 1] ? tr.daily[n - 1].day : "";
  return s(
    "svg",
    { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${id}-t ${id}-d`, class: "chart", id },
    s("title", { id: `${id}-t` }, `Mood and craving, last ${tr.days} days`),
    s("desc", { id: `${id}-d` }, "Mood (solid line, circles) is drawn on a scale of 0 to 5 doubled to fit; craving (dashed line, squares) on 0 to 10."),
    ...grid,
    s("path", { d: path("mood", 2), fill: "none", class: "mood-line", "stroke-width": 2.5 }),
    s("path", { d: path("craving", 1), fill: "none", class: "craving-line", "stroke-width": 2, "stroke-dasharray": "6 4" }),
    ...moodMarks,
    ...cravMarks,
    s("text", { x: L, y: H - 8, "font-size": "12", fill: "currentColor" }, first),
    s("text", { x: W - R, y: H - 8, "text-anchor": "end", "font-size": "12", fill: "currentColor" }, last),
  );
}

/** A label cut to about chars characters, with an ellipsis. */
function fitLabel(label, chars) {
  return label.length <= chars ? label : label.slice(0, Math.max(1, chars - 1)) + "…";
}

/**
 * Horizontal bars, one per row, W units wide: the label, the bar (the
 * value on 0 to max) and, beside it, the row's text. On a narrow chart
 * each label stands above its bar, which then has the whole width. The
 * hatching's pattern ID is the chart's own, as two charts share a page.
 */
function barChart(rows, max, id, title, W) {
  const narrow = W < CHART_NARROW;
  const rowH = narrow ? 46 : 30;
  const L = narrow ? 0 : 150;
  const R = 165; // room for the text beside the longest bar
  const fontPx = 13;
  const charPx = 7.5; // a generous average width of a 13-unit character
  const hatch = `${id}-hatch`;
  const H = Math.max(rowH, rows.length * rowH) + 8;
  const els = [];
  rows.forEach((r, i) => {
    const y0 = 4 + i * rowH;
    const w = max > 0 ? ((W - L - R) * r.value) / max : 0;
    const barY = narrow ? y0 + 20 : y0 + 4;
    const barH = narrow ? 18 : rowH - 10;
    const textY = barY + barH / 2 + 4.5;
    const label = narrow
      ? s("text", { x: 0, y: y0 + 14, "font-size": fontPx, fill: "currentColor" }, fitLabel(r.label, Math.floor(W / charPx)))
      : s("text", { x: L - 8, y: textY, "text-anchor": "end", "font-size": fontPx, fill: "currentColor" }, fitLabel(r.label, Math.floor((L - 8) / charPx)));
    els.push(label);
    els.push(s("rect", { x: L, y: barY, width: Math.max(0, w), height: barH, fill: `url(#${hatch})`, stroke: "currentColor" }));
    els.push(s("text", { x: L + w + 6, y: textY, "font-size": fontPx, fill: "currentColor" }, r.text));
  });
  return s(
    "svg",
    { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${id}-t`, class: "chart", id },
    s("title", { id: `${id}-t` }, title),
    s(
      "defs",
      null,
      s("pattern", { id: hatch, width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" }, s("rect", { width: 6, height: 6, class: "hatch-bg" }), s("line", { x1: 0, y1: 0, x2: 0, y2: 6, class: "hatch-line", "stroke-width": 2 })),
    ),
    ...els,
  );
}

function trendLegend() {
  return h(
    "ul",
    { class: "legend" },
    h("li", null, h("span", { class: "key key-mood", "aria-hidden": "true" }), "Mood (solid line, circles; 0 to 5, drawn doubled)"),
    h("li", null, h("span", { class: "key key-craving", "aria-hidden": "true" }), "Craving (dashed line, squares; 0 to 10)"),
  );
}

function barLegend(what) {
  return h(
    "p",
    { class: "legend" },
    `Each bar is the mean craving (0 to 10) ${what}. Beside it: that mean, then how many of those check-ins had a craving of 7 or more.`,
  );
}

/**
 * A chart's section: heading, the chart (drawn by draw(width) once the
 * section is on the page, see fitCharts), its legend, and its summary in
 * words beside it.
 */
function chartBlock(id, heading, draw, summary, legend) {
  const fig = h("figure", { class: "chart-fig" }, legend || null);
  const section = h(
    "section",
    { class: "card chart-block", "aria-labelledby": `${id}-h` },
    h("h2", { id: `${id}-h` }, heading),
    h("div", { class: "chart-row" }, fig, h("p", { class: "chart-summary", id: `${id}-summary` }, summary)),
  );
  return { section, fig, draw, width: 0, svg: null };
}

/** Draws each chart as wide as its figure now is, where that changed. */
function fitCharts(charts) {
  for (const c of charts) {
    const W = Math.round(Math.min(CHART_MAX, Math.max(CHART_MIN, c.fig.clientWidth || CHART_MAX)));
    if (W === c.width) continue;
    c.width = W;
    const svg = c.draw(W);
    if (c.svg) c.svg.replaceWith(svg);
    else c.fig.prepend(svg);
    c.svg = svg;
  }
}

/** "9.0 · 6 of 8 at 7+": a mean craving and how many check-ins were high. */
function highText(mean, high, count) {
  return `${mean.toFixed(1)} · ${high} of ${count} at 7+`;
}

export async function insightView(main, _params, ctx) {
  setTitle("Insight");
  const in_ = await papi.insight();
  if (!ctx.isCurrent()) return;
  const charts = [];
  in_.trends.forEach((tr, i) => {
    charts.push(chartBlock(`trend-${tr.days}`, `Last ${tr.days} days`, (W) => trendChart(tr, `chart-${tr.days}`, W), in_.summary[i], trendLegend()));
  });
  const trig = in_.triggers || [];
  if (trig.length > 0) {
    const rows = trig.map((t) => ({ label: t.trigger, value: t.mean_craving, text: highText(t.mean_craving, Math.round(t.high_share * t.count), t.count) }));
    charts.push(
      chartBlock(
        "triggers",
        "Triggers and craving (90 days)",
        (W) => barChart(rows, 10, "chart-triggers", "Mean craving with each trigger, and how often it was 7 or more", W),
        in_.summary.find((l) => l.startsWith("Triggers")) || "",
        barLegend("of the check-ins with that trigger"),
      ),
    );
  }
  const tod = (in_.times_of_day || []).filter((p) => p.count > 0);
  if (tod.length > 0) {
    const rows = in_.times_of_day.map((p) => ({ label: p.part, value: p.mean_craving, text: p.count ? highText(p.mean_craving, p.high_count, p.count) : "no check-ins" }));
    charts.push(
      chartBlock(
        "times",
        "Time of day and craving (90 days)",
        (W) => barChart(rows, 10, "chart-times", "Mean craving by part of the day, and how often it was 7 or more", W),
        in_.summary.find((l) => l.startsWith("Cravings run")) || "",
        barLegend("of the check-ins in that part of the day"),
      ),
    );
  }
  replace(
    main,
    page(
      h("h1", null, "Insight"),
      tabs("/me/insight"),
      h("p", { class: "muted small private-note" }, "Worked out on this computer from your own check-ins, each time you open this page. Nothing is sent or stored."),
      h(
        "section",
        { class: "card", "aria-labelledby": "streak-h" },
        h("h2", { id: "streak-h" }, "Streak"),
        h("p", { id: "streak" }, `Check-ins on ${in_.streak.current} days in a row now; longest run ${in_.streak.longest} days.`),
      ),
      ...charts.map((c) => c.section),
    ),
  );
  fitCharts(charts);
  // A phone turned sideways, or a window made narrower: drawn again to fit.
  const refit = () => {
    if (!ctx.isCurrent()) window.removeEventListener("resize", refit);
    else fitCharts(charts);
  };
  window.addEventListener("resize", refit);
  ctx.onEvent(() => {});
}

// Milestones

export async function milestonesView(main, _params, ctx) {
  setTitle("Milestones");
  const [hs, groups] = await Promise.all([papi.habits(), papi.groups()]);
  if (!ctx.isCurrent()) return;
  const err = errorSlot();
  const name = h("input", { type: "text", id: "m-name", maxlength: "80", required: true });
  const start = h("input", { type: "date", id: "m-start" });
  replace(
    main,
    page(
      h("h1", null, "Milestones"),
      tabs("/me/milestones"),
      privacyNote(),
      h(
        "ul",
        { class: "plain-list", id: "habit-list" },
        hs.length === 0
          ? h("li", { class: "muted" }, "No day counters yet.")
          : hs.map((hb) => {
              const slipErr = errorSlot();
              return h(
                "li",
                { class: "card" },
                h("h2", null, hb.name),
                h("p", { class: "counter" }, h("strong", null, `${hb.status.days} day${hb.status.days === 1 ? "" : "s"}`), ` since ${new Date(hb.status.since).toLocaleDateString()}`),
                h("p", { class: "muted small" }, `Longest run ${hb.status.longest_run} days. ${hb.status.slips} slip${hb.status.slips === 1 ? "" : "s"} recorded. Next milestone: ${hb.status.next} day${hb.status.next === 1 ? "" : "s"}.`),
                h(
                  "div",
                  { class: "actions" },
                  h(
                    "button",
                    {
                      type: "button",
                      class: "secondary small",
                      onclick: async () => {
                        const ok = await confirmAction({
                          title: "Record a slip?",
                          body: "The counter starts again from today. Your start date, your longest run and every earlier day stay in your history.",
                          confirm: "Record slip",
                          danger: false,
                        });
                        if (!ok) return;
                        try {
                          await papi.slip(hb.id);
                        } catch (e) {
                          showError(slipErr, e);
                          return;
                        }
                        ctx.rerender();
                      },
                    },
                    "Record a slip",
                  ),
                  shareControl(groups, "milestone", milestoneText(hb), (g) => papi.shareMilestone(hb.id, g)),
                ),
                slipErr,
              );
            }),
      ),
      h(
        "form",
        {
          class: "card",
          "aria-labelledby": "m-new",
          onsubmit: async (ev) => {
            ev.preventDefault();
            try {
              const st = start.value ? new Date(start.value + "T00:00:00").toISOString() : "";
              await papi.addHabit(name.value, st);
              ctx.rerender();
            } catch (e) {
              showError(err, e);
            }
          },
        },
        h("h2", { id: "m-new" }, "Start a day counter"),
        h("div", { class: "field" }, h("label", { for: "m-name" }, "What are you counting?", h("span", { class: "hint" }, "For example: alcohol-free")), name),
        h("div", { class: "field" }, h("label", { for: "m-start" }, "Start date", h("span", { class: "hint" }, "Leave empty for today")), start),
        err,
        h("div", { class: "actions" }, h("button", { type: "submit" }, "Start counting")),
      ),
    ),
  );
  ctx.onEvent(() => {});
}

// Well-being, export and wipe

export async function settingsView(main, _params, ctx) {
  setTitle("Well-being");
  const w = await papi.wellbeing();
  if (!ctx.isCurrent()) return;
  const err = errorSlot();
  const saved = h("p", { class: "success", role: "status", id: "w-saved", hidden: true });
  const time = (id, v) => h("input", { type: "time", id, value: v || "" });
  const qs = time("w-qs", w.quiet_start);
  const qe = time("w-qe", w.quiet_end);
  const mr = time("w-mr", w.morning_reminder);
  const er = time("w-er", w.evening_reminder);
  const digest = h("input", { type: "checkbox", id: "w-digest", checked: !!w.digest });
  const sos = h("input", { type: "checkbox", id: "w-sos", checked: !!w.sos_alerts });
  const notice = h("input", { type: "number", id: "w-notice", min: "0", max: "1440", value: String(w.daily_notice_minutes || 0) });
  replace(
    main,
    page(
      h("h1", null, "Well-being"),
      tabs("/me/settings"),
      privacyNote(),
      h(
        "form",
        {
          class: "card",
          "aria-labelledby": "w-h",
          onsubmit: async (ev) => {
            ev.preventDefault();
            try {
              await papi.setWellbeing({
                // Settings this form does not show (the SOS alerts of
                // sos.js) are kept as they are.
                ...w,
                quiet_start: qs.value,
                quiet_end: qe.value,
                digest: digest.checked,
                daily_notice_minutes: Number(notice.value || 0),
                morning_reminder: mr.value,
                evening_reminder: er.value,
                sos_alerts: sos.checked,
              });
              // Notifications follow the new settings at once.
              await loadWellbeing();
              showError(err, null);
              saved.textContent = "Saved on this computer.";
              saved.hidden = false;
            } catch (e) {
              showError(err, e);
            }
          },
        },
        h("h2", { id: "w-h" }, "Quiet hours and reminders"),
        h("div", { class: "field" }, h("label", { for: "w-qs" }, "Quiet hours start"), qs),
        h("div", { class: "field" }, h("label", { for: "w-qe" }, "Quiet hours end"), qe),
        h("div", { class: "field check" }, digest, h("label", { for: "w-digest" }, "Digest: hold notifications and show them together")),
        h(
          "div",
          { class: "field check" },
          sos,
          h("label", { for: "w-sos" }, "Alert me at once to a fellow member's SOS, even in quiet hours and digest mode"),
        ),
        h("div", { class: "field" }, h("label", { for: "w-notice" }, "Gentle notice after this many minutes a day", h("span", { class: "hint" }, "0 for none")), notice),
        h("div", { class: "field" }, h("label", { for: "w-mr" }, "Morning intention reminder"), mr),
        h("div", { class: "field" }, h("label", { for: "w-er" }, "Evening review reminder"), er),
        err,
        saved,
        h("div", { class: "actions" }, h("button", { type: "submit" }, "Save")),
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "x-h" },
        h("h2", { id: "x-h" }, "Export"),
        h("p", null, "Download everything you own on this computer: journal, check-ins, milestones, settings and your own posts. The file is not encrypted."),
        h(
          "div",
          { class: "actions" },
          h("a", { class: "button secondary", href: `${P}/export?format=json`, download: "hearth-export.json" }, "Download JSON"),
          h("a", { class: "button secondary", href: `${P}/export?format=csv`, download: "hearth-export.csv" }, "Download CSV"),
        ),
      ),
      passphraseCard(),
      wipeCard(main),
    ),
  );
  ctx.onEvent(() => {});
}

/**
 * Changing the passphrase: the current one, then the new one twice. The
 * node re-seals its keystore under the new one and keeps running; the
 * fields are emptied as soon as the answer comes, whatever it is.
 */
function passphraseCard() {
  const err = errorSlot();
  const done = h("p", { class: "success", role: "status", id: "pp-done", hidden: true });
  const field = (id, autocomplete, extra) =>
    h("input", { type: "password", id, required: true, autocomplete, maxlength: 1024, spellcheck: "false", ...extra });
  const current = field("pp-current", "current-password");
  const next = field("pp-new", "new-password", { minlength: minLength, "aria-describedby": "pp-new-hint pp-strength" });
  const again = field("pp-again", "new-password");
  const label = h("strong", { id: "pp-strength-label" });
  const notes = h("ul", { class: "strength-notes" });
  const hint = h("div", { class: "strength", id: "pp-strength", "aria-live": "polite" }, label, notes);
  next.addEventListener("input", () => {
    const r = strength(next.value);
    label.textContent = next.value ? `Strength: ${r.label}` : "";
    notes.replaceChildren(...(next.value ? r.notes : []).map((n) => h("li", null, n)));
    hint.dataset.level = String(r.level);
  });
  const submit = h("button", { type: "submit" }, "Change passphrase");
  const clear = () => {
    current.value = next.value = again.value = "";
    label.textContent = "";
    notes.replaceChildren();
  };
  return h(
    "form",
    {
      class: "card",
      id: "pp-form",
      novalidate: true,
      "aria-labelledby": "pp-h",
      onsubmit: async (ev) => {
        ev.preventDefault();
        showError(err, null);
        done.hidden = true;
        if (!current.value) {
          showError(err, new Error("Type your current passphrase first."));
          current.focus();
          return;
        }
        if ([...next.value].length < minLength) {
          showError(err, new Error(`The new passphrase is too short: use at least ${minLength} characters.`));
          next.focus();
          return;
        }
        if (next.value !== again.value) {
          showError(err, new Error("The two new passphrases differ. Type the same one in both fields."));
          again.value = "";
          again.focus();
          return;
        }
        submit.disabled = true;
        submit.textContent = "Changing…";
        try {
          await papi.changePassphrase(current.value, next.value);
          clear();
          done.textContent = "Changed. From now on the new passphrase opens Hearth on this computer. A backup made before still opens with the old one.";
          done.hidden = false;
          announce("Passphrase changed.");
        } catch (e) {
          current.value = "";
          showError(err, e);
          current.focus();
        } finally {
          submit.disabled = false;
          submit.textContent = "Change passphrase";
        }
      },
    },
    h("h2", { id: "pp-h" }, "Passphrase"),
    h("p", null, "Change the passphrase that opens Hearth on this computer. Your groups, messages and journal stay as they are. From a terminal, the same is:"),
    h("pre", { class: "mono" }, "hearth passphrase"),
    h("div", { class: "field" }, h("label", { for: "pp-current" }, "Current passphrase"), current),
    h(
      "div",
      { class: "field" },
      h("label", { for: "pp-new" }, "New passphrase", h("span", { class: "hint", id: "pp-new-hint" }, `At least ${minLength} characters. A few unrelated words are easy to remember and hard to guess.`)),
      next,
      hint,
    ),
    h("div", { class: "field" }, h("label", { for: "pp-again" }, "Type the new one again"), again),
    err,
    done,
    h("div", { class: "actions" }, submit),
  );
}

/**
 * The panic wipe: a button that opens a confirmation, where the member
 * types WIPE. Hearth then destroys its keys first, so everything is
 * unreadable at once, deletes its files, and stops.
 */
function wipeCard(main) {
  const err = errorSlot();
  const word = h("input", { type: "text", id: "wipe-word", autocomplete: "off", spellcheck: "false", autocapitalize: "characters" });
  const confirmForm = h(
    "form",
    {
      class: "wipe-confirm",
      id: "wipe-confirm",
      hidden: true,
      onsubmit: async (ev) => {
        ev.preventDefault();
        if (word.value.trim() !== "WIPE") {
          showError(err, new Error("Nothing was wiped. Type WIPE in capital letters to confirm."));
          word.focus();
          return;
        }
        const go = confirmForm.querySelector("button.danger");
        go.disabled = true;
        go.textContent = "Wiping…";
        try {
          await papi.wipe("WIPE");
        } catch (e) {
          go.disabled = false;
          go.textContent = "Destroy everything now";
          showError(err, e);
          return;
        }
        wiped(main);
      },
    },
    h("p", null, "This cannot be undone. Your journal, check-ins, milestones, groups, messages and keys on this computer are destroyed, and Hearth stops. Other members keep what they already received."),
    h("div", { class: "field" }, h("label", { for: "wipe-word" }, "Type WIPE to confirm"), word),
    err,
    h(
      "div",
      { class: "actions" },
      h(
        "button",
        {
          type: "button",
          class: "secondary",
          onclick: () => {
            confirmForm.hidden = true;
            word.value = "";
            showError(err, null);
            open.hidden = false;
            open.focus();
          },
        },
        "Cancel",
      ),
      h("button", { type: "submit", class: "danger" }, "Destroy everything now"),
    ),
  );
  const open = h(
    "button",
    {
      type: "button",
      class: "danger",
      id: "wipe-open",
      onclick: () => {
        open.hidden = true;
        confirmForm.hidden = false;
        word.focus();
      },
    },
    "Wipe everything…",
  );
  return h(
    "section",
    { class: "card danger-zone", "aria-labelledby": "wipe-h" },
    h("h2", { id: "wipe-h" }, "Panic wipe"),
    h("p", null, "Destroys everything Hearth keeps on this computer at once: the keys first, so all of it is unreadable immediately, then the files. From a terminal, the same is:"),
    h("pre", { class: "mono" }, "hearth wipe"),
    h("div", { class: "actions" }, open),
    confirmForm,
  );
}

/** The page after a wipe: the daemon is gone, and says so plainly. */
function wiped(main) {
  window.dispatchEvent(new Event("hearth-wiped"));
  forgetBrowserStorage();
  document.title = "Wiped · Hearth";
  replace(
    main,
    page(
      h("h1", { tabindex: "-1", id: "wiped-h" }, "Everything was wiped"),
      h("p", { role: "status" }, "The keys were destroyed first, then every file of this Hearth was deleted, and Hearth has stopped. Nothing of it can be read on this computer any more."),
      h("p", null, "You can close this window. To use Hearth again, start it with 'hearth up' and set it up afresh."),
    ),
  );
  const h1 = document.getElementById("wiped-h");
  if (h1) h1.focus();
  announce("Everything was wiped.");
}
