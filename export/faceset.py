"""The shared face sets (DFDC face crops, LFW photos): checksums, extraction, splits and cut crops.

    python -m export.faceset [--data ../shared/data] [--sizes 128 160]

The tars in ``--data`` are checked against its ``SHA256SUMS`` and extracted to the cache (never into
the project). Each image is padded (the DFDC crops are tight: the face fills the image), the runtime's
detector finds the largest face and ``align_crop`` cuts it at every training size, exactly as at run
time. Real images also get the 468-point face mesh (in crop pixels) for self-blending. The result is
one ``.npz`` per size in the cache, with a report of how many images yield a usable face.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from streamer.runtime.assets import cache_dir, sha256_file
from streamer.core.faces import Face, FaceDetector, align_crop
from streamer.core.faces.align import DEFAULT_MARGIN, crop_transform

from .landmarks import MeshModel

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
TARS = {"dfdc": "dfdc_faces", "lfw": "lfw"}
PAD = 0.5  # padding on every side, as a share of the image side, before detection
SPLIT_SHARES = (("test", 0.15), ("val", 0.15))  # the rest is train
SPLITS = ("train", "val", "test")
CACHE_VERSION = "1"


class DataError(RuntimeError):
    """The shared data is missing or does not match its checksums."""


@dataclass(frozen=True)
class Record:
    dataset: str  # dfdc | lfw
    file: str  # path inside the extracted folder
    fake: bool
    group: str  # DFDC: the real source video; LFW: the person

    @property
    def split(self) -> str:
        return split_of(self.dataset, self.group)


def split_of(dataset: str, group: str) -> str:
    """A fixed split by group (DFDC source video, LFW identity): a stable hash, no shuffle to remember."""
    h = int.from_bytes(hashlib.sha256(f"{dataset}:{group}".encode()).digest()[:8], "big") / 2 ** 64
    edge = 0.0
    for name, share in SPLIT_SHARES:
        edge += share
        if h < edge:
            return name
    return "train"


def require(data: Path) -> Path:
    data = Path(data)
    if not (data / "SHA256SUMS").is_file():
        raise DataError(f"no shared data at {data} (expected SHA256SUMS and the tars; pass --data)")
    return data


def verify(data: Path) -> dict[str, str]:
    """Every file listed in SHA256SUMS, hashed and compared; returns name -> sha256."""
    data = require(data)
    sums: dict[str, str] = {}
    for line in (data / "SHA256SUMS").read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.strip().lstrip("*")] = digest.lower()
    for name, digest in sums.items():
        path = data / name
        if not path.is_file():
            raise DataError(f"{path} is missing")
        if sha256_file(path) != digest:
            raise DataError(f"{path} does not match its checksum in SHA256SUMS")
    return sums


def extract(data: Path, sums: dict[str, str]) -> Path:
    """Extract the verified tars once into the cache; the folder is named by the checksums."""
    tag = hashlib.sha256(json.dumps(sums, sort_keys=True).encode()).hexdigest()[:16]
    root = cache_dir() / "shared-data" / tag
    done = root / ".extracted"
    if done.is_file():
        return root
    root.mkdir(parents=True, exist_ok=True)
    for name in sorted(n for n in sums if n.endswith(".tar")):
        with tarfile.open(data / name) as tar:
            tar.extractall(root, filter="data")
    done.write_text("ok\n")
    return root


def records(data: Path) -> list[Record]:
    out = []
    with open(Path(data) / "dfdc_faces.csv", newline="") as f:
        for row in csv.DictReader(f):
            out.append(Record("dfdc", f"{TARS['dfdc']}/{row['file']}", row["label"] == "fake", row["group"]))
    with open(Path(data) / "lfw.csv", newline="") as f:
        for row in csv.DictReader(f):
            out.append(Record("lfw", f"{TARS['lfw']}/{row['file']}", False, row["identity"]))
    return out


def read_rgb(path: Path) -> np.ndarray | None:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def pad(image: np.ndarray, share: float = PAD) -> tuple[np.ndarray, int, int]:
    """The image on a black border ``share`` of its side wide, and the offsets of its origin."""
    h, w = image.shape[:2]
    dy, dx = int(round(h * share)), int(round(w * share))
    return cv2.copyMakeBorder(image, dy, dy, dx, dx, cv2.BORDER_CONSTANT, value=(0, 0, 0)), dx, dy


@dataclass
class Cut:
    crops: dict[int, np.ndarray]  # size -> (S, S, 3) uint8
    landmarks: dict[int, np.ndarray] | None  # size -> (468, 2) float32 in crop pixels (real images only)


class FaceCutter:
    """Pad, detect (the runtime's short-range detector on a still), cut at every size; mesh for reals."""

    def __init__(self, sizes: tuple[int, ...], margin: float = DEFAULT_MARGIN):
        self.sizes, self.margin = sizes, margin
        self._det = FaceDetector(mode="short", still=True)
        self._mesh = MeshModel()

    def __call__(self, image: np.ndarray, mesh: bool) -> Cut | None:
        """Detect on the padded image; cut from the image itself (edges replicated, as at run time
        for a face at the frame's edge), so the padding never shows in a crop."""
        padded, dx, dy = pad(image)
        faces = self._det.detect(padded, 0.0)
        if not faces:
            return None
        face = max(faces, key=lambda f: f.box[2] - f.box[0])
        offset = np.array([dx, dy], np.float64)
        face = Face(box=face.box - np.tile(offset, 2), keypoints=face.keypoints - offset, score=face.score)
        crops = {s: align_crop(image, face.keypoints, face.box, s, self.margin) for s in self.sizes}
        if not mesh:
            return Cut(crops, None)
        points, _ = self._mesh(image, face)
        marks = {}
        for s in self.sizes:
            m = crop_transform(face.keypoints, face.box, s, self.margin)
            marks[s] = (points @ m[:, :2].T + m[:, 2]).astype(np.float32)
        return Cut(crops, marks)

    def close(self) -> None:
        self._det.close()


def table_path(root: Path, size: int) -> Path:
    return root / f"faces-v{CACHE_VERSION}-{size}.npz"


def build(data: Path, sizes: tuple[int, ...], shard: tuple[int, int] = (0, 1)) -> tuple[Path, dict]:
    """Cut every image (or one shard of them) and write one table per size; returns the folder and a report."""
    sums = verify(data)
    root = extract(data, sums)
    recs = records(data)
    index, shards = shard
    todo = [i for i in range(len(recs)) if i % shards == index]
    cutter = FaceCutter(sizes)
    keep: list[int] = []
    crops: dict[int, list[np.ndarray]] = {s: [] for s in sizes}
    marks: dict[int, list[np.ndarray]] = {s: [] for s in sizes}
    no_mesh = np.full((468, 2), np.nan, np.float32)
    for i in tqdm(todo, desc=f"cutting faces {index + 1}/{shards}", unit="img"):
        image = read_rgb(root / recs[i].file)
        cut = None if image is None else cutter(image, mesh=not recs[i].fake)
        if cut is None:
            continue
        keep.append(i)
        for s in sizes:
            crops[s].append(cut.crops[s])
            marks[s].append(cut.landmarks[s] if cut.landmarks else no_mesh)
    cutter.close()
    suffix = "" if shards == 1 else f".part{index}of{shards}"
    for s in sizes:
        np.savez(str(table_path(root, s)) + suffix, index=np.asarray(keep, np.int64), crops=np.stack(crops[s]),
                 landmarks=np.stack(marks[s]))
    return root, usable_report(recs, set(keep), todo)


def merge_shards(root: Path, sizes: tuple[int, ...], shards: int) -> None:
    for s in sizes:
        parts = [np.load(f"{table_path(root, s)}.part{k}of{shards}.npz") for k in range(shards)]
        index = np.concatenate([p["index"] for p in parts])
        order = np.argsort(index)
        np.savez(table_path(root, s), index=index[order],
                 crops=np.concatenate([p["crops"] for p in parts])[order],
                 landmarks=np.concatenate([p["landmarks"] for p in parts])[order])
        for k in range(shards):
            Path(f"{table_path(root, s)}.part{k}of{shards}.npz").unlink()


def usable_report(recs: list[Record], kept: set[int], todo: list[int]) -> dict:
    """Images that yield a usable face, per dataset and label."""
    out: dict[str, dict[str, int]] = {}
    for i in todo:
        r = recs[i]
        key = f"{r.dataset}_{'fake' if r.fake else 'real'}"
        row = out.setdefault(key, {"images": 0, "faces": 0})
        row["images"] += 1
        row["faces"] += int(i in kept)
    return out


@dataclass
class FaceTable:
    """Cut faces of one size with their records (only the images where a face was found)."""

    records: list[Record]
    crops: np.ndarray  # (N, S, S, 3) uint8
    landmarks: np.ndarray  # (N, 468, 2) float32, NaN for fakes

    def where(self, dataset: str | None = None, split: str | None = None, fake: bool | None = None) -> np.ndarray:
        return np.asarray([i for i, r in enumerate(self.records)
                           if (dataset is None or r.dataset == dataset) and (split is None or r.split == split)
                           and (fake is None or r.fake == fake)], np.int64)


def load_table(data: Path, size: int) -> FaceTable:
    """The cut faces of one size (``python -m export.faceset`` builds them)."""
    sums = verify(data)
    root = extract(data, sums)
    path = table_path(root, size)
    if not path.is_file():
        raise DataError(f"{path} not built: run `python -m export.faceset --data {data} --sizes {size}`")
    recs = records(data)
    z = np.load(path)
    return FaceTable([recs[i] for i in z["index"]], z["crops"], z["landmarks"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m export.faceset", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder (SHA256SUMS, tars)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[128])
    ap.add_argument("--shard", type=int, nargs=2, metavar=("INDEX", "COUNT"), default=(0, 1),
                    help="cut only every COUNT-th image from INDEX (run COUNT processes, then --merge COUNT)")
    ap.add_argument("--merge", type=int, default=0, metavar="COUNT", help="merge COUNT shards into one table")
    args = ap.parse_args(argv)
    try:
        sizes = tuple(args.sizes)
        if args.merge:
            root = extract(args.data, verify(args.data))
            merge_shards(root, sizes, args.merge)
            print(f"merged {args.merge} shards in {root}")
            return 0
        root, report = build(args.data, sizes, tuple(args.shard))
    except DataError as exc:
        print(f"error: {exc}")
        return 2
    for key, row in sorted(report.items()):
        print(f"{key:10s} {row['faces']:6d} of {row['images']:6d} images give a face "
              f"({row['faces'] / max(row['images'], 1):.1%})")
    (root / f"usable-{args.shard[0]}of{args.shard[1]}.json").write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
