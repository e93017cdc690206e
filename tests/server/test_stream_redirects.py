"""Outbound rules hold for every connection made for a stream: RTSP(S) redirects, HLS segments and names that
resolve elsewhere after the check. Real servers on 127.0.0.2 (allowed) point at a listener on 127.0.0.1
(refused by ``--allow-stream-hosts 127.0.0.2/32``), which must count no connection; the stream says why."""
from __future__ import annotations

import asyncio
import socket
import ssl

import av
import pytest

from streamer.runtime.assets import asset_path
from streamer.runtime.netpolicy import REDIRECT, REFUSED

from .api import api_client
from .bad_servers import HlsServer, Listener, RedirectingRtsp, ts_segment
from .test_serve_cli import self_signed

ALLOWED = "127.0.0.2"
RULES = {"allow_stream_hosts": (f"{ALLOWED}/32",)}


async def wait_stream(client, until, timeout: float = 30) -> dict:
    stream: dict = {}
    for _ in range(int(timeout / 0.1)):
        stream = (await (await client.get("/api/streams")).json())["streams"][0]
        if until(stream):
            return stream
        await asyncio.sleep(0.1)
    raise AssertionError(f"stream never got there: {stream}")


@pytest.fixture
def refused():
    listener = Listener("127.0.0.1")
    yield listener
    listener.close()


@pytest.mark.parametrize("hidden", [False, True], ids=["plain", "hidden-after-interleaved-data"])
def test_ffmpeg_alone_follows_these_redirects(refused, hidden):
    """Why the relay exists; if FFmpeg ever stops following them, this fails and the relay can be revisited."""
    cam = RedirectingRtsp(ALLOWED, f"rtsp://127.0.0.1:{refused.port}/x", hidden)
    try:
        with pytest.raises(av.error.FFmpegError):
            av.open(f"rtsp://{ALLOWED}:{cam.port}/cam", options={"rtsp_transport": "tcp", "timeout": "2000000"},
                    timeout=5)
    finally:
        cam.close()
    assert "DESCRIBE" in cam.requests and refused.connections >= 1


@pytest.mark.parametrize("scheme,hidden", [("rtsp", False), ("rtsp", True), ("rtsps", False)])
async def test_rtsp_redirect_to_a_refused_address_never_connects(random_model, tmp_path, refused, scheme, hidden):
    tls = None
    if scheme == "rtsps":
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(*self_signed(tmp_path))
    cam = RedirectingRtsp(ALLOWED, f"{scheme}://127.0.0.1:{refused.port}/x", hidden, tls)
    try:
        async with api_client(random_model, tmp_path / "data", **RULES) as client:
            resp = await client.post("/api/streams", json={"name": "cam", "url": f"{scheme}://{ALLOWED}:{cam.port}/c"})
            assert resp.status == 201
            stream = await wait_stream(client, lambda s: s["error"] == REDIRECT and cam.requests.count("DESCRIBE") >= 2)
    finally:
        cam.close()
    assert refused.connections == 0  # on every reconnect, too
    assert stream["status"] in ("reconnecting", "failed")


async def test_hls_segments_on_a_refused_host_are_never_fetched(random_model, tmp_path, refused):
    hls = HlsServer(ALLOWED, ts_segment(asset_path("WolfgangLanger_Pexels.mp4"), 3.0))
    hls.segment_urls = [f"http://{ALLOWED}:{hls.port}/seg.ts", f"http://127.0.0.1:{refused.port}/seg1.ts",
                        f"http://127.0.0.1:{refused.port}/seg2.ts"]
    try:
        async with api_client(random_model, tmp_path / "data", allow_http_streams=True, **RULES) as client:
            assert (await client.post("/api/streams", json={"name": "hls", "url": hls.url})).status == 201
            stream = await wait_stream(client, lambda s: s["frames_analysed"] > 0 and s["error"]
                                       and REFUSED in s["error"] and s["reconnects"] >= 1)
    finally:
        hls.close()
    assert refused.connections == 0
    assert hls.paths.count("/seg.ts") >= 1  # the allowed segment was played: the refusal is the other ones


async def test_hls_playlist_that_redirects_is_not_followed(random_model, tmp_path, refused):
    hls = HlsServer(ALLOWED)
    try:
        async with api_client(random_model, tmp_path / "data", allow_http_streams=True, **RULES) as client:
            url = f"http://{ALLOWED}:{hls.port}/moved?to=127.0.0.1:{refused.port}"
            hls.redirects = {"/moved": f"http://127.0.0.1:{refused.port}/live.m3u8"}
            assert (await client.post("/api/streams", json={"name": "hls", "url": url})).status == 201
            await wait_stream(client, lambda s: s["error"] == REDIRECT)
    finally:
        hls.close()
    assert refused.connections == 0


def listeners_on_one_port() -> tuple[Listener, Listener]:
    for _ in range(20):
        allowed = Listener(ALLOWED)
        try:
            return allowed, Listener("127.0.0.1", allowed.port)
        except OSError:
            allowed.close()
    raise RuntimeError("no port free on both addresses")


async def test_a_name_that_rebinds_to_a_refused_address_is_never_connected(random_model, tmp_path, monkeypatch):
    """The name resolves to the allowed address for the check and the first connections, then to the refused
    one (DNS rebinding). FFmpeg never resolves it: each connection resolves, checks and connects once."""
    allowed, refused = listeners_on_one_port()
    answer = {"address": ALLOWED}
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host == "cam.rebind.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer["address"], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    try:
        async with api_client(random_model, tmp_path / "data", **RULES) as client:
            url = f"rtsp://cam.rebind.test:{allowed.port}/x"
            assert (await client.post("/api/streams", json={"name": "cam", "url": url})).status == 201
            for _ in range(100):
                if allowed.connections:
                    break
                await asyncio.sleep(0.1)
            assert allowed.connections >= 1  # made through the in-process resolver, to the checked address
            answer["address"] = "127.0.0.1"
            stream = await wait_stream(client, lambda s: s["error"] and REFUSED in s["error"])
    finally:
        allowed.close()
        refused.close()
    assert refused.connections == 0
    assert stream["status"] in ("reconnecting", "failed")


async def test_upper_case_scheme_is_normalised(random_model, tmp_path):
    async with api_client(random_model, tmp_path / "data") as client:
        resp = await client.post("/api/streams", json={"name": "cam", "url": "RTSP://127.0.0.1:9/x"})
        assert resp.status == 201
        assert (await resp.json())["url"] == "rtsp://127.0.0.1:9/x"
        resp = await client.post("/api/streams", json={"name": "web", "url": "HTTP://127.0.0.1:9/x"})
        assert resp.status == 400  # http streams are off unless allowed, whatever the case
