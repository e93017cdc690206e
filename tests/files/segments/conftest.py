from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from streamer.cli import DEFAULT_MODEL_DIR
from streamer.core.model import Model
from streamer.files.segments import SegmentPool

from tests.footage import read_frames, write_video


@pytest.fixture(scope="session")
def shipped_model() -> Model:
    return Model(DEFAULT_MODEL_DIR)


@pytest.fixture(scope="session")
def pool():
    pool = SegmentPool(DEFAULT_MODEL_DIR, 2)
    pool.warm()
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def two_faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 20 s Pexels talking head beside its mirror image: two real tracks through every border."""
    frames = read_frames("WolfgangLanger_Pexels.mp4", 10_000)
    pairs = [np.ascontiguousarray(np.concatenate([f, f[:, ::-1]], axis=1)) for f in frames]
    return write_video(tmp_path_factory.mktemp("segments") / "two_faces.mp4", pairs, fps=24)
