// Small helpers the page scripts share: the CSRF token, server error messages, notices.

const FLASH_KEY = "gallery:flash";

/** The page's CSRF token (a meta tag, else any form's hidden field). */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) return meta.content;
  const field = document.querySelector('input[name="csrf_token"]');
  return field ? field.value : "";
}

/** The message of an API error body ({"error": {"message"}}), else a plain fallback. */
export function errorMessage(status, bodyText) {
  try {
    const body = JSON.parse(bodyText);
    if (body && body.error && body.error.message) return body.error.message;
  } catch (_) {
    // Not JSON: a proxy or the network answered, not the gallery.
  }
  if (status === 0) return "The server could not be reached. Check the connection and try again.";
  if (status === 413) return "Too large for this gallery.";
  if (status >= 500) return `The server could not do that right now (${status}). Try again in a moment.`;
  return `That did not work (${status}).`;
}

/** Send a JSON request with the session's CSRF token; resolves to {ok, status, body, message}. */
export async function sendJson(method, url, payload) {
  const headers = { "X-CSRFToken": csrfToken(), Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (payload !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(payload);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (_) {
    return { ok: false, status: 0, body: null, message: errorMessage(0, "") };
  }
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (_) { body = null; }
  return {
    ok: response.ok, status: response.status, body,
    message: response.ok ? "" : errorMessage(response.status, text),
  };
}

/** Show a notice in the page's flash area (a live region, so it is read out). */
export function showFlash(message, category = "info") {
  const area = document.getElementById("flashes");
  if (!area) return;
  const p = document.createElement("p");
  p.className = `flash ${category}`;
  p.textContent = message;
  area.append(p);
}

/** Keep a notice for the next page this tab opens (like a server-side flash). */
export function flashNextPage(message, category = "info") {
  try {
    sessionStorage.setItem(FLASH_KEY, JSON.stringify({ message, category }));
  } catch (_) {
    // Storage is off: the next page simply shows no notice.
  }
}

/** Show the notice an earlier page left, once. */
export function showPendingFlash() {
  let raw = null;
  try {
    raw = sessionStorage.getItem(FLASH_KEY);
    sessionStorage.removeItem(FLASH_KEY);
  } catch (_) {
    return;
  }
  if (!raw) return;
  try {
    const { message, category } = JSON.parse(raw);
    if (message) showFlash(String(message), category === "error" ? "error" : "info");
  } catch (_) {
    // A damaged notice is dropped.
  }
}

/** Bytes as people read them, like the server's pages. */
export function humanSize(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${Math.round(n / 1e3)} KB`;
  return `${n} bytes`;
}
