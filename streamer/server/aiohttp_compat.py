"""aiohttp's internals, fenced here: requests its HTTP parser refuses (a NUL or control character in a header
or the request line, a bad chunk) are answered before any middleware runs, with a text/plain 400. This
server answers them in JSON like every other error, by wrapping ``RequestHandler.handle_error`` for the
applications that ask for it (``json_parse_errors(app)``; other aiohttp servers in the process keep theirs).

tests/server/test_aiohttp_compat.py fails loudly when an upgrade moves what this relies on.
"""
from __future__ import annotations

import json
from http import HTTPStatus

from aiohttp import web, web_protocol

_ORIGINAL = web_protocol.RequestHandler.handle_error
_OPTED_IN: set[int] = set()  # ids of the applications that answer parser errors in JSON


def _application(handler: web_protocol.RequestHandler) -> web.Application | None:
    manager = getattr(handler, "_manager", None)
    return getattr(getattr(manager, "request_handler", None), "__self__", None)


def _handle_error(self, request, status: int = 500, exc: BaseException | None = None,
                  message: str | None = None) -> web.StreamResponse:
    response = _ORIGINAL(self, request, status, exc, message)
    if id(_application(self)) not in _OPTED_IN or not 400 <= status < 500:
        return response
    text = (getattr(exc, "message", None) or message or HTTPStatus(status).phrase).strip().splitlines()[0]
    body = json.dumps({"error": f"malformed request: {text}"[:300], "status": status})
    fixed = web.Response(status=status, text=body, content_type="application/json")
    fixed.force_close()
    return fixed


def json_parse_errors(app: web.Application) -> None:
    """Answer the requests aiohttp's parser refuses with this server's JSON error body."""
    _OPTED_IN.add(id(app))
    web_protocol.RequestHandler.handle_error = _handle_error  # idempotent


def supported() -> bool:
    """Whether the internals this module wraps are where it expects them."""
    handler = web_protocol.RequestHandler
    return callable(getattr(handler, "handle_error", None)) and "_manager" in getattr(handler, "__slots__", ())
