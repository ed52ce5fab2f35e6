// A group's conversation and its threads: the message list that pages in
// older history as the member scrolls up, live messages from the event
// stream, and the composer.

import { api } from "./api.js";
import { h, replace, announce, errorSlot, showError, timeEl } from "./dom.js";
import { state, history, markRead } from "./state.js";
import { groupFrame } from "./groupframe.js";

/** How close to the bottom (px) counts as "reading the newest". */
const nearBottom = 120;

/** The element of one message. inThread hides the thread links. */
function messageEl(g, hist, m, me, opts) {
  const mine = me && m.author === me.member;
  const parent = m.reply_to ? hist.byId.get(m.reply_to) : null;
  const replies = opts.replyCounts ? opts.replyCounts.get(m.id) || 0 : 0;
  const threadHref = `#/g/${g}/t/${hist.root(m).id}`;
  return h(
    "li",
    { class: "message" + (mine ? " mine" : "") + (opts.root ? " thread-root" : ""), id: `m-${m.id}`, "data-id": m.id },
    h(
      "div",
      { class: "message-head" },
      h("span", { class: "author" }, m.pseudonym || "Unknown member"),
      mine ? h("span", { class: "muted" }, "(you)") : null,
      timeEl(m.sent),
      m.late
        ? h(
            "span",
            { class: "badge late", title: "This message reached your computer later than it was sent, so it may appear out of order." },
            "Arrived late",
          )
        : null,
    ),
    m.reply_to && !opts.inThread
      ? h(
          "p",
          { class: "reply-context" },
          parent ? `Reply to ${parent.pseudonym}: “${snippet(parent.text)}”` : "Reply to an earlier message",
        )
      : null,
    h("p", { class: "message-text" }, m.text),
    opts.inThread
      ? null
      : h(
          "div",
          { class: "message-actions" },
          h("a", { href: threadHref, "data-key": `reply-${m.id}`, "data-reply": "1", "aria-label": `Reply to ${m.pseudonym}` }, "Reply"),
          replies > 0
            ? h("a", { href: threadHref, "data-key": `thread-${m.id}` }, `${replies} repl${replies === 1 ? "y" : "ies"}: open thread`)
            : null,
        ),
  );
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
  const form = h(
    "form",
    { class: "composer", novalidate: true },
    h("label", { for: "compose" }, label),
    h("div", { class: "composer-row" }, area, send),
    h("span", { class: "hint", id: "compose-hint" }, "Enter sends. Shift+Enter starts a new line."),
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
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      submit();
    }
  });
  return form;
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
  const hist = await history(g);
  state.viewing = g;
  markRead(g);

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
    keepFocus(list, () => replace(list, top.map((m) => messageEl(g, hist, m, d.me, { replyCounts: counts }))));
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

  const form = composer(g, g, `Write to ${d.name}`, "", (id) => {
    toBottom();
    catchUp(g, hist, id, () => ctx.isCurrent() && (render(), toBottom()));
  }, d.removed);

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
    } else if (type === "removed") {
      ctx.rerender();
    }
  });
}

export async function threadView(main, [g, rootId], ctx) {
  const [head, d] = await groupFrame(g, "conversation");
  document.title = `Thread · ${d.name} · Hearth`;
  const hist = await history(g);
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
    replace(
      list,
      messageEl(g, hist, root, d.me, { inThread: true, root: true }),
      replies.length === 0
        ? h("li", { class: "muted small history-state" }, "No replies yet.")
        : replies.map((m) => messageEl(g, hist, m, d.me, { inThread: true })),
    );
  };
  const toBottom = () => {
    scroller.scrollTop = scroller.scrollHeight;
  };
  const form = composer(g, `${g}/t/${root.id}`, `Reply to ${root.pseudonym}`, root.id, (id) => {
    toBottom();
    catchUp(g, hist, id, () => ctx.isCurrent() && (render(), toBottom()));
  }, d.removed);
  render();
  replace(
    main,
    h("div", { class: "page" }, head, back, h("h2", { id: "thread-title" }, "Thread"), h("div", { class: "conversation" }, scroller, form)),
  );
  toBottom();
  if (state.focusComposer && form) {
    state.focusComposer = false;
    form.querySelector("textarea").focus();
    ctx.keepFocus = true;
  }
  ctx.onEvent((type, data) => {
    if (data.group !== g) return;
    if (type === "message") {
      render();
      toBottom();
      const m = data.message;
      if (m && m.author !== d.me.member && hist.root(m) === root) announce(`New reply from ${m.pseudonym}.`);
    } else if (type === "removed") {
      ctx.rerender();
    }
  });
}
