// The replay page's player: opening a scan (its video or photo and its timeline), and keeping the overlay and
// the plot in step with playback. #stage shows the open scan (data-scan, data-ready, data-still); the overlay
// shows the media time it drew (data-time), that time's timeline frame (data-frame) and what triggered the draw
// (data-synced-by: frame, seeked, pause, loaded, ...).

import { api, ApiError, clock, h, scoreText } from "./pages.js";
import { drawOverlay } from "./replay-overlay.js";
import { drawPlot } from "./replay-plot.js";
import { renderScans } from "./replay-scans.js";
import { renderLegend, renderSummary } from "./replay-summary.js";
import { clearUploadError } from "./replay-upload.js";
import { frameAt, isPhoto, readable, showBanner, state, ui } from "./replay-state.js";

function setStage(id, ready, still) {
  ui.stage.dataset.scan = id || "";
  ui.stage.dataset.ready = String(ready);
  ui.stage.dataset.still = String(Boolean(still));
}

export async function openScan(id, { keepTime = false } = {}) {
  let scan;
  try {
    scan = await api(`/api/scans/${id}`);
  } catch (exc) {
    showBanner(exc instanceof ApiError && exc.status === 404 ? "That scan does not exist (any more)." : exc.message);
    return;
  }
  clearUploadError(id);
  const same = state.current && state.current.id === id;
  const timeline = scan.status === "done" ? scan.timeline : null;
  state.current = prepare(scan, timeline);
  state.plotCache = null;
  const still = state.current.still;
  setStage(id, false, still);
  history.replaceState(null, "", `#${id}`);
  ui.title.textContent = scan.filename;
  ui.title.title = scan.filename;
  ui.empty.hidden = true;
  ui.stage.classList.add("has-video");
  const info = (timeline && timeline.video) || scan.info || {};
  if (info.width && info.height) ui.stage.style.aspectRatio = `${info.width} / ${info.height}`;
  ui.stage.classList.toggle("is-photo", still);
  ui.plotTitle.replaceChildren(still ? "Score per face" : "Score over time",
    still || !timeline ? "" : h("span", { class: "hint", text: " click to jump" }));
  ui.photo.hidden = !still;
  ui.heatToggle.hidden = !(timeline && timeline.model.heatmap_size);
  if (still && (!same || !keepTime)) {
    ui.video.removeAttribute("src");
    ui.video.load();
    ui.photo.src = `/api/scans/${id}/video`;
  } else if (!still && (!same || !keepTime)) {
    ui.photo.removeAttribute("src");
    ui.video.src = `/api/scans/${id}/video`;
    ui.video.load();
  } else if (still && ui.photo.complete && ui.photo.naturalWidth) {
    setStage(id, true, still);
  }
  ui.exports.hidden = !timeline;
  ui.exportJson.href = `/api/scans/${id}/timeline.json`;
  ui.exportCsv.href = `/api/scans/${id}/timeline.csv`;
  ui.exportReport.href = `/api/scans/${id}/report.html?progress`;
  const media = still ? "photo" : "video";
  ui.retry.hidden = scan.status !== "failed";
  if (scan.status === "failed") showBanner(`This scan failed (${readable(scan.error || "unknown error")}). The ${media} shows without results.`);
  else if (!timeline) showBanner(`This scan is ${scan.status}; boxes and scores appear when it is done.`);
  else ui.banner.hidden = true;
  renderSummary();
  renderLegend();
  renderScans();
  draw(still ? 0 : ui.video.currentTime || 0, "open");
}

/** Back to the empty player (the shown scan is gone). */
export function closeScan() {
  state.current = null;
  state.plotCache = null;
  setStage(null, false, false);
  history.replaceState(null, "", location.pathname);
  ui.video.removeAttribute("src");
  ui.video.load();
  ui.title.textContent = "No scan chosen";
  ui.empty.hidden = false;
  ui.stage.classList.remove("has-video");
  ui.exports.hidden = true;
  ui.banner.hidden = true;
  ui.heatToggle.hidden = true;
  renderSummary();
  renderLegend();
  draw(0, "close");
}

/** A scan and its timeline, ready to draw; without a timeline (failed, queued, running) no threshold either. */
function prepare(scan, timeline) {
  const cur = { id: scan.id, scan, timeline, pts: new Float64Array(0), series: new Map(), duration: 0,
    threshold: null, fps: 25, frames: [], still: isPhoto((timeline && timeline.video) || scan.info) };
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

/** The timeline frame shown at media time t (null when none is close enough). */
export function frameOn(cur, t) {
  if (!cur || !cur.timeline) return null;
  const i = frameAt(cur.pts, t);
  // A frame that far behind the picture is not its frame (sampled scans, or the video runs past the timeline).
  return i >= 0 && t - cur.pts[i] <= Math.max(0.5, 3 / cur.fps) ? cur.frames[i] : null;
}

export function draw(t, by) {
  state.time = t;
  const cur = state.current;
  const frame = frameOn(cur, t);
  drawOverlay(frame);
  ui.time.textContent = cur && cur.still ? "Photo" : `${clock(t)} / ${clock(cur ? cur.duration : 0)}`;
  renderNowFaces(frame);
  Object.assign(ui.overlay.dataset, { time: t.toFixed(3), frame: frame ? String(frame.frame_index) : "", syncedBy: by });
  drawPlot();
}

export function seek(t) {
  if (!state.current) return;
  ui.video.currentTime = t;
  state.time = t;
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

/** The picture is shown: boxes only when the browser shows it as the scan saw it. */
function loaded(shownW, shownH, still) {
  const cur = state.current;
  if (cur && cur.timeline) {
    const { width, height } = cur.timeline.video;
    // Browsers turn a photo upright by its EXIF orientation, as the scan did; some videos they show turned
    // (rotation metadata of phone videos) while the scan's boxes are in the stored picture's coordinates.
    cur.misshapen = still ? shownW !== width || shownH !== height : Math.abs(shownW / shownH / (width / height) - 1) > 0.02;
    if (cur.misshapen) {
      const why = still ? "" : " (rotation metadata?)";
      showBanner(`The browser shows this ${still ? "photo" : "video"} at ${shownW}×${shownH}, the scan saw ${width}×${height}${why}, so no boxes are drawn; the scores and the summary still apply.`);
    }
  }
  if (cur) setStage(cur.id, true, cur.still);
}

/** Queue the shown failed scan again (POST /api/scans/{id}/retry); the scan list follows its events. */
async function retryScan() {
  const cur = state.current;
  if (!cur) return;
  ui.retry.disabled = true;
  try {
    await api(`/api/scans/${cur.id}/retry`, { method: "POST" });
    ui.retry.hidden = true;
    showBanner("This scan is queued again; boxes and scores appear when it is done.");
  } catch (exc) {
    showBanner(`The scan could not be retried: ${exc.message}`);
  } finally {
    ui.retry.disabled = false;
  }
}

export function initPlayer() {
  setStage(null, false, false);
  ui.retry.addEventListener("click", retryScan);
  // requestVideoFrameCallback gives the media time of each frame as it is shown; timeupdate is the fallback.
  if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) {
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
    loaded(ui.video.videoWidth, ui.video.videoHeight, false);
    draw(ui.video.currentTime, "loaded");
  });
  ui.video.addEventListener("error", () => {
    if (state.current && !state.current.still && ui.video.getAttribute("src")) {
      showBanner("The video cannot be played here (its file may be gone, or the browser lacks the codec).");
    }
  });
  ui.photo.addEventListener("load", () => {
    loaded(ui.photo.naturalWidth, ui.photo.naturalHeight, true);
    draw(0, "loaded");
  });
  ui.photo.addEventListener("error", () => {
    if (state.current && state.current.still && ui.photo.getAttribute("src")) {
      showBanner("The photo cannot be shown here (its file may be gone from the server).");
    }
  });
  ui.heatInput.addEventListener("change", () => { state.heat = ui.heatInput.checked; draw(state.time, "heat"); });
  new ResizeObserver(() => { state.plotCache = null; draw(state.time, "resize"); }).observe(ui.stage);
}
