"""Which stream URLs may be opened, and the PyAV options that confine FFmpeg to their protocols."""
from __future__ import annotations

import logging
import re
import traceback
from urllib.parse import urlsplit

# FFmpeg reaches only the RTSP relay (plain RTSP over TCP); HTTP bytes come from our own fetches (io_open)
RTSP_PROTOCOLS = "rtsp,rtp,tcp"
HTTP_PROTOCOLS = "http,https,tcp,tls,hls,crypto"


class UrlError(ValueError):
    """A stream URL that is malformed or not allowed; the message is meant for the user."""


def check_url(url: str, allow_http: bool = False) -> str:
    """``url`` with its scheme in lower case (``RTSP://`` is ``rtsp://``) if it may be opened, else UrlError."""
    if not isinstance(url, str) or not url or len(url) > 2048:
        raise UrlError("url must be a non-empty string of at most 2048 characters")
    if any(ord(c) < 0x21 or c == "\\" for c in url):
        raise UrlError("url must not contain spaces, backslashes or control characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    allowed = {"rtsp", "rtsps"} | ({"http", "https"} if allow_http else set())
    if scheme not in allowed:
        raise UrlError(f"url scheme {scheme or '(none)'!r} is not allowed; use {' or '.join(sorted(allowed))}")
    if not parts.hostname:
        raise UrlError("url has no host")
    try:
        parts.port
    except ValueError as exc:
        raise UrlError("url has a bad port") from exc
    return scheme + url[len(parts.scheme):]


def av_options(url: str, allow_http: bool = False, read_timeout: float = 5.0) -> dict[str, str]:
    """PyAV/FFmpeg options: TCP transport for RTSP, a protocol whitelist so nested URLs cannot reach files,
    no HTTP redirects, no kept-alive HLS connections (every fetch is a new, checked one)."""
    scheme = urlsplit(check_url(url, allow_http)).scheme
    options = {"protocol_whitelist": HTTP_PROTOCOLS if scheme.startswith("http") else RTSP_PROTOCOLS}
    if scheme.startswith("http"):
        options["max_redirects"] = "0"  # a redirect could lead anywhere the address rules refuse
        options["http_persistent"] = "0"
    if scheme.startswith("rtsp"):
        options["rtsp_transport"] = "tcp"
        options["timeout"] = str(int(read_timeout * 1e6))  # socket I/O timeout, microseconds
    return options


# scheme://user:password@ -> scheme://user:***@, wherever it appears in a text
CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s:@/]*):[^\s/]*@")


def redact(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``."""
    return CREDENTIALS.sub(r"\1:***@", text) if "@" in text else text


def redact_value(value: object) -> object:
    """Redact every string inside a JSON-like value (events, snapshots)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    return value


_factory_installed = False


def install_log_redaction() -> None:
    """Every log record, from any logger, carries redacted text (tracebacks included). Idempotent."""
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is the logging module's problem to report
            return record
        if "@" in message:
            record.msg, record.args = redact(message), ()
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True
