// Deepfake Streamer page: sends the camera over WebRTC, draws the server's per-frame results over the
// local preview and measures glass-to-score latency. Plain ES module, no build step, nothing external.
// What it shows is on the DOM: #conn[data-phase] (idle, connecting, live, degraded, full, error, stopped),
// #stage[data-session], the overlay's data-boxes / data-picture / data-source (the server's frame size),
// #m-latency[data-sync] (searching, locked), and the latest matched result's latency in the "last frame"
// readout #m-last[data-latency] (JSON: arrival on the page clock, glass-to-score, capture-to-score,
// capture-to-server, ms).

import { drawFace, loadConfig as loadRules, scoreText, trackColour } from "./pages.js";

const $ = (id) => document.getElementById(id);
const TIMELINE_MS = 30000;
const RESULT_TTL_MS = 600;   // boxes older than this are not drawn
const TRACK_TTL_MS = 1500;   // a face badge disappears this long after its track was last seen
const LATENCY_WINDOW_MS = 5000;
const CAN_TAP_ENCODER = typeof RTCRtpSender !== "undefined" && "createEncodedStreams" in RTCRtpSender.prototype;

// ---------------------------------------------------------------------------------------------
// Timestamp matching. The server reports the RTP timestamp (90 kHz) of the frame each result belongs
// to. Chrome derives a sent frame's RTP timestamp from its capture time plus a random per-stream
// offset, so rtp/90 - captureTime is one constant (ms) for the whole stream; the page learns it once:
//  - the preview's requestVideoFrameCallback gives each shown frame's captureTime and display time;
//  - an encoded-frame transform on the sender sees each frame's RTP timestamp as it leaves the encoder,
//    so the frame captured last before that moment is (nearly always) the same frame: one vote per
//    encoded frame for rtp/90 - captureTime, and the offset that most of them agree on is the one.
//  - without encoded transforms, each result votes for every frame captured in the 1.5 s before it
//    arrived; that settles the offset only when capture intervals are irregular (most real cameras).
// Then a result maps to exactly one shown frame, and glass-to-score latency is
// (result arrival) - (that frame's expected display time).
class FrameClock {
  constructor() { this.reset(); }

  reset() {
    this.frames = [];       // {capture, display} of frames shown on the preview, last 3 s
    this.encoded = [];      // {r: rtp / 90, t: when it left the encoder}, not yet voted on
    this.votes = new Map(); // rounded offset (ms) -> count
    this.offset = null;
    this.voters = 0;
    this.misses = 0;
    this.matched = 0;
  }

  onFrame(now, meta) {
    if (meta.captureTime === undefined) return;
    this.frames.push({ capture: meta.captureTime, display: meta.expectedDisplayTime ?? now });
    while (this.frames.length && this.frames[0].capture < now - 3000) this.frames.shift();
    // An encoded frame can be voted on once the preview has shown everything captured before it.
    while (this.encoded.length && this.encoded[0].t < meta.captureTime) {
      const { r, t } = this.encoded.shift();
      if (this.offset !== null) continue;
      let last = null;
      for (const f of this.frames) if (f.capture <= t && f.capture > t - 250) last = f;
      if (last) this.vote([Math.round(r - last.capture)]);
    }
  }

  onEncoded(rtp, t) {
    if (this.offset === null && this.encoded.length < 300) this.encoded.push({ r: rtp / 90, t });
  }

  /** The shown frame a result belongs to, or null while the offset is not known yet. */
  match(rtp, arrival, byResults) {
    if (rtp === null || rtp === undefined) return null;
    const r = rtp / 90;
    if (this.offset === null) {
      if (byResults) {
        this.vote(this.frames.filter((f) => f.capture <= arrival && f.capture >= arrival - 1500).map((f) => Math.round(r - f.capture)));
      }
      return null;
    }
    const capture = r - this.offset;
    let best = null;
    for (const f of this.frames) {
      if (Math.abs(f.capture - capture) <= 2.5 && (!best || Math.abs(f.capture - capture) < Math.abs(best.capture - capture))) best = f;
    }
    if (best) { this.misses = 0; this.matched += 1; return best; }
    // The preview may skip a frame now and then; many misses in a row mean the offset is stale.
    if (++this.misses >= 15) { const frames = this.frames; this.reset(); this.frames = frames; }
    return null;
  }

  vote(keys) {
    for (const key of keys) this.votes.set(key, (this.votes.get(key) || 0) + 1);
    this.voters += 1;
    if (this.voters < 10) return;
    const score = (k) => (this.votes.get(k - 1) || 0) + (this.votes.get(k) || 0) + (this.votes.get(k + 1) || 0);
    let best = null, bestScore = 0;
    for (const k of this.votes.keys()) { const s = score(k); if (s > bestScore) { best = k; bestScore = s; } }
    let rival = 0;
    for (const k of this.votes.keys()) if (Math.abs(k - best) > 2) rival = Math.max(rival, score(k));
    if (bestScore >= 0.6 * this.voters && bestScore >= 2 * rival) {
      this.offset = best;
      this.encoded = [];
    } else if (this.voters >= 90) {
      this.votes.clear(); this.voters = 0; // no agreement: start over with fresh frames
    }
  }
}

// ---------------------------------------------------------------------------------------------
const ui = {
  start: $("start"), stop: $("stop"), camera: $("camera"), banner: $("banner"), stage: $("stage"),
  video: $("preview"), overlay: $("overlay"), timeline: $("timeline"), faces: $("faces"),
  conn: $("conn"), connText: $("conn-text"), fps: $("m-fps"), latency: $("m-latency"), p95: $("m-p95"),
  latencyNote: $("m-latency-note"), last: $("m-last"),
  notice: $("notice"), dropped: $("m-dropped"), droppedOf: $("m-dropped-of"), thresholdHint: $("threshold-hint"), modelLine: $("model-line"),
};

const state = {
  config: null, stream: null, pc: null, channel: null, sender: null, session: null, running: false,
  clock: new FrameClock(), last: null, lastArrival: 0, tracks: new Map(), latencies: [], stats: null,
};

let phase = "idle";
function setState(name, text) {
  phase = name;
  ui.conn.dataset.phase = name;
  ui.conn.dataset.state = name === "live" ? "live" : name === "error" || name === "full" || name === "degraded" ? "error" : name === "idle" || name === "stopped" ? "idle" : "connecting";
  ui.connText.textContent = text;
}

function showNotice(message) {
  ui.notice.textContent = message;
  ui.notice.hidden = !message;
}

function showError(message) {
  ui.banner.textContent = message;
  ui.banner.hidden = !message;
}

// ---------------------------------------------------------------------------------------------
async function loadConfig() {
  state.config = await loadRules();
  const m = state.config.model;
  ui.thresholdHint.textContent = `fake above ${m.threshold.toFixed(2)}`;
  ui.modelLine.textContent = `Model ${m.name} v${m.version}. Scores are the probability that a face is synthetic; ` +
    `within ±${m.uncertainMargin.toFixed(2)} of the threshold the verdict is uncertain.`;
  showNotice(iceHint());
}

// The server's word when no address it offers for video can be reached from this browser (else "").
function iceHint() {
  return state.config?.ice?.hint || "";
}

async function listCameras() {
  const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
  const current = state.stream?.getVideoTracks()[0]?.getSettings().deviceId || ui.camera.value;
  ui.camera.replaceChildren(...devices.map((d, i) => new Option(d.label || `Camera ${i + 1}`, d.deviceId)));
  if (!devices.length) ui.camera.append(new Option("No camera found", ""));
  if (current) ui.camera.value = current;
}

async function openCamera(deviceId) {
  const video = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } };
  if (deviceId) video.deviceId = { exact: deviceId };
  return navigator.mediaDevices.getUserMedia({ video, audio: false });
}

function showPreview(stream) {
  ui.video.srcObject = stream;
  ui.video.play().catch(() => {});
  ui.stage.classList.add("live");
}

let watchGeneration = 0;
function watchFrames() {
  const video = ui.video, generation = ++watchGeneration;
  if (!("requestVideoFrameCallback" in HTMLVideoElement.prototype)) return;
  const onFrame = (now, meta) => {
    if (!state.stream || generation !== watchGeneration) return;
    state.clock.onFrame(now, meta);
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}

function watchStream(stream) {
  watchFrames();
  const track = stream.getVideoTracks()[0];
  if (track) track.onended = () => { if (state.stream === stream && state.running) fail("The camera stopped (unplugged or taken by another app)."); };
}

function waitForIce(pc, timeoutMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { if (pc.iceGatheringState === "complete") { pc.removeEventListener("icegatheringstatechange", done); resolve(); } };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, timeoutMs);
  });
}

async function start() {
  if (state.running) return;
  state.running = true;
  ui.start.disabled = true;
  showError("");
  showNotice("");
  try {
    if (!navigator.mediaDevices?.getUserMedia) throw new Error("This browser cannot share a camera here: open the page over https or on localhost.");
    if (!state.config) await loadConfig();
    showNotice(iceHint());
    setState("camera", "Starting camera…");
    const stream = state.stream = await openCamera(ui.camera.value);
    if (!state.running) { stream.getTracks().forEach((t) => t.stop()); return; } // stopped meanwhile
    showPreview(stream);
    watchStream(stream);
    ui.stop.disabled = false;
    ui.start.textContent = "Analysing…";
    await listCameras();

    setState("connecting", "Connecting…");
    const pc = state.pc = new RTCPeerConnection({ iceServers: state.config.iceServers, encodedInsertableStreams: CAN_TAP_ENCODER });
    const track = state.stream.getVideoTracks()[0];
    state.sender = pc.addTransceiver(track, { direction: "sendonly", streams: [state.stream] }).sender;
    if (CAN_TAP_ENCODER) tapEncoder(state.sender);
    const channel = state.channel = pc.createDataChannel("results", { ordered: false, maxRetransmits: 0 });
    channel.onmessage = (event) => onMessage(event.data, performance.now());
    channel.onclose = () => { if (state.channel === channel && state.running) fail("The server ended the session."); };
    pc.onconnectionstatechange = () => {
      if (state.pc !== pc) return;
      if (pc.connectionState === "connected") setState("live", "Live");
      else if (pc.connectionState === "failed") fail(iceHint() || "The connection to the server failed (ICE). Check the network or the server's ICE settings.");
      else if (pc.connectionState === "disconnected") setState("connecting", "Reconnecting…");
    };
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIce(pc, 3000);
    if (state.pc !== pc) return; // stopped while gathering
    const response = await fetch("/api/offer", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sdp: pc.localDescription.sdp, type: pc.localDescription.type }),
    });
    const answer = await response.json().catch(() => ({ error: `The server answered ${response.status}.` }));
    if (state.pc !== pc) { // stopped while the server answered: end the session it just opened
      if (answer.session) fetch(`/api/sessions/${answer.session}`, { method: "DELETE", keepalive: true }).catch(() => {});
      return;
    }
    if (!response.ok) {
      await teardown(false);
      setState(response.status === 503 ? "full" : "error", response.status === 503 ? "Server full" : "Refused");
      showError(answer.error || `The server answered ${response.status}.`);
      return;
    }
    state.session = answer.session;
    ui.stage.dataset.session = answer.session;
    if (answer.lowLatency === false) showNotice("The server's low-latency frame path is unavailable with its aiortc version: frames wait one frame interval longer, and the latency figures include that wait.");
    await pc.setRemoteDescription({ type: answer.type, sdp: answer.sdp });
    watchConnection(pc, channel, state.config.connectTimeout || 10);
  } catch (err) {
    if (!state.running) return; // Stop was pressed; nothing went wrong
    await teardown(Boolean(state.session));
    const denied = err && (err.name === "NotAllowedError" || err.name === "SecurityError");
    setState("error", "Error");
    showError(denied ? "Camera access was denied. Allow the camera for this site and press Start again." : `Could not start: ${err.message || err}`);
  }
}

// Sees each encoded frame's RTP timestamp on its way out (see FrameClock); passes frames through untouched.
function tapEncoder(sender) {
  const { readable, writable } = sender.createEncodedStreams();
  const clock = state.clock;
  readable.pipeThrough(new TransformStream({
    transform(frame, controller) {
      clock.onEncoded(frame.getMetadata().rtpTimestamp ?? frame.timestamp, performance.now());
      controller.enqueue(frame);
    },
  })).pipeTo(writable).catch(() => {});
}

// The server gives up on a session that is not connected within its timeout; so does the page, with the reason.
function watchConnection(pc, channel, seconds) {
  setTimeout(() => {
    if (state.pc !== pc || !state.running) return;
    if (pc.connectionState !== "connected") fail(`No connection to the server within ${seconds} s: ICE did not succeed (state: ${pc.connectionState}). ${iceHint() || "Check the network, a firewall, or the server's ICE settings."}`);
    else if (channel.readyState !== "open") fail(`The results channel did not open within ${seconds} s: the server cannot send scores.`);
  }, seconds * 1000);
}

function onMessage(text, arrival) {
  const message = JSON.parse(text);
  if (message.type === "status") return onStatus(message);
  if (message.type === "result") onResult(message, arrival);
}

// The server's status of this session's analysis: "degraded" while frames arrive but their analysis fails.
function onStatus(message) {
  if (message.status === "degraded") {
    setState("degraded", (state.config?.statuses || {}).degraded || "Analysis failing");
    showError(`The server cannot analyse the video right now: ${message.error || "unknown error"}. It keeps trying.`);
  } else if (message.status === "live" && phase === "degraded") {
    setState("live", "Live");
    showError("");
  }
}

function fail(message) {
  teardown(true).then(() => { setState("error", "Disconnected"); showError(message); });
}

async function stop() {
  await teardown(true);
  setState("stopped", "Stopped");
}

async function teardown(tellServer) {
  const { pc, channel, session, stream } = state;
  state.running = false;
  state.pc = state.channel = state.sender = state.session = null;
  ui.stage.dataset.session = "";
  if (tellServer && session) {
    // Ends the session at once; the peer connection closing would end it too, a little later.
    await fetch(`/api/sessions/${session}`, { method: "DELETE", keepalive: true }).catch(() => {});
  }
  if (channel) channel.onclose = null;
  pc?.close();
  stream?.getTracks().forEach((t) => { t.onended = null; t.stop(); });
  state.stream = null;
  ui.video.srcObject = null;
  ui.stage.classList.remove("live");
  state.last = null;
  for (const track of state.tracks.values()) track.lastSeen = -Infinity;  // no last score left on show
  renderFaces(performance.now());
  state.clock.reset();
  ui.start.disabled = false;
  ui.stop.disabled = true;
  ui.start.textContent = "Start analysis";
}

async function switchCamera() {
  if (!state.running || !state.sender) return;
  try {
    const stream = await openCamera(ui.camera.value);
    const old = state.stream;
    await state.sender.replaceTrack(stream.getVideoTracks()[0]);
    state.stream = stream;
    old?.getTracks().forEach((t) => { t.onended = null; t.stop(); });
    state.clock.reset();
    showPreview(stream);
    watchStream(stream);
  } catch (err) {
    showError(`Could not switch camera: ${err.message || err}`);
  }
}

// ---------------------------------------------------------------------------------------------
function onResult(result, arrival) {
  if (state.last && result.pts <= state.last.pts) return; // unordered channel: never go back in time
  state.last = result;
  state.lastArrival = arrival;
  state.stats = result.stats;

  const frame = state.clock.match(result.rtp, arrival, !CAN_TAP_ENCODER);
  ui.latency.dataset.sync = state.clock.offset !== null ? "locked" : "searching";
  if (frame) {
    const latency = arrival - frame.display;
    state.latencies.push([arrival, latency]);
    showLast(arrival, latency, frame, result.stats.received_at);
  }
  while (state.latencies.length && state.latencies[0][0] < arrival - LATENCY_WINDOW_MS) state.latencies.shift();

  for (const face of result.faces) {
    let track = state.tracks.get(face.track_id);
    if (!track) {
      track = { id: face.track_id, points: [], colour: trackColour(face.track_id) };
      state.tracks.set(face.track_id, track);
    }
    Object.assign(track, { score: face.score, verdict: face.verdict, lastSeen: arrival });
    track.points.push([arrival, face.score]);  // the smoothed score, as the badge judges it
  }
  for (const track of state.tracks.values()) {
    while (track.points.length && track.points[0][0] < arrival - TIMELINE_MS) track.points.shift();
    if (!track.points.length && arrival - track.lastSeen > TIMELINE_MS) state.tracks.delete(track.id);
  }
  ui.timeline.dataset.points = String([...state.tracks.values()].reduce((n, t) => n + t.points.length, 0));
  renderMetrics();
  renderFaces(arrival);
}

/**
 * The latest matched result's latency under the p50: glass-to-score (from the frame's display), capture-to-score,
 * and capture-to-server (both on this machine's wall clock when server and page share one), also kept in its
 * data-latency with the arrival time.
 */
function showLast(arrival, latency, frame, receivedAt) {
  const tenth = (v) => Math.round(v * 10) / 10;
  const last = { at: Math.round(arrival), glass: tenth(latency), capture: tenth(arrival - frame.capture),
                 server: tenth(receivedAt - (performance.timeOrigin + frame.capture)) };
  ui.last.dataset.latency = JSON.stringify(last);
  ui.last.textContent = `last frame ${signedMs(last.glass)} ms, camera to score ${signedMs(last.capture)} ms`;
}

/** Whole milliseconds with a real minus sign; a dash for none. */
function signedMs(v) {
  if (v === null) return "\u2013";
  const r = Math.round(v);
  return r < 0 ? `\u2212${-r}` : `${r}`;
}

function percentile(values, q) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function renderMetrics() {
  const s = state.stats;
  const lat = state.latencies.map((x) => x[1]);
  const p50 = percentile(lat, 0.5), p95 = percentile(lat, 0.95);
  ui.fps.textContent = s ? s.analysed_fps.toFixed(1) : "–";
  ui.latency.textContent = signedMs(p50);
  ui.latencyNote.hidden = !(p50 < 0);
  ui.p95.textContent = signedMs(p95);
  ui.dropped.textContent = s ? s.frames_dropped : "–";
  ui.droppedOf.textContent = s ? ` of ${s.frames_in}` : "";
}

function renderFaces(now) {
  const live = [...state.tracks.values()].filter((t) => now - t.lastSeen <= TRACK_TTL_MS).sort((a, b) => a.id - b.id);
  const keep = new Set(live.map((t) => `face-${t.id}`));
  for (const li of [...ui.faces.children]) if (!keep.has(li.id)) li.remove();
  if (!live.length) {
    const empty = document.createElement("li");
    empty.className = "empty";
    empty.textContent = state.running ? "No face in view." : "No face in view yet.";
    ui.faces.replaceChildren(empty);
    return;
  }
  for (const track of live) {
    let li = document.getElementById(`face-${track.id}`);
    if (!li) {
      li = document.createElement("li");
      li.id = `face-${track.id}`;
      li.className = "face";
      li.innerHTML = '<span class="id"></span><span class="bar"><span></span></span><span class="score"></span>';
      ui.faces.append(li);
    }
    li.dataset.verdict = track.verdict;
    li.querySelector(".id").textContent = `#${track.id}`;
    li.querySelector(".id").style.color = track.colour;
    li.querySelector(".bar span").style.width = `${((track.score ?? 0) * 100).toFixed(1)}%`;
    li.querySelector(".score").innerHTML = `${scoreText(track.score)}<span class="verdict">${track.verdict}</span>`;
  }
}

// ---------------------------------------------------------------------------------------------
function fitCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.round(canvas.clientWidth * dpr), h = Math.round(canvas.clientHeight * dpr);
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  return dpr;
}

/** Where the video's picture lies inside the stage (object-fit: contain), in CSS pixels. */
function pictureRect() {
  const cw = ui.overlay.clientWidth, ch = ui.overlay.clientHeight;
  const vw = ui.video.videoWidth, vh = ui.video.videoHeight;
  if (!vw || !vh) return null;
  const scale = Math.min(cw / vw, ch / vh);
  return { x: (cw - vw * scale) / 2, y: (ch - vh * scale) / 2, w: vw * scale, h: vh * scale };
}

function drawOverlay(now) {
  const canvas = ui.overlay, ctx = canvas.getContext("2d");
  const dpr = fitCanvas(canvas);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const drawn = [];
  const result = state.last, rect = pictureRect();
  if (result && rect && state.running && now - state.lastArrival <= RESULT_TTL_MS) {
    // Scale from the server's frame size to the picture; the preview is mirrored, so are the boxes.
    const sx = rect.w / result.width, sy = rect.h / result.height;
    for (const face of result.faces) {
      const [x0, y0, x1, y1] = face.box;
      const box = { x: rect.x + rect.w - x1 * sx, y: rect.y + y0 * sy, w: (x1 - x0) * sx, h: (y1 - y0) * sy };
      const d = drawFace(ctx, box, face, rect);
      drawn.push({ ...d, x: Math.round(d.x), y: Math.round(d.y), w: Math.round(d.w), h: Math.round(d.h), source: face.box });
    }
  }
  canvas.dataset.boxes = JSON.stringify(drawn);
  canvas.dataset.picture = rect ? JSON.stringify(rect) : "";
  canvas.dataset.source = result ? `${result.width}x${result.height}` : "";
}

function drawTimeline(now) {
  const canvas = ui.timeline, ctx = canvas.getContext("2d");
  const dpr = fitCanvas(canvas);
  const w = canvas.clientWidth, h = canvas.clientHeight, pad = { l: 30, r: 34, t: 10, b: 20 };
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const pw = w - pad.l - pad.r, ph = h - pad.t - pad.b;
  const X = (t) => pad.l + pw * (1 - (now - t) / TIMELINE_MS), Y = (v) => pad.t + ph * (1 - v);
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#93a0b0";
  ctx.strokeStyle = "#2a313c";
  ctx.lineWidth = 1;
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    ctx.beginPath(); ctx.moveTo(pad.l, Y(v)); ctx.lineTo(pad.l + pw, Y(v)); ctx.stroke();
    ctx.fillText(v.toFixed(2).replace(/0$/, ""), 2, Y(v) + 4);
  }
  for (let s = 0; s <= 30; s += 10) ctx.fillText(s ? `-${s}s` : "now", X(now - s * 1000) - (s ? 12 : 22), h - 5);
  if (state.config) {
    const { threshold, uncertain_margin: uncertainMargin } = state.config.verdict;
    ctx.fillStyle = "rgba(227, 162, 26, .14)";
    ctx.fillRect(pad.l, Y(Math.min(1, threshold + uncertainMargin)), pw, Y(Math.max(0, threshold - uncertainMargin)) - Y(Math.min(1, threshold + uncertainMargin)));
    ctx.setLineDash([6, 5]);
    ctx.strokeStyle = "#e8ecf1";
    ctx.beginPath(); ctx.moveTo(pad.l, Y(threshold)); ctx.lineTo(pad.l + pw, Y(threshold)); ctx.stroke();
    ctx.setLineDash([]);
  }
  ctx.save();
  ctx.beginPath(); ctx.rect(pad.l, 0, pw, h); ctx.clip();
  for (const track of state.tracks.values()) {
    if (!track.points.length) continue;
    ctx.strokeStyle = track.colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    track.points.forEach(([t, v], i) => (i ? ctx.lineTo(X(t), Y(v)) : ctx.moveTo(X(t), Y(v))));
    ctx.stroke();
  }
  ctx.restore();
  for (const track of state.tracks.values()) {
    const last = track.points[track.points.length - 1];
    if (!last) continue;
    ctx.fillStyle = track.colour;
    ctx.fillText(`#${track.id}`, Math.min(X(last[0]) + 4, w - pad.r + 4), Y(last[1]) + 4);
  }
}

// Redraw only what changed: the overlay when a result arrives, expires or the layout changes; the
// timeline ten times a second (it scrolls slowly). Saves CPU and battery, and leaves the cores to video.
const painted = { result: null, expired: false, size: "", timelineAt: -Infinity };
function frameLoop(now) {
  const size = `${ui.overlay.clientWidth}x${ui.overlay.clientHeight}x${ui.video.videoWidth}x${state.running}`;
  const expired = now - state.lastArrival > RESULT_TTL_MS;
  if (state.last !== painted.result || expired !== painted.expired || size !== painted.size) {
    drawOverlay(now);
    Object.assign(painted, { result: state.last, expired, size });
  }
  if (now - painted.timelineAt >= 100) {
    drawTimeline(now);
    painted.timelineAt = now;
  }
  requestAnimationFrame(frameLoop);
}

// ---------------------------------------------------------------------------------------------
ui.start.addEventListener("click", start);
ui.stop.addEventListener("click", stop);
ui.camera.addEventListener("change", switchCamera);
ui.video.addEventListener("loadedmetadata", () => {
  if (ui.video.videoWidth) ui.stage.style.aspectRatio = `${ui.video.videoWidth} / ${ui.video.videoHeight}`;
});
navigator.mediaDevices?.addEventListener?.("devicechange", () => listCameras().catch(() => {}));
window.addEventListener("pagehide", () => {
  if (state.session) navigator.sendBeacon(`/api/sessions/${state.session}/close`);
});
loadConfig().catch(() => showError("Cannot reach the server's configuration (/api/config)."));
navigator.mediaDevices?.enumerateDevices?.().then(() => listCameras()).catch(() => {});
requestAnimationFrame(frameLoop);
