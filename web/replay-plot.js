// The replay page's plot: each face's score over time with the decision threshold (a photo: a bar per face),
// a playhead, a hover read-out; a click or the arrow keys seek. The canvas shows its plot area (data-area),
// the playhead's x (data-playhead) and, for a photo, how many bars it drew (data-bars).

import { clock, fitCanvas, roundRect, rules, scoreText, trackColour } from "./pages.js";
import { frameOn, seek } from "./replay-player.js";
import { state, ui } from "./replay-state.js";

const PAD = { l: 34, r: 12, t: 10, b: 22 };

export function plotArea() {
  const w = ui.plot.clientWidth, hgt = ui.plot.clientHeight;
  return { x: PAD.l, y: PAD.t, w: Math.max(1, w - PAD.l - PAD.r), h: Math.max(1, hgt - PAD.t - PAD.b), cw: w, ch: hgt };
}

export function drawPlot() {
  const { ctx, dpr } = fitCanvas(ui.plot);
  const cur = state.current, area = plotArea();
  if (!state.plotCache || state.plotCache.width !== ui.plot.width || state.plotCache.height !== ui.plot.height) {
    state.plotCache = renderPlotBase(area, dpr);
  }
  ctx.drawImage(state.plotCache, 0, 0, area.cw, area.ch);
  ui.plot.dataset.area = JSON.stringify({ x: area.x, y: area.y, w: area.w, h: area.h });
  if (!cur || !cur.duration || cur.still || !cur.timeline) { ui.plot.dataset.playhead = ""; return; }
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
  ui.plot.dataset.playhead = x.toFixed(2);
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
  ui.plot.dataset.bars = "0";
  if (cur && cur.still && cur.timeline) return renderBars(ctx, area, cur, Y);
  if (!cur || !cur.timeline || !cur.duration) {
    const text = !cur ? "Choose a scan to see its scores."
      : cur.scan.status === "failed" ? "This scan failed: it has no scores." : "No results for this scan yet.";
    ctx.fillText(text, area.x + 10, area.y + area.h / 2);
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
  const faces = (cur.frames.length ? cur.frames[0].faces : []).filter((f) => f.score !== null);
  const canvas = ctx.canvas;
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
  });
  ui.plot.dataset.bars = String(faces.length);
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
  const frame = frameOn(cur, t);
  const faces = frame ? frame.faces : [];
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

/** The uncertain band around the threshold: the server's verdict rule, when the scan used the server's model. */
export function uncertainMargin(cur) {
  const m = rules.model, model = cur && cur.timeline && cur.timeline.model;
  if (!m || !rules.verdict || !model || m.name !== model.name || m.version !== model.version) return 0;
  return rules.verdict.uncertain_margin || 0;
}

function plotTime(e) {
  const cur = state.current;
  if (!cur || !cur.duration || !cur.timeline) return null;
  const r = ui.plot.getBoundingClientRect(), area = plotArea();
  return Math.min(1, Math.max(0, (e.clientX - r.left - area.x) / area.w)) * cur.duration;
}

export function initPlot() {
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
  new ResizeObserver(() => { state.plotCache = null; drawPlot(); }).observe(ui.plot);
}
