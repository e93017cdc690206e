"""A long upload scanned by `serve` against `scan` on the same file: the server scans as the CLI does.

    python bench/serve_scan.py [--seconds 600] [--workers N] [--model DIR]

Both are real processes on the composed real-face file of bench/compose.py (made once, cached):
`deepfake-streamer scan FILE --workers N --json OUT --quiet`, timed from start to exit, and
`deepfake-streamer serve --workers N --port 0`, with the file uploaded to POST /api/scans and timed from
the upload's start to the scan's "done" event (worker start-up included in both). The two timelines are
compared (frames, largest score difference: the server cuts more segments, for its fair queue). Then the
report is requested twice: the first request builds it, the second is served from the cache. The load
average is printed beside the figures: on a shared machine they are a floor.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compose import long_file  # noqa: E402

from streamer.core.inference import default_threads  # noqa: E402

CLI = [sys.executable, "-m", "streamer.cli"]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}"


def run_cli(path: Path, workers: int, out: Path, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run([*CLI, "scan", str(path), "--workers", str(workers), "--json", str(out), "--quiet"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def start_server(workers: int, data: Path, env: dict) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([*CLI, "serve", "--workers", str(workers), "--port", "0", "--data-dir", str(data)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        found = re.search(r"open (http://\S+)", line)
        if found:
            return proc, found[1].rstrip("/")
    raise RuntimeError("the server did not start")


async def through_server(url: str, path: Path) -> tuple[float, dict, float, float]:
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        start = time.perf_counter()
        form = aiohttp.FormData()
        with path.open("rb") as file:
            form.add_field("file", file, filename=path.name, content_type="application/octet-stream")
            async with session.post(f"{url}/api/scans", data=form) as resp:
                scan_id = (await resp.json())["id"]
        async with session.get(f"{url}/api/scans/{scan_id}/events") as resp:
            async for raw in resp.content:
                line = raw.decode().strip()
                if line.startswith("data: ") and json.loads(line[6:])["status"] in ("done", "failed"):
                    break
        took = time.perf_counter() - start
        async with session.get(f"{url}/api/scans/{scan_id}") as resp:
            body = await resp.json()
        if body["status"] != "done":
            raise RuntimeError(f"the server's scan failed: {body['error']}")
        reports = []
        for _ in range(2):
            t0 = time.perf_counter()
            async with session.get(f"{url}/api/scans/{scan_id}/report.html") as resp:
                await resp.read()
                assert resp.status == 200, resp.status
            reports.append(time.perf_counter() - t0)
    return took, body["timeline"], reports[0], reports[1]


def difference(a: dict, b: dict) -> float:
    worst = 0.0
    for fa, fb in zip(a["frames"], b["frames"]):
        for x, y in zip(fa["faces"], fb["faces"]):
            if x["score"] is not None and y["score"] is not None:
                worst = max(worst, abs(x["score"] - y["score"]))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=600.0, help="length of the composed file")
    parser.add_argument("--workers", type=int, default=default_threads())
    parser.add_argument("--model")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    if args.model:
        env["DFS_MODEL_DIR"] = args.model
    path = long_file(args.seconds)
    print(f"{path.name}: {args.seconds:.0f} s, {args.workers} workers, {os.cpu_count()} cores, {load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="dfs-serve-scan-") as tmp:
        cli_s = run_cli(path, args.workers, Path(tmp) / "cli.json", env)
        cli = json.loads((Path(tmp) / "cli.json").read_text())
        print(f"scan  (CLI):    {cli_s:6.1f} s  ({len(cli['frames']) / cli_s:.0f} fps) | {load()}", flush=True)
        proc, url = start_server(args.workers, Path(tmp) / "data", env)
        try:
            served_s, served, first, second = asyncio.run(through_server(url, path))
        finally:
            proc.terminate()
            proc.wait(30)
    print(f"serve (upload): {served_s:6.1f} s  ({len(served['frames']) / served_s:.0f} fps), "
          f"{served_s / cli_s:.2f}x the CLI's time | {load()}")
    print(f"same frames: {len(served['frames']) == len(cli['frames'])} ({len(served['frames'])}); largest score "
          f"difference {difference(cli, served):.4f}")
    print(f"report: first request {first:.1f} s (built), second {second * 1000:.0f} ms (from the cache)")


if __name__ == "__main__":
    main()
