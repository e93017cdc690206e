"""The dashboard in headless Chromium: a failed stream shows a Retry button that connects it again."""
from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from streamer.core.model import Model

from tests.server.conftest import loopback_config
from tests.server.pages_browser import PageLog, PageServer, chromium, open_page

pytestmark = pytest.mark.timeout(120)


def test_a_failed_stream_can_be_retried(random_model_dir: Path, tmp_path: Path) -> None:
    with PageServer(loopback_config(data_dir=tmp_path / "data"), Model(random_model_dir)) as server, \
            chromium(tmp_path) as browser:
        body = json.dumps({"name": "gate", "url": "rtsp://cam:secret@127.0.0.1:9/none"}).encode()
        request = urllib.request.Request(server.url + "/api/streams", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request) as resp:
            assert resp.status == 201
        log = PageLog(server.url)
        page = open_page(browser, server.url, "/dashboard", log)
        tile = page.locator(".tile[data-stream='gate']")
        tile.wait_for()
        assert tile.locator("button.retry").is_hidden()
        # Nothing listens on port 9: five refused attempts with backoff, then failed.
        page.wait_for_function("() => (dashState('gate') || {}).status === 'failed'", timeout=60000)
        retry = tile.locator("button.retry")
        retry.wait_for(state="visible")
        retry.click()
        page.wait_for_function("() => (dashState('gate') || {}).status !== 'failed'", timeout=10000)
        assert server.get_json("/api/streams")["streams"][0]["status"] != "failed"
        assert "secret" not in page.content()
        assert [e for e in log.errors if "400" not in e] == []
