// Meetings: a group's upcoming meetings in the member's own time zone,
// the schedule form for hosts and moderators, the calendar download, and
// the live meeting room (who is present, the speaker queue, the speaker
// with the share timer, the chair's controls). The room is the same for
// every member: the daemon replays its events, and this screen redraws from
// each meeting_room event it is sent.

import { request } from "./api.js";
import { h, replace, announce, errorSlot, showError, confirmAction } from "./dom.js";
import { isAdmin } from "./state.js";
import { groupFrame } from "./groupframe.js";
import { notify } from "./notify.js";

const enc = encodeURIComponent;
const base = (g) => `/api/v1/groups/${enc(g)}`;

const meetingsApi = {
  meetings: (g) => request("GET", `${base(g)}/meetings`),
  upcoming: (g, n) => request("GET", `${base(g)}/meetings/upcoming?limit=${n}`),
  schedule: (g, m) => request("POST", `${base(g)}/meetings`, m),
  cancel: (g, id) => request("DELETE", `${base(g)}/meetings/${enc(id)}`),
  open: (g, id) => request("POST", `${base(g)}/meetings/${enc(id)}/rooms`, {}),
  rooms: (g) => request("GET", `${base(g)}/rooms`),
  room: (g, r) => request("GET", `${base(g)}/rooms/${enc(r)}`),
  act: (g, r, action, body = {}) => request("POST", `${base(g)}/rooms/${enc(r)}/${action}`, body),
};

const formatNames = { open_sharing: "Open sharing", speaker: "Speaker meeting", step_study: "Step study" };
const dayNames = [
  ["mon", "Monday"],
  ["tue", "Tuesday"],
  ["wed", "Wednesday"],
  ["thu", "Thursday"],
  ["fri", "Friday"],
  ["sat", "Saturday"],
  ["sun", "Sunday"],
];

/** The member's own time zone, as the browser knows it. */
function ownZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

// Times are shown in the member's own zone, which the list names once
// above the times, not on every line.
const whenFmt = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long", hour: "numeric", minute: "2-digit" });
const clockFmt = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });

/** How many upcoming meetings show before "Later dates". */
const FIRST_UPCOMING = 5;

/**
 * Runs fn (which redraws part of page) and gives keyboard focus back to
 * the control that had it, found again by its id, or else to fallback.
 */
async function keepingFocus(page, fallback, fn) {
  const had = page.contains(document.activeElement) && document.activeElement !== page;
  const id = had ? document.activeElement.id : "";
  await fn();
  if (!had || page.contains(document.activeElement)) return;
  const again = (id && document.getElementById(id)) || fallback();
  if (again) again.focus();
}

function when(iso) {
  const d = new Date(iso);
  return h("time", { datetime: iso }, whenFmt.format(d));
}

function setTitle(t) {
  document.title = t ? `${t} · Hearth` : "Hearth";
}

function field(id, label, control, hint) {
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label, hint ? h("span", { class: "hint", id: id + "-hint" }, hint) : null),
    control,
  );
}

function repeatText(m) {
  if (!m.weekdays || m.weekdays.length === 0) return "Once";
  const names = m.weekdays.map((d) => (dayNames.find(([k]) => k === d) || [d, d])[1]);
  return "Every " + (names.length > 1 ? names.slice(0, -1).join(", ") + " and " + names[names.length - 1] : names[0]);
}

/**
 * Shows the reminder of a meeting_soon event through notify(), which holds
 * it during quiet hours like any other notice.
 */
export function remindOfMeeting(data, groupName) {
  notify(meetingReminder(data, groupName));
}

/** The notice of a meeting_soon event, for notify(). */
function meetingReminder(data, groupName) {
  const m = (data && data.meeting) || {};
  const o = (data && data.occurrence) || {};
  const start = o.start ? new Date(o.start) : null;
  return {
    kind: "meeting",
    title: `${m.title || "A meeting"} starts soon`,
    body: start ? `At ${clockFmt.format(start)}, in ${groupName}.` : `In ${groupName}.`,
    href: `#/g/${data.group}/meetings`,
    group: groupName,
  };
}

/** The Meetings tab of group g. */
export async function meetingsView(main, [g], ctx) {
  const [head, d] = await groupFrame(g, "meetings");
  setTitle(`Meetings · ${d.name}`);
  const admin = isAdmin(d) && !d.removed;
  const err = errorSlot();
  const roomsBox = h("section", { "aria-labelledby": "rooms-title" });
  const upcomingBox = h("section", { "aria-labelledby": "upcoming-title" });
  const allBox = h("section", { "aria-labelledby": "all-title" });

  const load = async () => {
    const [rooms, upcoming, all] = await Promise.all([meetingsApi.rooms(g), meetingsApi.upcoming(g, 10), meetingsApi.meetings(g)]);
    if (!ctx.isCurrent()) return;
    const titles = new Map(all.map((m) => [m.id, m.title]));
    // A meeting whose room is open is joined from "Happening now", not
    // opened a second time.
    const openRoomOf = new Set(rooms.map((r) => r.meeting));
    replace(
      roomsBox,
      h("h2", { id: "rooms-title" }, "Happening now"),
      rooms.length === 0
        ? h("p", { class: "muted" }, "No meeting room is open. When the chair opens one, it appears here.")
        : h(
            "ul",
            { class: "rows" },
            rooms.map((r) =>
              h(
                "li",
                null,
                h("span", { class: "who" }, titles.get(r.meeting) || "Meeting"),
                h("span", { class: "what" }, `${r.present} present · chaired by ${r.chair_name}`),
                h("div", { class: "actions" }, h("a", { class: "button", href: `#/g/${g}/rooms/${r.id}`, id: `join-room-${r.id}`, "aria-label": `Go to the room: ${titles.get(r.meeting) || "Meeting"}` }, "Go to the room")),
              ),
            ),
          ),
    );
    replace(
      upcomingBox,
      h("h2", { id: "upcoming-title" }, "Coming up"),
      h("p", { class: "muted small", id: "zone-note" }, `Times are in your time zone (${ownZone()}).`),
      upcoming.length === 0
        ? h("p", { class: "muted" }, admin ? "No meetings are scheduled. Schedule one below." : "No meetings are scheduled yet.")
        : h(
            "div",
            { id: "upcoming" },
            h("ul", { class: "rows meeting-list", "aria-labelledby": "upcoming-title" }, upcoming.slice(0, FIRST_UPCOMING).map(occurrence)),
            upcoming.length > FIRST_UPCOMING
              ? h("details", { class: "more" }, h("summary", null, `Later dates (${upcoming.length - FIRST_UPCOMING})`),
                  h("ul", { class: "rows meeting-list" }, upcoming.slice(FIRST_UPCOMING).map(occurrence)))
              : null,
          ),
      h(
        "p",
        { class: "small" },
        h("a", { href: `${base(g)}/meetings.ics`, download: "hearth-meetings.ics", id: "ics-link" }, "Add these meetings to your calendar (.ics file)"),
        h("span", { class: "hint" }, "The file holds the titles and times only: nothing that names or opens the group."),
      ),
    );
    const live = all.filter((m) => !m.cancelled);
    if (admin) live.length ? scheduleLink.removeAttribute("hidden") : scheduleLink.setAttribute("hidden", "");
    replace(
      allBox,
      h("h2", { id: "all-title", tabindex: "-1" }, "Meetings"),
      live.length === 0
        ? null
        : h(
            "ul",
            { class: "rows" },
            live.map((m) =>
              h(
                "li",
                null,
                h("span", { class: "who" }, m.title),
                h("span", { class: "what" }, `${repeatText(m)}, ${m.minutes} minutes`, m.zone ? ` (${m.zone} time)` : ""),
                m.reading ? h("p", { class: "reading small" }, m.reading) : null,
                admin ? h("div", { class: "actions" }, openRoomOf.has(m.id) ? null : openButton(m), cancelButton(m)) : null,
              ),
            ),
          ),
    );
  };

  const openButton = (m) =>
    h(
      "button",
      {
        type: "button",
        class: "small",
        id: `open-${m.id}`,
        "aria-label": `Open the room for ${m.title}`,
        onclick: async () => {
          showError(err, null);
          try {
            const r = await meetingsApi.open(g, m.id);
            location.hash = `#/g/${g}/rooms/${r.id}`;
          } catch (e) {
            showError(err, e);
          }
        },
      },
      "Open the room",
    );
  const cancelButton = (m) =>
    h(
      "button",
      {
        type: "button",
        class: "danger-outline small",
        id: `cancel-${m.id}`,
        "aria-label": `Cancel ${m.title}…`,
        onclick: async () => {
          // The dialog's own "Cancel" would read as cancelling the
          // meeting: here it says what it does.
          const keep = document.getElementById("confirm-cancel");
          keep.textContent = "No, keep it";
          const ok = await confirmAction({ title: `Cancel ${m.title}?`, body: "Members will see it as cancelled, and it will no longer appear in anyone's upcoming meetings.", confirm: "Yes, cancel the meeting" });
          keep.textContent = "Cancel";
          if (!ok) return;
          try {
            await meetingsApi.cancel(g, m.id);
            announce(`${m.title} is cancelled.`);
          } catch (e) {
            showError(err, e);
          }
          await keepingFocus(page, () => document.getElementById("all-title"), load);
        },
      },
      "Cancel meeting…",
    );
  const occurrence = (o) =>
    h(
      "li",
      null,
      h("span", { class: "who" }, o.meeting.title),
      h("span", { class: "what" }, when(o.start), ` · ${o.meeting.minutes} minutes`, o.meeting.format ? ` · ${formatNames[o.meeting.format]}` : ""),
    );

  const form = admin ? scheduleForm(g, load) : null;
  // On a phone the form is far below the lists: a host gets there in one
  // press, with focus in its first field.
  const scheduleLink = h("p", { hidden: true }, h("button", {
    type: "button",
    class: "link",
    onclick: () => {
      form.scrollIntoView({ block: "start" });
      document.getElementById("meeting-title").focus({ preventScroll: true });
    },
  }, "Schedule a meeting ↓"));
  const page = h("div", { class: "page" }, head, err, admin ? scheduleLink : null, roomsBox, upcomingBox, allBox, form);
  replace(main, page);
  await load();
  ctx.onEvent((type, data) => {
    if (data.group === g && (type === "meeting" || type === "meeting_room")) {
      keepingFocus(page, () => document.getElementById("all-title"), load).catch(() => {});
    }
  });
}

/** The schedule form of hosts and moderators. */
function scheduleForm(g, reload) {
  // The form's own error line sits by its button, where the host looks.
  const err = errorSlot();
  const title = h("input", { type: "text", id: "meeting-title", required: true, maxlength: 200, autocomplete: "off" });
  const date = h("input", { type: "date", id: "meeting-date", required: true });
  const time = h("input", { type: "time", id: "meeting-time", required: true, value: "19:00" });
  const zone = h("input", { type: "text", id: "meeting-zone", value: ownZone(), autocomplete: "off", list: "meeting-zones", spellcheck: "false" });
  let zones = [];
  try {
    zones = Intl.supportedValuesOf("timeZone");
  } catch {
    // An older browser: the field takes any zone name typed in.
  }
  const zoneList = h("datalist", { id: "meeting-zones" }, zones.map((z) => h("option", { value: z })));
  const minutes = h("input", { type: "number", id: "meeting-minutes", min: 1, max: 1440, value: "60", inputmode: "numeric" });
  const days = dayNames.map(([k, name]) => [k, h("input", { type: "checkbox", id: `meeting-day-${k}`, value: k }), name]);
  const format = h(
    "select",
    { id: "meeting-format" },
    h("option", { value: "" }, "Not set"),
    Object.entries(formatNames).map(([v, t]) => h("option", { value: v }, t)),
  );
  const reading = h("textarea", { id: "meeting-reading", rows: 3, maxlength: 4096 });
  const submit = h("button", { type: "submit", id: "meeting-submit" }, "Schedule meeting");
  const local = new Date(Date.now() + 86400000);
  date.value = `${local.getFullYear()}-${String(local.getMonth() + 1).padStart(2, "0")}-${String(local.getDate()).padStart(2, "0")}`;
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "schedule-title", id: "schedule-form" },
    h("h2", { id: "schedule-title" }, "Schedule a meeting"),
    field("meeting-title", "Title", title),
    h("div", { class: "field-row" }, field("meeting-date", "First date", date), field("meeting-time", "Starts at", time), field("meeting-minutes", "Length in minutes", minutes)),
    field("meeting-zone", "Time zone", zone, "The meeting keeps this hour in this zone, even when the clocks change. Members see it in their own time."),
    zoneList,
    h(
      "fieldset",
      { class: "days" },
      h("legend", null, "Repeats every week on", h("span", { class: "hint" }, "Leave all unticked for a one-off meeting.")),
      h("div", { class: "day-row" }, days.map(([k, box, name]) => h("label", { class: "check", for: `meeting-day-${k}` }, box, h("span", null, name)))),
    ),
    field("meeting-format", "Format", format),
    field("meeting-reading", "Reading (optional)", reading, "A short text to read at the start, such as the group's preamble."),
    err,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError(err, null);
    if (!title.value.trim()) {
      showError(err, new Error("Give the meeting a title."));
      title.focus();
      return;
    }
    if (!date.value || !time.value) {
      showError(err, new Error("Choose the first date and the time the meeting starts."));
      (date.value ? time : date).focus();
      return;
    }
    submit.disabled = true;
    try {
      const m = await meetingsApi.schedule(g, {
        title: title.value.trim(),
        start: `${date.value}T${time.value}`,
        zone: zone.value.trim(),
        minutes: Number(minutes.value),
        weekdays: days.filter(([, box]) => box.checked).map(([k]) => k),
        format: format.value,
        reading: reading.value,
      });
      announce(`${m.title} is scheduled.`);
      title.value = "";
      reading.value = "";
      await reload();
    } catch (e) {
      showError(err, e);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/**
 * Makes parent's children exactly the given nodes (nulls left out),
 * touching only what changed: a node already in place is not moved, so
 * keyboard focus and a screen reader's reading position survive a redraw.
 */
function place(parent, ...children) {
  const want = children.flat(Infinity).filter(Boolean);
  const keep = new Set(want);
  for (const c of [...parent.childNodes]) if (!keep.has(c)) c.remove();
  want.forEach((c, i) => {
    if (parent.childNodes[i] !== c) parent.insertBefore(c, parent.childNodes[i] || null);
  });
}

/** Sets el's text only when it differs, so a live region is not re-announced. */
function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/** Fills list with one <li> per name, only when the names changed. */
function setItems(list, names) {
  const key = JSON.stringify(names);
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  replace(list, names.map((n) => h("li", null, n)));
}

/**
 * The live room r of group g. Its elements are made once and updated in
 * place from each meeting_room event, so a redraw never takes keyboard
 * focus or a screen reader's place away. What changes is said through the
 * page's polite live region, gathered for a moment so that several
 * check-ins make one short sentence; the share timer counts down on screen
 * only (role "timer" is never read out by itself) and says once when the
 * time is up.
 */
export async function roomView(main, [g, roomId], ctx) {
  const [head, d] = await groupFrame(g, "meetings");
  let room = await meetingsApi.room(g, roomId);
  const all = await meetingsApi.meetings(g);
  const meeting = all.find((m) => m.id === room.meeting) || { title: "Meeting" };
  setTitle(`${meeting.title} · ${d.name}`);
  const err = errorSlot();
  const person = (m) => (m.anonymous ? "Someone (anonymous)" : m.pseudonym);

  // What is said, gathered for a moment; a newer sentence on the same
  // topic (the count) replaces the older one.
  const pending = new Map();
  let sayTimer = 0;
  const say = (topic, text) => {
    pending.delete(topic);
    pending.set(topic, text);
    clearTimeout(sayTimer);
    sayTimer = setTimeout(() => {
      const text = [...pending.values()].join(" ");
      pending.clear();
      if (ctx.isCurrent()) announce(text);
    }, 700);
  };

  // seen counts the room's live events. An action's answer is drawn only
  // when no event came meanwhile: a later event carries a newer state
  // than an answer that was on its way, and the action's own event is sent
  // before its answer, so nothing is lost by dropping the answer.
  let seen = 0;
  const act = async (action, extra, said) => {
    showError(err, null);
    const before = seen;
    try {
      const next = await meetingsApi.act(g, roomId, action, extra);
      if (seen === before) {
        room = next;
        draw();
      }
      if (said) say("you", said);
    } catch (e) {
      showError(err, e);
    }
  };

  // The room's elements, made once.
  const title = h("h2", { class: "room-title", id: "room-title", tabindex: "-1" }, meeting.title);
  const chairLine = h("p", { class: "muted" });
  const closedNote = h("p", { class: "room-closed", id: "room-closed" }, "This meeting has closed. Thank you for being here.");
  const reading = meeting.reading ? h("blockquote", { class: "reading" }, meeting.reading) : null;

  const anonymous = h("input", { type: "checkbox", id: "checkin-anonymous" });
  const checkinButton = h("button", { type: "button", id: "checkin", onclick: () => act("checkin", { anonymous: anonymous.checked }, "You are checked in.") }, "Check in");
  const checkinBox = h(
    "div",
    { class: "checkin" },
    h("p", null, "Check in to be counted, raise your hand and share."),
    h("label", { class: "check", for: "checkin-anonymous" }, anonymous, h("span", null, "Anonymous in the count",
      h("span", { class: "hint" }, "Others see one more person present, not your name. Their Hearth can still tell who checked in."))),
    h("div", { class: "actions" }, checkinButton),
  );
  // One button raises and lowers the hand, so focus stays on it.
  const hand = h("button", { type: "button", onclick: () => (room.you.position ? act("lower", {}, "Your hand is lowered.") : act("raise", {}, "Your hand is raised.")) });
  const endMine = h("button", { type: "button", id: "end-my-share", onclick: () => act("endshare", {}, "Your share has ended.") }, "End my share");
  const myPlace = h("p", { class: "my-place", id: "my-place" });
  const leave = h("button", { type: "button", class: "secondary", id: "checkout", onclick: () => act("checkout", {}, "You left the room.") }, "Leave the room");
  const youActions = h("div", { class: "actions" });
  const leaveRow = h("div", { class: "actions leave-row" }, leave);
  const youBox = h("section", { class: "card you", "aria-labelledby": "you-title" }, h("h3", { id: "you-title" }, "You"));

  const speaker = h("p", { id: "speaker" });
  const timerEl = h("p", { class: "share-timer", id: "share-timer", role: "timer" });
  const queueNone = h("p", { class: "muted", id: "queue" }, "No hands raised.");
  const queueList = h("ol", { class: "queue", id: "queue", "aria-labelledby": "queue-title" });
  const speakingBox = h("section", { class: "card", "aria-labelledby": "speaker-title" }, h("h3", { id: "speaker-title" }, "Speaking"));
  const queueTitle = h("h4", { id: "queue-title" }, "Hands raised");

  const presentCount = h("p", { class: "present-count", id: "present-count" });
  const anonCount = h("p", { class: "muted small", id: "anonymous-count" });
  const attendees = h("ul", { class: "plain-list", id: "attendees", "aria-label": "Present by name" });
  const presentBox = h("section", { class: "card", "aria-labelledby": "present-title" }, h("h3", { id: "present-title" }, "Present"));
  const grid = h("div", { class: "room-grid" });

  // The chair's controls. The timer choice is the chair's own until they
  // set it: an event meanwhile does not undo what they picked.
  let timerChosen = false;
  const secs = h(
    "select",
    { id: "timer-seconds", class: "inline", onchange: () => (timerChosen = true) },
    [[0, "No timer"], [120, "2 minutes"], [180, "3 minutes"], [300, "5 minutes"], [600, "10 minutes"]].map(([v, t]) => h("option", { value: String(v) }, t)),
  );
  const giveFloor = h("button", {
    type: "button",
    id: "give-floor",
    onclick: () => {
      if (room.queue.length) act("floor", {}, `${person(room.queue[0])} has the floor.`);
    },
  });
  const endShare = h("button", { type: "button", class: "secondary", id: "end-share", onclick: () => act("endshare", {}, "The share has ended.") }, "End this share");
  const setTimer = h("button", {
    type: "button",
    class: "secondary",
    id: "set-timer",
    onclick: () => {
      timerChosen = false;
      act("timer", { seconds: Number(secs.value) }, Number(secs.value) ? `Each share now has ${secs.options[secs.selectedIndex].text}.` : "Shares have no timer now.");
    },
  }, "Set timer");
  const closeRoom = h("button", {
    type: "button",
    class: "danger-outline",
    id: "close-room",
    onclick: async () => {
      const ok = await confirmAction({ title: "Close the meeting?", body: "Nobody can check in, raise a hand or share in this room afterwards.", confirm: "Close the meeting" });
      if (ok) act("close", {}, "");
    },
  }, "Close the meeting");
  const floorActions = h("div", { class: "actions" });
  const chairBox = h(
    "section",
    { class: "card chair", "aria-labelledby": "chair-title" },
    h("h3", { id: "chair-title" }, "Chair’s controls"),
    floorActions,
    h("div", { class: "field timer-row" }, h("label", { for: "timer-seconds" }, "Share timer"), secs, setTimer),
    h("div", { class: "actions close-row" }, closeRoom),
  );
  const body = h("div", { id: "room" });

  let shown = null; // the room as last drawn, to tell what changed
  let timeUpSaid = "";

  /** Says what changed between the room drawn before and now. */
  const tellChanges = (before, now) => {
    if (!before) return;
    if (now.closed && !before.closed) {
      say("closed", "The meeting has closed.");
      return;
    }
    if (now.present !== before.present) say("present", `${now.present} present.`);
    const was = before.speaker ? `${person(before.speaker)}|${before.speaker_since || ""}` : "";
    const is = now.speaker ? `${person(now.speaker)}|${now.speaker_since || ""}` : "";
    if (is !== was || (now.you.speaking && !before.you.speaking)) {
      if (now.you.speaking) say("speaker", "You have the floor. Share when you are ready.");
      else if (now.speaker) say("speaker", `${person(now.speaker)} has the floor.`);
      else say("speaker", "The share has ended.");
    }
    if (now.you.chair && now.queue.length > before.queue.length) {
      say("queue", `${person(now.queue[now.queue.length - 1])} raised a hand. ${now.queue.length} waiting.`);
    }
  };

  const draw = () => {
    const you = room.you;
    const named = room.attendees.length;
    const anon = room.present - named;
    const hadFocus = body.contains(document.activeElement);

    setText(chairLine, `Chaired by ${room.chair_name}`);
    // You: check in, or the hand, the share and leaving.
    if (!room.closed && !you.present) {
      place(youBox, youBox.firstChild, checkinBox);
    } else if (!room.closed) {
      if (you.position) {
        hand.id = "lower-hand";
        hand.className = "secondary";
        setText(hand, "Lower my hand");
      } else {
        hand.id = "raise-hand";
        hand.className = "";
        setText(hand, "Raise my hand");
      }
      setText(myPlace, you.speaking
        ? "You have the floor."
        : you.position
          ? `Your hand is raised: you are number ${you.position} in the queue.`
          : "Raise your hand when you would like to share.");
      place(youActions, you.speaking ? endMine : hand);
      place(youBox, youBox.firstChild, myPlace, youActions, leaveRow);
    }
    // The speaker, the timer and the queue.
    if (room.speaker) {
      speaker.className = "speaker";
      setText(speaker, you.speaking ? `${person(room.speaker)} (you)` : person(room.speaker));
    } else {
      speaker.className = "muted";
      setText(speaker, "No one has the floor.");
    }
    setItems(queueList, room.queue.map(person));
    place(speakingBox, speakingBox.firstChild, speaker, timerEl, queueTitle, room.queue.length ? queueList : queueNone);
    // Who is present.
    setText(presentCount, `${room.present} present`);
    setText(anonCount, `${anon} of them anonymous`);
    setItems(attendees, room.attendees.map((a) => a.pseudonym));
    place(presentBox, presentBox.firstChild, presentCount, anon > 0 ? anonCount : null, named ? attendees : null);
    place(grid, room.closed ? null : speakingBox, presentBox);
    // The chair's controls.
    if (you.chair && !room.closed) {
      if (room.queue.length) {
        giveFloor.removeAttribute("aria-disabled");
        setText(giveFloor, `Give the floor to ${person(room.queue[0])}`);
      } else {
        giveFloor.setAttribute("aria-disabled", "true");
        setText(giveFloor, "Give the floor (no hands raised)");
      }
      place(floorActions, giveFloor, room.speaker ? endShare : null);
      if (!timerChosen && document.activeElement !== secs) secs.value = String(room.share_seconds || 0);
    }
    place(
      body,
      title,
      chairLine,
      room.closed ? closedNote : null,
      reading,
      room.closed ? null : youBox,
      grid,
      you.chair && !room.closed ? chairBox : null,
    );
    // A control that went away (Check in, once checked in) leaves focus
    // on the control that took its place, not at the top of the page.
    if (hadFocus && !body.contains(document.activeElement)) {
      const next = [endMine, hand, checkinButton].find((b) => b.isConnected) || title;
      next.focus();
    }
    tellChanges(shown, room);
    shown = room;
    tick();
  };

  // The countdown of the current share, redrawn every second while this
  // screen is shown; said aloud only once, when the time is up.
  const tick = () => {
    if (!room.speaker || !room.share_ends || room.closed) {
      setText(timerEl, room.share_seconds && !room.closed ? `Each share has ${Math.round(room.share_seconds / 60)} minutes.` : "");
      timerEl.classList.remove("over");
      return;
    }
    const left = Math.round((new Date(room.share_ends).getTime() - Date.now()) / 1000);
    const abs = Math.abs(left);
    const mmss = `${Math.floor(abs / 60)}:${String(abs % 60).padStart(2, "0")}`;
    setText(timerEl, left >= 0 ? `${mmss} left in this share` : `Time is up (${mmss} over)`);
    timerEl.classList.toggle("over", left < 0);
    if (left < 0 && timeUpSaid !== room.share_ends) {
      timeUpSaid = room.share_ends;
      say("timer", room.you.speaking ? "Your time is up. Please finish your share." : "Time is up for this share.");
    }
  };
  const interval = setInterval(() => {
    if (!ctx.isCurrent()) {
      clearInterval(interval);
      return;
    }
    tick();
  }, 1000);

  replace(main, h("div", { class: "page" }, head, h("p", { class: "small" }, h("a", { href: `#/g/${g}/meetings` }, "← All meetings")), err, body));
  draw();
  // On a phone the group's header fills the first screen: the room starts
  // at the top instead (the header is a short scroll up).
  if (matchMedia("(max-width: 40rem)").matches) body.scrollIntoView({ block: "start" });
  ctx.onEvent((type, data) => {
    if (type === "meeting_room" && data.group === g && data.room && data.room.id === roomId) {
      seen++;
      room = data.room;
      draw();
    }
  });
}
