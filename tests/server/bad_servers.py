"""Bad stream servers for outbound-rule tests, a few lines each, on 127.0.0.x: an RTSP server whose DESCRIBE
redirects, an HTTP server whose HLS playlist points elsewhere, and a listener that counts connections."""
from __future__ import annotations

import io
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av


class _Acceptor:
    """A TCP server on ``host`` (port 0: any) that hands each connection to ``_handle`` on its accept thread."""

    def __init__(self, host: str, port: int = 0):
        self.sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.sock.close()


class Listener(_Acceptor):
    """A TCP listener on ``host`` (port 0: any) that counts the connections it gets and closes them."""

    def __init__(self, host: str, port: int = 0):
        self.connections = 0
        super().__init__(host, port)

    def _handle(self, conn: socket.socket) -> None:
        self.connections += 1
        conn.close()


class RedirectingRtsp(_Acceptor):
    """Answers OPTIONS, then a 302 to ``location`` for DESCRIBE. ``hidden``: the Location line comes after an
    interleaved packet in mid-head, in mixed case with a CR inside, which FFmpeg still reads as a redirect."""

    def __init__(self, host: str, location: str, hidden: bool = False, tls: ssl.SSLContext | None = None):
        self.location, self.hidden, self.tls = location, hidden, tls
        self.requests: list[str] = []
        super().__init__(host)

    def _handle(self, conn: socket.socket) -> None:
        threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.tls:
                conn = self.tls.wrap_socket(conn, server_side=True)
            reader = conn.makefile("rb")
            while True:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = reader.readline()
                    if not line:
                        return
                    head += line
                lines = head.decode().split("\r\n")
                self.requests.append(lines[0].split(" ")[0])
                cseq = next(line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("cseq"))
                if lines[0].startswith("OPTIONS"):
                    conn.sendall(f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nPublic: DESCRIBE, SETUP, PLAY\r\n\r\n".encode())
                elif self.hidden:
                    conn.sendall(f"RTSP/1.0 302 Found\r\nCSeq: {cseq}\r\n".encode() + b"$\x00\x00\x04abcd"
                                 + f"lOcA\rtion: {self.location}\r\n\r\n".encode())
                else:
                    conn.sendall(f"RTSP/1.0 302 Found\r\nCSeq: {cseq}\r\nLocation: {self.location}\r\n\r\n".encode())
        except (OSError, StopIteration, ssl.SSLError):
            pass
        finally:
            conn.close()


def ts_segment(clip: Path, seconds: float) -> bytes:
    """The first ``seconds`` of ``clip``'s video, remuxed (not re-encoded) as MPEG-TS: an HLS segment."""
    out = io.BytesIO()
    with av.open(str(clip)) as src, av.open(out, "w", format="mpegts") as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is None:
                continue
            if packet.pts is not None and packet.pts * packet.time_base > seconds:
                break
            packet.stream = stream
            dst.mux(packet)
    return out.getvalue()


class HlsServer:
    """Serves ``/live.m3u8`` listing ``segment_urls`` (absolute, anywhere), ``/seg.ts`` itself, and 302s."""

    def __init__(self, host: str, segment: bytes = b""):
        self.segment_urls: list[str] = []
        self.redirects: dict[str, str] = {}  # path -> where a 302 sends it
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.paths.append(self.path)
                if (path := self.path.split("?")[0]) in server.redirects:
                    self.send_response(302)
                    self.send_header("Location", server.redirects[path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path == "/live.m3u8":
                    body = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n" + "".join(
                        f"#EXTINF:4.0,\n{url}\n" for url in server.segment_urls) + "#EXT-X-ENDLIST\n"
                    self._send(body.encode(), "application/vnd.apple.mpegurl")
                elif self.path == "/seg.ts":
                    self._send(segment, "video/mp2t")
                else:
                    self.send_error(404)

            def _send(self, body: bytes, kind: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://{host}:{self.port}/live.m3u8"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
