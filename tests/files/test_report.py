import base64
import hashlib
import json
import re

import cv2
import numpy as np

from streamer.cli import DEFAULT_MODEL_DIR
from streamer.files.report import render

from tests.cli.test_scan import scan


def images_of(page: str) -> list[np.ndarray]:
    out = []
    for data in re.findall(r'src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"', page):
        img = cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_COLOR)
        assert img is not None and img.shape[0] > 16
        out.append(img)
    return out


def assert_self_contained(page: str) -> None:
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert re.findall(r'(?:src|href)="(?!data:)', page) == []


def test_report_of_a_video_is_self_contained_and_complete(clip, tmp_path):
    video = clip("carphone_pristine.mp4")
    out, js = tmp_path / "report.html", tmp_path / "t.json"
    proc = scan(video, "--report", out, "--json", js, "--quiet", model_dir=DEFAULT_MODEL_DIR)
    assert proc.returncode == 0, proc.stderr
    page, timeline = out.read_text(), json.loads(js.read_text())
    assert_self_contained(page)
    assert hashlib.sha256(video.read_bytes()).hexdigest() in page
    assert f"{video.stat().st_size:,} bytes" in page and "4.00 s" in page
    model = timeline["model"]
    assert f"{model['name']} version {model['version']}" in page and f"{model['threshold']:.4f}" in page
    assert page.count("<polyline") >= len(timeline["tracks"]) >= 1
    assert "non-commercial" in page and "not use the verdicts as evidence" in page  # the model card
    crops = images_of(page)
    assert 1 <= len(crops) <= 6
    top = max(f["score"] for fr in timeline["frames"] for f in fr["faces"])
    assert f"<b>{top:.3f}</b>" in page  # the worst moment first, with its score


def test_report_of_a_photo_batch_has_a_section_and_a_crop_per_face(random_model_dir, clip, tmp_path):
    out = tmp_path / "photos.html"
    proc = scan(clip("biden.jpg"), clip("zidane.jpg"), "--report", out, "--quiet", model_dir=random_model_dir)
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    assert_self_contained(page)
    assert page.count("<section>") == 2 and "2 files" in page
    # one face in biden.jpg, two in zidane.jpg, of which the quality gate refuses the one in profile
    assert len(images_of(page)) == 2 and "extreme_pose: 1 face(s) not scored" in page
    assert "frame score: a photo has no temporal window" in page
    assert "It is not proof" in page  # no model card beside a random model: the plain fallback statement


def test_quality_gate_reasons_are_listed_when_the_timeline_has_them(random_model_dir, clip, tmp_path):
    js = tmp_path / "t.json"
    assert scan(clip("zidane.jpg"), "--json", js, "--quiet", model_dir=random_model_dir).returncode == 0
    timeline = json.loads(js.read_text())
    faces = timeline["frames"][0]["faces"]
    assert [f["verdict"] for f in faces].count("not_scored") == 1  # the face in profile
    refused = next(f for f in faces if f["verdict"] == "not_scored")
    faces.append({**refused, "track_id": 3, "reason": "too_small"})
    page = render([(timeline, clip("zidane.jpg"), "zidane.jpg")])
    assert "Quality gate" in page and "too_small: 1 face(s) not scored" in page
    assert "extreme_pose: 1 face(s) not scored" in page
    timeline["source"] = "gone.jpg"
    page = render([(timeline, tmp_path / "gone.jpg", "gone.jpg")])
    assert "file not available" in page and "crop unavailable" in page


def test_the_worst_moments_found_by_seeking_are_the_frames_a_scan_decodes(clip):
    from streamer.files.report import decode_frames, seek_frames
    from streamer.media.video import file_frames

    for name in ("WolfgangLanger_Pexels.mp4", "carphone_pristine.mp4", "face_noface.mov"):
        path = clip(name)
        times = {f.index: round(f.pts, 4) for f in file_frames(path)}
        wanted = {i: times[i] for i in (0, len(times) // 3, len(times) // 2 + 1, len(times) - 1)}
        sought, decoded = seek_frames(path, wanted), decode_frames(path, set(wanted))
        assert sorted(sought) == sorted(decoded) == sorted(wanted), name
        for i in wanted:
            assert np.array_equal(sought[i], decoded[i]), (name, i)
