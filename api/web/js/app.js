// Hearth's web UI: the router, the live event stream and the frame around
// every screen. Screens live in views.js and conversation.js.

import { api, onSignedOut } from "./api.js";
import { h, announce } from "./dom.js";
import { state, markRead, loadDetail, inviteFromText, forgetBrowserStorage } from "./state.js";
import * as views from "./views.js";
import { conversationView, threadView } from "./conversation.js";
import { updateWaitingTab } from "./groupframe.js";
import * as priv from "./private.js";
import { runSetup } from "./setup.js";
import { runUnlock } from "./unlock.js";
import * as sos from "./sos.js";
import * as mentor from "./mentor.js";
import { meetingsView, roomView, remindOfMeeting } from "./meetings.js";
import { notify, loadWellbeing } from "./notify.js";
import { reportsView, guidelinesView, handleModerationEvent } from "./moderation.js";
import { mailboxView } from "./mailbox.js";

const main = document.getElementById("main");

/** The screen shown now: its route and the handlers it registered. */
let current = { route: "", events: null, token: 0 };
let signedOut = false;

const routes = [
  [/^\/?$/, views.groupsView],
  [/^\/new$/, views.createView],
  [/^\/join$/, views.joinView],
  [/^\/status$/, views.statusView],
  [/^\/g\/([0-9a-f]{32})$/, conversationView],
  [/^\/g\/([0-9a-f]{32})\/t\/([0-9a-f]{32})$/, threadView],
  [/^\/g\/([0-9a-f]{32})\/invites$/, views.invitesView],
  [/^\/g\/([0-9a-f]{32})\/waiting$/, views.waitingView],
  [/^\/g\/([0-9a-f]{32})\/members$/, views.membersView],
  [/^\/g\/([0-9a-f]{32})\/reports$/, reportsView],
  [/^\/g\/([0-9a-f]{32})\/guidelines$/, guidelinesView],
  [/^\/g\/([0-9a-f]{32})\/mentor$/, mentor.groupMentorView],
  [/^\/g\/([0-9a-f]{32})\/mailbox$/, mailboxView],
  [/^\/sos\/new(?:\/([0-9a-f]{32}))?$/, sos.sendView],
  [/^\/sos$/, sos.listView],
  [/^\/mentors$/, mentor.mentorsView],
  [/^\/g\/([0-9a-f]{32})\/meetings$/, meetingsView],
  [/^\/g\/([0-9a-f]{32})\/rooms\/([0-9a-f]{32})$/, roomView],
  [/^\/me$/, priv.checkinView],
  [/^\/me\/journal(?:\/(intention|review))?$/, priv.journalView],
  [/^\/me\/insight$/, priv.insightView],
  [/^\/me\/milestones$/, priv.milestonesView],
  [/^\/me\/settings$/, priv.settingsView],
];

/** Shows the screen the address's fragment names. */
async function route() {
  if (signedOut) return;
  let hash = location.hash.slice(1);
  // An invite link opened as http://127.0.0.1:PORT/#join=hearth:... (or
  // #join=web%2Bhearth%3A..., as the browser hands over a web+hearth: link
  // once the member chose to open them with this Hearth) fills in the join
  // form, and only fills it in: joining still takes the member's name and
  // click, so a page that links here cannot make anyone join anything. The
  // invite stays in the page (fragments are never sent to a server) and is
  // taken out of the address bar at once.
  if (hash.startsWith("join=")) {
    state.pendingInvite = linkedInvite(hash.slice(5));
    state.inviteFromLink = true;
    history.replaceState(null, "", "#/join");
    hash = "/join";
  }
  const token = ++current.token;
  for (const [re, view] of routes) {
    const m = hash.match(re);
    if (!m) continue;
    current.route = hash;
    current.events = null;
    state.viewing = null;
    // Conversations fill the window; other screens scroll as pages.
    document.body.classList.toggle("fill", view === conversationView || view === threadView);
    markNav(hash);
    const ctx = {
      token,
      isCurrent: () => current.token === token,
      onEvent: (fn) => {
        if (current.token === token) current.events = fn;
      },
      rerender: () => {
        if (current.token === token) route();
      },
    };
    try {
      await view(main, m.slice(1), ctx);
    } catch (err) {
      if (!ctx.isCurrent() || signedOut) return;
      views.showFailure(main, err);
    }
    if (ctx.isCurrent() && !ctx.keepFocus) {
      const h1 = main.querySelector("h1");
      if (h1) {
        h1.tabIndex = -1;
        h1.focus({ preventScroll: true });
      }
    }
    return;
  }
  views.notFoundView(main);
}

/** The invite in a #join= fragment, "" if it cannot be decoded. */
function linkedInvite(encoded) {
  try {
    return inviteFromText(decodeURIComponent(encoded));
  } catch {
    return "";
  }
}

function markNav(hash) {
  const groups = document.getElementById("nav-groups");
  const status = document.getElementById("nav-status");
  const priv = document.getElementById("nav-private");
  groups.toggleAttribute("aria-current", false);
  status.toggleAttribute("aria-current", false);
  priv.toggleAttribute("aria-current", false);
  if (hash === "/status") status.setAttribute("aria-current", "page");
  else if (hash === "/me" || hash.startsWith("/me/")) priv.setAttribute("aria-current", "page");
  else if (hash === "" || hash === "/") groups.setAttribute("aria-current", "page");
}

/** Shows a banner that stays until dismissed. */
function banner(title, text) {
  const area = document.getElementById("banners");
  const el = h(
    "div",
    { class: "banner", role: "status" },
    h("strong", null, title),
    h("p", null, text),
    h("button", { type: "button", class: "secondary small", onclick: () => el.remove() }, "Dismiss"),
  );
  area.appendChild(el);
}

function groupName(g) {
  const d = state.details.get(g) || state.groups.get(g);
  return d ? d.name : "a group";
}

// Live events. EventSource reconnects by itself after a dropped
// connection; when the stream cannot start at all (the session ended, or
// the daemon stopped), the health check below tells which.
let source = null;
let streamOpened = false;

function connect() {
  const conn = document.getElementById("conn");
  conn.hidden = false;
  setConn("connecting");
  source = new EventSource("/api/v1/events");
  source.onopen = () => {
    setConn("live");
    // Back after a break (the laptop slept, the network dropped): what
    // happened meanwhile came as no event, so start again from what the
    // daemon has, as after an overflow.
    if (streamOpened) startAgain();
    streamOpened = true;
  };
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      setConn("lost");
      source = null;
      api
        .health()
        .then(() => setTimeout(connect, 3000))
        .catch(() => {
          if (!signedOut) setTimeout(connect, 5000);
        });
    } else {
      setConn("connecting");
    }
  };
  const types = [
    "message",
    "member_joined",
    "member_left",
    "member_removed",
    "role_changed",
    "removed",
    "join_request",
    "joined",
    "join_denied",
    "epoch_changed",
    "sos",
    "sos_reply",
    "mentor_request",
    "mentorship",
    "meeting",
    "meeting_room",
    "meeting_soon",
    "message_edited",
    "message_removed",
    "report",
    "guidelines",
    "overflow",
  ];
  for (const t of types) {
    source.addEventListener(t, (ev) => {
      let data = {};
      try {
        data = JSON.parse(ev.data);
      } catch {
        return;
      }
      handleEvent(t, data);
    });
  }
}

function setConn(s) {
  const conn = document.getElementById("conn");
  conn.className = "conn " + s;
  conn.textContent =
    s === "live"
      ? "Live: new messages appear as they arrive"
      : s === "connecting"
        ? "Connecting to Hearth…"
        : "Not connected to Hearth. Check that it is still running; this page will try again.";
}

function handleEvent(type, data) {
  const g = data.group;
  switch (type) {
    case "message": {
      const m = data.message;
      if (!m || !g) return;
      const hist = state.histories.get(g);
      if (hist && hist.started) hist.add([m], false);
      const d = state.details.get(g);
      const mine = d && d.me && m.author === d.me.member;
      if (state.viewing === g && document.visibilityState === "visible") {
        markRead(g);
      } else if (!mine) {
        state.unread.set(g, (state.unread.get(g) || 0) + 1);
        // The text stays out of the notice: a system notification shows
        // on a locked screen too.
        const n = state.unread.get(g);
        notify({
          kind: "message",
          title: n > 1 ? `${n} new messages in ${groupName(g)}` : `New message in ${groupName(g)}`,
          href: `#/g/${g}`,
          group: groupName(g),
          tag: `message:${g}`,
        });
      }
      break;
    }
    case "removed": {
      const sum = state.groups.get(g);
      if (sum) sum.removed = true;
      const d = state.details.get(g);
      if (d) d.removed = true;
      for (const k of [...state.drafts.keys()]) if (k === g || k.startsWith(g + "/")) state.drafts.delete(k);
      // On one of the group's own screens the removal is said once, by the
      // notice its header shows when drawn again; anywhere else, by a banner.
      if (current.route === `/g/${g}` || current.route.startsWith(`/g/${g}/`)) {
        route();
        return;
      }
      banner(
        `You were removed from ${groupName(g)}`,
        "A host removed you from this group. You can no longer read new messages there or post to it.",
      );
      break;
    }
    case "join_request": {
      state.waiting.set(g, (state.waiting.get(g) || 0) + 1);
      updateWaitingTab(g);
      const who = data.request && data.request.pseudonym ? data.request.pseudonym : "Someone";
      announce(`${who} is asking to join ${groupName(g)}.`);
      break;
    }
    case "joined":
      if (state.awaitingAdmission.has(g)) {
        state.awaitingAdmission.delete(g);
        loadDetail(g).catch(() => {});
      }
      break;
    case "join_denied":
      state.awaitingAdmission.delete(g);
      break;
    case "sos":
    case "sos_reply":
      sos.handleSOSEvent(type, data);
      break;
    case "mentor_request":
    case "mentorship":
      mentor.handleMentorEvent(type, data);
      break;
    case "meeting_soon":
      remindOfMeeting(data, groupName(g));
      break;
    case "message_edited":
    case "message_removed":
    case "report":
    case "guidelines":
      handleModerationEvent(type, data);
      break;
    case "epoch_changed":
    case "member_joined":
    case "member_left":
    case "member_removed":
    case "role_changed":
      if (state.details.has(g)) loadDetail(g).catch(() => {});
      break;
    case "overflow":
      // Some events were dropped.
      startAgain();
      return;
  }
  if (current.events) current.events(type, data);
}

// startAgain forgets what the page cached and draws the screen again from
// what the daemon has, when events were missed: dropped by the daemon
// ("overflow") or sent while the stream was down. The screen is drawn
// again, except one whose content only this page holds: the list of who
// is responding to the member's own SOS (sos.js), which the catch-up
// below completes instead. Drafts are kept (state.drafts).
function startAgain() {
  state.histories.clear();
  state.details.clear();
  if (!document.getElementById("responders")) route();
  // A missed SOS, or answer to one, is not left unseen.
  sos.catchUpSOS();
}

function showSignedOut() {
  if (signedOut) return;
  signedOut = true;
  state.viewing = null;
  document.body.classList.remove("fill");
  if (source) source.close();
  document.getElementById("nav").hidden = true;
  document.getElementById("conn").hidden = true;
  // An invite link opened before signing in: the invite leaves the
  // address bar, and the page says to open the link again once signed in.
  const withInvite = location.hash.startsWith("#join=");
  if (withInvite) history.replaceState(null, "", location.pathname);
  views.signedOutView(main, withInvite);
  const h1 = main.querySelector("h1");
  if (h1) h1.focus();
}

async function start() {
  onSignedOut(showSignedOut);
  try {
    // A new home asks for its passphrase first (setup.js); a home started
    // without its passphrase asks for it to unlock (unlock.js).
    await runSetup(main);
    await runUnlock(main);
    await api.groups();
  } catch (err) {
    if (signedOut) return;
    views.showFailure(main, err);
    return;
  }
  document.getElementById("nav").hidden = false;
  document.getElementById("signout").addEventListener("click", async () => {
    try {
      await api.logout();
    } catch {
      // Signing out also ends when the page is closed; show the page anyway.
    }
    state.drafts.clear();
    // What the browser kept for Hearth (read markers, this tab's usage
    // and reminders) goes too: the next person at this browser learns
    // nothing of which groups there were.
    forgetBrowserStorage();
    showSignedOut();
  });
  document.addEventListener("visibilitychange", () => {
    if (!signedOut && document.visibilityState === "visible" && state.viewing) markRead(state.viewing);
  });
  window.addEventListener("hashchange", route);
  // After a panic wipe (private.js) the daemon is gone: stop talking to it.
  window.addEventListener("hearth-wiped", () => {
    signedOut = true;
    if (source) source.close();
    document.getElementById("nav").hidden = true;
    document.getElementById("conn").hidden = true;
  });
  loadWellbeing();
  connect();
  route();
}

start();
