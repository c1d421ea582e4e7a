// Tagging the images ticked in a grid's select mode, without leaving the page: the selection
// stays ticked, to tag again or to add to an album. Without this script the same buttons post
// the form and the server answers with the page the form came from and a message.
import { csrfToken, errorMessage } from "./lib.js";

const form = document.getElementById("select-form");
const tools = form && form.querySelector("[data-tag-tools]");

function start() {
  const input = tools.querySelector('input[name="tags"]');
  const suggestions = document.getElementById(input.getAttribute("list"));
  const status = tools.querySelector("[data-tag-status]");
  const buttons = () => Array.from(tools.querySelectorAll("button[data-tag-action]"));
  const chosen = () => Array.from(document.querySelectorAll('#grid .tile-select input[type="checkbox"]'))
    .filter((box) => box.checked);
  let asked = suggestions.options.length > 0;

  function say(message, kind) {
    status.className = `tag-status edit-status ${kind}`;
    status.textContent = "";
    requestAnimationFrame(() => { status.textContent = message; });
  }

  // The tags already used in the gallery, asked for once, when first needed.
  input.addEventListener("focus", async () => {
    if (asked) return;
    asked = true;
    try {
      const response = await fetch(tools.dataset.suggestions, {
        credentials: "same-origin", headers: { Accept: "application/json" },
      });
      if (!response.ok) return;
      const body = await response.json();
      for (const tag of body.tags || []) {
        const option = document.createElement("option");
        option.value = tag;
        suggestions.append(option);
      }
    } catch (_) { /* suggestions are a help, not a need */ }
  });

  // Before the form's own listener (albums.js): these buttons are answered here.
  document.addEventListener("submit", async (event) => {
    const button = event.submitter;
    if (event.target !== form || !button || !button.hasAttribute("data-tag-action") || !window.fetch) return;
    event.preventDefault();
    event.stopPropagation();
    if (!chosen().length) {
      say("Select at least one image first.", "error");
      return;
    }
    if (!input.value.trim()) {
      say("Type at least one tag (separate tags with commas).", "error");
      input.focus();
      return;
    }
    const params = new URLSearchParams(new FormData(form, button));
    for (const b of buttons()) b.disabled = true;
    say("Saving…", "busy");
    let message;
    let ok = false;
    let code = 0;
    try {
      const response = await fetch(button.formAction, {
        method: "POST", body: params, credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
      });
      const text = await response.text();
      ok = response.ok;
      code = response.status;
      message = ok ? JSON.parse(text).message : errorMessage(response.status, text);
    } catch (_) {
      message = errorMessage(0, "");
    }
    for (const b of buttons()) b.disabled = !chosen().length;
    input.removeAttribute("aria-invalid");
    if (ok) input.value = "";
    else if (code === 400) input.setAttribute("aria-invalid", "true");
    say(message, ok ? "ok" : "error");
  }, true);
}

if (tools) start();
