"""Extra peak memory of scanning one large photo, in a fresh process per photo (the still path: decode,
shrink to 12 megapixels, detect, score).

    python bench/still_memory.py [MODEL_DIR] [--megapixels 49]

Prints, for a PNG and a JPEG of that size made from a fetched face photo, the peak RSS the scan added over a
process that had already scanned a small photo, in MB and in bytes per photo pixel.
"""
from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2

PROBE = """
import resource, sys, time
from pathlib import Path
from streamer.core.model import Model
from streamer.files.scan import scan_file
model = Model(Path(sys.argv[1]))
scan_file(Path(sys.argv[3]), model)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
result = scan_file(Path(sys.argv[2]), model)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before, time.perf_counter() - start,
      result["video"].get("analysed_scale"))
"""


def main() -> None:
    from streamer.runtime.assets import asset_path
    from streamer.core.model_dir import model_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="model directory (default: the shipped one)")
    parser.add_argument("--megapixels", type=float, default=49.0)
    args = parser.parse_args()
    small = asset_path("single_face.jpg")
    width = int(math.sqrt(args.megapixels * 1e6 * 4 / 3))
    height = int(args.megapixels * 1e6 / width)
    big = cv2.resize(cv2.imread(str(small)), (width, height), interpolation=cv2.INTER_LINEAR)
    with tempfile.TemporaryDirectory() as tmp:
        for name, params in (("png", [cv2.IMWRITE_PNG_COMPRESSION, 1]), ("jpg", [cv2.IMWRITE_JPEG_QUALITY, 92])):
            path = Path(tmp) / f"big.{name}"
            cv2.imwrite(str(path), big, params)
            out = subprocess.run([sys.executable, "-c", PROBE, str(model_dir(args.model)), str(path), str(small)],
                                 capture_output=True, text=True, check=True).stdout.split()
            extra = int(out[0]) * 1024
            print(f"{name.upper():4} {width}x{height} ({width * height / 1e6:.1f} MP, file {path.stat().st_size / 2**20:.0f} MB): "
                  f"+{extra / 2**20:.0f} MB peak RSS = {extra / (width * height):.1f} bytes per pixel, "
                  f"{float(out[1]):.1f} s, analysed at scale {out[2]}")


if __name__ == "__main__":
    main()
