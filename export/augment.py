"""Paired augmentation: one random draw applied identically to a real image and its fake.

The whole-image changes here (colour, gamma, blur, sharpening, noise, skin smoothing, down-up
resizing, JPEG/H.264) are also the evaluation's deployment conditions (``export.evaluate``)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

import av
import cv2
import numpy as np


@dataclass(frozen=True)
class AugParams:
    flip: bool
    scale: float  # <1: down-up resample of the whole image (a smaller face)
    brightness: float
    contrast: float
    saturation: float
    noise: float  # Gaussian noise sigma (grey levels)
    noise_seed: int
    jpeg: int  # JPEG quality, 0 = none
    h264: int = 0  # H.264 intra-frame CRF (instead of JPEG), 0 = none
    gamma: float = 1.0  # <1 brightens, >1 darkens
    blur: float = 0.0  # Gaussian blur sigma (px of the image), 0 = none
    sharpen: float = 0.0  # unsharp-mask amount, 0 = none
    smooth: float = 0.0  # skin smoothing ("beauty filter") strength in [0, 1], 0 = none


def sample_aug(rng: np.random.Generator, h264: float = 0.0, strong: bool = False) -> AugParams:
    """A random augmentation; ``h264`` is the probability of H.264 intra coding instead of JPEG.

    ``strong`` adds gamma, blur, sharpening and skin smoothing draws (after the others, so a seed
    gives the same base draw either way)."""
    base = AugParams(
        flip=bool(rng.random() < 0.5),
        scale=float(rng.uniform(0.35, 1.0) if rng.random() < 0.3 else 1.0),
        brightness=float(rng.uniform(-0.08, 0.08)),
        contrast=float(rng.uniform(-0.15, 0.15)),
        saturation=float(rng.uniform(-0.2, 0.2)),
        noise=float(rng.uniform(0, 4) if rng.random() < 0.2 else 0.0),
        noise_seed=int(rng.integers(1 << 31)),
        jpeg=int(rng.integers(35, 96) if rng.random() < 0.7 else 0),
        h264=int(rng.integers(22, 41) if rng.random() < h264 else 0),
    )
    if not strong:
        return base
    return replace(base,
                   gamma=float(np.exp(rng.uniform(-0.6, 0.6)) if rng.random() < 0.4 else 1.0),
                   blur=float(rng.uniform(0.5, 2.0) if rng.random() < 0.2 else 0.0),
                   sharpen=float(rng.uniform(0.3, 1.5) if rng.random() < 0.15 else 0.0),
                   smooth=float(rng.uniform(0.4, 1.0) if rng.random() < 0.25 else 0.0))


def gamma(image: np.ndarray, g: float) -> np.ndarray:
    lut = np.clip(255.0 * (np.arange(256) / 255.0) ** g, 0, 255).astype(np.uint8)
    return lut[image]


def smooth_skin(image: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """A beauty filter: edge-preserving (bilateral) smoothing blended in at ``strength``."""
    side = min(image.shape[:2])
    d = max(3, int(side / 40) | 1)
    smooth = cv2.bilateralFilter(np.ascontiguousarray(image), d, 40, d * 1.5)
    return cv2.addWeighted(smooth, strength, image, 1.0 - strength, 0)


def down_up(image: np.ndarray, scale: float) -> np.ndarray:
    """Downscale then upscale back (a low-resolution camera)."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(8, int(w * scale)), max(8, int(h * scale))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def sharpen(image: np.ndarray, amount: float) -> np.ndarray:
    blurred = cv2.GaussianBlur(image, (0, 0), 1.0)
    return cv2.addWeighted(image, 1.0 + amount, blurred, -amount, 0)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def augment(image: np.ndarray, p: AugParams) -> np.ndarray:
    x = np.ascontiguousarray(image[:, ::-1] if p.flip else image)
    if p.smooth > 0:
        x = smooth_skin(x, p.smooth)
    if p.blur > 0:
        x = cv2.GaussianBlur(x, (0, 0), p.blur)
    if p.sharpen > 0:
        x = sharpen(x, p.sharpen)
    if p.scale < 1.0:
        x = down_up(x, p.scale)
    if p.gamma != 1.0:
        x = gamma(x, p.gamma)
    f = x.astype(np.float32)
    grey = f.mean(axis=2, keepdims=True)
    f = grey + (f - grey) * (1.0 + p.saturation)
    f = (f - 128.0) * (1.0 + p.contrast) + 128.0 + 255.0 * p.brightness
    if p.noise > 0:
        f += np.random.default_rng(p.noise_seed).normal(0, p.noise, f.shape).astype(np.float32)
    x = np.clip(np.round(f), 0, 255).astype(np.uint8)
    if p.h264:
        return H264Intra.get(p.h264, x.shape[1], x.shape[0])(x)
    return jpeg(x, p.jpeg) if p.jpeg else np.ascontiguousarray(x)


class H264Intra:
    """libx264 intra-only coding of single frames (zero latency), one encoder per CRF and size."""

    _cache: dict[tuple[int, int, int], "H264Intra"] = {}

    def __init__(self, crf: int, width: int, height: int):
        self.enc = av.CodecContext.create("libx264", "w")
        self.enc.width, self.enc.height, self.enc.pix_fmt = width, height, "yuv420p"
        self.enc.time_base = Fraction(1, 25)
        self.enc.options = {"crf": str(crf), "preset": "veryfast", "tune": "zerolatency", "keyint": "1"}
        self.enc.open()
        self.dec = av.CodecContext.create("h264", "r")
        self.pts = 0

    @classmethod
    def get(cls, crf: int, width: int, height: int) -> "H264Intra":
        key = (crf, width, height)
        if key not in cls._cache:
            cls._cache[key] = cls(crf, width, height)
        return cls._cache[key]

    def __call__(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[: h - h % 2, : w - w % 2]), format="rgb24")
        frame.pts, self.pts = self.pts, self.pts + 1
        out = [d.to_ndarray(format="rgb24") for p in self.enc.encode(frame) for d in self.dec.decode(p)]
        if not out:
            return image
        result = image.copy()
        result[: h - h % 2, : w - w % 2] = out[-1]
        return result


def augment_pair(real: np.ndarray, fake: np.ndarray, p: AugParams) -> tuple[np.ndarray, np.ndarray]:
    """The same augmentation on a real image and its fake, so the pair differs only by the fake."""
    return augment(real, p), augment(fake, p)
