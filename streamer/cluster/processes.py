"""Live streams in worker processes on this machine: the cluster's placement, without Ray.

One Python process runs the Python side of every stream one at a time (the GIL), so on a machine with several
cores it stops short of them: 20 streams on 2 cores kept one process near 160 % of 200 %, while two worker
processes of 10 streams each analysed 35-75 % more frames (the README, *Measured*). ``ProcessStreams`` starts
``count`` worker processes, each a ``StreamWorker`` (its own readers, pipelines and batched inference), and places
and collects streams exactly as ``RayStreams`` does with actors; a worker process that dies is replaced, and its
streams move to the others at once.
"""
from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from ..core.faces.detector import configured_mode
from ..core.inference import default_threads
from .placement import RayStreams, Worker
from .worker import StreamWorker


class WorkerGone(RuntimeError):
    """The worker process ended before it answered."""


class _Call:
    def __init__(self, handle: "ProcessHandle", method: str):
        self._handle, self._method = handle, method

    def remote(self, *args) -> asyncio.Future:
        return self._handle.call(self._method, *args)


class ProcessHandle:
    """A worker process, called as ``RayStreams`` calls an actor: ``handle.method.remote(*args)`` gives a future."""

    def __init__(self, model_dir: str, detector: str | None, threads: int, loop: asyncio.AbstractEventLoop):
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        # the model's path, not its bytes: what start() writes to the new process must not wait for it to read
        self.process = context.Process(target=serve, args=(child, model_dir, detector, threads),
                                       name="dfs-stream-worker", daemon=True)
        self.process.start()
        child.close()
        self._loop = loop
        self._ids = itertools.count()
        self._pending: dict[int, asyncio.Future] = {}
        self._send_lock = threading.Lock()
        threading.Thread(target=self._read, name=f"stream-worker-{self.process.pid}", daemon=True).start()

    def __getattr__(self, method: str) -> _Call:
        if method.startswith("_"):
            raise AttributeError(method)
        return _Call(self, method)

    def call(self, method: str, *args) -> asyncio.Future:
        future = self._loop.create_future()
        number = next(self._ids)
        self._pending[number] = future
        try:
            with self._send_lock:
                self._conn.send((number, method, args))
        except (OSError, ValueError) as exc:  # the pipe is closed: the process has gone
            self._pending.pop(number, None)
            future.set_exception(WorkerGone(f"stream worker {self.process.pid}: {exc}"))
        return future

    def _read(self) -> None:
        while True:
            try:
                number, ok, value = self._conn.recv()
            except (EOFError, OSError):
                break
            self._loop.call_soon_threadsafe(self._answer, number, ok, value)
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._fail_all)

    def _answer(self, number: int, ok: bool, value: object) -> None:
        future = self._pending.pop(number, None)
        if future is not None and not future.done():
            future.set_result(value) if ok else future.set_exception(RuntimeError(value))

    def _fail_all(self) -> None:
        gone = WorkerGone(f"stream worker {self.process.pid} ended (exit code {self.process.exitcode})")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(gone)
        self._pending.clear()

    def kill(self) -> None:
        self._conn.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)


class ProcessStreams(RayStreams):
    """``count`` local stream-worker processes; the placement, collection and recovery of ``RayStreams``."""

    def __init__(self, count: int, model_dir: Path | str):
        if count < 1:
            raise ValueError("need at least one stream worker process")
        self.count = count
        self.threads = max(1, default_threads() // count)  # inference threads each: the cores shared out
        self._numbers = itertools.count(1)  # workers are named local-1, local-2...: a replacement gets a new name
        self._model_dir = str(model_dir)
        self._loop = asyncio.get_running_loop()
        self._init_state()
        self._ensure_workers()

    def _ensure_workers(self) -> None:
        while len(self.workers) < self.count:
            handle = ProcessHandle(self._model_dir, configured_mode(), self.threads, self._loop)
            name = f"local-{next(self._numbers)}"
            self.workers[name] = Worker(name, handle)
        self._nodes_checked = time.monotonic()

    def _kill(self, handle: ProcessHandle) -> None:
        handle.kill()


def serve(conn: Connection, model_dir: str, detector: str | None, threads: int) -> None:
    """A worker process: its ``StreamWorker`` answers the parent's calls until the parent goes."""
    asyncio.run(_serve(conn, StreamWorker(model_dir, detector, threads)))


async def _serve(conn: Connection, worker: StreamWorker) -> None:
    tasks: set[asyncio.Task] = set()
    while True:
        try:
            number, method, args = await asyncio.to_thread(conn.recv)
        except (EOFError, OSError):
            break  # the parent has gone
        if method == "close":
            await asyncio.gather(*tasks, return_exceptions=True)
            await _answer(conn, worker, number, method, args)
            return
        task = asyncio.create_task(_answer(conn, worker, number, method, args))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await worker.close()


async def _answer(conn: Connection, worker: StreamWorker, number: int, method: str, args: tuple) -> None:
    try:
        result, ok = await getattr(worker, method)(*args), True
    except Exception as exc:  # handed to the parent's future
        result, ok = f"{type(exc).__name__}: {exc}", False
    try:
        conn.send((number, ok, result))
    except (OSError, ValueError):
        pass  # the parent has gone
