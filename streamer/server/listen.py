"""Binding the listening socket before the app starts, so the URL printed has the real port (``--port 0``)."""
from __future__ import annotations

import logging
import socket

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage

from .config import ServerConfig


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (0: any free port); OSError if the address is taken."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def url(cfg: ServerConfig, sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = "localhost" if host in ("127.0.0.1", "::1") else (f"[{host}]" if ":" in host else host)
    return f"{cfg.scheme}://{shown}:{port}/"


def announce(cfg: ServerConfig, sock: socket.socket):
    """An on_startup hook printing the URL once the services are up (the socket already listens)."""
    async def say(_app: web.Application) -> None:
        print(f"deepfake-streamer: open {url(cfg, sock)} (Ctrl-C to stop)", flush=True)

    return say


class OneLineBadRequests(logging.Filter):
    """aiohttp logs a malformed request (oversized header, bad request line) with a traceback: one line will do."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, BadHttpMessage):
            record.msg, record.args = "bad request refused: %s", ((exc.message or str(exc)).splitlines()[0][:200],)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_bad_requests() -> None:
    logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, OneLineBadRequests) for f in logger.filters):
        logger.addFilter(OneLineBadRequests())
