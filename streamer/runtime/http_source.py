"""HTTP(S) bytes for FFmpeg, fetched here: the URL it is given and every one it asks for next (HLS variants,
segments, keys) arrive through PyAV's ``io_open``, so FFmpeg itself connects nowhere. Each fetch resolves,
checks and connects its host with ``connect_checked``; redirects are not followed.
"""
from __future__ import annotations

import base64
import http.client
import logging
import socket
import ssl
from urllib.parse import unquote, urlsplit

from .netpolicy import REDIRECT, AddressPolicy, PolicyError, connect_checked

log = logging.getLogger(__name__)


class FetchError(OSError):
    """An HTTP fetch made for a stream that failed; the message is meant for the user."""


class _Connection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, policy: AddressPolicy, timeout: float, read_timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.policy, self.read_timeout = policy, read_timeout

    def connect(self) -> None:
        self.sock = self._secure(connect_checked(self.host, self.port, self.policy, self.timeout))
        self.sock.settimeout(self.read_timeout)

    def _secure(self, sock: socket.socket) -> socket.socket:
        return sock


class _TlsConnection(_Connection):
    def _secure(self, sock: socket.socket) -> socket.socket:
        return ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)


class _Body:
    """A response as PyAV reads it: whatever has arrived, up to ``n`` bytes (a live source never waits for a
    full buffer); not seekable."""

    def __init__(self, response: http.client.HTTPResponse, connection: _Connection):
        self._response, self._connection = response, connection

    def read(self, n: int = -1) -> bytes:
        return self._response.read1(n)

    def close(self) -> None:
        self._response.close()
        self._connection.close()


class HttpOpener:
    """PyAV's ``io_open`` for one stream connection; ``error`` keeps the first reason a fetch was refused."""

    def __init__(self, policy: AddressPolicy, connect_timeout: float, read_timeout: float):
        self.policy, self.connect_timeout, self.read_timeout = policy, connect_timeout, read_timeout
        self.error: str | None = None

    def __call__(self, url: str, flags: int = 0, options: dict | None = None) -> _Body:
        try:
            return self._fetch(url)
        except PolicyError as exc:
            self._fail(str(exc))
            raise FetchError(str(exc)) from exc
        except FetchError as exc:
            self._fail(str(exc))
            raise

    def _fail(self, reason: str) -> None:
        if self.error is None:
            self.error = reason

    def _fetch(self, url: str) -> _Body:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"the stream asked for a {scheme or 'local'} address; only http and https are fetched")
        kind = _TlsConnection if scheme == "https" else _Connection
        connection = kind(parts.hostname, parts.port or (443 if scheme == "https" else 80), self.policy,
                          self.connect_timeout, self.read_timeout)
        headers = {"User-Agent": "deepfake-streamer", "Accept": "*/*"}
        if parts.username is not None:
            secret = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(secret).decode()
        try:
            connection.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                               headers=headers)
            response = connection.getresponse()
        except PolicyError:
            connection.close()
            raise
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise FetchError(f"cannot fetch {parts.hostname}: {getattr(exc, 'strerror', None) or exc}") from exc
        if 300 <= response.status < 400:
            connection.close()
            log.warning("HTTP redirect refused from %s", parts.hostname)
            raise FetchError(REDIRECT)
        if response.status != 200:
            connection.close()
            raise FetchError(f"{parts.hostname} answered HTTP {response.status}")
        return _Body(response, connection)
