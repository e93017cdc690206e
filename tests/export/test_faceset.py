"""The shared face sets: checksums, safe extraction, splits by group and by person, cut crops."""
from __future__ import annotations

import hashlib
import io
import tarfile
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest

from export import faceset
from export.faceset import DEFAULT_DATA, DataError, FaceCutter, extract, records, split_of, verify
from streamer.runtime.assets import asset_path
from streamer.core.faces import FaceDetector

needs_data = pytest.mark.skipif(not (DEFAULT_DATA / "SHA256SUMS").is_file(),
                                reason=f"the shared training data is not at {DEFAULT_DATA} (see its README)")


def _tar(path: Path, files: dict[str, bytes]) -> None:
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _sums(folder: Path, names: list[str]) -> None:
    lines = [f"{hashlib.sha256((folder / n).read_bytes()).hexdigest()}  {n}" for n in names]
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n")


@pytest.fixture
def small_data(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("DFS_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "data"
    data.mkdir()
    _tar(data / "lfw-00.tar", {"lfw/A/A_0001.jpg": b"not really a jpeg"})
    (data / "lfw.csv").write_text("file,identity\nA/A_0001.jpg,A\n")
    _sums(data, ["lfw-00.tar", "lfw.csv"])
    return data


def test_checksums_pass_then_extract_once(small_data: Path) -> None:
    sums = verify(small_data)
    assert set(sums) == {"lfw-00.tar", "lfw.csv"}
    root = extract(small_data, sums)
    assert (root / "lfw" / "A" / "A_0001.jpg").read_bytes() == b"not really a jpeg"
    assert not str(root).startswith(str(Path(faceset.__file__).resolve().parent.parent))  # cache, not the repo
    assert extract(small_data, sums) == root


def test_a_changed_file_fails_its_checksum(small_data: Path) -> None:
    (small_data / "lfw.csv").write_text("file,identity\nA/A_0001.jpg,B\n")
    with pytest.raises(DataError, match="lfw.csv does not match"):
        verify(small_data)


def test_a_missing_file_or_folder_is_a_clear_error(small_data: Path, tmp_path: Path) -> None:
    (small_data / "lfw-00.tar").unlink()
    with pytest.raises(DataError, match="missing"):
        verify(small_data)
    with pytest.raises(DataError, match="no shared data"):
        verify(tmp_path / "nowhere")


def test_a_tar_escaping_its_folder_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DFS_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "data"
    data.mkdir()
    _tar(data / "evil.tar", {"../../escaped.txt": b"x"})
    _sums(data, ["evil.tar"])
    with pytest.raises(tarfile.TarError):
        extract(data, verify(data))
    assert not (tmp_path / "escaped.txt").exists()


def test_split_is_stable_and_roughly_proportional() -> None:
    groups = [f"g{i}.mp4" for i in range(4000)]
    splits = [split_of("dfdc", g) for g in groups]
    assert splits == [split_of("dfdc", g) for g in groups]
    for name, share in (("test", 0.15), ("val", 0.15), ("train", 0.70)):
        assert abs(splits.count(name) / len(splits) - share) < 0.03


@needs_data
def test_real_sets_split_by_group_and_by_person() -> None:
    recs = records(DEFAULT_DATA)
    assert sum(r.dataset == "dfdc" for r in recs) == 29775 and sum(r.dataset == "lfw" for r in recs) == 6683
    where: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in recs:
        where[(r.dataset, r.group)].add(r.split)
    assert all(len(s) == 1 for s in where.values())  # a group / a person lives in one split only
    for dataset in ("dfdc", "lfw"):
        per = {s: sum(1 for (d, _), v in where.items() if d == dataset and s in v) for s in faceset.SPLITS}
        assert min(per.values()) > 0.1 * sum(per.values())


def test_cutter_cuts_a_tight_face_crop() -> None:
    """A face crop as tight as DFDC's (the face box fills the image) is found once padded and cut at
    every size, with the mesh in crop pixels."""
    image = cv2.cvtColor(cv2.imread(str(asset_path("obama.jpg"))), cv2.COLOR_BGR2RGB)
    det = FaceDetector(mode="short", still=True)
    face = max(det.detect(image, 0.0), key=lambda f: f.box[2] - f.box[0])
    det.close()
    x0, y0, x1, y1 = np.round(face.box).astype(int)
    tight = cv2.resize(image[max(y0, 0):y1, max(x0, 0):x1], (224, 224), interpolation=cv2.INTER_AREA)
    cutter = FaceCutter((128, 160))
    try:
        cut = cutter(tight, mesh=True)
        fake = cutter(tight, mesh=False)
    finally:
        cutter.close()
    assert cut is not None and cut.crops[128].shape == (128, 128, 3) and cut.crops[160].shape == (160, 160, 3)
    for size in (128, 160):
        marks = cut.landmarks[size]
        assert np.isfinite(marks).all() and (marks > 0).all() and (marks < size).all()
    assert fake is not None and fake.landmarks is None
