// Moderation: the group's pinned guidelines (read, accepted before
// posting, pinned by hosts and moderators), the reports inbox of hosts and
// moderators, and what the conversation needs to act on a message (edit,
// delete, report, remove, mute, block) and to keep its loaded history in
// step with edits and removals made elsewhere.
//
// Mute and block stay on this computer: the daemon marks a muted member's
// posts "muted" (the conversation folds them) and leaves a blocked
// member's posts out entirely; nothing is sent to anyone.

import { request } from "./api.js";
import { h, replace, announce, errorSlot, showError, confirmAction, timeEl } from "./dom.js";
import { state, loadDetail, isAdmin } from "./state.js";
import { groupFrame } from "./groupframe.js";
import { notify } from "./notify.js";

const enc = encodeURIComponent;
const gp = (g) => `/api/v1/groups/${enc(g)}`;

export const modApi = {
  edit: (g, id, text) => request("PUT", `${gp(g)}/messages/${enc(id)}`, { text }),
  deleteOwn: (g, id) => request("DELETE", `${gp(g)}/messages/${enc(id)}`),
  removePost: (g, id, reason) => request("POST", `${gp(g)}/messages/${enc(id)}/remove`, { reason }),
  report: (g, id, reason) => request("POST", `${gp(g)}/messages/${enc(id)}/report`, { reason }),
  reports: (g) => request("GET", `${gp(g)}/reports`),
  dismiss: (g, id) => request("DELETE", `${gp(g)}/reports/${enc(id)}`),
  guidelines: (g) => request("GET", `${gp(g)}/guidelines`),
  setGuidelines: (g, text) => request("PUT", `${gp(g)}/guidelines`, { text }),
  acceptGuidelines: (g) => request("POST", `${gp(g)}/guidelines/accept`, {}),
  muted: (g) => request("GET", `${gp(g)}/muted`),
  member: (g, m, action) => request("POST", `${gp(g)}/members/${enc(m)}/${action}`, {}),
};

/** group ID → Map(member ID → "muted" | "blocked"), as last fetched. */
const muteLevels = new Map();

/** The members this member muted or blocked in group g. */
export async function loadMuted(g) {
  try {
    const list = await modApi.muted(g);
    muteLevels.set(g, new Map(list.map((m) => [m.member, m.level])));
  } catch {
    if (!muteLevels.has(g)) muteLevels.set(g, new Map());
  }
  return muteLevels.get(g);
}

/** "muted", "blocked" or "" for member m of group g. */
export function muteLevel(g, m) {
  const levels = muteLevels.get(g);
  return (levels && levels.get(m)) || "";
}

/** Mutes, blocks, unmutes or unblocks member m of group g on this node. */
export async function setMute(g, m, action) {
  await modApi.member(g, m, action);
  await loadMuted(g);
  // History pages are served with the new levels applied.
  state.histories.delete(g);
}

/**
 * On the Members tab: whether this member muted or blocked member m of
 * group g, with the button to undo it (nothing when neither). reload
 * redraws the list.
 */
export function muteControls(g, m, reload) {
  const level = muteLevel(g, m.member);
  if (!level) return null;
  const undo = level === "blocked" ? "unblock" : "unmute";
  return h(
    "span",
    { class: "mute-state" },
    h("span", { class: "badge" }, level === "blocked" ? "Blocked by you" : "Muted by you"),
    " ",
    h(
      "button",
      {
        type: "button",
        class: "secondary small",
        id: `${undo}-${m.member}`,
        "aria-label": `${level === "blocked" ? "Unblock" : "Unmute"} ${m.pseudonym}`,
        onclick: async () => {
          await setMute(g, m.member, undo);
          announce(`${m.pseudonym}'s messages show as usual again.`);
          await reload();
        },
      },
      level === "blocked" ? "Unblock" : "Unmute",
    ),
  );
}

/** Words for a removal, shown in the removed message's place. */
export function removalText(r) {
  if (!r) return "";
  if (r.by === "author") return "The author deleted this message.";
  return r.reason ? `A moderator removed this message: ${r.reason}` : "A moderator removed this message.";
}

/**
 * Keeps loaded histories in step with moderation events, and tells hosts
 * and moderators of new reports. Called for every event, before the
 * screen's own handler.
 */
export function handleModerationEvent(type, data) {
  const g = data.group;
  const hist = state.histories.get(g);
  switch (type) {
    case "message_edited": {
      const m = data.message;
      const old = hist && m && hist.byId.get(m.id);
      if (old) Object.assign(old, { text: m.text, edited: m.edited });
      break;
    }
    case "message_removed": {
      const r = data.removal;
      const old = hist && r && hist.byId.get(r.post);
      if (old) Object.assign(old, { text: "", removed: r });
      break;
    }
    case "report": {
      const r = data.report;
      notify({
        kind: "report",
        title: `New report in ${groupName(g)}`,
        // Names and text stay out of the notice: it may show on a locked
        // screen.
        body: "A member reported a message. Open Reports to read it.",
        href: `#/g/${g}/reports`,
        group: groupName(g),
        tag: `report:${g}`,
      });
      break;
    }
    case "guidelines": {
      const d = state.details.get(g);
      const gl = data.guidelines;
      if (d && gl) {
        d.guidelines = gl.version;
        d.guidelines_accepted = gl.current;
      }
      break;
    }
  }
}

function groupName(g) {
  const s = state.groups.get(g) || state.details.get(g);
  return s ? s.name : "a group";
}

/**
 * The panel shown instead of the composer to a member who has not accepted
 * the group's current guidelines: the guidelines, and a button to accept
 * them. onAccepted runs once they are accepted.
 */
export function guidelinesGate(g, d, onAccepted) {
  const err = errorSlot();
  const text = h("div", { class: "guidelines-text", id: "gate-text" }, h("p", { class: "muted" }, "Loading the guidelines…"));
  const accept = h("button", { type: "button", id: "accept-guidelines" }, "I accept these guidelines");
  const panel = h(
    "section",
    { class: "card guidelines-gate", "aria-labelledby": "gate-title", id: "guidelines-gate" },
    h("h2", { id: "gate-title" }, "Before you post: this group's guidelines"),
    h("p", { class: "small muted" }, "The hosts of this group ask every member to read and accept these. You can read the conversation meanwhile."),
    text,
    accept,
    err,
  );
  modApi
    .guidelines(g)
    .then((gl) => replace(text, h("p", { class: "guidelines-body" }, gl.text)))
    .catch((e) => showError(err, e));
  accept.addEventListener("click", async () => {
    accept.disabled = true;
    showError(err, null);
    try {
      const gl = await modApi.acceptGuidelines(g);
      d.guidelines = gl.version;
      d.guidelines_accepted = gl.current;
      announce("Guidelines accepted. You can post now.");
      onAccepted();
    } catch (e) {
      showError(err, e);
      accept.disabled = false;
    }
  });
  return panel;
}

/** Whether member detail d still has to accept the group's guidelines. */
export function mustAccept(d) {
  return !d.removed && d.guidelines > 0 && !d.guidelines_accepted;
}

/** The group's guidelines: read and accept them, or (hosts and moderators) pin new ones. */
export async function guidelinesView(main, [g], ctx) {
  const [head, d] = await groupFrame(g, "guidelines");
  document.title = `Guidelines · ${d.name} · Hearth`;
  const gl = await modApi.guidelines(g);
  const parts = [head, h("h2", { id: "guidelines-title" }, "Guidelines")];
  if (gl.version === 0) {
    parts.push(h("p", { id: "guidelines-none" }, "This group has no guidelines yet." + (isAdmin(d) ? " Write some below: every member sees them and is asked to accept them before posting." : "")));
  } else {
    parts.push(
      h(
        "section",
        { class: "card", "aria-labelledby": "guidelines-title" },
        h("p", { class: "guidelines-body", id: "guidelines-text" }, gl.text),
        h("p", { class: "small muted" }, `Version ${gl.version}, pinned by ${gl.pseudonym} `, timeEl(gl.set), "."),
        gl.current
          ? h("p", { class: "small", id: "guidelines-status" }, "You have accepted these guidelines.")
          : acceptButton(g, d, ctx),
      ),
    );
  }
  if (isAdmin(d) && !d.removed) parts.push(editor(g, gl, ctx));
  replace(main, h("div", { class: "page" }, ...parts));
}

function acceptButton(g, d, ctx) {
  const err = errorSlot();
  const b = h("button", { type: "button", id: "accept-guidelines" }, "I accept these guidelines");
  b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      const gl = await modApi.acceptGuidelines(g);
      d.guidelines_accepted = gl.current;
      announce("Guidelines accepted.");
      ctx.rerender();
    } catch (e) {
      showError(err, e);
      b.disabled = false;
    }
  });
  return h("div", null, b, err);
}

function editor(g, gl, ctx) {
  const err = errorSlot();
  const area = h("textarea", { id: "guidelines-edit", rows: 8, maxlength: 8192, "aria-describedby": "guidelines-edit-hint" });
  area.value = gl.text || "";
  const save = h("button", { type: "submit" }, gl.version ? "Pin the new version" : "Pin these guidelines");
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "guidelines-edit-title" },
    h("h2", { id: "guidelines-edit-title" }, gl.version ? "Change the guidelines" : "Write the guidelines"),
    h("label", { for: "guidelines-edit" }, "Guidelines"),
    area,
    h("span", { class: "hint", id: "guidelines-edit-hint" }, "Every member sees the new version and is asked to accept it before posting again. Members who join later receive it too."),
    save,
    err,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = area.value.trim();
    if (!text) {
      showError(err, new Error("Write the guidelines first."));
      area.focus();
      return;
    }
    save.disabled = true;
    showError(err, null);
    try {
      await modApi.setGuidelines(g, text);
      await loadDetail(g);
      announce("The guidelines are pinned.");
      ctx.rerender();
    } catch (e) {
      showError(err, e);
      save.disabled = false;
    }
  });
  return form;
}

/** The reports inbox of a host or moderator. */
export async function reportsView(main, [g], ctx) {
  const [head, d] = await groupFrame(g, "reports");
  document.title = `Reports · ${d.name} · Hearth`;
  const list = await modApi.reports(g);
  const items = list.slice().reverse();
  const parts = [
    head,
    h("h2", { id: "reports-title" }, "Reports"),
    h("p", { class: "small muted" }, "Members' reports of messages reach only the group's hosts and moderators. Dismissing a report erases it from this computer."),
  ];
  if (!isAdmin(d)) {
    parts.push(h("p", null, "Only hosts and moderators receive reports."));
  } else if (items.length === 0) {
    parts.push(h("p", { id: "reports-none" }, "No reports. When a member reports a message, it appears here."));
  } else {
    parts.push(h("ul", { class: "reports", id: "reports", "aria-labelledby": "reports-title" }, items.map((r) => reportItem(g, r, ctx))));
  }
  replace(main, h("div", { class: "page" }, ...parts));
  ctx.onEvent((type, data) => {
    if (data.group === g && (type === "report" || type === "message_removed")) ctx.rerender();
  });
}

function reportItem(g, r, ctx) {
  const err = errorSlot();
  const open = r.status === "open";
  const reason = h("input", { type: "text", id: `remove-reason-${r.id}`, maxlength: 1024 });
  const actions = h(
    "div",
    { class: "notice-actions" },
    open
      ? h(
          "button",
          {
            type: "button",
            class: "danger small",
            "data-report": r.id,
            onclick: async (ev) => {
              const ok = await confirmAction({
                title: `Remove ${r.pseudonym}'s message?`,
                body: "Every member's computer erases it and shows that a moderator removed it, with your reason. This cannot be undone.",
                confirm: "Remove the message",
              });
              if (!ok) return;
              ev.target.disabled = true;
              try {
                await modApi.removePost(g, r.post, reason.value.trim());
                announce("The message was removed.");
                ctx.rerender();
              } catch (e) {
                showError(err, e);
                ev.target.disabled = false;
              }
            },
          },
          "Remove the message",
        )
      : null,
    h(
      "button",
      {
        type: "button",
        class: "secondary small",
        onclick: async (ev) => {
          ev.target.disabled = true;
          try {
            await modApi.dismiss(g, r.id);
            announce("Report dismissed.");
            ctx.rerender();
          } catch (e) {
            showError(err, e);
            ev.target.disabled = false;
          }
        },
      },
      "Dismiss",
    ),
  );
  return h(
    "li",
    { class: "report card", id: `report-${r.id}` },
    h("p", null, h("strong", null, r.reporter_pseudonym), ` reported a message by `, h("strong", null, r.pseudonym), " · ", timeEl(r.sent)),
    r.excerpt ? h("blockquote", { class: "report-excerpt" }, r.excerpt) : h("p", { class: "muted small" }, "The message has been removed; its text is erased."),
    r.reason ? h("p", null, "Reason given: ", r.reason) : h("p", { class: "muted small" }, "No reason given."),
    open ? h("div", { class: "field" }, h("label", { for: `remove-reason-${r.id}` }, "Reason members will see if you remove it (optional)"), reason) : null,
    actions,
    err,
  );
}
