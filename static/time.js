// Times in the visitor's own language and time zone.
//
// The server writes every time as <time datetime="..."> with text in UTC
// ("2026-11-21 09:05 UTC"), which is what a page without JavaScript shows.
// Here each is rewritten with Intl.DateTimeFormat:
// - an instant (datetime ending in "Z") in the visitor's zone; date only where
//   the page showed only a date;
// - a camera's time (a date taken: "2023-04-01T14:05:00+09:00", or without an
//   offset) as the camera's clock showed it, never converted: a photo taken at
//   14:00 in Tokyo says 14:00 everywhere, with its offset where known;
// - a plain date ("2026-01-02") as that date.
// A <time data-relative> ("3 days ago") is left as it is. The UTC text stays in
// the element's title. Times added later (the lightbox,
// pages loaded while scrolling) are rewritten as they appear.

const INSTANT = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d)(?:\.\d+)?)?Z$/;
const LOCAL = /^(\d{4})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d)(?::(\d\d)(?:\.\d+)?)?([+-]\d\d:?\d\d)?)?$/;

const formats = {
  dateTime: new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }),
  date: new Intl.DateTimeFormat(undefined, { dateStyle: "medium" }),
  // The camera's clock: its numbers formatted as they are, in no zone (UTC is none here).
  wallDateTime: new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }),
  wallDate: new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" }),
};

/** The text to show for a datetime attribute, or null to leave the element alone. */
export function localText(stamp, dateOnly) {
  if (!stamp) return null;
  if (INSTANT.test(stamp)) {
    const moment = new Date(stamp);
    if (Number.isNaN(moment.getTime())) return null;
    return (dateOnly ? formats.date : formats.dateTime).format(moment);
  }
  const parts = LOCAL.exec(stamp);
  if (!parts) return null;
  const [, y, mo, d, h, mi, s, offset] = parts;
  const hasTime = h !== undefined && !dateOnly;
  const wall = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h || 0), Number(mi || 0), Number(s || 0)));
  if (Number.isNaN(wall.getTime())) return null;
  const text = (hasTime ? formats.wallDateTime : formats.wallDate).format(wall);
  if (!hasTime || !offset) return text;
  const sign = offset[0];
  const digits = offset.slice(1).replace(":", "");
  return `${text} (UTC${sign}${digits.slice(0, 2)}:${digits.slice(2)})`;
}

const done = new WeakMap(); // element -> the text written into it

function localize(element) {
  if (element.hasAttribute("data-relative")) return; // "3 days ago" says it in any zone
  const current = element.textContent;
  if (done.get(element) === current && element.dataset.localTime === element.dateTime) return;
  const stamp = element.getAttribute("datetime");
  // A date alone on the page stays a date alone: its server text has no time of day.
  const dateOnly = element.dataset.show === "date" || !current.includes(":");
  const text = localText(stamp, dateOnly);
  if (text === null || !current.trim()) return;
  element.title = current.trim(); // the server's UTC text, on hover
  element.textContent = text;
  element.dataset.localTime = stamp;
  done.set(element, text);
}

function localizeAll(root) {
  if (root.matches && root.matches("time[datetime]")) localize(root);
  for (const element of root.querySelectorAll ? root.querySelectorAll("time[datetime]") : []) localize(element);
}

localizeAll(document);

new MutationObserver((records) => {
  for (const record of records) {
    const target = record.target.nodeType === Node.ELEMENT_NODE ? record.target : record.target.parentElement;
    if (!target) continue;
    const time = target.closest("time[datetime]");
    if (time) localize(time);
    for (const node of record.addedNodes) {
      if (node.nodeType === Node.ELEMENT_NODE) localizeAll(node);
    }
  }
}).observe(document.body || document.documentElement, {
  subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ["datetime"],
});
