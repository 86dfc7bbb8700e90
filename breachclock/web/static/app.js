// The console's own script (strict CSP: no inline script, no eval).
// - Countdowns: every <time class="countdown" datetime="…" data-lead="seconds"> ticks
//   each second in the page's language ("om 3 h 12 min"), amber inside the widest
//   escalation lead, red once overdue. The words come from <html data-*>.
// - Live parts: an element with data-events opens a server-sent event stream; on each
//   "change" every [data-live] element on the page is fetched again.
// - Upload progress: htmx's xhr progress fills the form's <progress>.
"use strict";

function words(name) {
  return document.documentElement.dataset[name] || "";
}

function span(seconds) {
  // As the catalogue's Voice.countdown: days and hours from two days on, else d/h/min.
  const minutes = Math.floor(Math.abs(seconds) / 60);
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes >= 2880 ? 0 : minutes % 60;
  const parts = [];
  if (d) parts.push(words("unitD").replace("%n", d));
  if (h) parts.push(words("unitH").replace("%n", h));
  if (m || !parts.length) parts.push(words("unitM").replace("%n", m));
  return parts.join(" ");
}

function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll("time.countdown")) {
    const due = Date.parse(el.getAttribute("datetime"));
    if (Number.isNaN(due)) continue;
    const left = Math.round((due - now) / 1000);
    const text = (left >= 0 ? words("dueIn") : words("overdueBy")).replace("%s", span(left));
    if (el.textContent !== text) el.textContent = text;
    const lead = Number(el.dataset.lead || 0);
    el.classList.toggle("overdue", left < 0);
    el.classList.toggle("near", left >= 0 && left <= lead);
  }
}

function refresh() {
  for (const el of document.querySelectorAll("[data-live]")) {
    window.htmx.ajax("GET", el.dataset.live, { target: el, swap: "innerHTML" });
  }
}

function listen() {
  const source = document.querySelector("[data-events]");
  if (!source || !window.EventSource) return;
  const events = new EventSource(source.dataset.events);
  events.addEventListener("change", refresh);
}

document.addEventListener("DOMContentLoaded", function () {
  tick();
  setInterval(tick, 1000);
  listen();
  document.body.addEventListener("htmx:afterSwap", tick);
  document.body.addEventListener("htmx:xhr:progress", function (e) {
    const bar = e.target.querySelector && e.target.querySelector("progress");
    if (bar && e.detail.lengthComputable) bar.value = Math.round((100 * e.detail.loaded) / e.detail.total);
  });
});
