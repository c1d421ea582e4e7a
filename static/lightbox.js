// The lightbox: a tile of the grid opens in a dialog whose address is the
// image's own page; arrows, keys and swipes step through the tiles, and a step
// past the last one loads the next page.

/**
 * Open the grid's tiles in the #lightbox dialog.
 * `pages.hasMore()` says whether older tiles can still be fetched, and
 * `pages.loadMore()` fetches them (a promise).
 */
export function startLightbox(grid, pages) {
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
    // Visitors are not told the uploader's username: without a display name, no "By" at all.
    const by = dialog.querySelector(".lightbox-uploader").closest("div");
    if (by) by.hidden = !d.uploader;
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
    next.disabled = index >= list.length - 1 && !pages.hasMore();
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
    if (index >= list.length && pages.hasMore()) {
      if (waiting) return; // one page load at a time; further presses are dropped
      waiting = true;
      try {
        await pages.loadMore();
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
