// Talking to the Hearth daemon's API on this same origin. The session
// cookie is HttpOnly: this code never sees it, the browser sends it.

/** An error the API answered, or a failure to reach it, with a message
 *  that tells a person what to do. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const unreachable =
  "Hearth is not answering. Check that it is still running (in the terminal where you started 'hearth up'), then try again.";

// Listeners told when the session has ended (401), so the app can show the
// sign-in page.
const signedOutListeners = [];

/** Calls fn when any request finds the session gone. */
export function onSignedOut(fn) {
  signedOutListeners.push(fn);
}

/**
 * Sends one request and returns the decoded JSON answer (null for an empty
 * one). It throws ApiError for an error answer or a network failure.
 */
export async function request(method, path, body) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, "unreachable", unreachable);
  }
  return decode(res);
}

async function decode(res) {
  const text = await res.text();
  let data = null;
  if (text !== "") {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (res.ok) {
    return data;
  }
  if (res.status === 401) {
    for (const fn of signedOutListeners) fn();
  }
  const err = data && data.error;
  if (err && typeof err.message === "string") {
    throw new ApiError(res.status, err.code || "error", sentence(err.message));
  }
  throw new ApiError(res.status, "error", `Hearth answered with an unexpected error (${res.status}). Try again; if it keeps happening, the terminal running Hearth may say why.`);
}

/** Makes the API's lower-case message a sentence. */
function sentence(s) {
  if (s === "") return s;
  s = s[0].toUpperCase() + s.slice(1);
  return /[.!?]$/.test(s) ? s : s + ".";
}

/** Asks the daemon to draw an invite as a QR code; returns a data: URL of
 *  the SVG, which the CSP's img-src allows. */
export async function qrDataURL(invite) {
  let res;
  try {
    res = await fetch("/ui/qr", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: invite }),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "unreachable", unreachable);
  }
  if (!res.ok) {
    return decode(res);
  }
  const svg = await res.text();
  return "data:image/svg+xml;base64," + btoa(svg);
}

const enc = encodeURIComponent;

export const api = {
  status: () => request("GET", "/api/v1/status"),
  groups: () => request("GET", "/api/v1/groups"),
  createGroup: (name, pseudonym, retention) => request("POST", "/api/v1/groups", { name, pseudonym, retention }),
  group: (g) => request("GET", `/api/v1/groups/${enc(g)}`),
  members: (g) => request("GET", `/api/v1/groups/${enc(g)}/members`),
  createInvite: (g, opts) => request("POST", `/api/v1/groups/${enc(g)}/invites`, opts),
  invites: (g) => request("GET", `/api/v1/groups/${enc(g)}/invites`),
  revokeInvite: (g, id) => request("DELETE", `/api/v1/groups/${enc(g)}/invites/${enc(id)}`),
  join: (invite, pseudonym) => request("POST", "/api/v1/join", { invite, pseudonym }),
  waiting: (g) => request("GET", `/api/v1/groups/${enc(g)}/waiting`),
  admit: (g, m) => request("POST", `/api/v1/groups/${enc(g)}/waiting/${enc(m)}/admit`, {}),
  deny: (g, m) => request("POST", `/api/v1/groups/${enc(g)}/waiting/${enc(m)}/deny`, {}),
  setRole: (g, m, role) => request("POST", `/api/v1/groups/${enc(g)}/members/${enc(m)}/role`, { role }),
  remove: (g, m) => request("DELETE", `/api/v1/groups/${enc(g)}/members/${enc(m)}`),
  leave: (g) => request("POST", `/api/v1/groups/${enc(g)}/leave`, {}),
  post: (g, text, replyTo) => request("POST", `/api/v1/groups/${enc(g)}/messages`, replyTo ? { text, reply_to: replyTo } : { text }),
  messages: (g, limit, before) => {
    const q = new URLSearchParams({ limit: String(limit) });
    if (before) q.set("before", before);
    return request("GET", `/api/v1/groups/${enc(g)}/messages?${q}`);
  },
  health: () => request("GET", "/api/v1/health"),
  logout: () => request("POST", "/api/v1/logout"),
};
