// What the UI remembers between screens.
//
// Drafts live in memory only: localStorage is written to disk in plain
// text, and Hearth promises that nothing a member writes sits on disk
// unencrypted (DESIGN.md, property 7). A draft therefore survives moving
// between groups and screens, but not reloading the page. The read
// markers kept in localStorage hold only group IDs (random, no name) and
// times, never content, and go when the member signs out or wipes.

import { api } from "./api.js";

export const PAGE = 50;

export const state = {
  /** group ID → summary from GET /groups */
  groups: new Map(),
  /** group ID → detail from GET /groups/{id} (carries "me") */
  details: new Map(),
  /** group ID → number of messages from others since last opened */
  unread: new Map(),
  /** draft key → text */
  drafts: new Map(),
  /** group ID → History */
  histories: new Map(),
  /** group ID → number of people in the waiting room */
  waiting: new Map(),
  /** group ID currently shown (conversation or thread), or null */
  viewing: null,
  /** invite taken from a #join= link, waiting for the join form */
  pendingInvite: "",
  /** whether the join form's invite came from a link (not typed here) */
  inviteFromLink: false,
  /** join results still waiting for admission: group ID → true */
  awaitingAdmission: new Map(),
};

const readKey = "hearth.read.v1";

function readMarks() {
  try {
    const v = JSON.parse(localStorage.getItem(readKey) || "{}");
    return v && typeof v === "object" ? v : {};
  } catch {
    return {};
  }
}

/** Records that the member has seen group g's messages up to now. */
export function markRead(g) {
  const marks = readMarks();
  marks[g] = new Date().toISOString();
  try {
    localStorage.setItem(readKey, JSON.stringify(marks));
  } catch {
    // Storage may be full or disabled; unread counts then last a session.
  }
  state.unread.set(g, 0);
}

/** When the member last opened group g, or null. */
export function lastRead(g) {
  const v = readMarks()[g];
  return typeof v === "string" ? v : null;
}

/**
 * Removes what Hearth keeps in this browser's own storage: every "hearth"
 * key of localStorage (the read markers: group IDs and when each was last
 * opened) and of sessionStorage (this tab's usage minutes and reminders
 * given). Signing out and the panic wipe both call it, so that afterwards
 * nothing in the browser says which groups there were.
 */
export function forgetBrowserStorage() {
  for (const store of ["localStorage", "sessionStorage"]) {
    try {
      const s = window[store];
      for (const k of Object.keys(s)) if (k.startsWith("hearth")) s.removeItem(k);
    } catch {
      // Storage disabled: then nothing was kept there either.
    }
  }
}

/** Fetches and caches a group's detail. */
export async function loadDetail(g) {
  const d = await api.group(g);
  state.details.set(g, d);
  return d;
}

/** Fetches the group list and the unread count of each group. */
export async function loadGroups() {
  const list = await api.groups();
  state.groups = new Map(list.map((gr) => [gr.group, gr]));
  await Promise.all(list.filter((gr) => !gr.removed).map((gr) => countUnread(gr.group)));
  return list;
}

async function countUnread(g) {
  try {
    const d = state.details.get(g) || (await loadDetail(g));
    const since = lastRead(g);
    const msgs = await api.messages(g, PAGE);
    const n = msgs.filter((m) => m.author !== d.me.member && (!since || m.received > since)).length;
    state.unread.set(g, n);
  } catch {
    // A count is a nicety; the list still shows without it.
  }
}

/**
 * The invite in text from a link or pasted by hand: white space around it
 * goes, and the web+hearth: form (the scheme a browser can hand to this
 * page, see joinView) becomes the hearth: form the daemon reads. Anything
 * else is left as it is, for the daemon to judge.
 */
export function inviteFromText(text) {
  const t = String(text).trim();
  return /^web\+hearth:/i.test(t) ? t.slice(4) : t;
}

/** The link form of an invite: what a browser that was told to open
 *  hearth links with this Hearth (joinView) hands to the join form. */
export function inviteLink(invite) {
  return "web+" + inviteFromText(invite);
}

/** Whether this member can invite, admit and remove in group detail d. */
export function isAdmin(d) {
  return !!d && d.me && (d.me.role === "host" || d.me.role === "moderator");
}

/**
 * History is the loaded tail of a group's messages, oldest first, with
 * paging toward older ones.
 */
export class History {
  constructor(g) {
    this.group = g;
    this.list = [];
    this.byId = new Map();
    this.complete = false;
    this.loading = null;
    this.started = null;
  }

  /** Adds messages, keeping the order given and dropping ones already here. */
  add(msgs, atStart) {
    const fresh = msgs.filter((m) => !this.byId.has(m.id));
    for (const m of fresh) this.byId.set(m.id, m);
    this.list = atStart ? fresh.concat(this.list) : this.list.concat(fresh);
    return fresh.length;
  }

  /** Loads the older page before what is loaded; resolves to the count added. */
  older() {
    if (this.complete) return Promise.resolve(0);
    if (!this.loading) {
      const before = this.list.length ? this.list[0].id : undefined;
      this.loading = api
        .messages(this.group, PAGE, before)
        .then((msgs) => {
          if (msgs.length < PAGE) this.complete = true;
          return this.add(msgs, true);
        })
        .finally(() => {
          this.loading = null;
        });
    }
    return this.loading;
  }

  /** The message a reply chain starting at m leads back to, among those loaded. */
  root(m) {
    const seen = new Set();
    while (m.reply_to && this.byId.has(m.reply_to) && !seen.has(m.id)) {
      seen.add(m.id);
      m = this.byId.get(m.reply_to);
    }
    return m;
  }
}

/** The group's history, loading its newest page the first time. */
export async function history(g) {
  let h = state.histories.get(g);
  if (!h) {
    h = new History(g);
    state.histories.set(g, h);
  }
  if (!h.started) {
    // Messages that arrive by event while the first page loads are kept,
    // and follow the page.
    h.started = api.messages(g, PAGE).then(
      (msgs) => {
        const during = h.list;
        h.list = [];
        h.byId = new Map();
        if (msgs.length < PAGE) h.complete = true;
        h.add(msgs, false);
        h.add(during, false);
      },
      (err) => {
        h.started = null;
        throw err;
      },
    );
  }
  await h.started;
  return h;
}
