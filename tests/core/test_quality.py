"""The face-quality gate on real photos made too small, too blurred, too dark or blown out."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from streamer.core.analyzer import Analyzer
from streamer.core.faces import Face, FaceDetector
from streamer.core.quality import (EXTREME_POSE, LOW_CONFIDENCE, OVEREXPOSED, TOO_BLURRED, TOO_DARK, TOO_SMALL,
                              QualityConfig, assess)
from streamer.media.video import Frame

from tests.core.encoder_spy import spy_on_encoder


def photo(clip, name: str = "obama.jpg") -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(clip(name))), cv2.COLOR_BGR2RGB)


def face_of(image: np.ndarray) -> Face:
    with FaceDetector() as det:
        faces = det.detect(image, 0.0)
    assert faces, "the detector must still find the face"
    return faces[0]


def test_a_clean_portrait_passes(clip):
    image = photo(clip)
    q = assess(image, face_of(image))
    assert q.ok and q.eye_px > 60 and q.reason is None


@pytest.mark.parametrize("name", ["obama.jpg", "biden.jpg"])
def test_a_tiny_face_is_too_small(clip, name):
    image = photo(clip, name)
    tiny = cv2.resize(image, None, fx=0.05, fy=0.05, interpolation=cv2.INTER_AREA)
    q = assess(tiny, face_of(tiny))
    assert q.reason == TOO_SMALL and q.eye_px < QualityConfig().min_eye_px


@pytest.mark.parametrize("name,sigma", [("obama.jpg", 0.05), ("biden.jpg", 0.04)])
def test_a_blurred_face_is_too_blurred(clip, name, sigma):
    image = photo(clip, name)
    face = face_of(image)
    width = float(face.box[2] - face.box[0])
    blurred = cv2.GaussianBlur(image, (0, 0), sigma * width)  # sigma in face widths
    q = assess(blurred, face_of(blurred))
    assert q.reason == TOO_BLURRED
    assert assess(image, face).sharpness > 10 * q.sharpness


def test_a_dark_frame_is_too_dark_and_a_blown_out_one_overexposed(clip):
    image = photo(clip)
    dark = (image * 0.12).astype(np.uint8)
    assert assess(dark, face_of(dark)).reason == TOO_DARK
    bright = np.clip(image.astype(np.int32) * 2.4, 0, 255).astype(np.uint8)
    assert assess(bright, face_of(bright)).reason == OVEREXPOSED


def test_pose_and_confidence_from_the_detection(clip):
    image = photo(clip)
    face = face_of(image)
    turned = Face(face.box, face.keypoints.copy(), face.score)
    eye_dist = float(np.linalg.norm(face.keypoints[1] - face.keypoints[0]))
    turned.keypoints[2, 0] += 0.8 * eye_dist  # the nose far off the eye midline: a head turned away
    assert assess(image, turned).reason == EXTREME_POSE
    assert assess(image, Face(face.box, face.keypoints, 0.5)).reason == LOW_CONFIDENCE
    assert assess(image, turned, QualityConfig(enabled=False)).ok


def test_refused_faces_get_no_score_no_model_call_and_a_not_scored_track(random_model, clip):
    tiny = cv2.resize(photo(clip), None, fx=0.05, fy=0.05, interpolation=cv2.INTER_AREA)
    analyzer = Analyzer(random_model)
    calls = spy_on_encoder(analyzer, random_model)
    try:
        results = [analyzer.process(Frame(tiny, i / 25, i)) for i in range(12)]
        tracks = analyzer.finish()
    finally:
        analyzer.close()
    faces = [f for r in results for f in r.faces]
    assert len(faces) == 12 and not calls
    assert all(f.verdict == "not_scored" and f.reason == TOO_SMALL and f.score is None for f in faces)
    assert faces[0].to_dict()["reason"] == TOO_SMALL
    assert len(tracks) == 1 and tracks[0].verdict == "not_scored" and tracks[0].not_scored == 12
    assert tracks[0].reason == TOO_SMALL and tracks[0].frames == 0 and tracks[0].mean_score is None


def test_not_scored_faces_in_the_timeline_json_and_csv(random_model, clip, tmp_path):
    import csv

    import jsonschema

    from streamer.files import timeline
    from streamer.media.video import VideoInfo

    tiny = cv2.resize(photo(clip), None, fx=0.05, fy=0.05, interpolation=cv2.INTER_AREA)
    analyzer = Analyzer(random_model)
    try:
        frames = [analyzer.process(Frame(tiny, i / 25, i)) for i in range(4)]
        tracks = analyzer.finish()
    finally:
        analyzer.close()
    info = VideoInfo(tiny.shape[1], tiny.shape[0], 25.0, 0.16, 4)
    result = timeline.build("tiny.jpg", info, random_model.manifest, frames, tracks, None)
    jsonschema.validate(result, timeline.schema())
    assert timeline.summary(result) == {"verdict": "not_scored", "tracks": 1, "max_score": None,
                                        "reasons": [TOO_SMALL]}
    timeline.write_csv(result, tmp_path / "t.csv")
    rows = list(csv.DictReader((tmp_path / "t.csv").open()))
    assert len(rows) == 4 and rows[0]["verdict"] == "not_scored" and rows[0]["reason"] == TOO_SMALL
    assert rows[0]["score"] == ""
    broken = result["frames"][0]["faces"][0] | {"reason": None}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(result | {"frames": [{"pts": 0.0, "frame_index": 0, "faces": [broken]}]},
                            timeline.schema())
