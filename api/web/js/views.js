// The screens other than the conversation: groups, creating and joining,
// status, invites, the waiting room and the members list.

import { api, qrDataURL } from "./api.js";
import { h, replace, announce, errorSlot, showError, confirmAction, relative } from "./dom.js";
import { state, loadGroups, isAdmin, loadDetail, inviteFromText, inviteLink } from "./state.js";
import { groupFrame, roleName, updateWaitingTab } from "./groupframe.js";
import { loadMuted, muteControls } from "./moderation.js";

/** What Hearth protects and what it does not, in two sentences. */
export function protectsText() {
  return [
    h(
      "p",
      null,
      "Hearth keeps what your group says encrypted on this computer and sends it only to the group's members, " +
        "directly between your computers, with no company server in the middle.",
    ),
    h(
      "p",
      null,
      "It cannot stop a member from copying or screenshotting what you write, and the computers yours connects to " +
        "can see its internet address and when it is online.",
    ),
  ];
}

function page(...children) {
  return h("div", { class: "page" }, ...children);
}

function setTitle(t) {
  document.title = t ? `${t} · Hearth` : "Hearth";
}

/** Shows an error that stopped a screen from loading. */
export function showFailure(main, err) {
  setTitle("Something went wrong");
  const notFound = err && (err.code === "no_group" || err.status === 404);
  replace(
    main,
    page(
      h("h1", null, notFound ? "This group is not here" : "Something went wrong"),
      h("p", { role: "alert" }, err && err.message ? err.message : String(err)),
      h("div", { class: "actions" }, h("a", { class: "button secondary", href: "#/" }, "Go to your groups"),
        h("button", { type: "button", onclick: () => location.reload() }, "Try again")),
    ),
  );
}

export function notFoundView(main) {
  setTitle("Not found");
  replace(main, page(h("h1", null, "There is nothing at this address"), h("p", null, h("a", { href: "#/" }, "Go to your groups"))));
}

/** The screen for a browser without a session. */
export function signedOutView(main, withInvite = false) {
  setTitle("Sign in");
  replace(
    main,
    page(
      h("h1", { tabindex: "-1" }, "Open Hearth with your sign-in link"),
      withInvite
        ? h("p", { class: "notice", id: "invite-after-sign-in" },
            "You opened an invite link. Sign in first, as below; then open the invite link again, or paste the invite on the Join screen.")
        : null,
      h(
        "p",
        null,
        "This browser is not signed in to Hearth. When Hearth starts, it prints a sign-in link in the terminal; open that link in this browser.",
      ),
      h(
        "p",
        null,
        "Each link works once, for five minutes. If yours was used or has expired, stop Hearth (Ctrl-C in its terminal) and start it again with 'hearth up' to get a new one.",
      ),
      h("section", { class: "card welcome", "aria-labelledby": "protects" }, h("h2", { id: "protects" }, "What Hearth protects"), protectsText()),
    ),
  );
}

// Groups

export async function groupsView(main, _params, ctx) {
  setTitle("Your groups");
  const list = await loadGroups();
  const render = () => {
    const items = [...state.groups.values()];
    replace(
      main,
      page(
        h("h1", null, "Your groups"),
        items.length === 0
          ? h(
              "section",
              { class: "card welcome", "aria-labelledby": "welcome" },
              h("h2", { id: "welcome" }, "Welcome to Hearth"),
              protectsText(),
              h("p", null, "To begin, start a group of your own or join one with an invite from its host."),
            )
          : h(
              "ul",
              { class: "group-list" },
              items.map((gr) => {
                const n = state.unread.get(gr.group) || 0;
                return h(
                  "li",
                  null,
                  h(
                    "a",
                    { class: "group-link", href: `#/g/${gr.group}` },
                    h("span", { class: "group-name" }, gr.name),
                    gr.removed
                      ? h("span", { class: "badge removed" }, "You were removed")
                      : n > 0
                        ? h("span", { class: "badge unread" }, `${n >= 50 ? "50+" : n} new`)
                        : h("span", { class: "muted small" }, "No new messages"),
                    h("span", { class: "muted small" }, `${roleName(gr.role)} · ${gr.members} member${gr.members === 1 ? "" : "s"}`),
                  ),
                );
              }),
            ),
        h(
          "div",
          { class: "actions" },
          h("a", { class: "button", href: "#/new" }, "Start a group"),
          h("a", { class: "button secondary", href: "#/join" }, "Join with an invite"),
        ),
        items.length > 0
          ? h("details", { class: "card" }, h("summary", null, "What Hearth protects, and what it does not"), protectsText())
          : null,
      ),
    );
  };
  render();
  ctx.onEvent((type) => {
    if (type === "message" || type === "removed") {
      render();
    } else if (type === "joined" || type === "member_joined" || type === "member_removed") {
      loadGroups().then(() => ctx.isCurrent() && render());
    }
  });
  return list;
}

function field(id, label, control, hint) {
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label, hint ? h("span", { class: "hint", id: id + "-hint" }, hint) : null),
    control,
  );
}

export async function createView(main, _params, ctx) {
  setTitle("Start a group");
  const err = errorSlot();
  const name = h("input", { type: "text", id: "group-name", name: "name", required: true, maxlength: 64, autocomplete: "off", "aria-describedby": "group-name-hint" });
  const pseud = h("input", { type: "text", id: "group-pseudonym", name: "pseudonym", required: true, maxlength: 64, autocomplete: "off", "aria-describedby": "group-pseudonym-hint" });
  const retention = h(
    "select",
    { id: "group-retention", name: "retention", "aria-describedby": "group-retention-hint" },
    h("option", { value: "forever" }, "Keep messages until the group ends"),
    h("option", { value: "365d" }, "One year"),
    h("option", { value: "90d" }, "90 days"),
    h("option", { value: "30d" }, "30 days"),
    h("option", { value: "7d" }, "7 days"),
  );
  const submit = h("button", { type: "submit" }, "Start the group");
  const form = h(
    "form",
    { class: "card", novalidate: true },
    field("group-name", "Group name", name, "Members see this name. Choose one that does not say more than the group needs."),
    field("group-pseudonym", "Your name in this group", pseud, "The name other members see. It is not linked to your other groups."),
    field("group-retention", "How long messages are kept", retention, "After this, messages are deleted from every member's computer."),
    err,
    h("div", { class: "actions" }, submit, h("a", { href: "#/" }, "Cancel")),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!name.value.trim() || !pseud.value.trim()) {
      showError(err, new Error("Fill in the group's name and your name in it."));
      (!name.value.trim() ? name : pseud).focus();
      return;
    }
    submit.disabled = true;
    showError(err, null);
    try {
      const res = await api.createGroup(name.value.trim(), pseud.value.trim(), retention.value);
      location.hash = `#/g/${res.group}/invites`;
    } catch (e) {
      showError(err, e);
      submit.disabled = false;
    }
  });
  replace(main, page(h("h1", null, "Start a group"), form));
}

export async function joinView(main, _params, ctx) {
  setTitle("Join a group");
  const err = errorSlot();
  const invite = h("textarea", { id: "join-invite", name: "invite", rows: 3, required: true, spellcheck: "false", autocomplete: "off", "aria-describedby": "join-invite-hint" });
  invite.value = state.pendingInvite;
  const fromLink = state.inviteFromLink && invite.value !== "";
  state.pendingInvite = "";
  state.inviteFromLink = false;
  const pseud = h("input", { type: "text", id: "join-pseudonym", name: "pseudonym", required: true, maxlength: 64, autocomplete: "off", "aria-describedby": "join-pseudonym-hint" });
  const submit = h("button", { type: "submit" }, "Ask to join");
  const result = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card", novalidate: true },
    fromLink
      ? h("p", { class: "notice", id: "join-from-link" },
          "This invite came from a link. Nothing has been sent yet: ask to join only if you expected an invite, from a host you know.")
      : null,
    field("join-invite", "Invite", invite, "Paste the invite the host gave you. It starts with “hearth:”."),
    field("join-pseudonym", "Your name in this group", pseud, "The name other members will see. It is not linked to your other groups."),
    err,
    h("div", { class: "actions" }, submit, h("a", { href: "#/" }, "Cancel")),
  );
  invite.addEventListener("input", () => {
    invite.removeAttribute("aria-invalid");
    const note = document.getElementById("join-from-link");
    if (note) note.remove();
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const inv = inviteFromText(invite.value);
    if (!inv || !pseud.value.trim()) {
      showError(err, new Error("Paste the invite and choose your name in the group."));
      (!inv ? invite : pseud).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Asking the host…";
    showError(err, null);
    try {
      const res = await api.join(inv, pseud.value.trim());
      if (res.status === "joined") {
        location.hash = `#/g/${res.group}`;
        return;
      }
      state.awaitingAdmission.set(res.group, true);
      form.hidden = true;
      links.hidden = true;
      showWaiting(res.group);
    } catch (e) {
      showError(err, e);
      submit.disabled = false;
      submit.textContent = "Ask to join";
      // An invite refused for what it is (mistyped, expired, used up):
      // the invite is what to fix.
      if (e && typeof e.code === "string" && e.code.startsWith("invite_")) {
        invite.setAttribute("aria-invalid", "true");
        invite.focus();
      }
    }
  });
  const links = linkHandlerCard();
  const showWaiting = (g) => {
    replace(
      result,
      h(
        "section",
        { class: "card", "aria-labelledby": "waiting-title" },
        h("h2", { id: "waiting-title", tabindex: "-1" }, "Waiting for a host to let you in"),
        h("p", null, "Your request reached the group. A host will look at it; this page changes as soon as they answer."),
        h("p", { class: "muted" }, "You can leave this page open, or come back later. Keep Hearth running so the answer can reach you."),
      ),
    );
    result.querySelector("h2").focus();
    ctx.onEvent((type, data) => {
      if (data.group !== g) return;
      if (type === "joined") {
        location.hash = `#/g/${g}`;
      } else if (type === "join_denied") {
        replace(
          result,
          h(
            "section",
            { class: "card", "aria-labelledby": "denied-title" },
            h("h2", { id: "denied-title", tabindex: "-1" }, "The host did not let you in"),
            h("p", null, "Your request to join was declined. If you think this is a mistake, ask the host in person or by another way you trust."),
            h("p", null, h("a", { href: "#/" }, "Go to your groups")),
          ),
        );
        result.querySelector("h2").focus();
      }
    });
  };
  replace(main, page(h("h1", null, "Join a group"), form, result, links));
  if (invite.value) pseud.focus();
  ctx.keepFocus = !!invite.value;
}

/**
 * The offer to open invite links with this Hearth: on the member's click
 * (browsers allow it only from one), the browser is asked to hand every
 * web+hearth: link to this page's #join= address, which fills in the join
 * form above. The links are what a host's invite screen shows (showInvite).
 */
function linkHandlerCard() {
  const status = h("p", { role: "status", id: "link-handler-status" });
  const button = h("button", {
    type: "button",
    class: "secondary",
    id: "register-links",
    onclick: () => {
      if (typeof navigator.registerProtocolHandler !== "function") {
        status.textContent = "This browser cannot open hearth links by itself. Paste the invite above instead.";
        return;
      }
      try {
        navigator.registerProtocolHandler("web+hearth", location.origin + "/#join=%s");
        status.textContent =
          "Done. If your browser asks whether to allow it, say yes. From now on an invite link opens this form with the invite filled in; you still choose your name and ask to join yourself.";
      } catch {
        status.textContent = "This browser refused to open hearth links with Hearth. Paste the invite above instead.";
      }
    },
  }, "Open hearth links with this Hearth");
  return h(
    "section",
    { class: "card", "aria-labelledby": "links-title" },
    h("h2", { id: "links-title" }, "Invite links"),
    h("p", null, "A host may send you the invite as a link (it starts with “web+hearth:”). Let this browser open such links here, once, and a click fills in the form above."),
    h("div", { class: "actions" }, button),
    status,
  );
}

// Status

export async function statusView(main, _params, ctx) {
  setTitle("Status");
  const s = await api.status();
  const peers = s.peers;
  replace(
    main,
    page(
      h("h1", null, "Status"),
      h(
        "section",
        { class: "card", "aria-labelledby": "health" },
        h("h2", { id: "health" }, "This computer"),
        h("p", { class: "success" }, "Hearth is running."),
        h(
          "p",
          null,
          peers === 0
            ? "No other member's computer is connected right now. Hearth connects by itself when one comes online; messages you write reach the others then."
            : `Connected to ${peers} other computer${peers === 1 ? "" : "s"}.`,
        ),
        h(
          "dl",
          { class: "facts" },
          h("dt", null, "Peers connected"),
          h("dd", { id: "status-peers" }, String(peers)),
          h("dt", null, "Reachable directly"),
          h("dd", { id: "status-reach" }, reachText(s.reachability)),
          h("dt", null, "Groups"),
          h("dd", null, String(s.groups)),
          h("dt", null, "Version"),
          h("dd", null, s.version || "unknown"),
        ),
      ),
      h(
        "details",
        { class: "card" },
        h("summary", null, "Network details"),
        h("p", { class: "muted small" }, "Computers that connect to yours can see these addresses. They are never sent to anyone else by this page."),
        h("dl", { class: "facts" }, h("dt", null, "Peer ID"), h("dd", { class: "mono" }, s.peer_id),
          h("dt", null, "Addresses"), h("dd", null, h("ul", null, (s.addrs || []).map((a) => h("li", { class: "mono" }, a))))),
      ),
      h("section", { class: "card", "aria-labelledby": "protects" }, h("h2", { id: "protects" }, "What Hearth protects"), protectsText()),
    ),
  );
  ctx.onEvent(() => {});
}

/** Says what the node's network knows of whether others can dial it. */
function reachText(r) {
  if (r === "public") return "Yes: other members' computers can connect to this one directly.";
  if (r === "private")
    return "No, it is behind a router (NAT): Hearth reaches the others by connecting out, or through a relay.";
  return "Not known yet: Hearth has not been able to tell whether other computers can connect to this one directly. Messages still reach the others whenever either side can connect.";
}

// Invites

const expiryChoices = [
  ["1h", "1 hour"],
  ["24h", "1 day"],
  ["7d", "7 days"],
  ["30d", "30 days"],
];

export async function invitesView(main, [g], ctx) {
  const [head, d] = await groupFrame(g, "invites");
  setTitle(`Invite · ${d.name}`);
  if (!isAdmin(d) || d.removed) {
    replace(main, page(head, h("p", null, "Only the group's hosts and moderators can invite people. Ask a host for an invite you can pass on.")));
    return;
  }
  const err = errorSlot();
  const expires = h("select", { id: "invite-expires" }, expiryChoices.map(([v, t]) => h("option", { value: v, selected: v === "24h" }, t)));
  const uses = h("input", { type: "number", id: "invite-uses", min: 1, max: 100, value: "1", inputmode: "numeric", "aria-describedby": "invite-uses-hint" });
  const approval = h("input", { type: "checkbox", id: "invite-approval", "aria-describedby": "invite-approval-hint" });
  const submit = h("button", { type: "submit" }, "Create invite");
  const result = h("div", { id: "invite-result" });
  const listBox = h("div");
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "new-invite" },
    h("h2", { id: "new-invite" }, "Invite someone"),
    field("invite-expires", "Works for", expires),
    field("invite-uses", "How many people can use it", uses, "Usually 1: one invite for one person."),
    h(
      "div",
      { class: "field" },
      h("label", { class: "check", for: "invite-approval" }, approval, h("span", null, "Let me approve each person first",
        h("span", { class: "hint", id: "invite-approval-hint" }, "People who use the invite wait in the waiting room until a host lets them in."))),
    ),
    err,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const n = Number(uses.value);
    if (!Number.isInteger(n) || n < 1 || n > 100) {
      showError(err, new Error("Choose how many people can use the invite: a whole number from 1 to 100."));
      uses.focus();
      return;
    }
    submit.disabled = true;
    showError(err, null);
    try {
      const inv = await api.createInvite(g, { expires: expires.value, uses: n, approval: approval.checked });
      await showInvite(result, inv);
      await loadList();
    } catch (e) {
      showError(err, e);
    } finally {
      submit.disabled = false;
    }
  });

  const loadList = async () => {
    const invites = await api.invites(g);
    const now = Date.now();
    const open = invites.filter((i) => inviteState(i, now) === "open");
    // The newest first: the one just revoked, expired or used up on top.
    const past = invites.filter((i) => inviteState(i, now) !== "open").reverse();
    replace(
      listBox,
      h("h2", { id: "invites-title" }, "Open invites"),
      open.length === 0
        ? h("p", { class: "muted", id: "no-open-invites" }, "No invites are open. An invite you create shows here until it expires, is used up or is revoked.")
        : h(
            "ul",
            { class: "rows", id: "open-invites", "aria-labelledby": "invites-title" },
            open.map((i) => {
              const until = dayAndTime(i.expires);
              return h(
                "li",
                null,
                h("span", { class: "who" }, `Works until ${until}`),
                h("span", { class: "what" }, `${i.uses_left} use${i.uses_left === 1 ? "" : "s"} left` + (i.approval ? " · needs approval" : "")),
                h(
                  "button",
                  {
                    type: "button",
                    class: "danger-outline small",
                    "aria-label": `Revoke the invite that works until ${until}`,
                    onclick: async () => {
                      const ok = await confirmAction({
                        title: "Revoke this invite?",
                        body: `Nobody will be able to join with the invite that works until ${until} any more. People who already joined with it stay in the group.`,
                        confirm: "Revoke invite",
                      });
                      if (!ok) return;
                      try {
                        await api.revokeInvite(g, i.id);
                        announce("The invite was revoked.");
                        await loadList();
                      } catch (e) {
                        showError(err, e);
                      }
                    },
                  },
                  "Revoke",
                ),
              );
            }),
          ),
      past.length === 0
        ? null
        : h(
            "details",
            { class: "past-invites", id: "past-invites" },
            h("summary", null, `Past invites (${past.length})`),
            h("p", { class: "muted small" }, "These no longer let anyone join. People who joined with them stay in the group."),
            h("ul", { class: "rows" }, past.map((i) => h("li", null, h("span", { class: "who" }, pastText(i, now)), i.approval ? h("span", { class: "what" }, "needed approval") : null))),
          ),
    );
  };
  await loadList();
  // A new invite shows above the form, where the host looks first.
  replace(main, page(head, result, form, listBox));
  ctx.onEvent((type, data) => {
    if (data.group === g && (type === "member_joined" || type === "removed")) ctx.rerender();
  });
}

/** Whether invite i lets people join at time now: "open", else why not. */
function inviteState(i, now) {
  if (i.revoked) return "revoked";
  if (Date.parse(i.expires) <= now) return "expired";
  if (i.uses_left <= 0) return "used";
  return "open";
}

/** What a past invite was, in words. */
function pastText(i, now) {
  const when = dayAndTime(i.expires);
  switch (inviteState(i, now)) {
    case "revoked":
      return `Revoked (it would have worked until ${when})`;
    case "used":
      return `Used up (it would have worked until ${when})`;
    default:
      return `Expired ${when}`;
  }
}

const clockFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dateFmt = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });

/** "today at 14:02", "tomorrow at 09:00", "Tue, 8 Dec at 14:02". */
function dayAndTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "an unknown time";
  const day = (x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const days = Math.round((day(d) - day(new Date())) / 86400000);
  const name = days === 0 ? "today" : days === 1 ? "tomorrow" : days === -1 ? "yesterday" : dateFmt.format(d);
  return `${name} at ${clockFmt.format(d)}`;
}

async function showInvite(box, inv) {
  const text = h("textarea", { id: "invite-text", readonly: true, rows: 4, spellcheck: "false", "aria-describedby": "invite-share-hint" });
  text.value = inv.invite;
  const copied = h("span", { class: "success", role: "status" });
  const copy = h("button", {
    type: "button",
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(inv.invite);
        copied.textContent = "Copied.";
      } catch {
        text.focus();
        text.select();
        copied.textContent = "Selected: press Ctrl+C (or ⌘C) to copy.";
      }
    },
  }, "Copy invite");
  const link = inviteLink(inv.invite);
  const linkCopied = h("span", { class: "success", role: "status" });
  const linkEl = h("a", { href: link, id: "invite-link", class: "mono invite-link" }, link);
  const copyLink = h("button", {
    type: "button",
    class: "secondary",
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(link);
        linkCopied.textContent = "Copied.";
      } catch {
        getSelection().selectAllChildren(linkEl);
        linkCopied.textContent = "Selected: press Ctrl+C (or ⌘C) to copy.";
      }
    },
  }, "Copy link");
  let qr = null;
  try {
    qr = h("img", { class: "qr", id: "invite-qr", src: await qrDataURL(inv.invite), alt: "QR code of the invite, for scanning with a phone", width: 256, height: 256 });
  } catch {
    qr = h("p", { class: "muted" }, "The QR code could not be drawn; share the invite as text.");
  }
  replace(
    box,
    h(
      "section",
      { class: "card", "aria-labelledby": "invite-made" },
      h("h2", { id: "invite-made", tabindex: "-1" }, "Your invite is ready"),
      h(
        "div",
        { class: "invite-result" },
        h(
          "div",
          null,
          h("label", { for: "invite-text" }, "Invite"),
          text,
          h("p", { class: "hint", id: "invite-share-hint" },
            "Give it only to the person you are inviting, in person or by a message only they can read. Anyone who has it can ask to join " +
              `until it expires (${relative(inv.expires)}) or is used up.`),
          h("div", { class: "actions" }, copy, copied),
          h("h3", { class: "invite-link-title" }, "Or as a link"),
          h("p", null, linkEl),
          h("p", { class: "hint", id: "invite-link-hint" },
            "The same invite, for a chat or an email: a member opens it with a click once they chose “Open hearth links with this Hearth” on Hearth's Join screen. Otherwise they paste it there."),
          h("div", { class: "actions" }, copyLink, linkCopied),
        ),
        qr,
      ),
    ),
  );
  box.querySelector("h2").focus();
}

// Waiting room

export async function waitingView(main, [g], ctx) {
  const [head, d] = await groupFrame(g, "waiting");
  setTitle(`Waiting room · ${d.name}`);
  if (!isAdmin(d) || d.removed) {
    replace(main, page(head, h("p", null, "Only the group's hosts and moderators can see who is waiting to join.")));
    return;
  }
  const err = errorSlot();
  const box = h("div", { "aria-live": "polite" });
  const load = async () => {
    const reqs = await api.waiting(g);
    state.waiting.set(g, reqs.length);
    updateWaitingTab(g);
    replace(
      box,
      reqs.length === 0
        ? h("p", { class: "muted", id: "waiting-empty" }, "Nobody is waiting. When someone uses an invite that needs approval, they appear here at once.")
        : h(
            "ul",
            { class: "rows", "aria-label": "People waiting to join" },
            reqs.map((r) =>
              h(
                "li",
                null,
                h("span", { class: "who" }, r.pseudonym),
                h("span", { class: "what" }, `asked ${relative(r.requested)}`),
                h("div", { class: "actions" },
                  h("button", { type: "button", class: "small", "aria-label": `Let ${r.pseudonym} in`, onclick: () => act("admit", r) }, "Let in"),
                  h("button", { type: "button", class: "danger-outline small", "aria-label": `Decline ${r.pseudonym}`, onclick: () => act("deny", r) }, "Decline")),
              ),
            ),
          ),
    );
  };
  const act = async (what, r) => {
    if (what === "deny") {
      const ok = await confirmAction({
        title: `Decline ${r.pseudonym}?`,
        body: `${r.pseudonym} will not join this group, and will be told that their request was declined.`,
        confirm: "Decline",
      });
      if (!ok) return;
    }
    showError(err, null);
    try {
      if (what === "admit") {
        await api.admit(g, r.member);
        announce(`${r.pseudonym} is now a member.`);
      } else {
        await api.deny(g, r.member);
        announce(`${r.pseudonym} was declined.`);
      }
    } catch (e) {
      showError(err, e);
    }
    await load();
  };
  await load();
  replace(
    main,
    page(
      head,
      h("h2", null, "Waiting room"),
      h("p", { class: "muted" }, "People who used an invite that needs approval. Let in only people you expect."),
      err,
      box,
    ),
  );
  ctx.onEvent((type, data) => {
    if (data.group === g && (type === "join_request" || type === "member_joined")) load().catch((e) => showError(err, e));
  });
}

// Members

export async function membersView(main, [g], ctx) {
  const [head, d] = await groupFrame(g, "members");
  setTitle(`Members · ${d.name}`);
  const err = errorSlot();
  const box = h("div");
  const admin = isAdmin(d) && !d.removed;
  // Moderators remove members; only hosts change roles (the node refuses
  // anyone else), so only a host is offered the role buttons.
  const host = admin && d.me.role === "host";
  const load = async () => {
    const members = d.removed ? [] : await api.members(g);
    await loadMuted(g);
    replace(
      box,
      d.removed || !members.some((m) => m.online)
        ? null
        : h("p", { class: "muted small", id: "online-hint" }, "“Online now” is as far as this computer knows: it is connected to theirs. Someone may be online without being connected to you."),
      d.removed
        ? null
        : h(
            "ul",
            { class: "rows", "aria-label": "Members" },
            members.map((m) => {
              const me = m.member === d.me.member;
              return h(
                "li",
                null,
                h("span", { class: "who" }, m.pseudonym, me ? " (you)" : ""),
                m.online ? h("span", { class: "badge online", title: "This computer is connected to theirs now." }, "online now") : null,
                h("span", { class: "what" }, roleName(m.role)),
                me ? null : muteControls(g, m, load),
                admin && !me ? h("div", { class: "actions" }, host ? roleButtons(m) : null, removeButton(m)) : null,
              );
            }),
          ),
    );
  };
  const roleChange = {
    member: [["moderator", "Make moderator", (p) => `${p} will be able to create invites, let people in from the waiting room and remove members.`]],
    moderator: [
      ["host", "Make host", (p) => `${p} will be able to do everything you can in this group, including changing other members' roles.`],
      ["member", "Make member", (p) => `${p} will no longer be able to invite, let people in or remove anyone.`],
    ],
    host: [
      [
        "moderator",
        "Make moderator",
        (p) => `${p} will no longer be a host: they will still be able to create invites, let people in and remove members, but no longer change anyone's role.`,
      ],
    ],
  };
  const roleButtons = (m) =>
    (roleChange[m.role] || []).map(([role, label, body]) =>
      h("button", {
        type: "button",
        class: "secondary small",
        "aria-label": `${label}: ${m.pseudonym}`,
        onclick: async () => {
          const ok = await confirmAction({ title: `${label}: ${m.pseudonym}?`, body: body(m.pseudonym), confirm: label, danger: false });
          if (!ok) return;
          showError(err, null);
          try {
            await api.setRole(g, m.member, role);
            announce(`${m.pseudonym} is now a ${roleName(role)}.`);
          } catch (e) {
            showError(err, e);
          }
          await load();
        },
      }, label),
    );
  const removeButton = (m) =>
    h("button", {
      type: "button",
      class: "danger-outline small",
      "aria-label": `Remove ${m.pseudonym}`,
      onclick: async () => {
        const ok = await confirmAction({
          title: `Remove ${m.pseudonym} from the group?`,
          body: `${m.pseudonym} will no longer be able to read new messages in this group, or post to it. What they already received stays on their computer.`,
          confirm: `Remove ${m.pseudonym}`,
        });
        if (!ok) return;
        showError(err, null);
        try {
          await api.remove(g, m.member);
          announce(`${m.pseudonym} was removed.`);
        } catch (e) {
          showError(err, e);
        }
        await load();
      },
    }, "Remove…");
  await load();
  replace(
    main,
    page(
      head,
      h("h2", null, "Members"),
      admin && !host ? h("p", { class: "muted small", id: "roles-hint" }, "Only a host can change someone's role. You can remove members.") : null,
      err,
      box,
    ),
  );
  ctx.onEvent((type, data) => {
    if (data.group !== g) return;
    if (type === "removed") ctx.rerender();
    else if (["member_joined", "member_left", "member_removed", "role_changed"].includes(type)) {
      loadDetail(g).then(load).catch((e) => showError(err, e));
    }
  });
  // Who is online changes without an event: the list is asked for again
  // every half minute while it is on screen.
  if (!d.removed) {
    const again = setInterval(() => {
      if (!ctx.isCurrent()) {
        clearInterval(again);
        return;
      }
      // Not while the member is acting on the list: redrawing it would
      // take their focus away.
      if (document.visibilityState !== "visible" || document.getElementById("confirm").open || box.contains(document.activeElement)) return;
      load().catch(() => {});
    }, 30000);
  }
}
