// Unlocking: a Hearth home that exists, started without its passphrase
// (by a desktop launcher or a service manager, with no terminal to ask
// on). The daemon serves this page locked (every other route answers
// locked) until the passphrase typed here opens the home. The passphrase
// goes nowhere but to POST /api/v1/unlock on this same origin.

import { request } from "./api.js";
import { h, replace, announce, errorSlot, showError } from "./dom.js";

/**
 * Asks the daemon whether the home waits for its passphrase. When it does,
 * shows the unlock screen in main and resolves once the home is open and
 * the node runs; otherwise resolves at once. A missing session throws like
 * any request.
 */
export async function runUnlock(main) {
  const s = await request("GET", "/api/v1/unlock");
  if (!s || !s.locked) return;
  await new Promise((done) => unlockView(main, done));
  history.replaceState(null, "", "#/");
}

function unlockView(main, done) {
  document.title = "Unlock Hearth · Hearth";
  const err = errorSlot();
  err.id = "unlock-error";
  const pass = h("input", {
    type: "password", id: "unlock-pass", name: "passphrase", required: true, autocomplete: "current-password",
    maxlength: 1024, spellcheck: "false", "aria-describedby": "unlock-lead unlock-error",
  });
  const show = h("input", { type: "checkbox", id: "unlock-show" });
  const submit = h("button", { type: "submit" }, "Unlock");
  show.addEventListener("change", () => {
    pass.type = show.checked ? "text" : "password";
  });

  // After too many wrong passphrases the daemon says how long to wait;
  // the button stays off until then, and says so.
  let waitUntil = 0;
  const release = () => {
    const left = Math.ceil((waitUntil - Date.now()) / 1000);
    if (left > 0) {
      submit.textContent = `Wait ${left} s`;
      setTimeout(release, 1000);
      return;
    }
    submit.disabled = false;
    submit.textContent = "Unlock";
  };

  const form = h(
    "form",
    { class: "card", novalidate: true, id: "unlock-form" },
    h("div", { class: "field" }, h("label", { for: "unlock-pass" }, "Passphrase"), pass),
    h("label", { class: "check", for: "unlock-show" }, show, "Show what I type"),
    err,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError(err, null);
    pass.removeAttribute("aria-invalid");
    if (pass.value === "") {
      showError(err, new Error("Type your passphrase first."));
      pass.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Unlocking…";
    try {
      await request("POST", "/api/v1/unlock", { passphrase: pass.value });
    } catch (e) {
      if (e.code === "conflict") {
        // Unlocked already (another tab): carry on to the groups.
        pass.value = "";
        done();
        return;
      }
      showError(err, e);
      if (e.code === "bad_passphrase") {
        pass.setAttribute("aria-invalid", "true");
        pass.select();
      }
      const m = e.code === "too_many_attempts" && /wait (\d+) seconds/.exec(e.message);
      waitUntil = m ? Date.now() + Number(m[1]) * 1000 : 0;
      release();
      pass.focus();
      return;
    }
    // Cleared before the page moves on, so the passphrase does not linger
    // in the DOM.
    pass.value = "";
    announce("Hearth is unlocked.");
    done();
  });

  replace(
    main,
    h(
      "div",
      { class: "page unlock" },
      h("h1", { tabindex: "-1" }, "Unlock Hearth"),
      h("p", { class: "lead", id: "unlock-lead" }, "Hearth is locked. Enter your passphrase to open it."),
      form,
      h("p", { class: "hint" },
        "This is the passphrase chosen when this Hearth was set up. Nobody can recover it for you; " +
          "after a few wrong tries in a row, Hearth asks you to wait a minute."),
    ),
  );
  pass.focus({ preventScroll: true });
}
