"""Server settings: flags over environment over defaults, and clear errors for bad values."""
from __future__ import annotations

import argparse

import pytest

from streamer.server.config import ConfigError, IceServer, ServerConfig, add_arguments, from_args


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_defaults_are_localhost_8080_without_ice_servers() -> None:
    cfg = from_args(parse([]), env={})
    assert (cfg.host, cfg.port, cfg.max_sessions, cfg.ice_servers, cfg.ice_addresses) == \
        ("127.0.0.1", 8080, 4, (), ())
    assert cfg.scheme == "http" and cfg.model_dir is None


def test_environment_then_flags() -> None:
    env = {"DFS_HOST": "0.0.0.0", "DFS_API_TOKEN": "t0ken", "DFS_PORT": "9000", "DFS_MAX_SESSIONS": "7", "DFS_MODEL_DIR": "/m",
           "DFS_ICE_SERVERS": "stun:stun.example.org:3478, turn:turn.example.org:3478?transport=udp",
           "DFS_TURN_USERNAME": "u", "DFS_TURN_CREDENTIAL": "p", "DFS_ICE_ADDRESSES": "127.0.0.1 10.0.0.5"}
    cfg = from_args(parse([]), env=env)
    assert (cfg.host, cfg.port, cfg.max_sessions, cfg.model_dir) == ("0.0.0.0", 9000, 7, "/m")
    assert cfg.ice_servers == (IceServer("stun:stun.example.org:3478"),
                               IceServer("turn:turn.example.org:3478?transport=udp", "u", "p"))
    assert cfg.ice_addresses == ("127.0.0.1", "10.0.0.5")
    cfg = from_args(parse(["--port", "8443", "--ice-server", "stun:a.example:1", "--ice-address", "::1",
                           "--max-sessions", "1"]), env=env)
    assert (cfg.port, cfg.max_sessions, cfg.ice_addresses) == (8443, 1, ("::1",))
    assert cfg.ice_servers == (IceServer("stun:a.example:1"),)
    assert [s.to_page() for s in from_args(parse([]), env=env).ice_servers][1] == \
        {"urls": "turn:turn.example.org:3478?transport=udp", "username": "u", "credential": "p"}


@pytest.mark.parametrize("argv, env, fragment", [
    (["--ice-server", "http://x"], {}, "expected stun:"),
    (["--ice-server", "turn:t.example:3478"], {}, "needs --turn-username"),
    (["--ice-address", "localhost"], {}, "not an IP address"),
    (["--max-sessions", "0"], {}, "at least 1"),
    (["--workers", "0"], {}, "workers must be at least 1"),
    ([], {"DFS_WORKERS": "many"}, "workers must be a number"),
    (["--port", "70000"], {}, "out of range"),
    (["--stream-workers", "0"], {}, "stream workers must be at least 1"),
    (["--stream-workers", "2", "--ray", "auto"], {}, "choose one"),
    ([], {"DFS_STREAM_WORKERS": "2", "DFS_RAY": "auto"}, "choose one"),
    ([], {"DFS_PORT": "eighty"}, "integers"),
    (["--tls-cert", "/nonexistent.pem"], {}, "both a certificate and a key"),
    (["--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"], {}, "does not exist"),
])
def test_bad_settings_are_explained(argv: list[str], env: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        from_args(parse(argv), env=env)


def test_scan_workers_default_to_one_per_core() -> None:
    from streamer.core.inference import default_threads

    assert from_args(parse([]), env={}).workers == default_threads()
    assert from_args(parse(["--workers", "3"]), env={"DFS_WORKERS": "5"}).workers == 3
    assert from_args(parse([]), env={"DFS_WORKERS": "5"}).workers == 5


def test_streams_run_in_this_process_unless_told() -> None:
    assert from_args(parse([]), env={}).stream_workers == 1
    assert from_args(parse(["--stream-workers", "2"]), env={"DFS_STREAM_WORKERS": "4"}).stream_workers == 2
    assert from_args(parse([]), env={"DFS_STREAM_WORKERS": "4"}).stream_workers == 4


def test_tls_turns_the_scheme_to_https(tmp_path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("y")
    cfg = from_args(parse(["--tls-cert", str(cert), "--tls-key", str(key)]), env={})
    assert cfg.scheme == "https" and isinstance(cfg, ServerConfig)
