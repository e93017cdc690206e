#!/usr/bin/env bash
# The GPU path, measured on the `device` machine (an NVIDIA H200 lent to some tasks): encoder ms per crop at
# batch 1/8/32 on CUDA (and TensorRT if it loads), a file scan, and live streams with the inference on the GPU.
#
# That machine has Python 3.12, CUDA 13's libraries (PyTorch's nvidia-* wheels), aiohttp and OpenCV, but no
# onnxruntime-gpu, PyAV, MediaPipe or aiortc, no gst-rtsp-server, no network and none of our fetched assets;
# a call carries at most 64 MiB, the working tree included. So, in steps:
#
#   1. here (network):  bench/gpu.sh prepare
#        installs the cp312 wheels the device lacks into .gpu/site, copies the assets and bench clips into
#        .gpu/cache, packs both into one xz tarball and splits it into .gpu-1/, .gpu-2/, ... (git-ignored) of
#        at most $PART_MIB MiB each. It prints the calls to make.
#   2. device, one call per part but the last (each quick, on the warm machine, made at once one after another):
#        run(command="bash bench/gpu.sh stage N", carry=[".gpu-N"])
#        moves the part into /tmp/gpu-store/: each call replaces the working tree; the warm machine keeps /tmp.
#   3. device, one call:
#        run(command="bash bench/gpu.sh stage K && bash bench/gpu.sh run", carry=[".gpu-K", ".gpu-gl"])
#        unpacks into /tmp/gpu, then prints: the providers, ms per crop (CUDA, TensorRT if it loads, CPU for the
#        ratio), the inference service under 16 callers, a scan of the 2-minute file, bench/scan_speed.py, and
#        bench/streams.py with the model on the GPU in one process, fed by bench/http_camera.py (the machine has
#        no gst-rtsp-server).
#      Or, in place of `run`, `bash bench/gpu.sh live`: the live figures alone (the inference service, 20 streams
#      in one process, the most one process holds, 20 streams in 4 worker processes).
#      `bash bench/gpu.sh python ARGS...` runs one script there with the bundle (bench/model_speed.py, say).
#      Later calls on the warm machine: run(command="bash bench/gpu.sh streams W", carry=[".gpu-gl"]) holds
#      streams in W stream worker processes.
#
# Seen on that machine (2026-12-04): the staging calls take seconds each, but a machine can be taken back between
# them (stage the missing parts again: `ls /tmp/gpu-store`); it has OpenCV 5.0 but no libEGL/libGLESv2, which
# MediaPipe's library links (hence .gpu-gl); TensorRT's provider does not load (no libnvinfer.so.10).
set -euo pipefail
cd "$(dirname "$0")/.."
ORT_GPU=${ORT_GPU:-onnxruntime-gpu==1.31.1}  # built for CUDA 13, as the device's PyTorch is
# what the device lacks, at the versions the project is tested with (it has numpy, aiohttp, OpenCV, protobuf...)
WHEELS=("$ORT_GPU" "av==18.1.0" "mediapipe==1.2.2" "sounddevice==0.5.6" "cffi==2.1.1" "pycparser==3.12"
        "aiortc==1.16.0" "aioice==0.13.0" "pyee==13.0.1" "pylibsrtp==1.0.0" "google-crc32c==1.9.0"
        "dnspython==2.9.2" "ifaddr==0.2.0" "pyopenssl==26.4.0" "cryptography==50.0.2" "paho-mqtt==2.2.0")
STORE=/tmp/gpu-store  # outside the working tree, which each call replaces; the warm machine keeps /tmp
PART_MIB=${PART_MIB:-46}  # + the working tree (about 16 MiB) stays under a call's 64 MiB

prepare() {
    local exclude
    exclude=$(git rev-parse --git-path info/exclude)
    grep -qxF '/.gpu*/' "$exclude" 2>/dev/null || printf '/.gpu*/\n' >> "$exclude"
    rm -rf .gpu .gpu-* && mkdir -p .gpu/cache/assets .gpu/cache/bench
    python3 -m pip install -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --target .gpu/site "${WHEELS[@]}"
    local py=python3
    [ -x .venv/bin/python ] && py=.venv/bin/python  # the project's own environment (make install-dev)
    DFS_BUNDLE=.gpu/cache PYTHONPATH=$PWD $py - <<'PY'
import os, shutil, sys
sys.path.insert(0, "bench")
from streamer.runtime.assets import DETECTOR_MODEL, FULL_RANGE_DETECTOR_MODEL, MESH_MODEL, asset_path
from compose import long_file
from live_streams import bench_clip
out = os.environ["DFS_BUNDLE"]
for name in (DETECTOR_MODEL, FULL_RANGE_DETECTOR_MODEL, MESH_MODEL, "WolfgangLanger_Pexels.mp4"):
    shutil.copy(asset_path(name), f"{out}/assets/")
for path in (long_file(), bench_clip()):
    shutil.copy(path, f"{out}/bench/")
PY
    strip --strip-unneeded .gpu/site/mediapipe/tasks/c/libmediapipe.so  # its symbol tables: 25 MB of no use there
    tar -C .gpu -cf - site cache | xz -T0 -6 > .gpu/bundle.tar.xz
    mkdir -p .gpu-gl  # MediaPipe's library links EGL and GLES (glvnd), which that machine lacks: this one's, carried
    for lib in libEGL.so.1 libGLESv2.so.2 libGLdispatch.so.0; do cp -L "/lib/x86_64-linux-gnu/$lib" .gpu-gl/; done
    split -b "${PART_MIB}M" -d -a 2 .gpu/bundle.tar.xz .gpu/part-
    local parts=(.gpu/part-*) n=0
    for part in "${parts[@]}"; do n=$((n + 1)); mkdir -p ".gpu-$n"; mv "$part" ".gpu-$n/"; done
    du -sh .gpu/site .gpu/cache .gpu/bundle.tar.xz
    for i in $(seq 1 $((n - 1))); do
        echo "call $i: run(command=\"bash bench/gpu.sh stage $i\", carry=[\".gpu-$i\"])"
    done
    echo "call $n: run(command=\"bash bench/gpu.sh stage $n && bash bench/gpu.sh run\"," \
         "carry=[\".gpu-$n\", \".gpu-gl\"], timeout_s=540)"
}

stage() {
    mkdir -p "$STORE" && mv ".gpu-$1"/* "$STORE"/ && ls -la "$STORE"
}

unpack() {
    if [ ! -f /tmp/gpu/.unpacked ]; then
        rm -rf /tmp/gpu && mkdir -p /tmp/gpu
        cat "$STORE"/part-* | xz -d | tar -x -C /tmp/gpu && touch /tmp/gpu/.unpacked
    fi
    if [ -d .gpu-gl ]; then mkdir -p /tmp/gpu/gl && cp .gpu-gl/* /tmp/gpu/gl/; fi
    export PYTHONPATH=/tmp/gpu/site:$PWD DFS_CACHE=/tmp/gpu/cache PYTHONUNBUFFERED=1 LD_LIBRARY_PATH=/tmp/gpu/gl
}

on_cuda() {
    # stops here, saying why, when the CUDA provider cannot run the shipped model: the rest would measure the CPU
    python3 - <<'PY'
import onnxruntime as ort
from streamer.core.model import Model, providers
print("onnxruntime", ort.__version__, ort.get_available_providers())
where = Model("models/default").provider
print("chosen:", providers(), "| the shipped model's encoder runs on", where)
raise SystemExit(0 if where == "CUDAExecutionProvider" else 3)
PY
}

run() {
    unpack
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
    echo "cores $(nproc)"
    on_cuda
    set +e  # from here a step that fails says so and the others still run
    echo "== encoder ms per crop"
    python3 bench/model_speed.py --provider cuda --batch 1,8,32,128 --runs 400
    python3 bench/model_speed.py --provider cuda --precision int8 --batch 1,32 --runs 200 || echo "int8 on CUDA: failed"
    python3 bench/model_speed.py --provider tensorrt --batch 1,32 --runs 200 || echo "TensorRT: did not load (above)"
    python3 bench/model_speed.py --provider cpu --batch 1,8,32 --runs 100
    echo "== the shared inference service under 16 callers (on CUDA it runs one thread whatever --threads says)"
    python3 bench/inference_service.py --callers 16 --threads 1 --seconds 3
    echo "== file scan, inference on the GPU"
    TIMEFORMAT="scan: %R s wall, %U s user, %S s sys"
    time python3 -m streamer.cli scan "$DFS_CACHE/bench/composed-120s-v1.mp4" --workers 8 --quiet | tail -5
    timeout 150 python3 bench/scan_speed.py --clip "$DFS_CACHE/bench/composed-120s-v1.mp4" --repeat 1 --workers 8 \
        || echo "scan_speed: failed or timed out"
    echo "== live streams, inference on the GPU, in one process"
    timeout 170 python3 bench/streams.py --camera http --ceiling 15 --start 16 --step x2 --max 128 --probe 10 \
        --hold 30 || echo "streams: failed or timed out"
}

live() {
    unpack
    on_cuda
    set +e
    echo "== the inference service, 16 callers, asking for 1 and 16 threads (on CUDA it runs one either way)"
    python3 bench/inference_service.py --callers 16 --threads 1,16 --seconds 3
    echo "== 20 streams at up to 12 fps, one process"
    timeout 100 python3 bench/streams.py --camera http --streams 20 --hold 30 --ceiling 12 || echo "streams: failed"
    echo "== the most streams one process holds at >= 10 fps (up to 12 asked)"
    timeout 160 python3 bench/streams.py --camera http --ceiling 12 --start 24 --step x2 --max 96 --probe 10 \
        --hold 20 || echo "streams: failed or timed out"
    echo "== 20 streams in 4 stream worker processes"
    timeout 100 python3 bench/streams.py --camera http --streams 20 --workers 4 --hold 30 --ceiling 12 \
        || echo "streams: failed"
}

streams() {
    unpack
    python3 bench/streams.py --camera http --workers "${1:-12}" --ceiling 15 --start 16 --step x2 --max 128 \
        --probe 15 --hold 30
}

case "${1:-}" in
    prepare) prepare ;;
    stage) stage "$2" ;;
    run) run ;;
    live) live ;;
    python) shift; unpack; python3 "$@" ;;
    streams) streams "${2:-}" ;;
    *) echo "usage: bench/gpu.sh prepare | stage N | run | live | streams W | python ARGS..." >&2; exit 2 ;;
esac
