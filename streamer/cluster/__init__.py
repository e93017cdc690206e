"""Ray as the cluster engine (optional extra ``cluster``): archive scans as tasks, live streams on actors."""
from __future__ import annotations

INSTALL = "pip install 'deepfake-streamer[cluster]'"


class ClusterError(RuntimeError):
    """Ray is missing, or the cluster cannot be reached; the message says what to do."""
