"""The built wheel, installed non-editable into a fresh virtualenv (no system site-packages), runs `scan` and
`serve` from outside the checkout: pages and the default model travel as package data, every imported
dependency is declared.

Dependencies come from the package index through pip's cache (``DFS_WHEELHOUSE``, when set, is searched
first with ``--find-links``); without any index the install test skips, saying so.
"""
from __future__ import annotations

import ast
import json
import os
import shutil
import signal
import subprocess
import sys
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import pytest

from streamer.runtime.assets import asset_path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SOURCES = ["pyproject.toml", "README.md", "streamer", "export", "web", "models/default"]
NETWORK_TROUBLE = ("No matching distribution", "Could not find a version", "NewConnectionError",
                   "Temporary failure in name resolution", "Network is unreachable")
pytestmark = pytest.mark.timeout(600)


def clean_env(**extra: str) -> dict[str, str]:
    """No PYTHONPATH, no model override, no virtualenv of ours: only what the installed package brings."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DFS_MODEL_DIR", "VIRTUAL_ENV")}
    return {**env, **extra}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built from a copy of the sources, so the checkout gets no build/ or egg-info."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        target = src / name
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / name, target)
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(out), str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (built,) = out.glob("deepfake_streamer-*.whl")
    return built


def test_wheel_holds_the_pages_the_model_and_every_package(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for page in ("index.html", "replay.html", "dashboard.html", "signin.html", "app.js", "pages.js", "style.css"):
        assert f"streamer/web/{page}" in names, page
    for part in ("manifest.json", "encoder.onnx", "temporal.onnx"):
        assert f"streamer/default_model/{part}" in names, part
    assert "streamer/files/timeline.schema.json" in names and "export/train.py" in names
    assert not any(n.startswith(("tests/", "bench/")) for n in names)


def test_every_package_is_listed_in_pyproject() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for top in ("streamer", "export")
             for p in (ROOT / top).rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_every_third_party_import_is_a_declared_dependency() -> None:
    from importlib.metadata import packages_distributions

    imported = set()
    for path in (ROOT / "streamer").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"streamer"}
    declared = {d.split("=")[0].split(">")[0].split("<")[0].split("[")[0].strip().lower().replace("_", "-")
                for d in PYPROJECT["project"]["dependencies"]
                + PYPROJECT["project"]["optional-dependencies"]["cluster"]}  # ray: only behind cluster/compat.py
    dists = packages_distributions()
    missing = {m: dists.get(m) for m in third_party
               if not {d.lower().replace("_", "-") for d in dists.get(m, [m])} & declared}
    assert not missing, f"imported but not declared in pyproject dependencies: {missing}"
    assert "opencv-python" not in declared and "opencv-python-headless" not in declared  # one cv2 only


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=120)
    assert "include-system-site-packages = false" in (root / "pyvenv.cfg").read_text()
    python = root / "bin" / "python"
    args = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)]
    if os.environ.get("DFS_WHEELHOUSE"):
        args[5:5] = ["--find-links", os.environ["DFS_WHEELHOUSE"]]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=540, env=clean_env())
    if proc.returncode != 0 and any(s in proc.stderr for s in NETWORK_TROUBLE):
        pytest.skip(f"the dependencies cannot be downloaded here: {proc.stderr.strip()[-300:]}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root


def test_installed_package_comes_from_the_venv(venv: Path, tmp_path: Path) -> None:
    proc = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import streamer, export, cv2; print(streamer.__file__)"],
                          cwd=tmp_path, capture_output=True, text=True, env=clean_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).is_relative_to(venv), proc.stdout
    version = subprocess.run([str(venv / "bin" / "deepfake-streamer"), "--version"], capture_output=True, text=True,
                             env=clean_env(), timeout=60)
    assert version.stdout.strip() == f"deepfake-streamer {PYPROJECT['project']['version']}"


def test_installed_scan_uses_the_packaged_model(venv: Path, tmp_path: Path) -> None:
    out = tmp_path / "timeline.json"
    proc = subprocess.run([str(venv / "bin" / "deepfake-streamer"), "scan", str(asset_path("single_face.mp4")),
                           "--json", str(out), "--quiet"], cwd=tmp_path, capture_output=True, text=True,
                          env=clean_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    timeline = json.loads(out.read_text())
    shipped = json.loads((ROOT / "models" / "default" / "manifest.json").read_text())
    assert timeline["model"]["version"] == shipped["version"] and timeline["tracks"]


def test_installed_serve_answers_with_its_pages(venv: Path, tmp_path: Path) -> None:
    proc = subprocess.Popen([str(venv / "bin" / "deepfake-streamer"), "serve", "--port", "0", "--data-dir",
                             str(tmp_path / "data")], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=clean_env())
    try:
        line = proc.stdout.readline()
        assert "http://localhost:" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
        base = "http://127.0.0.1:" + line.split("localhost:")[1].split("/")[0]
        for path, marker in (("/", "/static/app.js"), ("/replay", "replay.js"), ("/dashboard", "dashboard.js"),
                             ("/static/pages.js", "export")):
            with urllib.request.urlopen(base + path, timeout=30) as resp:
                assert resp.status == 200 and marker in resp.read().decode(), path
        with urllib.request.urlopen(base + "/api/config", timeout=30) as resp:
            model = json.loads(resp.read())["model"]
        assert model["version"] == json.loads((ROOT / "models/default/manifest.json").read_text())["version"]
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-3000:]
