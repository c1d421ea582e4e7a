// The gallery grid: older pages load as you scroll (the address follows the page
// you have reached), and a tile opens in a lightbox whose address is the image's
// own page. Without this script the tiles are links and "Older" is a page link.

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

function onScroll() {
  if (scrollQueued) return;
  scrollQueued = true;
  requestAnimationFrame(() => {
    scrollQueued = false;
    followScroll();
  });
}

// ------------------------------------------------------------------ lightbox

let lightbox = { isOpen: () => false };

function startLightbox() {
  const dialog = document.getElementById("lightbox");
  if (!dialog || typeof dialog.showModal !== "function") {
    return { isOpen: () => false };
  }
  const stage = dialog.querySelector(".lightbox-stage");
  const prev = dialog.querySelector(".lightbox-prev");
  const next = dialog.querySelector(".lightbox-next");
  const close = dialog.querySelector(".lightbox-close");
  const preloaded = new Map();
  const gridTitle = document.title;
  let current = null; // the tile shown
  let depth = 0; // history entries this lightbox pushed
  let closingFromHistory = false;
  let waiting = false; // a step past the last tile waits for the next page

  const tiles = () => Array.from(grid.querySelectorAll("a.tile"));
  const set = (selector, text) => { dialog.querySelector(selector).textContent = text; };

  function preload(tile) {
    if (!tile || preloaded.has(tile.dataset.id)) return;
    const image = new Image();
    image.decoding = "async";
    image.src = tile.dataset.lg;
    preloaded.set(tile.dataset.id, image);
    if (preloaded.size > 12) preloaded.delete(preloaded.keys().next().value);
  }

  function show(tile) {
    current = tile;
    const d = tile.dataset;
    const thumb = tile.querySelector("img");
    const image = document.createElement("img");
    image.alt = d.title;
    image.width = Number(d.lgWidth) || 1;
    image.height = Number(d.lgHeight) || 1;
    image.decoding = "async";
    image.style.backgroundColor = d.placeholder || "";
    if (thumb && thumb.currentSrc) {
      // The thumbnail already on screen stands in until the large image arrives.
      image.style.backgroundImage = `url("${thumb.currentSrc}")`;
    }
    image.src = d.lg;
    stage.replaceChildren(image);
    set(".lightbox-title", d.title);
    set(".lightbox-size", d.size);
    set(".lightbox-dimensions", d.dimensions);
    set(".lightbox-uploader", d.uploader);
    const date = dialog.querySelector(".lightbox-date");
    date.textContent = d.date;
    date.dateTime = d.created;
    dialog.querySelector(".lightbox-page").href = tile.href;
    dialog.querySelector(".lightbox-original").href = d.original;
    const list = tiles();
    const index = list.indexOf(tile);
    const total = Number(grid.dataset.total || "0");
    const offset = Number(grid.dataset.offset || "0");
    const position = total ? `${offset + index + 1} of ${total}` : "";
    set(".lightbox-position", position);
    // Read out what is now shown; the dialog's name alone is only read on opening.
    set(".lightbox-announce", position ? `${d.title}, ${position}` : d.title);
    prev.disabled = index <= 0;
    next.disabled = index >= list.length - 1 && !more.url;
    document.title = `${d.title} · Gallery`;
    preload(list[index + 1]);
    preload(list[index - 1]);
  }

  function open(tile) {
    show(tile);
    dialog.showModal();
    close.focus();
    depth = 1;
    history.pushState({ lightbox: tile.dataset.id, depth }, "", tile.href);
  }

  async function step(delta) {
    if (!current) return;
    let list = tiles();
    let index = list.indexOf(current) + delta;
    if (index >= list.length && more.url) {
      if (waiting) return; // one page load at a time; further presses are dropped
      waiting = true;
      try {
        await loadMore();
      } finally {
        waiting = false;
      }
      if (!dialog.open) return;
      list = tiles();
    }
    if (index < 0 || index >= list.length) return;
    const focusWasOnButton = document.activeElement === (delta < 0 ? prev : next);
    show(list[index]);
    depth += 1;
    history.pushState({ lightbox: current.dataset.id, depth }, "", current.href);
    if (focusWasOnButton && (delta < 0 ? prev : next).disabled) close.focus();
  }

  grid.addEventListener("click", (event) => {
    const tile = event.target.closest("a.tile");
    if (!tile || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    open(tile);
  });
  prev.addEventListener("click", () => step(-1));
  next.addEventListener("click", () => step(1));
  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("keydown", (event) => {
    if (event.key === "ArrowLeft") { event.preventDefault(); step(-1); }
    else if (event.key === "ArrowRight") { event.preventDefault(); step(1); }
  });
  // A click on the dark area around the picture closes, as in most lightboxes.
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog || event.target === stage) dialog.close();
  });

  let touch = null;
  dialog.addEventListener("touchstart", (event) => {
    if (event.touches.length === 1) touch = { x: event.touches[0].clientX, y: event.touches[0].clientY };
  }, { passive: true });
  dialog.addEventListener("touchend", (event) => {
    if (!touch || event.changedTouches.length !== 1) return;
    const dx = event.changedTouches[0].clientX - touch.x;
    const dy = event.changedTouches[0].clientY - touch.y;
    touch = null;
    if (Math.abs(dx) > 50 && Math.abs(dx) > 1.5 * Math.abs(dy)) step(dx < 0 ? 1 : -1);
  }, { passive: true });

  dialog.addEventListener("close", () => {
    document.title = gridTitle;
    stage.replaceChildren();
    if (current) {
      current.focus();
      current.scrollIntoView({ block: "nearest" });
    }
    if (!closingFromHistory && depth > 0) {
      // Closed by the reader: step back to the grid's address, past every image viewed.
      const steps = depth;
      depth = 0;
      history.go(-steps);
    }
    closingFromHistory = false;
  });

  window.addEventListener("popstate", (event) => {
    const id = event.state && event.state.lightbox;
    if (!id) {
      depth = 0;
      if (dialog.open) {
        closingFromHistory = true;
        dialog.close();
      }
      return;
    }
    const tile = tiles().find((t) => t.dataset.id === id);
    if (!tile) {
      window.location.reload(); // not on this page any more: let the server show it
      return;
    }
    depth = Number(event.state.depth) || 1;
    show(tile);
    if (!dialog.open) {
      dialog.showModal();
      close.focus();
    }
  });

  return { isOpen: () => dialog.open };
}

if (grid && gridStatus) {
  shownPage = Number(grid.dataset.page || "1");
  lightbox = startLightbox();
  watchBottom();
  window.addEventListener("scroll", onScroll, { passive: true });
}
