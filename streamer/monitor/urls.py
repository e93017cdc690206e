"""Which stream URLs may be opened, and the PyAV options that confine FFmpeg to their protocols."""
from __future__ import annotations

from urllib.parse import urlsplit

RTSP_PROTOCOLS = "rtsp,rtsps,rtp,udp,tcp,tls,srtp"
HTTP_PROTOCOLS = "http,https,tcp,tls,hls,crypto"


class UrlError(ValueError):
    """A stream URL that is malformed or not allowed; the message is meant for the user."""


def check_url(url: str, allow_http: bool = False) -> str:
    """The URL's scheme if it may be opened, else UrlError."""
    if not isinstance(url, str) or not url or len(url) > 2048:
        raise UrlError("url must be a non-empty string of at most 2048 characters")
    if any(ord(c) < 0x21 for c in url):
        raise UrlError("url must not contain spaces or control characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    allowed = {"rtsp", "rtsps"} | ({"http", "https"} if allow_http else set())
    if scheme not in allowed:
        raise UrlError(f"url scheme {scheme or '(none)'!r} is not allowed; use {' or '.join(sorted(allowed))}")
    if not parts.hostname:
        raise UrlError("url has no host")
    return scheme


def av_options(url: str, allow_http: bool = False, read_timeout: float = 5.0) -> dict[str, str]:
    """PyAV/FFmpeg options: TCP transport for RTSP and a protocol whitelist so nested URLs cannot reach files."""
    scheme = check_url(url, allow_http)
    options = {"protocol_whitelist": HTTP_PROTOCOLS if scheme.startswith("http") else RTSP_PROTOCOLS}
    if scheme.startswith("rtsp"):
        options["rtsp_transport"] = "tcp"
        options["timeout"] = str(int(read_timeout * 1e6))  # socket I/O timeout, microseconds
    return options
