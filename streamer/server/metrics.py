"""GET /metrics: Prometheus text exposition of the process-wide metrics and this app's counters."""
from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from .keys import MONITOR_KEY, SCANS_KEY
from .routes import SESSIONS_KEY

APP_REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)


class AppCollector:
    """Reads the counters the sessions and stream supervisors already keep, at scrape time."""

    def __init__(self, app: web.Application):
        self.app = app

    def collect(self):
        frames_in = CounterMetricFamily("dfs_frames_in", "Frames received", labels=["kind", "stream"])
        analysed = CounterMetricFamily("dfs_frames_analysed", "Frames analysed", labels=["kind", "stream"])
        dropped = CounterMetricFamily("dfs_frames_dropped", "Frames dropped because analysis was busy",
                                      labels=["kind", "stream"])
        for live in self.app[SESSIONS_KEY].stats()["live"]:
            labels = ["webrtc", live["id"]]
            frames_in.add_metric(labels, live["received"])
            analysed.add_metric(labels, live["analysed"])
            dropped.add_metric(labels, live["dropped"])
        reconnects = CounterMetricFamily("dfs_stream_reconnects", "Stream reconnects", labels=["stream"])
        alerts = CounterMetricFamily("dfs_alerts", "Alerts raised", labels=["stream"])
        streams = self.app[MONITOR_KEY].snapshot() if MONITOR_KEY in self.app else []
        for s in streams:
            labels = ["rtsp", s["name"]]
            frames_in.add_metric(labels, s["frames_in"])
            analysed.add_metric(labels, s["frames_analysed"])
            dropped.add_metric(labels, s["frames_dropped"])
            reconnects.add_metric([s["name"]], s["reconnects"])
            alerts.add_metric([s["name"]], s["alerts"])
        sessions = GaugeMetricFamily("dfs_active_sessions", "Live webcam sessions")
        sessions.add_metric([], len(self.app[SESSIONS_KEY].active))
        live_streams = GaugeMetricFamily("dfs_active_streams", "Monitored streams", labels=["status"])
        for status in ("connecting", "live", "stalled", "reconnecting", "failed"):
            live_streams.add_metric([status], sum(1 for s in streams if s["status"] == status))
        scans = GaugeMetricFamily("dfs_scans_pending", "File scans queued or running")
        scans.add_metric([], self.app[SCANS_KEY].pending if SCANS_KEY in self.app else 0)
        yield from (frames_in, analysed, dropped, reconnects, alerts, sessions, live_streams, scans)


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(REGISTRY) + generate_latest(request.app[APP_REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_metrics(app: web.Application) -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AppCollector(app))
    app[APP_REGISTRY] = registry
    app.router.add_get("/metrics", metrics)
