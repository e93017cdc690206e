"""The aiohttp internals fenced in streamer/server/aiohttp_compat.py: fails loudly when an upgrade moves them."""
from __future__ import annotations

import socket

from streamer.server import aiohttp_compat

from .api import api_client


def test_the_wrapped_internals_are_where_they_were():
    assert aiohttp_compat.supported()


def raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


async def test_requests_the_parser_refuses_get_a_json_400(random_model, tmp_path):
    import asyncio

    async with api_client(random_model, tmp_path / "data") as client:
        port = client.server.port
        for bad in (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
                    b"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \x01\r\n\r\n",
                    b"GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"POST /api/scans HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
            answer = await asyncio.to_thread(raw, port, bad)
            head, _, body = answer.partition(b"\r\n\r\n")
            status_line = head.split(b"\r\n")[0]  # HTTP/1.0 when the request line itself was refused
            assert status_line.startswith(b"HTTP/1.") and b" 400 " in status_line, answer[:300]
            assert b"application/json" in head, answer[:300]
            assert b'"status": 400' in body and b"malformed request" in body
        assert (await client.get("/healthz")).status == 200
