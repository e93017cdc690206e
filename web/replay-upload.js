// The replay page's upload: a picked or dropped file is sent with XHR (bytes sent shown), then the scan's own
// events (/api/scans/{id}/events) drive the same bar until the replay opens. The panel shows where it is on
// #upload[data-phase] (uploading, queued, running, done, failed) and, once accepted, the scan's id (data-scan).

import { explain } from "./pages.js";
import { openScan } from "./replay-player.js";
import { loadScans, renderScans } from "./replay-scans.js";
import { readable, state, ui } from "./replay-state.js";

function upload(file) {
  if (!file) return;
  closeEvents();
  ui.uploadError.hidden = true;
  ui.upload.hidden = false;
  ui.uploadName.textContent = file.name;
  setPhase("uploading", null);
  setProgress(0, "Uploading…");
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/api/scans");
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) setProgress(e.loaded / e.total, `Uploading ${megabytes(e.loaded)} of ${megabytes(e.total)}`);
  };
  xhr.onerror = () => uploadFailed("The upload did not reach the server.");
  xhr.onload = () => {
    let body = null;
    try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
    if (xhr.status !== 202 || !body) {
      const why = explain(xhr.status, body).replace(/^the upload:\s*/i, "");
      return uploadFailed(`${file.name} cannot be scanned: ${why}`);
    }
    setPhase("queued", body.id);
    setProgress(0, "Queued for analysis…");
    loadScans();
    follow(body.id);
  };
  const form = new FormData();
  form.append("file", file, file.name);
  xhr.send(form);
}

function follow(id) {
  const source = state.events = new EventSource(`/api/scans/${id}/events`);
  source.addEventListener("scan", (msg) => {
    const e = JSON.parse(msg.data);
    setPhase(e.status, id);
    if (e.status === "running" || e.status === "queued") {
      const frames = e.frames ? ` · ${e.frames} frames` : "";
      setProgress(e.progress || 0, e.status === "queued" ? "Queued for analysis…" : `Analysing${frames}`);
      const row = state.scans.find((s) => s.id === id);
      if (row) { row.status = e.status; row.progress = e.progress || 0; renderScans(); }
    } else if (e.status === "done") {
      closeEvents();
      setProgress(1, "Done: the replay is open.");
      setTimeout(() => { if (!state.events) ui.upload.hidden = true; }, 5000);
      loadScans();
      openScan(id);
    } else if (e.status === "failed") {
      closeEvents();
      uploadFailed(e.error ? `The scan failed: ${readable(e.error)}` : "The scan failed.");
      loadScans();
    }
  });
  source.onerror = () => {
    // EventSource reconnects by itself; the list poll keeps the status right meanwhile.
    if (source.readyState === EventSource.CLOSED) { closeEvents(); loadScans(); }
  };
}

function closeEvents() {
  if (state.events) state.events.close();
  state.events = null;
}

function setPhase(phase, id) {
  ui.upload.dataset.phase = phase;
  if (id) ui.upload.dataset.scan = id; else delete ui.upload.dataset.scan;
}

/** The bar and its percentage show the current phase's progress (the upload's bytes, then the analysis). */
function setProgress(fraction, text) {
  const pct = Math.round(Math.min(1, Math.max(0, fraction)) * 100);
  ui.uploadBar.style.width = `${pct}%`;
  ui.uploadBar.parentElement.setAttribute("aria-valuenow", String(pct));
  ui.uploadPct.textContent = `${pct}%`;
  ui.uploadState.textContent = text;
}

function uploadFailed(message) {
  ui.upload.dataset.phase = "failed";
  ui.upload.hidden = true;
  ui.uploadError.hidden = false;
  ui.uploadError.textContent = message;
}

/** An upload's error stays only until the next upload or until another scan is chosen. */
export function clearUploadError(openedId) {
  if (!ui.uploadError.hidden && openedId !== ui.upload.dataset.scan) ui.uploadError.hidden = true;
}

const megabytes = (n) => `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MB`;

export function initUpload() {
  ui.file.addEventListener("change", () => { upload(ui.file.files[0]); ui.file.value = ""; });
  for (const type of ["dragenter", "dragover"]) {
    ui.drop.addEventListener(type, (e) => { e.preventDefault(); ui.drop.classList.add("over"); });
  }
  for (const type of ["dragleave", "dragend"]) ui.drop.addEventListener(type, () => ui.drop.classList.remove("over"));
  ui.drop.addEventListener("drop", (e) => {
    e.preventDefault();
    ui.drop.classList.remove("over");
    if (document.documentElement.dataset.role === "viewer") return;
    upload(e.dataTransfer.files[0]);
  });
  // A file dropped beside the zone must not make the browser navigate away to it.
  for (const type of ["dragover", "drop"]) window.addEventListener(type, (e) => e.preventDefault());
}
