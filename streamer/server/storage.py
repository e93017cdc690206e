"""Start-up and shut-down of the storage-backed services: SQLite, scans, stream monitor, event hub."""
from __future__ import annotations

import logging

from aiohttp import web

from ..model import Model
from ..monitor.manager import Monitor
from ..monitor.supervisor import StreamConfig
from ..store import Store
from .config import ServerConfig
from .events import EventHub
from .keys import HUB_KEY, MONITOR_KEY, SCANS_KEY, STORE_KEY
from .scan_routes import add_scan_routes
from .scans import ScanService
from .stream_routes import add_stream_routes
from .thumbnails import Thumbnails, add_thumbnail_routes

log = logging.getLogger(__name__)


def add_storage(app: web.Application, cfg: ServerConfig, model: Model) -> None:
    hub = EventHub()
    app[HUB_KEY] = hub
    thumbnails = Thumbnails()
    add_scan_routes(app)
    add_stream_routes(app)
    add_thumbnail_routes(app, thumbnails)

    async def services(app: web.Application):
        store = Store(cfg.data_dir / "deepfake-streamer.sqlite")
        failed = store.fail_interrupted_scans()
        if failed:
            log.warning("%d scan(s) interrupted by the last shutdown were marked failed", failed)
        app[STORE_KEY] = store
        app[SCANS_KEY] = ScanService(store, model, hub, cfg.data_dir / "uploads",
                                     max_queued=cfg.max_queued_scans)
        monitor = Monitor(model, hub.publish, store, max_streams=cfg.max_streams, on_frame=thumbnails.offer)
        app[MONITOR_KEY] = monitor
        monitor.trimmer.start()  # from the start: live sessions and scans free big decoder buffers too
        for row in store.streams():
            monitor.add(StreamConfig(row["name"], row["url"], row["fps"], row["threshold"], row["alert_seconds"],
                                     allow_http=cfg.allow_http_streams, policy=cfg.stream_policy), persist=False)
        yield
        await app[SCANS_KEY].close()
        await monitor.close_all_streams()
        store.close()

    async def end_event_streams(_app: web.Application) -> None:
        hub.close()

    app.cleanup_ctx.append(services)
    app.on_shutdown.append(end_event_streams)
