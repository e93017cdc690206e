"""GET /metrics: Prometheus text exposition of the process-wide metrics and this app's counters."""
from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from ..live.pipeline import PipelineStats
from ..live.status import Status
from .keys import METRICS_REGISTRY_KEY, MONITOR_KEY, SCANS_KEY, SESSIONS_KEY


HELP = {
    "frames_in": "Frames received", "frames_analysed": "Frames analysed",
    "frames_dropped": "Frames dropped because analysis was busy", "frames_skipped": "Frames skipped to keep the rate",
    "frames_failed": "Frames whose analysis failed", "alerts": "Alerts raised",
}


class AppCollector:
    """Reads every live source's counters (``PipelineStats``, the same names as the APIs) at scrape time."""

    def __init__(self, app: web.Application):
        self.app = app

    def sources(self) -> list[tuple[str, str, dict]]:
        """(kind, stream, snapshot) of every live source."""
        out = [(s["kind"], s["id"], s) for s in self.app[SESSIONS_KEY].stats()["live"]] if SESSIONS_KEY in self.app else []
        if MONITOR_KEY in self.app:
            out += [(s["kind"], s["name"], s) for s in self.app[MONITOR_KEY].snapshot()]
        return out

    def collect(self):
        sources = self.sources()
        for name in PipelineStats.COUNTERS:
            family = CounterMetricFamily(f"dfs_{name}", HELP[name], labels=["kind", "stream"])
            for kind, stream, snap in sources:
                family.add_metric([kind, stream], snap[name])
            yield family
        status = GaugeMetricFamily("dfs_source_status", "1 for each live source's current status",
                                   labels=["kind", "stream", "status"])
        for kind, stream, snap in sources:
            status.add_metric([kind, stream, snap["status"]], 1)
        reconnects = CounterMetricFamily("dfs_stream_reconnects", "Stream reconnects", labels=["stream"])
        for kind, stream, snap in sources:
            if "reconnects" in snap:
                reconnects.add_metric([stream], snap["reconnects"])
        sessions = GaugeMetricFamily("dfs_active_sessions", "Live webcam sessions")
        sessions.add_metric([], len(self.app[SESSIONS_KEY].active) if SESSIONS_KEY in self.app else 0)
        live_streams = GaugeMetricFamily("dfs_active_streams", "Monitored streams", labels=["status"])
        for value in Status:
            if value != Status.STOPPED:
                live_streams.add_metric([str(value)], sum(1 for k, _, s in sources if k != "webrtc" and s["status"] == value))
        scans = GaugeMetricFamily("dfs_scans_pending", "File scans queued or running")
        scans.add_metric([], self.app[SCANS_KEY].pending if SCANS_KEY in self.app else 0)
        yield from (status, reconnects, sessions, live_streams, scans)


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(REGISTRY) + generate_latest(request.app[METRICS_REGISTRY_KEY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_metrics(app: web.Application) -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AppCollector(app))
    app[METRICS_REGISTRY_KEY] = registry
    app.router.add_get("/metrics", metrics)
