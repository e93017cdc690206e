"""Debian's mosquitto on 127.0.0.1, started by a test on a free port, optionally with a password file."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.loopback import free_port

MOSQUITTO = "/usr/sbin/mosquitto"


class Broker:
    def __init__(self, folder: Path, users: dict[str, str] | None = None):
        if not Path(MOSQUITTO).is_file():
            pytest.skip(f"{MOSQUITTO} is missing: run `make apt-test`")
        self.port = free_port()
        lines = [f"listener {self.port} 127.0.0.1", "persistence false", "log_dest stderr"]
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to user mosquitto, who cannot read the test's folder
        if users:
            passwords = folder / "passwords"
            for i, (user, password) in enumerate(users.items()):
                subprocess.run([shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd", "-b",
                                *(["-c"] if i == 0 else []), str(passwords), user, password], check=True, timeout=10)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        conf = folder / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"mosquitto did not start: {self.proc.stdout.read().decode(errors='replace')[-800:]}")

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)


class Subscriber:
    """A paho client collecting every message under a topic filter."""

    def __init__(self, port: int, topic: str = "#", username: str | None = None, password: str | None = None):
        import paho.mqtt.client as mqtt

        self.messages: list[tuple[str, bytes, bool]] = []
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-subscriber")
        if username:
            self._client.username_pw_set(username, password)
        self._client.on_message = lambda _c, _u, msg: self.messages.append((msg.topic, msg.payload, msg.retain))
        self._client.connect("127.0.0.1", port)
        self._client.subscribe(topic, qos=1)
        self._client.loop_start()

    def payloads(self, topic: str) -> list[bytes]:
        return [p for t, p, _ in list(self.messages) if t == topic]

    def wait(self, predicate, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"not received within {timeout} s: {[t for t, _, _ in self.messages][:40]}")
            time.sleep(0.05)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
