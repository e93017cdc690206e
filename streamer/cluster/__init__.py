"""Ray as the cluster engine (optional extra ``cluster``): archive scans as tasks, live streams on actors; and
which engine runs a scan's segments (``engine``: a process pool here, Ray, or this process)."""
from __future__ import annotations

INSTALL = "pip install 'deepfake-streamer[cluster]'"


class ClusterError(RuntimeError):
    """Ray is missing, or the cluster cannot be reached; the message says what to do."""
