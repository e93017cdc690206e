import csv
import json
import os
import subprocess
import sys

import jsonschema
import pytest

from streamer.files.timeline import schema

from tests.footage import audio_only, tiny_video, truncated


def scan(*args, model_dir=None, cwd=None):
    env = dict(os.environ)
    env.pop("DFS_MODEL_DIR", None)
    if model_dir:
        env["DFS_MODEL_DIR"] = str(model_dir)
    return subprocess.run([sys.executable, "-m", "streamer.cli", "scan", *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_scan_writes_a_valid_timeline_and_a_summary(random_model_dir, clip, tmp_path):
    out_json, out_csv = tmp_path / "t.json", tmp_path / "t.csv"
    proc = scan(clip("single_face.mp4"), "--json", out_json, "--csv", out_csv, model_dir=random_model_dir)
    assert proc.returncode == 0, proc.stderr
    assert "track" in proc.stdout and "verdict" in proc.stdout
    assert "single_face.mp4" in proc.stderr and "72 frames" in proc.stderr  # the progress bar
    timeline = json.loads(out_json.read_text())
    jsonschema.validate(timeline, schema())
    assert len(timeline["frames"]) == 72 and len(timeline["tracks"]) == 1
    pts = [f["pts"] for f in timeline["frames"]]
    assert pts == sorted(pts) and len(set(pts)) == len(pts)
    rows = list(csv.DictReader(out_csv.open()))
    assert len(rows) == 72 and rows[10]["track_id"] == "1"
    assert float(rows[10]["score"]) == timeline["frames"][10]["faces"][0]["score"]
    faces = [f["faces"][0] for f in timeline["frames"]]
    assert all(f["score"] is not None for f in faces)  # every frame holds a score, carried ones marked
    assert 0 < sum(f.get("carried", False) for f in faces) < 72
    assert [r["carried"] for r in rows] == [str(int(f.get("carried", False))) for f in faces]


def test_every_frame_option_encodes_every_frame(random_model_dir, clip, tmp_path):
    out = tmp_path / "t.json"
    proc = scan(clip("single_face.mp4"), "--every-frame", "--json", out, "--quiet", model_dir=random_model_dir)
    assert proc.returncode == 0, proc.stderr
    faces = [f["faces"][0] for f in json.loads(out.read_text())["frames"]]
    assert len(faces) == 72 and not any("carried" in f for f in faces)


def test_fps_option_limits_the_analysed_frames(random_model_dir, clip, tmp_path):
    out = tmp_path / "t.json"
    assert scan(clip("single_face.mp4"), "--fps", "10", "--json", out, "--quiet", model_dir=random_model_dir).returncode == 0
    timeline = json.loads(out.read_text())
    assert 23 <= len(timeline["frames"]) <= 25 and timeline["video"]["analysed_fps"] == 10


BAD_FILES = {
    "empty.mp4": lambda p: p.write_bytes(b""),
    "text.mp4": lambda p: p.write_text("definitely not a video\n" * 50),
    "audio.mp4": audio_only,
    "one_pixel.mkv": tiny_video,
    "truncated.mp4": lambda p: truncated(p, "single_face.mp4"),
    "truncated_faststart.mp4": lambda p: truncated(p, "WolfgangLanger_Pexels.mp4"),
}


@pytest.mark.parametrize("name", [*BAD_FILES, "missing.mp4"])
def test_bad_files_exit_non_zero_with_one_clear_line(random_model_dir, tmp_path, name):
    path = tmp_path / name
    if name in BAD_FILES:
        BAD_FILES[name](path)
    proc = scan(path, "--quiet", model_dir=random_model_dir)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and name in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_refuses_to_run_without_a_model(clip, tmp_path):
    proc = scan(clip("single_face.mp4"), "--model", tmp_path / "no-model")
    assert proc.returncode != 0
    assert "no model at" in proc.stderr and "export.train" in proc.stderr


def test_bad_option_values_are_usage_errors(random_model_dir, clip):
    proc = scan(clip("single_face.mp4"), "--fps", "0", model_dir=random_model_dir)
    assert proc.returncode == 2 and "must be > 0" in proc.stderr


@pytest.mark.parametrize("command, calls", [("serve", ["pin", "load"]), ("monitor", ["pin", "load"]),
                                            ("scan", ["load"])])
def test_long_running_commands_pin_the_heap_before_the_model_loads(monkeypatch, clip, tmp_path, command, calls):
    import streamer.cli.entry as cli
    import streamer.runtime.memory as memory
    import streamer.core.model_dir as model_dir
    from streamer.core.model import ModelError

    seen: list[str] = []

    def load_model(*_args, **_kwargs):
        seen.append("load")
        raise ModelError("stop here")

    monkeypatch.setattr(memory, "pin_mmap_threshold", lambda size=None: seen.append("pin") or True)
    monkeypatch.setattr(cli, "load_model", load_model)
    monkeypatch.setattr(model_dir, "load_model", load_model)
    argv = {"serve": ["serve", "--data-dir", str(tmp_path)], "monitor": ["monitor", "rtsp://127.0.0.1:1/x"],
            "scan": ["scan", str(clip("single_face.mp4")), "--quiet"]}[command]
    assert cli.main(argv) == 2
    assert seen == calls


def test_summary_shows_the_threshold_and_the_bar_has_no_double_comma(random_model_dir, clip, tmp_path):
    import io

    from streamer.cli.scan import progress_bar

    proc = scan(clip("single_face.mp4"), model_dir=random_model_dir)
    assert proc.returncode == 0, proc.stderr
    threshold = json.loads((random_model_dir / "manifest.json").read_text())["threshold"]
    assert f"threshold {threshold:.3f}" in proc.stdout
    assert ", ," not in proc.stderr and "frames]" in proc.stderr
    out = io.StringIO()
    with progress_bar("clip.mp4", 10.0, False, file=out) as bar:
        bar.n = 5
        bar.set_postfix_str("12 frames", refresh=False)
        bar.refresh()
    assert ", 12 frames]" in out.getvalue() and ", ," not in out.getvalue()


@pytest.mark.parametrize("option", ["--json", "--csv"])
def test_output_paths_are_checked_before_the_scan(random_model_dir, clip, tmp_path, option):
    for bad, why in ((tmp_path / "missing" / "t.json", "does not exist"), (tmp_path, "is a folder")):
        proc = scan(clip("WolfgangLanger_Pexels.mp4"), option, bad, model_dir=random_model_dir)
        assert proc.returncode == 2 and why in proc.stderr and "Traceback" not in proc.stderr
        assert "frames" not in proc.stderr  # refused before any frame was analysed
