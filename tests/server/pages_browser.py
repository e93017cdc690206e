"""Headless Debian Chromium for the replay and dashboard pages, with every request kept on 127.0.0.1.

These pages use no WebRTC, so they need no network namespace: Chromium's own background traffic is off
(the same flags as the live page's test), host names other than 127.0.0.1 do not resolve, and every
request the page makes is routed through a guard that aborts anything not aimed at the test server.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from streamer.server import create_app
from bench.browser import CHROMIUM, ROOT
from bench.harness import ServerThread

ARTIFACTS = ROOT / "artifacts" / "server"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows", "--autoplay-policy=no-user-gesture-required",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


class PageServer(ServerThread):
    """The real app in a thread, stopped without waiting out open event streams.

    A server-sent-events handler only sees that its page has gone when it next writes (the 15 s heartbeat at
    the latest), and a plain runner waits for it on shutdown; here the wait is cut to a second.
    """

    async def _start(self) -> None:
        self._runner = web.AppRunner(create_app(self.cfg, self.model), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.cfg.port)
        await site.start()
        self.port = self._runner.addresses[0][1]


@dataclass
class PageLog:
    base: str
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [line for line in self.console if line.startswith(("pageerror", "error"))]


@contextmanager
def chromium(tmp_path: Path) -> Iterator:
    """A fresh headless Chromium (own --user-data-dir) through Playwright's sync API."""
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} is missing: run `make apt-test`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1280, "height": 860}, service_workers="block", accept_downloads=False)
        try:
            yield context
        finally:
            context.close()


# What the replay and dashboard pages show, read from their DOM and data- attributes (the pages carry no test
# hooks): installed in every test page as window.replayState() and window.dashState(name).
READERS = """
window.replayState = () => {
  const $ = (id) => document.getElementById(id), o = $('overlay'), st = $('stage'), p = $('plot'), u = $('upload');
  const num = (v) => (v === undefined || v === '' ? null : Number(v));
  const json = (v) => (v ? JSON.parse(v) : null);
  const picture = json(o.dataset.picture);
  return {
    scanId: st.dataset.scan || null, ready: st.dataset.ready === 'true', still: st.dataset.still === 'true',
    currentTime: num(o.dataset.time), frameIndex: num(o.dataset.frame), syncedBy: o.dataset.syncedBy || null,
    drawnBoxes: json(o.dataset.boxes) || [], heats: num(o.dataset.heat),
    picture: picture && {...picture, videoWidth: $('video').videoWidth, videoHeight: $('video').videoHeight,
                         naturalWidth: $('photo').naturalWidth, naturalHeight: $('photo').naturalHeight},
    playheadX: num(p.dataset.playhead), plotArea: json(p.dataset.area), bars: num(p.dataset.bars),
    upload: u.dataset.phase ? {phase: u.dataset.phase, id: u.dataset.scan || null} : null,
  };
};
window.dashState = (name) => {
  const tile = document.querySelector(`.tile[data-stream="${CSS.escape(name)}"]`);
  if (!tile) return null;
  const chips = [...tile.querySelectorAll('.faces-now .chip')];
  const fps = parseFloat(tile.querySelector('[data-stat="fps"]').textContent);
  return {
    status: tile.dataset.status, error: tile.querySelector('.tile-error').textContent || null,
    results: Number(tile.dataset.results), frames_analysed: Number(tile.dataset.frames),
    fps: Number.isFinite(fps) ? fps : null, faces: chips.map((c) => c.textContent), shown: tile.querySelector('.faces-now').textContent,
    alerts: Number(tile.querySelector('[data-stat="alerts"]').textContent),
  };
};
"""


def open_page(context, base: str, path: str, log: PageLog):
    page = context.new_page()
    page.add_init_script(READERS)

    def guard(route):
        url = route.request.url
        if url.startswith(base + "/") or url.startswith("data:") or url.startswith("blob:"):
            route.continue_()
        else:
            log.blocked.append(url)
            route.abort()

    page.route("**/*", guard)
    page.on("request", lambda r: log.requests.append(r.url))
    page.on("console", lambda m: log.console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: log.console.append(f"pageerror: {e}"))
    page.goto(base + path)
    return page


def overflow(page) -> list[str]:
    """Elements that stick out past the right edge of the viewport (a phone layout must have none)."""
    return page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > window.innerWidth + 0.5
                && !e.closest('.table-wrap, .scans, .alerts'))
        .map((e) => `${e.tagName}#${e.id}.${e.className}: ${Math.round(e.getBoundingClientRect().right)}`)""")


def screenshot(page, name: str, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=full_page)
    return path
