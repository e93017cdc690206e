"""Archive scans on a local two-node Ray cluster: segments on both nodes, the timeline of a whole-file scan."""
from __future__ import annotations

import json
from pathlib import Path
import os
import shutil
import subprocess
import sys

import pytest

from streamer.cli import DEFAULT_MODEL_DIR
from streamer.cluster.scans import RayScans
from streamer.core.model import Model
from streamer.files.scan import scan_file
from streamer.files.segments import TOLERANCE, scan_parallel
from streamer.media.video import MediaError

from tests.files.segments.test_parallel_scan import compare


@pytest.fixture(scope="module")
def ray_scans(cluster):
    scans = RayScans(cluster.address, DEFAULT_MODEL_DIR)
    yield scans
    scans.close()


def test_segments_run_on_both_nodes_and_stitch_to_the_whole_file_scan(cluster, ray_scans, clip):
    model = Model(DEFAULT_MODEL_DIR)
    path = clip("WolfgangLanger_Pexels.mp4")
    nodes: set[str] = set()

    def run(p, segments, progress):
        parts = ray_scans.run(p, segments, progress)
        nodes.update(part.node for part in parts)
        return parts

    assert ray_scans.parts == 2
    seen = []
    parts = scan_parallel(path, model, run, 3, None, lambda s, n: seen.append(n), every_frame=True)
    assert len(nodes) == 2
    assert compare(scan_file(path, model, every_frame=True), parts) <= TOLERANCE
    assert seen[-1] == 472


def test_a_bad_file_fails_with_the_media_error(ray_scans, clip, tmp_path):
    model = Model(DEFAULT_MODEL_DIR)
    path = tmp_path / "gone.mp4"
    shutil.copy(clip("WolfgangLanger_Pexels.mp4"), path)
    from streamer.files.segments import split

    segments = split(path, 2)
    path.write_bytes(b"\x00" * 100)  # replaced after planning: the nodes find it unreadable
    with pytest.raises(MediaError):
        ray_scans.run(path, segments, None)
    assert model.manifest.window > 0


def test_scan_ray_cli_gives_one_summary_for_a_folder(cluster, clip, tmp_path):
    folder = tmp_path / "archive"
    folder.mkdir()
    for name in ("WolfgangLanger_Pexels.mp4", "single_face.mp4", "no_face.mp4"):
        shutil.copy(clip(name), folder / name)
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    proc = subprocess.run([sys.executable, "-m", "streamer.cli", "scan", str(folder), "--ray", cluster.address,
                           "--json", str(tmp_path / "out.json"), "--quiet"], capture_output=True, text=True, env=env,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "3 files: 2 real, 1 no faces"
    timelines = {Path(t["source"]).name: t for t in json.loads((tmp_path / "out.json").read_text())}
    talk = timelines["WolfgangLanger_Pexels.mp4"]
    assert len(talk["frames"]) == 472 and [t["track_id"] for t in talk["tracks"]] == [1]


def test_the_board_ignores_late_reports_of_an_ended_job():
    """A failed job's other segments are left to finish (not cancelled): their reports must not bring it back."""
    from streamer.cluster.scans import _Board

    board = _Board()
    board.report(1, 0, 2.0, 48)
    board.report(2, 0, 1.0, 24)
    board.forget(1)
    board.report(1, 1, 3.0, 72)  # a segment of job 1 still running when the job failed
    assert board.snapshot(1) == {} and board.snapshot(2) == {0: (1.0, 24)}
