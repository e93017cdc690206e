// The replay page's overlay: each face's box, track id and score over the picture, and with the "Heatmap"
// toggle the model's heat grid over the face. What was drawn is shown on the canvas's data- attributes
// (data-boxes: the boxes in CSS pixels with their labels, data-picture: where the picture sits, data-heat:
// how many heat grids), which the browser tests read.

import { drawFace, fitCanvas } from "./pages.js";
import { state, ui } from "./replay-state.js";

/** Where the picture sits inside the overlay canvas (CSS px), letterboxed as the video/img element shows it. */
export function pictureRect() {
  const cw = ui.overlay.clientWidth, ch = ui.overlay.clientHeight;
  const cur = state.current;
  const info = cur && ((cur.timeline && cur.timeline.video) || cur.scan.info);
  const still = cur && cur.still;
  const shownW = still ? ui.photo.naturalWidth : ui.video.videoWidth, shownH = still ? ui.photo.naturalHeight : ui.video.videoHeight;
  const vw = shownW || (info && info.width), vh = shownH || (info && info.height);
  if (!vw || !vh || !cw || !ch) return null;
  const scale = Math.min(cw / vw, ch / vh);
  const w = vw * scale, hgt = vh * scale;
  return { x: (cw - w) / 2, y: (ch - hgt) / 2, w, h: hgt };
}

/** Draws ``frame``'s faces (null: none) over the picture; returns the drawn boxes. */
export function drawOverlay(frame) {
  const { ctx } = fitCanvas(ui.overlay);
  const cur = state.current, drawn = [];
  const rect = pictureRect();
  let heats = 0;
  if (frame && rect && cur && cur.timeline && !cur.misshapen) {
    const video = cur.timeline.video, model = cur.timeline.model;
    const sx = rect.w / video.width, sy = rect.h / video.height;
    if (state.heat && model.heatmap_size) {
      ctx.save();
      ctx.beginPath();
      ctx.rect(rect.x, rect.y, rect.w, rect.h);
      ctx.clip();
      for (const face of frame.faces) if (face.heat) { drawHeat(ctx, face, model.crop_margin, rect, sx, sy); heats += 1; }
      ctx.restore();
    }
    const taken = [];
    for (const face of frame.faces) {
      const [x0, y0, x1, y1] = face.box;
      const box = { x: rect.x + x0 * sx, y: rect.y + y0 * sy, w: (x1 - x0) * sx, h: (y1 - y0) * sy };
      drawn.push(drawFace(ctx, box, face, rect, taken));
    }
  }
  const round = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k,
    typeof v === "number" ? +v.toFixed(2) : v && typeof v === "object" ? round(v) : v]));
  ui.overlay.dataset.boxes = JSON.stringify(drawn.map(round));
  ui.overlay.dataset.picture = rect ? JSON.stringify(round(rect)) : "";
  ui.overlay.dataset.heat = String(heats);
  return drawn;
}

/**
 * A face's heat grid over its crop square: without keypoints in the timeline, the axis-aligned square of side
 * (1 + 2 * margin) * max(box w, box h) at the box centre (streamer/heat.py draws the report's the same way).
 */
function drawHeat(ctx, face, margin, rect, sx, sy) {
  const cells = face.heat, n = Math.round(Math.sqrt(cells.length));
  const [x0, y0, x1, y1] = face.box;
  const side = Math.max(x1 - x0, y1 - y0, 1) * (1 + 2 * margin);
  const left = rect.x + ((x0 + x1) / 2 - side / 2) * sx, top = rect.y + ((y0 + y1) / 2 - side / 2) * sy;
  const cw = (side * sx) / n, ch = (side * sy) / n;
  for (let i = 0; i < n * n; i++) {
    const p = parseInt(cells[i], 16) / 15;
    if (!p) continue;
    ctx.fillStyle = `rgba(255, ${Math.round(220 * (1 - p))}, 40, ${(0.65 * p).toFixed(3)})`;
    ctx.fillRect(left + (i % n) * cw, top + Math.floor(i / n) * ch, cw + 0.5, ch + 0.5);
  }
}
