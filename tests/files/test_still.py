import json
import re
import shutil

import jsonschema
import pytest

from streamer.cli import DEFAULT_MODEL_DIR
from streamer.core.model import Manifest
from streamer.files.still import still_verdict
from streamer.files.timeline import schema

from tests.footage import write_video, read_frames
from tests.cli.test_scan import scan
from tests.media.test_images import png_declaring


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
    report = tmp_path / "all.html"
    proc = scan(folder, "--json", out, "--csv", csv_out, "--report", report, model_dir=random_model_dir)
    assert proc.returncode == 1  # one file failed
    lines = proc.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["file", "face"] and lines[-1].startswith("4 files:")
    assert "1 failed" in lines[-1]
    bomb = next(line for line in lines if line.startswith("bomb.png"))
    assert "megapixels" in bomb and str(folder) not in bomb
    assert sum(line.startswith("zidane.jpg") for line in lines) == 2
    assert any(line.startswith("talk.mp4") for line in lines)
    assert proc.stderr.count("4/4") >= 1 and "file" in proc.stderr  # one bar over the files
    listed = json.loads(out.read_text())  # every file, the failed one with its error
    names = ["astronaut.png", "bomb.png", "talk.mp4", "zidane.jpg"]
    assert [t["source"].rsplit("/", 1)[-1] for t in listed] == names
    failed = listed[1]
    assert set(failed) == {"source", "error"} and "megapixels" in failed["error"] and str(folder) not in failed["error"]
    for t in listed[:1] + listed[2:]:
        jsonschema.validate(t, schema())
    page = report.read_text()
    assert all(f"<h2>{name}</h2>" in page for name in names)
    bomb_section = page.split("<h2>bomb.png</h2>", 1)[1].split("</section>", 1)[0]
    assert "could not be scanned" in bomb_section and "megapixels" in bomb_section
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


def tight_crops(photo, out_dir) -> list:
    """224x224 crops cut to each face's detector box (an ID photo, a profile picture), saved as PNG."""
    import cv2

    from streamer.core.faces import FaceDetector
    from streamer.media.images import read_image

    image = read_image(photo)
    paths = []
    with FaceDetector(still=True, max_faces=32) as detector:
        for i, face in enumerate(detector.detect(image, 0.0)):
            x0, y0, x1, y1 = face.box
            side, cx, cy = max(x1 - x0, y1 - y0), (x0 + x1) / 2, (y0 + y1) / 2
            crop = image[int(max(0, cy - side / 2)):int(cy + side / 2), int(max(0, cx - side / 2)):int(cx + side / 2)]
            path = out_dir / f"crop{i}.png"
            cv2.imwrite(str(path), cv2.cvtColor(cv2.resize(crop, (224, 224), interpolation=cv2.INTER_AREA),
                                                cv2.COLOR_RGB2BGR))
            paths.append(path)
    return paths


def test_a_tight_face_crop_is_retried_padded_and_the_timeline_says_so(random_model_dir, clip, tmp_path):
    from streamer.core.faces import FaceDetector
    from streamer.media.images import read_image
    from streamer.core.model import Model
    from streamer.files.scan import scan_file

    model = Model(random_model_dir)
    crops = tight_crops(clip("zidane.jpg"), tmp_path)
    with FaceDetector(still=True, max_faces=32) as detector:
        bare = {p: len(detector.detect(read_image(p), 0.0)) for p in crops}
    needing = [p for p, n in bare.items() if n == 0]
    assert needing, bare  # at least one crop has no face as it is: the case the retry is for
    for path in crops:
        result = scan_file(path, model)
        jsonschema.validate(result, schema())
        assert result["tracks"], path  # every crop yields its face
        assert ("padded" in result["video"]) == (path in needing)
        for face in result["frames"][0]["faces"]:
            x0, y0, x1, y1 = face["box"]
            assert 0 <= x0 < x1 <= 224 and 0 <= y0 < y1 <= 224  # in the photo's own pixels
    proc = scan(needing[0], "--quiet", model_dir=random_model_dir)
    assert proc.returncode == 0 and "note: no face in the photo as it is" in proc.stdout, proc.stdout


RSS_PROBE = """
import resource, sys
from pathlib import Path
from streamer.core.model import Model
from streamer.files.scan import scan_file
model = Model(Path(sys.argv[1]))
scan_file(Path(sys.argv[3]), model)  # detector and model loaded, on a small photo
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = scan_file(Path(sys.argv[2]), model)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(after - before, result["video"]["width"], result["video"]["height"], result["video"].get("analysed_scale"))
"""


@pytest.mark.timeout(600)
def test_a_49_megapixel_png_stays_within_the_still_memory_bound(random_model_dir, clip, tmp_path):
    """Extra peak RSS of scanning a 49-MP PNG, in a fresh process: at most 4 bytes per photo pixel (the full
    decode) + 48 MB (the analysed 12-MP copy and slack), where analysing it whole took about 9 bytes."""
    import subprocess
    import sys

    import cv2

    from streamer.media.images import MAX_ANALYSED_PIXELS

    width, height = 8100, 6050
    big = tmp_path / "big.png"
    photo = cv2.imread(str(clip("single_face.jpg")))
    cv2.imwrite(str(big), cv2.resize(photo, (width, height), interpolation=cv2.INTER_LINEAR),
                [cv2.IMWRITE_PNG_COMPRESSION, 1])
    proc = subprocess.run([sys.executable, "-c", RSS_PROBE, str(random_model_dir), str(big),
                           str(clip("single_face.jpg"))], capture_output=True, text=True, timeout=540)
    assert proc.returncode == 0, proc.stderr[-2000:]
    extra_kb, seen_w, seen_h, scale = proc.stdout.split()
    assert (int(seen_w), int(seen_h)) == (width, height)  # the timeline keeps the photo's own size
    assert float(scale) * width * float(scale) * height <= MAX_ANALYSED_PIXELS
    bound_mb = 4 * width * height / 2**20 + 48
    assert int(extra_kb) / 1024 <= bound_mb, (int(extra_kb) / 1024, bound_mb)
