import json
import os
import subprocess
import sys


def monitor(*args, model_dir, timeout=60, env=None):
    env = {**os.environ, "DFS_MODEL_DIR": str(model_dir), **(env or {})}
    return subprocess.run([sys.executable, "-m", "streamer.cli", "monitor", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout)


def test_monitor_prints_json_lines_and_stores_alerts(rtsp_server, random_model_dir, tmp_path):
    db = tmp_path / "alerts.sqlite"
    proc = monitor(rtsp_server.url, "--duration", "6", "--fps", "5", "--results", "--threshold", "0.01",
                   "--alert-seconds", "0.5", "--db", db, model_dir=random_model_dir)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    kinds = {e["type"] for e in events}
    assert kinds == {"status", "result", "alert"}
    assert [e["status"] for e in events if e["type"] == "status"][:2] == ["connecting", "live"]
    results = [e for e in events if e["type"] == "result"]
    assert 10 <= len(results) <= 35 and any(r["faces"] for r in results)
    alert = next(e for e in events if e["type"] == "alert")
    assert alert["id"] >= 1 and alert["score"] >= 0.01  # any window score passes a 0.01 threshold

    from streamer.storage.store import Store

    stored = Store(db).alerts()
    assert [a["id"] for a in stored] == sorted((e["id"] for e in events if e["type"] == "alert"), reverse=True)


def test_monitor_refuses_file_and_concat_urls(random_model_dir):
    for url in ("file:///etc/passwd", "concat:/etc/passwd", "http://127.0.0.1:9/x"):
        proc = monitor(url, model_dir=random_model_dir)
        assert proc.returncode == 2 and "not allowed" in proc.stderr and "Traceback" not in proc.stderr


def test_monitor_exits_non_zero_when_every_stream_fails(random_model_dir):
    proc = monitor("rtsp://127.0.0.1:9/none", model_dir=random_model_dir, timeout=90)
    assert proc.returncode == 1
    statuses = [json.loads(line)["status"] for line in proc.stdout.splitlines()]
    assert "failed" in statuses


def test_monitor_uses_the_same_flag_names_as_serve(random_model_dir):
    new = monitor("http://127.0.0.1:9/x", "--allow-http-streams", "--duration", "1", model_dir=random_model_dir)
    assert "not allowed" not in new.stderr and "deprecated" not in new.stderr and new.returncode in (0, 1)
    old = monitor("http://127.0.0.1:9/x", "--allow-http", "--duration", "1", model_dir=random_model_dir)
    assert "not allowed" not in old.stderr and "--allow-http is deprecated" in old.stderr


def test_monitor_refuses_metadata_and_narrowed_hosts_and_redacts_passwords(random_model_dir):
    for args, reason in ((["rtsp://169.254.169.254/x"], "metadata"),
                         (["rtsp://127.0.0.1:9/x", "--webhook", "http://169.254.169.254/hook"], "metadata"),
                         (["rtsp://u:hunter2@10.0.0.7/x", "--allow-stream-hosts", "192.168.0.0/16"], "private")):
        proc = monitor(*args, model_dir=random_model_dir)
        assert proc.returncode == 2 and reason in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert "hunter2" not in proc.stderr + proc.stdout


def test_monitor_runs_streams_in_worker_processes_and_stores_their_alerts(rtsp_server, random_model_dir, tmp_path):
    db = tmp_path / "alerts.sqlite"
    proc = monitor(rtsp_server.url, rtsp_server.url, "--stream-workers", "2", "--duration", "15", "--fps", "5",
                   "--results", "--threshold", "0.01", "--alert-seconds", "0.5", "--db", db,
                   model_dir=random_model_dir, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {e["stream"] for e in events if e["type"] == "result"} == {"1-127.0.0.1-stream", "2-127.0.0.1-stream"}
    alerts = [e for e in events if e["type"] == "alert"]
    assert alerts and all(a["id"] >= 1 for a in alerts)  # stored here, in this process's SQLite

    from streamer.storage.store import Store

    assert {a["id"] for a in Store(db).alerts()} == {a["id"] for a in alerts}


def test_monitor_places_streams_one_way_only(random_model_dir):
    proc = monitor("rtsp://127.0.0.1:9/x", "--stream-workers", "2", "--ray", "auto", model_dir=random_model_dir)
    assert proc.returncode == 2 and "choose one" in proc.stderr and "Traceback" not in proc.stderr
    proc = monitor("rtsp://127.0.0.1:9/x", "--stream-workers", "none", model_dir=random_model_dir)
    assert proc.returncode == 2 and "stream workers must be a number" in proc.stderr
    # as serve does: each from its flag, else its variable ($DFS_RAY, $DFS_STREAM_WORKERS)
    proc = monitor("rtsp://127.0.0.1:9/x", "--stream-workers", "2", model_dir=random_model_dir, env={"DFS_RAY": "auto"})
    assert proc.returncode == 2 and "choose one" in proc.stderr
    proc = monitor("rtsp://127.0.0.1:9/x", "--ray", "auto", model_dir=random_model_dir,
                   env={"DFS_STREAM_WORKERS": "3"})
    assert proc.returncode == 2 and "choose one" in proc.stderr
