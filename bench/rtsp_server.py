"""A real RTSP server for tests: Debian's gst-rtsp-server, run by Debian's own /usr/bin/python3.

    /usr/bin/python3 rtsp_server.py FILE.mp4 [--port N] [--path /stream]

Serves the H.264 video of FILE on rtsp://127.0.0.1:PORT/PATH (each client gets its own pipeline from
the start of the file, paced in real time) and prints ``PORT <n>`` once bound.
"""
import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--path", default="/stream")
    args = parser.parse_args()
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f'( filesrc location="{args.file}" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )')
    factory.set_shared(False)
    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        print("ERROR attach failed", flush=True)
        return 1
    port = server.get_bound_port()
    if port == -1:
        print("ERROR not bound", flush=True)
        return 1
    print(f"PORT {port}", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
