"""SQLite persistence (the embedded default): streams, alerts and scans survive restarts."""
from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path

log = logging.getLogger(__name__)
SCHEMA = """
CREATE TABLE IF NOT EXISTS streams (
    name TEXT PRIMARY KEY, url TEXT NOT NULL, fps REAL NOT NULL, threshold REAL NOT NULL,
    alert_seconds REAL NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, track_id INTEGER NOT NULL,
    pts REAL NOT NULL, score REAL NOT NULL, created REAL NOT NULL, snapshot BLOB);
CREATE INDEX IF NOT EXISTS alerts_by_stream ON alerts(stream, created);
CREATE TABLE IF NOT EXISTS scans (
    id TEXT PRIMARY KEY, filename TEXT NOT NULL, path TEXT NOT NULL, status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0, error TEXT, created REAL NOT NULL, finished REAL,
    info TEXT, timeline TEXT, summary TEXT);
"""
MIGRATIONS = {("scans", "summary"): "ALTER TABLE scans ADD COLUMN summary TEXT"}


class Store:
    """A small thread-safe wrapper around one SQLite connection (WAL journal)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)
            for (table, column), sql in MIGRATIONS.items():
                if column not in {r["name"] for r in self._db.execute(f"PRAGMA table_info({table})")}:
                    self._db.execute(sql)

    def _exec(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # streams
    def save_stream(self, cfg: dict) -> None:
        self._exec("INSERT OR REPLACE INTO streams VALUES (?, ?, ?, ?, ?, ?)",
                   (cfg["name"], cfg["url"], cfg["fps"], cfg["threshold"], cfg["alert_seconds"], time.time()))

    def delete_stream(self, name: str) -> None:
        self._exec("DELETE FROM streams WHERE name = ?", (name,))

    def streams(self) -> list[dict]:
        return [dict(r) for r in self._exec("SELECT * FROM streams ORDER BY created")]

    # alerts
    def add_alert(self, stream: str, track_id: int, pts: float, score: float, created: float, snapshot: bytes) -> int:
        with self._lock:
            cur = self._db.execute("INSERT INTO alerts (stream, track_id, pts, score, created, snapshot) "
                                   "VALUES (?, ?, ?, ?, ?, ?)", (stream, track_id, pts, score, created, snapshot))
            return int(cur.lastrowid)

    def alerts(self, stream: str | None = None, limit: int = 100) -> list[dict]:
        where, args = ("WHERE stream = ?", (stream,)) if stream else ("", ())
        rows = self._exec(f"SELECT id, stream, track_id, pts, score, created FROM alerts {where} "
                          "ORDER BY id DESC LIMIT ?", (*args, limit))
        return [dict(r) for r in rows]

    def delete_alert(self, alert_id: int) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM alerts WHERE id = ?", (alert_id,)).rowcount > 0

    def delete_alerts_before(self, created: float) -> int:
        with self._lock:
            return self._db.execute("DELETE FROM alerts WHERE created < ?", (created,)).rowcount

    def snapshot_bytes(self) -> int:
        rows = self._exec("SELECT COALESCE(SUM(LENGTH(snapshot)), 0) AS n FROM alerts")
        return int(rows[0]["n"])

    def oldest_alerts(self, limit: int = 100) -> list[dict]:
        """(id, created, bytes) of the oldest alerts that still hold a snapshot."""
        rows = self._exec("SELECT id, created, LENGTH(snapshot) AS bytes FROM alerts WHERE snapshot IS NOT NULL "
                          "ORDER BY created, id LIMIT ?", (limit,))
        return [dict(r) for r in rows]

    def drop_snapshot(self, alert_id: int) -> None:
        """Free an alert's picture and keep its record."""
        self._exec("UPDATE alerts SET snapshot = NULL WHERE id = ?", (alert_id,))

    def alert_snapshot(self, alert_id: int) -> bytes | None:
        rows = self._exec("SELECT snapshot FROM alerts WHERE id = ?", (alert_id,))
        return bytes(rows[0]["snapshot"]) if rows and rows[0]["snapshot"] is not None else None

    # scans
    def create_scan(self, scan_id: str, filename: str, path: str) -> None:
        self._exec("INSERT INTO scans (id, filename, path, status, created) VALUES (?, ?, ?, 'queued', ?)",
                   (scan_id, filename, path, time.time()))

    def update_scan(self, scan_id: str, **fields: object) -> None:
        allowed = {"status", "progress", "error", "finished", "info", "timeline", "summary"}
        if not fields or set(fields) - allowed:
            raise ValueError(f"cannot update {sorted(set(fields) - allowed)}")
        values = [json.dumps(v) if k in JSON_COLUMNS and v is not None else v for k, v in fields.items()]
        sets = ", ".join(f"{k} = ?" for k in fields)
        self._exec(f"UPDATE scans SET {sets} WHERE id = ?", (*values, scan_id))

    def scan(self, scan_id: str, with_timeline: bool = False) -> dict | None:
        rows = self._exec("SELECT * FROM scans WHERE id = ?", (scan_id,))
        return _scan_row(rows[0], with_timeline) if rows else None

    def scans(self, limit: int = 200, offset: int = 0, query: str = "") -> list[dict]:
        """Newest first; ``query``: a case-insensitive part of the file name."""
        where, args = _filename_filter(query)
        rows = self._exec(f"SELECT id, filename, path, status, progress, error, created, finished, info, summary "
                          f"FROM scans {where} ORDER BY created DESC, id LIMIT ? OFFSET ?", (*args, limit, offset))
        return [_scan_row(r, False) for r in rows]

    def count_scans(self, query: str = "") -> int:
        where, args = _filename_filter(query)
        return int(self._exec(f"SELECT COUNT(*) AS n FROM scans {where}", args)[0]["n"])

    def delete_scan(self, scan_id: str) -> dict | None:
        """Remove a scan (row and timeline); returns what it was, without the timeline."""
        with self._lock:
            rows = self._db.execute("SELECT id, filename, path, status, progress, created FROM scans WHERE id = ?",
                                    (scan_id,)).fetchall()
            if not rows:
                return None
            self._db.execute("DELETE FROM scans WHERE id = ?", (scan_id,))
            return dict(rows[0])

    def finished_scans(self, before: float | None = None, limit: int = 1000) -> list[dict]:
        """(id, path, created, bytes of timeline) of scans done or failed, oldest first; with ``before``, only
        older ones."""
        where, args = ("AND created < ?", (before,)) if before is not None else ("", ())
        rows = self._exec("SELECT id, path, created, COALESCE(LENGTH(timeline), 0) AS bytes FROM scans "
                          f"WHERE status IN ('done', 'failed') {where} "
                          "ORDER BY created, id LIMIT ?", (*args, limit))
        return [dict(r) for r in rows]

    def fail_interrupted_scans(self, reason: str = "interrupted by a server restart") -> int:
        """Scans left queued or running by a previous process can never finish: mark them failed."""
        with self._lock:
            cur = self._db.execute("UPDATE scans SET status = 'failed', error = ?, finished = ? "
                                   "WHERE status IN ('queued', 'running')", (reason, time.time()))
            return cur.rowcount


JSON_COLUMNS = ("info", "timeline", "summary")


def _filename_filter(query: str) -> tuple[str, tuple]:
    if not query:
        return "", ()
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "WHERE filename LIKE ? ESCAPE '\\'", (f"%{escaped}%",)


def _scan_row(row: sqlite3.Row, with_timeline: bool) -> dict:
    out = {k: row[k] for k in row.keys() if k != "timeline"}
    out["info"] = json.loads(row["info"]) if row["info"] else None
    out["summary"] = json.loads(row["summary"]) if row["summary"] else None
    if with_timeline:
        out["timeline"] = json.loads(row["timeline"]) if row["timeline"] else None
    return out


class AsyncStore:
    """The same store for the event loop: every method a coroutine run on one worker thread, in call order,
    so that SQLite never blocks request handling. ``sync`` is the store itself, for code already on a thread."""

    def __init__(self, store: Store):
        self.sync = store
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="dfs-sqlite")

    def __getattr__(self, name: str) -> Callable[..., Awaitable]:
        method = getattr(self.sync, name)

        async def call(*args: object, **kwargs: object):
            return await asyncio.get_running_loop().run_in_executor(self._executor, partial(method, *args, **kwargs))

        return call

    def schedule(self, name: str, *args: object) -> None:
        """Fire and forget from synchronous code on the loop, in order with every other call; a failure is
        logged."""
        def logged(done: Future) -> None:
            if done.exception() is not None:
                log.error("store.%s failed: %s", name, done.exception())

        self._executor.submit(getattr(self.sync, name), *args).add_done_callback(logged)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.sync.close()
