// Live countdowns: every <time class="countdown" datetime="…" data-lead="seconds">
// ticks each second; amber inside the largest escalation lead, red once overdue.
"use strict";

function pad(n) {
  return String(n).padStart(2, "0");
}

function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll("time.countdown")) {
    const due = Date.parse(el.getAttribute("datetime"));
    if (Number.isNaN(due)) continue;
    const left = Math.round((due - now) / 1000);
    const abs = Math.abs(left);
    const d = Math.floor(abs / 86400);
    const h = Math.floor((abs % 86400) / 3600);
    const m = Math.floor((abs % 3600) / 60);
    const s = abs % 60;
    const span = (d ? d + " d " : "") + pad(h) + ":" + pad(m) + ":" + pad(s);
    el.textContent = (left >= 0 ? el.dataset.left : el.dataset.over) + " " + span;
    const lead = Number(el.dataset.lead || 0);
    el.classList.toggle("overdue", left < 0);
    el.classList.toggle("near", left >= 0 && left <= lead);
  }
}

tick();
setInterval(tick, 1000);
document.body.addEventListener("htmx:afterSwap", tick);
