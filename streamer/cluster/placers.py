"""Where monitored streams run: on a Ray cluster, in worker processes on this machine, or in this process."""
from __future__ import annotations

import asyncio
import logging

from ..core.model import CUDA, Model
from .placement import RayStreams
from .processes import ProcessStreams

log = logging.getLogger(__name__)


async def stream_placer(ray: str | None, workers: int, model: Model) -> RayStreams | None:
    """``--ray ADDRESS``: the cluster's nodes; ``--stream-workers N`` (N > 1): N processes here; else None (the
    monitor runs its streams in this process)."""
    if ray:
        return await asyncio.to_thread(RayStreams, ray, model.dir)
    if workers > 1:
        if note := gpu_workers_note(workers, model.provider):
            log.warning(note)
        return ProcessStreams(workers, model.dir)
    return None


def gpu_workers_note(workers: int, provider: str) -> str | None:
    """What to know before N stream worker processes share one GPU, each with its own CUDA session."""
    if workers < 2 or provider != CUDA:
        return None
    return (f"{workers} stream worker processes will each open their own CUDA session on this GPU. Measured on an "
            "H200 with 12 of them, a worker's streams got slower the more it held: 3.3-12.8 fps with 2, 0.6-0.8 "
            "with 3 (README, GPU path). Without --stream-workers, one process runs every stream's inference")
