"""The RTSP relay on its own: one connection, to the checked address, bytes through unchanged."""
from __future__ import annotations

import socket

import pytest

from streamer.runtime.netpolicy import AddressPolicy
from streamer.runtime.rtsp_relay import RtspRelay


@pytest.fixture
def echo():
    """A loopback server that echoes what it gets."""
    import threading

    server = socket.create_server(("127.0.0.1", 0))

    def run():
        conn, _ = server.accept()
        while data := conn.recv(4096):
            conn.sendall(data)
        conn.close()

    threading.Thread(target=run, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def test_relay_passes_bytes_and_accepts_one_connection_only(echo):
    relay = RtspRelay("127.0.0.1", echo, False, AddressPolicy.loopback_only(), 2.0)
    try:
        with socket.create_connection(("127.0.0.1", relay.port), timeout=2) as client:
            client.sendall(b"OPTIONS rtsp://x/ RTSP/1.0\r\nCSeq: 1\r\n\r\n$\x00\x00\x02ok")
            got = b""
            while len(got) < 45:
                got += client.recv(4096)
            assert got == b"OPTIONS rtsp://x/ RTSP/1.0\r\nCSeq: 1\r\n\r\n$\x00\x00\x02ok"
            with pytest.raises(OSError):  # the listener closed after FFmpeg's one connection
                socket.create_connection(("127.0.0.1", relay.port), timeout=2).close()
    finally:
        relay.close()
    assert relay.error is None


def test_relay_refuses_an_address_the_rules_refuse(echo):
    relay = RtspRelay("127.0.0.1", echo, False, AddressPolicy.from_cidrs(["127.0.0.2/32"]), 2.0)
    try:
        with socket.create_connection(("127.0.0.1", relay.port), timeout=2) as client:
            assert client.recv(10) == b""  # closed without a byte from the camera
    finally:
        relay.close()
    assert relay.error and "not allowed" in relay.error
