"""Alert webhooks: POSTed in the background with retries; a full queue drops (and counts), never blocks."""
from __future__ import annotations

import asyncio
import base64
import logging

import aiohttp

from .alerts import Alert

log = logging.getLogger(__name__)


class WebhookSender:
    def __init__(self, url: str, retries: int = 3, backoff: float = 0.5, maxsize: int = 100, timeout: float = 5.0):
        self.url, self.retries, self.backoff, self.timeout = url, retries, backoff, timeout
        self._queue: asyncio.Queue[dict] = asyncio.Queue(maxsize)
        self._task: asyncio.Task | None = None
        self.sent = self.failed = self.dropped = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook")

    def send(self, alert: Alert) -> None:
        payload = {"event": "deepfake_alert", **alert.to_dict(),
                   "snapshot_jpeg_base64": base64.b64encode(alert.snapshot).decode()}
        try:
            self._queue.put_nowait(payload)
        except asyncio.QueueFull:
            self.dropped += 1

    async def _run(self) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as session:
            while True:
                payload = await self._queue.get()
                await self._post(session, payload)

    async def _post(self, session: aiohttp.ClientSession, payload: dict) -> None:
        for attempt in range(self.retries + 1):
            try:
                async with session.post(self.url, json=payload) as resp:
                    if resp.status < 500:
                        self.sent += resp.status < 400
                        self.failed += resp.status >= 400
                        return
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                log.debug("webhook attempt %d failed: %s", attempt + 1, exc)
            await asyncio.sleep(self.backoff * 2 ** attempt)
        self.failed += 1

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
