"""The composition root: every long-lived service is created and closed here, in one ``cleanup_ctx``."""
from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator

from aiohttp import web

from ..core.inference import BatchedModel
from ..runtime.memory import HeapTrimmer
from ..runtime.metrics import observe_batch
from ..core.model import Model
from ..live.whip import WhipEndpoint
from ..cluster.placers import stream_placer
from ..live.manager import Monitor
from ..live.mqtt import MqttPublisher
from ..storage.retention import Pruned, Retention
from ..storage.store import AsyncStore, Store
from ..live import aiortc_compat
from ..storage.secretbox import SecretBox
from .config import ServerConfig
from . import listen
from .events import EventHub
from .auth import COOKIE_MAX_AGE
from .limits import RateLimiter, Slots
from ..live.ice import IcePlan, ice_plan
from .keys import (CFG_KEY, HUB_KEY, ICE_KEY, INFERENCE_KEY, LIMITER_KEY, MODEL_KEY, MONITOR_KEY, REPORTS_KEY,
                   SCANS_KEY, SESSIONS_KEY, SIGNINS_KEY, STORE_KEY, THUMBNAILS_KEY, TRIMMER_KEY, UPLOADS_KEY,
                   WHIP_KEY)
from .metrics import add_metrics
from .reports import Reports
from .restore import restore_streams
from .routes import add_routes, middlewares
from .scan_routes import add_scan_routes
from .scans import ScanService
from ..live.webrtc import SessionManager
from .signins import SignIns
from .stream_routes import add_stream_routes
from .thumbnails import Thumbnails
from .whip_routes import add_whip_routes

log = logging.getLogger(__name__)


def create_app(cfg: ServerConfig, model: Model) -> web.Application:
    limiter = RateLimiter(cfg.mutations_per_minute)
    signins = SignIns(cfg.access.secrets(), COOKIE_MAX_AGE)
    app = web.Application(client_max_size=cfg.max_offer_bytes, middlewares=middlewares(cfg, limiter, signins))
    app[CFG_KEY] = cfg
    app[LIMITER_KEY] = limiter
    app[SIGNINS_KEY] = signins
    app[MODEL_KEY] = model
    add_routes(app)
    add_scan_routes(app)
    add_stream_routes(app)
    add_whip_routes(app)
    add_metrics(app)
    app.cleanup_ctx.append(services)
    app.on_shutdown.append(end_live_connections)
    return app


async def end_live_connections(app: web.Application) -> None:
    """Before the server waits for open requests: end event streams and WebRTC sessions (again idempotent in
    ``services``)."""
    app[HUB_KEY].close()
    await app[SESSIONS_KEY].close_all()


async def services(app: web.Application) -> AsyncIterator[None]:
    """Start every service in dependency order; close them in reverse, whatever was running."""
    cfg = app[CFG_KEY]
    aiortc_compat.restrict_host_addresses(cfg.ice_addresses)
    plan = app[ICE_KEY] = ice_plan(cfg)
    announce_ice(plan)
    inference = app[INFERENCE_KEY] = BatchedModel(app[MODEL_KEY], on_batch=observe_batch)  # one for every stream
    hub = app[HUB_KEY] = EventHub()
    sync_store = Store(cfg.data_dir / "deepfake-streamer.sqlite", SecretBox(cfg.key_file))
    store = app[STORE_KEY] = AsyncStore(sync_store)
    await app[SIGNINS_KEY].attach(store)  # before the first request: sign-ins of a changed token end here
    failed = await store.fail_interrupted_scans()
    if failed:
        log.warning("%d scan(s) running when the server last stopped unexpectedly were marked failed (retry them "
                    "with POST /api/scans/{id}/retry)", failed)
    # decoders and inference free big buffers on many threads; without trimming, glibc keeps them resident
    trimmer = app[TRIMMER_KEY] = HeapTrimmer()
    trimmer.start()
    thumbnails = app[THUMBNAILS_KEY] = Thumbnails()
    sessions = app[SESSIONS_KEY] = SessionManager(cfg, inference, hub.publish)
    app[UPLOADS_KEY] = Slots(cfg.max_uploads, "uploads")
    scans = app[SCANS_KEY] = ScanService(store, inference, hub, cfg.data_dir / "uploads",
                                         max_queued=cfg.max_queued_scans, workers=cfg.workers)
    resumed = await scans.resume()
    if resumed:
        log.info("%d queued scan(s) resumed", resumed)
    retention = await start_retention(cfg, sync_store, scans, hub)
    reports = app[REPORTS_KEY] = Reports(app[MODEL_KEY].dir)
    following = asyncio.create_task(reports.follow(hub), name="reports")  # ends with the hub
    monitor = app[MONITOR_KEY] = Monitor(inference, hub.publish, store, max_streams=cfg.max_streams,
                                         on_frame=thumbnails.offer, trimmer=trimmer,
                                         placer=await stream_placer(cfg.ray, cfg.stream_workers, app[MODEL_KEY]))
    app[WHIP_KEY] = WhipEndpoint(cfg, monitor)
    restore_streams(monitor, await store.streams(), cfg)
    mqtt = start_mqtt(cfg, hub, sync_store)
    try:
        yield
    finally:
        hub.close()  # ends every open event stream first, so that the server can stop
        if retention:
            retention.cancel()
        await asyncio.gather(*(t for t in (mqtt, retention, following) if t), return_exceptions=True)  # the others end with the hub
        await reports.close()
        await sessions.close_all()
        await scans.close()
        await monitor.close_all_streams()
        await trimmer.stop()
        store.close()
        inference.close()
        aiortc_compat.restore_host_addresses()


def announce_ice(plan: IcePlan) -> None:
    """Say at start-up where webcam video can reach the server, and loudly when nowhere."""
    if hint := plan.hint(client_is_local=True):
        log.warning("%s. %s", plan.summary(), hint)
    else:
        log.info("%s", plan.summary())


async def start_retention(cfg: ServerConfig, store: Store, scans: ScanService, hub: EventHub) -> asyncio.Task | None:
    """Remove what a crash left half-uploaded; then, with --retention-days or --max-storage-gb, prune the oldest
    finished scans and alert snapshots in the background (never a queued or running scan)."""
    retention = Retention(store, scans.upload_dir, cfg.retention_days, cfg.max_storage_bytes, busy=scans.active)
    await asyncio.to_thread(retention.clean_orphans)
    if not retention.enabled:
        return None

    def announce(pruned: Pruned) -> None:
        for scan_id in pruned.scans:
            hub.publish({"type": "scan", "id": scan_id, "status": "deleted", "progress": 0.0})

    return asyncio.create_task(retention.run(cfg.retention_interval, announce), name="retention")


def start_mqtt(cfg: ServerConfig, hub: EventHub, store: Store) -> asyncio.Task | None:
    """The MQTT publisher follows the hub until it closes, then says offline and disconnects."""
    if cfg.mqtt is None:
        return None
    publisher = MqttPublisher(cfg.mqtt)
    publisher.start()

    async def run() -> None:
        try:
            await publisher.follow(hub, store.alert_snapshot)  # read on a worker thread
        finally:
            await asyncio.to_thread(publisher.close)

    return asyncio.create_task(run(), name="mqtt")


def ssl_context(cfg: ServerConfig) -> ssl.SSLContext | None:
    if not cfg.tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cfg.tls_cert, cfg.tls_key)
    return context


def serve(cfg: ServerConfig, model: Model) -> None:
    """Run until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    app = create_app(cfg, model)
    sock = listen.bind(cfg.host, cfg.port)  # first, so the URL printed has the real port (--port 0)
    app.on_startup.append(listen.announce(cfg, sock))
    web.run_app(app, sock=sock, ssl_context=ssl_context(cfg), print=None, shutdown_timeout=5.0)
