"""Property-based fuzzing of every JSON body and query parameter, and oversize requests."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import assert_intact

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=12)
field_names = st.sampled_from(["sdp", "type", "name", "url", "fps", "threshold", "alert_seconds", "path", "x"])
objects = st.dictionaries(field_names, json_values, max_size=6)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def check(status: int, body: bytes) -> None:
    assert 400 <= status < 500 or status in (200, 201, 202), status
    if status >= 400:
        assert "error" in json.loads(body)


@FUZZ
@given(payload=objects | json_values)
def test_offer_bodies(client, payload):
    status, body = client.request("POST", "/api/offer", json.dumps(payload), {"Content-Type": "application/json"})
    assert status in (400, 413, 503), status
    assert "error" in json.loads(body)


@FUZZ
@given(payload=objects | json_values)
def test_stream_bodies(client, payload):
    status, body = client.request("POST", "/api/streams", json.dumps(payload), {"Content-Type": "application/json"})
    check(status, body)
    if status == 201:  # a valid stream slipped through: remove it again
        name = json.loads(body)["name"]
        assert client.request("DELETE", f"/api/streams/{name}")[0] == 200


@FUZZ
@given(payload=objects | json_values)
def test_scan_path_bodies(client, payload):
    status, body = client.request("POST", "/api/scans", json.dumps(payload), {"Content-Type": "application/json"})
    assert status in (400, 403, 404, 429), status
    assert "error" in json.loads(body)


@FUZZ
@given(raw=st.binary(max_size=300))
def test_raw_garbage_bodies(client, raw):
    for path, ctype in (("/api/offer", "application/json"), ("/api/streams", "application/json"),
                        ("/api/scans", "application/json"), ("/api/scans", "multipart/form-data; boundary=x")):
        status, body = client.request("POST", path, raw, {"Content-Type": ctype})
        assert 400 <= status < 500, (path, status)


@FUZZ
@given(limit=st.text(max_size=20), stream=st.text(max_size=40), scan_id=st.text(max_size=40))
def test_query_parameters_and_ids(client, limit, stream, scan_id):
    from urllib.parse import quote, urlencode

    status, body = client.request("GET", "/api/alerts?" + urlencode({"limit": limit, "stream": stream}))
    assert status in (200, 400), status
    status, _ = client.request("GET", f"/api/scans/{quote(scan_id, safe='')}")
    assert status in (200, 404), status
    status, _ = client.request("GET", f"/api/alerts/{quote(scan_id, safe='')}/snapshot.jpg")
    assert status in (200, 404), status


def test_oversize_headers_and_bodies(client):
    status, _ = client.request("GET", "/healthz", headers={"X-Huge": "a" * 20_000})
    assert status in (400, 431)
    status, _ = client.request("GET", "/" + "a" * 20_000)
    assert status in (400, 404, 414)
    status, body = client.request("POST", "/api/offer", b"{" + b" " * 200_000 + b"}", {"Content-Type": "application/json"})
    assert status == 413 and "error" in json.loads(body)
    status, body = client.request("POST", "/api/streams", b"[" * 5_000_000, {"Content-Type": "application/json"})
    assert status in (400, 413)
    assert_intact(client)


def test_everything_stored_earlier_survives_the_fuzzing(client):
    assert_intact(client)
