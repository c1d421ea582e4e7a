// Share links. On the link managers' pages: full addresses with a Copy button, a
// confirmation dialog before a revoke, and expiry times in the browser's own time
// zone. On an image page under a link: ← and → step through the album.
// Every page works without this file (plain forms and links).

// ------------------------------------------------------------ copying links

const copyStatus = document.createElement("p");
copyStatus.className = "visually-hidden";
copyStatus.setAttribute("role", "status");

async function copyText(input) {
  try {
    await navigator.clipboard.writeText(input.value);
    return true;
  } catch (_) {
    // No clipboard API (or no permission): select the text and copy it the old way.
    input.focus();
    input.select();
    try {
      return document.execCommand("copy");
    } catch (__) {
      return false;
    }
  }
}

function startCopyButtons() {
  const inputs = document.querySelectorAll("input[data-share-url]");
  if (!inputs.length) return;
  document.body.append(copyStatus);
  for (const input of inputs) {
    // Without GALLERY_BASE_URL the server gives a root-relative address: complete it.
    if (input.value.startsWith("/")) input.value = new URL(input.value, window.location.origin).href;
    input.addEventListener("focus", () => input.select());
    const button = input.parentElement.querySelector("button[data-copy]");
    if (!button) continue;
    button.hidden = false;
    let timer = null;
    button.addEventListener("click", async () => {
      const ok = await copyText(input);
      button.textContent = ok ? "Copied" : "Copy failed";
      copyStatus.textContent = ok ? "Link copied." : "Could not copy; select the address and copy it.";
      clearTimeout(timer);
      timer = setTimeout(() => { button.textContent = "Copy"; }, 2000);
    });
  }
}

// ------------------------------------------------------------ revoking

function startRevokeDialog() {
  const dialog = document.getElementById("confirm-revoke");
  if (!dialog || typeof dialog.showModal !== "function") return;
  const form = dialog.querySelector("form");
  let opener = null;
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-revoke]");
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    opener = link;
    form.action = link.href;
    dialog.querySelector(".confirm-name").textContent = link.dataset.label || "the link";
    dialog.showModal();
    dialog.querySelector(".cancel").focus();
  });
  dialog.querySelector(".cancel").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    if (opener) opener.focus();
  });
}

// ------------------------------------------------------------ expiry in local time

function startExpiry() {
  const form = document.querySelector("form.link-form");
  if (!form) return;
  const day = form.querySelector('input[name="expires_on"]');
  const time = form.querySelector('input[name="expires_time"]');
  const offset = form.querySelector('input[name="timezone_offset"]');
  const hint = form.querySelector("[data-expiry-hint]");
  if (!day || !time || !offset) return;
  if (hint) {
    let zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (_) { zone = ""; }
    hint.textContent = `Times are in your time zone${zone ? ` (${zone})` : ""}. A date alone lasts `
      + "until the end of that day. Leave empty for a link that never expires.";
  }
  const today = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  day.min = `${today.getFullYear()}-${pad(today.getMonth() + 1)}-${pad(today.getDate())}`;
  form.addEventListener("submit", () => {
    // The offset of the chosen moment itself (it differs across daylight saving changes).
    const [y, m, d] = day.value.split("-").map(Number);
    if (!y || !m || !d) { offset.value = "0"; return; }
    const [hh, mm] = time.value ? time.value.split(":").map(Number) : [23, 59];
    offset.value = String(new Date(y, m - 1, d, hh, mm, time.value ? 0 : 59).getTimezoneOffset());
  });
}

// ------------------------------------------------------------ stepping through images

function startSteps() {
  const steps = document.querySelector("nav.share-steps");
  if (!steps) return;
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.metaKey || event.ctrlKey || event.altKey || event.shiftKey) return;
    if (event.target.closest("input, textarea, select, [contenteditable]")) return;
    const rel = event.key === "ArrowLeft" ? "prev" : event.key === "ArrowRight" ? "next" : null;
    const target = rel && steps.querySelector(`a[rel="${rel}"]`);
    if (!target) return;
    event.preventDefault();
    window.location.assign(target.href);
  });
}

startCopyButtons();
startRevokeDialog();
startExpiry();
startSteps();
