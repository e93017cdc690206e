"""MQTT out: stream status, scores, alerts and their snapshots, availability; Frigate-style topics.

Topic tree under ``PREFIX`` (default ``deepfake-streamer``; ``+`` is a stream name, spaces as ``_``):

==========================  =========================================================  ========
topic                        payload                                                    retained
==========================  =========================================================  ========
``PREFIX/available``         ``online`` / ``offline`` (also the last will)              yes
``PREFIX/+/status``          JSON ``{"status", "error", "kind", "time"}``               yes
``PREFIX/+/score``           JSON ``{"score", "faces", "verdict", "time"}``, ≤ 1/s       no
``PREFIX/+/alert``           JSON alert ``{"id", "stream", "track_id", "pts", ...}``    no
``PREFIX/+/snapshot``        JPEG of the last alert's face                              yes
``PREFIX/alerts``            every alert's JSON, all streams (like ``frigate/events``)  no
==========================  =========================================================  ========

The client's network loop runs on its own thread; publishing never blocks the event loop, and while
the broker is away at most ``max_queued`` messages wait (more are dropped and counted).
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from prometheus_client import Counter, Gauge

from .urls import redact

log = logging.getLogger(__name__)
DEFAULT_PREFIX = "deepfake-streamer"
SCHEMES = {"mqtt": 1883, "mqtts": 8883}
MQTT_MESSAGES = Counter("dfs_mqtt_messages", "MQTT messages by outcome", ["result"])
MQTT_CONNECTED = Gauge("dfs_mqtt_connected", "1 while connected to the MQTT broker")


class MqttError(ValueError):
    """Bad MQTT settings; the message is meant for the user (never holds the password)."""


@dataclass(frozen=True)
class MqttConfig:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = False  # TLS without checking the broker's certificate and name
    prefix: str = DEFAULT_PREFIX
    client_id: str = field(default_factory=lambda: f"deepfake-streamer-{uuid.uuid4().hex[:8]}")

    @property
    def shown(self) -> str:
        """The broker for logs and errors, without credentials."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_mqtt(url: str, username: str | None = None, password: str | None = None, ca_file: str | None = None,
               cert_file: str | None = None, key_file: str | None = None, insecure: bool = False,
               prefix: str = DEFAULT_PREFIX) -> MqttConfig:
    """``mqtt://[user[:password]@]host[:port]`` or ``mqtts://...``, with the TLS and login options checked."""
    parts = urlsplit(url or "")
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise MqttError(f"MQTT broker {redact(url or '')!r}: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
    try:
        port = parts.port or SCHEMES[scheme]
    except ValueError as exc:
        raise MqttError(f"MQTT broker {redact(url or '')!r}: the port must be a number from 1 to 65535") from exc
    if not parts.hostname:
        raise MqttError(f"MQTT broker {redact(url or '')!r}: no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise MqttError(f"MQTT broker {redact(url or '')!r}: no path or query is allowed (use --mqtt-prefix for topics)")
    username = username or (unquote(parts.username) if parts.username else None)
    password = password or (unquote(parts.password) if parts.password else None)
    if password and not username:
        raise MqttError("an MQTT password needs a user name (--mqtt-user)")
    tls = scheme == "mqtts"
    if not tls and (ca_file or cert_file or key_file or insecure):
        raise MqttError("MQTT TLS options need an mqtts:// broker URL")
    if bool(cert_file) != bool(key_file):
        raise MqttError("an MQTT client certificate needs its key, and the key its certificate")
    for path in (ca_file, cert_file, key_file):
        if path and not Path(path).is_file():
            raise MqttError(f"MQTT TLS file {path} does not exist")
    check_prefix(prefix)
    return MqttConfig(parts.hostname, port, tls, username, password, ca_file, cert_file, key_file, insecure, prefix)


def check_prefix(prefix: str) -> None:
    if not prefix or prefix.startswith("/") or prefix.endswith("/") or any(c in prefix for c in "+#\0"):
        raise MqttError(f"MQTT topic prefix {prefix!r}: must be non-empty, without '+', '#' or a leading or "
                        "trailing '/'")


def topic_name(stream: str) -> str:
    return stream.replace(" ", "_").replace("/", "_")


class MqttPublisher:
    """Publishes the monitor's events; ``on_event`` is an event sink (call it on the event loop)."""

    def __init__(self, cfg: MqttConfig, max_queued: int = 200, score_every: float = 1.0):
        self.cfg, self.score_every = cfg, score_every
        self.connected = False
        self.sent = self.dropped = 0
        self._last_score: dict[str, float] = {}
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cfg.client_id)
        self._client.max_queued_messages_set(max_queued)
        self._client.will_set(self.topic("available"), "offline", qos=1, retain=True)
        if cfg.username:
            self._client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls:
            self._client.tls_set(ca_certs=cfg.ca_file, certfile=cfg.cert_file, keyfile=cfg.key_file,
                                 cert_reqs=ssl.CERT_NONE if cfg.insecure else ssl.CERT_REQUIRED)
            self._client.tls_insecure_set(cfg.insecure)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.reconnect_delay_set(1, 30)

    def topic(self, *levels: str) -> str:
        return "/".join([self.cfg.prefix, *levels])

    def start(self) -> None:
        self._client.connect_async(self.cfg.host, self.cfg.port, keepalive=30)
        self._client.loop_start()

    def _on_connect(self, _client, _userdata, _flags, reason, _properties) -> None:
        if reason.is_failure:
            log.warning("MQTT broker %s refused the connection: %s", self.cfg.shown, reason)
            return
        self.connected = True
        MQTT_CONNECTED.set(1)
        log.info("MQTT: connected to %s", self.cfg.shown)
        self._publish(self.topic("available"), "online", retain=True)

    def _on_disconnect(self, _client, _userdata, _flags, reason, _properties) -> None:
        if self.connected:
            log.warning("MQTT: lost %s (%s); reconnecting", self.cfg.shown, reason)
        self.connected = False
        MQTT_CONNECTED.set(0)

    def _publish(self, topic: str, payload: bytes | str, retain: bool = False, qos: int = 1) -> None:
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc == 0:
            self.sent += 1
            MQTT_MESSAGES.labels("queued").inc()
        else:  # the queue is full while the broker is away
            self.dropped += 1
            MQTT_MESSAGES.labels("dropped").inc()

    def on_event(self, event, snapshot: bytes | None = None) -> None:
        """A typed event or its dict; an alert's JPEG comes with a typed event, or as ``snapshot``."""
        data = event if isinstance(event, dict) else event.to_dict()
        kind = data.get("type")
        if kind == "status" and data.get("stream"):
            self._publish(self.topic(topic_name(data["stream"]), "status"), json.dumps(
                {k: data.get(k) for k in ("status", "error", "kind", "time")}), retain=True)
        elif kind == "alert":
            self._alert(data, snapshot or getattr(getattr(event, "alert", None), "snapshot", b""))
        elif kind == "result" and data.get("stream"):
            self._score(data)

    async def follow(self, hub, snapshot_of: Callable[[int], bytes | None]) -> None:
        """The server's way in: every event of its hub (stream events carry no JPEG: it comes from the store)."""
        queue = hub.subscribe()
        try:
            while (event := await queue.get()).get("type") != "closed":
                alert = event.get("type") == "alert" and event.get("id")
                jpeg = await asyncio.to_thread(snapshot_of, event["id"]) if alert else None
                self.on_event(event, jpeg)
        finally:
            hub.unsubscribe(queue)

    def _alert(self, data: dict, snapshot: bytes) -> None:
        stream = topic_name(data["stream"])
        body = json.dumps({k: v for k, v in data.items() if k != "type"})
        if snapshot:
            self._publish(self.topic(stream, "snapshot"), snapshot, retain=True)
        self._publish(self.topic(stream, "alert"), body)
        self._publish(self.topic("alerts"), body)

    def _score(self, data: dict) -> None:
        stream = topic_name(data["stream"])
        now = time.monotonic()
        if now - self._last_score.get(stream, -1e9) < self.score_every:
            return
        self._last_score[stream] = now
        faces = data.get("faces") or []
        worst = max(faces, key=lambda f: f["score"], default=None)
        self._publish(self.topic(stream, "score"), json.dumps(
            {"score": worst["score"] if worst else None, "verdict": worst["verdict"] if worst else None,
             "faces": len(faces), "time": time.time()}), qos=0)

    def close(self, timeout: float = 3.0) -> None:
        """Say ``offline`` (retained), flush what is queued, disconnect."""
        if self.connected:
            info = self._client.publish(self.topic("available"), "offline", qos=1, retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError):
                pass
        self._client.disconnect()
        self._client.loop_stop()
        MQTT_CONNECTED.set(0)


def add_arguments(parser) -> None:
    parser.add_argument("--mqtt", metavar="URL", help="publish status, scores, alerts and snapshots to this MQTT "
                        "broker: mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (default: $DFS_MQTT_URL, none)")
    parser.add_argument("--mqtt-user", help="MQTT user name (default: $DFS_MQTT_USER)")
    parser.add_argument("--mqtt-password", help="MQTT password (default: $DFS_MQTT_PASSWORD; prefer the variable: "
                        "a flag shows in the process list)")
    parser.add_argument("--mqtt-ca", metavar="PEM", help="CA certificate(s) to check an mqtts:// broker against "
                        "(default: the system's)")
    parser.add_argument("--mqtt-cert", metavar="PEM", help="TLS client certificate for the broker")
    parser.add_argument("--mqtt-key", metavar="PEM", help="TLS client key for the broker")
    parser.add_argument("--mqtt-insecure", action="store_true", help="mqtts:// without checking the broker's "
                        "certificate (testing only)")
    parser.add_argument("--mqtt-prefix", default=DEFAULT_PREFIX, help=f"topic prefix (default {DEFAULT_PREFIX})")


def from_args(args, env=None) -> MqttConfig | None:
    """The MQTT settings of a command line (flags win over DFS_MQTT_* variables), or None without a broker."""
    env = os.environ if env is None else env
    url = getattr(args, "mqtt", None) or env.get("DFS_MQTT_URL")
    if not url:
        if getattr(args, "mqtt_user", None) or getattr(args, "mqtt_password", None):
            raise MqttError("--mqtt-user/--mqtt-password need --mqtt URL")
        return None
    return parse_mqtt(url, getattr(args, "mqtt_user", None) or env.get("DFS_MQTT_USER"),
                      getattr(args, "mqtt_password", None) or env.get("DFS_MQTT_PASSWORD"),
                      getattr(args, "mqtt_ca", None), getattr(args, "mqtt_cert", None), getattr(args, "mqtt_key", None),
                      bool(getattr(args, "mqtt_insecure", False)), getattr(args, "mqtt_prefix", None) or DEFAULT_PREFIX)
