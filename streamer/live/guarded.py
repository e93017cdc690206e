"""Opening a stream so that every connection made for it obeys the outbound rules, redirects, HLS segments
and later name resolutions included: RTSP(S) goes through a loopback relay, HTTP(S) (HLS too) through our own
fetches handed to FFmpeg by ``io_open``. FFmpeg itself connects only to the relay, on 127.0.0.1.
"""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import av

from ..runtime.http_source import HttpOpener
from ..runtime.netpolicy import AddressPolicy, url_host
from ..runtime.rtsp_relay import RtspRelay
from .urls import av_options

DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322}


class GuardedStream:
    """One connection attempt's guard; ``error`` says why it refused or failed a connection, if it did."""

    def __init__(self, url: str, allow_http: bool, policy: AddressPolicy, connect_timeout: float,
                 read_timeout: float):
        self.options = av_options(url, allow_http, read_timeout)
        self.timeouts = (connect_timeout, read_timeout)
        scheme = urlsplit(url).scheme.lower()
        self._relay: RtspRelay | None = None
        self._opener: HttpOpener | None = None
        if scheme in DEFAULT_PORTS:
            host, port = url_host(url)
            self._relay = RtspRelay(host, port or DEFAULT_PORTS[scheme], scheme == "rtsps", policy, connect_timeout)
            self.url = relay_url(url, self._relay.port)
        else:
            self._opener = HttpOpener(policy, connect_timeout, read_timeout)
            self.url = url

    @property
    def error(self) -> str | None:
        return (self._relay or self._opener).error

    def open(self) -> av.container.InputContainer:
        return av.open(self.url, options=self.options, timeout=self.timeouts, io_open=self._opener)

    def close(self) -> None:
        if self._relay:
            self._relay.close()

    def __enter__(self) -> "GuardedStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def relay_url(url: str, port: int) -> str:
    """``url`` pointed at the relay: same credentials, path and query; plain RTSP (the relay does the TLS)."""
    parts = urlsplit(url)
    userinfo, at, _ = parts.netloc.rpartition("@")
    return urlunsplit(("rtsp", f"{userinfo}{at}127.0.0.1:{port}", parts.path, parts.query, ""))
