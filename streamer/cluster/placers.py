"""Where monitored streams run: on a Ray cluster, in worker processes on this machine, or in this process."""
from __future__ import annotations

import asyncio

from ..core.model import Model
from .placement import RayStreams
from .processes import ProcessStreams


async def stream_placer(ray: str | None, workers: int, model: Model) -> RayStreams | None:
    """``--ray ADDRESS``: the cluster's nodes; ``--stream-workers N`` (N > 1): N processes here; else None (the
    monitor runs its streams in this process)."""
    if ray:
        return await asyncio.to_thread(RayStreams, ray, model.dir)
    if workers > 1:
        return ProcessStreams(workers, model.dir)
    return None

