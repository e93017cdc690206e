import cv2
import numpy as np

from streamer.core.faces import align_crop, crop_transform
from streamer.core.faces.align import LEFT_EYE, MOUTH, RIGHT_EYE


def synthetic_face(angle_deg: float):
    """Keypoints of an upright face rotated by ``angle_deg`` about (200, 200)."""
    upright = np.array([[170, 180], [230, 180], [200, 210], [200, 240], [140, 190], [260, 190]], np.float64)
    m = cv2.getRotationMatrix2D((200, 200), angle_deg, 1.0)
    kps = np.c_[upright, np.ones(6)] @ m.T
    return kps, np.array([140, 140, 260, 260], np.float64)


def test_eye_line_is_horizontal_after_alignment():
    for angle in (-30, -5, 0, 12, 40):
        kps, box = synthetic_face(angle)
        m = crop_transform(kps, box, 128)
        mapped = np.c_[kps, np.ones(6)] @ m.T
        assert abs(mapped[RIGHT_EYE, 1] - mapped[LEFT_EYE, 1]) < 1e-6
        assert mapped[RIGHT_EYE, 0] < mapped[LEFT_EYE, 0]
        assert mapped[MOUTH, 1] > mapped[RIGHT_EYE, 1]


def test_crop_is_centred_and_scaled_by_margin():
    kps, box = synthetic_face(0)
    m = crop_transform(kps, box, 100, margin=0.25)
    mapped = np.c_[kps, np.ones(6)] @ m.T
    centre = ((mapped[RIGHT_EYE] + mapped[LEFT_EYE]) / 2 + mapped[MOUTH]) / 2
    assert np.allclose(centre, [50, 50])
    eye_distance = np.linalg.norm(mapped[LEFT_EYE] - mapped[RIGHT_EYE])
    assert np.isclose(eye_distance, 60 * 100 / (120 * 1.5))


def test_align_crop_shape_and_content():
    image = np.zeros((400, 400, 3), np.uint8)
    image[180:240, 170:230] = 255
    kps, box = synthetic_face(0)
    crop = align_crop(image, kps, box, 64)
    assert crop.shape == (64, 64, 3) and crop.dtype == np.uint8
    assert crop[32, 32].min() == 255 and crop[2, 2].max() == 0
