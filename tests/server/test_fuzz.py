"""Fuzzing every route of /api/openapi.json against the real server: bad JSON, wrong types, NUL and control
characters in paths, query strings, file names and headers. Every answer is below 500, every error a JSON
body {"error", "status"}, and the server keeps serving. Requests go over a raw socket, so nothing is
cleaned up on the way (a client library would refuse half of them)."""
from __future__ import annotations

import json
import re
import socket
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from streamer.core.model import Model

from .conftest import loopback_config
from bench.harness import ServerThread

EXAMPLES = 400  # about 20 s on a loaded 2-core machine
NASTY = ["\x00", "%00", "\r\n", "\x01\x7f", "..", "../../etc/passwd", "a" * 300, "é東", "\ufffd", "'\"<>;=",
         "0123456789abcdef", "-1", "1e309", "NaN", " ", "%", "%zz", "\\", "/", "?x=1", "#frag"]
TEXT = st.one_of(st.sampled_from(NASTY), st.text(max_size=24),
                 st.text(alphabet=st.characters(max_codepoint=0x2f), max_size=12))
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                    max_leaves=8)
HEADERS = ["Authorization", "Cookie", "Content-Type", "Origin", "X-Forwarded-Host", "Range", "If-Match", "Accept",
           "Content-Disposition", "Sec-Fetch-Site"]
SKIP = {("get", "/api/events")}  # an endless event stream: reached by the events tests


@pytest.fixture(scope="module")
def fuzzed(random_model_dir, tmp_path_factory):
    media = tmp_path_factory.mktemp("media")
    (media / "notes.txt").write_text("not media")
    cfg = loopback_config(mutations_per_minute=0, media_dir=media, max_streams=4)
    with ServerThread(cfg, Model(random_model_dir)) as server:
        spec = server.get_json("/api/openapi.json")
        routes = [(method, path, op) for path, ops in spec["paths"].items() for method, op in ops.items()
                  if (method, path) not in SKIP]
        yield server, routes


def send(port: int, raw: bytes, timeout: float = 20.0) -> tuple[int, dict[str, str], bytes]:
    """One request on its own connection: (status, headers, body); the body of an event stream is not read."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if "text/event-stream" in headers.get("content-type", ""):
            return status, headers, b""
        length = int(headers.get("content-length", "-1"))
        while length < 0 or len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return status, headers, body


def body_for(op: dict, draw) -> tuple[str | None, bytes]:
    """A body of the kind the route takes, made wrong in one of many ways (or none at all)."""
    kinds = list((op.get("requestBody") or {}).get("content", {})) or ["application/json"]
    kind = draw(st.sampled_from(kinds + ["text/plain", None]))
    way = draw(st.sampled_from(["json", "wrong types", "bytes", "empty", "multipart"]))
    if way == "json":
        return kind, json.dumps(draw(JSON)).encode()
    if way == "wrong types":
        schema = (op.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema", {})
        names = list(schema.get("properties", {})) or ["name", "url", "path", "token", "sdp", "type"]
        return kind, json.dumps({n: draw(JSON) for n in draw(st.lists(st.sampled_from(names), max_size=6))}).encode()
    if way == "bytes":
        return kind, draw(st.binary(max_size=300))
    if way == "empty":
        return kind, b""
    filename = draw(TEXT).encode("utf-8", "surrogatepass")
    part = (b'--b\r\nContent-Disposition: form-data; name="' + draw(st.sampled_from([b"file", b"x", b""])) +
            b'"; filename="' + filename + b'"\r\n\r\n' + draw(st.binary(max_size=200)) + b"\r\n--b--\r\n")
    return "multipart/form-data; boundary=b", part


def request_for(method: str, template: str, op: dict, draw) -> bytes:
    def param(match: re.Match) -> str:
        value = draw(TEXT)
        return value if draw(st.booleans()) and value.isprintable() and "/" not in value else quote(value, safe="")

    path = re.sub(r"\{[^}]+\}", param, template)
    query = [(p["name"], draw(TEXT)) for p in op.get("parameters", []) if p["in"] == "query" and draw(st.booleans())]
    if draw(st.booleans()):
        query.append((draw(TEXT), draw(TEXT)))
    if query:
        path += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query)
    kind, body = body_for(op, draw) if method in ("post", "patch", "put", "delete") else (None, b"")
    headers = [(b"Host", b"127.0.0.1"), (b"Connection", b"close"), (b"Content-Length", str(len(body)).encode())]
    if kind:
        headers.append((b"Content-Type", kind.encode()))
    for name in draw(st.lists(st.sampled_from(HEADERS), max_size=3)):
        headers.append((name.encode(), draw(TEXT).encode("utf-8", "surrogatepass")))
    target = path.encode("utf-8", "surrogatepass")
    return (method.upper().encode() + b" " + target + b" HTTP/1.1\r\n" +
            b"".join(k + b": " + v + b"\r\n" for k, v in headers) + b"\r\n" + body)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_every_route_answers_bad_input_with_a_json_4xx(fuzzed, data):
    server, routes = fuzzed
    method, template, op = data.draw(st.sampled_from(routes), label="route")
    raw = request_for(method, template, op, data.draw)
    status, headers, body = send(server.port, raw)
    assert status < 500, (raw[:300], status, body[:300])
    if status >= 400:
        assert headers.get("content-type", "").startswith("application/json"), (raw[:300], status, body[:300])
        answer = json.loads(body)
        assert answer["status"] == status and isinstance(answer["error"], str) and answer["error"]


def test_the_server_still_serves_after_the_fuzzing(fuzzed):
    server, routes = fuzzed
    assert server.get_json("/healthz")["status"] == "ok"
    assert len(routes) >= 30  # every documented route was in the draw
