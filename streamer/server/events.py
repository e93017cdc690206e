"""Server-sent events: a hub that fans out small JSON events to every listening page."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from aiohttp import web

from ..live.status import Event

HEARTBEAT_SECONDS = 15.0
CLOSED = {"type": "closed"}  # sentinel: the hub is shutting down


class EventHub:
    """Each subscriber has a bounded queue; a slow page loses its oldest events, never the server's memory."""

    def __init__(self, maxsize: int = 256):
        self.maxsize = maxsize
        self._subscribers: set[asyncio.Queue] = set()

    def publish(self, event: Event | dict) -> None:
        if not isinstance(event, dict):
            event = event.to_dict()
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(self.maxsize)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._subscribers.discard(queue)

    def close(self) -> None:
        """End every open event stream (at server shutdown)."""
        for queue in self._subscribers:
            while queue.full():
                queue.get_nowait()
            queue.put_nowait(CLOSED)


async def stream_events(request: web.Request, hub: EventHub, keep: Callable[[dict], bool] = lambda e: True,
                        initial: list[dict] | None = None,
                        last: Callable[[dict], bool] = lambda e: False,
                        transform: Callable[[dict], dict] = lambda e: e) -> web.StreamResponse:
    """Serve ``hub``'s events matching ``keep`` as text/event-stream until the client goes away, the
    hub closes, or an event for which ``last`` is true has been sent; ``transform`` shapes what is sent."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    queue = hub.subscribe()
    try:
        for event in initial or []:
            await response.write(_encode(event))
            if last(event):
                return response
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
            except asyncio.TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if event is CLOSED:
                break
            if keep(event):
                await response.write(_encode(transform(event)))
                if last(event):
                    break
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        hub.unsubscribe(queue)
    return response


def _encode(event: dict) -> bytes:
    return f"event: {event.get('type', 'message')}\ndata: {json.dumps(event)}\n\n".encode()
