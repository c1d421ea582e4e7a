// The steps of an image's page: ← and → follow its Previous and Next links (as the
// links do without this script), unless the reader is typing or in a dialog.

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
  if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
  const target = event.target;
  if (target instanceof Element && target.closest("input, textarea, select, [contenteditable], dialog")) return;
  const rel = event.key === "ArrowLeft" ? "prev" : "next";
  const link = document.querySelector(`.image-steps a[rel="${rel}"]`);
  if (!link) return;
  event.preventDefault();
  window.location.assign(link.href);
});
