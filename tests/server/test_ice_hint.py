"""Which ICE addresses the server offers, said at start-up, and the webcam page's hint when none can reach it.

A machine with no interface besides loopback is made with ``unshare --net``: the wrapper test re-runs this
module there (``DFS_ICE_NETNS=1``), where the ``test_isolated_*`` tests run a real ``serve`` and Chromium.
"""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from streamer.core.model import Model
from streamer.live.ice import IcePlan

from .api import api_client
from bench.browser import ROOT, namespace_available, only_loopback, run_isolated
from .pages_browser import PageLog, PageServer, chromium, open_page, screenshot
from .test_serve_cli import serve, wait_json
from tests.server.conftest import loopback_config

ISOLATED = os.environ.get("DFS_ICE_NETNS") == "1" and only_loopback()
isolated = pytest.mark.skipif(not ISOLATED, reason="runs inside the loopback-only namespace only")


def test_hint_says_when_no_offered_address_can_reach_the_browser():
    nowhere = IcePlan((), relayed=False)
    assert "--ice-address 127.0.0.1" in nowhere.hint(client_is_local=True)
    assert nowhere.summary() == "webcam video (ICE) offered on: none"
    local = IcePlan(("127.0.0.1",), relayed=False)
    assert local.hint(client_is_local=True) is None
    assert "another machine" in local.hint(client_is_local=False)
    assert IcePlan(("192.168.1.5", "127.0.0.1"), relayed=False).hint(client_is_local=False) is None
    assert IcePlan((), relayed=True).hint(client_is_local=False) is None  # TURN relays the video


async def test_config_lists_the_offered_addresses(random_model, tmp_path):
    async with api_client(random_model, tmp_path / "data", ice_addresses=("127.0.0.1",)) as client:
        config = await (await client.get("/api/config")).json()
    assert config["ice"] == {"addresses": ["127.0.0.1"], "hint": None}  # the test client is on 127.0.0.1
    assert config["model"]["provider"] == random_model.provider  # where the encoder runs, for operators to see


def test_ice_hint_in_a_loopback_only_namespace():
    if ISOLATED:
        pytest.skip("already inside")
    why = namespace_available()
    if why:
        pytest.skip(f"no network namespace: {why}")
    # generous: on a loaded machine the inner pytest is slow to import
    proc = run_isolated("pytest", ["-q", "-p", "no:cacheprovider", str(Path(__file__).relative_to(ROOT)), "-k", "isolated"],
                        timeout=480, env={"DFS_ICE_NETNS": "1"})
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert "2 passed" in proc.stdout, proc.stdout[-2000:]


@isolated
@pytest.mark.timeout(120)
def test_isolated_serve_says_at_start_up_that_it_offers_no_ice_address(tmp_path, random_model_dir):
    proc = serve(["--model", str(random_model_dir), "--port", "0", "--data-dir", str(tmp_path / "data")], tmp_path)
    try:
        line = proc.stdout.readline()
        port = int(line.split("localhost:")[1].split("/")[0])
        config = wait_json(f"http://127.0.0.1:{port}/api/config", timeout=10)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert config["ice"]["addresses"] == [] and "--ice-address" in config["ice"]["hint"]
    assert "WARNING" in err and "webcam video (ICE) offered on: none" in err, err[-2000:]


@isolated
@pytest.mark.timeout(120)
def test_isolated_webcam_page_shows_the_hint(tmp_path, random_model_dir):
    with PageServer(loopback_config(data_dir=tmp_path / "data", ice_addresses=()), Model(random_model_dir)) as server, \
            chromium(tmp_path) as browser:
        page = open_page(browser, server.url, "/", PageLog(server.url))
        page.wait_for_selector("#notice:not([hidden])", timeout=10000)
        text = page.inner_text("#notice")
        screenshot(page, "webcam-no-ice-address.png")
    assert "no address for webcam video" in text and "--ice-address 127.0.0.1" in text
