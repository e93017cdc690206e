"""Latest-frame hand-off between a live source and the analysis: never blocks, never grows."""
from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """A one-item slot: ``put`` replaces an item not yet taken (counted in ``dropped``).

    Call ``put`` on the event loop's thread; from another thread use ``loop.call_soon_threadsafe``.
    """

    def __init__(self) -> None:
        self._item: T | None = None
        self._ready = asyncio.Event()
        self._closed = False
        self.dropped = 0

    def put(self, item: T) -> None:
        if self._closed:
            return
        if self._item is not None:
            self.dropped += 1
        self._item = item
        self._ready.set()

    async def get(self) -> T | None:
        """The newest item, or None once closed."""
        while self._item is None:
            if self._closed:
                return None
            self._ready.clear()
            await self._ready.wait()
        item, self._item = self._item, None
        return item

    def close(self) -> None:
        self._closed = True
        self._ready.set()
