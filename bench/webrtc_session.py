"""The latency bench's browser session: the live page for ``--seconds`` after its clock locks, sampled each second.

``python -m bench.webrtc_session --model DIR --y4m FILE --out DIR --seconds N``, through ``run_isolated``
(``bench/webrtc_latency.py`` does that and prints the figures).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from playwright.async_api import Browser

from bench.browser import isolated_main, open_page, serve_and_browse, session_arguments, wait_idle


async def scenario(browser: Browser, url: str, out: Path, seconds: float) -> dict:
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


def main() -> int:
    parser = session_arguments(__doc__)
    parser.add_argument("--seconds", type=float, default=25.0, help="seconds to measure")
    args = parser.parse_args()

    async def run(args: argparse.Namespace) -> dict:
        return await serve_and_browse(args, lambda browser, url, out: scenario(browser, url, out, args.seconds),
                                      max_sessions=args.max_sessions, connect_timeout=args.connect_timeout)

    return isolated_main(args, run)


if __name__ == "__main__":
    raise SystemExit(main())
