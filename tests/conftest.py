from __future__ import annotations

import socket
from pathlib import Path

import pytest

from streamer.runtime.assets import asset_path
from streamer.core.model import Model

from export.random_model import write_random_model

from bench.rtsp import RtspServer
from tests.loopback import free_port


@pytest.fixture(scope="session")
def random_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight model with the shipped contract: for plumbing tests, never for claims."""
    return write_random_model(tmp_path_factory.mktemp("random-model"))


@pytest.fixture(scope="session")
def random_model(random_model_dir: Path) -> Model:
    return Model(random_model_dir)


@pytest.fixture(scope="session")
def clip():
    """Path of a fetched real clip or image, by asset name."""
    return asset_path


@pytest.fixture(scope="session")
def heat_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight model that also has the manipulation heatmap output (8 x 8): for plumbing tests only."""
    return write_random_model(tmp_path_factory.mktemp("heat-model"), heatmap=8)


@pytest.fixture(scope="session")
def heat_model(heat_model_dir: Path) -> Model:
    return Model(heat_model_dir)


@pytest.fixture
def rtsp_server():
    """Debian's gst-rtsp-server on 127.0.0.1 serving the 20 s Pexels talking head."""
    server = RtspServer(asset_path("WolfgangLanger_Pexels.mp4"), free_port())
    server.start()
    yield server
    server.kill()


@pytest.fixture
def silent_port():
    """A loopback TCP port that accepts connections and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]
