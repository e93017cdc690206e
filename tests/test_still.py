import json
import re
import shutil

import jsonschema
import pytest

from streamer.cli import DEFAULT_MODEL_DIR
from streamer.core.model import Manifest
from streamer.files.still import still_verdict
from streamer.files.timeline import schema

from .media import write_video, read_frames
from .test_cli import scan
from .test_images import png_declaring


def test_a_still_verdict_is_uncertain_only_near_the_threshold():
    m = Manifest.load(DEFAULT_MODEL_DIR)
    assert still_verdict(m.threshold + m.uncertain_margin + 0.01, m) == "fake"
    assert still_verdict(m.threshold - m.uncertain_margin - 0.01, m) == "real"
    assert still_verdict(m.threshold - m.uncertain_margin / 2, m) == "uncertain"  # just below it
    assert still_verdict(m.threshold, m) == "fake"  # at it: the threshold sets the false-positive rate


def test_scan_of_a_photo_ends_with_a_verdict_and_a_score(clip, tmp_path):
    """The shipped model on a real portrait: one face, its verdict from its frame score alone (uncertain only
    in the band just below the threshold, never for want of a window)."""
    out = tmp_path / "biden.json"
    proc = scan(clip("biden.jpg"), "--json", out)
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"verdict: (real|fake|uncertain)  score (0\.\d{3}) \(threshold (0\.\d{3})\)", last)
    assert match, proc.stdout
    timeline = json.loads(out.read_text())
    jsonschema.validate(timeline, schema())
    assert timeline["video"]["still"] is True and len(timeline["frames"]) == 1
    (face,) = timeline["frames"][0]["faces"]
    assert face["window_score"] is None and face["score"] == face["frame_score"]
    assert match[2] == f"{face['frame_score']:.3f}"
    margin, threshold = timeline["model"].get("uncertain_margin"), timeline["model"]["still_threshold"]
    if margin is None:
        from streamer.core.model import Model
        from streamer.core.model_dir import DEFAULT_MODEL_DIR

        margin = Model(DEFAULT_MODEL_DIR).manifest.uncertain_margin
    score = face["frame_score"]
    expected = "fake" if score >= threshold else "uncertain" if score >= threshold - margin else "real"
    assert match[1] == expected, (score, threshold, margin)
    assert timeline["tracks"][0]["verdict"] == face["verdict"] == match[1]


def test_a_group_photo_gets_one_row_per_face(random_model_dir, clip):
    proc = scan(clip("multi_face.jpg"), "--quiet", model_dir=random_model_dir)
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if re.match(r"\s+\d+\s", line)]
    assert len(rows) >= 4


def test_a_batch_has_one_bar_and_one_table_and_goes_on_past_a_bad_file(random_model_dir, clip, tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copy(clip("zidane.jpg"), folder / "zidane.jpg")
    shutil.copy(clip("astronaut.png"), folder / "astronaut.png")
    write_video(folder / "talk.mp4", read_frames("single_face.mp4", 20))
    (folder / "bomb.png").write_bytes(png_declaring(60000, 60000))
    (folder / "notes.txt").write_text("not media, not picked up from a folder")
    out = tmp_path / "all.json"
    csv_out = tmp_path / "all.csv"
    proc = scan(folder, "--json", out, "--csv", csv_out, model_dir=random_model_dir)
    assert proc.returncode == 1  # one file failed
    lines = proc.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["file", "face"] and lines[-1].startswith("4 files:")
    assert "1 failed" in lines[-1]
    bomb = next(line for line in lines if line.startswith("bomb.png"))
    assert "megapixels" in bomb and str(folder) not in bomb
    assert sum(line.startswith("zidane.jpg") for line in lines) == 2
    assert any(line.startswith("talk.mp4") for line in lines)
    assert proc.stderr.count("4/4") >= 1 and "file" in proc.stderr  # one bar over the files
    timelines = json.loads(out.read_text())
    assert [t["source"].rsplit("/", 1)[-1] for t in timelines] == ["astronaut.png", "talk.mp4", "zidane.jpg"]
    for t in timelines:
        jsonschema.validate(t, schema())
    header = csv_out.read_text().splitlines()[0]
    assert header.startswith("source,pts,")


@pytest.mark.parametrize("name, data, why", [("bomb.png", png_declaring(60000, 60000), "megapixels"),
                                             ("cut.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF", "not a readable JPEG")])
def test_one_bad_photo_exits_with_one_clear_line(random_model_dir, tmp_path, name, data, why):
    path = tmp_path / name
    path.write_bytes(data)
    proc = scan(path, "--quiet", model_dir=random_model_dir)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: ") and why in lines[0], proc.stderr
