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
 */
export async function groupFrame(g, tab) {
  const d = await loadDetail(g);
  if (isAdmin(d) && !d.removed) {
    try {
      state.waiting.set(g, (await api.waiting(g)).length);
    } catch {
      // The count is a nicety; the tab works without it.
    }
  }
  const tabs = [["conversation", `#/g/${g}`, "Conversation"]];
  const ids = { waiting: "tab-waiting" };
  tabs.push(["members", `#/g/${g}/members`, "Members"]);
  if (!d.removed) tabs.push(["mentors", `#/g/${g}/mentor`, "Mentors"]);
  tabs.push(["meetings", `#/g/${g}/meetings`, "Meetings"]);
  tabs.push(["guidelines", `#/g/${g}/guidelines`, d.guidelines > 0 && !d.guidelines_accepted && !d.removed ? "Guidelines (new)" : "Guidelines"]);
  if (isAdmin(d) && !d.removed) tabs.push(["reports", `#/g/${g}/reports`, "Reports"]);
  tabs.push(["mailbox", `#/g/${g}/mailbox`, "Mailbox"]);
  if (isAdmin(d) && !d.removed) {
    tabs.push(["invites", `#/g/${g}/invites`, "Invite"]);
    tabs.push(["waiting", `#/g/${g}/waiting`, waitingLabel(g)]);
  }
  const header = h(
    "div",
    { class: "group-head" },
    h("p", { class: "small" }, h("a", { href: "#/" }, "← All groups")),
    h("div", { class: "group-title" }, h("h1", null, d.name), sosButton(g)),
    h(
      "p",
      { class: "muted small" },
      `You are ${d.me.pseudonym} (${roleName(d.me.role)}) · ${d.members} member${d.members === 1 ? "" : "s"}` +
        onlineText(d),
    ),
    h(
      "nav",
      { class: "tabs", "aria-label": "Group" },
      h(
        "ul",
        null,
        tabs.map(([id, href, label]) =>
          h("li", null, h("a", { href, id: ids[id] || false, "data-group": g, "aria-current": id === tab ? "page" : false }, label)),
        ),
      ),
    ),
    d.removed ? removedNotice() : null,
  );
  return [header, d];
}

function waitingLabel(g) {
  const n = state.waiting.get(g) || 0;
  return n ? `Waiting room (${n})` : "Waiting room";
}

/** Updates the waiting room tab of group g, if it is on screen. */
export function updateWaitingTab(g) {
  const a = document.getElementById("tab-waiting");
  if (a && a.getAttribute("data-group") === g) a.textContent = waitingLabel(g);
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
