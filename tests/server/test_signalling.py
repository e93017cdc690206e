"""Signalling over HTTP against the running server: bad offers, the session limit, loopback-only ICE."""
from __future__ import annotations

import json
import re

import aiohttp
import pytest

from streamer.live.signalling import OfferError, parse_offer

from tests.server.client import Peer

VIDEO_SDP = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nm=application 9 x\r\n"


@pytest.mark.parametrize("body, fragment", [
    (b"not json at all", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b"[1, 2]", "JSON object"),
    (b'{"type": "offer"}', "missing 'sdp'"),
    (b'{}', "missing 'sdp' and 'type'"),
    (json.dumps({"sdp": VIDEO_SDP, "type": "answer"}).encode(), "Expected type 'offer'"),
    (json.dumps({"sdp": 42, "type": "offer"}).encode(), "not a session description"),
    (json.dumps({"sdp": "hello", "type": "offer"}).encode(), "not a session description"),
    (json.dumps({"sdp": "v=0\r\nm=audio 9 x\r\nm=application 9 y\r\n", "type": "offer"}).encode(), "no video"),
    (json.dumps({"sdp": "v=0\r\nm=video 9 x\r\n", "type": "offer"}).encode(), "no data channel"),
    (json.dumps({"sdp": "v=0\r\nm=video 9 x\r\na=recvonly\r\nm=application 9 y\r\n", "type": "offer"}).encode(),
     "video is not sent"),
    (json.dumps({"sdp": "v=0\r\nm=video 9 x\r\na=inactive\r\nm=application 9 y\r\n", "type": "offer"}).encode(),
     "video is not sent"),
])
def test_parse_offer_rejects(body: bytes, fragment: str) -> None:
    with pytest.raises(OfferError) as info:
        parse_offer(body)
    assert info.value.status == 400
    assert fragment in info.value.message


async def test_malformed_offers_get_400_and_server_keeps_serving(server) -> None:
    bodies = [b"not json", b'{"sdp": "v=0"}', json.dumps({"sdp": VIDEO_SDP, "type": "answer"}).encode(),
              json.dumps({"sdp": VIDEO_SDP + "a=garbage-without-ice\r\n", "type": "offer"}).encode(),
              json.dumps({"sdp": "v=0\r\nm=video 0 x\r\nm=application banana\r\n", "type": "offer"}).encode()]
    async with aiohttp.ClientSession() as http:
        for body in bodies:
            async with http.post(server.url + "/api/offer", data=body) as response:
                assert response.status == 400, body
                payload = await response.json()
                assert payload["status"] == 400 and payload["error"]
        async with http.post(server.url + "/api/offer", data=b"{" + b" " * 70_000 + b"}") as response:
            assert response.status == 413
            assert "larger than" in (await response.json())["error"]
        async with http.get(server.url + "/healthz") as response:
            assert response.status == 200 and (await response.json())["status"] == "ok"
    stats = server.get_json("/api/sessions")
    assert stats["sessions"]["active"] == 0 and stats["session_threads"] == 0 and stats["session_tasks"] == 0


async def test_answer_offers_only_loopback_candidates(server) -> None:
    peer = Peer(track=None)
    try:
        offer = await peer.offer()
        assert re.findall(r"a=candidate:\S+ \d \S+ \d+ (\S+) ", offer["sdp"]) and \
            set(re.findall(r"a=candidate:\S+ \d \S+ \d+ (\S+) ", offer["sdp"])) == {"127.0.0.1"}
        async with aiohttp.ClientSession() as http:
            # A data channel alone is not a webcam session.
            async with http.post(server.url + "/api/offer", json=offer) as response:
                assert response.status == 400
                assert "no video" in (await response.json())["error"]
    finally:
        await peer.close()


async def test_session_limit_answers_503_with_message(server, clip) -> None:
    from tests.server.client import ClipTrack

    peers = [Peer(ClipTrack(clip("single_face.mp4"), seconds=0.5)) for _ in range(3)]
    try:
        async with aiohttp.ClientSession() as http:
            statuses = []
            for peer in peers:
                response = await peer.connect(http, server.url)
                statuses.append(response.status)
                if response.status == 503:
                    message = (await response.json())["error"]
            assert statuses == [200, 200, 503]
            assert "maximum" in message
            candidates = re.findall(r"a=candidate:\S+ \d \S+ \d+ (\S+) ", peers[0].answer["sdp"])
            assert candidates and set(candidates) == {"127.0.0.1"}
            assert server.get_json("/api/sessions")["sessions"]["rejected"] == 1
    finally:
        for peer in peers:
            await peer.close()


async def test_webcam_signalling_after_signing_in(random_model_dir, clip) -> None:
    """With an API token set (required beyond loopback), a visitor signed in by cookie connects."""
    from streamer.core.model import Model
    from tests.server.client import ClipTrack
    from tests.server.conftest import loopback_config
    from bench.harness import ServerThread

    with ServerThread(loopback_config(api_token="s3cret"), Model(random_model_dir)) as server:
        peer = Peer(ClipTrack(clip("single_face.mp4"), seconds=0.3))
        try:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                response = await peer.connect(http, server.url)
                assert response.status == 401
                async with http.post(server.url + "/api/auth/login", json={"token": "s3cret"}) as signed_in:
                    assert signed_in.status == 200
                response = await peer.connect(http, server.url)
                assert response.status == 200, await response.text()
                async with http.delete(f"{server.url}/api/sessions/{peer.answer['session']}") as closed:
                    assert closed.status == 200
                async with http.post(server.url + "/api/offer", data=b"nope") as bad:
                    assert bad.status == 400
        finally:
            await peer.close()
