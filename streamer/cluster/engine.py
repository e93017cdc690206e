"""Where a file scan's segments run: worker processes here, a Ray cluster, or this process alone."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..core.inference import default_threads
from ..core.model import Model
from ..files.segments import Runner
from ..files.segments.pool import SegmentPool
from .scans import RayScans

POOL_MIN_SECONDS = 60.0  # a single shorter file is scanned in this process: starting workers costs seconds


@dataclass
class Engine:
    run: Runner | None  # None: scan in this process
    parts: int  # segments per file
    close: Callable[[], None]


def scan_engine(model: Model, workers: int | None, ray_address: str | None, worth_a_pool: bool = True) -> Engine:
    """``--ray ADDRESS``: the cluster's tasks; else ``workers`` processes (default: one per core), when the work
    is worth starting them for."""
    if ray_address:
        ray_scans = RayScans(ray_address, model.dir)
        return Engine(ray_scans.run, ray_scans.parts, ray_scans.close)
    workers = workers or default_threads()
    if workers < 2 or not worth_a_pool:
        return Engine(None, 1, lambda: None)
    pool = SegmentPool(model.dir, workers)
    return Engine(pool.run, workers, pool.close)
