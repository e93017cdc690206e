"""Drive the live page in headless Chromium with a fake camera, inside a network namespace with only loopback.

``python -m tests.server.browser_session --mode test|bench ...`` must run inside ``unshare -n`` (see
``run_isolated``): the server and the browser then cannot reach any address but 127.0.0.1, whatever
candidates ICE finds. It writes ``report.json`` (and screenshots) to ``--out``; the pytest test and
the latency bench read that report.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]


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


def _unshare() -> tuple[list[str] | None, str]:
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
    variant, why = _unshare()
    return None if variant else why


def run_isolated(args: list[str], timeout: float, module: str = "tests.server.browser_session") -> subprocess.CompletedProcess:
    """Run ``python -m MODULE ARGS`` in a fresh network namespace with only ``lo`` up."""
    variant, why = _unshare()
    if variant is None:
        raise RuntimeError(f"no network namespace: {why}")
    inner = " ".join([f"exec {sys.executable} -m {module}", *map(_quote, args)])
    command = [*variant, "--", "sh", "-c", f"ip link set lo up && {inner}"]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


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


# The live page carries no test hook: this script, added by the test, reads what it shows (its DOM, its
# "dfs-score" User Timing marks) and what the server sends it (the results on its data channel).
OBSERVER = """
(() => {
  const seen = window.seen = { results: 0, withFaces: 0, last: null, shown: 0 };
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
      framesShown: seen.shown,
      scores: performance.getEntriesByName('dfs-score', 'mark').map((m) => [Math.round(m.startTime), m.detail]),
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


async def drawn_with_edge_pixel(page: Page) -> tuple[dict, list[int]]:
    """The page's state and the overlay pixel at the middle of the first box's top edge, read in one
    task so that no redraw can fall between them."""
    return await page.evaluate("""() => {
        const c = document.getElementById('overlay'), dpr = c.width / c.clientWidth;
        const state = live(), box = state.drawn[0];
        const x = Math.round((box.x + box.w / 2) * dpr), y = Math.round(box.y * dpr);
        const pixel = Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data);
        return [state, pixel];
    }""")


async def scenario_test(browser: Browser, url: str, out: Path) -> dict:
    requests: list[str] = []
    console: list[str] = []
    report: dict = {"console": console, "requests": requests}
    page = await open_page(browser, url, requests, console)
    report["initial_state"] = await page.evaluate("live().state")
    await page.click("#start")
    await page.wait_for_function("() => live().state === 'live'", timeout=30000)
    await page.wait_for_function("() => live().drawn.length > 0 && live().resultsWithFaces >= 10", timeout=30000)
    report["live_stats"] = server_stats(url)
    probe, report["box_edge_pixel"] = await drawn_with_edge_pixel(page)
    report["drawn"] = probe["drawn"]
    report["picture"] = probe["picture"]
    report["last_result"] = probe["lastResult"]
    report["drawn_source"] = probe["source"]
    report["badge_text"] = await page.inner_text("#faces")
    report["metrics_text"] = await page.inner_text(".metrics")
    timeline_before = probe["timelinePoints"]
    await page.wait_for_timeout(2500)
    probe = await page.evaluate("live()")
    report["timeline_growth"] = [timeline_before, probe["timelinePoints"]]
    report["sync"] = {"locked": probe["locked"]}
    report["latencies"] = [[t, d["glass"], d["capture"]] for t, d in probe["scores"]]
    report["legs"] = [[t, d["server"]] for t, d in probe["scores"]]
    report["fps"] = probe["lastResult"]["stats"]["analysed_fps"]
    await page.wait_for_function("() => live().drawn.length > 0", timeout=10000)
    await page.screenshot(path=str(out / "webcam-live.png"))

    # A second visitor while the server is full (max sessions is 1 here) sees the server's message.
    second = await open_page(browser, url, requests, console)
    await second.click("#start")
    await second.wait_for_function("() => live().state === 'full'", timeout=30000)
    report["full"] = {"banner": await second.inner_text("#banner"), "pill": await second.inner_text("#conn"),
                      "stats": server_stats(url)}
    await second.screenshot(path=str(out / "webcam-full.png"))
    await second.close()

    await page.set_viewport_size({"width": 390, "height": 844})  # a phone
    await page.wait_for_timeout(800)
    await page.screenshot(path=str(out / "webcam-phone.png"), full_page=True)
    report["phone_overflow"] = await page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
        .map((e) => `${e.tagName}#${e.id}.${e.className}: ${Math.round(e.getBoundingClientRect().right)}`)""")
    await page.set_viewport_size({"width": 1280, "height": 800})

    await page.click("#stop")
    await page.wait_for_function("() => live().state === 'stopped'", timeout=10000)
    report["after_stop_page"] = await page.evaluate("({session: live().session, drawn: live().drawn.length})")
    report["after_stop_faces"] = await page.inner_text("#faces")
    report["after_stop"] = await wait_idle(url)

    # Closing the tab mid-session: the pagehide beacon (or the dying connection) ends it on the server.
    await page.click("#start")
    await page.wait_for_function("() => live().state === 'live' && live().results > 0", timeout=30000)
    report["before_close"] = server_stats(url)
    closed_at = time.monotonic()
    await page.close()
    report["after_close"] = await wait_idle(url)
    report["close_seconds"] = round(time.monotonic() - closed_at, 2)
    report["no_ice"] = await scenario_no_ice(browser, url, out)
    return report


async def scenario_no_ice(browser: Browser, url: str, out: Path) -> dict:
    """Offer and answer without ICE candidates never connect: the page must say so within the server's timeout."""
    page = await open_page(browser, url, [], [])

    def without_candidates(description: dict) -> dict:
        lines = description["sdp"].splitlines(keepends=True)
        return {**description, "sdp": "".join(line for line in lines if not line.startswith("a=candidate"))}

    async def strip_candidates(route) -> None:
        offer = without_candidates(json.loads(route.request.post_data))
        response = await route.fetch(post_data=json.dumps(offer))
        await route.fulfill(response=response, json=without_candidates(await response.json()))

    await page.route("**/api/offer", strip_candidates)
    timeout = await page.evaluate("fetch('/api/config').then((r) => r.json()).then((c) => c.connectTimeout)")
    started = time.monotonic()
    await page.click("#start")
    await page.wait_for_function("() => live().state === 'error'", timeout=(timeout + 15) * 1000)
    report = {"seconds": round(time.monotonic() - started, 2), "timeout": timeout,
              "banner": await page.inner_text("#banner"), "pill": await page.inner_text("#conn")}
    await page.screenshot(path=str(out / "webcam-no-ice.png"))
    await page.close()
    report["after"] = await wait_idle(url, timeout=timeout + 10)
    return report


async def scenario_bench(browser: Browser, url: str, out: Path, seconds: float) -> dict:
    requests: list[str] = []
    console: list[str] = []
    page = await open_page(browser, url, requests, console)
    await page.click("#start")
    await page.wait_for_function("() => live().state === 'live' && live().locked", timeout=60000)
    started = await page.evaluate("performance.now()")
    samples = []
    for _ in range(int(seconds)):
        await page.wait_for_timeout(1000)
        samples.append(await page.evaluate(
            "() => { const s = live(), stats = s.lastResult.stats; return {t: performance.now(), "
            "fps: stats.analysed_fps, dropped: stats.frames_dropped, received: stats.frames_in, results: s.results, "
            "shown: s.framesShown, server: stats}; }"))
    probe = await page.evaluate("live()")
    scores = probe["scores"]
    await page.screenshot(path=str(out / "bench.png"))
    await page.click("#stop")
    after = await wait_idle(url)
    await page.close()
    return {"started": started, "samples": samples,
            "latencies": [[t, d["glass"], d["capture"]] for t, d in scores if t >= started],
            "legs": [[t, d["server"]] for t, d in scores if t >= started],
            "matched": len(scores), "results": probe["results"], "after_stop": after,
            "console": console, "requests": requests, "sync": {"locked": probe["locked"]}}


async def main_async(args: argparse.Namespace) -> dict:
    from streamer.runtime.memory import pin_mmap_threshold
    from streamer.core.model import Model
    from streamer.server import ServerConfig
    from tests.server.harness import ServerThread

    pin_mmap_threshold()  # before the model loads, as `deepfake-streamer serve` does
    cfg = ServerConfig(host="127.0.0.1", port=0, ice_addresses=("127.0.0.1",), max_sessions=args.max_sessions,
                       connect_timeout=args.connect_timeout)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with ServerThread(cfg, Model(args.model)) as server:
        async with async_playwright() as pw:
            # Playwright gives every launch a fresh, temporary --user-data-dir of its own.
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                               args=chromium_args(Path(args.y4m)))
            try:
                if args.mode == "test":
                    report = await scenario_test(browser, server.url, out)
                else:
                    report = await scenario_bench(browser, server.url, out, args.seconds)
            finally:
                await browser.close()
        report["server_url"] = server.url
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=("test", "bench"), required=True)
    parser.add_argument("--model", required=True, help="model directory")
    parser.add_argument("--y4m", required=True, help="fake camera file")
    parser.add_argument("--out", required=True, help="directory for report.json and screenshots")
    parser.add_argument("--seconds", type=float, default=25.0, help="bench: seconds to measure")
    parser.add_argument("--max-sessions", type=int, default=1)
    parser.add_argument("--connect-timeout", type=float, default=20.0, help="the server's ICE/DTLS deadline")
    return isolated_main(parser.parse_args(), main_async)


def isolated_main(args: argparse.Namespace, scenario) -> int:
    """Run ``scenario(args)`` (a coroutine function returning the report) and write ``--out``/report.json,
    only inside a loopback-only network namespace."""
    if not only_loopback():
        print("refusing to run: this network namespace has interfaces besides lo; use run_isolated()", file=sys.stderr)
        return 3
    report = asyncio.run(scenario(args))
    (Path(args.out) / "report.json").write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
