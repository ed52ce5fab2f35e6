// The group's mailbox: which always-on machine keeps the group's messages
// for members who are offline (it can read none of them), and, for hosts,
// naming one with the text it prints ('hearth mailbox info') or no longer
// using it. Everything shown here comes from the daemon; nothing is kept
// in the page.

import { request } from "./api.js";
import { h, replace, announce, errorSlot, showError, confirmAction } from "./dom.js";
import { groupFrame } from "./groupframe.js";

const enc = encodeURIComponent;
const path = (g) => `/api/v1/groups/${enc(g)}/mailbox`;

export const mailboxApi = {
  get: (g) => request("GET", path(g)),
  set: (g, registration) => request("PUT", path(g), { registration }),
  remove: (g) => request("DELETE", path(g)),
};

/** The group's Mailbox tab. */
export async function mailboxView(main, [g], ctx) {
  const [head, d] = await groupFrame(g, "mailbox");
  document.title = `Mailbox · ${d.name} · Hearth`;
  let mb = null;
  try {
    mb = await mailboxApi.get(g);
  } catch (e) {
    if (e.code !== "no_mailbox") throw e;
  }
  const host = !!d.me && d.me.role === "host" && !d.removed;
  const parts = [
    head,
    h("h2", { id: "mailbox-title" }, "Mailbox"),
    h(
      "p",
      null,
      "A mailbox is an always-on computer, usually the host's, that keeps the group's messages for members who are offline, so they catch up even when nobody else is online. It cannot read them: it holds only what it needs to store them and to hand them back to members.",
    ),
  ];
  if (mb) {
    parts.push(
      h(
        "section",
        { class: "card", "aria-labelledby": "mailbox-title" },
        h("p", { id: "mailbox-current" }, "This group's mailbox is ", h("code", { class: "mailbox-id" }, mb.peer_id), "."),
        mb.addrs.length > 0
          ? h("ul", { class: "small muted mailbox-addrs", "aria-label": "Where members reach it" }, mb.addrs.map((a) => h("li", null, h("code", null, a))))
          : null,
        host ? removeButton(g, ctx) : null,
      ),
    );
  } else {
    parts.push(h("p", { id: "mailbox-none" }, "This group has no mailbox." + (host ? " A host can name one below." : "")));
  }
  if (host) parts.push(nameForm(g, mb, ctx));
  replace(main, h("div", { class: "page" }, ...parts));
}

function nameForm(g, mb, ctx) {
  const err = errorSlot();
  const area = h("textarea", { id: "mailbox-registration", rows: 4, spellcheck: "false", autocomplete: "off", "aria-describedby": "mailbox-registration-hint" });
  const save = h("button", { type: "submit" }, mb ? "Use this mailbox instead" : "Use this mailbox");
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "mailbox-name-title" },
    h("h2", { id: "mailbox-name-title" }, mb ? "Name another mailbox" : "Name a mailbox"),
    h("label", { for: "mailbox-registration" }, "The mailbox's registration text"),
    area,
    h(
      "span",
      { class: "hint", id: "mailbox-registration-hint" },
      "On the mailbox computer, run 'hearth mailbox info' and paste what it prints (it begins \"hearth-mailbox:\"). Every member learns the mailbox; from now on it receives what it needs to keep the group's messages, and nothing that reads them.",
    ),
    save,
    err,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = area.value.trim();
    const word = text.split(/\s+/).find((w) => w.toLowerCase().startsWith("hearth-mailbox:"));
    if (!word) {
      showError(err, new Error("Paste the text 'hearth mailbox info' printed on the mailbox; it begins \"hearth-mailbox:\"."));
      area.focus();
      return;
    }
    save.disabled = true;
    showError(err, null);
    try {
      await mailboxApi.set(g, word);
      announce("The group's mailbox is named.");
      ctx.rerender();
    } catch (e) {
      showError(err, e);
      save.disabled = false;
    }
  });
  return form;
}

function removeButton(g, ctx) {
  const err = errorSlot();
  const b = h("button", { type: "button", id: "mailbox-remove", class: "secondary" }, "Stop using this mailbox");
  b.addEventListener("click", async () => {
    const ok = await confirmAction({
      title: "Stop using this mailbox?",
      body: "It receives nothing of what the group says from now on. What it already holds stays there until it expires.",
      confirm: "Stop using it",
    });
    if (!ok) return;
    b.disabled = true;
    try {
      await mailboxApi.remove(g);
      announce("The group no longer has a mailbox.");
      ctx.rerender();
    } catch (e) {
      showError(err, e);
      b.disabled = false;
    }
  });
  return h("div", null, b, err);
}
