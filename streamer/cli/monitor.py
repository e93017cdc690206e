"""`deepfake-streamer monitor URL...`: headless monitoring, one JSON event per line on stdout."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from urllib.parse import urlsplit

from ..cluster.compat import ray
from ..cluster.placers import stream_placer
from ..core import model_dir
from ..live.manager import Monitor
from ..live.mqtt import MqttError, MqttPublisher
from ..live.mqtt import from_args as mqtt_from_args
from ..live.status import Event, Status
from ..live.supervisor import StreamConfig
from ..live.urls import UrlError, check_url, install_log_redaction, redact, redact_value
from ..live.webhook import WebhookSender
from ..runtime.netpolicy import AddressPolicy, PolicyError, check_url_host
from ..server.config import ConfigError, add_placement_arguments, add_stream_arguments, placement
from ..storage.secretbox import SecretBox, default_key_file
from ..storage.store import Store


def add_parser(sub: argparse._SubParsersAction, positive) -> None:
    p = sub.add_parser("monitor", help="watch RTSP streams headless; events as JSON lines on stdout")
    p.add_argument("urls", nargs="+", metavar="URL", help="rtsp:// or rtsps:// stream URL")
    p.add_argument("--fps", type=positive, default=10.0, help="analysed frames per second per stream (default 10)")
    p.add_argument("--threshold", type=float, help="alert threshold on the window score (default: the model's)")
    p.add_argument("--alert-seconds", type=positive, default=2.0, help="how long a score must stay high (default 2)")
    p.add_argument("--webhook", metavar="URL", help="POST each alert as JSON to this URL")
    p.add_argument("--db", metavar="PATH", help="store alerts in this SQLite file")
    add_stream_arguments(p)  # --allow-http-streams, --allow-stream-hosts: the same names as in `serve`
    p.add_argument("--allow-http", dest="allow_http_streams", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--duration", type=positive, help="stop after this many seconds")
    p.add_argument("--results", action="store_true", help="also print every analysed frame's result")
    p.add_argument("--model", metavar="DIR")
    add_placement_arguments(p)
    p.set_defaults(func=run_monitor)


def stream_name(url: str, index: int) -> str:
    parts = urlsplit(url)
    path = parts.path.strip("/").replace("/", "-")
    return f"{index}-{parts.hostname}{'-' + path if path else ''}"


def policy(args: argparse.Namespace) -> AddressPolicy:
    """The URLs come from the operator's own command line: loopback and private networks are allowed unless
    --allow-stream-hosts narrows them; link-local, metadata and multicast never are."""
    hosts = getattr(args, "allow_stream_hosts", None)
    return AddressPolicy.from_cidrs([h for v in hosts for h in v.replace(",", " ").split()]) if hosts \
        else AddressPolicy.trusting()


def run_monitor(args: argparse.Namespace) -> int:
    install_log_redaction()
    if "--allow-http" in sys.argv:
        print("warning: --allow-http is deprecated; use --allow-http-streams", file=sys.stderr)
    args.allow_http = bool(args.allow_http_streams)
    try:
        rules = policy(args)
    except PolicyError as exc:
        print(f"error: --allow-stream-hosts: {exc.reason}", file=sys.stderr)
        return 2
    for url in args.urls + ([args.webhook] if args.webhook else []):
        try:
            if url == args.webhook:
                if urlsplit(url).scheme not in ("http", "https"):
                    raise UrlError("the webhook must be an http(s) URL")
            else:
                check_url(url, args.allow_http)
            check_url_host(url, rules)
        except UrlError as exc:
            print(f"error: {redact(url)}: {exc}", file=sys.stderr)
            return 2
        except PolicyError as exc:
            print(f"error: {redact(url)}: {exc.reason}", file=sys.stderr)
            return 2
    args.policy = rules
    try:
        args.ray, args.stream_workers = placement(args, os.environ)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.ray:
        ray()  # without the cluster extra: say how to install it, before anything starts
    try:
        mqtt = mqtt_from_args(args)
    except MqttError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    model = model_dir.load_model(args.model)
    return asyncio.run(_monitor(args, model, mqtt))


async def _monitor(args: argparse.Namespace, model, mqtt_cfg=None) -> int:
    mqtt = MqttPublisher(mqtt_cfg) if mqtt_cfg else None
    if mqtt:
        mqtt.start()

    def emit(event: Event) -> None:
        data = event.to_dict()
        if data["type"] != "result" or args.results:
            print(json.dumps(redact_value(data)), flush=True)
        if mqtt:
            mqtt.on_event(event)

    webhook = WebhookSender(args.webhook, policy=args.policy) if args.webhook else None
    if webhook:
        webhook.start()
    placer = await stream_placer(args.ray, args.stream_workers, model)
    monitor = Monitor(model, emit, open_store(args.db) if args.db else None, webhook, max_streams=len(args.urls),
                      placer=placer)
    threshold = args.threshold if args.threshold is not None else model.manifest.threshold
    for i, url in enumerate(args.urls, 1):
        monitor.add(StreamConfig(stream_name(url, i), url, args.fps, threshold, args.alert_seconds, args.allow_http,
                                 policy=args.policy))
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    start = loop.time()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    try:
        while not done.is_set() and any(s.status != Status.FAILED for s in monitor.streams.values()):
            try:
                await asyncio.wait_for(done.wait(), timeout=0.5)
            except asyncio.TimeoutError:
                pass
            if args.duration and loop.time() - start >= args.duration:
                break
    finally:
        failed = all(s.status == Status.FAILED for s in monitor.streams.values())
        await monitor.close()
        if mqtt:
            await asyncio.to_thread(mqtt.close)
    return 1 if failed else 0


def open_store(db: str):
    """The database, its stream URLs encrypted with the key beside its folder (as the server's)."""
    return Store(db, SecretBox(default_key_file(Path(db).absolute().parent)))
