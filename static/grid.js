// The gallery grid: older pages load as you scroll (the address follows the page
// you have reached), and a tile opens in a lightbox whose address is the image's
// own page. Without this script the tiles are links and "Older" is a page link.

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
        if (!tile || known.has(tile.dataset.id)) continue;
        grid.append(document.importNode(item, true));
        added += 1;
      }
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

if (grid && gridStatus) {
  shownPage = Number(grid.dataset.page || "1");
  lightbox = startLightbox(grid, { hasMore: () => Boolean(more.url), loadMore });
  watchBottom();
  window.addEventListener("scroll", onScroll, { passive: true });
}
