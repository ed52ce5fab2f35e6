// First run: a new Hearth home has no passphrase yet. The daemon serves
// this page in setup mode (every other route answers setup_required) until
// the person chooses one here. The strength hint is computed in this page
// only: the passphrase is sent nowhere but to POST /api/v1/setup on this
// same origin, and only when the person asks for it.

import { request } from "./api.js";
import { h, replace, announce, errorSlot, showError } from "./dom.js";
import { protectsText } from "./views.js";

/** The fewest characters the daemon accepts (api.MinPassphraseLen). */
export const minLength = 10;

// A few of the passphrases and pieces that guessers try first. A short
// list, on purpose: it catches the obvious, and the length and variety
// rules do the rest.
const common = [
  "password", "passwort", "letmein", "welcome", "iloveyou", "qwerty", "azerty", "asdfgh", "zxcvbn",
  "admin", "login", "master", "dragon", "monkey", "sunshine", "princess", "football", "baseball",
  "shadow", "superman", "trustno1", "hearth", "secret", "abc123", "changeme",
];

const sequences = ["0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm"];

/**
 * Judges a passphrase, locally. Returns {level, label, notes}: level 0 (too
 * short) to 3 (strong), a one-word label, and the reasons, each a sentence
 * a person can act on.
 */
export function strength(p) {
  const chars = [...p];
  const notes = [];
  if (chars.length < minLength) {
    return {
      level: 0,
      label: "Too short",
      notes: [`Use at least ${minLength} characters; ${chars.length === 0 ? "none yet" : `this has ${chars.length}`}.`],
    };
  }
  const lower = p.toLowerCase();
  let score = chars.length >= 20 ? 3 : chars.length >= 14 ? 2 : 1;
  const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9\s]/].filter((re) => re.test(p)).length;
  const words = p.trim().split(/\s+/).filter((w) => w.length >= 3).length;
  if (kinds >= 3 || words >= 4) score += 1;
  if (kinds === 1 && words < 3) {
    notes.push("It uses only one kind of character; mix in others, or use several unrelated words.");
    score -= 1;
  }
  const found = common.find((w) => lower.includes(w));
  if (found) {
    notes.push(`It contains “${found}”, one of the first things guessers try.`);
    score -= 2;
  }
  if (/(.)\1\1/u.test(p)) {
    notes.push("It repeats the same character several times in a row.");
    score -= 1;
  }
  if (sequences.some((s) => hasRun(lower, s, 4))) {
    notes.push("It contains a run such as “1234” or “abcd” or a keyboard row.");
    score -= 1;
  }
  if (/(19|20)\d\d/.test(p)) {
    notes.push("It contains what looks like a year; dates are easy to guess for people who know you.");
    score -= 1;
  }
  if (/^\d+$/.test(p)) {
    notes.push("It is only digits.");
    score -= 1;
  }
  const level = Math.max(1, Math.min(3, score));
  if (notes.length === 0 && level < 3) notes.push("Longer is stronger: add another unrelated word.");
  return { level, label: ["Too short", "Weak", "Fair", "Strong"][level], notes };
}

/** Reports whether p holds n or more consecutive characters of seq, either way. */
function hasRun(p, seq, n) {
  const rev = [...seq].reverse().join("");
  for (let i = 0; i + n <= seq.length; i++) {
    if (p.includes(seq.slice(i, i + n)) || p.includes(rev.slice(i, i + n))) return true;
  }
  return false;
}

/**
 * Asks the daemon whether the home still needs its passphrase. When it
 * does, shows the setup screen in main and resolves once the home is
 * created and the node runs; otherwise resolves at once. A missing
 * session throws like any request.
 */
export async function runSetup(main) {
  const s = await request("GET", "/api/v1/setup");
  if (!s || !s.needed) return;
  await new Promise((done) => setupView(main, done));
  history.replaceState(null, "", "#/");
}

function setupView(main, done) {
  document.title = "Set up Hearth · Hearth";
  const err = errorSlot();
  const pass = h("input", {
    type: "password", id: "setup-pass", name: "passphrase", required: true, autocomplete: "new-password",
    minlength: minLength, maxlength: 1024, spellcheck: "false", "aria-describedby": "setup-pass-hint setup-strength",
  });
  const again = h("input", {
    type: "password", id: "setup-again", name: "confirm", required: true, autocomplete: "new-password",
    maxlength: 1024, spellcheck: "false",
  });
  const meter = h("meter", { id: "setup-meter", min: 0, max: 3, low: 1.5, high: 2.5, optimum: 3, value: 0, "aria-hidden": "true" });
  const label = h("strong", { id: "setup-strength-label" });
  const notes = h("ul", { class: "strength-notes", id: "setup-strength-notes" });
  const hint = h("div", { class: "strength", id: "setup-strength", "aria-live": "polite" }, meter, " ", label, notes);
  const show = h("input", { type: "checkbox", id: "setup-show" });
  const submit = h("button", { type: "submit" }, "Create my Hearth");

  const update = () => {
    const r = strength(pass.value);
    meter.value = r.level;
    label.textContent = `Strength: ${r.label}`;
    notes.replaceChildren(...r.notes.map((n) => h("li", null, n)));
    hint.dataset.level = String(r.level);
  };
  pass.addEventListener("input", update);
  show.addEventListener("change", () => {
    pass.type = again.type = show.checked ? "text" : "password";
  });
  update();

  const form = h(
    "form",
    { class: "card", novalidate: true, id: "setup-form" },
    h("div", { class: "field" },
      h("label", { for: "setup-pass" }, "Choose a passphrase",
        h("span", { class: "hint", id: "setup-pass-hint" },
          `At least ${minLength} characters. A few unrelated words are easy to remember and hard to guess.`)),
      pass, hint),
    h("div", { class: "field" }, h("label", { for: "setup-again" }, "Type it again"), again),
    h("label", { class: "check", for: "setup-show" }, show, "Show what I type"),
    h("p", { class: "notice", id: "setup-no-recovery" },
      h("strong", null, "Nobody can recover this passphrase. "),
      "Not the Hearth developers, not your group's host, not this computer's owner. " +
        "Without it, what is stored here cannot be opened: write it down somewhere safe or keep it in a password manager."),
    err,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError(err, null);
    if ([...pass.value].length < minLength) {
      showError(err, new Error(`The passphrase is too short: use at least ${minLength} characters.`));
      pass.focus();
      return;
    }
    if (pass.value !== again.value) {
      showError(err, new Error("The two passphrases differ. Type the same passphrase in both fields."));
      again.value = "";
      again.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Creating…";
    try {
      await request("POST", "/api/v1/setup", { passphrase: pass.value });
    } catch (e) {
      if (e.code === "conflict") {
        // Set up already (another tab): carry on to the groups.
        done();
        return;
      }
      showError(err, e);
      submit.disabled = false;
      submit.textContent = "Create my Hearth";
      return;
    }
    // The fields are cleared before the page moves on, so the passphrase
    // does not linger in the DOM.
    pass.value = again.value = "";
    announce("Hearth is set up.");
    done();
  });

  replace(
    main,
    h(
      "div",
      { class: "page" },
      h("h1", { tabindex: "-1" }, "Set up Hearth"),
      h("section", { class: "card welcome", "aria-labelledby": "protects" }, h("h2", { id: "protects" }, "What Hearth protects"), protectsText()),
      form,
    ),
  );
  main.querySelector("h1").focus({ preventScroll: true });
}
