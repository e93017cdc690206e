"""An in-loop aiohttp test client over the real app with its own data folder."""
from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from streamer.core.model import Model
from streamer.server import create_app

from .conftest import loopback_config


@asynccontextmanager
async def api_client(model: Model, data_dir: Path, **overrides):
    app = create_app(loopback_config(data_dir=data_dir, **overrides), model)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


def form(path: Path | None = None, data: bytes | None = None, filename: str = "clip.mp4") -> aiohttp.FormData:
    body = aiohttp.FormData()
    body.add_field("file", data if data is not None else path.read_bytes(), filename=filename,
                   content_type="application/octet-stream")
    return body


async def read_events(client: TestClient, url: str, until, timeout: float = 60) -> list[dict]:
    """Server-sent events from ``url`` until ``until(event)`` is true."""
    events = []
    async with client.get(url) as resp:
        assert resp.headers["Content-Type"].startswith("text/event-stream")

        async def collect():
            async for raw in resp.content:
                line = raw.decode().strip()
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                    if until(events[-1]):
                        return

        await asyncio.wait_for(collect(), timeout)
    return events
