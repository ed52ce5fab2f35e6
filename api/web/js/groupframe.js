// The frame of every screen about one group: its name, who the member is
// in it, the tabs, and the notice shown once the member was removed.

import { h } from "./dom.js";
import { state, loadDetail, isAdmin } from "./state.js";
import { api } from "./api.js";
import { sosButton } from "./sos.js";

const roleNames = { host: "host", moderator: "moderator", member: "member" };

/** Words for a role. */
export function roleName(r) {
  return roleNames[r] || r;
}

/**
 * Builds the header of group g's screens with tab "tab" marked current,
 * and returns [header element, detail].
 *
 * On a phone the header stays short, so a conversation starts on the first
 * screen: the way back is an arrow beside the name, the line about the
 * member is shortened, and the tabs are one row that scrolls sideways, with
 * a fade and an arrow at the edge where more tabs are (tabsScroll). A host's
 * or moderator's waiting count is a badge under the name, so it is seen
 * without scrolling the tabs. A member who was removed sees only what still
 * works there: the conversation as it was, and the guidelines.
 */
export async function groupFrame(g, tab) {
  const d = await loadDetail(g);
  const admin = isAdmin(d) && !d.removed;
  if (admin) {
    try {
      state.waiting.set(g, (await api.waiting(g)).length);
    } catch {
      // The count is a nicety; the tab works without it.
    }
  }
  const tabs = [["conversation", `#/g/${g}`, "Conversation"]];
  const ids = { waiting: "tab-waiting" };
  if (!d.removed) {
    tabs.push(["members", `#/g/${g}/members`, "Members"]);
    tabs.push(["mentors", `#/g/${g}/mentor`, "Mentors"]);
    tabs.push(["meetings", `#/g/${g}/meetings`, "Meetings"]);
  }
  tabs.push(["guidelines", `#/g/${g}/guidelines`, d.guidelines > 0 && !d.guidelines_accepted && !d.removed ? "Guidelines (new)" : "Guidelines"]);
  if (admin) tabs.push(["reports", `#/g/${g}/reports`, "Reports"]);
  if (!d.removed) tabs.push(["mailbox", `#/g/${g}/mailbox`, "Mailbox"]);
  if (admin) {
    tabs.push(["invites", `#/g/${g}/invites`, "Invite"]);
    tabs.push(["waiting", `#/g/${g}/waiting`, waitingLabel(g)]);
  }
  const who = `${d.me.pseudonym} (${roleName(d.me.role)}) · ${d.members} member${d.members === 1 ? "" : "s"}`;
  const list = h(
    "ul",
    null,
    tabs.map(([id, href, label]) =>
      h("li", null, h("a", { href, id: ids[id] || false, "data-group": g, "aria-current": id === tab ? "page" : false }, label)),
    ),
  );
  const nav = h("nav", { class: "tabs", "aria-label": "Group" }, list);
  tabsScroll(nav, list);
  const header = h(
    "div",
    { class: "group-head" },
    h(
      "div",
      { class: "group-title" },
      h("a", { class: "back", href: "#/", "aria-label": "All groups" }, h("span", { "aria-hidden": "true" }, "←"), h("span", { class: "back-text" }, " All groups")),
      h("h1", null, d.name),
      d.removed ? null : sosButton(g),
    ),
    h(
      "p",
      { class: "muted small group-meta" },
      admin ? waitingBadge(g) : null,
      h("span", { class: "wide-only" }, `You are ${who}` + onlineText(d)),
      h("span", { class: "phone-only" }, who + onlineShort(d)),
    ),
    nav,
    d.removed ? removedNotice() : null,
  );
  return [header, d];
}

/**
 * Keeps the tab row's edges honest when it scrolls sideways (on a phone):
 * the nav gets "more-before" / "more-after" while a tab is hidden past that
 * edge, which the style sheet shows as a fade with an arrow; and whenever
 * the row is drawn or changes width, the current tab is scrolled into it.
 */
function tabsScroll(nav, list) {
  const update = () => {
    const max = list.scrollWidth - list.clientWidth;
    nav.classList.toggle("more-before", list.scrollLeft > 2);
    nav.classList.toggle("more-after", list.scrollLeft < max - 2);
  };
  let seen = false;
  const sized = new ResizeObserver(() => {
    if (!nav.isConnected) {
      if (seen) sized.disconnect();
      return;
    }
    seen = true;
    // The row was drawn or changed width (a window turned narrow): the
    // current tab is brought into it if it lies past an edge.
    const cur = list.querySelector('a[aria-current="page"]');
    if (cur && list.scrollWidth > list.clientWidth) {
      const li = cur.parentElement;
      if (li.offsetLeft < list.scrollLeft || li.offsetLeft + li.offsetWidth > list.scrollLeft + list.clientWidth) {
        list.scrollLeft = Math.max(0, li.offsetLeft + li.offsetWidth - list.clientWidth + 32);
      }
    }
    update();
  });
  sized.observe(list);
  list.addEventListener("scroll", update, { passive: true });
}

function waitingLabel(g) {
  const n = state.waiting.get(g) || 0;
  return n ? `Waiting room (${n})` : "Waiting room";
}

/** The badge beside the group's name that says how many are waiting. */
function waitingBadge(g) {
  const a = h("a", { class: "badge waiting", id: "waiting-badge", href: `#/g/${g}/waiting`, "data-group": g });
  setWaitingBadge(a, g);
  return a;
}

function setWaitingBadge(a, g) {
  const n = state.waiting.get(g) || 0;
  a.hidden = n === 0;
  a.textContent = `${n} waiting`;
  a.setAttribute("aria-label", `${n} ${n === 1 ? "person is" : "people are"} waiting to join: open the waiting room`);
}

/** Updates the waiting room tab and badge of group g, if on screen. */
export function updateWaitingTab(g) {
  const a = document.getElementById("tab-waiting");
  if (a && a.getAttribute("data-group") === g) a.textContent = waitingLabel(g);
  const b = document.getElementById("waiting-badge");
  if (b && b.getAttribute("data-group") === g) setWaitingBadge(b, g);
}

/** The plain notice shown in a group the member was removed from. */
export function removedNotice() {
  return h(
    "section",
    { class: "notice", "aria-labelledby": "removed-title", id: "removed-notice" },
    h("h2", { id: "removed-title" }, "You were removed from this group"),
    h(
      "p",
      null,
      "A host removed you. You can no longer read new messages in this group or post to it. " +
        "Messages you received before stay on this computer until the group's retention deletes them.",
    ),
    h("p", null, "If you think this was a mistake, ask a host of the group, in person or by another way you trust."),
  );
}

// onlineText says how many of the group's computers are connected now. It
// cannot say who: messages carry no author outside the group's encryption,
// so a connected computer is never tied to a member.
function onlineText(d) {
  if (d.removed || typeof d.online !== "number") return "";
  if (d.online === 0) return " · no one else connected right now";
  return ` · ${d.online} other computer${d.online === 1 ? "" : "s"} connected now`;
}

/** onlineText in a few words, for a phone. */
function onlineShort(d) {
  if (d.removed || typeof d.online !== "number") return "";
  return d.online === 0 ? " · no one else online" : ` · ${d.online} other${d.online === 1 ? "" : "s"} online`;
}
