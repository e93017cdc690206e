import threading

import numpy as np

from streamer.core.inference import BatchedModel


def crops(model, n, seed):
    s = model.manifest.input_size
    return np.random.default_rng(seed).integers(0, 255, (n, s, s, 3), dtype=np.uint8)


def test_results_match_the_plain_model(random_model):
    batched = BatchedModel(random_model, threads=2)
    try:
        many = crops(random_model, 19, 1)  # spread over three batches, on both workers
        assert np.allclose(batched.encode(many)[1], random_model.encode(many)[1], atol=1e-5)
        x = crops(random_model, 3, 0)
        emb, score = batched.encode(x)
        ref_emb, ref_score = random_model.encode(x)
        assert np.allclose(emb, ref_emb, atol=1e-5) and np.allclose(score, ref_score, atol=1e-5)
        windows = np.stack([emb[[0, 1, 2, 0, 1, 2, 0, 1]]] * 2)
        assert np.allclose(batched.temporal(windows), random_model.temporal(windows), atol=1e-5)
        assert batched.encode(x[:0])[0].shape == (0, random_model.manifest.embedding_dim)
    finally:
        batched.close()


def test_concurrent_callers_are_batched_and_each_gets_its_own_slice(random_model):
    batched = BatchedModel(random_model, max_batch=64, max_wait=0.05)
    inputs = [crops(random_model, 1 + i % 3, i) for i in range(12)]
    outputs: dict[int, np.ndarray] = {}
    barrier = threading.Barrier(len(inputs))

    def call(i):
        barrier.wait()
        outputs[i] = batched.encode(inputs[i])[1]

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    batched.close()
    for i, x in enumerate(inputs):
        assert np.allclose(outputs[i], random_model.encode(x)[1], atol=1e-5)
    stats = batched.stats["encode"]
    assert stats.items == sum(len(x) for x in inputs)
    assert stats.calls < len(inputs) and max(stats.sizes) > 3


def test_batches_never_exceed_the_limit_by_more_than_one_request(random_model):
    batched = BatchedModel(random_model, max_batch=4, max_wait=0.05)
    threads = [threading.Thread(target=batched.encode, args=(crops(random_model, 2, i),)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    batched.close()
    assert max(batched.stats["encode"].sizes) <= 4 + 1


def test_a_lone_caller_pays_no_batching_delay(random_model):
    import time

    batched = BatchedModel(random_model, max_wait=0.2)
    x = crops(random_model, 1, 0)
    try:
        batched.encode(x)
        start = time.perf_counter()
        for _ in range(5):
            batched.encode(x)
        elapsed = (time.perf_counter() - start) / 5
    finally:
        batched.close()
    assert elapsed < 0.1  # far below the 0.2 s wait a batch could take


class SpyModel:
    """The random model, recording the size of every call (to see what ONNX Runtime's arena is asked for)."""

    def __init__(self, model):
        self.model, self.manifest, self.sizes = model, model.manifest, {"encode": [], "temporal": []}
        self.provider = model.provider

    def encode(self, crops):
        self.sizes["encode"].append(len(crops))
        return self.model.encode(crops)

    def temporal(self, windows):
        self.sizes["temporal"].append(len(windows))
        return self.model.temporal(windows)


def test_warm_up_at_the_limit_then_no_model_call_above_it(random_model):
    spy = SpyModel(random_model)
    batched = BatchedModel(spy, max_batch=4, threads=1)
    try:
        assert spy.sizes == {"encode": [4, 4], "temporal": [4, 4]}  # the arena sized before any stream
        x = crops(random_model, 10, 1)  # one request bigger than the limit: a frame with many faces
        emb, score = batched.encode(x)
        ref_emb, ref_score = random_model.encode(x)
        assert np.allclose(emb, ref_emb, atol=1e-5) and np.allclose(score, ref_score, atol=1e-5)
        windows = np.stack([emb[:random_model.manifest.window]] * 6)
        assert np.allclose(batched.temporal(windows), random_model.temporal(windows), atol=1e-5)
    finally:
        batched.close()
    assert spy.sizes == {"encode": [4, 4, 4, 4, 2], "temporal": [4, 4, 4, 2]}
    both = BatchedModel(SpyModel(random_model), max_batch=4, threads=2)
    both.close()
    assert both.model.sizes == {"encode": [4] * 4, "temporal": [4] * 4}  # each worker's calls, at once
    cold = BatchedModel(SpyModel(random_model), warm=False)
    cold.close()
    assert cold.model.sizes == {"encode": [], "temporal": []}


def test_heatmaps_are_batched_with_their_encodings(heat_model, random_model):
    service = BatchedModel(heat_model, max_batch=4)
    try:
        crops = np.random.default_rng(3).integers(0, 256, (6, 64, 64, 3), dtype=np.uint8)
        emb, score, grid = service.encode_full(crops)  # more than one batch: sliced and joined again
        want = heat_model.encode_full(crops)
        assert service.heatmap_size == 8 and grid.shape == (6, 8, 8)
        for got, expected in zip((emb, score, grid), want):
            assert np.allclose(got, expected, atol=1e-5)
    finally:
        service.close()
    plain = BatchedModel(random_model)
    try:
        assert plain.heatmap_size is None and plain.encode_full(crops[:, :64, :64])[2] is None
    finally:
        plain.close()


class GateModel:
    """The random model, holding its first call until released, and recording what each call held."""

    def __init__(self, model):
        self.model, self.manifest, self.calls, self.provider = model, model.manifest, [], model.provider
        self.gate, self.first = threading.Event(), True

    def encode(self, crops):
        if self.first:
            self.first = False
            self.gate.wait(10)
        self.calls.append([int(c[0, 0, 0]) for c in crops])
        return self.model.encode(crops)

    def temporal(self, windows):
        return self.model.temporal(windows)


def test_a_frame_with_many_faces_does_not_hold_back_another_streams_face(random_model):
    gate = GateModel(random_model)
    batched = BatchedModel(gate, max_batch=8, warm=False, threads=1)
    s = random_model.manifest.input_size
    many, one = np.full((20, s, s, 3), 1, np.uint8), np.full((1, s, s, 3), 2, np.uint8)
    finished = []

    def call(name, x):
        batched.encode(x)
        finished.append(name)

    a = threading.Thread(target=call, args=("many", many))
    a.start()
    import time

    time.sleep(0.2)  # the first 8 of the 20 faces are in the model, held
    b = threading.Thread(target=call, args=("one", one))
    b.start()
    time.sleep(0.2)
    gate.gate.set()
    a.join(10)
    b.join(10)
    batched.close()
    assert gate.calls[0] == [1] * 8
    assert 2 in gate.calls[1]  # the next batch, not after the other 12 faces
    assert finished == ["one", "many"] and sum(len(c) for c in gate.calls) == 21


def test_on_a_gpu_one_worker_thread_runs_every_batch(random_model):
    on_gpu = SpyModel(random_model)
    on_gpu.provider = "CUDAExecutionProvider"  # as a model whose encoder onnxruntime-gpu runs on CUDA
    gpu, cpu = BatchedModel(on_gpu, threads=4), BatchedModel(SpyModel(random_model), threads=4)
    try:
        assert (gpu.threads, cpu.threads) == (1, 4)
        assert on_gpu.sizes["encode"] == [8, 8]  # warmed on its one thread
        assert gpu.encode(crops(random_model, 3, 2))[0].shape == (3, random_model.manifest.embedding_dim)
    finally:
        gpu.close()
        cpu.close()
