"""A third-party WHIP client (whip-whep's whip.js, by a co-author of RFC 9725) pushing a real face clip from
headless Chromium's fake camera to the server's ``/whip``, inside a network namespace with only loopback.

``python -m tests.server.whip_session --model DIR --y4m FILE --out DIR`` (run it through ``run_isolated``);
writes ``report.json`` and screenshots to ``--out``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
import urllib.request
from pathlib import Path

from playwright.async_api import Page

from bench.browser import isolated_main, serve_and_browse
from streamer.runtime.assets import asset_path
from tests.server.pages_browser import READERS

NAME = "obs-studio"
CLIENT_PAGE = """<!doctype html><meta charset="utf-8"><title>WHIP push</title>
<video id="v" autoplay muted playsinline></video>
<script type="module">
import { WHIPClient } from "/whip-client/whip.js";
window.whip = { state: "starting" };
try {
  const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });  // as OBS sends
  document.getElementById("v").srcObject = stream;
  const pc = window.whip.pc = new RTCPeerConnection();
  pc.addTransceiver(stream.getVideoTracks()[0], { direction: "sendonly" });
  pc.addTransceiver(stream.getAudioTracks()[0], { direction: "sendonly" });
  const client = window.whip.client = new WHIPClient();
  await client.publish(pc, location.origin + "/whip?name=NAME&fps=10", "TOKEN");
  window.whip.state = "published";
  window.whip.resource = String(client.resourceURL);
} catch (e) { window.whip.state = "error: " + e; }
</script>"""


def get(url: str, token: str) -> bytes:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def streams(url: str, token: str) -> dict:
    return {s["name"]: s for s in json.loads(get(url + "/api/streams", token))["streams"]}


def metric(text: str, pattern: str) -> float | None:
    match = re.search(rf"^{pattern} ([0-9.e+]+)$", text, re.M)
    return float(match.group(1)) if match else None


async def wait(predicate, timeout: float, step: float = 0.25):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(step)
    return value


async def client_page(browser, url: str, token: str, whip_js: str, console: list[str]) -> Page:
    page = await browser.new_page(viewport={"width": 800, "height": 600})
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    page.on("response", lambda r: r.status >= 400 and console.append(f"http {r.status}: {r.request.method} {r.url}"))
    html = CLIENT_PAGE.replace("NAME", NAME).replace("TOKEN", token)
    # Served as if from the server's own origin (same-origin fetches), without touching the server's pages.
    await page.route(f"{url}/whip-client/push.html", lambda r: r.fulfill(body=html, content_type="text/html"))
    await page.route(f"{url}/whip-client/whip.js", lambda r: r.fulfill(body=whip_js, content_type="text/javascript"))
    await page.route(f"{url}/favicon.ico", lambda r: r.fulfill(status=204))
    await page.goto(f"{url}/whip-client/push.html")
    return page


async def scenario(browser, url: str, token: str, whip_js: str, out: Path) -> dict:
    console: list[str] = []
    report: dict = {"console": console}
    page = await client_page(browser, url, token, whip_js, console)
    await page.wait_for_function("() => window.whip && window.whip.state !== 'starting'", timeout=30000)
    report["client_state"] = await page.evaluate("window.whip.state")
    report["resource"] = await page.evaluate("window.whip.resource")
    await page.wait_for_function("() => window.whip.pc.connectionState === 'connected'", timeout=30000)
    live = await wait(lambda: (s := streams(url, token).get(NAME)) and s["status"] == "live"
                      and s["frames_analysed"] >= 10 and s["latest"] and s["latest"]["faces"] and s, 60)
    report["stream"] = live
    report["metrics_live"] = get(url + "/metrics", token).decode()

    dash = await browser.new_page(viewport={"width": 1280, "height": 800})
    await dash.context.add_cookies([])  # the open server needs no sign-in
    await dash.add_init_script(READERS)
    await dash.goto(f"{url}/dashboard")
    await dash.wait_for_function(f"() => (dashState('{NAME}') || {{}}).frames_analysed >= 5 "
                                 f"&& dashState('{NAME}').status === 'live'", timeout=30000)
    report["dashboard"] = await dash.evaluate(f"dashState('{NAME}')")
    await dash.screenshot(path=str(out / "whip-dashboard.png"))

    await page.evaluate("window.whip.client.stop()")  # DELETE on the resource URL
    await wait(lambda: NAME not in streams(url, token), 20)
    report["after_delete"] = streams(url, token)
    report["metrics_after"] = get(url + "/metrics", token).decode()
    await dash.close()
    await page.close()
    return report


async def main_async(args: argparse.Namespace) -> dict:
    whip_js = asset_path("whip.js").read_text()

    def push(browser, url: str, out: Path):
        return scenario(browser, url, "not-needed-on-an-open-server", whip_js, out)

    return await serve_and_browse(args, push, data_dir=Path(args.out) / "data")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--y4m", required=True)
    parser.add_argument("--out", required=True)
    return isolated_main(parser.parse_args(), main_async)


if __name__ == "__main__":
    raise SystemExit(main())
