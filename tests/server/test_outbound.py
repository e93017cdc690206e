"""Outbound address rules against a real server, inside a network namespace that has only ``lo``.

``test_rules_hold_in_a_loopback_only_namespace`` re-runs this module inside ``unshare --net`` with extra
addresses on ``lo`` (a metadata address, a private one), each with a listener that counts connections:
refused URLs must get 400 and no listener may see a connection. So a regression can never send traffic
off the machine. The ``test_isolated_*`` tests run only there.
"""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from streamer.runtime.netpolicy import REFUSED, AddressPolicy
from streamer.storage.store import Store

from .api import api_client
from .bad_servers import Listener
from bench.browser import ROOT, namespace_available, only_loopback, run_isolated

ISOLATED = os.environ.get("DFS_OUTBOUND_NETNS") == "1" and only_loopback()
EXTRA = ["169.254.169.254", "10.1.2.3"]  # added to lo inside the namespace
TOKEN = "t0ken-outbound"
isolated = pytest.mark.skipif(not ISOLATED, reason="runs inside the loopback-only namespace only")


def test_rules_hold_in_a_loopback_only_namespace():
    if ISOLATED:
        pytest.skip("already inside")
    why = namespace_available()
    if why:
        pytest.skip(f"no network namespace: {why}")
    proc = run_isolated("pytest", ["-q", "-p", "no:cacheprovider", str(Path(__file__).relative_to(ROOT)), "-k", "isolated"],
                        timeout=240, addresses=EXTRA, env={"DFS_OUTBOUND_NETNS": "1"})
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and "skipped" not in proc.stdout.splitlines()[-1], proc.stdout[-2000:]


@pytest.fixture
def listeners():
    made = {host: Listener(host) for host in ["127.0.0.1", *EXTRA]}
    yield made
    for listener in made.values():
        listener.close()


def refused_urls(listeners) -> list[str]:
    meta, private = listeners["169.254.169.254"].port, listeners["10.1.2.3"].port
    return [f"rtsp://169.254.169.254:{meta}/latest/meta-data/", f"rtsp://[::ffff:169.254.169.254]:{meta}/x",
            f"rtsp://2852039166:{meta}/decimal", "rtsp://[fe80::1]:554/x", "rtsp://224.0.0.1:554/x",
            "rtsp://0.0.0.0:554/x", f"rtsp://user:pw@10.1.2.3:{private}/private"]


@isolated
async def test_isolated_link_local_metadata_multicast_private_get_400_on_a_loopback_server(
        random_model, tmp_path, listeners, caplog):
    caplog.set_level("WARNING")
    async with api_client(random_model, tmp_path / "data") as client:
        for i, url in enumerate(refused_urls(listeners)):
            resp = await client.post("/api/streams", json={"name": f"s{i}", "url": url})
            assert resp.status == 400, url
            assert (await resp.json())["error"] == REFUSED  # one message, whatever the reason
        ok = await client.post("/api/streams", json={"name": "local", "url": f"rtsp://127.0.0.1:{listeners['127.0.0.1'].port}/x"})
        assert ok.status == 201  # loopback is allowed on a loopback-only server
        await asyncio.sleep(1.0)
    assert listeners["169.254.169.254"].connections == 0 and listeners["10.1.2.3"].connections == 0
    assert listeners["127.0.0.1"].connections >= 1
    assert "link-local" in caplog.text or "metadata" in caplog.text  # the detail is in the server log


@isolated
async def test_isolated_off_loopback_refuses_loopback_and_private_unless_allowed(random_model, tmp_path, listeners):
    local = f"rtsp://127.0.0.1:{listeners['127.0.0.1'].port}/x"
    private = f"rtsp://10.1.2.3:{listeners['10.1.2.3'].port}/x"
    async with api_client(random_model, tmp_path / "a", host="0.0.0.0", api_token=TOKEN) as client:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        for i, url in enumerate([local, private, f"rtsp://localhost:{listeners['127.0.0.1'].port}/x"]):
            resp = await client.post("/api/streams", json={"name": f"s{i}", "url": url}, headers=auth)
            assert resp.status == 400 and (await resp.json())["error"] == REFUSED, url
    assert listeners["127.0.0.1"].connections == 0 and listeners["10.1.2.3"].connections == 0
    async with api_client(random_model, tmp_path / "b", host="0.0.0.0", api_token=TOKEN,
                          allow_stream_hosts=("10.0.0.0/8",)) as client:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert (await client.post("/api/streams", json={"name": "lan", "url": private}, headers=auth)).status == 201
        assert (await client.post("/api/streams", json={"name": "lo", "url": local}, headers=auth)).status == 400
        meta = f"rtsp://169.254.169.254:{listeners['169.254.169.254'].port}/"
        assert (await client.post("/api/streams", json={"name": "m", "url": meta}, headers=auth)).status == 400
        await asyncio.sleep(1.0)
    assert listeners["10.1.2.3"].connections >= 1 and listeners["127.0.0.1"].connections == 0
    assert listeners["169.254.169.254"].connections == 0


@isolated
async def test_isolated_a_stored_stream_that_the_rules_now_refuse_is_never_connected(random_model, tmp_path, listeners):
    store = Store(tmp_path / "data" / "deepfake-streamer.sqlite")
    store.save_stream({"name": "old", "url": f"rtsp://10.1.2.3:{listeners['10.1.2.3'].port}/x", "fps": 5.0,
                       "threshold": 0.5, "alert_seconds": 2.0})
    store.close()
    async with api_client(random_model, tmp_path / "data") as client:
        for _ in range(40):
            stream = (await (await client.get("/api/streams")).json())["streams"][0]
            if stream["error"]:
                break
            await asyncio.sleep(0.1)
    assert REFUSED in stream["error"]
    assert listeners["10.1.2.3"].connections == 0


@isolated
async def test_isolated_http_streams_follow_no_redirect(random_model, tmp_path):
    from aiohttp import web

    hits: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        hits.append(request.path)
        if request.path == "/start":
            raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    meta = Listener("169.254.169.254")
    try:
        async with api_client(random_model, tmp_path / "data", allow_http_streams=True) as client:
            url = f"http://127.0.0.1:{port}/start"
            assert (await client.post("/api/streams", json={"name": "web", "url": url})).status == 201
            for _ in range(50):
                if hits:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)
    finally:
        await runner.cleanup()
        meta.close()
    assert hits and set(hits) == {"/start"} and meta.connections == 0


@isolated
async def test_isolated_webhook_gets_the_same_rules(listeners):
    from streamer.live.alerts import Alert
    from streamer.live.webhook import WebhookSender

    for host in ("169.254.169.254", "10.1.2.3"):
        sender = WebhookSender(f"http://{host}:{listeners[host].port}/hook", retries=0, backoff=0.01,
                               policy=AddressPolicy.loopback_only())
        sender.start()
        sender.send(Alert("cam", 1, 0.0, 0.9))
        for _ in range(50):
            if sender.failed:
                break
            await asyncio.sleep(0.02)
        await sender.close()
        assert sender.failed == 1 and sender.sent == 0 and listeners[host].connections == 0
