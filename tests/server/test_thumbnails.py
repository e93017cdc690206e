"""Latest-frame thumbnails of monitored streams (streamer/server/thumbnails.py), on a bare app."""
from __future__ import annotations

import cv2
import numpy as np
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from streamer.media.video import Frame
from streamer.server.keys import THUMBNAILS_KEY
from streamer.server.stream_routes import stream_thumbnail
from streamer.server.thumbnails import Thumbnails, thumbnail_url


def test_offer_downscales_and_throttles() -> None:
    thumbs = Thumbnails(max_width=320, interval=1.0)
    frame = np.zeros((360, 640, 3), np.uint8)
    frame[:, :320] = (255, 0, 0)  # left half red (RGB)
    assert thumbs.offer("door", Frame(frame, 0.0, 0), now=100.0)
    assert not thumbs.offer("door", Frame(np.zeros_like(frame), 0.5, 1), now=100.5)  # too soon: the red one stays
    data, taken = thumbs.get("door")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (180, 320, 3) and taken == 100.0
    b, g, r = image[90, 40]
    assert r > 200 and g < 60 and b < 60
    assert thumbs.offer("door", Frame(np.zeros_like(frame), 1.5, 2), now=101.5)
    thumbs.drop("door")
    assert not thumbs.has("door") and thumbs.get("door") is None


async def test_route_serves_the_latest_jpeg_or_404() -> None:
    app = web.Application()
    thumbs = Thumbnails()
    app[THUMBNAILS_KEY] = thumbs
    app.router.add_get("/api/streams/{name}/thumbnail.jpg", stream_thumbnail)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        missing = await client.get(thumbnail_url("front door"))
        assert missing.status == 404 and (await missing.json())["status"] == 404
        thumbs.offer("front door", Frame(np.full((240, 320, 3), 128, np.uint8), 0.0, 0))
        resp = await client.get(thumbnail_url("front door"))
        assert resp.status == 200 and resp.headers["Content-Type"] == "image/jpeg"
        assert resp.headers["Cache-Control"] == "no-store" and float(resp.headers["X-Thumbnail-Age"]) < 5
        assert cv2.imdecode(np.frombuffer(await resp.read(), np.uint8), cv2.IMREAD_COLOR).shape == (240, 320, 3)
