"""Training/evaluation crops, cut exactly like at run time: detect on the image, then ``align_crop``."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from streamer.core.faces import Face, FaceDetector, align_crop
from streamer.core.quality import QualityConfig, assess

from .augment import augment_pair, sample_aug
from .data import Clip
from .synth import sample_params, self_blend

Frames = list[np.ndarray]


class Cropper:
    """One face stream: a fresh detector, increasing timestamps, the largest face's aligned crop."""

    def __init__(self, size: int, margin: float):
        self.size, self.margin = size, margin
        self._det = FaceDetector()
        self._t = 0.0

    def __call__(self, image: np.ndarray) -> np.ndarray | None:
        face = self.face(image)
        return None if face is None else align_crop(image, face.keypoints, face.box, self.size, self.margin)

    def face(self, image: np.ndarray) -> Face | None:
        """The largest detected face."""
        self._t += 1 / 25.0
        faces = self._det.detect(image, self._t)
        return max(faces, key=lambda f: f.box[2] - f.box[0]) if faces else None

    def close(self) -> None:
        self._det.close()


def sbi_pairs(clip: Clip, step: int, variants: int, size: int, margin: float, rng: np.random.Generator,
              h264: float = 0.0, regions: bool = False, strong: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(reals, fakes) crops (N, S, S, 3): per-frame SBI, each pair sharing one augmentation.

    ``regions``: SBI of face parts (mouth, lower face, eyes, upper face, nose) besides the hull;
    ``strong``: gamma, blur, sharpening and skin smoothing in the shared augmentation too."""
    reals, fakes = [], []
    cut_real, cut_fake = Cropper(size, margin), Cropper(size, margin)
    for i in range(0, len(clip), step):
        for _ in range(variants):
            real, fake, _ = self_blend(clip.regions[i], clip.landmarks[i], sample_params(rng, regions))
            real, fake = augment_pair(real, fake, sample_aug(rng, h264, strong))
            r, f = cut_real(real), cut_fake(fake)
            if r is not None and f is not None:
                reals.append(r), fakes.append(f)
    cut_real.close(), cut_fake.close()
    empty = np.zeros((0, size, size, 3), np.uint8)
    return (np.stack(reals), np.stack(fakes)) if reals else (empty, empty)


def clip_crops(frames: Frames, size: int, margin: float,
               transform: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Crops of a clip's frames (one detector stream) and a mask of frames where a face was found."""
    cut = Cropper(size, margin)
    out, ok = np.zeros((len(frames), size, size, 3), np.uint8), np.zeros(len(frames), bool)
    for i, frame in enumerate(frames):
        crop = cut(transform(frame) if transform else frame)
        if crop is not None:
            out[i], ok[i] = crop, True
    cut.close()
    return out, ok


def gated_faces(frames: Frames, quality: QualityConfig) -> tuple[list[Face | None], list[str | None]]:
    """The largest face of each frame (one detector stream) and the face-quality gate's reason
    (None: the face can be scored, or there is no face)."""
    cut = Cropper(0, 0.0)
    faces: list[Face | None] = []
    reasons: list[str | None] = []
    for frame in frames:
        face = cut.face(frame)
        faces.append(face)
        reasons.append(None if face is None else assess(frame, face, quality).reason)
    cut.close()
    return faces, reasons


def crops_of(frames: Frames, faces: list[Face | None], size: int, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """Aligned crops of the given faces (zeros where there is none) and the mask of frames with one."""
    out, ok = np.zeros((len(frames), size, size, 3), np.uint8), np.zeros(len(frames), bool)
    for i, (frame, face) in enumerate(zip(frames, faces)):
        if face is not None:
            out[i], ok[i] = align_crop(frame, face.keypoints, face.box, size, margin), True
    return out, ok
