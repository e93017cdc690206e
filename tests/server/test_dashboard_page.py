"""The dashboard in headless Chromium against a real RTSP camera (gst-rtsp-server on 127.0.0.1 with a real clip):
add the stream through the form, see its tile go live with scores that change and alerts with snapshots,
then remove it. Screenshots land in artifacts/server/dashboard-*.png.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from streamer.core.model import Model

from tests.server.conftest import loopback_config
from tests.server.pages_browser import PageLog, PageServer, chromium, open_page, overflow, screenshot

pytestmark = pytest.mark.timeout(120)


def fill(page, name: str, url: str, fps: str = "5", threshold: str = "0", alert_seconds: str = "0.5") -> None:
    page.fill("#f-name", name)
    page.fill("#f-url", url)
    page.fill("#f-fps", fps)
    page.fill("#f-threshold", threshold)
    page.fill("#f-alert", alert_seconds)
    page.click("#f-submit")


def test_dashboard_add_watch_and_remove_a_real_rtsp_stream(random_model_dir: Path, rtsp_server, tmp_path: Path) -> None:
    with PageServer(loopback_config(data_dir=tmp_path / "data"), Model(random_model_dir)) as server, \
            chromium(tmp_path) as browser:
        base = server.url
        log = PageLog(base)
        page = open_page(browser, base, "/dashboard", log)
        page.wait_for_function("() => document.getElementById('conn').dataset.state === 'live'", timeout=10000)
        assert page.is_visible("#no-streams")

        # The API's own 400 message shows in the form, and nothing is added.
        fill(page, "door", "file:///etc/passwd")
        page.wait_for_selector("#form-error:not([hidden])")
        assert "not allowed" in page.inner_text("#form-error")
        assert server.get_json("/api/streams")["streams"] == []

        # Threshold 0: every face is over it, so alerts come quickly.
        fill(page, "door", rtsp_server.url)
        page.wait_for_selector("#form-error", state="hidden")
        tile = page.locator(".tile[data-stream='door']")
        tile.wait_for()
        assert "Added door" in page.inner_text("#form-ok")
        page.wait_for_function("""() => { const s = dashState('door');
            return s && s.status === 'live' && s.results >= 3 && s.faces.length > 0; }""", timeout=30000)
        assert tile.locator(".pill").inner_text() == "Live"
        assert tile.get_attribute("data-status") == "live"

        # Scores keep coming: the shown result changes and the sparkline has points.
        first = page.evaluate("dashState('door')")
        page.wait_for_function("""(n) => { const s = dashState('door');
            return s.results >= n + 4 && s.fps > 0; }""", arg=first["results"], timeout=20000)
        later = page.evaluate("dashState('door')")
        assert later["results"] > first["results"]
        chip = tile.locator(".faces-now .chip").first
        track, score, verdict = chip.inner_text().split()
        assert track.startswith("#") and 0.0 <= float(score) <= 1.0 and verdict.lower() in ("real", "fake", "uncertain")
        spark = tile.locator("canvas.spark")
        lit = page.evaluate("""(c) => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }""", spark.element_handle())
        assert lit > 100

        # Alerts arrive live with their snapshot, on the feed and on the tile.
        page.wait_for_function("() => document.querySelectorAll('#alerts .alert').length > 0", timeout=20000)
        item = page.locator("#alerts .alert[data-stream='door']").first
        item.wait_for()
        page.wait_for_function("""() => { const img = document.querySelector('#alerts .alert img');
            return img && img.complete && img.naturalWidth > 20; }""", timeout=10000)
        assert "Last alert" in tile.locator(".last-alert").inner_text()
        # The tile shows the latest analysed frame (the server's 480 px wide thumbnail), refreshed.
        page.wait_for_function("""() => { const img = document.querySelector(".tile[data-stream='door'] img.thumb");
            return img && !img.hidden && img.naturalWidth === 480 && img.naturalHeight === 270; }""", timeout=15000)
        src = tile.locator("img.thumb").get_attribute("src")
        page.wait_for_function("(src) => document.querySelector(\".tile[data-stream='door'] img.thumb\").src !== src",
                               arg=src, timeout=10000)
        page.wait_for_function("() => dashState('door').frames_analysed >= 5", timeout=10000)
        page.wait_for_timeout(1200)
        screenshot(page, "dashboard-desktop.png", full_page=True)

        # A phone: one column, nothing sticks out sideways.
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(600)
        assert overflow(page) == []
        screenshot(page, "dashboard-phone.png", full_page=True)
        page.set_viewport_size({"width": 1280, "height": 860})

        # Remove takes a second click to confirm; then the tile and the server's stream are gone.
        remove = tile.locator("button.remove")
        remove.click()
        assert remove.inner_text() == "Confirm remove"
        remove.click()
        tile.wait_for(state="detached", timeout=10000)
        assert server.get_json("/api/streams")["streams"] == []
        assert page.is_visible("#no-streams")
        assert page.locator("#alerts .alert").count() > 0  # the history stays

        assert log.blocked == [] and all(u.startswith(base + "/") for u in log.requests if not u.startswith("data:"))
        # The rejected form post logs a 400 in the console; nothing else may.
        assert [e for e in log.errors if "400" not in e] == []


def test_dashboard_with_an_api_token_and_a_camera_that_does_not_answer(random_model_dir: Path, tmp_path: Path) -> None:
    cfg = loopback_config(data_dir=tmp_path / "data", api_token="s3cret-token")
    with PageServer(cfg, Model(random_model_dir)) as server, chromium(tmp_path) as browser:
        base = server.url
        log = PageLog(base)
        page = open_page(browser, base, "/dashboard", log)
        # Not signed in: the page sends us to the sign-in form, which refuses a wrong token.
        page.wait_for_url(f"{base}/signin?next=/dashboard")
        page.fill("#token", "wrong")
        page.click("#signin-submit")
        page.wait_for_selector("#signin-error:not([hidden])")
        assert server.get_json("/api/streams", token="s3cret-token")["streams"] == []

        # No frame ever comes from this camera, so the server has no thumbnail of it; pretend it has one, to see
        # that a stream that is not live keeps its last picture, dimmed.
        def with_thumbnail(route):
            if route.request.method != "GET":
                return route.fallback()
            resp = route.fetch()
            body = resp.json()
            for stream in body["streams"]:
                stream["thumbnail"] = f"/api/streams/{stream['name']}/thumbnail.jpg"
            route.fulfill(response=resp, json=body)

        picture = np.zeros((180, 320, 3), np.uint8)
        picture[:, :, 1] = 180
        jpeg = cv2.imencode(".jpg", picture)[1].tobytes()
        page.route(f"{base}/api/streams", with_thumbnail)
        page.route(f"{base}/api/streams/gate/thumbnail.jpg*",
                   lambda route: route.fulfill(body=jpeg, content_type="image/jpeg"))

        # Signed in, the cookie carries the token on every request, POST and DELETE included.
        page.fill("#token", "s3cret-token")
        page.click("#signin-submit")
        page.wait_for_url(f"{base}/dashboard")
        assert "s3cret-token" not in page.url and not any("s3cret-token" in u for u in log.requests)
        page.wait_for_function("() => document.getElementById('conn').dataset.state === 'live'", timeout=10000)
        fill(page, "gate", "rtsp://127.0.0.1:9/none")
        page.wait_for_function("() => document.getElementById('form-ok').textContent"
                               " || !document.getElementById('form-error').hidden")
        assert page.is_hidden("#form-error")
        tile = page.locator(".tile[data-stream='gate']")
        tile.wait_for()
        # Nothing listens on port 9: the tile says so, with the supervisor's reason.
        page.wait_for_function("""() => { const s = dashState('gate');
            return s && ['reconnecting', 'failed', 'stalled'].includes(s.status) && s.error; }""", timeout=20000)
        assert tile.locator(".tile-error").is_visible()
        assert tile.locator(".faces-now").inner_text() == "No frames yet"
        page.wait_for_function("""() => { const img = document.querySelector(".tile[data-stream='gate'] img.thumb");
            return img && !img.hidden && img.naturalWidth === 320; }""", timeout=10000)
        assert float(tile.locator("img.thumb").evaluate("(img) => getComputedStyle(img).opacity")) < 1
        screenshot(page, "dashboard-unreachable.png")
        tile.locator("button.remove").click()
        tile.locator("button.remove").click()
        tile.wait_for(state="detached", timeout=10000)
        assert server.get_json("/api/streams", token="s3cret-token")["streams"] == []
        assert log.blocked == []
        assert [e for e in log.errors if "401" not in e] == []
