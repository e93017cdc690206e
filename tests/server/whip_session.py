"""Push a real face clip over WHIP with a client nobody here wrote: ``whip.js`` of npm ``whip-whep@1.2.0``.

Headless Chromium's fake camera plays the clip; the page (served on the test server's origin by a
Playwright route, so the WHIP requests are same-origin) publishes it with ``WHIPClient`` to the real
server. Must run inside a loopback-only network namespace: ``python -m tests.server.whip_session ...``
through ``browser_session.run_isolated``-style ``unshare -n`` (see test_whip.py). Writes report.json.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
import urllib.request
from pathlib import Path

from playwright.async_api import async_playwright

from tests.server.browser_session import CHROMIUM, chromium_args, only_loopback

TOKEN = "whip-test-token"
NAME = "obs-test"
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>WHIP push</title></head><body>
<video id="preview" autoplay muted playsinline></video>
<script type="module">
import { WHIPClient } from "/_whip-test/whip.js";
window.__whip = { state: "starting" };
window.startPush = async (token) => {
  const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });  // as OBS: with sound
  document.getElementById("preview").srcObject = stream;
  const pc = new RTCPeerConnection();
  for (const track of [...stream.getVideoTracks(), ...stream.getAudioTracks()]) {
    pc.addTransceiver(track, { direction: "sendonly" });
  }
  const client = new WHIPClient();
  try {
    await client.publish(pc, location.origin + "/whip?name=NAME", token);
  } catch (exc) {
    pc.close();
    return { error: String(exc) };
  }
  window.__client = client;
  window.__pc = pc;
  return { resource: client.resourceURL.href };
};
window.stopPush = async () => { await window.__client.stop(); return "stopped"; };
window.pcState = () => window.__pc ? window.__pc.connectionState : "none";
</script></body></html>""".replace("NAME", NAME)


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def streams(url: str) -> list[dict]:
    return json.loads(get(url + "/api/streams"))["streams"]


def metric(text: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.match(rf"^{name}\{{([^}}]*)\}} (\S+)$", line)
        if match and ",".join(sorted(match[1].split(","))) == wanted:
            return float(match[2])
    return None


async def wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def scenario(browser, url: str, whip_js: str, out: Path) -> dict:
    report: dict = {"console": [], "requests": []}
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    page.on("console", lambda m: report["console"].append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: report["console"].append(f"pageerror: {e}"))
    page.on("request", lambda r: report["requests"].append(f"{r.method} {r.url}"))

    async def serve_test_files(route):
        path = route.request.url.removeprefix(url)
        if path == "/_whip-test/page.html":
            await route.fulfill(body=PAGE, content_type="text/html")
        elif path == "/_whip-test/whip.js":
            await route.fulfill(body=whip_js, content_type="text/javascript")
        else:
            await route.continue_()

    await page.route(f"{url}/_whip-test/**", serve_test_files)
    await page.goto(url + "/_whip-test/page.html")
    await page.wait_for_function("() => typeof window.startPush === 'function'")

    report["wrong_token"] = await page.evaluate("(t) => startPush(t)", "not-the-token")
    report["after_wrong_token"] = streams(url)
    pushed = await page.evaluate("(t) => startPush(t)", TOKEN)
    report["push"] = pushed
    assert "resource" in pushed, pushed

    def live() -> dict | None:
        found = [s for s in streams(url) if s["name"] == NAME]
        ok = found and found[0]["status"] == "live" and found[0]["frames_analysed"] >= 10 \
            and found[0]["latest"] and found[0]["latest"]["faces"]
        return found[0] if ok else None

    report["live"] = await wait(live, 60, "the pushed stream to be live with scores")
    report["pc_state"] = await page.evaluate("pcState()")
    report["sent_kinds"] = await page.evaluate("window.__pc.getTransceivers().map((t) => t.sender.track.kind)")
    report["metrics_live"] = get(url + "/metrics").decode()

    dash = await context.new_page()
    await dash.goto(url + "/dashboard")
    await dash.wait_for_function("(n) => { const s = window.__dash.streams[n]; return s && s.status === 'live'"
                                 " && s.results > 3; }", arg=NAME, timeout=30000)
    report["dashboard"] = await dash.evaluate("(n) => window.__dash.streams[n]", NAME)
    await dash.wait_for_timeout(800)
    await dash.screenshot(path=str(out / "whip-dashboard.png"), full_page=True)
    await page.screenshot(path=str(out / "whip-client.png"))

    report["stop"] = await page.evaluate("stopPush()")
    report["after_stop"] = await wait(lambda: [] if any(s["name"] == NAME for s in streams(url)) else ["gone"], 15,
                                      "the pushed stream to end")
    report["metrics_after"] = get(url + "/metrics").decode()
    report["streams_after"] = streams(url)
    await dash.close()
    await page.close()
    await context.close()
    return report


async def main_async(args: argparse.Namespace) -> dict:
    from streamer.model import Model
    from streamer.server import ServerConfig
    from tests.server.harness import ServerThread

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = ServerConfig(host="127.0.0.1", port=0, ice_addresses=("127.0.0.1",), api_token=TOKEN,
                       data_dir=out / "data", connect_timeout=20.0)
    with ServerThread(cfg, Model(args.model)) as server:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                               args=chromium_args(Path(args.y4m)))
            try:
                report = await scenario(browser, server.url, Path(args.whip_js).read_text(), out)
            finally:
                await browser.close()
        report["server_url"] = server.url
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--y4m", required=True)
    parser.add_argument("--whip-js", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    if not only_loopback():
        print("refusing to run: this network namespace has interfaces besides lo", file=sys.stderr)
        return 3
    report = asyncio.run(main_async(args))
    (Path(args.out) / "report.json").write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
