"""The live page in headless Chromium with a fake camera, against the real server, inside a network
namespace with only loopback.

A session module (``bench/webrtc_session.py``, the browser tests' ``tests/server/browser_session.py``)
is started with ``run_isolated``: inside ``unshare -n`` the server and the browser cannot reach any
address but 127.0.0.1, whatever candidates ICE finds. It writes ``report.json`` (and screenshots) to
``--out`` for the bench or the test to read. The page carries no hook for them: ``OBSERVER`` reads what it
shows (its DOM and ``data-`` attributes) and what the server sends it (the results on its data channel).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

from bench.harness import ServerThread
from streamer.core.model import Model
from streamer.runtime.memory import pin_mmap_threshold
from streamer.runtime.opencv import one_opencv_thread
from streamer.server import ServerConfig

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]

Scenario = Callable[[Browser, str, Path], Awaitable[dict]]


def chromium_args(y4m: Path) -> list[str]:
    return [
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={y4m}", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
        # Loopback is the only network in the namespace; WebRTC skips it unless told otherwise.
        "--allow-loopback-in-peer-connection",
        # Keep the page's timers and frame callbacks running at full rate while headless.
        "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows",
    ]


def only_loopback() -> bool:
    """True inside a network namespace whose only interface is lo (sysfs may still show the host's)."""
    return [name for _, name in socket.if_nameindex()] == ["lo"]


# As root a plain network namespace; otherwise a user namespace maps us to root inside it.
UNSHARE_VARIANTS = (["unshare", "--net"], ["unshare", "--user", "--map-root-user", "--net"])


def unshare_command() -> tuple[list[str] | None, str]:
    """The unshare prefix that makes a loopback-only network namespace here, or None and why not."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return None, "unshare (util-linux) or ip (iproute2) is not installed"
    errors = []
    for variant in UNSHARE_VARIANTS:
        probe = subprocess.run([*variant, "--", "sh", "-c", "ip link set lo up"], capture_output=True, text=True)
        if probe.returncode == 0:
            return variant, ""
        errors.append(f"{' '.join(variant)}: {probe.stderr.strip()}")
    return None, "; ".join(errors)


def namespace_available() -> str | None:
    """None when a loopback-only network namespace can be made here, else why not."""
    variant, why = unshare_command()
    return None if variant else why


def run_isolated(module: str, args: list[str], timeout: float, addresses: Sequence[str] = (),
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m MODULE ARGS`` from the repository root in a fresh network namespace with only ``lo`` up
    (``addresses`` added to it as /32s), ``env`` added to the environment."""
    variant, why = unshare_command()
    if variant is None:
        raise RuntimeError(f"no network namespace: {why}")
    setup = " && ".join(["ip link set lo up", *(f"ip addr add {a}/32 dev lo" for a in addresses)])
    inner = " ".join([f"exec {sys.executable} -m {module}", *map(_quote, args)])
    command = [*variant, "--", "sh", "-c", f"{setup} && {inner}"]
    return subprocess.run(command, cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def isolated_main(args: argparse.Namespace, scenario: Callable[[argparse.Namespace], Awaitable[dict]]) -> int:
    """Run ``scenario(args)`` (a coroutine function returning the report) and write ``--out``/report.json,
    only inside a loopback-only network namespace."""
    if not only_loopback():
        print("refusing to run: this network namespace has interfaces besides lo; use run_isolated()", file=sys.stderr)
        return 3
    report = asyncio.run(scenario(args))
    (Path(args.out) / "report.json").write_text(json.dumps(report, indent=1))
    return 0


def session_arguments(description: str | None) -> argparse.ArgumentParser:
    """The options of a live-page session: the model, the fake camera, where the report goes, the server's limits."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--model", required=True, help="model directory")
    parser.add_argument("--y4m", required=True, help="fake camera file")
    parser.add_argument("--out", required=True, help="directory for report.json and screenshots")
    parser.add_argument("--max-sessions", type=int, default=1)
    parser.add_argument("--connect-timeout", type=float, default=20.0, help="the server's ICE/DTLS deadline")
    return parser


async def serve_and_browse(args: argparse.Namespace, scenario: Scenario, **config) -> dict:
    """The real app on 127.0.0.1 (ICE on loopback only, ``config`` on top) with the model ``args.model``, and
    headless Chromium whose camera plays ``args.y4m``; ``scenario(browser, url, out)`` drives the page and
    returns the report."""
    pin_mmap_threshold()  # before the model loads, as `deepfake-streamer serve` does
    one_opencv_thread()  # as `deepfake-streamer` runs
    cfg = ServerConfig(host="127.0.0.1", port=0, ice_addresses=("127.0.0.1",), **config)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with ServerThread(cfg, Model(args.model)) as server:
        async with async_playwright() as pw:
            # Playwright gives every launch a fresh, temporary --user-data-dir of its own.
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                               args=chromium_args(Path(args.y4m)))
            try:
                report = await scenario(browser, server.url, out)
            finally:
                await browser.close()
        report["server_url"] = server.url
    return report


def server_stats(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/api/sessions", timeout=10) as response:
        return json.loads(response.read())


async def wait_idle(url: str, timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        stats = server_stats(url)
        quiet = stats["sessions"]["active"] == 0 and stats["session_tasks"] == 0 and stats["session_threads"] == 0
        if quiet or time.monotonic() > deadline:
            return stats
        await asyncio.sleep(0.1)


# Added to the page by the session, never shipped with it. Every matched result's latency is the page's
# "last frame" readout: #m-last[data-latency] (JSON: arrival on the page clock, glass-to-score,
# capture-to-score, capture-to-server, ms). A MutationObserver keeps each value the attribute takes: a
# record's oldValue is the value before it, so the value after record i is record i+1's oldValue, and
# the current one after the last record.
OBSERVER = """
(() => {
  const seen = window.seen = { results: 0, withFaces: 0, last: null, shown: 0, latencies: [] };
  const create = RTCPeerConnection.prototype.createDataChannel;
  RTCPeerConnection.prototype.createDataChannel = function (...args) {
    const channel = create.apply(this, args);
    channel.addEventListener('message', (e) => {
      const m = JSON.parse(e.data);
      if (m.type !== 'result') return;
      seen.results += 1;
      if (m.faces.length) seen.withFaces += 1;
      seen.last = m;
    });
    return channel;
  };
  document.addEventListener('DOMContentLoaded', () => {
    const video = document.getElementById('preview');
    const count = () => { seen.shown += 1; video.requestVideoFrameCallback(count); };
    video.requestVideoFrameCallback(count);
    const last = document.getElementById('m-last');
    new MutationObserver((records) => {
      records.forEach((r, i) => {
        const value = i + 1 < records.length ? records[i + 1].oldValue : last.dataset.latency;
        if (value) seen.latencies.push(JSON.parse(value));
      });
    }).observe(last, { attributes: true, attributeFilter: ['data-latency'], attributeOldValue: true });
  });
  const $ = (id) => document.getElementById(id);
  window.live = () => {
    const o = $('overlay'), v = $('preview');
    const picture = o.dataset.picture ? JSON.parse(o.dataset.picture) : null;
    return {
      state: $('conn').dataset.phase, session: $('stage').dataset.session || null,
      drawn: o.dataset.boxes ? JSON.parse(o.dataset.boxes) : [], picture: picture && {...picture, videoWidth: v.videoWidth, videoHeight: v.videoHeight},
      source: o.dataset.source || null, results: seen.results, resultsWithFaces: seen.withFaces, lastResult: seen.last,
      timelinePoints: Number($('timeline').dataset.points || 0), locked: $('m-latency').dataset.sync === 'locked',
      framesShown: seen.shown, lastShown: $('m-last').textContent,
      scores: seen.latencies.map((d) => [d.at, d]),
    };
  };
})();
"""


async def open_page(browser: Browser, url: str, requests: list[str], console: list[str]) -> Page:
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.add_init_script(OBSERVER)
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    await page.goto(url + "/")
    await page.wait_for_function("() => window.live && document.getElementById('model-line').textContent.length > 0")
    return page
