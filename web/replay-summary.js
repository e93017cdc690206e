// The replay page's summary: the server's overall verdict in words, the tracks, the worst moments (click to
// jump there), and the plot's legend.

import { clock, h, rules, scoreText, trackColour } from "./pages.js";
import { seek } from "./replay-player.js";
import { uncertainMargin } from "./replay-plot.js";
import { state, ui } from "./replay-state.js";

/** What the verdict means in numbers: the scores against the model's threshold, and what a low score is not. */
function verdictText(verdict, tracks, threshold, media) {
  const max = Math.max(...tracks.filter((t) => t.max_score !== null).map((t) => t.max_score));
  const t = threshold.toFixed(2), m = max.toFixed(2);
  if (verdict === "fake") return `Likely manipulated: a face scored ${m}, at or above the model's threshold of ${t}.`;
  if (verdict === "uncertain") return `Uncertain, worth a closer look: scores near the threshold of ${t} (highest ${m}).`;
  if (verdict === "not_scored") return `No face could be scored: the quality gate refused every face in this ${media}.`;
  return `Scores stayed below the threshold of ${t} (highest ${m}): the model found no manipulation it `
    + `recognises. That is not proof the ${media} is genuine.`;
}

export function renderSummary() {
  const cur = state.current;
  if (!cur || !cur.timeline) {
    const text = !cur ? "The summary appears when a finished scan is chosen."
      : cur.scan.status === "failed" ? "This scan failed, so it has no summary." : `The summary appears when the scan is done (${cur.scan.status}).`;
    ui.summary.replaceChildren(h("p", { class: "muted", text }));
    return;
  }
  const { timeline } = cur;
  const tracks = timeline.tracks;
  const media = cur.still ? "photo" : "video";
  const overall = cur.scan.summary ? cur.scan.summary.verdict : null;  // the server's rule (timeline.summary)
  const verdict = tracks.length && overall !== "no faces" ? overall : null;
  const model = timeline.model;
  const headline = h("div", { class: "verdict", id: "overall", dataset: { verdict: verdict || "none" } },
    h("span", { class: "verdict-label", text: verdict ? verdict.replace("_", " ").toUpperCase() : "NO FACES" }),
    h("span", { class: "verdict-text", text: verdict ? verdictText(verdict, tracks, cur.threshold, media)
      : `No face was found in this ${media}.` }));
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
  const moments = worstMoments(cur, rules.worstMoments);
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
    h("td", { class: "num", text: scoreText(t.max_score) }),
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

/** The highest peaks, as the report picks them: scores no other score of the same face beats within a second. */
function worstMoments(cur, count) {
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
    if (picked.length >= count) break;
    // A flat top counts once.
    if (picked.every((q) => q.track_id !== p.track_id || Math.abs(q.pts - p.pts) > 1)) picked.push(p);
  }
  return picked;
}

export function renderLegend() {
  const cur = state.current;
  if (cur && !cur.timeline) { ui.legend.replaceChildren(); return; }  // no scores, no threshold to show
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
