"""Latest-frame hand-off between a live source and the analysis: never blocks, never grows."""
from __future__ import annotations

import asyncio
import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """A one-item slot: ``put`` replaces an item not yet taken (counted in ``dropped``).

    ``put`` from any thread: a reader thread's frame waits here, not in the event loop's queue, and the loop is
    woken once per item taken however many are put, so a source that floods holds one frame and costs the
    loop one wake-up. ``get`` on the event loop (``bind`` it first when another thread puts).
    """

    def __init__(self) -> None:
        self._item: T | None = None
        self._lock = threading.Lock()
        self._ready = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._signalled = False  # a wake-up is on its way or done, and nothing has been taken since
        self._closed = False
        self.dropped = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def put(self, item: T) -> None:
        with self._lock:
            if self._closed:
                return
            if self._item is not None:
                self.dropped += 1
            self._item = item
            wake, self._signalled = not self._signalled, True
        if wake:
            self._wake()

    def _wake(self) -> None:
        try:
            on_loop = self._loop is None or asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            self._ready.set()
        else:
            self._loop.call_soon_threadsafe(self._ready.set)

    async def get(self) -> T | None:
        """The newest item, or None once closed."""
        while True:
            with self._lock:
                item, self._item = self._item, None
                self._signalled = False
                if item is not None:
                    return item
                if self._closed:
                    return None
                self._ready.clear()
            await self._ready.wait()

    def close(self) -> None:
        with self._lock:
            self._closed = True
        try:
            self._wake()
        except RuntimeError:  # the loop has closed: nobody waits any more
            pass
