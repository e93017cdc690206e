"""Server settings from command-line flags, falling back to DFS_* environment variables."""
from __future__ import annotations

import argparse
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..core.inference import default_threads
from ..live.mqtt import MqttConfig, MqttError, add_arguments as add_mqtt_arguments, from_args as mqtt_from_args
from ..runtime.netpolicy import AddressPolicy, PolicyError, parse_networks
from ..storage.secretbox import default_key_file
from .auth import Access, is_loopback

PACKAGE_WEB_DIR = Path(__file__).resolve().parent.parent / "web"  # in an installed wheel
SOURCE_WEB_DIR = Path(__file__).resolve().parent.parent.parent / "web"  # in a checkout
WEB_DIR = PACKAGE_WEB_DIR if PACKAGE_WEB_DIR.is_dir() else SOURCE_WEB_DIR
MB = 1024 * 1024


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
    key_file_path: Path | None = None  # the key of stored stream URLs; None: beside data_dir (data.key)
    max_upload_bytes: int = 2 * 1024**3
    media_dir: Path | None = None  # server-side folder whose files may be scanned by path
    api_token: str | None = None  # when set, every /api/ request, media file and /metrics needs it
    viewer_token: str | None = None  # read-only access
    allow_http_streams: bool = False
    allow_stream_hosts: tuple[str, ...] | None = None  # CIDRs; None: loopback on a loopback-only server
    max_streams: int = 16
    max_queued_scans: int = 16
    workers: int | None = None  # scan worker processes; None: one per core
    max_uploads: int = 4  # uploads being received at once
    min_free_bytes: int = 1024 * MB  # refuse uploads that would leave less free disk than this
    mutations_per_minute: int = 120  # per client address; 0: no limit
    retention_days: float | None = None
    max_storage_bytes: int | None = None
    retention_interval: float = 300.0  # seconds between retention passes
    mqtt: MqttConfig | None = None  # publish stream status, scores and alerts to this broker
    ray: str | None = None  # a Ray cluster's address ('auto' or HOST:PORT): monitored streams run on its nodes
    stream_workers: int = 1  # > 1: monitored streams run in this many worker processes here

    @property
    def key_file(self) -> Path:
        return self.key_file_path or default_key_file(self.data_dir)

    @property
    def access(self) -> Access:
        return Access(self.api_token, self.viewer_token, secure_cookie=bool(self.tls_cert))

    @property
    def stream_policy(self):
        if self.allow_stream_hosts is not None:
            return AddressPolicy.from_cidrs(self.allow_stream_hosts)
        return AddressPolicy.loopback_only() if is_loopback(self.host) else AddressPolicy()

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
    add_placement_arguments(parser)
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
    parser.add_argument("--data-dir", metavar="DIR", help="SQLite database and uploads, kept 0700 (default: "
                        "$DFS_DATA_DIR or ./data)")
    parser.add_argument("--key-file", metavar="PATH", help="the key that encrypts stored stream URLs, made 0600 on "
                        "first use; keep it out of backups of the data folder (default: $DFS_KEY_FILE or the data "
                        "folder's name + .key beside it, e.g. ./data.key)")
    parser.add_argument("--max-upload-mb", type=int, help="largest accepted upload in MB (default: "
                        "$DFS_MAX_UPLOAD_MB or 2048)")
    parser.add_argument("--media-dir", metavar="DIR", help="folder on the server whose files may be scanned by path "
                        "(default: $DFS_MEDIA_DIR, none)")
    parser.add_argument("--api-token", help="token for every /api/ request, media file and /metrics (pages: sign "
                        "in once); required when listening beyond loopback (default: $DFS_API_TOKEN)")
    parser.add_argument("--viewer-token", help="read-only token: pages and reads, no changes (default: "
                        "$DFS_VIEWER_TOKEN)")
    add_stream_arguments(parser)
    parser.add_argument("--max-queued-scans", type=int, help="file scans queued or running at once (default: "
                        "$DFS_MAX_QUEUED_SCANS or 16)")
    parser.add_argument("--workers", type=int, metavar="N", help="scan worker processes: a video that splits is "
                        "scanned in segments at once, as `scan` does, the workers shared fairly between scans "
                        "(default: $DFS_WORKERS or one per CPU core; 1: every scan in the server process)")
    parser.add_argument("--max-uploads", type=int, help="uploads received at once (default: $DFS_MAX_UPLOADS or 4)")
    parser.add_argument("--min-free-disk-mb", type=int, help="refuse uploads that would leave less free disk "
                        "(default: $DFS_MIN_FREE_DISK_MB or 1024)")
    parser.add_argument("--rate-limit", type=int, metavar="N", help="changing requests per minute per client "
                        "address, 0 for none (default: $DFS_RATE_LIMIT or 120)")
    parser.add_argument("--retention-days", type=float, help="delete finished scans and alerts older than this "
                        "(default: $DFS_RETENTION_DAYS, keep forever)")
    parser.add_argument("--max-storage-gb", type=float, help="delete the oldest finished scans and alert snapshots "
                        "while uploads and snapshots take more (default: $DFS_MAX_STORAGE_GB, no limit)")


def add_stream_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by `serve` and `monitor`, with the same names."""
    parser.add_argument("--allow-http-streams", action="store_true", default=None,
                        help="accept http(s) stream URLs besides rtsp(s) (default: $DFS_ALLOW_HTTP_STREAMS)")
    parser.add_argument("--allow-stream-hosts", nargs="+", metavar="CIDR",
                        help="loopback or private networks streams may come from, e.g. 192.168.1.0/24 (default: "
                             "$DFS_ALLOW_STREAM_HOSTS, else loopback only when listening on loopback); link-local, "
                             "metadata, multicast and unspecified addresses are always refused")
    add_mqtt_arguments(parser)


def _number(value: object, default: object, kind: type, low: float, what: str):
    try:
        number = kind(_or(value, default))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what} must be a number: {value!r}") from exc
    if not number >= low:
        raise ConfigError(f"{what} must be at least {low:g}")
    return number


def stream_hosts(args: argparse.Namespace | None, env: Mapping[str, str]) -> tuple[str, ...] | None:
    """The ``--allow-stream-hosts`` networks, validated; None when not given."""
    values = getattr(args, "allow_stream_hosts", None) if args is not None else None
    if values is None and env.get("DFS_ALLOW_STREAM_HOSTS"):
        values = _split(env["DFS_ALLOW_STREAM_HOSTS"])
    if values is None:
        return None
    values = [part for value in values for part in _split(value)]
    try:
        parse_networks(values)
    except PolicyError as exc:
        raise ConfigError(f"--allow-stream-hosts: {exc.reason}") from exc
    return tuple(values)


def add_placement_arguments(parser: argparse.ArgumentParser) -> None:
    """Where monitored streams run: ``--ray`` or ``--stream-workers``."""
    parser.add_argument("--ray", metavar="ADDRESS",
                        help="run the monitored streams on a Ray cluster: 'auto' (the one `ray start` made here) or "
                             "the head's HOST:PORT (default: $DFS_RAY; needs pip install 'deepfake-streamer[cluster]')")
    parser.add_argument("--stream-workers", metavar="N",
                        help="run the monitored streams in N worker processes on this machine, past one process's "
                             "limit (default: $DFS_STREAM_WORKERS or 1: in this process); not with --ray")


def placement(args: argparse.Namespace | None, env: Mapping[str, str]) -> tuple[str | None, int]:
    """Where monitored streams run, flags over the environment: a Ray cluster (``--ray``, $DFS_RAY) or N worker
    processes here (``--stream-workers``, $DFS_STREAM_WORKERS; 1 is this process), not both."""
    ray = _pick(args, env, "ray", "DFS_RAY")
    workers = _number(_pick(args, env, "stream_workers", "DFS_STREAM_WORKERS"), 1, int, 1, "stream workers")
    if workers > 1 and ray:
        raise ConfigError("--stream-workers and --ray both place the streams: choose one")
    return ray, workers


def _pick(args: argparse.Namespace | None, env: Mapping[str, str], name: str, var: str) -> str | None:
    """The flag ``name`` if given, else the environment variable ``var`` if set and not empty."""
    value = getattr(args, name, None) if args is not None else None
    return value if value is not None else env.get(var) or None


def from_args(args: argparse.Namespace | None = None, env: Mapping[str, str] | None = None) -> ServerConfig:
    """Flags win over the environment, which wins over the defaults."""
    env = os.environ if env is None else env

    def pick(name: str, var: str) -> str | None:
        return _pick(args, env, name, var)

    try:
        port = int(_or(pick("port", "DFS_PORT"), 8080))
        max_sessions = int(_or(pick("max_sessions", "DFS_MAX_SESSIONS"), 4))
    except ValueError as exc:
        raise ConfigError(f"port and max sessions must be integers: {exc}") from exc
    if not 0 <= port <= 65535:
        raise ConfigError(f"port {port} is out of range")
    if max_sessions < 1:
        raise ConfigError("max sessions must be at least 1")
    max_upload_mb = _number(pick("max_upload_mb", "DFS_MAX_UPLOAD_MB"), 2048, int, 1, "max upload (MB)")
    quotas = dict(
        max_queued_scans=_number(pick("max_queued_scans", "DFS_MAX_QUEUED_SCANS"), 16, int, 1, "max queued scans"),
        workers=_number(pick("workers", "DFS_WORKERS"), default_threads(), int, 1, "workers"),
        max_uploads=_number(pick("max_uploads", "DFS_MAX_UPLOADS"), 4, int, 1, "max uploads"),
        min_free_bytes=_number(pick("min_free_disk_mb", "DFS_MIN_FREE_DISK_MB"), 1024, int, 0, "min free disk") * MB,
        mutations_per_minute=_number(pick("rate_limit", "DFS_RATE_LIMIT"), 120, int, 0, "rate limit"))
    days = pick("retention_days", "DFS_RETENTION_DAYS")
    gb = pick("max_storage_gb", "DFS_MAX_STORAGE_GB")
    retention = dict(
        retention_days=None if days is None else _number(days, None, float, 0.001, "retention days"),
        max_storage_bytes=None if gb is None else int(_number(gb, None, float, 0.001, "max storage (GB)") * 1024 * MB))
    media_dir = pick("media_dir", "DFS_MEDIA_DIR")
    if media_dir and not Path(media_dir).is_dir():
        raise ConfigError(f"media folder {media_dir} does not exist")
    host = pick("host", "DFS_HOST") or "127.0.0.1"
    token = pick("api_token", "DFS_API_TOKEN")
    if not token and not is_loopback(host):
        raise ConfigError(f"listening on {host} needs an API token: pass --api-token or set DFS_API_TOKEN")
    viewer = pick("viewer_token", "DFS_VIEWER_TOKEN")
    if viewer and not token:
        raise ConfigError("a viewer token needs an API token too (--api-token)")
    if viewer and viewer == token:
        raise ConfigError("the viewer token must differ from the API token")
    hosts = stream_hosts(args, env)
    ray, workers = placement(args, env)
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
        mqtt=mqtt, data_dir=Path(pick("data_dir", "DFS_DATA_DIR") or "data"),
        key_file_path=Path(key_file) if (key_file := pick("key_file", "DFS_KEY_FILE")) else None,
        max_upload_bytes=max_upload_mb * 1024 * 1024,
        media_dir=Path(media_dir) if media_dir else None, api_token=token, viewer_token=viewer,
        allow_http_streams=allow_http, allow_stream_hosts=hosts, **quotas, **retention,
        host=host, port=port, model_dir=pick("model", "DFS_MODEL_DIR"),
        ice_servers=ice_server_list(urls, pick("turn_username", "DFS_TURN_USERNAME"),
                                    pick("turn_credential", "DFS_TURN_CREDENTIAL")),
        ice_addresses=address_list(addresses), max_sessions=max_sessions, tls_cert=cert, tls_key=key,
        ray=ray, stream_workers=workers)
