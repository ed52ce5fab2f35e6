// Mentorship: asking a member of a group to be your mentor (or offering to
// be theirs), answering requests and hosts' pairing suggestions, and
// ending a mentorship. The pair's conversation is an ordinary group of two,
// shown by the usual conversation screen. Who mentors whom is known only to
// the two of them: the request travels in a note only the recipient can
// open, and each keeps the role on their own computer.

import { request } from "./api.js";
import { h, replace, announce, errorSlot, showError, confirmAction, timeEl } from "./dom.js";
import { state, loadGroups, isAdmin } from "./state.js";
import { groupFrame } from "./groupframe.js";
import { notify } from "./notify.js";

const enc = encodeURIComponent;

const mapi = {
  members: (g) => request("GET", `/api/v1/groups/${enc(g)}/members`),
  mentorships: () => request("GET", "/api/v1/mentorships"),
  requests: () => request("GET", "/api/v1/mentor-requests"),
  ask: (g, m, text, offer) => request("POST", `/api/v1/groups/${enc(g)}/members/${enc(m)}/mentor`, { text, offer }),
  accept: (id) => request("POST", `/api/v1/mentor-requests/${enc(id)}/accept`, {}),
  decline: (id) => request("POST", `/api/v1/mentor-requests/${enc(id)}/decline`, {}),
  end: (id) => request("POST", `/api/v1/mentorships/${enc(id)}/end`, {}),
  suggest: (g, member, withM, text) => request("POST", `/api/v1/groups/${enc(g)}/pairings`, { member, with: withM, text }),
};

function page(...children) {
  return h("div", { class: "page" }, ...children);
}

function groupName(g) {
  const d = state.details.get(g) || state.groups.get(g);
  return d ? d.name : "a group";
}

const stateWords = {
  asked: "waiting for their answer",
  active: "active",
  declined: "they said no, for now",
  ended: "ended",
};

/** The requests waiting for the member and their mentorships. */
function overview(requests, mentorships, err, reload) {
  const reqItems = requests.map((q) => {
    const who = q.from_pseudonym;
    const what =
      q.kind === "ask"
        ? `${who} asks you to be their mentor`
        : q.kind === "offer"
          ? `${who} offers to be your mentor`
          : `${who} (a host) suggests you pair with ${q.subject_pseudonym}`;
    const act = (label, fn, cls, id) =>
      h("button", {
        type: "button",
        class: cls,
        id,
        "aria-label": `${label}: ${what}`,
        onclick: async () => {
          showError(err, null);
          try {
            await fn();
            announce(`${label}: done.`);
          } catch (e) {
            showError(err, e);
          }
          await reload();
        },
      }, label);
    return h(
      "li",
      { class: "mentor-request" },
      h("span", { class: "who" }, what),
      h("span", { class: "what" }, `in ${groupName(q.group)} · `, timeEl(q.received)),
      q.text ? h("p", { class: "entry-text" }, q.text) : null,
      h(
        "div",
        { class: "actions" },
        act(q.kind === "pairing" ? `Ask ${q.subject_pseudonym}` : "Accept", () => mapi.accept(q.id), "small", `accept-${q.id}`),
        act(q.kind === "pairing" ? "Dismiss" : "Decline", () => mapi.decline(q.id), "secondary small", `decline-${q.id}`),
      ),
    );
  });
  const msItems = mentorships.map((m) => {
    const role = m.role === "mentor" ? `You mentor ${m.peer_pseudonym}` : `${m.peer_pseudonym} is your mentor`;
    const open = m.state === "active" || m.state === "asked";
    return h(
      "li",
      { class: "mentorship", "data-state": m.state },
      h("span", { class: "who" }, role),
      h("span", { class: "what" }, stateWords[m.state] || m.state),
      m.outsiders ? outsidersNote(m, `outsiders-${m.id}`) : null,
      h(
        "div",
        { class: "actions" },
        m.state === "active" ? h("a", { class: "button small", href: `#/g/${m.pair}`, id: `open-${m.id}`, "aria-label": `Open your conversation with ${m.peer_pseudonym}` }, "Open your conversation") : null,
        open
          ? h("button", {
              type: "button",
              class: "danger-outline small",
              id: `end-${m.id}`,
              "aria-label": m.state === "asked" ? `Withdraw your request to ${m.peer_pseudonym}…` : `End the mentorship with ${m.peer_pseudonym}…`,
              onclick: async () => {
                const ok = await confirmAction({
                  title: m.state === "asked" ? "Withdraw your request?" : `End the mentorship with ${m.peer_pseudonym}?`,
                  body:
                    m.state === "asked"
                      ? "The invite in your request stops working."
                      : `You leave your private group with ${m.peer_pseudonym}; they see that you left. What you wrote stays readable on this computer.`,
                  confirm: m.state === "asked" ? "Withdraw" : "End mentorship",
                });
                if (!ok) return;
                showError(err, null);
                try {
                  await mapi.end(m.id);
                  announce("The mentorship has ended.");
                } catch (e) {
                  showError(err, e);
                }
                await reload();
              },
            }, m.state === "asked" ? "Withdraw…" : "End…")
          : null,
      ),
    );
  });
  return [
    h("h2", { id: "requests-h", tabindex: "-1" }, "Requests for you"),
    reqItems.length ? h("ul", { class: "rows", id: "mentor-requests", "aria-labelledby": "requests-h" }, reqItems) : h("p", { class: "muted" }, "None waiting."),
    h("h2", { id: "mentorships-h", tabindex: "-1" }, "Your mentorships"),
    msItems.length ? h("ul", { class: "rows", id: "mentorships", "aria-labelledby": "mentorships-h" }, msItems) : h("p", { class: "muted" }, "None yet."),
  ];
}

/**
 * Replaces box's content, keeping keyboard focus: on the same control when
 * it is still there, else on the "Your mentorships" heading, where what
 * the member just did shows.
 */
function redraw(box, ...children) {
  const had = box.contains(document.activeElement);
  const id = had ? document.activeElement.id : "";
  replace(box, ...children);
  if (!had) return;
  const again = (id && document.getElementById(id)) || document.getElementById("mentorships-h");
  if (again) again.focus();
}

/**
 * A group's Mentors tab: its members with "Ask to be my mentor" and "Offer
 * to mentor", a host's pairing suggestion, and the member's requests and
 * mentorships.
 */
export async function groupMentorView(main, [g], ctx) {
  const [head, d] = await groupFrame(g, "mentors");
  document.title = `Mentors · ${d.name} · Hearth`;
  const err = errorSlot();
  const box = h("div");
  const load = async () => {
    const [members, requests, mentorships] = await Promise.all([
      d.removed ? [] : mapi.members(g),
      mapi.requests(),
      mapi.mentorships(),
    ]);
    await loadGroups().catch(() => {});
    const others = members.filter((m) => m.member !== d.me.member);
    const ask = (m, offer) =>
      h("button", {
        type: "button",
        class: offer ? "secondary small" : "small",
        id: `${offer ? "offer" : "ask"}-${m.member}`,
        "aria-label": `${offer ? "Offer to mentor" : "Ask to be my mentor"}: ${m.pseudonym}`,
        onclick: async () => {
          const ok = await confirmAction({
            title: offer ? `Offer to mentor ${m.pseudonym}?` : `Ask ${m.pseudonym} to be your mentor?`,
            body: `Only ${m.pseudonym} can read this request; other members see only that you sent a note. If they accept, the two of you get a private group.`,
            confirm: offer ? "Offer" : "Ask",
            danger: false,
          });
          if (!ok) return;
          showError(err, null);
          try {
            await mapi.ask(g, m.member, "", offer);
            announce(`Sent to ${m.pseudonym}.`);
          } catch (e) {
            showError(err, e);
          }
          await load();
        },
      }, offer ? "Offer to mentor" : "Ask to be my mentor");
    const pairForm = isAdmin(d) && !d.removed && others.length >= 2 ? suggestForm(g, members, err) : null;
    redraw(
      box,
      h("h2", null, "Members"),
      h("p", { class: "muted small" }, "A mentor is a fellow member who walks with you one to one. What you two say in your private group no one else in this group can read."),
      others.length
        ? h(
            "ul",
            { class: "rows", "aria-label": "Members you could ask" },
            others.map((m) => h("li", null, h("span", { class: "who" }, m.pseudonym), d.removed ? null : h("div", { class: "actions" }, ask(m, false), ask(m, true)))),
          )
        : h("p", { class: "muted" }, "No one else is in this group yet."),
      pairForm,
      overview(requests, mentorships, err, load),
    );
  };
  await load();
  if (!ctx.isCurrent()) return;
  replace(main, page(head, err, box));
  ctx.onEvent((type) => {
    if (type === "mentor_request" || type === "mentorship") load().catch((e) => showError(err, e));
  });
}

/** A host's form to suggest that two members pair up. */
function suggestForm(g, members, err) {
  const sel = (id) => h("select", { id, class: "inline" }, members.map((m) => h("option", { value: m.member }, m.pseudonym)));
  const a = sel("pair-a");
  const b = sel("pair-b");
  if (members.length > 1) b.value = members[1].member;
  const done = h("p", { class: "success", role: "status", hidden: true });
  return h(
    "form",
    {
      class: "card",
      "aria-labelledby": "pair-h",
      onsubmit: async (ev) => {
        ev.preventDefault();
        showError(err, null);
        try {
          await mapi.suggest(g, a.value, b.value, "");
          done.textContent = "Suggested. Only they can read it, and they decide whether to ask.";
          done.hidden = false;
        } catch (e) {
          showError(err, e);
        }
      },
    },
    h("h2", { id: "pair-h" }, "Suggest a pairing"),
    h("div", { class: "field" }, h("label", { for: "pair-a" }, "Suggest to"), a),
    h("div", { class: "field" }, h("label", { for: "pair-b" }, "that they ask"), b),
    done,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary" }, "Suggest")),
  );
}

/** All of the member's requests and mentorships, across groups. */
export async function mentorsView(main, _params, ctx) {
  document.title = "Mentors · Hearth";
  const err = errorSlot();
  const box = h("div");
  const load = async () => {
    const [requests, mentorships] = await Promise.all([mapi.requests(), mapi.mentorships()]);
    await loadGroups().catch(() => {});
    redraw(box, overview(requests, mentorships, err, load));
  };
  await load();
  if (!ctx.isCurrent()) return;
  replace(main, page(h("h1", null, "Mentors"), err, box));
  ctx.onEvent((type) => {
    if (type === "mentor_request" || type === "mentorship") load().catch((e) => showError(err, e));
  });
}

/** Live mentorship events, wherever the member is. */
/**
 * The warning on a mentorship that ended because someone besides the two
 * was added to their private group.
 */
function outsidersNote(m, id) {
  return h(
    "p",
    { class: "notice", id },
    h("strong", null, "Someone else was added to your private group. "),
    `Hearth ended the mentorship with ${m.peer_pseudonym} and left that group for you (unless you were its only host). What either of you wrote after they were added may have been read by them.`,
  );
}

export function handleMentorEvent(type, data) {
  if (type === "mentor_request" && data.mentor_request) {
    const q = data.mentor_request;
    notify({
      kind: "mentor",
      title: q.kind === "pairing" ? "A host suggests a mentor for you" : `${q.from_pseudonym} sent you a mentorship request`,
      body: "Only you can read it.",
      href: "#/mentors",
      group: groupName(data.group),
    });
  } else if (type === "mentorship" && data.mentorship) {
    const m = data.mentorship;
    if (m.outsiders) {
      notify({
        kind: "mentor",
        title: `Your mentorship with ${m.peer_pseudonym} ended: someone else was added to your private group`,
        body: "What either of you wrote after that may have been read by them.",
        href: "#/mentors",
        group: groupName(data.group),
      });
    } else if (m.state === "active" || m.state === "declined" || m.state === "ended") {
      announce(`Your mentorship with ${m.peer_pseudonym} is ${stateWords[m.state]}.`);
    }
  }
}
