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
    path = quantize(model_dir, crops(32, size, 0), keep_float=())
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


def test_calibration_on_both_takes_half_face_sets_half_asset_frames_shuffled(monkeypatch):
    from export import quantize as q

    monkeypatch.setattr(q, "faceset_crops", lambda data, size, count, seed: np.ones((count, size, size, 3), np.uint8))
    monkeypatch.setattr(q, "training_crops",
                        lambda size, margin, count, seed: np.zeros((count, size, size, 3), np.uint8))
    both = q.calibration_crops("both", None, 8, 0.25, 101)
    kinds = both[:, 0, 0, 0]
    assert len(both) == 101 and int(kinds.sum()) == 51
    assert 0 < int(kinds[:50].sum()) < 50  # interleaved, not one block after the other
    assert q.calibration_crops("faces", None, 8, 0.25, 7).min() == 1
    assert q.calibration_crops("assets", None, 8, 0.25, 7).max() == 0


def _face_table(n_groups: int, size: int):
    from export.faceset import FaceTable, Record

    records = [Record(ds, f"{ds}/g{g}/{fake}.jpg", fake, f"g{g}") for g in range(n_groups) for ds, fake in
               (("dfdc", False), ("dfdc", True), ("lfw", False))]
    crops = np.random.default_rng(3).integers(0, 255, (len(records), size, size, 3)).astype(np.uint8)
    return FaceTable(records, crops, np.zeros((len(records), 468, 2), np.float32))


def test_each_encoder_gets_its_own_validation_threshold_and_the_runtime_reads_the_one_it_runs(model_dir, monkeypatch):
    from export import face_threshold as ft

    size = Model(model_dir).manifest.input_size
    table = _face_table(300, size)
    monkeypatch.setattr(ft, "load_table", lambda data, s: table)
    float_threshold = Model(model_dir).manifest.threshold
    register(model_dir, quantize(model_dir, crops(32, size, 0), keep_float=()), "32 test crops", "minmax", select=False)
    record = ft.set_threshold(model_dir, "int8", 0.05, data=None)
    val = {"dfdc_real": table.where("dfdc", "val", False), "lfw_real": table.where("lfw", "val")}
    assert record["faces"] == {k: len(v) for k, v in val.items()} and min(record["faces"].values()) > 20
    q = Model(model_dir, precision="int8")
    assert q.manifest.threshold == record["threshold"] != float_threshold
    assert Model(model_dir, precision="float").manifest.threshold == float_threshold
    for kind, idx in val.items():
        called = np.mean(q.encode(table.crops[idx])[1] >= record["threshold"])
        assert called <= 0.05 and called == pytest.approx(record["called_fake"][kind], abs=1e-4)
    assert not set(table.where(split="val")) & set(table.where(split="train"))  # validation faces only
    ft.set_threshold(model_dir, "float", 0.05, data=None)
    assert Model(model_dir).manifest.threshold != float_threshold


def test_the_first_last_heat_depthwise_and_early_convolutions_can_stay_float(tmp_path):
    import onnx
    import torch

    from export.networks import Encoder
    from export.onnx import export_encoder
    from export.quantize import _named, float_nodes

    torch.manual_seed(0)
    export_encoder(Encoder(embedding_dim=16, heatmap=True).eval(), 64, tmp_path / "encoder.onnx")
    source = _named(tmp_path / "encoder.onnx", tmp_path / "named.onnx")
    ends, depthwise = float_nodes(source, ("ends",)), float_nodes(source, ("depthwise",))
    graph = onnx.load(str(source)).graph
    convs = [n.name for n in graph.node if n.op_type == "Conv"]
    assert set(ends) == {convs[0], convs[-3], convs[-2], convs[-1]}  # the last 1x1, then the heat head
    assert len(depthwise) == 17 and not set(ends) & set(depthwise)
    early = float_nodes(source, ("early",))
    assert set(early) == set(convs[:12])  # blocks 0-4: up to the second residual add's skip input
    assert float_nodes(source, ()) == []
