"""API token for mutating requests, required whenever the server listens beyond loopback."""
from __future__ import annotations

import hmac
import ipaddress

from aiohttp import web

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
# The live webcam page is for whoever can open it: its WebRTC offer, and ending one's own session (the
# random session id is the capability), need no token; the session limit bounds what visitors cost.
PUBLIC = ("/api/offer", "/api/sessions/")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_middleware(token: str | None):
    @web.middleware
    async def check_token(request: web.Request, handler):
        if (token and request.method in MUTATING and request.path.startswith("/api/")
                and not request.path.startswith(PUBLIC)):
            given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            given = given or request.query.get("token", "")
            if not hmac.compare_digest(given.encode(), token.encode()):
                return web.json_response({"error": "a valid API token is required (Authorization: Bearer TOKEN)",
                                          "status": 401}, status=401)
        return await handler(request)

    return check_token
