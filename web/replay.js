// Replay page: upload a video or a photo for a scan, follow its progress, then play it back with the scan's boxes,
// track ids and scores drawn over the picture in step with playback, a score-over-time plot and a summary.
// A photo is shown still, with each face's box, score and verdict, and a bar per face instead of the plot.
// Plain ES module, no build step, nothing external.

import { $, api, ApiError, clock, confirmed, drawFace, scoreText, explain, fitCanvas, h, roundRect, trackColour, when,
  worstVerdict } from "./pages.js";

const LIST_POLL_MS = 2000;
const WORST_MOMENTS = 5;

const ui = {
  video: $("video"), photo: $("photo"), overlay: $("overlay"), stage: $("stage"), empty: $("empty"), title: $("title"),
  banner: $("player-banner"), time: $("time"), nowFaces: $("now-faces"), plot: $("plot"), plotTitle: $("plot-title"), legend: $("plot-legend"),
  summary: $("summary"), exports: $("exports"), exportJson: $("export-json"), exportCsv: $("export-csv"), exportReport: $("export-report"),
  drop: $("drop"), file: $("file"), upload: $("upload"), uploadName: $("upload-name"), uploadPct: $("upload-pct"),
  uploadBar: $("upload-bar"), uploadState: $("upload-state"), uploadError: $("upload-error"),
  scans: $("scans"), scanCount: $("scan-count"), search: $("scan-search"), more: $("scan-more"),
};
const PAGE = 50;

const state = {
  scans: [],
  total: 0,              // scans matching the search, on the server
  shown: PAGE,           // how many of them the list asks for
  query: "",
  verdicts: new Map(),   // scan id -> {verdict, max} of finished scans, filled lazily
  current: null,         // {id, scan, timeline, pts: Float64Array, series, duration, threshold, fps}
  time: 0,               // media time of the last drawn frame
  pollTimer: 0,
  events: null,          // EventSource of the upload in progress
  plotCache: null,       // the plot without its playhead, as an offscreen canvas
  hover: null,           // media time under the mouse on the plot
  serverModel: null,     // /api/config's model: name, version, threshold, uncertainMargin
};

// Test hook: what the page drew last and where.
const probe = window.__replay = {
  scanId: null, ready: false, currentTime: 0, frameIndex: null, framePts: null, drawnBoxes: [], picture: null,
  playheadX: null, plotArea: null, draws: 0, syncedBy: null, upload: null, still: false, bars: [],
};

// ---------------------------------------------------------------------------------------------
// Scans list
async function loadScans() {
  clearTimeout(state.pollTimer);
  try {
    const params = new URLSearchParams({ limit: String(state.shown) });
    if (state.query) params.set("q", state.query);
    const page = await api(`/api/scans?${params}`);
    state.scans = page.scans;
    state.total = page.total;
  } catch (exc) {
    ui.scanCount.textContent = "";
    ui.scans.replaceChildren(h("li", { class: "empty", text: exc.message }));
    state.pollTimer = setTimeout(loadScans, LIST_POLL_MS * 3);
    return;
  }
  renderScans();
  fillVerdicts();
  if (state.scans.some((s) => s.status === "queued" || s.status === "running")) {
    state.pollTimer = setTimeout(loadScans, LIST_POLL_MS);
  }
  const cur = state.current;
  if (cur && !cur.timeline) {
    const row = state.scans.find((s) => s.id === cur.id);
    if (row && row.status !== cur.scan.status) openScan(cur.id, { keepTime: true });
  }
}

function renderScans() {
  ui.scanCount.textContent = state.total ? `${state.total}` : "";
  ui.more.hidden = state.scans.length >= state.total;
  if (!state.scans.length) {
    const text = state.query ? "No scan matches that search." : "No scans yet. Upload a video to start.";
    ui.scans.replaceChildren(h("li", { class: "empty", text }));
    return;
  }
  ui.scans.replaceChildren(...state.scans.map((scan) => {
    const known = state.verdicts.get(scan.id);
    const busy = scan.status === "queued" || scan.status === "running";
    const pct = Math.round((scan.progress || 0) * 100);
    const tag = scan.status === "done" ? (known ? known.verdict : "done") : scan.status;
    const info = scan.info || {};
    return h("li", { class: "scan-row" },
      h("button", { type: "button", class: "scan-delete", title: "Delete this scan and its video",
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
          known && known.max !== null ? h("span", { text: `max ${known.max.toFixed(2)}` }) : null),
        busy ? h("span", { class: "progress thin" }, bar(pct)) : null,
        scan.status === "failed" && scan.error ? h("span", { class: "scan-error", text: readable(scan.error) }) : null));
  }));
}

/** Two clicks: the first arms the button, the second deletes the scan (row, timeline and video) on the server. */
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
  state.verdicts.delete(scan.id);
  if (state.current && state.current.id === scan.id) closeScan();
  loadScans();
}

/** Back to the empty player (the shown scan is gone). */
function closeScan() {
  state.current = null;
  state.plotCache = null;
  probe.scanId = null;
  probe.ready = false;
  history.replaceState(null, "", location.pathname);
  ui.video.removeAttribute("src");
  ui.video.load();
  ui.title.textContent = "No scan chosen";
  ui.empty.hidden = false;
  ui.stage.classList.remove("has-video");
  ui.exports.hidden = true;
  ui.banner.hidden = true;
  renderSummary();
  renderLegend();
  draw(0, "close");
}

let searchTimer = 0;
ui.search.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => { state.query = ui.search.value.trim(); state.shown = PAGE; loadScans(); }, 250);
});
ui.more.addEventListener("click", () => { state.shown += PAGE; loadScans(); });

/** A scan's media is a photo: the upload's probe says so by its MIME type, the timeline by ``still``. */
function isPhoto(info) {
  return Boolean(info && (info.still || String(info.format || "").startsWith("image/")));
}

/** A server message for people: "the file: truncated: ..." -> "Truncated: ...". */
function readable(message) {
  const text = String(message).replace(/^the (file|upload):\s*/i, "");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function bar(pct) {
  const span = h("span");
  span.style.width = `${pct}%`;
  return span;
}

let filling = false;
async function fillVerdicts() {
  if (filling) return;
  filling = true;
  try {
    for (const scan of state.scans.filter((s) => s.status === "done" && !state.verdicts.has(s.id)).slice(0, 12)) {
      try {
        remember(await api(`/api/scans/${scan.id}`));
      } catch { state.verdicts.set(scan.id, { verdict: "done", max: null }); }
      renderScans();
    }
  } finally { filling = false; }
}

function remember(scan) {
  const tracks = (scan.timeline && scan.timeline.tracks) || [];
  const verdict = worstVerdict(tracks.map((t) => t.verdict)) || "no faces";
  const max = tracks.length ? Math.max(...tracks.map((t) => t.max_score)) : null;
  state.verdicts.set(scan.id, { verdict, max });
}

// ---------------------------------------------------------------------------------------------
// Upload, with progress: bytes sent by XHR, then the scan's own events.
function upload(file) {
  if (!file) return;
  closeEvents();
  ui.uploadError.hidden = true;
  ui.upload.hidden = false;
  ui.uploadName.textContent = file.name;
  setProgress(0, "Uploading…");
  probe.upload = { phase: "uploading", progress: 0, id: null };
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
    probe.upload = { phase: "queued", progress: 0, id: body.id };
    setProgress(0, "Queued for analysis…", "scan");
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
    probe.upload = { phase: e.status, progress: e.progress, id };
    if (e.status === "running" || e.status === "queued") {
      const frames = e.frames ? ` · ${e.frames} frames` : "";
      setProgress(e.progress || 0, e.status === "queued" ? "Queued for analysis…" : `Analysing ${Math.round((e.progress || 0) * 100)}%${frames}`, "scan");
      const row = state.scans.find((s) => s.id === id);
      if (row) { row.status = e.status; row.progress = e.progress || 0; renderScans(); }
    } else if (e.status === "done") {
      closeEvents();
      setProgress(1, "Done: the replay is open.", "scan");
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

/** Both phases on one bar: the upload fills the first 30 %, the analysis the rest. */
function setProgress(fraction, text, phase = "upload") {
  const total = phase === "upload" ? 0.3 * fraction : 0.3 + 0.7 * fraction;
  const pct = Math.round(Math.min(1, Math.max(0, total)) * 100);
  ui.uploadBar.style.width = `${pct}%`;
  ui.uploadBar.parentElement.setAttribute("aria-valuenow", String(pct));
  ui.uploadPct.textContent = `${pct}%`;
  ui.uploadState.textContent = text;
}

function uploadFailed(message) {
  probe.upload = { ...(probe.upload || {}), phase: "failed", error: message };
  ui.upload.hidden = true;
  ui.uploadError.hidden = false;
  ui.uploadError.textContent = message;
}

const megabytes = (n) => `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MB`;

ui.file.addEventListener("change", () => { upload(ui.file.files[0]); ui.file.value = ""; });
for (const type of ["dragenter", "dragover"]) {
  ui.drop.addEventListener(type, (e) => { e.preventDefault(); ui.drop.classList.add("over"); });
}
for (const type of ["dragleave", "dragend"]) ui.drop.addEventListener(type, () => ui.drop.classList.remove("over"));
ui.drop.addEventListener("drop", (e) => {
  e.preventDefault();
  ui.drop.classList.remove("over");
  upload(e.dataTransfer.files[0]);
});
// A file dropped beside the zone must not make the browser navigate away to it.
for (const type of ["dragover", "drop"]) window.addEventListener(type, (e) => e.preventDefault());

// ---------------------------------------------------------------------------------------------
// Choosing a scan
async function openScan(id, { keepTime = false } = {}) {
  let scan;
  try {
    scan = await api(`/api/scans/${id}`);
  } catch (exc) {
    showBanner(exc instanceof ApiError && exc.status === 404 ? "That scan does not exist (any more)." : exc.message);
    return;
  }
  const same = state.current && state.current.id === id;
  const timeline = scan.status === "done" ? scan.timeline : null;
  if (timeline) remember(scan);
  state.current = prepare(scan, timeline);
  state.plotCache = null;
  probe.scanId = id;
  probe.ready = false;
  history.replaceState(null, "", `#${id}`);
  ui.title.textContent = scan.filename;
  ui.title.title = scan.filename;
  ui.empty.hidden = true;
  ui.stage.classList.add("has-video");
  const info = (timeline && timeline.video) || scan.info || {};
  if (info.width && info.height) ui.stage.style.aspectRatio = `${info.width} / ${info.height}`;
  const still = state.current.still;
  ui.stage.classList.toggle("is-photo", still);
  ui.plotTitle.replaceChildren(still ? "Score per face" : "Score over time",
    still ? "" : h("span", { class: "hint", text: " click to jump" }));
  ui.photo.hidden = !still;
  probe.still = still;
  if (still && (!same || !keepTime)) {
    ui.video.removeAttribute("src");
    ui.video.load();
    ui.photo.src = `/api/scans/${id}/video`;
  } else if (!still && (!same || !keepTime)) {
    ui.photo.removeAttribute("src");
    ui.video.src = `/api/scans/${id}/video`;
    ui.video.load();
  } else if (still && ui.photo.complete && ui.photo.naturalWidth) {
    probe.ready = true;
  }
  ui.exports.hidden = !timeline;
  ui.exportJson.href = `/api/scans/${id}/timeline.json`;
  ui.exportCsv.href = `/api/scans/${id}/timeline.csv`;
  ui.exportReport.href = `/api/scans/${id}/report.html?progress`;
  const media = still ? "photo" : "video";
  if (scan.status === "failed") showBanner(`This scan failed (${readable(scan.error || "unknown error")}). The ${media} shows without results.`);
  else if (!timeline) showBanner(`This scan is ${scan.status}; boxes and scores appear when it is done.`);
  else ui.banner.hidden = true;
  renderSummary();
  renderLegend();
  renderScans();
  draw(still ? 0 : ui.video.currentTime || 0, "open");
}

function showBanner(text) {
  ui.banner.hidden = false;
  ui.banner.textContent = text;
}

function prepare(scan, timeline) {
  const cur = { id: scan.id, scan, timeline, pts: new Float64Array(0), series: new Map(), duration: 0,
    threshold: 0.5, fps: 25, frames: [], still: isPhoto((timeline && timeline.video) || scan.info) };
  if (!timeline) {
    cur.duration = (scan.info && scan.info.duration) || 0;
    return cur;
  }
  cur.frames = timeline.frames;
  cur.pts = Float64Array.from(timeline.frames, (f) => f.pts);
  cur.threshold = cur.still ? timeline.model.still_threshold || timeline.model.threshold : timeline.model.threshold;
  cur.fps = timeline.video.analysed_fps || timeline.video.fps || 25;
  const last = cur.pts.length ? cur.pts[cur.pts.length - 1] : 0;
  cur.duration = Math.max(timeline.video.duration || 0, last);
  for (const frame of timeline.frames) {
    for (const face of frame.faces) {
      if (!cur.series.has(face.track_id)) cur.series.set(face.track_id, []);
      if (face.score !== null) cur.series.get(face.track_id).push([frame.pts, face.score, face.verdict]);
    }
  }
  return cur;
}

/** Index of the frame with the largest pts <= t (a hair of tolerance for float rounding), or -1. */
export function frameAt(pts, t) {
  let lo = 0, hi = pts.length - 1, found = -1;
  const target = t + 1e-3;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (pts[mid] <= target) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// Drawing, in step with the video
function pictureRect() {
  const cw = ui.overlay.clientWidth, ch = ui.overlay.clientHeight;
  const info = state.current && ((state.current.timeline && state.current.timeline.video) || state.current.scan.info);
  const still = state.current && state.current.still;
  const shownW = still ? ui.photo.naturalWidth : ui.video.videoWidth, shownH = still ? ui.photo.naturalHeight : ui.video.videoHeight;
  const vw = shownW || (info && info.width), vh = shownH || (info && info.height);
  if (!vw || !vh || !cw || !ch) return null;
  const scale = Math.min(cw / vw, ch / vh);
  const w = vw * scale, hgt = vh * scale;
  return { x: (cw - w) / 2, y: (ch - hgt) / 2, w, h: hgt };
}

function draw(t, by) {
  state.time = t;
  const { ctx } = fitCanvas(ui.overlay);
  const cur = state.current, drawn = [];
  let frame = null;
  const rect = pictureRect();
  if (cur && cur.timeline && rect && !cur.misshapen) {
    const i = frameAt(cur.pts, t);
    // A frame that far behind the picture is not its frame (sampled scans, or the video runs past the timeline).
    if (i >= 0 && t - cur.pts[i] <= Math.max(0.5, 3 / cur.fps)) frame = cur.frames[i];
    const video = cur.timeline.video;
    const sx = rect.w / video.width, sy = rect.h / video.height;
    for (const face of frame ? frame.faces : []) {
      const [x0, y0, x1, y1] = face.box;
      const box = { x: rect.x + x0 * sx, y: rect.y + y0 * sy, w: (x1 - x0) * sx, h: (y1 - y0) * sy };
      drawn.push(drawFace(ctx, box, face, rect));
    }
  }
  ui.time.textContent = cur && cur.still ? "Photo" : `${clock(t)} / ${clock(cur ? cur.duration : 0)}`;
  renderNowFaces(frame);
  Object.assign(probe, { currentTime: t, frameIndex: frame ? frame.frame_index : null, framePts: frame ? frame.pts : null,
    drawnBoxes: drawn, picture: rect && { ...rect, videoWidth: ui.video.videoWidth, videoHeight: ui.video.videoHeight,
      naturalWidth: ui.photo.naturalWidth, naturalHeight: ui.photo.naturalHeight },
    draws: probe.draws + 1, syncedBy: by });
  drawPlot();
}

let shownFaces = "";
function renderNowFaces(frame) {
  const key = frame ? frame.faces.map((f) => `${f.track_id}:${f.score}:${f.verdict}`).join("|") : "";
  if (key === shownFaces) return;
  shownFaces = key;
  if (!frame || !frame.faces.length) {
    ui.nowFaces.replaceChildren(h("li", { class: "muted", text: state.current && state.current.timeline ? "No face in this frame" : "" }));
    return;
  }
  ui.nowFaces.replaceChildren(...frame.faces.map((f) => h("li", { class: "chip", dataset: { verdict: f.verdict } },
    h("b", { text: `#${f.track_id}` }), ` ${scoreText(f.score)} `, h("small", { text: f.reason || f.verdict }))));
}

// requestVideoFrameCallback gives the media time of each frame as it is shown; timeupdate is the fallback.
const hasFrameCallback = "requestVideoFrameCallback" in HTMLVideoElement.prototype;
if (hasFrameCallback) {
  const onFrame = (_now, meta) => {
    draw(meta.mediaTime, "frame");
    ui.video.requestVideoFrameCallback(onFrame);
  };
  ui.video.requestVideoFrameCallback(onFrame);
} else {
  ui.video.addEventListener("timeupdate", () => draw(ui.video.currentTime, "timeupdate"));
}
ui.video.addEventListener("seeked", () => draw(ui.video.currentTime, "seeked"));
ui.video.addEventListener("pause", () => draw(ui.video.currentTime, "pause"));
ui.video.addEventListener("loadeddata", () => {
  const cur = state.current;
  if (cur && cur.timeline) {
    // The browser shows some files turned (rotation metadata of phone videos) while the scan's boxes are in the
    // stored picture's coordinates: better no boxes than boxes in the wrong place.
    const { width, height } = cur.timeline.video;
    const shown = ui.video.videoWidth / ui.video.videoHeight, scanned = width / height;
    cur.misshapen = Math.abs(shown / scanned - 1) > 0.02;
    if (cur.misshapen) {
      showBanner(`The browser shows this video at ${ui.video.videoWidth}×${ui.video.videoHeight}, the scan saw ${width}×${height} (rotation metadata?), so no boxes are drawn; the scores and the summary still apply.`);
    }
  }
  probe.ready = true;
  draw(ui.video.currentTime, "loaded");
});
ui.video.addEventListener("error", () => {
  if (state.current && !state.current.still && ui.video.getAttribute("src")) {
    showBanner("The video cannot be played here (its file may be gone, or the browser lacks the codec).");
  }
});
ui.photo.addEventListener("load", () => {
  const cur = state.current;
  if (cur && cur.timeline) {
    // Browsers turn a photo upright by its EXIF orientation, as the scan did; a mismatch means no boxes.
    const { width, height } = cur.timeline.video;
    cur.misshapen = ui.photo.naturalWidth !== width || ui.photo.naturalHeight !== height;
    if (cur.misshapen) {
      showBanner(`The browser shows this photo at ${ui.photo.naturalWidth}×${ui.photo.naturalHeight}, the scan saw ${width}×${height}, so no boxes are drawn; the scores and the summary still apply.`);
    }
  }
  probe.ready = true;
  draw(0, "loaded");
});
ui.photo.addEventListener("error", () => {
  if (state.current && state.current.still && ui.photo.getAttribute("src")) {
    showBanner("The photo cannot be shown here (its file may be gone from the server).");
  }
});
new ResizeObserver(() => { state.plotCache = null; draw(state.time, "resize"); }).observe(ui.stage);
new ResizeObserver(() => { state.plotCache = null; drawPlot(); }).observe(ui.plot);

// ---------------------------------------------------------------------------------------------
// Score-over-time plot with the threshold and a playhead; a click seeks.
const PAD = { l: 34, r: 12, t: 10, b: 22 };

function plotArea() {
  const w = ui.plot.clientWidth, hgt = ui.plot.clientHeight;
  return { x: PAD.l, y: PAD.t, w: Math.max(1, w - PAD.l - PAD.r), h: Math.max(1, hgt - PAD.t - PAD.b), cw: w, ch: hgt };
}

function drawPlot() {
  const { ctx, dpr } = fitCanvas(ui.plot);
  const cur = state.current, area = plotArea();
  if (!state.plotCache || state.plotCache.width !== ui.plot.width || state.plotCache.height !== ui.plot.height) {
    state.plotCache = renderPlotBase(area, dpr);
  }
  ctx.drawImage(state.plotCache, 0, 0, area.cw, area.ch);
  probe.plotArea = area;
  if (!cur || !cur.duration || cur.still) { probe.playheadX = null; return; }
  const x = area.x + Math.min(1, Math.max(0, state.time / cur.duration)) * area.w;
  ctx.strokeStyle = "#e8ecf1";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  ctx.moveTo(x, area.y - 4);
  ctx.lineTo(x, area.y + area.h);
  ctx.stroke();
  ctx.fillStyle = "#e8ecf1";
  ctx.beginPath();
  ctx.moveTo(x - 5, area.y - 6);
  ctx.lineTo(x + 5, area.y - 6);
  ctx.lineTo(x, area.y);
  ctx.fill();
  probe.playheadX = x;
  if (state.hover !== null) drawHover(ctx, area, cur);
  const now = state.time.toFixed(1);
  if (ui.plot.getAttribute("aria-valuenow") !== now) {
    ui.plot.setAttribute("aria-valuenow", now);
    ui.plot.setAttribute("aria-valuemax", cur.duration.toFixed(1));
    ui.plot.setAttribute("aria-valuetext", clock(state.time));
  }
}

function renderPlotBase(area, dpr) {
  const canvas = document.createElement("canvas");
  canvas.width = ui.plot.width;
  canvas.height = ui.plot.height;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const cur = state.current;
  const X = (t) => area.x + (cur && cur.duration ? t / cur.duration : 0) * area.w;
  const Y = (s) => area.y + (1 - s) * area.h;
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#93a0b0";
  ctx.strokeStyle = "#2a313c";
  ctx.lineWidth = 1;
  for (const s of [0, 0.25, 0.5, 0.75, 1]) {
    ctx.beginPath();
    ctx.moveTo(area.x, Math.round(Y(s)) + 0.5);
    ctx.lineTo(area.x + area.w, Math.round(Y(s)) + 0.5);
    ctx.stroke();
    ctx.fillText(s.toFixed(2).replace(/0$/, ""), 4, Y(s) + 4);
  }
  if (cur && cur.still && cur.timeline) return renderBars(ctx, area, cur, Y);
  if (!cur || !cur.duration) {
    ctx.fillText(cur ? "No results for this scan yet." : "Choose a scan to see its scores.", area.x + 10, area.y + area.h / 2);
    return canvas;
  }
  // Time ticks at a round step that leaves room for the labels.
  const steps = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];
  const step = steps.find((s) => (area.w / cur.duration) * s >= 56) || 3600;
  for (let t = 0; t <= cur.duration + 1e-9; t += step) {
    const label = clock(t, step < 1 ? 1 : 0), tw = ctx.measureText(label).width;
    ctx.fillText(label, Math.min(Math.max(X(t) - tw / 2, area.x - 4), area.cw - tw - 2), area.y + area.h + 16);
  }
  drawThreshold(ctx, area, cur, Y);
  const gap = Math.max(0.5, 3 / cur.fps);
  for (const [track, points] of cur.series) {
    ctx.strokeStyle = trackColour(track);
    ctx.lineWidth = 2;
    ctx.lineJoin = "round";
    ctx.beginPath();
    let prev = null;
    for (const [t, s] of points) {
      if (prev === null || t - prev > gap) ctx.moveTo(X(t), Y(s)); else ctx.lineTo(X(t), Y(s));
      prev = t;
    }
    ctx.stroke();
  }
  return canvas;
}

/** The decision threshold, dashed, inside the uncertain band (when the scan used the server's model). */
function drawThreshold(ctx, area, cur, Y) {
  const margin = uncertainMargin(cur);
  if (margin) {
    ctx.fillStyle = "rgba(227, 162, 26, .14)";
    const top = Y(Math.min(1, cur.threshold + margin)), bottom = Y(Math.max(0, cur.threshold - margin));
    ctx.fillRect(area.x, top, area.w, bottom - top);
  }
  ctx.strokeStyle = "#e8ecf1";
  ctx.setLineDash([5, 4]);
  ctx.beginPath();
  ctx.moveTo(area.x, Y(cur.threshold));
  ctx.lineTo(area.x + area.w, Y(cur.threshold));
  ctx.stroke();
  ctx.setLineDash([]);
}

/** A photo: one bar per face (its score), the threshold across. */
function renderBars(ctx, area, cur, Y) {
  const faces = cur.frames.length ? cur.frames[0].faces : [];
  const canvas = ctx.canvas;
  probe.bars = [];
  if (!faces.length) {
    ctx.fillText("No face was found in this photo.", area.x + 10, area.y + area.h / 2);
    return canvas;
  }
  const slot = area.w / faces.length, width = Math.min(56, slot * 0.6);
  faces.forEach((face, i) => {
    const x = area.x + slot * i + (slot - width) / 2, top = Y(face.score);
    ctx.fillStyle = trackColour(face.track_id);
    ctx.fillRect(x, top, width, area.y + area.h - top);
    ctx.fillStyle = "#93a0b0";
    const label = `#${face.track_id} ${face.score.toFixed(2)}`;
    ctx.fillText(label, x + width / 2 - ctx.measureText(label).width / 2, area.y + area.h + 16);
    probe.bars.push({ track_id: face.track_id, score: face.score, x, y: top, w: width, h: area.y + area.h - top });
  });
  drawThreshold(ctx, area, cur, Y);
  return canvas;
}

/** Under the pointer: a thin line and each face's score at that moment. */
function drawHover(ctx, area, cur) {
  const t = state.hover, x = area.x + (t / cur.duration) * area.w;
  ctx.strokeStyle = "rgba(232, 236, 241, .35)";
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(x, area.y);
  ctx.lineTo(x, area.y + area.h);
  ctx.stroke();
  const i = frameAt(cur.pts, t);
  const faces = i >= 0 && t - cur.pts[i] <= Math.max(0.5, 3 / cur.fps) ? cur.frames[i].faces : [];
  const lines = [clock(t), ...faces.map((f) => `#${f.track_id}  ${scoreText(f.score)}`)];
  ctx.font = "600 11px system-ui, sans-serif";
  const w = Math.max(...lines.map((l) => ctx.measureText(l).width)) + 14, hgt = lines.length * 15 + 8;
  const bx = x + 8 + w > area.x + area.w ? x - 8 - w : x + 8, by = area.y + 4;
  ctx.fillStyle = "rgba(11, 14, 18, .88)";
  roundRect(ctx, bx, by, w, hgt, 6);
  ctx.fill();
  lines.forEach((line, n) => {
    ctx.fillStyle = n === 0 ? "#93a0b0" : trackColour(faces[n - 1].track_id);
    ctx.fillText(line, bx + 7, by + 16 + n * 15);
  });
}

function plotTime(e) {
  const cur = state.current;
  if (!cur || !cur.duration) return null;
  const r = ui.plot.getBoundingClientRect(), area = plotArea();
  return Math.min(1, Math.max(0, (e.clientX - r.left - area.x) / area.w)) * cur.duration;
}

ui.plot.addEventListener("click", (e) => {
  const t = plotTime(e);
  if (t !== null) seek(t);
});
ui.plot.addEventListener("pointermove", (e) => {
  if (e.pointerType !== "mouse") return;
  state.hover = plotTime(e);
  drawPlot();
});
ui.plot.addEventListener("pointerleave", () => { state.hover = null; drawPlot(); });

ui.plot.addEventListener("keydown", (e) => {
  const cur = state.current;
  if (!cur || !cur.duration) return;
  const step = e.shiftKey ? 5 : 1;
  const to = { ArrowLeft: state.time - step, ArrowRight: state.time + step, Home: 0, End: cur.duration }[e.key];
  if (to === undefined) return;
  e.preventDefault();
  seek(Math.min(cur.duration, Math.max(0, to)));
});

function seek(t) {
  if (!state.current) return;
  ui.video.currentTime = t;
  state.time = t;
  drawPlot();
}

/** The uncertain band around the threshold: known from /api/config when the scan used the server's model. */
function uncertainMargin(cur) {
  const m = state.serverModel, model = cur && cur.timeline && cur.timeline.model;
  if (!m || !model || m.name !== model.name || m.version !== model.version) return 0;
  return m.uncertainMargin || 0;
}

function renderLegend() {
  const cur = state.current;
  const items = [h("span", { class: "swatch dash" }), "decision threshold"];
  if (cur && cur.timeline) {
    items.push(` ${cur.threshold.toFixed(2)}`);
    if (uncertainMargin(cur)) items.push(h("span", { class: "legend-item" }, h("span", { class: "swatch band" }), "uncertain"));
    for (const track of cur.series.keys()) {
      const sw = h("span", { class: "swatch line" });
      sw.style.background = trackColour(track);
      items.push(h("span", { class: "legend-item" }, sw, `face #${track}`));
    }
  }
  ui.legend.replaceChildren(...items);
}

// ---------------------------------------------------------------------------------------------
// Summary: overall verdict, tracks and the worst moments (click to jump there).
/** What the verdict means in numbers: the scores against the model's threshold, and what a low score is not. */
function verdictText(verdict, tracks, threshold) {
  const max = Math.max(...tracks.map((t) => t.max_score));
  const t = threshold.toFixed(2), m = max.toFixed(2);
  if (verdict === "fake") {
    return `Likely manipulated: a face scored ${m}, at or above the model's threshold of ${t}.`;
  }
  if (verdict === "uncertain") {
    return `Uncertain, worth a closer look: scores near the threshold of ${t} (highest ${m}).`;
  }
  return `Scores stayed below the threshold of ${t} (highest ${m}): the model found no manipulation it `
    + "recognises. That is not proof the video is genuine.";
}

function renderSummary() {
  const cur = state.current;
  if (!cur || !cur.timeline) {
    ui.summary.replaceChildren(h("p", { class: "muted", text: cur ? `The summary appears when the scan is done (${cur.scan.status}).` : "The summary appears when a finished scan is chosen." }));
    return;
  }
  const { timeline } = cur;
  const tracks = timeline.tracks;
  const verdict = worstVerdict(tracks.map((t) => t.verdict));
  const model = timeline.model;
  const headline = h("div", { class: "verdict", id: "overall", dataset: { verdict: verdict || "none" } },
    h("span", { class: "verdict-label", text: verdict ? verdict.toUpperCase() : "NO FACES" }),
    h("span", { class: "verdict-text", text: verdict ? verdictText(verdict, tracks, cur.threshold)
      : `No face was found in this ${cur.still ? "photo" : "video"}.` }));
  if (cur.still) {
    ui.summary.replaceChildren(headline, photoFacts(cur), photoTable(tracks),
      h("p", { class: "fineprint", text: `Model ${model.name} ${model.version} · a photo is judged on each face's frame score (no temporal window).` }));
    return;
  }
  const facts = h("dl", { class: "facts" },
    fact("Duration", clock(cur.duration)), fact("Faces", String(tracks.length)),
    fact("Frames", String(timeline.frames.length)), fact("Threshold", model.threshold.toFixed(2)));
  const rows = tracks.map((t) => h("tr", { dataset: { verdict: t.verdict } },
    h("td", {}, swatch(t.track_id), `#${t.track_id}`),
    h("td", {}, h("button", { type: "button", class: "linklike", text: `${clock(t.first_pts)}–${clock(t.last_pts)}`,
      onclick: () => seek(t.first_pts) })),
    h("td", { class: "num", text: scoreText(t.mean_score) }),
    h("td", { class: "num", text: scoreText(t.max_score) }),
    h("td", {}, h("span", { class: "tag", dataset: { tag: t.verdict }, text: t.verdict }))));
  const table = tracks.length ? h("div", { class: "table-wrap" }, h("table", { class: "tracks" },
    h("thead", {}, h("tr", {}, ...["Face", "Seen", "Mean", "Max", "Verdict"].map((c) => h("th", { text: c })))),
    h("tbody", {}, rows))) : null;
  const moments = worstMoments(cur);
  const worst = moments.length ? h("div", {},
    h("h3", { text: "Worst moments" }),
    h("ol", { class: "moments", id: "moments" }, moments.map((m) => h("li", {},
      h("button", { type: "button", class: "moment", dataset: { verdict: m.verdict, t: String(m.pts) },
        onclick: () => { ui.video.pause(); seek(m.pts); } },
        h("span", { class: "num", text: clock(m.pts) }), swatch(m.track_id), h("span", { text: `face #${m.track_id}` }),
        h("b", { class: "num", text: m.score.toFixed(2) })))))) : null;
  ui.summary.replaceChildren(headline, facts, table || "", worst || "",
    h("p", { class: "fineprint", text: `Model ${model.name} ${model.version} · window ${model.window} frames, stride ${model.stride}.` }));
}

function photoFacts(cur) {
  const video = cur.timeline.video;
  return h("dl", { class: "facts" }, fact("Photo", `${video.width}×${video.height}`),
    fact("Faces", String(cur.timeline.tracks.length)), fact("Threshold", cur.threshold.toFixed(2)));
}

function photoTable(tracks) {
  if (!tracks.length) return "";
  const rows = tracks.map((t) => h("tr", { dataset: { verdict: t.verdict } },
    h("td", {}, swatch(t.track_id), `#${t.track_id}`),
    h("td", { class: "num", text: t.max_score.toFixed(2) }),
    h("td", {}, h("span", { class: "tag", dataset: { tag: t.verdict }, text: t.verdict }))));
  return h("div", { class: "table-wrap" }, h("table", { class: "tracks" },
    h("thead", {}, h("tr", {}, ...["Face", "Score", "Verdict"].map((c) => h("th", { text: c })))),
    h("tbody", {}, rows)));
}

function fact(label, value) {
  return h("div", {}, h("dt", { text: label }), h("dd", { text: value }));
}

function swatch(track) {
  const s = h("span", { class: "dotc" });
  s.style.background = trackColour(track);
  return s;
}

/** The highest peaks: scores that no other score of the same face beats within a second either side. */
function worstMoments(cur) {
  const peaks = [];
  for (const [track, points] of cur.series) {
    points.forEach(([t, score, verdict], i) => {
      for (let j = i - 1; j >= 0 && t - points[j][0] <= 1; j--) if (points[j][1] > score) return;
      for (let j = i + 1; j < points.length && points[j][0] - t <= 1; j++) if (points[j][1] > score) return;
      peaks.push({ pts: t, score, verdict, track_id: track });
    });
  }
  peaks.sort((a, b) => b.score - a.score || a.pts - b.pts);
  const picked = [];
  for (const p of peaks) {
    if (picked.length >= WORST_MOMENTS) break;
    // A flat top counts once.
    if (picked.every((q) => q.track_id !== p.track_id || Math.abs(q.pts - p.pts) > 1)) picked.push(p);
  }
  return picked;
}

// ---------------------------------------------------------------------------------------------
window.addEventListener("hashchange", () => {
  const id = location.hash.slice(1);
  if (id && (!state.current || state.current.id !== id)) openScan(id);
});
api("/api/config").then((cfg) => {
  state.serverModel = cfg.model || null;
  state.plotCache = null;
  renderLegend();
  drawPlot();
}).catch(() => {});
loadScans().then(() => {
  const id = location.hash.slice(1);
  if (id) openScan(id);
});
draw(0, "init");
