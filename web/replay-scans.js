// The replay page's scan list: search, "Show more", each scan's status, verdict and progress, delete.

import { api, ApiError, clock, confirmed, h, when } from "./pages.js";
import { closeScan, openScan } from "./replay-player.js";
import { isPhoto, PAGE, readable, showBanner, state, ui } from "./replay-state.js";

const POLL_MS = 2000;
let pollTimer = 0;

export async function loadScans() {
  clearTimeout(pollTimer);
  try {
    const params = new URLSearchParams({ limit: String(state.shown) });
    if (state.query) params.set("q", state.query);
    const page = await api(`/api/scans?${params}`);
    state.scans = page.scans;
    state.total = page.total;
  } catch (exc) {
    ui.scanCount.textContent = "";
    ui.scans.replaceChildren(h("li", { class: "empty", text: exc.message }));
    pollTimer = setTimeout(loadScans, POLL_MS * 3);
    return;
  }
  renderScans();
  if (state.scans.some((s) => s.status === "queued" || s.status === "running")) pollTimer = setTimeout(loadScans, POLL_MS);
  const cur = state.current;
  if (cur && !cur.timeline) {
    const row = state.scans.find((s) => s.id === cur.id);
    if (row && row.status !== cur.scan.status) openScan(cur.id, { keepTime: true });
  }
}

export function renderScans() {
  ui.scanCount.textContent = state.total ? `${state.total}` : "";
  ui.more.hidden = state.scans.length >= state.total;
  if (!state.scans.length) {
    const text = state.query ? "No scan matches that search." : "No scans yet. Upload a video to start.";
    ui.scans.replaceChildren(h("li", { class: "empty", text }));
    return;
  }
  ui.scans.replaceChildren(...state.scans.map(scanRow));
}

function scanRow(scan) {
  const summary = scan.summary;  // the server's verdict of a finished scan
  const busy = scan.status === "queued" || scan.status === "running";
  const pct = Math.round((scan.progress || 0) * 100);
  const tag = scan.status === "done" ? (summary ? summary.verdict : "done") : scan.status;
  const info = scan.info || {};
  return h("li", { class: "scan-row" },
    h("button", { type: "button", class: "scan-delete needs-admin", title: "Delete this scan and its file",
      "aria-label": `Delete scan ${scan.filename}`, text: "Delete",
      onclick: (event) => deleteScan(scan, event.currentTarget) }),
    h("button", { type: "button", class: "scan", dataset: { id: scan.id, status: scan.status },
      "aria-current": state.current && state.current.id === scan.id ? "true" : null,
      onclick: () => openScan(scan.id) },
      h("span", { class: "scan-main" },
        h("span", { class: "scan-name ellipsis", text: scan.filename }),
        h("span", { class: "tag", dataset: { tag }, text: busy ? `${scan.status} ${pct}%` : tag })),
      h("span", { class: "scan-meta" },
        h("span", { text: when(scan.created) }),
        info.duration ? h("span", { text: `${clock(info.duration, 0)} · ${info.width}×${info.height}` }) : null,
        isPhoto(info) ? h("span", { text: `photo · ${info.width}×${info.height}` }) : null,
        summary && summary.max_score !== null ? h("span", { text: `max ${summary.max_score.toFixed(2)}` }) : null),
      busy ? h("span", { class: "progress thin" }, bar(pct)) : null,
      scan.status === "failed" && scan.error ? h("span", { class: "scan-error", text: readable(scan.error) }) : null));
}

/** Two clicks: the first arms the button, the second deletes the scan (row, timeline and file) on the server. */
async function deleteScan(scan, button) {
  if (!confirmed(button, "Confirm")) return;
  button.disabled = true;
  try {
    await api(`/api/scans/${scan.id}`, { method: "DELETE" });
  } catch (exc) {
    if (!(exc instanceof ApiError && exc.status === 404)) {
      button.disabled = false;
      showBanner(`${scan.filename} was not deleted: ${exc.message}`);
      return;
    }
  }
  if (state.current && state.current.id === scan.id) closeScan();
  loadScans();
}

function bar(pct) {
  const span = h("span");
  span.style.width = `${pct}%`;
  return span;
}

export function initScans() {
  let searchTimer = 0;
  ui.search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { state.query = ui.search.value.trim(); state.shown = PAGE; loadScans(); }, 250);
  });
  ui.more.addEventListener("click", () => { state.shown += PAGE; loadScans(); });
}
