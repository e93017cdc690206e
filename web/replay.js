// Replay page: upload a video or a photo for a scan, follow its progress, then play it back with the scan's boxes,
// track ids and scores drawn over the picture in step with playback, a score-over-time plot and a summary.
// A photo is shown still, with each face's box, score and verdict, and a bar per face instead of the plot.
// Plain ES modules, no build step, nothing external; one module per job:
//   replay-player.js  opening a scan, keeping overlay and plot in step with playback
//   replay-overlay.js boxes, labels and heatmaps over the picture
//   replay-plot.js    score over time, seeking
//   replay-summary.js verdict, tracks, worst moments, legend
//   replay-upload.js  upload and scan progress
//   replay-scans.js   the scan list

import { loadConfig, loadRole } from "./pages.js";
import { draw, initPlayer, openScan } from "./replay-player.js";
import { initPlot } from "./replay-plot.js";
import { initScans, loadScans } from "./replay-scans.js";
import { renderLegend, renderSummary } from "./replay-summary.js";
import { initUpload } from "./replay-upload.js";
import { state } from "./replay-state.js";

initPlayer();
initPlot();
initScans();
initUpload();
loadRole();
window.addEventListener("hashchange", () => {
  const id = location.hash.slice(1);
  if (id && (!state.current || state.current.id !== id)) openScan(id);
});
// The server's rules (colours, worst-moment count, verdict band) come first: everything drawn uses them.
loadConfig().catch(() => {}).finally(() => {
  state.plotCache = null;
  renderSummary();
  renderLegend();
  draw(state.time, "init");
  loadScans().then(() => {
    const id = location.hash.slice(1);
    if (id) openScan(id);
  });
});
