// Shared helpers of the replay and dashboard pages: API calls (signed in by cookie), DOM building,
// canvas sizing and formatting. Plain ES module, no build step, nothing external.

export const VERDICT = { real: "#22b07d", fake: "#ef4a5f", uncertain: "#e3a21a", not_scored: "#93a0b0" };
/** A score for display; faces the quality gate refused (verdict not_scored) have none. */
export const scoreText = (x) => (x === null || x === undefined ? "–" : x.toFixed(2));
export const $ = (id) => document.getElementById(id);

/** The server's rules for the pages (/api/config), written once in Python: filled by ``loadConfig``. */
export const rules = { verdict: null, worstMoments: 0, trackColours: [], model: null, statuses: {} };
let configLoad = null;

/** Fetches /api/config once per page; later calls get the same promise. */
export function loadConfig() {
  configLoad = configLoad || api("/api/config").then((cfg) => {
    Object.assign(rules, { verdict: cfg.verdict, worstMoments: cfg.worst_moments, trackColours: cfg.track_colours,
      model: cfg.model, statuses: cfg.statuses || {} });
    return cfg;
  });
  return configLoad;
}

/** A track's colour from the server's list (grey until it has arrived). */
export const trackColour = (id) => (rules.trackColours.length
  ? rules.trackColours[(Math.max(1, id) - 1) % rules.trackColours.length] : "#93a0b0");

/**
 * This browser's role from /api/auth ("admin" or "viewer"), shown on <html data-role>: the pages' CSS hides
 * controls marked ``needs-admin`` from a viewer, whose writes the server would refuse anyway.
 */
export async function loadRole() {
  let role = "admin";
  try { role = (await api("/api/auth")).role || "viewer"; } catch { role = "viewer"; }
  document.documentElement.dataset.role = role;
  return role;
}

export class ApiError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

/** fetch + JSON; a non-2xx answer becomes an ApiError with the server's own message. */
export async function api(path, { method = "GET", json, body, headers = {} } = {}) {
  // A server with a token knows this browser by its sign-in cookie, which fetch sends by itself.
  const init = { method, headers };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers = { ...init.headers, "Content-Type": "application/json" };
  } else if (body !== undefined) {
    init.body = body;
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (exc) {
    throw new ApiError("The server cannot be reached.", 0);
  }
  let data = null;
  try { data = await resp.json(); } catch { /* not JSON */ }
  if (!resp.ok) throw new ApiError(explain(resp.status, data), resp.status);
  return data;
}

export function explain(status, data) {
  if (status === 401) return "This server needs its access token: sign in at /signin.";
  if (status === 403 && data && /viewer/.test(data.error || "")) return "Signed in read-only (viewer token): changes need the API token.";
  const text = (data && data.error) || `The server answered ${status}.`;
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A small DOM builder; text always goes in as text, never as HTML. */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Size the canvas backing store to its CSS box at the device pixel ratio; returns {w, h, dpr} in CSS px. */
export function fitCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  const bw = Math.max(1, Math.round(w * dpr)), bh = Math.max(1, Math.round(h * dpr));
  if (canvas.width !== bw || canvas.height !== bh) { canvas.width = bw; canvas.height = bh; }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h, dpr };
}

export function roundRect(ctx, x, y, w, h, r) {
  r = Math.max(0, Math.min(r, w / 2, h / 2));
  ctx.beginPath();
  ctx.moveTo(x + r, y);
  ctx.arcTo(x + w, y, x + w, y + h, r);
  ctx.arcTo(x + w, y + h, x, y + h, r);
  ctx.arcTo(x, y + h, x, y, r);
  ctx.arcTo(x, y, x + w, y, r);
  ctx.closePath();
}

/**
 * One face's box and its "#id score VERDICT" label, inside the picture ``rect`` (canvas pixels). ``taken``: the
 * labels already drawn on this picture; this one goes where it overlaps none of them (and is added to them).
 * Returns what was drawn.
 */
export function drawFace(ctx, box, face, rect, taken = []) {
  const colour = VERDICT[face.verdict] || "#93a0b0";
  ctx.lineWidth = 3;
  ctx.strokeStyle = colour;
  roundRect(ctx, box.x, box.y, box.w, box.h, 8);
  ctx.stroke();
  const label = face.verdict === "not_scored"
    ? `#${face.track_id}  NOT SCORED: ${String(face.reason).replace(/_/g, " ")}`
    : `#${face.track_id}  ${scoreText(face.score)}  ${face.verdict.toUpperCase()}`;
  ctx.font = "600 13px system-ui, sans-serif";
  const tw = ctx.measureText(label).width + 16, th = 24;
  const { x: tx, y: ty } = placeLabel(box, tw, th, rect, taken);
  taken.push({ x: tx, y: ty, w: tw, h: th });
  ctx.fillStyle = colour;
  roundRect(ctx, tx, ty, tw, th, 6);
  ctx.fill();
  ctx.fillStyle = "#0b0e12";
  ctx.fillText(label, tx + 8, ty + 16.5);
  return { track_id: face.track_id, score: face.score, verdict: face.verdict, label, ...box,
    labelBox: { x: tx, y: ty, w: tw, h: th } };
}

const overlaps = (a, b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/** Above the box if it fits, else below; then stepped down (or up) until it clears every label in ``taken``. */
function placeLabel(box, tw, th, rect, taken) {
  const x = Math.max(rect.x, Math.min(box.x, rect.x + rect.w - tw));
  const clampY = (y) => Math.max(rect.y, Math.min(y, rect.y + rect.h - th));
  const above = box.y - th - 6, below = box.y + box.h + 6;
  const starts = above >= rect.y ? [above, below] : [below, above];
  for (const start of starts) {
    for (let step = 0; step <= 8; step++) {
      for (const dir of start === above ? [-1, 1] : [1, -1]) {
        const y = clampY(start + dir * step * (th + 2));
        if (!taken.some((t) => overlaps(t, { x, y, w: tw, h: th }))) return { x, y };
      }
    }
  }
  return { x, y: clampY(starts[0]) };
}

/** 83.4 -> "1:23.4" */
export function clock(seconds, decimals = 1) {
  if (!Number.isFinite(seconds)) return "–";
  const m = Math.floor(seconds / 60), s = seconds - m * 60;
  return `${m}:${s.toFixed(decimals).padStart(decimals ? 3 + decimals : 2, "0")}`;
}

/** Epoch seconds -> "22 Nov, 14:03" (today: "14:03:12"). */
export function when(epoch) {
  if (!epoch) return "–";
  const d = new Date(epoch * 1000), now = new Date();
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  if (d.toDateString() === now.toDateString()) return time;
  return `${d.toLocaleDateString([], { day: "numeric", month: "short" })}, ${time.slice(0, 5)}`;
}

export function ago(epoch) {
  if (!epoch) return "never";
  const s = Math.max(0, Date.now() / 1000 - epoch);
  if (s < 5) return "just now";
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return when(epoch);
}

/** Two clicks to confirm: the first arms ``button`` (showing ``prompt``) for 4 s; true on the second click. */
export function confirmed(button, prompt) {
  if (button.classList.contains("armed")) {
    clearTimeout(button.disarm);
    return true;
  }
  const idle = button.textContent;
  button.classList.add("armed");
  button.textContent = prompt;
  button.disarm = setTimeout(() => { button.classList.remove("armed"); button.textContent = idle; }, 4000);
  return false;
}

/** An rtsp URL for display, with any user:password hidden. */
export function safeUrl(url) {
  return String(url || "").replace(/\/\/[^/@]*@/, "//•••@");
}
