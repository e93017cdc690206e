"""The shipped model's heatmap points at the blend: on self-blended fakes of unseen (test) people,
more heat falls inside the blend mask than outside it, with either of its encoders."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from export.faceset import FaceCutter
from export.synth import sample_params, self_blend
from streamer.runtime.assets import asset_path

MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "default"
# Portraits of people of the asset test split (export.data.ASSET_SPLIT) where the face-set cutter (short-range
# detector on the padded photo) finds the face; it misses the small faces of biden.jpg and astronaut.png.
TEST_PHOTOS = ("15-f13-anc-ph.jpg", "45-m7-di-ph.jpg", "terminator_crop.jpg", "ri_1_crop.jpg")


def _manifest() -> dict:
    return json.loads((MODEL_DIR / "manifest.json").read_text())


@pytest.mark.skipif("heatmap_size" not in _manifest(), reason="the shipped model has no heatmap output")
@pytest.mark.parametrize("precision", ["float", "int8"])
def test_heat_falls_inside_the_blend_mask_on_test_people(precision: str) -> None:
    from streamer.core.model import Model  # noqa: PLC0415  (after the skip: only a heatmap model is loaded)

    if precision == "int8" and "encoder_int8" not in _manifest()["files"]:
        pytest.skip("the shipped model has no int8 encoder")
    model = Model(MODEL_DIR, precision=precision)
    size, grid = model.manifest.input_size, _manifest()["heatmap_size"]
    cutter = FaceCutter((size,))
    rng = np.random.default_rng(7)
    inside, outside, n = [], [], 0
    try:
        for name in TEST_PHOTOS:
            rgb = cv2.cvtColor(cv2.imread(str(asset_path(name))), cv2.COLOR_BGR2RGB)
            cut = cutter(rgb, mesh=True)
            assert cut is not None, name
            for _ in range(4):
                _, fake, mask = self_blend(cut.crops[size], cut.landmarks[size], sample_params(rng, regions=False))
                _, _, heat = model.encode_full(fake[None])
                cells = cv2.resize(mask / max(float(mask.max()), 1e-6), (grid, grid), interpolation=cv2.INTER_AREA)
                inside.append(heat[0][cells > 0.5].mean())
                outside.append(heat[0][cells < 0.05].mean())
                n += 1
    finally:
        cutter.close()
    assert n == 4 * len(TEST_PHOTOS)
    assert np.mean(inside) > np.mean(outside) + 0.05, (np.mean(inside), np.mean(outside))
    assert np.mean(np.asarray(inside) > np.asarray(outside)) >= 0.75
