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


def test_interrupted_scans_are_marked_failed_and_finished_ones_kept(tmp_path):
    store = Store(tmp_path / "dfs.sqlite")
    store.create_scan("a", "a.mp4", "/data/a.mp4")
    store.update_scan("a", status="running", progress=0.4)
    store.create_scan("b", "b.mp4", "/data/b.mp4")
    store.update_scan("b", status="done", progress=1.0, timeline={"frames": [1, 2]})
    store.close()
    again = Store(tmp_path / "dfs.sqlite")
    assert again.fail_interrupted_scans() == 1
    a = again.scan("a")
    assert a["status"] == "failed" and "restart" in a["error"]
    assert again.scan("b", with_timeline=True)["timeline"] == {"frames": [1, 2]}


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
