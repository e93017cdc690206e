"""Process-wide Prometheus metrics observed on the media path."""
from __future__ import annotations

from prometheus_client import Counter, Histogram

ANALYSIS_SECONDS = Histogram(
    "dfs_analysis_latency_seconds", "Time to analyse one frame (detection, crops, encoder, temporal head)",
    ["source"], buckets=(0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0))
ANALYSIS_ERRORS = Counter(
    "dfs_analysis_errors", "Frames whose analysis raised, on live sources", ["kind"])
SINK_ERRORS = Counter(
    "dfs_sink_errors", "Calls of a live pipeline's sink that raised (the frame still reached the other sinks)", ["sink"])
BATCH_SIZE = Histogram(
    "dfs_inference_batch_size", "Items per shared inference call", ["kind"],
    buckets=(1, 2, 4, 8, 16, 32, 64))


def observe_batch(kind: str, size: int) -> None:
    BATCH_SIZE.labels(kind).observe(size)
