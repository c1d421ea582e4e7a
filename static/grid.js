// The gallery grid: justified rows (or square tiles, as the visitor chooses), older
// pages load as you scroll (the address follows the page you have reached), and a tile
// opens in a lightbox whose address is the image's own page. Without this script the
// rows come from static/grid.css alone, the tiles are links and "Older" is a page link.

import { justify, targetHeight } from "./justify.js";
import { startLightbox } from "./lightbox.js";

const grid = document.getElementById("grid");
const gridStatus = document.getElementById("grid-status");
const pager = document.getElementById("pager");

// ---------------------------------------------------------------- more pages

const more = {
  next: pager ? pager.querySelector('a[rel="next"]') : null,
  url: null,
  loading: null,
  failed: false,
};
more.url = more.next ? more.next.href : null;

function pageOfUrl(url) {
  const page = Number(new URL(url, window.location.href).searchParams.get("page") || "1");
  return Number.isInteger(page) && page > 0 ? page : 1;
}

function tileIds() {
  return new Set(Array.from(grid.querySelectorAll("a.tile"), (a) => a.dataset.id));
}

/** Fetch the next page and add its tiles; resolves to whether any tile was added. */
function loadMore() {
  if (!more.url) return Promise.resolve(false);
  if (more.loading) return more.loading;
  const url = more.url;
  gridStatus.textContent = "Loading more images…";
  more.loading = (async () => {
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (!response.ok) throw new Error(String(response.status));
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const known = tileIds();
      let added = 0;
      for (const item of doc.querySelectorAll("#grid > li")) {
        const tile = item.querySelector("a.tile");
        // Uploads made meanwhile shift the pages: a tile already shown is skipped.
        if (tile && known.has(tile.dataset.id)) continue;
        grid.append(document.importNode(item, true));
        if (tile) added += 1;
      }
      tidyMonths();
      const next = doc.querySelector('#pager a[rel="next"]');
      more.url = next ? next.href : null;
      if (more.next) {
        if (more.url) more.next.href = more.url;
        else more.next.remove();
      }
      const label = pager && pager.querySelector("span");
      if (label) label.textContent = `Pages ${grid.dataset.page}–${pageOfUrl(url)} of ${grid.dataset.pages}`;
      gridStatus.textContent = more.url ? "" : "That is every image.";
      more.failed = false;
      followScroll();
      return added > 0;
    } catch (_) {
      more.failed = true;
      gridStatus.textContent = "Could not load more images. Use the “Older” link to try again.";
      return false;
    } finally {
      more.loading = null;
    }
  })();
  return more.loading;
}

function watchBottom() {
  if (!("IntersectionObserver" in window) || !more.url) return;
  const observer = new IntersectionObserver(async (entries) => {
    if (!entries.some((e) => e.isIntersecting) || more.failed) return;
    await loadMore();
    if (!more.url) observer.disconnect();
    else if (!more.failed) {
      // Still at the bottom after the new tiles (a tall screen): keep going.
      observer.unobserve(gridStatus);
      observer.observe(gridStatus);
    }
  }, { rootMargin: "0px 0px 800px 0px" });
  observer.observe(gridStatus);
}

// The address follows the page of the first tile on screen: opening that address
// shows the gallery from that page on, so a shared link shows what you see.
let shownPage = 1;
let scrollQueued = false;

function pageInView() {
  for (const item of grid.children) {
    if (item.getBoundingClientRect().bottom > 0) return Number(item.dataset.page || shownPage);
  }
  return shownPage;
}

function followScroll() {
  if (lightbox.isOpen()) return;
  const page = pageInView();
  if (page === shownPage) return;
  shownPage = page;
  const url = new URL(window.location.href);
  if (page > 1) url.searchParams.set("page", String(page));
  else url.searchParams.delete("page");
  history.replaceState(history.state, "", url);
}

let lightbox = { isOpen: () => false };

function onScroll() {
  if (scrollQueued) return;
  scrollQueued = true;
  requestAnimationFrame(() => {
    scrollQueued = false;
    followScroll();
  });
}

// ---------------------------------------------------------------- layout

const LAYOUTS = ["justified", "squares"];
const STORED = "gallery:grid-layout";
const UNIT = 64; // layout works in 1/64 px: widths rounded down to it always fit a row

const floorUnit = (x) => Math.floor(x * UNIT) / UNIT;
const isTile = (li) => !li.classList.contains("grid-month") && !li.classList.contains("grid-end");

function ratioOf(li) {
  const ratio = Number.parseFloat(li.style.getPropertyValue("--ar"));
  if (Number.isFinite(ratio) && ratio > 0) return ratio;
  const img = li.querySelector("img");
  const w = Number(img && img.getAttribute("width"));
  const h = Number(img && img.getAttribute("height"));
  return w > 0 && h > 0 ? Math.min(20, Math.max(0.05, w / h)) : 1;
}

/** Ask for the thumbnail that fills `width` css px of the tile (srcset picks it). */
function wantWidth(li, width) {
  const img = li.querySelector("img");
  if (!img || !img.hasAttribute("srcset")) return;
  const sizes = `${Math.max(1, Math.ceil(width))}px`;
  if (img.getAttribute("sizes") !== sizes) img.setAttribute("sizes", sizes);
}

function storedLayout() {
  try {
    const value = window.localStorage.getItem(STORED);
    return LAYOUTS.includes(value) ? value : null;
  } catch (_) {
    return null; // storage off (private mode, a policy): the default it is
  }
}

/**
 * The grid's layout, kept exact as it changes: on resize, when pages are added (only the
 * last row and what follows are laid out again, so nothing above moves), when tiles are
 * removed or reordered (all of it again).
 */
const layout = {
  mode: LAYOUTS.includes(grid && grid.dataset.layoutDefault) ? grid.dataset.layoutDefault : "justified",
  width: 0,
  settled: [], // the grid's items up to the start of its last row, laid out as they stay
  queued: false,
};

function groupsOf(items) {
  const groups = [[]];
  for (const li of items) {
    if (li.classList.contains("grid-month")) groups.push([]);
    else if (isTile(li)) groups[groups.length - 1].push(li);
  }
  return groups.filter((g) => g.length);
}

function arrange() {
  layout.queued = false;
  const width = floorUnit(grid.getBoundingClientRect().width);
  const items = Array.from(grid.children);
  if (layout.mode === "squares") {
    grid.classList.remove("laid-out");
    for (const li of items) {
      if (!isTile(li)) continue;
      li.style.removeProperty("width");
      li.style.removeProperty("height");
    }
    const first = items.find(isTile);
    const side = first ? first.getBoundingClientRect().width : 0;
    // A square shows the middle of the photo: its thumbnail must cover the square.
    if (side) for (const li of items) if (isTile(li)) wantWidth(li, side * Math.max(1, ratioOf(li)));
    layout.width = width;
    layout.settled = [];
    return;
  }
  const gap = Number.parseFloat(getComputedStyle(grid).columnGap) || 0;
  const target = targetHeight(width);
  const kept = layout.settled;
  const same = width === layout.width && kept.length <= items.length && kept.every((li, n) => items[n] === li);
  const from = same ? kept.length : 0;
  let lastRowStart = null;
  for (const group of groupsOf(items.slice(from))) {
    const rows = justify(group.map(ratioOf), width, gap, target);
    for (const row of rows) {
      const height = floorUnit(row.height);
      for (let k = row.start; k < row.end; k += 1) {
        const li = group[k];
        const w = floorUnit(ratioOf(li) * row.height);
        li.style.width = `${w}px`;
        li.style.height = `${height}px`;
        wantWidth(li, w);
      }
    }
    if (rows.length) lastRowStart = group[rows[rows.length - 1].start];
  }
  if (lastRowStart) layout.settled = items.slice(0, items.indexOf(lastRowStart));
  else if (!same) layout.settled = [];
  layout.width = width;
  grid.classList.add("laid-out");
}

function queueArrange() {
  if (layout.queued) return;
  layout.queued = true;
  requestAnimationFrame(arrange);
}

function setLayout(mode, remember) {
  layout.mode = mode;
  layout.settled = [];
  grid.classList.toggle("squares", mode === "squares");
  for (const button of document.querySelectorAll(".layout-switch button[data-layout]")) {
    button.setAttribute("aria-pressed", String(button.dataset.layout === mode));
  }
  if (remember) {
    try {
      window.localStorage.setItem(STORED, mode);
    } catch (_) { /* not kept: it lasts this page */ }
  }
  arrange();
}

function startLayout() {
  setLayout(storedLayout() || layout.mode, false);
  for (const group of document.querySelectorAll(".layout-switch")) {
    group.hidden = false;
    group.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-layout]");
      if (button && button.dataset.layout !== layout.mode) setLayout(button.dataset.layout, true);
    });
  }
  // A new width (window, rotation, a scroll bar coming): everything again.
  new ResizeObserver(() => {
    if (floorUnit(grid.getBoundingClientRect().width) !== layout.width) queueArrange();
  }).observe(grid);
  // Tiles added, removed or moved (more pages, select mode, dragging to reorder); a
  // month whose tiles were all taken out loses its heading.
  new MutationObserver(() => {
    tidyMonths();
    queueArrange();
  }).observe(grid, { childList: true });
}

/**
 * After a page is added: a month that goes on from the page before keeps its one
 * heading (the repeated heading goes, with the end marker of the run before it), and a
 * heading left with no tile under it (its tiles were already shown) goes.
 */
function tidyMonths() {
  let month = null;
  for (const li of Array.from(grid.children)) {
    if (!li.classList.contains("grid-month")) continue;
    const previous = li.previousElementSibling;
    if (li.dataset.month === month) {
      if (previous && previous.classList.contains("grid-end")) previous.remove();
      li.remove();
      continue;
    }
    const next = li.nextElementSibling;
    if (!next || !isTile(next)) {
      if (next && next.classList.contains("grid-end")) next.remove();
      li.remove();
      continue;
    }
    month = li.dataset.month;
  }
}

if (grid) startLayout();

if (grid && gridStatus) {
  shownPage = Number(grid.dataset.page || "1");
  lightbox = startLightbox(grid, { hasMore: () => Boolean(more.url), loadMore });
  watchBottom();
  window.addEventListener("scroll", onScroll, { passive: true });
}
