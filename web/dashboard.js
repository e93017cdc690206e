// Dashboard of monitored RTSP streams: a tile per stream (status, error, current faces and scores, a sparkline,
// analysis rate, drops, last alert), a live alert feed with snapshots, and a form to add streams.
// Live through /api/events (SSE); /api/streams is polled for the counters that events do not carry.
// Plain ES module, no build step, nothing external.

import { $, ago, api, clock, confirmed, fitCanvas, h, loadConfig, loadRole, rules, safeUrl, scoreText, trackColour, VERDICT,
  when } from "./pages.js";

const SPARK_SECONDS = 60;
const POLL_MS = 3000;
const FPS_WINDOW_MS = 5000;
const ALERT_FEED = 50;
const ALARM_SECONDS = 15;
const THUMB_MS = 2000;      // latest-frame picture refresh   // a tile stays red this long after an alert

const ui = {
  tiles: $("tiles"), streamCount: $("stream-count"), noStreams: $("no-streams"), alerts: $("alerts"), alertCount: $("alert-count"),
  conn: $("conn"), connText: $("conn-text"), form: $("add"), formError: $("form-error"), formOk: $("form-ok"),
  submit: $("f-submit"), name: $("f-name"), url: $("f-url"), fps: $("f-fps"), threshold: $("f-threshold"),
  alertSeconds: $("f-alert"),
};

const streams = new Map();   // name -> {info, tile, els, history, arrivals, results, lastAlert, dirty}
let alerts = [];

// ---------------------------------------------------------------------------------------------
// Streams and their tiles
function upsert(info) {
  let s = streams.get(info.name);
  if (!s) {
    s = { info, history: [], arrivals: [], results: 0, lastAlert: null, dirty: true };
    s.tile = buildTile(s);
    streams.set(info.name, s);
    ui.tiles.append(s.tile);
    if (info.latest) addResult(s, info.latest, false);
  } else {
    s.info = { ...s.info, ...info };
  }
  s.dirty = true;
  return s;
}

function drop(name) {
  const s = streams.get(name);
  if (!s) return;
  s.tile.remove();
  streams.delete(name);
  renderEmpty();
}

function buildTile(s) {
  const name = s.info.name;
  const els = {};
  els.pill = h("div", { class: "pill", role: "status" }, h("span", { class: "dot", "aria-hidden": "true" }),
    els.pillText = h("span"));
  els.error = h("div", { class: "tile-error", hidden: true });
  els.thumb = h("img", { class: "thumb", alt: `Latest analysed frame of ${name}`, hidden: true });
  els.faces = h("ul", { class: "chips faces-now" });
  els.spark = h("canvas", { class: "spark", "aria-label": `Scores of ${name} over the last minute` });
  els.stats = {};
  const stat = (key, label) => h("div", {}, h("dt", { text: label }), els.stats[key] = h("dd", { text: "–", dataset: { stat: key } }));
  els.lastAlert = h("span", { class: "last-alert", text: "No alert yet" });
  els.remove = h("button", { type: "button", class: "btn small danger remove needs-admin", text: "Remove",
    "aria-label": `Remove stream ${name}`, onclick: () => removeStream(s, els.remove) });
  els.retry = h("button", { type: "button", class: "btn small retry needs-admin", text: "Retry", hidden: true,
    "aria-label": `Connect to stream ${name} again`, onclick: () => retryStream(s, els.retry) });
  s.els = els;
  return h("article", { class: "card tile", dataset: { stream: name } },
    h("div", { class: "tile-head" },
      h("div", { class: "tile-title" }, h("h2", { class: "tile-name", text: name, title: name }),
        els.url = h("div", { class: "tile-url" })),
      els.pill),
    els.error, els.thumb, els.faces, els.spark,
    h("dl", { class: "stats" }, stat("fps", "Analysed"), stat("dropped", "Dropped"), stat("reconnects", "Reconnects"),
      stat("alerts", "Alerts")),
    h("div", { class: "tile-foot" }, els.lastAlert, els.retry, els.remove));
}

function addResult(s, result, live = true) {
  const now = Date.now();
  s.latest = result;
  s.results += 1;
  if (live) {
    s.arrivals.push(now);
    while (s.arrivals.length && s.arrivals[0] < now - FPS_WINDOW_MS) s.arrivals.shift();
  }
  s.history.push({ t: now, faces: result.faces.map((f) => ({ id: f.track_id, score: f.score })) });
  while (s.history.length && s.history[0].t < now - SPARK_SECONDS * 1000) s.history.shift();
  s.dirty = true;
}

function analysedFps(s) {
  const recent = s.arrivals.filter((t) => t >= Date.now() - FPS_WINDOW_MS);
  if (recent.length >= 2 && Date.now() - recent[recent.length - 1] < 3000) {
    return (recent.length - 1) / ((recent[recent.length - 1] - recent[0]) / 1000);
  }
  return s.polledFps ?? null;
}

function render(s) {
  const { info, els } = s;
  s.tile.dataset.status = info.status;
  s.tile.dataset.results = String(s.results);  // results shown on this tile so far
  s.tile.dataset.frames = String(info.frames_analysed || 0);  // the server's count of analysed frames
  els.pill.dataset.state = info.status;
  els.pillText.textContent = rules.statuses[info.status] || info.status;
  els.url.textContent = safeUrl(info.url);
  els.url.title = `${safeUrl(info.url)} · ${info.fps} fps · threshold ${info.threshold} · alert after ${info.alert_seconds} s`;
  els.error.hidden = !info.error;
  els.error.textContent = info.error || "";
  els.retry.hidden = info.status !== "failed";
  renderFaces(s);
  refreshThumbnail(s);
  const fps = analysedFps(s);
  els.stats.fps.textContent = fps === null || (!fps && info.status !== "live") ? "–" : `${fps.toFixed(1)} fps`;
  els.stats.fps.title = `target ${info.target_fps ?? info.fps} fps`;
  els.stats.dropped.textContent = String(info.frames_dropped || 0);
  els.stats.dropped.title = `${info.frames_dropped || 0} dropped while busy, ${info.frames_skipped || 0} skipped to keep the rate, of ${info.frames_in || 0} received`;
  els.stats.reconnects.textContent = String(info.reconnects || 0);
  els.stats.alerts.textContent = String(info.alerts || 0);
  const last = s.lastAlert;
  els.lastAlert.dataset.has = last ? "true" : "false";
  els.lastAlert.textContent = last ? `Last alert ${ago(last.created)} · face #${last.track_id} · ${last.score.toFixed(2)}` : "No alert yet";
  s.tile.dataset.alarm = last && Date.now() / 1000 - last.created < ALARM_SECONDS ? "true" : "false";
  drawSpark(s);
  s.dirty = false;
}

/** The latest-frame picture, when the server offers one (a stream's snapshot then has a "thumbnail" URL). */
function refreshThumbnail(s) {
  const url = s.info.thumbnail;
  if (!url || s.thumbLoading || Date.now() - (s.thumbAt || 0) < THUMB_MS) {
    if (!url) s.els.thumb.hidden = true;
    return;
  }
  s.thumbLoading = true;
  const next = new Image();
  const done = () => { s.thumbLoading = false; s.thumbAt = Date.now(); };
  next.onload = () => { s.els.thumb.src = next.src; s.els.thumb.hidden = false; done(); };
  next.onerror = done;
  next.src = `${url}${url.includes("?") ? "&" : "?"}t=${Date.now()}`;
}

function renderFaces(s) {
  const { els, latest, info } = s;
  let items;
  if (!latest) {
    items = [h("li", { class: "muted", text: info.status === "live" ? "Waiting for the first analysed frame…" : "No frames yet" })];
  } else if (!latest.faces.length) {
    items = [h("li", { class: "muted", text: "No face in view" })];
  } else {
    items = latest.faces.map((f) => h("li", { class: "chip", dataset: { verdict: f.verdict } },
      h("b", { text: `#${f.track_id}` }), ` ${scoreText(f.score)} `, h("small", { text: f.reason || f.verdict })));
  }
  els.faces.replaceChildren(...items);
}

function drawSpark(s) {
  const canvas = s.els.spark;
  if (!canvas.clientWidth) return;
  const { ctx, w, h: hgt } = fitCanvas(canvas);
  // Up to a minute; a young stream's few seconds fill the width instead of hugging its right edge.
  const now = Date.now(), pad = 4;
  const span = Math.min(SPARK_SECONDS * 1000, Math.max(10000, s.history.length ? now - s.history[0].t : 0));
  const X = (t) => ((t - (now - span)) / span) * w;
  const Y = (v) => pad + (1 - v) * (hgt - 2 * pad);
  const limit = s.info.threshold ?? (rules.verdict ? rules.verdict.threshold : 0.5);
  ctx.strokeStyle = "rgba(232, 236, 241, .55)";
  ctx.setLineDash([4, 4]);
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(0, Y(limit));
  ctx.lineTo(w, Y(limit));
  ctx.stroke();
  ctx.setLineDash([]);
  const series = new Map();
  for (const point of s.history) {
    for (const f of point.faces) {
      if (!series.has(f.id)) series.set(f.id, []);
      series.get(f.id).push([point.t, f.score]);
    }
  }
  const gap = Math.max(1500, 3000 / Math.max(0.2, s.info.fps || 1));
  for (const [id, points] of series) {
    ctx.strokeStyle = trackColour(id);
    ctx.lineWidth = 1.75;
    ctx.beginPath();
    let prev = null;
    for (const [t, v] of points) {
      if (prev === null || t - prev > gap) ctx.moveTo(X(t), Y(v)); else ctx.lineTo(X(t), Y(v));
      prev = t;
    }
    ctx.stroke();
    const [lt, lv] = points[points.length - 1];
    if (now - lt < gap) {
      ctx.fillStyle = lv >= limit ? VERDICT.fake : trackColour(id);
      ctx.beginPath();
      ctx.arc(X(lt), Y(lv), 3, 0, Math.PI * 2);
      ctx.fill();
    }
  }
  if (!s.history.length) {
    ctx.fillStyle = "#93a0b0";
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillText("scores of the last minute", 8, 15);
  }
}

function renderEmpty() {
  ui.noStreams.hidden = streams.size > 0;
  const live = [...streams.values()].filter((s) => s.info.status === "live").length;
  ui.streamCount.textContent = streams.size ? `${live} of ${streams.size} live` : "";
}

function frame() {
  for (const s of streams.values()) if (s.dirty) render(s);
  renderEmpty();
  requestAnimationFrame(frame);
}

// The sparklines scroll and "x s ago" ages even without events.
setInterval(() => { for (const s of streams.values()) s.dirty = true; }, 1000);

/** A failed stream connects again with the settings the server kept (its password included). */
async function retryStream(s, button) {
  button.disabled = true;
  try {
    s.info = { ...s.info, ...(await api(`/api/streams/${encodeURIComponent(s.info.name)}/restart`, { method: "POST" })) };
  } catch (exc) {
    s.info.error = exc.message;
  }
  button.disabled = false;
  s.dirty = true;
}

async function removeStream(s, button) {
  if (!confirmed(button, "Confirm remove")) return;
  button.disabled = true;
  button.textContent = "Removing…";
  try {
    await api(`/api/streams/${encodeURIComponent(s.info.name)}`, { method: "DELETE" });
    drop(s.info.name);
  } catch (exc) {
    if (exc.status === 404) { drop(s.info.name); return; }
    button.disabled = false;
    button.classList.remove("armed");
    button.textContent = "Remove";
    s.info.error = exc.message;
    s.dirty = true;
  }
}

// ---------------------------------------------------------------------------------------------
// Alerts
function renderAlerts() {
  ui.alertCount.textContent = alerts.length ? String(alerts.length >= ALERT_FEED ? `${ALERT_FEED}+` : alerts.length) : "";
  if (!alerts.length) {
    ui.alerts.replaceChildren(h("li", { class: "empty", text: "No alerts yet. A face that stays above its stream's threshold long enough raises one." }));
    return;
  }
  const existing = new Map([...ui.alerts.querySelectorAll(".alert")].map((li) => [li.dataset.id, li]));
  ui.alerts.replaceChildren(...alerts.map((a) => existing.get(String(a.id)) || alertItem(a)));
}

function alertItem(a) {
  const src = `/api/alerts/${a.id}/snapshot.jpg`;
  const img = h("img", { src, alt: `Face #${a.track_id} on ${a.stream}`, loading: "lazy", width: "56", height: "56" });
  img.addEventListener("error", () => img.replaceWith(h("span", { class: "noimg" })), { once: true });
  return h("li", { class: `alert${a.fresh ? " fresh" : ""}`, dataset: { id: String(a.id), stream: a.stream } },
    h("a", { href: src, target: "_blank", rel: "noopener", title: "Open the snapshot" }, img),
    h("div", { class: "alert-body" },
      h("b", { text: a.stream }),
      h("span", { text: `face #${a.track_id} · at ${clock(a.pts)} of the stream` }),
      h("span", { text: when(a.created) })),
    h("span", { class: "score", text: a.score.toFixed(2) }));
}

function addAlert(a) {
  if (alerts.some((x) => x.id === a.id)) return;
  alerts = [{ ...a, fresh: true }, ...alerts].slice(0, ALERT_FEED);
  const s = streams.get(a.stream);
  if (s) {
    if (!s.lastAlert || a.created >= s.lastAlert.created) s.lastAlert = a;
    s.info.alerts = (s.info.alerts || 0) + 1;
    s.dirty = true;
  }
  renderAlerts();
}

// ---------------------------------------------------------------------------------------------
// Loading, polling and live events
async function loadStreams() {
  const { streams: list } = await api("/api/streams");
  const now = Date.now();
  const names = new Set(list.map((x) => x.name));
  for (const name of [...streams.keys()]) if (!names.has(name)) drop(name);
  for (const info of list) {
    const s = upsert(info);
    // Fallback rate from the counters, for when events are not flowing.
    if (s.polled) s.polledFps = ((info.frames_analysed - s.polled.frames) * 1000) / Math.max(1, now - s.polled.t);
    s.polled = { frames: info.frames_analysed, t: now };
    if (!s.latest && info.latest) addResult(s, info.latest, false);
  }
}

async function loadAlerts() {
  const { alerts: list } = await api(`/api/alerts?limit=${ALERT_FEED}`);
  alerts = list;
  for (const a of [...list].reverse()) {
    const s = streams.get(a.stream);
    if (s && (!s.lastAlert || a.created >= s.lastAlert.created)) { s.lastAlert = a; s.dirty = true; }
  }
  renderAlerts();
}

let pollTimer = 0;
async function poll() {
  clearTimeout(pollTimer);
  try {
    await loadStreams();
  } catch (exc) {
    setConn("error", exc.message.length < 40 ? exc.message : "Server unreachable");
  }
  pollTimer = setTimeout(poll, POLL_MS);
}

let pending = null;
function resyncSoon() {
  if (!pending) pending = setTimeout(() => { pending = null; poll(); }, 300);
}

function setConn(state, text) {
  ui.conn.dataset.state = state;
  ui.connText.textContent = text;
}

function connect() {
  const source = new EventSource("/api/events");
  source.addEventListener("open", () => {
    setConn("live", "Live");
    Promise.all([poll(), loadAlerts().catch(() => {})]);
  });
  source.addEventListener("error", () => setConn("connecting", "Reconnecting"));
  source.addEventListener("status", (msg) => {
    const e = JSON.parse(msg.data);
    if (e.kind === "webrtc") return; // webcam sessions are not tiles here
    const s = streams.get(e.stream);
    if (!s) return resyncSoon();
    s.info.status = e.status;
    s.info.error = e.error;
    s.dirty = true;
  });
  source.addEventListener("result", (msg) => {
    const e = JSON.parse(msg.data);
    const s = streams.get(e.stream);
    if (!s) return resyncSoon();
    if (s.info.status !== "live") s.info.status = "live";
    addResult(s, e);
  });
  source.addEventListener("alert", (msg) => addAlert(JSON.parse(msg.data)));
}

// ---------------------------------------------------------------------------------------------
// Adding a stream
ui.form.addEventListener("submit", async (e) => {
  e.preventDefault();
  ui.formError.hidden = true;
  ui.formOk.textContent = "";
  const body = { name: ui.name.value.trim(), url: ui.url.value.trim() };
  for (const [key, input] of [["fps", ui.fps], ["threshold", ui.threshold], ["alert_seconds", ui.alertSeconds]]) {
    if (input.value.trim() !== "") body[key] = Number(input.value);
  }
  ui.submit.disabled = true;
  try {
    const info = await api("/api/streams", { method: "POST", json: body });
    upsert(info);
    ui.formOk.textContent = `Added ${info.name}.`;
    ui.name.value = "";
    ui.url.value = "";
  } catch (exc) {
    ui.formError.hidden = false;
    ui.formError.textContent = exc.message;
  } finally {
    ui.submit.disabled = false;
  }
});

async function start() {
  try {
    await loadConfig();
    if (rules.verdict) ui.threshold.value = String(rules.verdict.threshold);
  } catch { /* defaults stay */ }
  loadRole();
  connect();
  requestAnimationFrame(frame);
}

start();
