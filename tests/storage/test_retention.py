"""Retention on a real SQLite store and upload folder: by age, by size, never a queued or running scan."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from streamer.storage.retention import DAY, Retention
from streamer.storage.store import Store

NOW = 1_800_000_000.0
TIMELINE = {"frames": [{"pts": 0.0, "faces": []}] * 50, "tracks": []}


def scan(store: Store, uploads: Path, scan_id: str, age_days: float, status: str = "done", size: int = 0) -> Path:
    path = uploads / scan_id
    path.write_bytes(b"\0" * size)
    store.create_scan(scan_id, f"{scan_id}.mp4", str(path))
    store.update_scan(scan_id, status=status, timeline=TIMELINE if status == "done" else None)
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE scans SET created = ? WHERE id = ?", (NOW - age_days * DAY, scan_id))
    return path


def setup(tmp_path: Path) -> tuple[Store, Path]:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    return Store(tmp_path / "dfs.sqlite"), uploads


def test_age_prunes_old_finished_scans_and_alerts_never_a_running_one(tmp_path):
    store, uploads = setup(tmp_path)
    old = scan(store, uploads, "old", 40)
    failed = scan(store, uploads, "oldfail", 35, status="failed")
    running = scan(store, uploads, "running", 50, status="running")
    fresh = scan(store, uploads, "fresh", 2)
    store.add_alert("cam", 1, 0.0, 0.9, NOW - 31 * DAY, b"\xff\xd8old")
    keep = store.add_alert("cam", 2, 0.0, 0.9, NOW - 1 * DAY, b"\xff\xd8new")
    media = tmp_path / "media.mp4"
    media.write_bytes(b"not ours")
    store.create_scan("media", "media.mp4", str(media))
    store.update_scan("media", status="done")
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE scans SET created = ? WHERE id = 'media'", (NOW - 60 * DAY,))

    pruned = Retention(store, uploads, days=30, busy=lambda i: i == "running").prune(NOW)
    assert sorted(pruned.scans) == ["media", "old", "oldfail"] and pruned.alerts == 1
    assert not old.exists() and not failed.exists()
    assert running.exists() and fresh.exists() and store.scan("running") and store.scan("fresh")
    assert media.exists()  # a file of the media folder is never deleted, only its scan record
    assert [a["id"] for a in store.alerts()] == [keep]


def test_size_prunes_the_oldest_first_until_it_fits(tmp_path):
    store, uploads = setup(tmp_path)
    mb = 1 << 20
    oldest = scan(store, uploads, "a", 10, size=mb)
    alert = store.add_alert("cam", 1, 0.0, 0.9, NOW - 9 * DAY, b"\xff" * mb)
    middle = scan(store, uploads, "b", 8, size=mb)
    busy = scan(store, uploads, "busy", 20, status="running", size=mb)
    newest = scan(store, uploads, "c", 1, size=mb)
    retention = Retention(store, uploads, max_bytes=int(2.5 * mb), busy=lambda i: i == "busy")
    pruned = retention.prune(NOW)
    # 3 finished scans + 1 alert picture = 4 MB (+ timelines): the two oldest items go, the running scan stays
    assert pruned.scans == ["a"] and pruned.snapshots == 1
    assert not oldest.exists() and middle.exists() and newest.exists() and busy.exists()
    assert store.alert_snapshot(alert) is None and store.alerts()[0]["id"] == alert  # the record stays
    assert not retention.prune(NOW)  # it fits now: nothing more goes
    retention.max_bytes = mb + 100_000
    assert retention.prune(NOW).scans == ["b"] and newest.exists()


def test_nothing_configured_prunes_nothing(tmp_path):
    store, uploads = setup(tmp_path)
    path = scan(store, uploads, "a", 1000)
    retention = Retention(store, uploads)
    assert not retention.enabled and not retention.prune(NOW) and path.exists()


def test_orphaned_and_partial_uploads_are_cleaned(tmp_path):
    store, uploads = setup(tmp_path)
    kept = scan(store, uploads, "0000000000000001", 1)
    (uploads / "0000000000000002.part").write_bytes(b"half")
    (uploads / "0000000000000003").write_bytes(b"no scan row")
    assert Retention(store, uploads).clean_orphans() == 2
    assert [p.name for p in uploads.iterdir()] == [kept.name]
