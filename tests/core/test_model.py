import json
import shutil

import numpy as np
import pytest

from streamer.core.model import Model, ModelError


def test_encoder_and_temporal_contract(random_model):
    m = random_model.manifest
    crops = np.random.default_rng(0).integers(0, 255, (5, m.input_size, m.input_size, 3), dtype=np.uint8)
    emb, score = random_model.encode(crops)
    assert emb.shape == (5, m.embedding_dim) and score.shape == (5,)
    assert np.all((score > 0) & (score < 1))
    windows = np.stack([emb[[0, 1, 2, 3, 4, 0, 1, 2]]] * 3)
    assert random_model.temporal(windows).shape == (3,)
    assert random_model.encode(crops[:0])[0].shape == (0, m.embedding_dim)


def test_batch_results_match_single_results(random_model):
    m = random_model.manifest
    crops = np.random.default_rng(1).integers(0, 255, (4, m.input_size, m.input_size, 3), dtype=np.uint8)
    batch = random_model.encode(crops)[1]
    single = np.concatenate([random_model.encode(crops[i:i + 1])[1] for i in range(4)])
    assert np.allclose(batch, single, atol=1e-5)


def test_checksum_mismatch_is_refused(random_model_dir, tmp_path):
    copy = shutil.copytree(random_model_dir, tmp_path / "m")
    with open(copy / "temporal.onnx", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match="checksum"):
        Model(copy)


def test_missing_or_invalid_manifest(random_model_dir, tmp_path):
    with pytest.raises(ModelError, match="no manifest"):
        Model(tmp_path)
    copy = shutil.copytree(random_model_dir, tmp_path / "m")
    raw = json.loads((copy / "manifest.json").read_text())
    del raw["window"]
    (copy / "manifest.json").write_text(json.dumps(raw))
    with pytest.raises(ModelError, match="invalid manifest"):
        Model(copy)


def test_memory_arena_can_be_switched_off_with_the_same_results(random_model_dir):
    from streamer.core.model import session_options

    on, off = session_options(2), session_options(2, arena=False)
    assert on.enable_cpu_mem_arena and on.enable_mem_pattern and on.intra_op_num_threads == 2
    assert not off.enable_cpu_mem_arena and not off.enable_mem_pattern
    with_arena, without = Model(random_model_dir), Model(random_model_dir, arena=False)
    size = with_arena.manifest.input_size
    crops = np.random.default_rng(2).integers(0, 255, (3, size, size, 3), dtype=np.uint8)
    assert np.allclose(with_arena.encode(crops)[1], without.encode(crops)[1], atol=1e-6)


def test_a_cuda_provider_that_cannot_start_falls_back_to_cpu_and_says_so(random_model_dir, monkeypatch, caplog):
    import onnxruntime as ort

    from streamer.core import model as model_module
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has a CUDA provider")
    # as onnxruntime-gpu on a machine whose CUDA libraries are missing: CUDA listed, but the session cannot use it
    monkeypatch.setattr(model_module.ort, "get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(model_module, "load_cuda_libraries", lambda: None)
    with caplog.at_level("WARNING", logger="streamer.core.model"):
        loaded = Model(random_model_dir)
    assert loaded.provider == "CPUExecutionProvider" and loaded.fixed_batch is None
    assert "the CUDA provider could not start" in caplog.text and "encoder" in caplog.text
    assert "temporal" not in caplog.text  # the temporal head is only ever put on the CPU


class _Recording:
    """An encoder session that records the batch size of every run."""

    def __init__(self, session):
        self.session, self.sizes = session, []

    def run(self, outputs, feeds):
        self.sizes.append(len(feeds["crops"]))
        return self.session.run(outputs, feeds)


def test_with_a_fixed_batch_the_encoder_runs_only_that_size_with_the_same_results(random_model_dir):
    free, fixed = Model(random_model_dir), Model(random_model_dir)
    fixed.fixed_batch = 4  # as on CUDA (GPU_BATCH), where every new batch size sets the convolutions up again
    recording = fixed._encoder = _Recording(fixed._encoder)
    size = free.manifest.input_size
    crops = np.random.default_rng(3).integers(0, 255, (11, size, size, 3), dtype=np.uint8)
    for n in (1, 3, 4, 11):
        for mine, theirs in zip(fixed.encode(crops[:n]), free.encode(crops[:n])):
            assert mine.shape[0] == n and np.allclose(mine, theirs, atol=1e-5)
    assert set(recording.sizes) == {4} and len(recording.sizes) == 1 + 1 + 1 + 3

