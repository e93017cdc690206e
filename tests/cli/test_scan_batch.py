"""`deepfake-streamer scan` over several files and folders, with worker processes."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.cli.test_scan import scan


def test_a_folder_scans_every_video_in_it_with_one_summary(random_model_dir, clip, tmp_path):
    folder = tmp_path / "archive"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(clip("WolfgangLanger_Pexels.mp4"), folder / "talk.mp4")
    shutil.copy(clip("single_face.mp4"), folder / "sub" / "short.mp4")
    shutil.copy(clip("no_face.mp4"), folder / "sub" / "empty.mp4")
    (folder / "notes.txt").write_text("not a video")
    (folder / "broken.mp4").write_bytes(b"\x00" * 1000)
    out = tmp_path / "all.json"
    proc = scan(folder, "--workers", "2", "--json", out, "--quiet", model_dir=random_model_dir)
    assert proc.returncode == 1, proc.stderr  # one file failed; the others were still scanned
    rows = proc.stdout.strip().splitlines()
    assert any(row.startswith("broken.mp4") and "error:" in row for row in rows)
    assert rows[-1].startswith("4 files:") and "1 failed" in rows[-1] and "1 no faces" in rows[-1]
    timelines = {Path(t["source"]).name: t for t in json.loads(out.read_text())}
    assert sorted(timelines) == ["broken.mp4", "empty.mp4", "short.mp4", "talk.mp4"]
    assert set(timelines["broken.mp4"]) == {"source", "error"}  # listed with its error (issue 19)
    talk = timelines["talk.mp4"]
    assert len(talk["frames"]) == 472 and talk["tracks"][0]["frames"] == 472


def test_an_empty_folder_is_an_error(random_model_dir, tmp_path):
    proc = scan(tmp_path, "--quiet", model_dir=random_model_dir)
    assert proc.returncode == 2 and "no photos or videos in this folder" in proc.stderr


def test_workers_must_be_positive(random_model_dir, clip):
    proc = scan(clip("single_face.mp4"), "--workers", "0", model_dir=random_model_dir)
    assert proc.returncode == 2 and "--workers" in proc.stderr
