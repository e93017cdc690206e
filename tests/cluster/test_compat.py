from __future__ import annotations

import subprocess
import sys

import pytest

from streamer.cluster import compat


def test_the_ray_version_this_code_was_written_against():
    import ray

    assert ray.__version__ == compat.RAY_VERSION  # an upgrade: re-check compat.py (addresses, cluster_utils)


@pytest.mark.parametrize("command", ["scan", "serve", "monitor"])
def test_without_ray_the_cluster_features_say_how_to_install_the_extra(clip, random_model_dir, tmp_path, command):
    argv = {"scan": ["scan", str(clip("single_face.mp4"))], "serve": ["serve", "--data-dir", str(tmp_path)],
            "monitor": ["monitor", "rtsp://127.0.0.1:9/x"]}[command]
    code = ("import sys; sys.modules['ray'] = None; from streamer.cli import main; "
            f"sys.exit(main({argv + ['--ray', 'auto', '--model', str(random_model_dir)]!r}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Ray is not installed" in proc.stderr and "pip install 'deepfake-streamer[cluster]'" in proc.stderr
