"""Server-side sign-in sessions behind the pages' cookie: signing out ends one, a changed token ends them all.

The cookie holds a random id; the server keeps only its SHA-256, the role, when it expires and a fingerprint
of the token it was opened with (an HMAC, never the token). At start-up, rows opened with a token that is
no longer configured, or expired, are dropped; the rest survive a restart."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from ..storage.store import AsyncStore

ROLES = ("admin", "viewer")


def digest(cookie: str) -> str:
    return hashlib.sha256(cookie.encode("utf-8", "surrogateescape")).hexdigest()


def fingerprint(secret: str) -> str:
    return hmac.new(secret.encode(), b"dfs-signin", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SignIn:
    role: str
    expires: float


class SignIns:
    """Open sign-ins by the digest of their cookie; kept in memory, written through to SQLite (in call order, off
    the event loop) once attached."""

    def __init__(self, secrets_by_role: dict[str, str | None], max_age: float):
        self.max_age = max_age
        self.fingerprints = {role: fingerprint(s) for role, s in secrets_by_role.items() if s}
        self.open: dict[str, SignIn] = {}
        self.store: AsyncStore | None = None

    async def attach(self, store: AsyncStore) -> None:
        """Load the sign-ins a previous run left that the current tokens still allow; forget the others."""
        self.store = store
        now = time.time()
        for row in await store.signins():
            if row["expires"] > now and self.fingerprints.get(row["role"]) == row["fingerprint"]:
                self.open[row["digest"]] = SignIn(row["role"], row["expires"])
            else:
                await store.delete_signin(row["digest"])

    def start(self, role: str) -> str:
        """A new sign-in; returns the cookie value."""
        cookie = secrets.token_urlsafe(32)
        signin = self.open[digest(cookie)] = SignIn(role, time.time() + self.max_age)
        if self.store is not None:
            self.store.schedule("save_signin", digest(cookie), role, self.fingerprints[role], signin.expires)
        return cookie

    def role(self, cookie: str) -> str | None:
        signin = self.open.get(digest(cookie))
        if signin is None:
            return None
        if signin.expires <= time.time():
            self.end(cookie)
            return None
        return signin.role

    def end(self, cookie: str) -> None:
        key = digest(cookie)
        if self.open.pop(key, None) is not None and self.store is not None:
            self.store.schedule("delete_signin", key)
