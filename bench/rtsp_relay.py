"""What the RTSP relay costs: interleaved RTP bytes from a loopback "camera" through the relay to a reader.

    python bench/rtsp_relay.py [--megabytes 200] [--packet 1400]

The camera sends ``$``-framed packets of --packet bytes as fast as the reader takes them; printed: MB/s
through the relay and the process CPU seconds per 100 MB (a 4 Mbit/s camera moves 100 MB in ~200 s), with
the same transfer without the relay beside it.
"""
from __future__ import annotations

import argparse
import os
import socket
import threading
import time

from streamer.runtime.netpolicy import AddressPolicy
from streamer.runtime.rtsp_relay import RtspRelay


def camera(total: int, packet: int) -> int:
    server = socket.create_server(("127.0.0.1", 0))
    frame = b"$\x00" + packet.to_bytes(2, "big") + os.urandom(packet)
    chunk = frame * max(1, 65536 // len(frame))

    def run() -> None:
        conn, _ = server.accept()
        sent = 0
        while sent < total:
            conn.sendall(chunk)
            sent += len(chunk)
        conn.close()
        server.close()

    threading.Thread(target=run, daemon=True).start()
    return server.getsockname()[1]


def transfer(port: int) -> int:
    got = 0
    with socket.create_connection(("127.0.0.1", port)) as sock:
        while data := sock.recv(262144):
            got += len(data)
    return got


def measure(total: int, packet: int, relayed: bool) -> tuple[float, float]:
    port = camera(total, packet)
    relay = RtspRelay("127.0.0.1", port, False, AddressPolicy.loopback_only(), 5.0) if relayed else None
    wall, cpu = time.perf_counter(), time.process_time()
    got = transfer(relay.port if relay else port)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if relay:
        relay.close()
    return got / wall / 1e6, cpu / (got / 1e8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--packet", type=int, default=1400)
    args = parser.parse_args()
    total = args.megabytes * 1_000_000
    for relayed in (False, True):
        rate, cpu = measure(total, args.packet, relayed)
        print(f"{'through the relay' if relayed else 'direct':18s} {rate:8.1f} MB/s  {cpu:5.2f} CPU s per 100 MB")


if __name__ == "__main__":
    main()
