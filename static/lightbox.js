// The lightbox: a tile of the grid opens in a dialog whose address is the
// image's own page; arrows, keys and swipes step through the tiles, and a step
// past the last one loads the next page. The picture zooms (wheel, pinch,
// double-click or double-tap, + - 0, buttons) up to the original's pixels where
// the visitor may see the original (the tile's data-full), else up to the large
// thumbnail's; the dialog goes full screen (F), its information panel hides (I,
// remembered), a swipe down closes it, and a slideshow plays (Space).

const STORED = {
  info: "gallery:lightbox-info", // "shown" or "hidden"
  interval: "gallery:slideshow-interval", // seconds, one of the choices offered
  loop: "gallery:slideshow-loop", // "1" or "0"
};
/** Screens this narrow show the information panel only when asked (see lightbox.css). */
const NARROW = "(max-width: 800px)";
const ZOOM_STEP = 1.5;
/** How far a finger travels before a touch is a swipe rather than a tap, in CSS pixels. */
const SWIPE = 50;
const DOUBLE_TAP_MS = 300;

function remembered(key) {
  try {
    return window.localStorage.getItem(key);
  } catch (_) {
    return null; // storage refused (a private window, say): nothing is remembered
  }
}

function remember(key, value) {
  try {
    window.localStorage.setItem(key, value);
  } catch (_) {
    // As above: the choice holds for this page only.
  }
}

const reducedMotion = () => window.matchMedia("(prefers-reduced-motion: reduce)").matches;

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
  const $ = (selector) => dialog.querySelector(selector);
  const stage = $(".lightbox-stage");
  const main = $(".lightbox-main");
  const info = $(".lightbox-info");
  const buttons = {
    prev: $(".lightbox-prev"),
    next: $(".lightbox-next"),
    close: $(".lightbox-close"),
    zoomIn: $(".lightbox-zoom-in"),
    zoomOut: $(".lightbox-zoom-out"),
    play: $(".lightbox-play"),
    fullscreen: $(".lightbox-fullscreen"),
    info: $(".lightbox-info-toggle"),
  };
  const intervalChoice = $(".lightbox-interval");
  const loopChoice = $(".lightbox-loop");
  const announcer = $(".lightbox-announce");
  const preloaded = new Map();
  const gridTitle = document.title;
  let gridAddress = window.location.pathname + window.location.search;
  let current = null; // the tile shown
  let depth = 0; // history entries this lightbox pushed
  let closingFromHistory = false;
  let waiting = false; // a step past the last tile waits for the next page

  const tiles = () => Array.from(grid.querySelectorAll("a.tile"));
  const set = (selector, text) => { $(selector).textContent = text; };
  const picture = () => stage.querySelector("img:not(.lightbox-leaving)");
  const say = (text) => { announcer.textContent = text; };

  function preload(tile) {
    if (!tile) return null;
    const known = preloaded.get(tile.dataset.id);
    if (known) return known;
    const image = new Image();
    image.decoding = "async";
    image.src = tile.dataset.lg;
    preloaded.set(tile.dataset.id, image);
    if (preloaded.size > 12) preloaded.delete(preloaded.keys().next().value);
    return image;
  }

  /** Resolves once the tile's large image is loaded and decoded (or failed: never hangs). */
  function ready(tile) {
    const image = preload(tile);
    if (!image) return Promise.resolve();
    return image.decode().catch(() => {});
  }

  // ------------------------------------------------------------------ zoom
  //
  // The picture is laid out at the size that fits the stage (no larger than the large
  // thumbnail's pixels), then scaled and moved with a transform: `scale` 1 is that fit.

  const zoom = { scale: 1, x: 0, y: 0, fitWidth: 0, fitHeight: 0, full: false };

  /** The width of the picture's best pixels: the original's where it may be shown. */
  function nativeWidth(d) {
    const lg = Number(d.lgWidth) || 0;
    const full = Number(d.fullWidth) || 0;
    return d.full && full > lg ? full : lg;
  }

  function maxScale() {
    if (!current || !zoom.fitWidth) return 1;
    return Math.max(1, nativeWidth(current.dataset) / zoom.fitWidth);
  }

  function layout() {
    const image = picture();
    if (!image || !current || !dialog.open) return;
    const d = current.dataset;
    const lgWidth = Number(d.lgWidth) || image.naturalWidth || 1;
    const lgHeight = Number(d.lgHeight) || image.naturalHeight || 1;
    const style = getComputedStyle(stage);
    const room = {
      width: stage.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight),
      height: stage.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom),
    };
    if (room.width <= 0 || room.height <= 0) return;
    const ratio = lgWidth / lgHeight;
    const width = Math.min(room.width, room.height * ratio, lgWidth);
    zoom.fitWidth = width;
    zoom.fitHeight = width / ratio;
    image.style.width = `${zoom.fitWidth}px`;
    image.style.height = `${zoom.fitHeight}px`;
    zoomTo(Math.min(zoom.scale, maxScale()));
  }

  /** Keep the zoomed picture over the stage: no dark gap on a side it overflows. */
  function clamp() {
    const image = picture();
    if (!image) return;
    for (const [axis, size, room, offset] of [
      ["x", zoom.fitWidth, stage.clientWidth, image.offsetLeft],
      ["y", zoom.fitHeight, stage.clientHeight, image.offsetTop],
    ]) {
      const scaled = size * zoom.scale;
      if (scaled <= room) {
        zoom[axis] = 0;
        continue;
      }
      const centre = offset + size / 2;
      const low = room - centre - scaled / 2;
      const high = scaled / 2 - centre;
      zoom[axis] = Math.min(high, Math.max(low, zoom[axis]));
    }
  }

  function render() {
    const image = picture();
    if (!image) return;
    const zoomed = zoom.scale > 1.001;
    image.classList.toggle("lightbox-zoomed", zoomed);
    image.style.transform = zoomed ? `translate(${zoom.x}px, ${zoom.y}px) scale(${zoom.scale})` : "";
    dialog.dataset.zoom = zoom.scale.toFixed(3);
    buttons.zoomIn.disabled = zoom.scale >= maxScale() - 0.001;
    buttons.zoomOut.disabled = !zoomed;
    if (zoomed && !zoom.full && zoom.fitWidth * zoom.scale > (Number(current.dataset.lgWidth) || 0)) {
      showFull();
    }
  }

  /** Zoom to `scale` keeping the point under (clientX, clientY) where it is (default: the middle). */
  function zoomTo(scale, clientX, clientY) {
    const image = picture();
    if (!image) return;
    const wasZoomed = zoomed();
    const next = Math.min(maxScale(), Math.max(1, scale));
    const box = stage.getBoundingClientRect();
    const centreX = box.left + image.offsetLeft + zoom.fitWidth / 2;
    const centreY = box.top + image.offsetTop + zoom.fitHeight / 2;
    const atX = (clientX ?? box.left + box.width / 2) - centreX;
    const atY = (clientY ?? box.top + box.height / 2) - centreY;
    const ratio = next / zoom.scale;
    zoom.x = atX - ratio * (atX - zoom.x);
    zoom.y = atY - ratio * (atY - zoom.y);
    zoom.scale = next;
    clamp();
    render();
    if (wasZoomed !== zoomed()) slideshow.held();
  }

  const zoomed = () => zoom.scale > 1.001;

  function resetZoom() {
    zoom.scale = 1;
    zoom.x = 0;
    zoom.y = 0;
    render();
  }

  function toggleZoom(clientX, clientY) {
    if (zoomed()) zoomTo(1);
    else zoomTo(Math.min(maxScale(), Math.max(2, (Number(current.dataset.lgWidth) || 0) / zoom.fitWidth)), clientX, clientY);
  }

  /** Swap in the original once it is loaded, when zoomed past the large thumbnail's pixels. */
  function showFull() {
    const tile = current;
    const url = tile.dataset.full;
    zoom.full = true;
    if (!url) return;
    const original = new Image();
    original.decoding = "async";
    original.src = url;
    original.decode().then(() => {
      const image = picture();
      if (current === tile && image) image.src = url;
    }, () => {}); // not loaded: the large thumbnail stays
  }

  // ------------------------------------------------------------------ showing a tile

  function show(tile, { fade = false } = {}) {
    current = tile;
    const d = tile.dataset;
    const thumb = tile.querySelector("img");
    const image = document.createElement("img");
    image.alt = d.title;
    image.width = Number(d.lgWidth) || 1;
    image.height = Number(d.lgHeight) || 1;
    image.decoding = "async";
    image.draggable = false;
    image.style.backgroundColor = d.placeholder || "";
    if (thumb && thumb.currentSrc) {
      // The thumbnail already on screen stands in until the large image arrives.
      image.style.backgroundImage = `url("${thumb.currentSrc}")`;
    }
    image.src = d.lg;
    const before = picture();
    if (fade && before && !reducedMotion()) {
      // Cross-fade: the picture before stays where it is, under the next one fading in.
      for (const old of stage.querySelectorAll(".lightbox-leaving")) old.remove();
      before.style.left = `${before.offsetLeft}px`;
      before.style.top = `${before.offsetTop}px`;
      before.classList.add("lightbox-leaving");
      image.classList.add("lightbox-entering");
      image.addEventListener("animationend", () => {
        image.classList.remove("lightbox-entering");
        before.remove();
      }, { once: true });
      stage.append(image);
    } else {
      stage.replaceChildren(image);
    }
    zoom.scale = 1;
    zoom.x = 0;
    zoom.y = 0;
    zoom.full = false;
    set(".lightbox-title", d.title);
    const description = $(".lightbox-description");
    description.textContent = d.description || "";
    description.hidden = !d.description;
    set(".lightbox-size", d.size);
    set(".lightbox-dimensions", d.dimensions);
    set(".lightbox-uploader", d.uploader);
    // Visitors are not told the uploader's username: without a display name, no "By" at all.
    const by = $(".lightbox-uploader").closest("div");
    if (by) by.hidden = !d.uploader;
    const date = $(".lightbox-date");
    date.textContent = d.date;
    date.dateTime = d.created;
    const taken = $(".lightbox-taken");
    taken.textContent = d.takenText || "";
    taken.dateTime = d.taken || "";
    $(".lightbox-taken-row").hidden = !d.taken;
    set(".lightbox-camera", d.camera || "");
    $(".lightbox-camera-row").hidden = !d.camera;
    $(".lightbox-page").href = pageAddress(tile);
    $(".lightbox-original").href = d.original;
    const list = tiles();
    const index = list.indexOf(tile);
    const total = Number(grid.dataset.total || "0");
    const offset = Number(grid.dataset.offset || "0");
    const position = total ? `${offset + index + 1} of ${total}` : "";
    set(".lightbox-position", position);
    // Read out what is now shown; the dialog's name alone is only read on opening.
    say(position ? `${d.title}, ${position}` : d.title);
    buttons.prev.disabled = index <= 0;
    buttons.next.disabled = index >= list.length - 1 && !pages.hasMore();
    document.title = `${d.title} · Gallery`;
    layout();
    render();
    preload(list[index + 1]);
    preload(list[index - 1]);
    slideshow.shown();
  }

  /** The image's page, saying which grid page it was opened from (for its way back). */
  function pageAddress(tile) {
    if (!("carryFrom" in dialog.dataset)) return tile.href;
    const url = new URL(tile.href, window.location.href);
    url.searchParams.set("from", gridAddress);
    return url.pathname + url.search;
  }

  function openDialog() {
    if (dialog.open) return;
    showInfo(infoWanted(), false);
    dialog.showModal();
    buttons.close.focus();
    layout();
  }

  function open(tile) {
    gridAddress = window.location.pathname + window.location.search;
    show(tile);
    openDialog();
    depth = 1;
    history.pushState({ lightbox: tile.dataset.id, depth }, "", tile.href);
  }

  /** The tile `delta` steps away, fetching the next page past the last; null if none. */
  async function neighbour(delta) {
    let list = tiles();
    const index = list.indexOf(current) + delta;
    if (index >= list.length && pages.hasMore()) {
      if (waiting) return undefined; // one page load at a time; further presses are dropped
      waiting = true;
      try {
        await pages.loadMore();
      } finally {
        waiting = false;
      }
      if (!dialog.open) return undefined;
      list = tiles();
    }
    return index >= 0 && index < list.length ? list[index] : null;
  }

  async function step(delta) {
    if (!current) return;
    const tile = await neighbour(delta);
    if (!tile) return;
    const button = delta < 0 ? buttons.prev : buttons.next;
    const focusWasOnButton = document.activeElement === button;
    show(tile);
    depth += 1;
    history.pushState({ lightbox: current.dataset.id, depth }, "", current.href);
    if (focusWasOnButton && button.disabled) buttons.close.focus();
  }

  // ------------------------------------------------------------------ the information panel

  function infoWanted() {
    const stored = remembered(STORED.info);
    if (stored === "shown" || stored === "hidden") return stored === "shown";
    return !window.matchMedia(NARROW).matches;
  }

  function showInfo(shown, keep = true) {
    info.hidden = !shown;
    dialog.classList.toggle("info-hidden", !shown);
    buttons.info.setAttribute("aria-expanded", String(shown));
    if (keep) remember(STORED.info, shown ? "shown" : "hidden");
    layout();
  }

  // ------------------------------------------------------------------ full screen

  // Browsers refuse full screen to a modal dialog itself, so the page goes full screen
  // with the dialog on top of it, filling the screen.
  const screenRoot = document.documentElement;
  const canFullscreen = Boolean(document.fullscreenEnabled && screenRoot.requestFullscreen);
  buttons.fullscreen.hidden = !canFullscreen;

  function toggleFullscreen() {
    if (!canFullscreen) return;
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else screenRoot.requestFullscreen().catch(() => say("Full screen is not available here."));
  }

  document.addEventListener("fullscreenchange", () => {
    buttons.fullscreen.setAttribute("aria-pressed", String(document.fullscreenElement === screenRoot));
    layout();
  });

  // ------------------------------------------------------------------ the slideshow

  const slideshow = (() => {
    let playing = false;
    let timer = null;
    let wrap = false; // started on the last image: the next advance starts again

    const seconds = () => Number(intervalChoice.value) || 5;
    const loops = () => loopChoice.checked;
    const paused = () => zoomed() || document.hidden || !dialog.open;

    function clear() {
      if (timer !== null) window.clearTimeout(timer);
      timer = null;
    }

    function schedule() {
      clear();
      if (playing && !paused()) timer = window.setTimeout(advance, seconds() * 1000);
    }

    async function advance() {
      timer = null;
      if (!playing || paused() || !current) return;
      let tile = await neighbour(1);
      if (tile === undefined) return schedule(); // a page was loading meanwhile
      if (!tile && (loops() || wrap)) tile = tiles()[0];
      wrap = false;
      if (!tile || tile === current) {
        stop("The slideshow reached the last image.");
        return;
      }
      await ready(tile); // never a blank: the next picture is decoded before it is shown
      if (!playing || paused()) return;
      show(tile, { fade: true });
      history.replaceState({ lightbox: tile.dataset.id, depth }, "", tile.href);
    }

    function update() {
      buttons.play.setAttribute("aria-label", playing ? "Pause slideshow" : "Play slideshow");
      dialog.classList.toggle("lightbox-playing", playing);
    }

    function start() {
      if (playing || !current) return;
      playing = true;
      const list = tiles();
      wrap = list.indexOf(current) === list.length - 1 && !pages.hasMore();
      if (zoomed()) resetZoom();
      update();
      say(`Slideshow playing, a new image every ${seconds()} seconds.`);
      preload(list[list.indexOf(current) + 1]);
      schedule();
    }

    function stop(message = "Slideshow paused.") {
      if (!playing) return;
      playing = false;
      clear();
      update();
      if (message) say(message);
    }

    intervalChoice.addEventListener("change", () => {
      remember(STORED.interval, intervalChoice.value);
      schedule();
    });
    loopChoice.addEventListener("change", () => remember(STORED.loop, loopChoice.checked ? "1" : "0"));
    const interval = remembered(STORED.interval);
    if (interval && Array.from(intervalChoice.options).some((o) => o.value === interval)) {
      intervalChoice.value = interval;
    }
    loopChoice.checked = remembered(STORED.loop) === "1";
    document.addEventListener("visibilitychange", schedule);

    return {
      toggle: () => (playing ? stop() : start()),
      stop,
      held: schedule, // zoomed in or out: the timer holds while zoomed, and starts again after
      shown: schedule, // a new picture: its full interval starts now
    };
  })();

  // ------------------------------------------------------------------ pointers: pan, pinch, swipe, tap

  const pointers = new Map();
  let gesture = null; // {kind: "drag"|"pinch", ...}
  let lastTap = null;
  let lastPointer = "mouse";
  let dragged = false; // the click ending a drag does not close the dialog

  function pinchSpread() {
    const [a, b] = Array.from(pointers.values());
    return {
      distance: Math.hypot(a.x - b.x, a.y - b.y) || 1,
      x: (a.x + b.x) / 2,
      y: (a.y + b.y) / 2,
    };
  }

  stage.addEventListener("pointerdown", (event) => {
    if (!picture() || (event.pointerType === "mouse" && event.button !== 0)) return;
    lastPointer = event.pointerType;
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    stage.setPointerCapture(event.pointerId);
    dragged = false;
    if (pointers.size === 2) {
      const spread = pinchSpread();
      gesture = { kind: "pinch", distance: spread.distance, scale: zoom.scale };
    } else if (pointers.size === 1) {
      gesture = {
        kind: "drag", startX: event.clientX, startY: event.clientY,
        x: zoom.x, y: zoom.y, time: event.timeStamp, type: event.pointerType,
      };
    }
  });

  stage.addEventListener("pointermove", (event) => {
    if (!pointers.has(event.pointerId) || !gesture) return;
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (gesture.kind === "pinch" && pointers.size === 2) {
      const spread = pinchSpread();
      dragged = true;
      zoomTo(gesture.scale * (spread.distance / gesture.distance), spread.x, spread.y);
      return;
    }
    if (gesture.kind !== "drag") return;
    const dx = event.clientX - gesture.startX;
    const dy = event.clientY - gesture.startY;
    if (Math.hypot(dx, dy) > 5) dragged = true;
    if (zoomed()) {
      zoom.x = gesture.x + dx;
      zoom.y = gesture.y + dy;
      clamp();
      render();
    } else if (gesture.type !== "mouse" && dragged) {
      // The picture follows the finger: sideways to step, down to close.
      const image = picture();
      const down = dy > 0 && Math.abs(dy) > Math.abs(dx);
      image.style.transform = down ? `translateY(${dy}px)` : `translateX(${dx}px)`;
      image.style.opacity = down ? String(Math.max(0.3, 1 - dy / 400)) : "";
    }
  });

  function endPointer(event) {
    if (!pointers.has(event.pointerId)) return;
    pointers.delete(event.pointerId);
    if (!gesture) return;
    if (gesture.kind === "pinch") {
      if (pointers.size === 0) gesture = null;
      else {
        // One finger left after a pinch: it pans from here.
        const [rest] = pointers.values();
        gesture = { kind: "drag", startX: rest.x, startY: rest.y, x: zoom.x, y: zoom.y, time: event.timeStamp, type: "touch" };
      }
      return;
    }
    const drag = gesture;
    gesture = null;
    if (event.type === "pointercancel") {
      render();
      return;
    }
    const dx = event.clientX - drag.startX;
    const dy = event.clientY - drag.startY;
    if (drag.type !== "mouse" && !dragged && event.timeStamp - drag.time < 500) {
      tapped(event);
      return;
    }
    if (zoomed() || drag.type === "mouse") return;
    const image = picture();
    if (image) {
      image.style.opacity = "";
      image.classList.add("lightbox-settling");
      render();
      window.setTimeout(() => image.classList.remove("lightbox-settling"), 250);
    }
    if (Math.abs(dx) > SWIPE && Math.abs(dx) > 1.5 * Math.abs(dy)) step(dx < 0 ? 1 : -1);
    else if (dy > SWIPE * 1.6 && dy > 1.5 * Math.abs(dx)) dialog.close();
  }

  /** A tap of a finger: two in a row toggle the zoom where they land. */
  function tapped(event) {
    const previous = lastTap;
    lastTap = { x: event.clientX, y: event.clientY, time: event.timeStamp };
    if (previous && event.timeStamp - previous.time < DOUBLE_TAP_MS
        && Math.hypot(event.clientX - previous.x, event.clientY - previous.y) < 40) {
      lastTap = null;
      dragged = true; // nor does a double tap close it
      toggleZoom(event.clientX, event.clientY);
    }
  }

  stage.addEventListener("pointerup", endPointer);
  stage.addEventListener("pointercancel", endPointer);
  stage.addEventListener("dblclick", (event) => {
    if (lastPointer !== "mouse" || !picture()) return;
    event.preventDefault();
    toggleZoom(event.clientX, event.clientY);
  });
  stage.addEventListener("wheel", (event) => {
    if (!picture()) return;
    event.preventDefault();
    const lines = event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? 400 : 1;
    zoomTo(zoom.scale * Math.exp(-event.deltaY * lines * 0.002), event.clientX, event.clientY);
  }, { passive: false });
  stage.addEventListener("dragstart", (event) => event.preventDefault());

  // ------------------------------------------------------------------ buttons and keys

  grid.addEventListener("click", (event) => {
    const tile = event.target.closest("a.tile");
    if (!tile || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    open(tile);
  });
  buttons.prev.addEventListener("click", () => step(-1));
  buttons.next.addEventListener("click", () => step(1));
  buttons.close.addEventListener("click", () => dialog.close());
  buttons.zoomIn.addEventListener("click", () => zoomTo(zoom.scale * ZOOM_STEP));
  buttons.zoomOut.addEventListener("click", () => zoomTo(zoom.scale / ZOOM_STEP));
  buttons.play.addEventListener("click", () => slideshow.toggle());
  buttons.fullscreen.addEventListener("click", toggleFullscreen);
  buttons.info.addEventListener("click", () => showInfo(info.hidden));

  dialog.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    if (target instanceof Element && target.closest("input, select, textarea")) return;
    const actions = {
      ArrowLeft: () => step(-1),
      ArrowRight: () => step(1),
      "+": () => zoomTo(zoom.scale * ZOOM_STEP),
      "=": () => zoomTo(zoom.scale * ZOOM_STEP),
      "-": () => zoomTo(zoom.scale / ZOOM_STEP),
      "_": () => zoomTo(zoom.scale / ZOOM_STEP),
      0: () => zoomTo(1),
      " ": () => slideshow.toggle(),
      f: toggleFullscreen,
      F: toggleFullscreen,
      i: () => showInfo(info.hidden),
      I: () => showInfo(info.hidden),
    };
    const action = actions[event.key];
    if (!action) return;
    event.preventDefault(); // Space on a focused button toggles the slideshow, not the button
    action();
  });
  // A click on the dark area around the picture closes, as in most lightboxes.
  dialog.addEventListener("click", (event) => {
    if (dragged) {
      dragged = false;
      return;
    }
    if (event.target !== dialog && event.target !== stage && event.target !== main) return;
    // The stage holds the pointer while pressed, so a click on the picture lands on the
    // stage too: only one off the picture closes.
    const image = picture();
    const shown = image && image.getBoundingClientRect();
    if (shown && event.clientX >= shown.left && event.clientX <= shown.right
        && event.clientY >= shown.top && event.clientY <= shown.bottom) return;
    dialog.close();
  });

  if ("ResizeObserver" in window) new ResizeObserver(() => layout()).observe(stage);

  dialog.addEventListener("close", () => {
    slideshow.stop(null);
    if (document.fullscreenElement === screenRoot) document.exitFullscreen().catch(() => {});
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
    slideshow.stop(null);
    show(tile);
    openDialog();
  });

  return { isOpen: () => dialog.open };
}
