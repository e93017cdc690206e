"""JSON error bodies: every refusal says why, in the same shape."""
from __future__ import annotations

from aiohttp import web


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message, "status": status}, status=status)
