"""Streams stored in SQLite come back at start-up, checked like new ones; a bad row is skipped, not fatal."""
from __future__ import annotations

import logging

from ..live.manager import Monitor, MonitorError
from .config import ServerConfig
from .stream_routes import BodyError, parse_stream

log = logging.getLogger(__name__)


def restore_streams(monitor: Monitor, rows: list[dict], cfg: ServerConfig) -> int:
    """Add every stored stream (``rows``) the current settings allow; returns how many were added."""
    added = 0
    for row in rows:
        body = {k: row[k] for k in ("name", "url", "fps", "threshold", "alert_seconds")}
        try:
            stream = parse_stream(body, cfg.allow_http_streams, monitor.model.manifest.threshold)
            stream.policy = cfg.stream_policy  # its host is checked before every connect
            monitor.add(stream, persist=False)
        except (BodyError, MonitorError, ValueError) as exc:
            log.warning("stored stream %r skipped: %s (kept in the database; fix the setting or delete it)",
                        row.get("name"), exc)
            continue
        added += 1
    return added
