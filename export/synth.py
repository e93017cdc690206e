"""Fake synthesis from real faces: self-blended images (SBI), clip-level SBI and identity swaps.

SBI (Shiohara & Yamasaki, CVPR 2022): a face is blended onto itself after a colour/frequency change
and a small shift of the source, inside a deformed landmark-hull mask. The blend boundary and the
statistical mismatch are the only cues, so a detector must learn generic blending artefacts.
All functions take and return uint8 RGB images; ``landmarks`` are the (468, 2) mesh points in pixels.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class BlendParams:
    """Everything random in one SBI; frozen across a clip for video SBI."""

    alter_source: bool  # colour/frequency change applied to the source (else to the target)
    rgb_shift: tuple[float, float, float]
    hsv_shift: tuple[float, float, float]  # hue (degrees/2 units), saturation, value
    brightness: float
    contrast: float
    freq: float  # <1: down-up scale factor; >1: sharpen amount (freq - 1)
    shift: tuple[float, float]  # source translation, fraction of the face size
    scale: float  # source scale about the face centre
    hull_shrink: float  # mask hull shrunk towards its centre by this factor
    elastic_seed: int
    elastic_alpha: float  # displacement, fraction of the face size
    morph: int  # >0 dilate, <0 erode, kernel radius in px per 100 px of face
    blur: float  # mask blur sigma, fraction of the face size
    ratio: float  # blend ratio at the mask's centre
    region: str = "hull"  # which part of the face is blended (REGIONS)


# MediaPipe face-mesh indices of the parts that region blends replace (lip-sync fakes change the mouth
# and lower face, expression/eye edits the upper face).
LIPS = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185]
EYES = [33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173, 263, 249, 390, 373, 374,
        380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398, 70, 63, 105, 66, 107, 336, 296, 334, 293, 300]
NOSE = [168, 6, 197, 195, 5, 4, 1, 19, 94, 2, 98, 327, 129, 358, 48, 278, 64, 294, 218, 438]
NOSE_TIP, NOSE_BRIDGE = 1, 168
REGIONS = ("hull", "lower", "mouth", "upper", "eyes", "nose")
REGION_WEIGHTS = (0.4, 0.15, 0.15, 0.1, 0.1, 0.1)


def sample_params(rng: np.random.Generator, regions: bool = False) -> BlendParams:
    """Random SBI parameters following the paper's ranges; ``regions``: also blend parts of the face."""
    region = str(rng.choice(REGIONS, p=REGION_WEIGHTS)) if regions else "hull"
    return BlendParams(region=region, **_blend_draw(rng))


def _blend_draw(rng: np.random.Generator) -> dict:
    return dict(
        alter_source=bool(rng.random() < 0.5),
        rgb_shift=tuple(rng.uniform(-20, 20, 3).tolist()),
        hsv_shift=(float(rng.uniform(-5, 5)), float(rng.uniform(-25, 25)), float(rng.uniform(-20, 20))),
        brightness=float(rng.uniform(-0.1, 0.1)),
        contrast=float(rng.uniform(-0.1, 0.1)),
        freq=float(rng.uniform(0.35, 0.9) if rng.random() < 0.5 else rng.uniform(1.2, 2.0)),
        shift=tuple(rng.uniform(-0.03, 0.03, 2).tolist()),
        scale=float(rng.uniform(0.95, 1.05)),
        hull_shrink=float(rng.choice([1.0, 1.0, rng.uniform(0.8, 1.0)])),
        elastic_seed=int(rng.integers(1 << 31)),
        elastic_alpha=float(rng.uniform(0.02, 0.06)),
        morph=int(rng.integers(-4, 5)),
        blur=float(rng.uniform(0.01, 0.05)),
        ratio=float(rng.choice([0.25, 0.5, 0.75, 1.0, 1.0, 1.0])),
    )


def face_size(landmarks: np.ndarray) -> float:
    span = landmarks.max(0) - landmarks.min(0)
    return float(max(span.max(), 8.0))


def hull_mask(shape: tuple[int, int], landmarks: np.ndarray, shrink: float = 1.0) -> np.ndarray:
    """float32 mask (H, W) in {0, 1}: the convex hull of the landmarks, optionally shrunk."""
    centre = landmarks.mean(0)
    pts = centre + (landmarks - centre) * shrink
    hull = cv2.convexHull(np.round(pts).astype(np.int32))
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, hull, 1)
    return mask.astype(np.float32)


def _scaled_hull(shape: tuple[int, int], pts: np.ndarray, grow: float) -> np.ndarray:
    centre = pts.mean(0)
    return hull_mask(shape, centre + (pts - centre) * grow)


def region_mask(shape: tuple[int, int], landmarks: np.ndarray, region: str, shrink: float = 1.0) -> np.ndarray:
    """float32 mask (H, W) in {0, 1} of one part of the face, always inside the face hull.

    ``lower``/``upper``: the hull below the nose tip / above the nose bridge (along the face's own
    vertical axis, so a tilted head is cut right); ``mouth``/``eyes``/``nose``: the hull of those mesh
    points, grown a little around their centre.
    """
    face = hull_mask(shape, landmarks, shrink)
    if region == "hull":
        return face
    if region in ("lower", "upper"):
        axis = landmarks[152] - landmarks[10]  # forehead -> chin
        axis = axis / max(float(np.linalg.norm(axis)), 1e-6)
        t = (landmarks - landmarks[10]) @ axis
        cut = t[NOSE_TIP] if region == "lower" else t[NOSE_BRIDGE]
        pts = landmarks[t >= cut] if region == "lower" else landmarks[t <= cut]
        part = hull_mask(shape, pts) if len(pts) >= 3 else face
    else:
        index, grow = {"mouth": (LIPS, 1.5), "eyes": (EYES, 1.25), "nose": (NOSE, 1.3)}[region]
        part = _scaled_hull(shape, landmarks[index], grow)
    return part * face


def _elastic(mask: np.ndarray, seed: int, alpha_px: float) -> np.ndarray:
    h, w = mask.shape
    rng = np.random.default_rng(seed)
    small = (max(4, w // 32), max(4, h // 32))
    dx = cv2.resize(rng.uniform(-1, 1, small[::-1]).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    dy = cv2.resize(rng.uniform(-1, 1, small[::-1]).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(mask, gx + dx * alpha_px, gy + dy * alpha_px, cv2.INTER_LINEAR, borderValue=0)


def blend_mask(shape: tuple[int, int], landmarks: np.ndarray, p: BlendParams) -> np.ndarray:
    """The soft SBI mask (H, W) float32 in [0, ratio]: hull, elastic warp, erosion/dilation, blur."""
    size = face_size(landmarks)
    mask = region_mask(shape, landmarks, p.region, p.hull_shrink)
    if p.region != "hull":  # parts are smaller: deform and grow/shrink them less
        size = size * 0.5
    mask = (_elastic(mask, p.elastic_seed, p.elastic_alpha * size) > 0.5).astype(np.float32)
    radius = int(round(abs(p.morph) * size / 100.0))
    if radius > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        mask = cv2.dilate(mask, kernel) if p.morph > 0 else cv2.erode(mask, kernel)
    sigma = max(p.blur * size, 0.5)
    mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    mask[mask < 1e-3] = 0.0
    return mask * p.ratio


def alter(image: np.ndarray, p: BlendParams) -> np.ndarray:
    """Colour (RGB shift, HSV, brightness/contrast) then frequency (down-up scale or sharpen) change."""
    x = image.astype(np.float32) + np.asarray(p.rgb_shift, np.float32)
    hsv = cv2.cvtColor(np.clip(x, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + p.hsv_shift[0]) % 180
    hsv[..., 1:] += np.asarray(p.hsv_shift[1:], np.float32)
    x = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    x = (x - 128.0) * (1.0 + p.contrast) + 128.0 + 255.0 * p.brightness
    x = np.clip(x, 0, 255).astype(np.uint8)
    return _frequency(x, p.freq)


def _frequency(image: np.ndarray, freq: float) -> np.ndarray:
    h, w = image.shape[:2]
    if freq < 1.0:
        small = cv2.resize(image, (max(1, int(w * freq)), max(1, int(h * freq))), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    blurred = cv2.GaussianBlur(image, (0, 0), 1.0)
    return cv2.addWeighted(image, freq, blurred, 1.0 - freq, 0)


def shift_source(image: np.ndarray, landmarks: np.ndarray, p: BlendParams) -> np.ndarray:
    """Small translation/scale of the source about the face centre."""
    size = face_size(landmarks)
    cx, cy = landmarks.mean(0)
    m = np.array([[p.scale, 0, (1 - p.scale) * cx + p.shift[0] * size],
                  [0, p.scale, (1 - p.scale) * cy + p.shift[1] * size]], np.float32)
    h, w = image.shape[:2]
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def blend(target: np.ndarray, source: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = mask[..., None]
    out = source.astype(np.float32) * m + target.astype(np.float32) * (1.0 - m)
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    outside = mask <= 0
    out[outside] = target[outside]
    return out


def self_blend(image: np.ndarray, landmarks: np.ndarray,
               p: BlendParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One SBI pair: (real, fake, soft mask).

    The colour/frequency change goes to the source or to the target. The returned real is the
    target, so when the target is the altered one the pair still differs only inside the mask.
    """
    source, target = image, image
    if p.alter_source:
        source = alter(source, p)
    else:
        target = alter(target, p)
    source = shift_source(source, landmarks, p)
    mask = blend_mask(image.shape[:2], landmarks, p)
    return target, blend(target, source, mask), mask


def self_blend_clip(frames: list[np.ndarray], landmarks: list[np.ndarray],
                    p: BlendParams) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Video SBI: the same parameters on every frame, so flicker is not the cue. (reals, fakes)."""
    pairs = [self_blend(f, lm, p) for f, lm in zip(frames, landmarks)]
    return [r for r, _, _ in pairs], [f for _, f, _ in pairs]


# --- identity swap (a second kind of fake, held out of training) ---

_SWAP_POINTS = np.unique(np.concatenate([np.arange(0, 468, 3),
                                         [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365,
                                          379, 378, 400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93,
                                          234, 127, 162, 21, 54, 103, 67, 109]]))


def _triangles(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    subdiv = cv2.Subdiv2D((-w, -h, 3 * w, 3 * h))
    for x, y in points:
        subdiv.insert((float(x), float(y)))
    tris = subdiv.getTriangleList().reshape(-1, 3, 2)
    index = {tuple(np.round(p, 2)): i for i, p in enumerate(points.astype(np.float32))}
    out = []
    for tri in tris:
        ids = [index.get(tuple(np.round(v, 2))) for v in tri]
        if None not in ids:
            out.append(ids)
    return np.asarray(out, np.int32)


def swap_triangles(landmarks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Delaunay triangles of the swap points; the mesh topology is stable, so one set serves a clip."""
    return _triangles(landmarks[_SWAP_POINTS].astype(np.float32), shape)


def warp_face(source: np.ndarray, src_lm: np.ndarray, dst_lm: np.ndarray, shape: tuple[int, int],
              triangles: np.ndarray | None = None) -> np.ndarray:
    """Piecewise-affine warp of the source face onto the target's landmark geometry."""
    src = src_lm[_SWAP_POINTS].astype(np.float32)
    dst = dst_lm[_SWAP_POINTS].astype(np.float32)
    out = np.zeros((*shape, 3), np.uint8)
    for tri in _triangles(dst, shape) if triangles is None else triangles:
        _warp_triangle(source, out, src[tri], dst[tri])
    return out


def _warp_triangle(src_img: np.ndarray, dst_img: np.ndarray, s: np.ndarray, d: np.ndarray) -> None:
    h, w = dst_img.shape[:2]
    x0, y0 = np.floor(d.min(0)).astype(int)
    x1, y1 = np.ceil(d.max(0)).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return
    m = cv2.getAffineTransform(s, (d - [x0, y0]).astype(np.float32))
    patch = cv2.warpAffine(src_img, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    tri_mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillConvexPoly(tri_mask, np.round(d - [x0, y0]).astype(np.int32), 1)
    region = dst_img[y0:y1, x0:x1]
    region[tri_mask > 0] = patch[tri_mask > 0]


def color_transfer(source: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Reinhard colour transfer in LAB: the source's statistics inside the mask matched to the target's."""
    inside = mask > 0.5
    if inside.sum() < 16:
        return source
    s = cv2.cvtColor(source, cv2.COLOR_RGB2LAB).astype(np.float32)
    t = cv2.cvtColor(target, cv2.COLOR_RGB2LAB).astype(np.float32)
    s_mean, s_std = s[inside].mean(0), s[inside].std(0) + 1e-3
    t_mean, t_std = t[inside].mean(0), t[inside].std(0) + 1e-3
    out = (s - s_mean) / s_std * t_std + t_mean
    return cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def identity_swap(target: np.ndarray, tgt_lm: np.ndarray, source: np.ndarray, src_lm: np.ndarray,
                  feather: float = 0.04, region: str = "hull", triangles: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The source person's face (or one part of it: ``region``, see ``region_mask``) on the target
    frame: landmark warp (``triangles``: from ``swap_triangles``, else triangulated here), colour
    transfer, feathered mask."""
    shape = target.shape[:2]
    warped = warp_face(source, src_lm, tgt_lm, shape, triangles)
    size = face_size(tgt_lm)
    hard = region_mask(shape, tgt_lm, region, 0.95)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    hard = cv2.erode(hard, kernel, iterations=max(1, int(size * 0.02)))
    warped = color_transfer(warped, target, hard)
    mask = cv2.GaussianBlur(hard, (0, 0), max(feather * size, 0.5)) * hard
    return blend(target, warped, mask), mask
