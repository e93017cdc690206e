"""A loopback relay for one RTSP(S) stream, so that FFmpeg never connects anywhere itself.

FFmpeg is given ``rtsp://127.0.0.1:PORT/...`` and talks to the relay; for the one connection it accepts, the
relay makes the one connection to the camera through ``connect_checked`` (TLS for rtsps) and passes the bytes on.
Its answers are passed on unless they carry a redirect, which FFmpeg would follow to any address. In TCP
mode (the only one used) FFmpeg sends every later request (SETUP, PLAY...) over this same connection.
"""
from __future__ import annotations

import logging
import socket
import ssl
import threading

from .netpolicy import REDIRECT, AddressPolicy, PolicyError, connect_checked

log = logging.getLogger(__name__)
LOCATION = b"location:"


class RtspRelay:
    def __init__(self, host: str, port: int, tls: bool, policy: AddressPolicy, timeout: float):
        self.host, self.upstream_port, self.tls = host, port, tls
        self.policy, self.timeout = policy, timeout
        self.error: str | None = None  # why the relay ended a connection, for the stream's status
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, name=f"rtsp-relay-{self.port}", daemon=True).start()

    def _accept(self) -> None:
        """One connection: FFmpeg makes one per open (TCP transport), and no other local process gets one."""
        try:
            client, _ = self._listener.accept()
        except OSError:
            return
        finally:
            _close(self._listener)
        if self._track(client):
            self._serve(client)

    def _track(self, sock: socket.socket) -> bool:
        with self._lock:
            if self._closed:
                sock.close()
                return False
            self._sockets.append(sock)
            return True

    def _fail(self, reason: str) -> None:
        if self.error is None:
            self.error = reason

    def _connect(self) -> socket.socket:
        sock = connect_checked(self.host, self.upstream_port, self.policy, self.timeout)
        if self.tls:  # as FFmpeg's own rtsps: encrypted, certificate not verified (cameras sign their own)
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            sock = context.wrap_socket(sock, server_hostname=self.host)
        sock.settimeout(None)  # FFmpeg times the stream out; the relay only follows it
        return sock

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = self._connect()
        except PolicyError as exc:
            self._fail(str(exc))
            return _close(client)
        except OSError as exc:
            self._fail(f"cannot connect: {exc.strerror or exc}")
            return _close(client)
        if not self._track(upstream):
            return _close(client)
        threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
        try:
            self._answers(upstream, client)
        except OSError:
            pass
        finally:
            _close(client)
            _close(upstream)

    def _answers(self, upstream: socket.socket, client: socket.socket) -> None:
        """Pass the camera's bytes on until they carry a Location header, or end.

        FFmpeg follows a redirect only to the address in a Location line, and reads header lines with every
        CR dropped, case-insensitively, even after an interleaved packet in mid-head. So the bytes are looked
        at as FFmpeg could see them, framing aside: no "location:" may ever reach it. (By chance in video
        data: about once in 2**60 bytes.)"""
        tail = b""
        while data := upstream.recv(65536):
            view = tail + data.replace(b"\r", b"").lower()
            if LOCATION in view:
                log.warning("RTSP redirect refused from %s", self.host)
                self._fail(REDIRECT)
                return
            tail = view[-len(LOCATION):]
            client.sendall(data)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sockets, self._sockets = self._sockets, []
        _close(self._listener)
        for sock in sockets:
            _close(sock)


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(target)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
