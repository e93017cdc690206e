"""The aiohttp application: routes, session registry, ICE address policy and clean shutdown."""
from __future__ import annotations

import logging
import ssl

from aiohttp import web

from ..inference import BatchedModel
from ..metrics import observe_batch
from ..model import Model
from .config import ServerConfig
from . import listen
from .ice import restore_host_addresses, restrict_host_addresses
from .routes import CFG_KEY, MODEL_KEY, SESSIONS_KEY, add_routes, middlewares
from .sessions import SessionManager
from .metrics import add_metrics
from .storage import add_storage

log = logging.getLogger(__name__)


def create_app(cfg: ServerConfig, model: Model) -> web.Application:
    app = web.Application(client_max_size=cfg.max_offer_bytes, middlewares=middlewares(cfg))
    app[CFG_KEY] = cfg
    app[MODEL_KEY] = model
    shared = BatchedModel(model, on_batch=observe_batch)  # one inference service for every stream
    app[SESSIONS_KEY] = SessionManager(cfg, shared)
    add_routes(app)
    add_storage(app, cfg, shared)
    add_metrics(app)

    async def ice_policy(_app: web.Application):
        restrict_host_addresses(cfg.ice_addresses)
        yield
        restore_host_addresses()

    async def close_sessions(app: web.Application) -> None:
        await app[SESSIONS_KEY].close_all()

    async def close_inference(_app: web.Application) -> None:
        shared.close()

    app.cleanup_ctx.append(ice_policy)
    app.on_shutdown.append(close_sessions)
    app.on_cleanup.append(close_inference)
    return app


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
