"""The manipulation heatmap (issue 18 item 4, /work/notes/HEATMAP.md): the model's optional output, each scored
face's ``heat`` in a file scan's timeline, and its overlay on the report's crops. Models without it are unchanged."""
import json

import jsonschema
import numpy as np
import pytest

from streamer.cli import DEFAULT_MODEL_DIR
from streamer.core import heat
from streamer.core.analyzer import Analyzer
from streamer.core.model import Model, ModelError
from streamer.files.report import render, worst_moments
from streamer.files.scan import scan_file
from streamer.files.timeline import schema
from streamer.media.video import file_frames

from tests.files.test_report import assert_self_contained, images_of


def test_encode_full_gives_the_heatmap_of_the_same_forward_pass(heat_model):
    assert heat_model.heatmap_size == 8
    crops = np.random.default_rng(1).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    emb, score, grid = heat_model.encode_full(crops)
    emb2, score2 = heat_model.encode(crops)
    assert np.allclose(emb, emb2) and np.allclose(score, score2)
    assert grid.shape == (3, 8, 8) and grid.dtype == np.float32
    assert np.all((grid >= 0) & (grid <= 1)) and grid.std() > 0  # a real map, not a constant
    assert not np.allclose(grid[0], grid[1])  # it depends on the crop
    _, _, empty = heat_model.encode_full(crops[:0])
    assert empty.shape == (0, 8, 8)


def test_a_model_without_heatmap_has_none(random_model):
    assert random_model.heatmap_size is None
    crops = np.zeros((2, 64, 64, 3), np.uint8)
    emb, score, grid = random_model.encode_full(crops)
    assert grid is None and emb.shape == (2, 32) and score.shape == (2,)


def test_a_manifest_declaring_a_heatmap_the_encoder_lacks_is_refused(random_model_dir, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in random_model_dir.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    manifest = json.loads((bad / "manifest.json").read_text())
    (bad / "manifest.json").write_text(json.dumps({**manifest, "heatmap_size": 8}))
    with pytest.raises(ModelError, match="heatmap"):
        Model(bad)


def test_hex_round_trip():
    grid = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    text = heat.encode(grid)
    assert len(text) == 64 and text[0] == "0" and text[-1] == "f"
    assert np.abs(heat.decode(text) - grid).max() <= 0.5 / heat.LEVELS + 1e-6
    with pytest.raises(ValueError):
        heat.decode("abc")


def test_the_overlay_reddens_hot_cells_and_leaves_cold_ones_clear():
    crop = np.full((64, 64, 3), 128, np.uint8)
    grid = np.zeros((8, 8), np.float32)
    grid[:4] = 1.0  # the top half is hot
    out = heat.overlay(crop, grid).astype(int)
    assert np.array_equal(out[60, 30], crop[60, 30])  # cold: untouched
    r, g, b = out[4, 30]
    assert r > 200 and b < 100 and g < 128  # hot: red


class Recorder:
    """The heat model, recording the heatmaps it returned, in order."""

    def __init__(self, model):
        self.model, self.manifest, self.grids = model, model.manifest, []

    def encode(self, crops):
        raise AssertionError("a file scan with a heatmap model must take the heatmap from the same pass")

    def encode_full(self, crops):
        emb, score, grid = self.model.encode_full(crops)
        self.grids.extend(grid)
        return emb, score, grid

    def temporal(self, windows):
        return self.model.temporal(windows)


def test_a_file_scan_stores_each_scored_face_heat(heat_model, clip):
    recorder = Recorder(heat_model)
    timeline = scan_file(clip("single_face.mp4"), recorder, every_frame=True)
    jsonschema.validate(timeline, schema())
    assert timeline["model"]["heatmap_size"] == 8 and timeline["model"]["crop_margin"] == 0.25
    faces = [f for fr in timeline["frames"] for f in fr["faces"] if f["verdict"] != "not_scored" and not f.get("carried")]
    assert len(faces) == len(recorder.grids) > 50
    for face, grid in zip(faces, recorder.grids):
        assert face["heat"] == heat.encode(grid) and len(face["heat"]) == 64
    assert len({f["heat"] for f in faces}) > 1


def test_live_analysis_keeps_no_heat(heat_model, clip):
    analyzer = Analyzer(heat_model)  # live streams: no heat asked for
    try:
        results = [analyzer.process(f) for f in file_frames(clip("single_face.mp4"), 5)]
    finally:
        analyzer.close()
    assert all("heat" not in face.to_dict() for r in results for face in r.faces)


def test_a_photo_scan_stores_heat_too(heat_model, clip):
    timeline = scan_file(clip("multi_face.jpg"), heat_model)
    jsonschema.validate(timeline, schema())
    scored = [f for f in timeline["frames"][0]["faces"] if f["verdict"] != "not_scored"]
    assert scored and all(len(f["heat"]) == 64 for f in scored)


def test_a_model_without_heatmap_scans_exactly_as_before(random_model, clip):
    model = random_model
    assert model.heatmap_size is None
    timeline = scan_file(clip("single_face.mp4"), model, fps=5, every_frame=True)
    assert set(timeline["model"]) == {"name", "version", "threshold", "window", "stride"}
    keys = {"track_id", "box", "detector_score", "frame_score", "window_score", "score", "verdict", "reason"}
    assert all(set(f) == keys for fr in timeline["frames"] for f in fr["faces"])


def test_the_report_overlays_the_heatmap_on_the_worst_moments(heat_model, clip):
    video = clip("single_face.mp4")
    timeline = scan_file(video, heat_model, every_frame=True)
    page = render([(timeline, video, video.name)])
    assert_self_contained(page)
    moments = worst_moments(timeline)
    assert moments and all(m["heat"] for m in moments)
    assert page.count('class="heat"') == len(moments) and "heatmap over its crop" in page
    # Without heat (the same timeline stripped of it) the report is as before: no overlay.
    for frame in timeline["frames"]:
        for face in frame["faces"]:
            face.pop("heat", None)
    plain = render([(timeline, video, video.name)])
    assert 'class="heat"' not in plain and "heatmap" not in plain
    assert len(images_of(page)) == 2 * len(images_of(plain)) == 2 * len(moments)
    # The overlay is the crop square with the hot cells tinted: its hottest cell is redder than its coldest.
    grid = heat.decode(moments[0]["heat"])
    shown = images_of(page)[1][..., ::-1].astype(int)  # BGR -> RGB
    cell = shown.shape[0] // 8
    redness = lambda i: (shown[..., 0] - shown[..., 2])[i // 8 * cell:(i // 8 + 1) * cell,  # noqa: E731
                                                         i % 8 * cell:(i % 8 + 1) * cell].mean()
    hot, cold = int(grid.argmax()), int(grid.argmin())
    assert grid.max() - grid.min() > 0.3  # the random model's map has contrast (0.33..0.93 with seed 0)
    assert redness(hot) > redness(cold) + 20
