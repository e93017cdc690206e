"""ONNX Runtime sessions for a model directory: a crop encoder and a temporal head.

The directory holds ``manifest.json`` (see the README's model contract), ``encoder.onnx``
(``crops`` [N,3,S,S] -> ``embedding`` [N,D], ``frame_score`` [N], and, when the manifest has ``heatmap_size`` H,
``heatmap`` [N,1,H,H]: per cell of the aligned crop, the probability that it is blended) and ``temporal.onnx``
(``embeddings`` [B,T,D] -> ``window_score`` [B]); scores are fake probabilities. It may also hold
``encoder.int8.onnx`` (``files.encoder_int8``, made by ``python -m export.quantize``); the manifest's
``encoder_precision`` (``float`` or ``int8``, default ``float``) says which encoder runs. ``threshold`` is the float
encoder's; ``thresholds`` may give another encoder its own (set on validation: ``python -m export.face_threshold``),
and a loaded model's ``manifest.threshold`` is that of the encoder it runs.
"""
from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ..runtime.assets import sha256_file

log = logging.getLogger(__name__)


class ModelError(RuntimeError):
    """A model directory is missing, incomplete or fails its checksums."""


FLOAT, INT8 = "float", "int8"
ENCODER_ROLES = {FLOAT: "encoder", INT8: "encoder_int8"}


def check_precision(precision: str) -> str:
    if precision not in ENCODER_ROLES:
        raise ValueError(f"encoder_precision must be one of {', '.join(ENCODER_ROLES)}, not {precision!r}")
    return precision


@dataclass(frozen=True)
class Manifest:
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    embedding_dim: int
    window: int
    stride: int
    threshold: float
    uncertain_margin: float
    crop_margin: float
    files: dict[str, dict]
    name: str = "model"
    version: str = "0"
    metrics: dict = field(default_factory=dict)
    encoder_precision: str = FLOAT
    heatmap_size: int | None = None  # the encoder's heatmap output is H x H; None: no heatmap
    thresholds: dict[str, float] = field(default_factory=dict)  # per encoder precision, where not ``threshold``

    @classmethod
    def load(cls, model_dir: Path) -> "Manifest":
        path = Path(model_dir) / "manifest.json"
        if not path.is_file():
            raise ModelError(f"{model_dir} has no manifest.json")
        try:
            raw = json.loads(path.read_text())
            return cls(
                input_size=int(raw["input_size"]), mean=tuple(raw["mean"]), std=tuple(raw["std"]),
                embedding_dim=int(raw["embedding_dim"]), window=int(raw["window"]), stride=int(raw["stride"]),
                threshold=float(raw["threshold"]), uncertain_margin=float(raw.get("uncertain_margin", 0.1)),
                crop_margin=float(raw["crop_margin"]), files=dict(raw["files"]),
                name=str(raw.get("name", "model")), version=str(raw.get("version", "0")),
                metrics=dict(raw.get("metrics", {})),
                encoder_precision=check_precision(str(raw.get("encoder_precision", FLOAT))),
                heatmap_size=int(raw["heatmap_size"]) if raw.get("heatmap_size") is not None else None,
                thresholds={check_precision(k): float(v) for k, v in dict(raw.get("thresholds", {})).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"invalid manifest {path}: {exc}") from exc

    def encoder_role(self, precision: str | None = None) -> str:
        """The ``files`` entry of the encoder to run: the manifest's choice unless ``precision`` says otherwise."""
        return ENCODER_ROLES[check_precision(precision or self.encoder_precision)]

    def running(self, precision: str) -> "Manifest":
        """This manifest as seen by a model running the ``precision`` encoder: its threshold is that encoder's."""
        return replace(self, threshold=self.thresholds.get(precision, self.threshold))


CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"  # where a session runs: Model.provider
# cuDNN picks its convolution algorithms by heuristics, not by timing each one (its exhaustive default) on first
# use; the two were not compared on the GPU
CUDA_OPTIONS = {"cudnn_conv_algo_search": "HEURISTIC"}
# On CUDA the encoder runs batches of this one size (padded): measured on an H200, batches of 1, 2, 3, 5 and 8 in
# turn took 434 ms a crop, against 1.7 at batch 1 alone and 0.15 at 8 alone (where in the CUDA provider a change
# of size costs that much was not pinned down).
GPU_BATCH = 8


def providers() -> list[str | tuple[str, dict]]:
    """CUDA (with its options) when onnxruntime-gpu sees a GPU, else CPU."""
    available = ort.get_available_providers()
    if CUDA in available:
        load_cuda_libraries()
    return [(p, CUDA_OPTIONS) if p == CUDA else p for p in (CUDA, CPU) if p in available]


@functools.cache
def load_cuda_libraries() -> None:
    """CUDA and cuDNN from the nvidia-* wheels (onnxruntime-gpu's ``cuda``/``cudnn`` extras, or PyTorch's), which
    the CUDA provider does not find by itself when onnxruntime is installed elsewhere; once per process."""
    if not hasattr(ort, "preload_dlls"):
        return
    try:
        ort.preload_dlls(msvc=False)
    except Exception as exc:  # the provider then loads what the system's library path holds, or falls back
        log.warning("could not preload the CUDA libraries: %s", exc)


def session_options(threads: int, arena: bool = True) -> ort.SessionOptions:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    opts.enable_cpu_mem_arena = arena
    opts.enable_mem_pattern = arena
    return opts


def _session(path: Path, threads: int, arena: bool = True, gpu: bool = True) -> ort.InferenceSession:
    opts = session_options(threads, arena)
    wanted = providers() if gpu else [CPU]
    session = ort.InferenceSession(str(path), sess_options=opts, providers=wanted)
    if (CUDA, CUDA_OPTIONS) in wanted and session.get_providers()[0] != CUDA:
        log.warning("%s runs on %s: the CUDA provider could not start (CUDA or cuDNN libraries missing?)",
                    path.name, session.get_providers()[0])
    return session


class Model:
    """Encoder and temporal head of one model directory; ``precision`` overrides the manifest's
    ``encoder_precision`` (to compare the float and int8 encoders on the same faces)."""

    def __init__(self, model_dir: Path | str, threads: int = 1, verify: bool = True, arena: bool = True,
                 precision: str | None = None):
        self.dir = Path(model_dir)
        self.manifest = Manifest.load(self.dir)
        try:
            encoder = self.manifest.encoder_role(precision)
        except ValueError as exc:
            raise ModelError(str(exc)) from exc
        self.precision = next(p for p, r in ENCODER_ROLES.items() if r == encoder)
        self.manifest = self.manifest.running(self.precision)
        paths = {}
        for role, key in ((encoder, "encoder"), ("temporal", "temporal")):
            entry = self.manifest.files.get(role)
            if not entry:
                raise ModelError(f"manifest lists no {role} file" + (": make one with `python -m export.quantize DIR`" if role == "encoder_int8" else ""))
            path = self.dir / entry["path"]
            if not path.is_file():
                raise ModelError(f"{path} is missing")
            if verify and sha256_file(path) != entry["sha256"]:
                raise ModelError(f"{path.name} does not match the checksum in manifest.json")
            paths[key] = path
        self._encoder = _session(paths["encoder"], threads, arena)
        # the temporal head (a small LSTM) stays on the CPU: 0.01-0.03 ms a window on one thread there
        self._temporal = _session(paths["temporal"], threads, arena, gpu=False)
        self.provider = self._encoder.get_providers()[0]  # where the encoder runs: CUDA or CPU
        self.fixed_batch = GPU_BATCH if self.provider == CUDA else None  # the one batch size the encoder runs
        if self.manifest.heatmap_size is not None and "heatmap" not in {o.name for o in self._encoder.get_outputs()}:
            raise ModelError("manifest.json declares heatmap_size but encoder.onnx has no 'heatmap' output")
        m = self.manifest
        mean, std = (np.asarray(v, np.float32).reshape(1, 3, 1, 1) for v in (m.mean, m.std))
        self._scale, self._shift = 1.0 / (std * 255.0), -mean / std  # (x / 255 - mean) / std as one multiply-add

    def preprocess(self, crops: np.ndarray) -> np.ndarray:
        """uint8 RGB crops (N,S,S,3) -> normalised float32 (N,3,S,S)."""
        n, side = crops.shape[0], crops.shape[1]
        x = np.empty((n, 3, side, side), np.float32)  # written in the encoder's layout: no copy when it runs
        np.multiply(crops.transpose(0, 3, 1, 2), self._scale, out=x)
        x += self._shift
        return x

    @property
    def heatmap_size(self) -> int | None:
        """Side of the encoder's manipulation heatmap, or None when the model has none."""
        return self.manifest.heatmap_size

    def encode(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings (N,D) and per-frame fake probabilities (N,) for uint8 RGB crops."""
        if len(crops) == 0:
            return np.zeros((0, self.manifest.embedding_dim), np.float32), np.zeros((0,), np.float32)
        emb, score = self._run_encoder(["embedding", "frame_score"], self.preprocess(crops))
        return emb, score.reshape(-1)

    def encode_full(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``encode`` plus the heatmaps (N,H,H) in 0..1 from the same forward pass; None without a heatmap."""
        size = self.heatmap_size
        if size is None:
            return (*self.encode(crops), None)
        if len(crops) == 0:
            emb, score = self.encode(crops)
            return emb, score, np.zeros((0, size, size), np.float32)
        emb, score, heat = self._run_encoder(["embedding", "frame_score", "heatmap"], self.preprocess(crops))
        return emb, score.reshape(-1), heat.reshape(len(crops), size, size)

    def _run_encoder(self, outputs: list[str], x: np.ndarray) -> list[np.ndarray]:
        """The encoder on ``x``; with ``fixed_batch``, in runs of exactly that many crops, the last padded."""
        size = self.fixed_batch
        if size is None:
            return self._encoder.run(outputs, {"crops": x})
        runs = []
        for start in range(0, len(x), size):
            part = x[start:start + size]
            if len(part) < size:
                part = np.concatenate([part, np.zeros((size - len(part), *part.shape[1:]), part.dtype)])
            runs.append(self._encoder.run(outputs, {"crops": part}))
        return [np.concatenate([run[i] for run in runs])[:len(x)] for i in range(len(outputs))]

    def temporal(self, windows: np.ndarray) -> np.ndarray:
        """Window fake probabilities (B,) for embedding windows (B,T,D)."""
        if len(windows) == 0:
            return np.zeros((0,), np.float32)
        (score,) = self._temporal.run(["window_score"], {"embeddings": windows.astype(np.float32)})
        return score.reshape(-1)
