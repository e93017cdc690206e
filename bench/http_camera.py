"""A live HTTP camera for benches on machines without Debian's gst-rtsp-server (the GPU machine): FILE's H.264
remuxed once to MPEG-TS, then sent to each client from the start, each packet at its decode time (real time).

    python bench/http_camera.py FILE.mp4 [--port N]     # prints ``PORT <n>`` once bound to 127.0.0.1

A stream of it is opened as ``serve --allow-http-streams`` opens one: through the guarded HTTP fetches.
"""
from __future__ import annotations

import argparse
import io
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import av

LEAD_SECONDS = 0.1  # sent ahead of the clock, as a camera's encoder and network buffer would


def transport_stream(path: str) -> tuple[bytes, list[tuple[float, int]]]:
    """The video of ``path`` as MPEG-TS bytes (packets copied, not re-encoded), and when each packet is due: its
    decode time in seconds from the first, with the byte offset its data ends at."""
    out = io.BytesIO()
    schedule: list[tuple[float, int]] = []
    with av.open(path) as src, av.open(out, "w", format="mpegts", buffer_size=1316) as dst:
        vin = src.streams.video[0]
        vout = dst.add_stream_from_template(vin)
        first = None
        for packet in src.demux(vin):
            if packet.dts is None:
                continue
            seconds = float(packet.dts * vin.time_base)
            first = seconds if first is None else first
            packet.stream = vout
            dst.mux(packet)
            schedule.append((seconds - first, out.tell()))
    return out.getvalue(), schedule


def handler(data: bytes, schedule: list[tuple[float, int]]) -> type[BaseHTTPRequestHandler]:
    class Camera(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "video/mp2t")
            self.end_headers()
            start, sent = time.monotonic(), 0
            try:
                for seconds, end in [*schedule, (schedule[-1][0], len(data))]:
                    time.sleep(max(0.0, start + seconds - LEAD_SECONDS - time.monotonic()))
                    if end > sent:
                        self.wfile.write(data[sent:end])
                        sent = end
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args) -> None:
            pass

    return Camera


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    data, schedule = transport_stream(args.file)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(data, schedule))
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
