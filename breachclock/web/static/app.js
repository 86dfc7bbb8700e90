// The console's own script (strict CSP: no inline script, no eval).
// - Countdowns: every <time class="countdown" datetime="…" data-lead="seconds"> ticks
//   each second in the page's language ("om 3 h 12 min"), amber inside the widest
//   escalation lead, red once overdue. The words come from <html data-*>.
// - Live parts: an element with data-events opens a server-sent event stream; on each
//   "change" every [data-live] element on the page is fetched again.
// - Upload progress: htmx's xhr progress fills the form's <progress>.
// - Copy: a <button data-copy="ID"> puts the text of #ID on the clipboard (a secret
//   shown once) and says so with its data-copied words.
// - A form[data-reset] is emptied once its answer says it was done (no password left
//   in a field).
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

function copy(event) {
  const button = event.target.closest && event.target.closest("button[data-copy]");
  const source = button && document.getElementById(button.dataset.copy);
  if (!source) return;
  const said = function () {
    button.textContent = button.dataset.copied;
  };
  const text = source.textContent.trim();
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(said, function () {});
    return;
  }
  const range = document.createRange(); // no clipboard API: select it for Ctrl+C
  range.selectNodeContents(source);
  window.getSelection().removeAllRanges();
  window.getSelection().addRange(range);
}

function resetWhenDone(event) {
  const form = event.detail.elt;
  if (form.matches && form.matches("form[data-reset]") && event.detail.successful &&
      event.detail.xhr.responseText.indexOf('class="ok"') >= 0) form.reset();
}

document.addEventListener("DOMContentLoaded", function () {
  document.body.addEventListener("click", copy);
  document.body.addEventListener("htmx:afterRequest", resetWhenDone);
  tick();
  setInterval(tick, 1000);
  listen();
  document.body.addEventListener("htmx:afterSwap", tick);
  document.body.addEventListener("htmx:xhr:progress", function (e) {
    const bar = e.target.querySelector && e.target.querySelector("progress");
    if (bar && e.detail.lengthComputable) bar.value = Math.round((100 * e.detail.loaded) / e.detail.total);
  });
});
