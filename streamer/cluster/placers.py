"""Where monitored streams run: on a Ray cluster, in worker processes on this machine, or in this process."""
from __future__ import annotations

import asyncio
from pathlib import Path

from .placement import RayStreams
from .processes import ProcessStreams


async def stream_placer(ray: str | None, workers: int, model_dir: Path | str) -> RayStreams | None:
    """``--ray ADDRESS``: the cluster's nodes; ``--stream-workers N`` (N > 1): N processes here; else None (the
    monitor runs its streams in this process)."""
    if ray:
        return await asyncio.to_thread(RayStreams, ray, model_dir)
    if workers > 1:
        return ProcessStreams(workers, model_dir)
    return None
