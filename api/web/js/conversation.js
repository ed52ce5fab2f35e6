// A group's conversation and its threads: the message list that pages in
// older history as the member scrolls up, live messages from the event
// stream, and the composer. Each message has its actions: the author's
// own edit and delete, everyone else's report, mute and block, and a host's
// or moderator's remove; a removed message shows who removed it in its
// place, and a muted member's messages are folded behind a button.

import { api } from "./api.js";
import { h, replace, announce, errorSlot, showError, timeEl, confirmAction } from "./dom.js";
import { state, history, markRead, isAdmin } from "./state.js";
import { groupFrame } from "./groupframe.js";
import { modApi, loadMuted, muteLevel, setMute, removalText, guidelinesGate, mustAccept } from "./moderation.js";

/**
 * What one conversation screen shows open: the message being edited,
 * reported or removed (one at a time), and muted messages shown anyway.
 */
function newUI() {
  return { editing: "", reporting: "", removing: "", revealed: new Set(), error: null };
}

/** How close to the bottom (px) counts as "reading the newest". */
const nearBottom = 120;

/** The element of one message. inThread hides the thread links. */
function messageEl(g, hist, m, me, opts) {
  const mine = me && m.author === me.member;
  const parent = m.reply_to ? hist.byId.get(m.reply_to) : null;
  const replies = opts.replyCounts ? opts.replyCounts.get(m.id) || 0 : 0;
  const threadHref = `#/g/${g}/t/${hist.root(m).id}`;
  const ui = opts.ui || newUI();
  const who = m.pseudonym || "Unknown member";
  const head = h(
    "div",
    { class: "message-head" },
    h("span", { class: "author" }, who),
    mine ? h("span", { class: "muted" }, "(you)") : null,
    timeEl(m.sent),
    m.late
      ? h(
          "span",
          { class: "badge late", title: "This message reached your computer later than it was sent, so it may appear out of order." },
          "Arrived late",
        )
      : null,
    m.edited && !m.removed ? h("span", { class: "badge edited", title: "The author changed this message after sending it." }, "Edited") : null,
  );
  const cls = "message" + (mine ? " mine" : "") + (opts.root ? " thread-root" : "");
  const threadLinks = (withReply) =>
    opts.inThread
      ? null
      : h(
          "div",
          { class: "message-actions" },
          withReply && !opts.removedFromGroup
            ? h("a", { href: threadHref, "data-key": `reply-${m.id}`, "data-reply": "1", "aria-label": `Reply to ${who}` }, "Reply")
            : null,
          replies > 0
            ? h("a", { href: threadHref, "data-key": `thread-${m.id}` }, `${replies} repl${replies === 1 ? "y" : "ies"}: open thread`)
            : null,
          withReply ? actionsMenu(g, m, mine, opts) : null,
        );
  if (m.removed) {
    return h(
      "li",
      { class: cls + " removed", id: `m-${m.id}`, "data-id": m.id },
      head,
      h("p", { class: "tombstone" }, removalText(m.removed)),
      threadLinks(false),
    );
  }
  if (m.muted && !ui.revealed.has(m.id)) {
    return h(
      "li",
      { class: cls + " folded", id: `m-${m.id}`, "data-id": m.id },
      h(
        "p",
        { class: "folded-text" },
        `A message from ${who}, whom you muted. `,
        h("button", { type: "button", class: "link", "data-act": "reveal", "data-id": m.id, "data-key": `reveal-${m.id}` }, "Show it"),
      ),
    );
  }
  let body = h("p", { class: "message-text" }, m.text);
  if (ui.editing === m.id) body = inlineForm(m, "edit", "Edit your message", m.text, "Save", ui);
  const panel =
    ui.reporting === m.id
      ? inlineForm(m, "report", "Why are you reporting this message? Only the hosts and moderators will read your report.", "", "Send report", ui)
      : ui.removing === m.id
        ? inlineForm(m, "remove", "Reason members will see in its place (optional)", "", "Remove for everyone", ui)
        : null;
  return h(
    "li",
    { class: cls, id: `m-${m.id}`, "data-id": m.id },
    head,
    m.reply_to && !opts.inThread
      ? h(
          "p",
          { class: "reply-context" },
          parent ? `Reply to ${parent.pseudonym}: “${snippet(parent.removed ? "a removed message" : parent.text)}”` : "Reply to an earlier message",
        )
      : null,
    body,
    panel,
    opts.inThread ? h("div", { class: "message-actions" }, actionsMenu(g, m, mine, opts)) : threadLinks(true),
  );
}

/** The "More" menu of a message: what this member may do with it. */
function actionsMenu(g, m, mine, opts) {
  if (opts.removedFromGroup) return null;
  const who = m.pseudonym || "this member";
  const b = (act, label, extra = {}) =>
    h("button", { type: "button", class: "link" + (extra.danger ? " danger-link" : ""), "data-act": act, "data-id": m.id, "data-key": `${act}-${m.id}` }, label);
  const items = [];
  if (mine) {
    items.push(b("edit", "Edit"), b("delete", "Delete", { danger: true }));
  } else {
    const level = muteLevel(g, m.author);
    items.push(b("report", "Report to the hosts"));
    items.push(level === "muted" ? b("unmute", `Unmute ${who}`) : b("mute", `Mute ${who}`));
    items.push(b("block", `Block ${who}`));
  }
  if (opts.admin && !mine) items.push(b("remove", "Remove for everyone", { danger: true }));
  return h(
    "details",
    { class: "message-menu" },
    h("summary", { "aria-label": `More actions for the message from ${who}`, "data-key": `menu-${m.id}` }, "More"),
    h("div", { class: "message-menu-items" }, items),
  );
}

/** An inline form under (or instead of) a message's text. */
function inlineForm(m, kind, label, value, submit, ui) {
  const id = `${kind}-text-${m.id}`;
  const area = h("textarea", { id, rows: kind === "edit" ? 3 : 2, "data-field": kind });
  area.value = value;
  const err = errorSlot();
  if (ui.error && ui.error.id === m.id) showError(err, ui.error.err);
  return h(
    "form",
    { class: "inline-form", "data-form": kind, "data-id": m.id, novalidate: true },
    h("label", { for: id }, label),
    area,
    h(
      "div",
      { class: "notice-actions" },
      h("button", { type: "submit", class: kind === "edit" ? "small" : "danger small" }, submit),
      h("button", { type: "button", class: "secondary small", "data-act": "cancel", "data-id": m.id }, "Cancel"),
    ),
    err,
  );
}

/**
 * Wires the message actions of list (event delegation, so re-rendering the
 * list keeps them): g's messages in hist, ui the screen's state, render
 * redraws the list, reload shows the screen again from the daemon.
 */
function wireActions(list, g, hist, ui, render, reload) {
  const after = (id, what) => {
    render();
    const li = document.getElementById(`m-${id}`);
    const menu = li && li.querySelector("summary");
    if (menu) menu.focus({ preventScroll: true });
    if (what) announce(what);
  };
  const fail = (id, err) => {
    ui.error = { id, err };
    render();
  };
  list.addEventListener("click", async (ev) => {
    const btn = ev.target.closest("button[data-act]");
    if (!btn || !list.contains(btn)) return;
    const id = btn.getAttribute("data-id");
    const m = hist.byId.get(id);
    if (!m) return;
    const who = m.pseudonym || "this member";
    ui.error = null;
    switch (btn.getAttribute("data-act")) {
      case "reveal":
        ui.revealed.add(id);
        render();
        return;
      case "edit":
      case "report":
      case "remove":
        ui.editing = ui.reporting = ui.removing = "";
        ui[{ edit: "editing", report: "reporting", remove: "removing" }[btn.getAttribute("data-act")]] = id;
        render();
        {
          const area = document.querySelector(`#m-${id} textarea`);
          if (area) area.focus();
        }
        return;
      case "cancel":
        ui.editing = ui.reporting = ui.removing = "";
        after(id, "");
        return;
      case "delete": {
        const ok = await confirmAction({
          title: "Delete your message?",
          body: "Every member's computer erases it and shows that you deleted it. Anyone who already read it may remember it. This cannot be undone.",
          confirm: "Delete",
        });
        if (!ok) return;
        try {
          await modApi.deleteOwn(g, id);
          Object.assign(m, { text: "", removed: { by: "author", reason: "" } });
          after(id, "Your message was deleted.");
        } catch (e) {
          fail(id, e);
        }
        return;
      }
      case "mute":
      case "unmute":
      case "block": {
        const act = btn.getAttribute("data-act");
        if (act !== "unmute") {
          const block = act === "block";
          const ok = await confirmAction({
            title: block ? `Block ${who}?` : `Mute ${who}?`,
            body: block
              ? `You will not see ${who}'s messages in this group. Only your computer knows: nothing is sent, and ${who} is not told. You can unblock them from the Members tab.`
              : `${who}'s messages will be folded away; you can still open each one. Only your computer knows: nothing is sent, and ${who} is not told.`,
            confirm: block ? "Block" : "Mute",
            danger: block,
          });
          if (!ok) return;
        }
        try {
          await setMute(g, m.author, act);
          announce(act === "block" ? `${who} is blocked.` : act === "mute" ? `${who} is muted.` : `${who} is no longer muted.`);
          // The daemon serves history with the new levels: show it again.
          reload();
        } catch (e) {
          fail(id, e);
        }
        return;
      }
    }
  });
  list.addEventListener("submit", async (ev) => {
    const form = ev.target.closest("form[data-form]");
    if (!form) return;
    ev.preventDefault();
    const id = form.getAttribute("data-id");
    const kind = form.getAttribute("data-form");
    const m = hist.byId.get(id);
    const text = form.querySelector("textarea").value.trim();
    if (!m) return;
    try {
      if (kind === "edit") {
        if (!text) throw new Error("Write something, or delete the message instead.");
        const upd = await modApi.edit(g, id, text);
        Object.assign(m, { text: upd.text, edited: upd.edited });
        ui.editing = "";
        after(id, "Your message was changed for everyone.");
      } else if (kind === "report") {
        await modApi.report(g, id, text);
        ui.reporting = "";
        after(id, "Reported. Only the hosts and moderators can read your report.");
      } else if (kind === "remove") {
        const ok = await confirmAction({
          title: `Remove ${m.pseudonym}'s message for everyone?`,
          body: "Every member's computer erases it and shows that a moderator removed it" + (text ? ", with your reason." : ".") + " This cannot be undone.",
          confirm: "Remove",
        });
        if (!ok) return;
        await modApi.removePost(g, id, text);
        ui.removing = "";
        Object.assign(m, { text: "", removed: { by: "moderator", reason: text } });
        after(id, "The message was removed for everyone.");
      }
    } catch (e) {
      fail(id, e);
    }
  });
}

function snippet(text) {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length > 60 ? t.slice(0, 59) + "…" : t;
}

/** The composer form: a labelled textarea with a per-place draft. */
function composer(g, draftKey, label, replyTo, onSent, removed) {
  if (removed) return null;
  const err = errorSlot();
  const area = h("textarea", { id: "compose", name: "text", rows: 2, "aria-describedby": "compose-hint", autocomplete: "off" });
  area.value = state.drafts.get(draftKey) || "";
  area.addEventListener("input", () => {
    if (area.value) state.drafts.set(draftKey, area.value);
    else state.drafts.delete(draftKey);
  });
  const send = h("button", { type: "submit" }, "Send");
  const hint = h("span", { class: "hint", id: "compose-hint" });
  const sayKeys = () => {
    hint.textContent = touchTyping() ? "Enter starts a new line; Send sends." : "Enter sends. Shift+Enter starts a new line.";
  };
  sayKeys();
  area.addEventListener("focus", sayKeys);
  const form = h(
    "form",
    { class: "composer", novalidate: true },
    h("label", { for: "compose" }, label),
    h("div", { class: "composer-row" }, area, send),
    hint,
    err,
  );
  const submit = async () => {
    const text = area.value.trim();
    if (!text) {
      showError(err, new Error("Write something first."));
      area.focus();
      return;
    }
    send.disabled = true;
    showError(err, null);
    try {
      const res = await api.post(g, text, replyTo);
      area.value = "";
      state.drafts.delete(draftKey);
      onSent(res.id);
    } catch (e) {
      showError(err, e);
    } finally {
      send.disabled = false;
      area.focus();
    }
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    submit();
  });
  area.addEventListener("keydown", (ev) => {
    // On a touch screen the keyboard's Enter is the only way to start a
    // new line, so there it does that, and Send sends.
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing && !touchTyping()) {
      ev.preventDefault();
      submit();
    }
  });
  return form;
}

/** Whether the member types on a touch screen (a phone or tablet): its
 *  main pointer is coarse. Asked at each key press, as it can change. */
function touchTyping() {
  return window.matchMedia("(pointer: coarse)").matches;
}

/** Makes sure the message with id shows up even if its event is slow. */
async function catchUp(g, hist, id, render) {
  await new Promise((r) => setTimeout(r, 1500));
  if (hist.byId.has(id)) return;
  try {
    hist.add(await api.messages(g, 50), false);
    render();
  } catch {
    // The live stream will bring it.
  }
}

/** Keeps focus on the same link across a re-render of the list. */
function keepFocus(container, fn) {
  const key = document.activeElement && container.contains(document.activeElement) ? document.activeElement.getAttribute("data-key") : null;
  fn();
  if (key) {
    const el = container.querySelector(`[data-key="${key}"]`);
    if (el) el.focus({ preventScroll: true });
  }
}

export async function conversationView(main, [g], ctx) {
  const [head, d] = await groupFrame(g, "conversation");
  document.title = `${d.name} · Hearth`;
  const [hist] = await Promise.all([history(g), loadMuted(g)]);
  state.viewing = g;
  markRead(g);
  const ui = newUI();
  const admin = isAdmin(d) && !d.removed;

  const list = h("ol", { class: "messages", "aria-label": `Messages in ${d.name}` });
  const older = h("div", { class: "history-state" });
  const scroller = h("div", { class: "scroller", tabindex: "0", "aria-label": "Conversation" }, older, list);
  const newBelow = h("button", { type: "button", class: "secondary small new-below", hidden: true, onclick: () => toBottom() }, "New messages below");
  const toBottom = () => {
    scroller.scrollTop = scroller.scrollHeight;
    newBelow.hidden = true;
  };

  const renderOlder = () => {
    if (hist.complete) {
      replace(older, h("p", { class: "muted small" }, hist.list.length ? "This is the start of what you can read here." : "No messages yet. Say hello."));
    } else {
      replace(older, h("button", { type: "button", class: "secondary small", id: "load-older", onclick: () => loadOlder(true) }, "Show earlier messages"));
    }
  };

  const render = () => {
    const counts = new Map();
    for (const m of hist.list) {
      const r = hist.root(m);
      if (r !== m) counts.set(r.id, (counts.get(r.id) || 0) + 1);
    }
    const top = hist.list.filter((m) => hist.root(m) === m);
    keepFocus(list, () =>
      replace(list, top.map((m) => messageEl(g, hist, m, d.me, { replyCounts: counts, ui, admin, removedFromGroup: d.removed }))),
    );
    renderOlder();
  };

  // Paging: when the top of the list comes into view, the older page is
  // loaded and the scroll position kept, so what the member is reading
  // does not jump.
  const loadOlder = async (byButton) => {
    if (hist.complete || hist.loading) return;
    replace(older, h("p", { class: "muted small", role: "status" }, "Loading earlier messages…"));
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    try {
      const n = await hist.older();
      if (!ctx.isCurrent()) return;
      render();
      scroller.scrollTop = scroller.scrollHeight - fromBottom;
      if (byButton) announce(n ? `${n} earlier messages shown.` : "No earlier messages.");
    } catch (e) {
      replace(older, h("p", { class: "error", role: "alert" }, e.message));
    }
  };
  const observer = new IntersectionObserver(
    (entries) => {
      if (!ctx.isCurrent()) {
        observer.disconnect();
        return;
      }
      if (entries.some((e) => e.isIntersecting) && scroller.scrollHeight > scroller.clientHeight) loadOlder(false);
    },
    { root: scroller, rootMargin: "200px 0px 0px 0px" },
  );

  // A member who has not accepted the group's guidelines is shown them
  // instead of the composer.
  const form = mustAccept(d)
    ? guidelinesGate(g, d, () => ctx.rerender())
    : composer(g, g, `Write to ${d.name}`, "", (id) => {
        toBottom();
        catchUp(g, hist, id, () => ctx.isCurrent() && (render(), toBottom()));
      }, d.removed);
  wireActions(list, g, hist, ui, render, () => ctx.rerender());

  render();
  replace(main, h("div", { class: "page" }, head, h("div", { class: "conversation" }, scroller, newBelow, form)));
  toBottom();
  observer.observe(older);

  // "Reply" opens the thread with the composer ready.
  list.addEventListener("click", (ev) => {
    const a = ev.target.closest("a[data-reply]");
    if (a) state.focusComposer = true;
  });

  ctx.onEvent((type, data) => {
    if (data.group !== g) return;
    if (type === "message") {
      const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < nearBottom;
      render();
      const m = data.message;
      if (atBottom || (m && m.author === d.me.member)) toBottom();
      else newBelow.hidden = false;
      if (m && m.author !== d.me.member) announce(`New message from ${m.pseudonym}.`);
    } else if (type === "message_edited" || type === "message_removed") {
      render();
    } else if (type === "removed" || (type === "guidelines" && mustAccept(d) !== !!(form && form.id === "guidelines-gate"))) {
      ctx.rerender();
    }
  });
}

export async function threadView(main, [g, rootId], ctx) {
  const [head, d] = await groupFrame(g, "conversation");
  document.title = `Thread · ${d.name} · Hearth`;
  const [hist] = await Promise.all([history(g), loadMuted(g)]);
  const ui = newUI();
  const admin = isAdmin(d) && !d.removed;
  state.viewing = g;
  markRead(g);
  // The thread's first message may be older than what is loaded.
  for (let i = 0; i < 20 && !hist.byId.has(rootId) && !hist.complete; i++) {
    await hist.older();
  }
  const back = h("p", null, h("a", { href: `#/g/${g}` }, "← Back to the conversation"));
  if (!hist.byId.has(rootId)) {
    replace(main, h("div", { class: "page" }, head, back, h("p", null, "This message is not here any more. The group's retention may have deleted it.")));
    return;
  }
  const root = hist.root(hist.byId.get(rootId));
  const list = h("ol", { class: "messages", "aria-label": `Thread started by ${root.pseudonym}` });
  const scroller = h("div", { class: "scroller", tabindex: "0", "aria-label": "Thread" }, list);
  const render = () => {
    const replies = hist.list.filter((m) => m !== root && hist.root(m) === root);
    const opts = { inThread: true, ui, admin, removedFromGroup: d.removed };
    keepFocus(list, () =>
      replace(
        list,
        messageEl(g, hist, root, d.me, { ...opts, root: true }),
        replies.length === 0
          ? h("li", { class: "muted small history-state" }, "No replies yet.")
          : replies.map((m) => messageEl(g, hist, m, d.me, opts)),
      ),
    );
  };
  const toBottom = () => {
    scroller.scrollTop = scroller.scrollHeight;
  };
  const form = mustAccept(d)
    ? guidelinesGate(g, d, () => ctx.rerender())
    : composer(g, `${g}/t/${root.id}`, `Reply to ${root.pseudonym}`, root.id, (id) => {
        toBottom();
        catchUp(g, hist, id, () => ctx.isCurrent() && (render(), toBottom()));
      }, d.removed);
  wireActions(list, g, hist, ui, render, () => ctx.rerender());
  render();
  replace(
    main,
    h("div", { class: "page" }, head, back, h("h2", { id: "thread-title" }, "Thread"), h("div", { class: "conversation" }, scroller, form)),
  );
  toBottom();
  if (state.focusComposer && form) {
    state.focusComposer = false;
    const area = form.querySelector("textarea");
    if (area) {
      area.focus();
      ctx.keepFocus = true;
    }
  }
  ctx.onEvent((type, data) => {
    if (data.group !== g) return;
    if (type === "message") {
      render();
      toBottom();
      const m = data.message;
      if (m && m.author !== d.me.member && hist.root(m) === root) announce(`New reply from ${m.pseudonym}.`);
    } else if (type === "message_edited" || type === "message_removed") {
      render();
    } else if (type === "removed" || (type === "guidelines" && mustAccept(d) !== !!(form && form.id === "guidelines-gate"))) {
      ctx.rerender();
    }
  });
}
