import threading

import numpy as np

from streamer.core.inference import BatchedModel


def crops(model, n, seed):
    s = model.manifest.input_size
    return np.random.default_rng(seed).integers(0, 255, (n, s, s, 3), dtype=np.uint8)


def test_results_match_the_plain_model(random_model):
    batched = BatchedModel(random_model)
    try:
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

    def encode(self, crops):
        self.sizes["encode"].append(len(crops))
        return self.model.encode(crops)

    def temporal(self, windows):
        self.sizes["temporal"].append(len(windows))
        return self.model.temporal(windows)


def test_warm_up_at_the_limit_then_no_model_call_above_it(random_model):
    spy = SpyModel(random_model)
    batched = BatchedModel(spy, max_batch=4)
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
    cold = BatchedModel(SpyModel(random_model), warm=False)
    cold.close()
    assert cold.model.sizes == {"encode": [], "temporal": []}
