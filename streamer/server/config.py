"""Server settings from command-line flags, falling back to DFS_* environment variables."""
from __future__ import annotations

import argparse
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..monitor.mqtt import MqttConfig, MqttError, add_arguments as add_mqtt_arguments, from_args as mqtt_from_args
from .auth import is_loopback

WEB_DIR = Path(__file__).resolve().parent.parent.parent / "web"


class ConfigError(ValueError):
    """A setting is invalid; the message is meant for the user."""


@dataclass(frozen=True)
class IceServer:
    urls: str
    username: str | None = None
    credential: str | None = None

    def to_page(self) -> dict:
        entry: dict = {"urls": self.urls}
        if self.username is not None:
            entry["username"] = self.username
        if self.credential is not None:
            entry["credential"] = self.credential
        return entry


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    model_dir: str | None = None
    ice_servers: tuple[IceServer, ...] = ()
    ice_addresses: tuple[str, ...] = ()  # empty: every non-loopback address aioice finds
    max_sessions: int = 4
    tls_cert: str | None = None
    tls_key: str | None = None
    web_dir: Path = WEB_DIR
    max_offer_bytes: int = 64 * 1024
    connect_timeout: float = 20.0  # seconds from answer to an established connection
    data_dir: Path = Path("data")  # SQLite database and uploads
    max_upload_bytes: int = 2 * 1024**3
    media_dir: Path | None = None  # server-side folder whose files may be scanned by path
    api_token: str | None = None  # required on mutating /api/ requests when set
    allow_http_streams: bool = False
    max_streams: int = 16
    mqtt: MqttConfig | None = None  # publish stream status, scores and alerts to this broker

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"


def _or(value: object, default: object) -> object:
    """``value`` unless it is unset (None or ""): 0 is a value, to be validated, not a default."""
    return default if value is None or value == "" else value


def _split(value: str | None) -> list[str]:
    return [part for part in (value or "").replace(",", " ").split() if part]


def ice_server_list(urls: list[str], username: str | None, credential: str | None) -> tuple[IceServer, ...]:
    servers = []
    for url in urls:
        scheme = url.split(":", 1)[0].lower()
        if scheme not in ("stun", "stuns", "turn", "turns") or ":" not in url:
            raise ConfigError(f"ICE server {url!r}: expected stun:HOST[:PORT] or turn:HOST[:PORT][?transport=udp|tcp]")
        if scheme.startswith("turn"):
            if not (username and credential):
                raise ConfigError(f"TURN server {url!r} needs --turn-username and --turn-credential "
                                  "(or DFS_TURN_USERNAME / DFS_TURN_CREDENTIAL)")
            servers.append(IceServer(url, username, credential))
        else:
            servers.append(IceServer(url))
    return tuple(servers)


def address_list(values: list[str]) -> tuple[str, ...]:
    out = []
    for value in values:
        try:
            out.append(str(ipaddress.ip_address(value)))
        except ValueError as exc:
            raise ConfigError(f"ICE address {value!r} is not an IP address") from exc
    return tuple(out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default: $DFS_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default: $DFS_PORT or 8080)")
    parser.add_argument("--model", metavar="DIR", help="model directory (default: $DFS_MODEL_DIR or models/default)")
    parser.add_argument("--ice-server", action="append", metavar="URL",
                        help="STUN/TURN URL for the page and the server, repeatable (default: $DFS_ICE_SERVERS, none)")
    parser.add_argument("--turn-username", help="TURN username (default: $DFS_TURN_USERNAME)")
    parser.add_argument("--turn-credential", help="TURN credential (default: $DFS_TURN_CREDENTIAL)")
    parser.add_argument("--ice-address", action="append", metavar="IP",
                        help="only these local addresses become ICE host candidates, repeatable; 127.0.0.1 allowed "
                             "(default: $DFS_ICE_ADDRESSES, else every non-loopback address)")
    parser.add_argument("--max-sessions", type=int, help="concurrent webcam sessions (default: $DFS_MAX_SESSIONS or 4)")
    parser.add_argument("--tls-cert", metavar="PEM", help="TLS certificate; browsers allow the camera only on "
                        "https or localhost (default: $DFS_TLS_CERT)")
    parser.add_argument("--tls-key", metavar="PEM", help="TLS private key (default: $DFS_TLS_KEY)")
    parser.add_argument("--data-dir", metavar="DIR", help="SQLite database and uploads (default: $DFS_DATA_DIR or "
                        "./data)")
    parser.add_argument("--max-upload-mb", type=int, help="largest accepted upload in MB (default: "
                        "$DFS_MAX_UPLOAD_MB or 2048)")
    parser.add_argument("--media-dir", metavar="DIR", help="folder on the server whose files may be scanned by path "
                        "(default: $DFS_MEDIA_DIR, none)")
    parser.add_argument("--api-token", help="token for POST/DELETE /api/ requests; required when listening beyond "
                        "loopback (default: $DFS_API_TOKEN)")
    parser.add_argument("--allow-http-streams", action="store_true", default=None,
                        help="accept http(s) stream URLs besides rtsp(s) (default: $DFS_ALLOW_HTTP_STREAMS)")
    add_mqtt_arguments(parser)


def from_args(args: argparse.Namespace | None = None, env: Mapping[str, str] | None = None) -> ServerConfig:
    """Flags win over the environment, which wins over the defaults."""
    env = os.environ if env is None else env

    def pick(name: str, var: str) -> str | None:
        value = getattr(args, name, None) if args is not None else None
        return value if value is not None else env.get(var) or None

    try:
        port = int(_or(pick("port", "DFS_PORT"), 8080))
        max_sessions = int(_or(pick("max_sessions", "DFS_MAX_SESSIONS"), 4))
    except ValueError as exc:
        raise ConfigError(f"port and max sessions must be integers: {exc}") from exc
    if not 0 <= port <= 65535:
        raise ConfigError(f"port {port} is out of range")
    if max_sessions < 1:
        raise ConfigError("max sessions must be at least 1")
    try:
        max_upload_mb = int(pick("max_upload_mb", "DFS_MAX_UPLOAD_MB") or 2048)
    except ValueError as exc:
        raise ConfigError(f"max upload must be an integer number of MB: {exc}") from exc
    if max_upload_mb < 1:
        raise ConfigError("max upload must be at least 1 MB")
    media_dir = pick("media_dir", "DFS_MEDIA_DIR")
    if media_dir and not Path(media_dir).is_dir():
        raise ConfigError(f"media folder {media_dir} does not exist")
    host = pick("host", "DFS_HOST") or "127.0.0.1"
    token = pick("api_token", "DFS_API_TOKEN")
    if not token and not is_loopback(host):
        raise ConfigError(f"listening on {host} needs an API token for the mutating endpoints: "
                          "pass --api-token or set DFS_API_TOKEN")
    allow_http = getattr(args, "allow_http_streams", None)
    if allow_http is None:
        allow_http = env.get("DFS_ALLOW_HTTP_STREAMS", "").lower() in ("1", "true", "yes")
    urls = getattr(args, "ice_server", None) or _split(env.get("DFS_ICE_SERVERS"))
    addresses = getattr(args, "ice_address", None) or _split(env.get("DFS_ICE_ADDRESSES"))
    cert, key = pick("tls_cert", "DFS_TLS_CERT"), pick("tls_key", "DFS_TLS_KEY")
    if bool(cert) != bool(key):
        raise ConfigError("TLS needs both a certificate and a key")
    for path in (cert, key):
        if path and not Path(path).is_file():
            raise ConfigError(f"TLS file {path} does not exist")
    try:
        mqtt = mqtt_from_args(args, env)
    except MqttError as exc:
        raise ConfigError(str(exc)) from exc
    return ServerConfig(
        mqtt=mqtt, data_dir=Path(pick("data_dir", "DFS_DATA_DIR") or "data"), max_upload_bytes=max_upload_mb * 1024 * 1024,
        media_dir=Path(media_dir) if media_dir else None, api_token=token, allow_http_streams=allow_http,
        host=host, port=port, model_dir=pick("model", "DFS_MODEL_DIR"),
        ice_servers=ice_server_list(urls, pick("turn_username", "DFS_TURN_USERNAME"),
                                    pick("turn_credential", "DFS_TURN_CREDENTIAL")),
        ice_addresses=address_list(addresses), max_sessions=max_sessions, tls_cert=cert, tls_key=key)
