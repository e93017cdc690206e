"""A random-weight model directory with the shipped model's contract: for plumbing tests and benches that
measure speed only, never for scores (``python -m export.random_model OUT``)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from streamer.runtime.assets import sha256_file


def _init(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(array.astype(np.float32), name)


def _encoder(size: int, dim: int, rng: np.random.Generator, heatmap: int | None = None) -> onnx.ModelProto:
    nodes = [
        helper.make_node("Conv", ["crops", "w_conv"], ["c"], strides=[4, 4], kernel_shape=[4, 4]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "w_emb", "b_emb"], ["embedding"]),
        helper.make_node("Gemm", ["embedding", "w_cls", "b_cls"], ["logit"]),
        helper.make_node("Flatten", ["logit"], ["logit_flat"], axis=0),
        helper.make_node("Sigmoid", ["logit_flat"], ["sig"]),
        helper.make_node("Reshape", ["sig", "shape_n"], ["frame_score"]),
    ]
    inits = [_init("w_conv", rng.normal(0, 0.1, (16, 3, 4, 4))), _init("w_emb", rng.normal(0, 0.3, (16, dim))),
             _init("b_emb", np.zeros(dim)), _init("w_cls", rng.normal(0, 0.3, (dim, 1))), _init("b_cls", np.zeros(1)),
             numpy_helper.from_array(np.array([-1], np.int64), "shape_n")]
    outputs = [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["n", dim]),
               helper.make_tensor_value_info("frame_score", TensorProto.FLOAT, ["n"])]
    if heatmap:
        # The conv's (size/4)^2 feature map -> one channel -> averaged down to heatmap x heatmap -> 0..1.
        pool = size // 4 // heatmap
        assert pool * heatmap * 4 == size, "size must be 4 * heatmap * an integer"
        nodes += [helper.make_node("Conv", ["r", "w_heat"], ["h1"], kernel_shape=[1, 1]),
                  helper.make_node("AveragePool", ["h1"], ["h2"], kernel_shape=[pool, pool], strides=[pool, pool]),
                  helper.make_node("Sigmoid", ["h2"], ["heatmap"])]
        inits.append(_init("w_heat", rng.normal(0, 1.0, (1, 16, 1, 1))))
        outputs.append(helper.make_tensor_value_info("heatmap", TensorProto.FLOAT, ["n", 1, heatmap, heatmap]))
    graph = helper.make_graph(
        nodes, "encoder", [helper.make_tensor_value_info("crops", TensorProto.FLOAT, ["n", 3, size, size])],
        outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _temporal(window: int, dim: int, rng: np.random.Generator) -> onnx.ModelProto:
    nodes = [
        helper.make_node("ReduceMean", ["embeddings"], ["m"], axes=[1], keepdims=0),
        helper.make_node("Gemm", ["m", "w", "b"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["sig"]),
        helper.make_node("Reshape", ["sig", "shape_n"], ["window_score"]),
    ]
    inits = [_init("w", rng.normal(0, 0.3, (dim, 1))), _init("b", np.zeros(1)),
             numpy_helper.from_array(np.array([-1], np.int64), "shape_n")]
    graph = helper.make_graph(
        nodes, "temporal", [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["b", window, dim])],
        [helper.make_tensor_value_info("window_score", TensorProto.FLOAT, ["b"])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def write_random_model(out: Path, size: int = 64, dim: int = 32, window: int = 8, stride: int = 2,
                       seed: int = 0, heatmap: int | None = None) -> Path:
    """``heatmap``: also a ``heatmap`` output of that side (and ``heatmap_size`` in the manifest)."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    onnx.save(_encoder(size, dim, rng, heatmap), out / "encoder.onnx")
    onnx.save(_temporal(window, dim, rng), out / "temporal.onnx")
    manifest = {
        "name": "random-test-model", "version": "0", "input_size": size, "crop_margin": 0.25,
        "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "embedding_dim": dim,
        "window": window, "stride": stride, "threshold": 0.5, "uncertain_margin": 0.05,
        "files": {role: {"path": f"{role}.onnx", "sha256": sha256_file(out / f"{role}.onnx")}
                  for role in ("encoder", "temporal")},
    }
    if heatmap:
        manifest["heatmap_size"] = heatmap
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return out


if __name__ == "__main__":
    import sys

    print(write_random_model(Path(sys.argv[1])))
