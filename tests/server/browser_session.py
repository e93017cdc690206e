"""The browser test's session: the live page in headless Chromium with a fake camera, over real WebRTC.

``python -m tests.server.browser_session --model DIR --y4m FILE --out DIR`` must run inside ``unshare -n``
(``bench.browser.run_isolated``); it writes ``report.json`` and screenshots to ``--out`` for
``test_browser.py`` to check.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from playwright.async_api import Browser, Page

from bench.browser import isolated_main, open_page, serve_and_browse, server_stats, session_arguments, wait_idle


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
    report["last_shown"] = probe["lastShown"]  # the page's "last frame" readout, read with the scores
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


def main() -> int:
    args = session_arguments(__doc__).parse_args()

    async def run(args: argparse.Namespace) -> dict:
        return await serve_and_browse(args, scenario_test, max_sessions=args.max_sessions,
                                      connect_timeout=args.connect_timeout)

    return isolated_main(args, run)


if __name__ == "__main__":
    raise SystemExit(main())
