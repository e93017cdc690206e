"""Alert webhooks: POSTed in the background with retries; a full queue drops (and counts), never blocks."""
from __future__ import annotations

import asyncio
import base64
import logging

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver

from ..runtime.netpolicy import AddressPolicy, PolicyError, check_url_host_async
from .alerts import Alert

log = logging.getLogger(__name__)


class PolicyResolver(AbstractResolver):
    """Resolves as usual, then refuses any address the outbound rules refuse: the connection goes to an
    address that was checked (no second lookup to rebind)."""

    def __init__(self, policy: AddressPolicy):
        self.policy, self._inner = policy, DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family=0):
        results = await self._inner.resolve(host, port, family)
        try:
            self.policy.check_addresses(host, [r["host"] for r in results])
        except PolicyError as exc:
            log.warning("webhook address refused for host %s: %s", host, exc.reason)
            raise OSError(str(exc)) from exc
        return results

    async def close(self) -> None:
        await self._inner.close()


class WebhookSender:
    """POSTs alerts to ``url``; its host must pass ``policy`` (checked before every attempt), no redirects."""

    def __init__(self, url: str, retries: int = 3, backoff: float = 0.5, maxsize: int = 100, timeout: float = 5.0,
                 policy: AddressPolicy | None = None):
        self.url, self.retries, self.backoff, self.timeout = url, retries, backoff, timeout
        self.policy = policy or AddressPolicy.trusting()
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
        connector = aiohttp.TCPConnector(resolver=PolicyResolver(self.policy))
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout),
                                         connector=connector) as session:
            while True:
                payload = await self._queue.get()
                await self._post(session, payload)

    async def _post(self, session: aiohttp.ClientSession, payload: dict) -> None:
        try:
            await check_url_host_async(self.url, self.policy)  # an IP literal never reaches the resolver
        except PolicyError:
            self.failed += 1
            return
        for attempt in range(self.retries + 1):
            try:
                async with session.post(self.url, json=payload, allow_redirects=False) as resp:
                    if resp.status < 500:
                        self.sent += resp.status < 300
                        self.failed += resp.status >= 300  # a redirect is not followed: not delivered
                        return
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                log.debug("webhook attempt %d failed: %s", attempt + 1, exc)
            await asyncio.sleep(self.backoff * 2 ** attempt)
        self.failed += 1

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
