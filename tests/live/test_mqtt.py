"""MQTT against a real broker (Debian's mosquitto on 127.0.0.1): status, scores, alerts, snapshot, availability."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from streamer.live.mqtt import MqttError, MqttPublisher, parse_mqtt
from streamer.live.status import StatusEvent, Status

from .mqtt_broker import Broker, Subscriber

PREFIX = "deepfake-streamer"


def monitor_cmd(*args, model_dir):
    env = {**os.environ, "DFS_MODEL_DIR": str(model_dir)}
    env.pop("DFS_MQTT_URL", None)
    return [sys.executable, "-m", "streamer.cli", "monitor", *map(str, args)], env


def test_a_real_rtsp_stream_sends_status_scores_and_an_alert_with_its_snapshot(rtsp_server, random_model_dir,
                                                                               tmp_path):
    broker = Broker(tmp_path, users={"cam": "pa ss"})
    sub = Subscriber(broker.port, f"{PREFIX}/#", "cam", "pa ss")
    try:
        cmd, env = monitor_cmd(rtsp_server.url, "--duration", "8", "--fps", "5", "--threshold", "0.01",
                               "--alert-seconds", "0.5", "--mqtt", broker.url, "--mqtt-user", "cam",
                               model_dir=random_model_dir)
        env["DFS_MQTT_PASSWORD"] = "pa ss"
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=90)
        assert proc.returncode == 0, proc.stderr
        stream = json.loads(proc.stdout.splitlines()[0])["stream"]
        base = f"{PREFIX}/{stream}"
        sub.wait(lambda: sub.payloads(f"{PREFIX}/available")[-1:] == [b"offline"])
        statuses = [json.loads(p)["status"] for p in sub.payloads(f"{base}/status")]
        assert "live" in statuses and statuses[-1] == "stopped", statuses
        assert sub.payloads(f"{PREFIX}/available")[0] == b"online"
        scores = [json.loads(p) for p in sub.payloads(f"{base}/score")]
        assert 3 <= len(scores) <= 10 and any(s["faces"] for s in scores)  # at most one a second
        alert = json.loads(sub.payloads(f"{base}/alert")[0])
        assert alert["stream"] == stream and alert["score"] >= 0.01 and "snapshot" not in json.dumps(alert)
        assert json.loads(sub.payloads(f"{PREFIX}/alerts")[0]) == alert
        jpeg = sub.payloads(f"{base}/snapshot")[0]
        face = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert face is not None and face.shape[0] > 32
        assert "pa ss" not in proc.stdout + proc.stderr
    finally:
        sub.close()
        broker.stop()


def test_retained_topics_and_the_last_will(tmp_path):
    broker = Broker(tmp_path)
    try:
        pub = MqttPublisher(parse_mqtt(broker.url, prefix="home/dfs"))
        pub.start()
        deadline = time.monotonic() + 10
        while not pub.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        pub.on_event(StatusEvent("front door", "rtsp", Status.LIVE))
        time.sleep(0.5)
        late = Subscriber(broker.port, "home/dfs/#")
        late.wait(lambda: late.payloads("home/dfs/front_door/status") and late.payloads("home/dfs/available"))
        assert json.loads(late.payloads("home/dfs/front_door/status")[0])["status"] == "live"
        assert late.payloads("home/dfs/available") == [b"online"]
        pub._client._sock.close()  # the process dies without a goodbye: the broker sends the last will
        late.wait(lambda: late.payloads("home/dfs/available")[-1:] == [b"offline"], timeout=60)
        late.close()
        pub._client.loop_stop()
    finally:
        broker.stop()


@pytest.mark.parametrize("url, extra, why", [
    ("tcp://127.0.0.1:1883", {}, "expected mqtt://"),
    ("mqtt://127.0.0.1:99999", {}, "port"),
    ("mqtt://", {}, "no host"),
    ("mqtt://127.0.0.1/topic", {}, "no path"),
    ("mqtt://:secret@127.0.0.1", {}, "needs a user name"),
    ("mqtt://127.0.0.1", {"ca_file": "/etc/hostname"}, "need an mqtts://"),
    ("mqtts://127.0.0.1", {"ca_file": "/nonexistent.pem"}, "does not exist"),
    ("mqtts://127.0.0.1", {"cert_file": "/etc/hostname"}, "needs its key"),
    ("mqtt://127.0.0.1", {"prefix": "a/#"}, "prefix"),
])
def test_bad_mqtt_options_are_refused_with_a_clear_message(url, extra, why):
    with pytest.raises(MqttError, match=why) as info:
        parse_mqtt(url, **extra)
    assert "secret" not in str(info.value)


def test_monitor_exits_2_on_bad_mqtt_options(random_model_dir):
    cmd, env = monitor_cmd("rtsp://127.0.0.1:9/x", "--mqtt", "mqtt://u:hunter2@127.0.0.1:1883/x",
                           model_dir=random_model_dir)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2 and "no path" in proc.stderr and "hunter2" not in proc.stderr
    assert "Traceback" not in proc.stderr


def test_credentials_from_the_url_are_percent_decoded_and_kept_out_of_repr():
    cfg = parse_mqtt("mqtts://ha%40home:p%3Ass@broker.local")
    assert (cfg.username, cfg.password, cfg.port, cfg.tls) == ("ha@home", "p:ss", 8883, True)
    assert "p:ss" not in repr(cfg) and cfg.shown == "mqtts://broker.local:8883"


async def test_the_server_publishes_a_dashboard_stream_to_mqtt(rtsp_server, random_model, tmp_path):
    from tests.server.api import api_client

    from tests.loopback import wait_for

    broker = Broker(tmp_path)
    sub = Subscriber(broker.port, f"{PREFIX}/#")
    try:
        async with api_client(random_model, tmp_path / "data", mqtt=parse_mqtt(broker.url)) as client:
            resp = await client.post("/api/streams", json={"name": "gate 1", "url": rtsp_server.url, "fps": 5,
                                                           "threshold": 0.01, "alert_seconds": 0.5})
            assert resp.status == 201, await resp.text()
            await wait_for(lambda: sub.payloads(f"{PREFIX}/gate_1/alert"), timeout=40)
            alert = json.loads(sub.payloads(f"{PREFIX}/gate_1/alert")[0])
            snapshot = sub.payloads(f"{PREFIX}/gate_1/snapshot")[0]
            assert snapshot == await (await client.get(f"/api/alerts/{alert['id']}/snapshot.jpg")).read()
            assert "live" in [json.loads(p)["status"] for p in sub.payloads(f"{PREFIX}/gate_1/status")]
        await wait_for(lambda: sub.payloads(f"{PREFIX}/available")[-1:] == [b"offline"], timeout=10)
        assert sub.payloads(f"{PREFIX}/available")[0] == b"online"
    finally:
        sub.close()
        broker.stop()


def test_serve_refuses_bad_mqtt_options():
    from streamer.server.config import ConfigError, from_args

    class Args:
        mqtt = "mqtt://127.0.0.1:1883/x"

    with pytest.raises(ConfigError, match="no path"):
        from_args(Args(), env={})
