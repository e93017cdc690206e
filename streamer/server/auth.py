"""Who may do what: the API token (everything), the viewer token (reads), the sign-in cookie and CSRF.

With no token configured (allowed on a loopback-only server) everything is open, as before. With a token,
every /api/ route, every media file and /metrics need a credential: ``Authorization: Bearer TOKEN`` for
scripts, or the HttpOnly, SameSite=Strict cookie that ``POST /api/auth/login`` sets for the pages. Writes
authenticated by the cookie must come from this server's own pages (Origin check). Tokens are never read
from URLs.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from aiohttp import web

from .responses import error

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})  # what writes: token-only off loopback, rate-limited
ADMIN, VIEWER = "admin", "viewer"
COOKIE = "dfs_auth"
COOKIE_MAX_AGE = 7 * 24 * 3600
PAGES = ("/", "/replay", "/dashboard")
# Always open: the sign-in page and its API, liveness, the pages' own code and styles.
OPEN_PATHS = ("/signin", "/healthz", "/api/auth")
OPEN_PREFIXES = ("/static/",)
# A live webcam session changes nothing stored: a viewer may open and end one.
VIEWER_WRITES = ("/api/offer", "/api/sessions/")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Access:
    token: str | None = None
    viewer_token: str | None = None
    secure_cookie: bool = False

    @property
    def required(self) -> bool:
        return bool(self.token)

    def cookie_value(self, role: str) -> str:
        """A value derived from the token, so the token itself never sits in the browser."""
        secret = self.token if role == ADMIN else self.viewer_token
        assert secret
        return hmac.new(secret.encode(), f"dfs-cookie:{role}".encode(), hashlib.sha256).hexdigest()

    def role_of_token(self, given: str) -> str | None:
        for role, secret in ((ADMIN, self.token), (VIEWER, self.viewer_token)):
            if secret and hmac.compare_digest(given.encode(), secret.encode()):
                return role
        return None

    def role_of_cookie(self, value: str) -> str | None:
        for role, secret in ((ADMIN, self.token), (VIEWER, self.viewer_token)):
            if secret and hmac.compare_digest(value.encode(), self.cookie_value(role).encode()):
                return role
        return None

    def identify(self, request: web.Request) -> tuple[str | None, bool]:
        """(role, whether it came from the cookie)."""
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return self.role_of_token(header.removeprefix("Bearer ").strip()), False
        cookie = request.cookies.get(COOKIE)
        if cookie:
            return self.role_of_cookie(cookie), True
        return None, False


def same_origin(request: web.Request) -> bool:
    """A browser request from this server's own pages (or not from a browser at all: no Origin sent)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")
    parts = urlsplit(origin)
    # behind a reverse proxy the browser's host may only be in X-Forwarded-Host (a cross-site page cannot set it)
    hosts = {request.host.lower(), *(h.strip().lower() for h in request.headers.get("X-Forwarded-Host", "").split(",")
                                     if h.strip())}
    return bool(parts.netloc) and parts.netloc.lower() in hosts


def _is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES) or path.startswith("/api/auth/")


def _protected(path: str) -> bool:
    return path.startswith(("/api/", "/whip")) or path == "/metrics"


def access_middleware(access: Access):
    @web.middleware
    async def check_access(request: web.Request, handler):
        path, mutating = request.path, request.method in MUTATING
        if mutating and not same_origin(request):
            # Cookies or not, a cross-site page must never drive this API (CSRF; also on an open server).
            return error(403, "cross-site request refused")
        if not access.required or _is_open(path):
            return await handler(request)
        role, _from_cookie = access.identify(request)
        if path in PAGES and request.method == "GET":
            if role is None:
                raise web.HTTPSeeOther(f"/signin?next={quote(path)}")
            return await handler(request)
        if not _protected(path):
            return await handler(request)
        if role is None:
            return error(401, "sign in first, or send a valid API token (Authorization: Bearer TOKEN)")
        if mutating and role != ADMIN and not path.startswith(VIEWER_WRITES):
            return error(403, "the viewer token is read-only")
        return await handler(request)

    return check_access


async def login(request: web.Request, access: Access) -> web.Response:
    if not access.required:
        return web.json_response({"role": ADMIN, "required": False})
    try:
        body = json.loads(await request.read() or b"null")
    except (ValueError, UnicodeDecodeError):
        body = None
    given = body.get("token") if isinstance(body, dict) else None
    role = access.role_of_token(given) if isinstance(given, str) and given else None
    if role is None:
        return error(401, "that token is not valid")
    response = web.json_response({"role": role, "required": True})
    response.set_cookie(COOKIE, access.cookie_value(role), max_age=COOKIE_MAX_AGE, path="/", httponly=True,
                        samesite="Strict", secure=access.secure_cookie)
    return response


async def logout(_request: web.Request) -> web.Response:
    response = web.json_response({"role": None})
    response.del_cookie(COOKIE, path="/")
    return response


async def whoami(request: web.Request, access: Access) -> web.Response:
    role = access.identify(request)[0] if access.required else ADMIN
    return web.json_response({"role": role, "required": access.required})


def add_auth_routes(app: web.Application, access: Access) -> None:
    app.router.add_post("/api/auth/login", lambda r: login(r, access))
    app.router.add_post("/api/auth/logout", logout)
    app.router.add_get("/api/auth", lambda r: whoami(r, access))
