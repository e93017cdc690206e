from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamer.core.model import Model
from streamer.server import ServerConfig

from bench.harness import ServerThread


def loopback_config(**overrides) -> ServerConfig:
    """Every ICE candidate on 127.0.0.1 and no STUN/TURN: test traffic never leaves loopback."""
    return ServerConfig(**{"host": "127.0.0.1", "port": 0, "ice_addresses": ("127.0.0.1",), "max_sessions": 2,
                           "data_dir": Path(tempfile.mkdtemp(prefix="dfs-data-")), **overrides})


@pytest.fixture
def server(random_model_dir: Path) -> Iterator[ServerThread]:
    with ServerThread(loopback_config(), Model(random_model_dir)) as running:
        yield running
