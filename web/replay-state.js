// The replay page's shared state and elements, and small helpers every part of the page uses.

import { $ } from "./pages.js";

export const PAGE = 50;  // scans asked for at a time

export const ui = {
  video: $("video"), photo: $("photo"), overlay: $("overlay"), stage: $("stage"), empty: $("empty"), title: $("title"),
  banner: $("player-banner"), time: $("time"), nowFaces: $("now-faces"), plot: $("plot"), plotTitle: $("plot-title"),
  legend: $("plot-legend"), heatToggle: $("heat-toggle"), heatInput: $("heat"),
  summary: $("summary"), exports: $("exports"), exportJson: $("export-json"), exportCsv: $("export-csv"),
  exportReport: $("export-report"), retry: $("retry-scan"),
  drop: $("drop"), file: $("file"), upload: $("upload"), uploadName: $("upload-name"), uploadPct: $("upload-pct"),
  uploadBar: $("upload-bar"), uploadState: $("upload-state"), uploadError: $("upload-error"),
  scans: $("scans"), scanCount: $("scan-count"), search: $("scan-search"), more: $("scan-more"),
};

export const state = {
  scans: [],
  total: 0,              // scans matching the search, on the server
  shown: PAGE,           // how many of them the list asks for
  query: "",
  current: null,         // {id, scan, timeline, pts: Float64Array, series, duration, threshold, fps, still}
  time: 0,               // media time of the last drawn frame
  events: null,          // EventSource of the upload in progress
  plotCache: null,       // the plot without its playhead, as an offscreen canvas
  hover: null,           // media time under the mouse on the plot
  heat: false,           // the "Heatmap" toggle is on
};

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

/** A scan's media is a photo: the upload's probe says so by its MIME type, the timeline by ``still``. */
export function isPhoto(info) {
  return Boolean(info && (info.still || String(info.format || "").startsWith("image/")));
}

/** A server message for people: "the file: truncated: ..." -> "Truncated: ...". */
export function readable(message) {
  const text = String(message).replace(/^the (file|upload):\s*/i, "");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function showBanner(text) {
  ui.banner.hidden = false;
  ui.banner.textContent = text;
}
