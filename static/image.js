// The image page for its owner (and admins): save the title and description in place,
// and confirm a delete in a dialog. Without this script the form posts and the
// "Delete…" link opens the confirmation page.
import { flashNextPage, sendJson } from "./lib.js";

const form = document.querySelector("form.edit");
const status = document.getElementById("edit-status");
const dialog = document.getElementById("confirm-delete");
const heading = document.querySelector(".details h1");

/** What the image is called on pages: its title, else its filename (as the server does). */
function currentName(image) {
  return (image && (image.title || image.filename)) || heading.textContent;
}

function say(message, kind) {
  status.className = `edit-status ${kind}`;
  // Cleared first, so the same message twice is announced twice.
  status.textContent = "";
  requestAnimationFrame(() => { status.textContent = message; });
}

function showDescription(text) {
  let paragraph = document.querySelector(".details .description");
  if (!text) {
    if (paragraph) paragraph.remove();
    return;
  }
  if (!paragraph) {
    paragraph = document.createElement("p");
    paragraph.className = "description";
    heading.after(paragraph);
  }
  paragraph.textContent = text;
}

function showSaved(image) {
  const name = currentName(image);
  heading.textContent = name;
  document.title = `${name} · Gallery`;
  const figureImage = document.querySelector(".single figure img");
  if (figureImage) figureImage.alt = name;
  const confirmName = dialog && dialog.querySelector(".confirm-name");
  if (confirmName) confirmName.textContent = name;
  showDescription(image.description || "");
}

async function save(event) {
  event.preventDefault();
  const button = form.querySelector('button[type="submit"]');
  const payload = {
    title: form.elements.title.value,
    description: form.elements.description.value,
  };
  button.disabled = true;
  say("Saving…", "busy");
  const result = await sendJson("PATCH", form.dataset.api, payload);
  button.disabled = false;
  for (const field of [form.elements.title, form.elements.description]) {
    field.removeAttribute("aria-invalid");
  }
  if (result.ok) {
    showSaved(result.body || {});
    say("Saved.", "ok");
  } else {
    say(result.message, "error");
  }
}

function openConfirm(event) {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  dialog.querySelector(".dialog-error").textContent = "";
  dialog.querySelector(".confirm-delete").disabled = false;
  dialog.showModal();
  dialog.querySelector("button.cancel").focus();
}

async function confirmDelete() {
  const button = dialog.querySelector(".confirm-delete");
  const error = dialog.querySelector(".dialog-error");
  const name = dialog.querySelector(".confirm-name").textContent;
  button.disabled = true;
  error.textContent = "";
  const result = await sendJson("DELETE", dialog.dataset.api);
  if (result.ok || result.status === 404) {
    // 404: already gone (deleted elsewhere); either way it is not in the gallery.
    // With the trash, the next page says "Moved to the trash" itself, with its Undo.
    if (!dialog.dataset.trash || !result.ok) flashNextPage(`Deleted “${name}”.`);
    window.location.assign(dialog.dataset.home);
    return;
  }
  button.disabled = false;
  error.textContent = result.message;
}

if (form && status && heading) {
  form.addEventListener("submit", save);
}
if (dialog && typeof dialog.showModal === "function") {
  const link = document.querySelector("a.delete-link");
  if (link) link.addEventListener("click", openConfirm);
  dialog.querySelector(".confirm-delete").addEventListener("click", confirmDelete);
  dialog.querySelector("button.cancel").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => { if (link) link.focus(); });
}
