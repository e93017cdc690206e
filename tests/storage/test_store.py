import sqlite3

import pytest

from streamer.storage.store import Store


def test_alerts_and_streams_survive_reopening(tmp_path):
    store = Store(tmp_path / "dfs.sqlite")
    store.save_stream({"name": "cam", "url": "rtsp://127.0.0.1/x", "fps": 5, "threshold": 0.6, "alert_seconds": 2})
    alert_id = store.add_alert("cam", 3, 12.5, 0.91, 1000.0, b"\xff\xd8jpeg")
    store.close()
    again = Store(tmp_path / "dfs.sqlite")
    assert again.streams()[0]["url"] == "rtsp://127.0.0.1/x"
    assert again.alerts("cam") == [{"id": alert_id, "stream": "cam", "track_id": 3, "pts": 12.5, "score": 0.91,
                                    "created": 1000.0}]
    assert again.alert_snapshot(alert_id) == b"\xff\xd8jpeg"
    assert again.alert_snapshot(alert_id + 1) is None


def test_a_scan_left_running_is_failed_queued_ones_wait_and_finished_ones_are_kept(tmp_path):
    store = Store(tmp_path / "dfs.sqlite")
    store.create_scan("a", "a.mp4", "/data/a.mp4")
    store.update_scan("a", status="running", progress=0.4)
    store.create_scan("b", "b.mp4", "/data/b.mp4")
    store.update_scan("b", status="done", progress=1.0, timeline={"frames": [1, 2]})
    store.create_scan("c", "c.mp4", "/data/c.mp4")
    store.close()
    again = Store(tmp_path / "dfs.sqlite")
    assert again.fail_interrupted_scans() == 1
    a = again.scan("a")
    assert a["status"] == "failed" and "unexpectedly" in a["error"]
    assert again.scan("b", with_timeline=True)["timeline"] == {"frames": [1, 2]}
    assert again.queued_scans() == [{"id": "c", "path": "/data/c.mp4"}]
    again.requeue_scan("a")
    a = again.scan("a", with_timeline=True)
    assert (a["status"], a["progress"], a["error"], a["finished"], a["timeline"]) == ("queued", 0, None, None, None)


def test_update_rejects_unknown_columns(tmp_path):
    store = Store(tmp_path / "dfs.sqlite")
    store.create_scan("a", "a.mp4", "/x")
    with pytest.raises(ValueError):
        store.update_scan("a", path="/etc/passwd")
    with pytest.raises(sqlite3.IntegrityError):
        store.create_scan("a", "again.mp4", "/y")


def test_an_older_database_gains_the_summary_column(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE scans (id TEXT PRIMARY KEY, filename TEXT NOT NULL, path TEXT NOT NULL, "
                     "status TEXT NOT NULL, progress REAL NOT NULL DEFAULT 0, error TEXT, created REAL NOT NULL, "
                     "finished REAL, info TEXT, timeline TEXT);"
                     "INSERT INTO scans (id, filename, path, status, created) VALUES ('a', 'a.mp4', '/x', 'done', 1);")
    db.close()
    store = Store(path)
    assert store.scan("a")["summary"] is None
    store.update_scan("a", summary={"verdict": "real", "tracks": 1, "max_score": 0.1})
    assert store.scans()[0]["summary"]["verdict"] == "real"


def _mode(path) -> int:
    import stat

    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_folder_is_0700_and_the_database_0600_whatever_the_umask(tmp_path):
    import os

    for umask in (0o000, 0o022):
        old = os.umask(umask)
        try:
            folder = tmp_path / f"data-{umask:o}"
            store = Store(folder / "deepfake-streamer.sqlite")
            store.save_stream({"name": "a", "url": "rtsp://127.0.0.1/x", "fps": 1.0, "threshold": 0.5,
                               "alert_seconds": 1.0})
            files = sorted(folder.iterdir())
            assert {p.name for p in files} >= {"deepfake-streamer.sqlite", "deepfake-streamer.sqlite-wal"}
            assert _mode(folder) == 0o700 and all(_mode(p) == 0o600 for p in files), [(p, oct(_mode(p))) for p in files]
            store.close()
        finally:
            os.umask(old)
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    (loose / "deepfake-streamer.sqlite").touch(mode=0o644)
    Store(loose / "deepfake-streamer.sqlite").close()  # an older release's files are tightened
    assert _mode(loose) == 0o700 and _mode(loose / "deepfake-streamer.sqlite") == 0o600


def test_stream_urls_are_stored_encrypted_with_a_key_outside_the_database(tmp_path):
    from streamer.storage.secretbox import SecretBox, default_key_file

    data = tmp_path / "data"
    db = data / "deepfake-streamer.sqlite"
    legacy = Store(db)  # an older release wrote URLs in plain text
    legacy.save_stream({"name": "old", "url": "rtsp://admin:0ld-pa55@127.0.0.1/a", "fps": 1.0, "threshold": 0.5,
                        "alert_seconds": 1.0})
    legacy.close()
    key_file = default_key_file(data)
    assert key_file == tmp_path / "data.key"
    store = Store(db, SecretBox(key_file))
    store.save_stream({"name": "door", "url": "rtsp://admin:s3cret-pa55@127.0.0.1/b", "fps": 1.0, "threshold": 0.5,
                       "alert_seconds": 1.0})
    assert [s["url"] for s in store.streams()] == ["rtsp://admin:0ld-pa55@127.0.0.1/a",
                                                   "rtsp://admin:s3cret-pa55@127.0.0.1/b"]
    store.close()
    assert _mode(key_file) == 0o600 and not key_file.is_relative_to(data)
    raw = b"".join(p.read_bytes() for p in data.iterdir())
    assert b"pa55" not in raw and b"enc1:" in raw  # the old row was encrypted in place too
    other = Store(db, SecretBox(tmp_path / "other.key"))  # a different key: rows kept, URLs unreadable
    rows = other.streams()
    assert [r["url"] for r in rows] == [None, None] and all("another key" in r["url_error"] for r in rows)
    other.close()
    assert all("cannot be decrypted" in r["url_error"] for r in Store(db).streams())
