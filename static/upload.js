// The upload page with JavaScript: drop files or folders anywhere, paste, or pick;
// each file goes on its own to the API with real progress, three at a time.
// The server checks every file; the checks here only spare a pointless upload.
// Each file goes through: waiting, uploading (its bytes, with progress), processing
// (all sent; the server checks and stores it), then stored, already there, or failed
// (with Retry only where trying again can help: no connection, a server or storage
// failure, too many requests; a refused file says why instead).
// The title, description and tags of the form go with every file picked after they
// were typed. Files picked together get upload times a millisecond apart, from the
// time they were picked, so the gallery (newest first) shows them in the order picked.
// With an album chosen in "Add to album", the stored images are added to it in that
// order once the uploads are over (in batches).
// Without this script the form posts every picked file at once.
import { csrfToken, errorMessage, humanSize, sendJson } from "./lib.js";

const PARALLEL = 3;
/** Seconds between two read-outs of the summary while uploads go on. */
const ANNOUNCE_EVERY = 20;

const form = document.getElementById("upload-form");
const dropzone = document.getElementById("dropzone");
const list = document.getElementById("upload-list");
const summary = document.getElementById("upload-summary");
const progressBox = document.getElementById("upload-progress");
const announcer = document.getElementById("upload-announce");
const fieldInputs = {
  title: document.getElementById("upload-title"),
  description: document.getElementById("upload-description"),
  tags: document.getElementById("upload-tags"),
};
const tagsError = document.getElementById("upload-tags-error");
const pickers = [document.getElementById("images"), document.getElementById("folder")].filter(Boolean);
const albumChoice = document.getElementById("upload-album");

const limits = form ? {
  api: form.dataset.api,
  maxFileBytes: Number(form.dataset.maxFileBytes) || Infinity,
  types: new Set((form.dataset.types || "").split(",").filter(Boolean)),
  extensions: new Set((form.dataset.extensions || "").split(",").filter(Boolean)),
  maxTitle: Number(form.dataset.maxTitle) || 200,
  maxDescription: Number(form.dataset.maxDescription) || 5000,
  maxTag: Number(form.dataset.maxTag) || 50,
  maxTags: Number(form.dataset.maxTags) || 30,
} : null;

// The server's clock when the page was made, and this page's own steady clock since:
// upload times come from the server's clock, whatever the time on this computer.
const serverStart = form ? Date.parse(form.dataset.now || "") : NaN;
const loadedAt = performance.now();

function serverNow() {
  const base = Number.isNaN(serverStart) ? Date.now() : serverStart;
  return Math.floor(base + (performance.now() - loadedAt));
}

const queue = [];
const items = [];
const counts = { done: 0, duplicate: 0, error: 0, skipped: 0 };
let lastAnnounced = 0;
let runAnnounced = false;
// Stored images waiting to be added to their album: [{item, id, album}], sent in batches.
const albumAdds = { pending: [], sending: false, added: 0, failed: 0 };
/** Most image ids one "Add to album" request may carry (the server's limit). */
const ALBUM_BATCH = 1000;
let active = 0;
let nextId = 0;

// ------------------------------------------------------------------ checks

function extension(name) {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot).toLowerCase() : "";
}

function looksLikeImage(file) {
  if (file.type) return limits.types.has(file.type);
  return limits.extensions.has(extension(file.name));
}

function isHidden(file) {
  const path = file.webkitRelativePath || file.name;
  return path.split("/").some((part) => part.startsWith("."));
}

/** Why the server would refuse this file, judged by its type and size, or "". */
function precheck(file) {
  if (!looksLikeImage(file)) {
    const kind = file.type || extension(file.name) || "this kind of file";
    return `Not an image this gallery accepts (${kind}); use JPEG, PNG, GIF, WebP, HEIC or AVIF.`;
  }
  if (file.size > limits.maxFileBytes) {
    return `Larger than ${humanSize(limits.maxFileBytes)}, the most this gallery accepts per image.`;
  }
  return "";
}

/** The form's title, description and tags as {fields, problem}: problem says what is wrong. */
function readFields() {
  const title = fieldInputs.title ? fieldInputs.title.value.trim() : "";
  const description = fieldInputs.description ? fieldInputs.description.value : "";
  const typed = fieldInputs.tags ? fieldInputs.tags.value : "";
  const tags = [];
  const seen = new Set();
  let problem = "";
  for (const part of typed.split(",")) {
    const tag = part.replace(/\s+/g, " ").trim();
    if (!tag) continue;
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f-\u009f]/.test(part)) problem = "A tag may not hold control characters.";
    else if (tag.length > limits.maxTag) problem = `A tag may be at most ${limits.maxTag} characters long (“${tag.slice(0, 20)}…” has ${tag.length}).`;
    const key = tag.toLowerCase();
    if (!seen.has(key)) { seen.add(key); tags.push(tag); }
  }
  if (!problem && tags.length > limits.maxTags) problem = `An image may have at most ${limits.maxTags} tags; ${tags.length} were typed.`;
  let fieldProblem = "";
  if (title.length > limits.maxTitle) fieldProblem = `The title is too long (at most ${limits.maxTitle} characters).`;
  if (description.length > limits.maxDescription) fieldProblem = `The description is too long (at most ${limits.maxDescription} characters).`;
  if (tagsError && fieldInputs.tags) {
    tagsError.textContent = problem;
    tagsError.hidden = !problem;
    if (problem) fieldInputs.tags.setAttribute("aria-invalid", "true");
    else fieldInputs.tags.removeAttribute("aria-invalid");
  }
  return { fields: { title, description, tags: tags.join(", ") }, problem: problem || fieldProblem };
}

/** Whether sending the same file again may work: no answer, a server or storage failure,
 *  too many requests. A file the server refused (type, damage, size, bad text) would be
 *  refused again. */
function retryable(status) {
  return status === 0 || status === 429 || status >= 500;
}

// ------------------------------------------------------------------ the list

function makeItem(file) {
  nextId += 1;
  const li = document.createElement("li");
  li.className = "upload-item";
  const name = document.createElement("span");
  name.className = "upload-name";
  name.id = `upload-name-${nextId}`;
  name.textContent = file.webkitRelativePath || file.name;
  const progress = document.createElement("progress");
  progress.max = 100;
  progress.value = 0;
  progress.setAttribute("aria-labelledby", name.id);
  const message = document.createElement("span");
  message.className = "upload-message";
  li.append(name, progress, message);
  list.append(li);
  const item = { file, li, progress, message, state: "" };
  items.push(item);
  progressBox.hidden = false;
  return item;
}

function setState(item, state, text) {
  if (item.state in counts) counts[item.state] -= 1;
  item.state = state;
  item.li.dataset.state = state;
  item.message.textContent = text;
  if (state in counts) counts[state] += 1;
}

function addRetry(item, label, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "retry";
  button.textContent = label;
  button.setAttribute("aria-label", `${label}: ${item.file.name}`);
  button.addEventListener("click", () => {
    if (onClick && !onClick()) return;
    button.remove();
    enqueue(item);
    // Focus stays in the list: on the next failure, else back on the picker.
    (list.querySelector("button.retry") || pickers[0]).focus();
  });
  item.li.append(button);
}

function addLink(item, image) {
  const link = document.createElement("a");
  link.className = "upload-link";
  link.href = image.urls.page;
  link.textContent = "View";
  link.setAttribute("aria-label", `View ${image.title || image.filename}`);
  const thumb = image.urls.thumbnails && image.urls.thumbnails.sm;
  if (thumb) {
    const img = document.createElement("img");
    img.src = thumb;
    img.alt = "";
    img.width = 40;
    img.height = 40;
    img.className = "upload-thumb";
    if (image.placeholder) img.style.backgroundColor = image.placeholder;
    item.li.prepend(img);
  }
  item.li.append(link);
}

/** "12 of 40 stored, 2 failed, 26 waiting" and what else there is to say. */
function describeCounts() {
  const stored = counts.done + counts.duplicate;
  const waiting = queue.length + active;
  const parts = [`${stored} of ${items.length} stored`];
  if (counts.duplicate) parts[0] += ` (${counts.duplicate} already in the gallery)`;
  parts.push(`${counts.error} failed`);
  if (waiting) parts.push(`${waiting} waiting`);
  if (counts.skipped) parts.push(`${counts.skipped} skipped (hidden or not images)`);
  if (albumAdds.added) parts.push(`${albumAdds.added} added to the album`);
  if (albumAdds.failed) parts.push(`${albumAdds.failed} not added to the album`);
  return parts.join(", ");
}

/** The live region speaks when a run starts, now and then while it goes on, and at its end:
 *  never once per file. */
function announce(text, force) {
  const now = performance.now() / 1000;
  if (!force && now - lastAnnounced < ANNOUNCE_EVERY) return;
  lastAnnounced = now;
  announcer.textContent = text;
}

function updateSummary() {
  const waiting = queue.length + active;
  const adding = albumAdds.pending.length > 0 || albumAdds.sending;
  summary.dataset.state = waiting || adding ? "busy" : "idle";
  if (items.length || counts.skipped) progressBox.hidden = false;
  if (waiting) {
    summary.textContent = `Uploading: ${describeCounts()}.`;
    if (!runAnnounced) {
      runAnnounced = true;
      announce(`Uploading ${waiting} file${waiting === 1 ? "" : "s"}.`, true);
    } else {
      announce(summary.textContent, false);
    }
    return;
  }
  if (adding) {
    summary.textContent = `Adding to the album… ${describeCounts()}.`;
    return;
  }
  summary.textContent = `Done: ${describeCounts()}.`;
  if (runAnnounced) {
    runAnnounced = false;
    announce(summary.textContent, true);
  }
  if (counts.done + counts.duplicate > 0) {
    const link = document.createElement("a");
    link.href = form.dataset.home || "/";
    link.textContent = "Open the gallery";
    summary.append(" ", link);
  }
  if (albumAdds.added && albumAdds.url) {
    const link = document.createElement("a");
    link.href = albumAdds.url;
    link.textContent = `Open “${albumAdds.title}”`;
    summary.append(" ", link);
  }
}

// ------------------------------------------------------------------ sending

function enqueue(item) {
  item.album = albumChoice ? albumChoice.value : "";
  if (!item.fields) item.fields = readFields().fields;
  setState(item, "queued", "Waiting…");
  item.progress.value = 0;
  queue.push(item);
  pump();
}

function pump() {
  while (active < PARALLEL && queue.length) send(queue.shift());
  updateSummary();
  sendAlbumAdds();
}

function send(item) {
  active += 1;
  setState(item, "uploading", "Uploading…");
  const request = new XMLHttpRequest();
  request.open("POST", limits.api);
  request.setRequestHeader("X-CSRFToken", csrfToken());
  request.setRequestHeader("Accept", "application/json");
  request.upload.addEventListener("progress", (event) => {
    if (event.lengthComputable) item.progress.value = Math.round((event.loaded / event.total) * 100);
  });
  // Every byte is sent: the server now checks the file and makes its thumbnails.
  request.upload.addEventListener("load", () => {
    if (item.state !== "uploading") return;
    item.progress.value = 100;
    setState(item, "processing", "Processing…");
  });
  request.addEventListener("load", () => finish(item, request.status, request.responseText));
  request.addEventListener("error", () => finish(item, 0, ""));
  request.addEventListener("timeout", () => finish(item, 0, ""));
  const body = new FormData();
  body.append("file", item.file, item.file.name);
  if (item.createdAt) body.append("created_at", item.createdAt);
  for (const [name, value] of Object.entries(item.fields || {})) {
    if (value) body.append(name, value);
  }
  request.send(body);
}

function finish(item, status, text) {
  active -= 1;
  let image = null;
  if (status === 200 || status === 201) {
    try { image = JSON.parse(text); } catch (_) { image = null; }
  }
  if (image && image.id) {
    item.progress.value = 100;
    if (image.duplicate) setState(item, "duplicate", "Already in the gallery");
    else setState(item, "done", "Stored");
    addLink(item, image);
    if (item.album) addToAlbum(item, image.id);
  } else {
    setState(item, "error", errorMessage(status, text));
    item.li.dataset.status = String(status);
    if (retryable(status)) {
      addRetry(item, "Retry");
    } else {
      const reason = document.createElement("span");
      reason.className = "upload-reason";
      reason.textContent = "Sending it again would not help.";
      item.message.append(reason);
    }
  }
  pump();
}

// ------------------------------------------------------------------ the album

function addToAlbum(item, id) {
  item.message.textContent += ", adding to the album…";
  albumAdds.pending.push({ item, id, album: item.album, order: item.order });
  sendAlbumAdds();
}

/** Send the waiting ids of one album in one request, in the order the files were picked
 *  (so only once no upload is going on); then the next batch, if any. */
async function sendAlbumAdds() {
  if (albumAdds.sending || !albumAdds.pending.length || queue.length || active) return;
  albumAdds.pending.sort((a, b) => a.order - b.order);
  albumAdds.sending = true;
  const album = albumAdds.pending[0].album;
  const batch = albumAdds.pending.filter((p) => p.album === album).slice(0, ALBUM_BATCH);
  albumAdds.pending = albumAdds.pending.filter((p) => !batch.includes(p));
  const result = await sendJson("POST", form.dataset.albumApi,
    { album, action: "add", ids: batch.map((p) => p.id) });
  albumAdds.sending = false;
  const title = result.ok && result.body && result.body.album ? result.body.album.title : "";
  if (title) {
    albumAdds.title = title;
    albumAdds.url = result.body.album.url;
  }
  for (const { item } of batch) {
    const base = item.state === "duplicate" ? "Already in the gallery" : "Stored";
    if (result.ok) {
      albumAdds.added += 1;
      item.message.textContent = `${base}, added to “${title}”`;
    } else {
      albumAdds.failed += 1;
      item.message.textContent = `${base}, but not added to the album: ${result.message}`;
    }
  }
  updateSummary();
  sendAlbumAdds();
}

let picks = 0;

/** Files picked, dropped or pasted together: they share one upload time, from which
 *  each is a millisecond older than the one before it (newest first shows them in order). */
function newBatch() {
  picks += 1;
  return { time: serverNow(), next: 0, pick: picks };
}

/** Put files in the list; those from a folder that are hidden or not images are skipped. */
function add(files, fromFolder, batch = newBatch()) {
  let any = false;
  const { fields, problem: fieldProblem } = readFields();
  for (const file of files) {
    if (fromFolder && (isHidden(file) || !looksLikeImage(file))) {
      counts.skipped += 1;
      continue;
    }
    any = true;
    const item = makeItem(file);
    item.createdAt = new Date(batch.time - batch.next).toISOString();
    item.order = batch.pick * 1e6 + batch.next;
    batch.next += 1;
    const problem = precheck(file);
    if (fieldProblem) {
      setState(item, "error", `Not sent: ${fieldProblem} Correct it above, then send.`);
      addRetry(item, "Send", () => {
        const again = readFields();
        if (again.problem) {
          item.message.textContent = `Not sent: ${again.problem} Correct it above, then send.`;
          if (fieldInputs.tags) fieldInputs.tags.focus();
          return false;
        }
        item.fields = again.fields;
        return true;
      });
    } else if (problem) {
      item.fields = fields;
      setState(item, "error", problem);
      addRetry(item, "Send anyway");
    } else {
      item.fields = fields;
      enqueue(item);
    }
  }
  if (!any || fieldProblem) updateSummary();
}

// ------------------------------------------------------------------ sources

function readEntries(reader) {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

function entryFile(entry) {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** Every file under a dropped folder (depth first), skipping hidden names. */
async function walk(entry, out, depth) {
  if (entry.name.startsWith(".")) {
    counts.skipped += 1;
    return;
  }
  if (entry.isFile) {
    try {
      out.push({ file: await entryFile(entry), fromFolder: depth > 0 });
    } catch (_) {
      counts.skipped += 1;
    }
    return;
  }
  if (!entry.isDirectory || depth > 32) return;
  const reader = entry.createReader();
  // readEntries answers in batches (100 in Chrome) until an empty one.
  for (let batch = await readEntries(reader); batch.length; batch = await readEntries(reader)) {
    for (const child of batch) await walk(child, out, depth + 1);
  }
}

async function dropped(dataTransfer) {
  // Entries must be taken while the drop event runs; the walk comes after.
  const entries = [];
  const loose = [];
  for (const item of dataTransfer.items || []) {
    if (item.kind !== "file") continue;
    const entry = item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
    if (entry) entries.push(entry);
    else if (item.getAsFile()) loose.push(item.getAsFile());
  }
  if (!entries.length && !loose.length) loose.push(...(dataTransfer.files || []));
  const batch = newBatch();
  add(loose, false, batch);
  for (const entry of entries) {
    const found = [];
    try {
      await walk(entry, found, 0);
    } catch (_) {
      summary.textContent = `Could not read the folder “${entry.name}”.`;
    }
    add(found.filter((f) => !f.fromFolder).map((f) => f.file), false, batch);
    add(found.filter((f) => f.fromFolder).map((f) => f.file), true, batch);
  }
}

function pasted(event) {
  const files = Array.from(event.clipboardData ? event.clipboardData.files : []);
  if (!files.length) return;
  event.preventDefault();
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
  add(files.map((file, n) => {
    // Pasted images are all called "image.png": give each a name worth keeping.
    if (file.name && file.name !== "image.png") return file;
    const suffix = files.length > 1 ? `-${n + 1}` : "";
    return new File([file], `pasted-${stamp}${suffix}${extension(file.name) || ".png"}`, { type: file.type });
  }), false);
}

function start() {
  form.classList.add("enhanced");
  dropzone.querySelector(".dropzone-hint").hidden = false;
  for (const picker of pickers) {
    picker.addEventListener("change", () => {
      add(Array.from(picker.files), picker.id === "folder");
      picker.value = "";
    });
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const batch = newBatch();
    for (const picker of pickers) {
      add(Array.from(picker.files), picker.id === "folder", batch);
      picker.value = "";
    }
  });
  if (fieldInputs.tags) fieldInputs.tags.addEventListener("change", () => readFields());
  let depth = 0;
  document.addEventListener("dragenter", (event) => {
    if (!event.dataTransfer || !Array.from(event.dataTransfer.types).includes("Files")) return;
    depth += 1;
    dropzone.classList.add("dragging");
  });
  document.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) dropzone.classList.remove("dragging");
  });
  document.addEventListener("dragover", (event) => {
    if (!event.dataTransfer) return;
    event.preventDefault(); // anywhere on the page is a drop target, so a miss never leaves it
    event.dataTransfer.dropEffect = "copy";
  });
  document.addEventListener("drop", (event) => {
    if (!event.dataTransfer) return;
    event.preventDefault();
    depth = 0;
    dropzone.classList.remove("dragging");
    dropped(event.dataTransfer);
  });
  document.addEventListener("paste", pasted);
  window.addEventListener("beforeunload", (event) => {
    if (active + queue.length + albumAdds.pending.length === 0 && !albumAdds.sending) return;
    event.preventDefault();
    event.returnValue = ""; // older browsers need a value to ask
  });
}

if (form && dropzone && list && summary && progressBox && announcer && limits.api) start();
