// Albums in the browser: select mode on a grid (the gallery's and an album's), saving an
// album's details in place, and arranging an album by dragging its tiles.
// Every form here also works without this script: "Select" is then a link to ?select=1,
// where the same checkboxes and buttons post the forms and the server answers with a page.
import { csrfToken, errorMessage, flashNextPage, sendJson, showFlash } from "./lib.js";

const grid = document.getElementById("grid");
const selectForm = document.getElementById("select-form");
const editForm = document.getElementById("album-edit");

/** POST a form's fields (urlencoded: a thousand ids fit) and read the JSON answer. */
async function postForm(url, params) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      body: params,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    });
  } catch (_) {
    return { ok: false, status: 0, body: null, message: errorMessage(0, "") };
  }
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (_) { body = null; }
  return {
    ok: response.ok, status: response.status, body,
    message: response.ok ? (body && body.message) || "" : errorMessage(response.status, text),
  };
}

/** A form's action; ``form.action`` would be its field named "action", when it has one. */
const actionOf = (form) => new URL(form.getAttribute("action") || "", window.location.href).href;

const tileOf = (item) => item.querySelector("a.tile");
const idOf = (item) => { const tile = tileOf(item); return tile ? tile.dataset.id : ""; };
const items = () => Array.from(grid.children).filter((li) => tileOf(li));

/** Put the grid's tiles in the order of ``ids`` (tiles not named keep their place at the end). */
function applyOrder(ids) {
  const position = new Map(ids.map((id, n) => [id, n]));
  const now = items();
  const sorted = [...now].sort((a, b) => (position.get(idOf(a)) ?? Infinity) - (position.get(idOf(b)) ?? Infinity));
  if (sorted.every((li, n) => li === now[n])) return;
  grid.append(...sorted);
}

/** Show "Cover" on the tile of ``coverId`` only. */
function markCover(coverId) {
  for (const badge of grid.querySelectorAll(".tile-badge")) badge.remove();
  const item = items().find((li) => idOf(li) === coverId);
  if (!item) return;
  const badge = document.createElement("span");
  badge.className = "tile-badge";
  badge.textContent = "Cover";
  tileOf(item).after(badge);
}

// ------------------------------------------------------------------ select mode

function startSelectMode() {
  const toggle = document.querySelector("[data-select-toggle]");
  const count = selectForm.querySelector("[data-selected-count]");
  const countHint = count.textContent;
  const status = document.createElement("p");
  status.className = "select-status edit-status";
  status.setAttribute("role", "status");
  selectForm.append(status);
  let anchor = null; // the tile last ticked, for shift-click ranges

  const boxes = () => Array.from(grid.querySelectorAll('.tile-select input[type="checkbox"]'));
  const chosen = () => boxes().filter((b) => b.checked);
  const selecting = () => grid.classList.contains("selecting");

  function say(message, kind = "ok") {
    status.className = `select-status edit-status ${kind}`;
    status.textContent = "";
    requestAnimationFrame(() => { status.textContent = message; });
  }

  function update() {
    const n = chosen().length;
    count.textContent = n ? `${n} selected` : countHint;
    for (const button of selectForm.querySelectorAll("button[data-needs]")) {
      button.disabled = button.dataset.needs === "one" ? n !== 1 : n === 0;
    }
  }

  function setSelecting(on) {
    grid.classList.toggle("selecting", on);
    selectForm.hidden = !on;
    if (toggle) {
      toggle.textContent = on ? "Done" : "Select";
      toggle.setAttribute("aria-pressed", String(on));
    }
    if (!on) {
      for (const box of chosen()) box.checked = false;
      status.textContent = "";
    }
    const url = new URL(window.location.href);
    if (on) url.searchParams.set("select", "1");
    else url.searchParams.delete("select");
    history.replaceState(history.state, "", url);
    update();
  }

  if (toggle) {
    toggle.setAttribute("role", "button");
    toggle.setAttribute("aria-pressed", String(selecting()));
    toggle.setAttribute("aria-controls", "select-form");
    toggle.addEventListener("click", (event) => {
      event.preventDefault();
      setSelecting(!selecting());
      if (selecting()) (boxes()[0] || selectForm).focus();
    });
  }
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && selecting() && !document.querySelector("dialog[open]")) {
      setSelecting(false);
      if (toggle) toggle.focus();
    }
  });

  function tick(box, on, shift) {
    const all = boxes();
    if (shift && anchor && all.includes(anchor)) {
      const [from, to] = [all.indexOf(anchor), all.indexOf(box)].sort((a, b) => a - b);
      for (const other of all.slice(from, to + 1)) other.checked = on;
    } else {
      box.checked = on;
    }
    anchor = box;
    update();
  }

  // In select mode a click on a tile ticks it instead of opening the lightbox (grid.js
  // listens on the grid too; this runs first, in the capture phase).
  grid.addEventListener("click", (event) => {
    if (!selecting()) return;
    const item = event.target.closest("#grid > li");
    if (!item) return;
    const box = item.querySelector(".tile-select input");
    if (!box) return;
    event.stopPropagation();
    if (event.target === box) {
      tick(box, box.checked, event.shiftKey);
      return;
    }
    if (event.target.closest(".tile-select")) return; // the label passes the click to its box
    event.preventDefault();
    tick(box, !box.checked, event.shiftKey);
  }, true);
  grid.addEventListener("change", update);

  selectForm.addEventListener("submit", async (event) => {
    const button = event.submitter;
    if (!window.fetch || !button) return;
    event.preventDefault();
    if (!chosen().length) {
      say("Select at least one image first.", "error");
      return;
    }
    // formAction without the attribute is the page's own address, not the form's action.
    const url = button.hasAttribute("formaction") ? button.formAction : actionOf(selectForm);
    const params = new URLSearchParams(new FormData(selectForm, button));
    for (const b of selectForm.querySelectorAll("button")) b.disabled = true;
    say("Saving…", "busy");
    const result = await postForm(url, params);
    update();
    if (!result.ok) {
      say(result.message, "error");
      return;
    }
    const body = result.body || {};
    const ids = chosen().map((b) => b.value);
    if (body.ids) {
      applyOrder(body.ids); // moved: the selection stays, to move again
    } else if (params.get("action") === "remove") {
      for (const box of chosen()) box.closest("li").remove();
      updateCount(body.album);
      if (!items().length) {
        window.location.replace(window.location.pathname); // the empty album's page says what to do
        return;
      }
    } else if (params.get("action") === "add") {
      for (const box of chosen()) box.checked = false; // added: ready for the next ones
    }
    if (body.album && grid.dataset.album) {
      markCover(body.album.cover_id);
      if (url.endsWith("/cover")) showCover(body.album, ids[0]);
    }
    update();
    say(result.message, "ok");
  });

  update();
}

/** The album's image count, in its heading and for the lightbox's "3 of 12". */
function updateCount(album) {
  const count = document.getElementById("album-count");
  if (!album || !count) return;
  const n = album.image_count;
  count.textContent = `${n.toLocaleString("en")} image${n === 1 ? "" : "s"}`;
  grid.dataset.total = String(n);
}

// ------------------------------------------------------------------ the album's details

function showCover(album, imageId) {
  const hint = document.getElementById("album-cover-hint");
  const item = items().find((li) => idOf(li) === (imageId || album.cover_id));
  if (!hint || !editForm) return;
  if (item) {
    const name = tileOf(item).dataset.title;
    hint.textContent = album.cover
      ? `Chosen by hand: “${name}”. To choose another, choose Select, tick an image, then Make cover.`
      : `The first image: “${name}”. To choose one, choose Select, tick an image, then Make cover.`;
  }
  const thumb = document.getElementById("album-cover-thumb");
  const picture = item && tileOf(item).querySelector("img");
  if (thumb && picture) {
    thumb.src = picture.src;
    thumb.removeAttribute("srcset");
  }
  const reset = document.getElementById("album-cover-reset-button");
  if (reset) reset.hidden = !album.cover;
}

function startEditForm() {
  const status = document.getElementById("album-edit-status");
  const title = document.getElementById("album-title");
  const description = document.getElementById("album-description");
  const badge = document.getElementById("album-visibility");
  const sortNow = () => editForm.elements.sort.value;
  let savedSort = sortNow();

  function say(message, kind) {
    status.className = `edit-status ${kind}`;
    status.textContent = "";
    requestAnimationFrame(() => { status.textContent = message; });
  }

  async function save(event) {
    if (!window.fetch) return;
    event.preventDefault();
    const form = event.currentTarget;
    const params = new URLSearchParams(new FormData(form));
    const buttons = Array.from(document.querySelectorAll("#album-edit button, button[form='album-cover-reset']"));
    for (const b of buttons) b.disabled = true;
    say("Saving…", "busy");
    const result = await postForm(actionOf(form), params);
    for (const b of buttons) b.disabled = false;
    editForm.elements.title.removeAttribute("aria-invalid");
    if (!result.ok) {
      if (/title/i.test(result.message)) editForm.elements.title.setAttribute("aria-invalid", "true");
      say(result.message, "error");
      return;
    }
    const album = result.body.album;
    if (album.sort !== savedSort) {
      // Another order: the server lays the pages out again.
      flashNextPage(result.message || "Saved.");
      window.location.reload();
      return;
    }
    savedSort = album.sort;
    title.textContent = album.title;
    document.title = `${album.title} · Gallery`;
    description.textContent = album.description;
    description.hidden = !album.description;
    if (badge) {
      badge.textContent = album.visibility_name;
      badge.className = `badge visibility ${album.visibility}`;
    }
    editForm.elements.title.value = album.title;
    editForm.elements.description.value = album.description;
    if (grid) {
      markCover(album.cover_id);
      showCover(album, album.cover_id);
    }
    say(result.message || "Saved.", "ok");
  }

  editForm.addEventListener("submit", save);
  const reset = document.getElementById("album-cover-reset");
  if (reset) reset.addEventListener("submit", save);
}

// ------------------------------------------------------------------ dragging to reorder

const DRAG_DISTANCE = 6; // px a mouse moves before a press becomes a drag
const LONG_PRESS_MS = 400; // a finger holds still this long to pick a tile up
const EDGE = 70; // px from the window's edge where the page scrolls by itself

function startReorder() {
  let drag = null;
  let suppressClick = false;

  grid.addEventListener("dragstart", (event) => event.preventDefault()); // no native image drag

  const status = document.getElementById("album-status");

  function say(message, kind) {
    if (!status) {
      if (kind === "error") showFlash(message, "error");
      return;
    }
    status.className = `album-status edit-status ${kind}`;
    status.textContent = message;
  }

  grid.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || !event.isPrimary || drag) return;
    const item = event.target.closest("#grid > li");
    if (!item || event.target.closest(".tile-select")) return;
    drag = {
      item, id: idOf(item), pointerId: event.pointerId, touch: event.pointerType === "touch",
      x: event.clientX, y: event.clientY, startX: event.clientX, startY: event.clientY,
      active: false, timer: null, ghost: null, order: null, offsetX: 0, offsetY: 0, frame: 0,
    };
    if (drag.touch) drag.timer = setTimeout(() => { if (drag) begin(); }, LONG_PRESS_MS);
  });

  function begin() {
    const box = drag.item.getBoundingClientRect();
    drag.active = true;
    drag.order = items();
    drag.offsetX = drag.x - box.left;
    drag.offsetY = drag.y - box.top;
    const ghost = drag.item.cloneNode(true);
    ghost.className = "drag-ghost";
    ghost.removeAttribute("data-page");
    ghost.setAttribute("aria-hidden", "true");
    for (const focusable of ghost.querySelectorAll("a, input")) focusable.tabIndex = -1;
    ghost.style.width = `${box.width}px`;
    ghost.style.height = `${box.height}px`;
    document.body.append(ghost);
    drag.ghost = ghost;
    drag.item.classList.add("drag-source");
    document.body.classList.add("reordering");
    const selection = window.getSelection();
    if (selection) selection.removeAllRanges();
    follow();
    drag.frame = requestAnimationFrame(autoScroll);
  }

  function follow() {
    drag.ghost.style.left = `${drag.x - drag.offsetX}px`;
    drag.ghost.style.top = `${drag.y - drag.offsetY}px`;
    const under = document.elementFromPoint(drag.x, drag.y);
    const target = under && under.closest("#grid > li");
    if (!target || target === drag.item || !grid.contains(target)) return;
    const box = target.getBoundingClientRect();
    const list = items();
    const after = list.indexOf(target) > list.indexOf(drag.item);
    // Past the middle of the tile under the pointer, the dragged one takes its place.
    const past = after ? drag.x > box.left + box.width * 0.3 : drag.x < box.right - box.width * 0.3;
    if (!past) return;
    if (after) target.after(drag.item);
    else target.before(drag.item);
  }

  function autoScroll() {
    if (!drag || !drag.active) return;
    const speed = drag.y < EDGE ? -(EDGE - drag.y) / 4 : drag.y > window.innerHeight - EDGE
      ? (drag.y - (window.innerHeight - EDGE)) / 4 : 0;
    if (speed) {
      window.scrollBy(0, speed);
      follow();
    }
    drag.frame = requestAnimationFrame(autoScroll);
  }

  document.addEventListener("pointermove", (event) => {
    if (!drag || event.pointerId !== drag.pointerId) return;
    drag.x = event.clientX;
    drag.y = event.clientY;
    const moved = Math.hypot(drag.x - drag.startX, drag.y - drag.startY);
    if (!drag.active) {
      if (drag.touch) {
        if (moved > 10) cancel(); // the finger scrolls the page
        return;
      }
      if (moved < DRAG_DISTANCE) return;
      begin();
    }
    event.preventDefault();
    follow();
  });

  // While a finger drags a tile the page must not scroll under it.
  document.addEventListener("touchmove", (event) => {
    if (drag && drag.active) event.preventDefault();
  }, { passive: false });
  grid.addEventListener("contextmenu", (event) => {
    if (drag) event.preventDefault();
  });

  function end() {
    clearTimeout(drag.timer);
    cancelAnimationFrame(drag.frame);
    if (drag.ghost) drag.ghost.remove();
    drag.item.classList.remove("drag-source");
    document.body.classList.remove("reordering");
  }

  function cancel() {
    if (!drag) return;
    const { active, order } = drag;
    end();
    if (active) grid.append(...order);
    drag = null;
  }

  document.addEventListener("pointerup", async (event) => {
    if (!drag || event.pointerId !== drag.pointerId) return;
    const { active, item, id, order } = drag;
    end();
    drag = null;
    if (!active) return;
    suppressClick = true; // the click that ends a drag opens nothing
    setTimeout(() => { suppressClick = false; }, 0);
    const list = items();
    if (list.every((li, n) => li === order[n])) return;
    const next = item.nextElementSibling && idOf(item.nextElementSibling);
    const previous = item.previousElementSibling && idOf(item.previousElementSibling);
    // "after" the previous tile when it is the last one shown: later pages may follow it.
    const payload = next ? { move: [id], before: next } : { move: [id], after: previous };
    say("Saving the order…", "busy");
    const result = await sendJson("POST", grid.dataset.order, payload);
    if (!result.ok) {
      grid.append(...order);
      say(`The order was not saved: ${result.message}`, "error");
      return;
    }
    applyOrder(result.body.ids);
    if (result.body.album) markCover(result.body.album.cover_id);
    say("Order saved.", "ok");
  });
  document.addEventListener("pointercancel", cancel);

  // On the document, so it runs before the grid's own listeners (select mode's among them).
  document.addEventListener("click", (event) => {
    if (!suppressClick || !grid.contains(event.target)) return;
    event.preventDefault();
    event.stopPropagation();
  }, true);
}

if (grid && selectForm) startSelectMode();
if (editForm) startEditForm();
if (grid && grid.hasAttribute("data-reorder") && grid.dataset.order) startReorder();
