from __future__ import annotations

import cv2
import numpy as np

from export.augment import AugParams, augment, augment_pair, sample_aug
from export.synth import blend_mask, hull_mask, identity_swap, sample_params, self_blend, self_blend_clip

from .conftest import ellipse_landmarks


def _dilate(mask: np.ndarray, px: int) -> np.ndarray:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return cv2.dilate((mask > 0).astype(np.uint8), kernel) > 0


def test_sbi_mask_inside_face_and_fake_differs_only_inside(face_image):
    img, lm = face_image
    face = hull_mask(img.shape[:2], lm)
    margin = int(0.25 * 88)  # elastic warp + dilation + blur stay within a quarter of the face size
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = sample_params(rng)
        real, fake, mask = self_blend(img, lm, p)
        assert mask.max() > 0.2
        assert not (mask > 0)[~_dilate(face, margin)].any(), "mask leaves the face region"
        outside = ~_dilate(mask, 1)
        assert np.array_equal(fake[outside], real[outside]), "fake differs outside its mask"
        assert (np.abs(fake.astype(int) - real.astype(int)).sum(-1) > 0).sum() > 0


def test_blend_mask_ratio_and_range(face_image):
    img, lm = face_image
    p = sample_params(np.random.default_rng(3))
    mask = blend_mask(img.shape[:2], lm, p)
    assert mask.dtype == np.float32 and mask.min() >= 0 and mask.max() <= p.ratio + 1e-6


def test_video_sbi_freezes_parameters(face_image):
    img, lm = face_image
    p = sample_params(np.random.default_rng(5))
    reals, fakes = self_blend_clip([img, img.copy()], [lm, lm.copy()], p)
    assert np.array_equal(fakes[0], fakes[1]) and np.array_equal(reals[0], reals[1])


def test_identity_swap_only_inside_target_hull(face_image):
    img, lm = face_image
    rng = np.random.default_rng(2)
    donor = rng.integers(0, 255, (140, 120, 3)).astype(np.uint8)
    donor_lm = ellipse_landmarks(60, 70, 30, 40, seed=4)
    fake, mask = identity_swap(img, lm, donor, donor_lm)
    face = hull_mask(img.shape[:2], lm)
    assert not (mask > 0)[~face.astype(bool)].any()
    outside = ~_dilate(mask, 1)
    assert np.array_equal(fake[outside], img[outside])
    assert np.abs(fake.astype(int) - img.astype(int))[face.astype(bool)].mean() > 1


def test_pair_shares_augmentation(face_image):
    img, lm = face_image
    rng = np.random.default_rng(7)
    for _ in range(10):
        real, fake, mask = self_blend(img, lm, sample_params(rng))
        aug = sample_aug(rng)  # JPEG: block-local, so the pair's outsides stay bit-identical
        a_real, a_fake = augment_pair(real, fake, aug)
        assert np.array_equal(a_real, augment(real, aug))
        # outside the mask (plus the JPEG block / resampling reach) the augmented pair is identical
        reach = _dilate(mask, 24)
        if aug.flip:
            reach = reach[:, ::-1]
        assert np.array_equal(a_real[~reach], a_fake[~reach])


def test_augment_flip_and_jpeg_are_applied(face_image):
    img, _ = face_image
    p = AugParams(flip=True, scale=1.0, brightness=0.0, contrast=0.0, saturation=0.0, noise=0.0, noise_seed=0, jpeg=0)
    assert np.array_equal(augment(img, p), img[:, ::-1])
    q = AugParams(flip=False, scale=1.0, brightness=0.0, contrast=0.0, saturation=0.0, noise=0.0, noise_seed=0,
                  jpeg=30)
    out = augment(img, q)
    assert out.shape == img.shape and not np.array_equal(out, img)


def test_h264_intra_augmentation(face_image):
    img, _ = face_image
    base = dict(flip=False, scale=1.0, brightness=0.0, contrast=0.0, saturation=0.0, noise=0.0, noise_seed=0,
                jpeg=0)
    out = augment(img, AugParams(**base, h264=38))
    assert out.shape == img.shape and out.dtype == np.uint8
    err = np.abs(out.astype(int) - img.astype(int)).mean()
    assert 0 < err < 60


def _real_face(clip, name: str = "grace_hopper.jpg") -> tuple[np.ndarray, np.ndarray]:
    """A fetched real photo and its 468-point mesh, found as in training."""
    from export.data import find_still_faces, read_image
    from export.landmarks import MeshModel

    img = read_image(clip(name))
    face = find_still_faces(img)[0]
    landmarks, flag = MeshModel()(img, face)
    assert flag > 0.5
    return img, landmarks


def test_region_masks_stay_inside_the_face(clip):
    from export.synth import REGIONS, region_mask

    img, lm = _real_face(clip)
    face = hull_mask(img.shape[:2], lm).astype(bool)
    masks = {r: region_mask(img.shape[:2], lm, r).astype(bool) for r in REGIONS}
    axis = (lm[152] - lm[10]) / np.linalg.norm(lm[152] - lm[10])
    depth = {r: float(((np.argwhere(m)[:, ::-1] - lm[10]) @ axis).mean()) for r, m in masks.items()}
    for region, mask in masks.items():
        assert mask.sum() > 0.02 * face.sum(), region
        assert not mask[~face].any(), f"{region} mask leaves the face"
    assert masks["hull"].sum() == face.sum()
    assert depth["upper"] < depth["eyes"] < depth["nose"] < depth["mouth"] and depth["upper"] < depth["lower"]
    assert (masks["mouth"] & ~masks["lower"]).sum() < 0.2 * masks["mouth"].sum()  # the mouth is lower face
    assert masks["lower"].sum() + masks["upper"].sum() < face.sum()


def test_region_sbi_changes_only_that_region(clip):
    from dataclasses import replace

    from export.synth import region_mask

    img, lm = _real_face(clip)
    rng = np.random.default_rng(4)
    size = float((lm.max(0) - lm.min(0)).max())
    for region in ("mouth", "eyes", "lower", "upper"):
        p = replace(sample_params(rng), region=region, ratio=1.0)
        real, fake, mask = self_blend(img, lm, p)
        changed = np.abs(fake.astype(int) - real.astype(int)).sum(-1) > 0
        allowed = _dilate(region_mask(img.shape[:2], lm, region), int(0.15 * size))
        assert changed.any() and not changed[~allowed].any(), region
    assert {sample_params(np.random.default_rng(s), regions=True).region for s in range(40)} > {"hull", "mouth"}


def test_region_swap_from_another_person_stays_in_its_region(clip):
    from export.synth import region_mask

    img, lm = _real_face(clip)
    donor, donor_lm = _real_face(clip, "obama.jpg")
    for region in ("lower", "upper"):
        fake, mask = identity_swap(img, lm, donor, donor_lm, region=region)
        assert not (mask > 0)[~region_mask(img.shape[:2], lm, region).astype(bool)].any()
        outside = ~_dilate(mask, 1)
        assert np.array_equal(fake[outside], img[outside]) and (mask > 0.5).sum() > 100


def test_strong_augmentation_is_shared_by_the_pair(face_image):
    img, lm = face_image
    real, fake, _ = self_blend(img, lm, sample_params(np.random.default_rng(1)))
    rng = np.random.default_rng(7)
    draws = [sample_aug(rng, strong=True) for _ in range(60)]
    assert any(d.gamma != 1 for d in draws) and any(d.smooth > 0 for d in draws) and any(d.blur > 0 for d in draws)
    for p in draws[:12]:
        a, b = augment_pair(real, fake, p)
        same = augment(real, p)
        assert np.array_equal(a, same) and a.shape == b.shape
