import json
import shutil

import numpy as np
import pytest

from export.quantize import INT8_FILE, quantize, register
from streamer.core.model import Model, ModelError


@pytest.fixture
def model_dir(random_model_dir, tmp_path):
    return shutil.copytree(random_model_dir, tmp_path / "model")


def crops(n: int, size: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (n, size, size, 3)).astype(np.uint8)


def test_int8_encoder_beside_the_float_one_chosen_by_the_manifest(model_dir):
    size = Model(model_dir).manifest.input_size
    path = quantize(model_dir, crops(32, size, 0))
    assert path == model_dir / INT8_FILE and path.is_file()
    register(model_dir, path, "32 test crops", "minmax", select=False)
    entry = json.loads((model_dir / "manifest.json").read_text())["files"]["encoder_int8"]
    assert entry["path"] == INT8_FILE and len(entry["sha256"]) == 64
    assert Model(model_dir).precision == "float"  # listed, not chosen
    fp, q = Model(model_dir, precision="float"), Model(model_dir, precision="int8")
    held_out = crops(16, size, 1)
    (e0, s0), (e1, s1) = fp.encode(held_out), q.encode(held_out)
    assert e1.shape == e0.shape and np.abs(s1 - s0).max() < 0.05 and not np.array_equal(e0, e1)
    register(model_dir, path, "32 test crops", "minmax", select=True)
    assert Model(model_dir).precision == "int8"


def test_a_missing_or_unknown_encoder_precision_is_refused(model_dir):
    with pytest.raises(ModelError, match="export.quantize"):
        Model(model_dir, precision="int8")
    manifest = json.loads((model_dir / "manifest.json").read_text())
    (model_dir / "manifest.json").write_text(json.dumps(manifest | {"encoder_precision": "int4"}))
    with pytest.raises(ModelError, match="encoder_precision"):
        Model(model_dir)


def test_face_set_calibration_draws_the_training_split_of_each_set_alike(monkeypatch):
    from export import quantize as q
    from export.faceset import FaceTable, Record

    groups = [f"g{i}" for i in range(400)]
    records = [Record(ds, f"{ds}/{g}/{fake}.jpg", fake, g) for g in groups for ds, fake in
               (("dfdc", False), ("dfdc", True), ("lfw", False))]
    crops = np.zeros((len(records), 8, 8, 3), np.uint8)
    for i in range(len(records)):
        crops[i, 0, 0, 0] = i % 251
        crops[i, 0, 0, 1] = i // 251
    table = FaceTable(records, crops, np.zeros((len(records), 468, 2), np.float32))
    monkeypatch.setattr(q, "load_table", lambda data, size: table)
    picked = q.faceset_crops(None, 8, 90, seed=0)
    index = picked[:, 0, 0, 0].astype(int) + 251 * picked[:, 0, 0, 1].astype(int)
    chosen = [records[i] for i in index]
    assert len(chosen) == 90 == len(set(index.tolist()))
    assert all(r.split == "train" for r in chosen)
    kinds = [(r.dataset, r.fake) for r in chosen]
    assert {k: kinds.count(k) for k in set(kinds)} == {("dfdc", False): 30, ("dfdc", True): 30, ("lfw", False): 30}
