#!/usr/bin/env bash
# The GPU path, measured on the `device` machine (an NVIDIA H200 lent to some tasks): encoder ms per crop
# at batch 1/8/32 on CUDA, a file scan, and live streams held with the inference on the GPU.
#
# That machine has Python 3.12 with CUDA 13 and PyTorch, but no onnxruntime-gpu, PyAV or MediaPipe, no
# network, and none of our fetched assets; a call carries at most 64 MiB. So, in three steps:
#
#   1. here (network):  bench/gpu.sh prepare
#        downloads the cp312 wheels the device lacks into .whl/ (git-ignored), splits any wheel over
#        60 MiB into .whl-N/ parts, and copies the assets into .dfs-cache/ (git-ignored). It prints the
#        carry lists of the calls to make.
#   2. device, one call per part it printed (each quick, on the warm machine):
#        run(command="bash bench/gpu.sh stage N", carry=[".whl-N"])
#        moves the part into .whl-store/, an ignored folder the warm machine keeps between calls.
#   3. device, one call:  run(command="bash bench/gpu.sh run", carry=[".whl", ".dfs-cache"], timeout_s=540)
#        installs the wheels into /tmp/site, then prints: the CUDA provider check, ms per crop at batch
#        1/8/32 (CUDA, then CPU for the ratio), a scan of the 2-minute file, and bench/streams.py with the
#        model on the GPU (skipped, saying why, when the machine lacks Debian's gst-rtsp-server).
#
# Not run in the session that wrote it (no GPU was lent): the risks are named where they are checked
# (onnxruntime-gpu built for another CUDA major version than the device's, a part left out).
set -euo pipefail
cd "$(dirname "$0")/.."
ORT_GPU=${ORT_GPU:-onnxruntime-gpu==1.31.1}
WHEELS=("$ORT_GPU" "av==19.0.2" "mediapipe==1.2.2" "sounddevice" "cffi" "pycparser" "opencv-contrib-python" "coloredlogs" "humanfriendly")
PART=$((60 * 1024 * 1024))

prepare() {
    grep -qxF '/.whl*/' "$(git rev-parse --git-path info/exclude)" 2>/dev/null || printf '/.whl*/\n/.dfs-cache/\n' >> "$(git rev-parse --git-path info/exclude)"
    rm -rf .whl .whl-* .dfs-cache && mkdir -p .whl .dfs-cache/assets .dfs-cache/bench
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d .whl "${WHEELS[@]}"
    local n=0
    for whl in .whl/*.whl; do
        if [ "$(stat -c %s "$whl")" -gt "$PART" ]; then
            split -b "$PART" -d "$whl" "$whl.part-" && rm "$whl"
            for part in "$whl".part-*; do n=$((n + 1)); mkdir -p ".whl-$n"; mv "$part" ".whl-$n/"; done
        fi
    done
    PYTHONPATH=$PWD python3 - <<'PY'
import shutil, sys
sys.path.insert(0, "bench")
from streamer.runtime.assets import DETECTOR_MODEL, asset_path
from compose import long_file
from live_streams import bench_clip
for name in (DETECTOR_MODEL, "WolfgangLanger_Pexels.mp4"):
    shutil.copy(asset_path(name), ".dfs-cache/assets/")
for path in (long_file(), bench_clip()):
    shutil.copy(path, ".dfs-cache/bench/")
PY
    du -sh .whl .dfs-cache .whl-* 2>/dev/null || true
    for i in $(seq 1 "$n"); do echo "call $i: run(command=\"bash bench/gpu.sh stage $i\", carry=[\".whl-$i\"])"; done
    echo "then: run(command=\"bash bench/gpu.sh run\", carry=[\".whl\", \".dfs-cache\"], timeout_s=540)"
}

stage() {
    mkdir -p .whl-store && mv ".whl-$1"/* .whl-store/ && ls -la .whl-store
}

install() {
    mkdir -p /tmp/wheels && cp .whl/*.whl /tmp/wheels/
    if compgen -G ".whl-store/*.part-*" > /dev/null; then
        for first in .whl-store/*.part-00; do
            whl=$(basename "${first%.part-00}")
            cat ".whl-store/$whl".part-* > "/tmp/wheels/$whl"
        done
    fi
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site /tmp/wheels/*.whl
    export PYTHONPATH=/tmp/site:$PWD
}

run() {
    install
    export DFS_CACHE=$PWD/.dfs-cache PYTHONUNBUFFERED=1
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
    python3 - <<'PY'
import onnxruntime as ort
print("onnxruntime", ort.__version__, ort.get_available_providers())
assert "CUDAExecutionProvider" in ort.get_available_providers(), "this onnxruntime has no CUDA provider"
PY
    echo "== encoder ms per crop"
    # a CUDA provider that cannot load its libraries (built for another CUDA major version) fails here, by name
    python3 bench/model_speed.py --provider cuda --batch 1,8,32 --runs 400
    python3 bench/model_speed.py --provider cpu --batch 1,8,32 --runs 100
    echo "== file scan (inference on the GPU: streamer.core.model picks CUDA when onnxruntime-gpu sees one)"
    python3 -m streamer.cli scan ".dfs-cache/bench/composed-120s-v1.mp4" --workers 8 --quiet
    python3 bench/scan_speed.py --clip ".dfs-cache/bench/composed-120s-v1.mp4" --repeat 1 --workers 8
    echo "== live streams with the inference on the GPU"
    if /usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer', '1.0')" 2>/dev/null; then
        python3 bench/streams.py --probe 10 --hold 30 --start 8 --max 64
    else
        echo "skipped: Debian's gst-rtsp-server (python3-gi, gir1.2-gst-rtsp-server-1.0) is not on this machine"
    fi
}

case "${1:-}" in
    prepare) prepare ;;
    stage) stage "$2" ;;
    run) run ;;
    *) echo "usage: bench/gpu.sh prepare | stage N | run" >&2; exit 2 ;;
esac
