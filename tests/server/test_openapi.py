"""/api/openapi.json against the running server: every route described, real responses valid, README in step."""
from __future__ import annotations

import re
from pathlib import Path

import jsonschema

from streamer.files.report import TRACK_COLOURS, WORST_MOMENTS, worst_moments
from streamer.server.openapi import document

from tests.media.test_images import png_declaring
from .api import api_client, form
from .test_scans_api import upload_and_wait

README = Path(__file__).resolve().parents[2] / "README.md"
PAGES = {"/", "/replay", "/dashboard", "/signin", "/static/{}"}


def canonical(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def app_routes(app) -> set[tuple[str, str]]:
    return {(r.method, canonical(r.resource.canonical)) for r in app.router.routes() if r.method != "HEAD"}


def spec_routes(spec: dict) -> set[tuple[str, str]]:
    return {(m.upper(), canonical(p)) for p, ops in spec["paths"].items() for m in ops}


class Checker:
    """Validates a response against the operation it belongs to."""

    def __init__(self, spec: dict):
        self.spec = spec
        self.seen: set[tuple[str, str, int]] = set()

    def operation(self, method: str, path: str) -> tuple[str, dict]:
        for template, ops in self.spec["paths"].items():
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
            if re.match(pattern, path) and method.lower() in ops:
                return template, ops[method.lower()]
        raise AssertionError(f"{method} {path} is not in the OpenAPI description")

    async def __call__(self, resp, status: int | None = None):
        method, path = resp.method, resp.url.path
        template, operation = self.operation(method, path)
        if status is not None:
            assert resp.status == status, (method, path, resp.status, await resp.text())
        documented = operation["responses"].get(str(resp.status))
        assert documented, f"{method} {template} answered {resp.status}, which is not documented"
        media = resp.content_type
        content = documented.get("content", {})
        if resp.status == 204:
            assert not content and not await resp.read(), f"{method} {template}: a 204 has no body"
        elif media == "application/json":
            assert "application/json" in content, f"{method} {template} {resp.status}: JSON not documented"
            body = await resp.json()
            schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                      "components": self.spec["components"], **content["application/json"]["schema"]}
            jsonschema.validate(body, schema)
        else:
            assert media in content, f"{method} {template} {resp.status}: {media} not documented"
            await resp.read()
        self.seen.add((method, template, resp.status))
        return resp


def test_every_route_of_the_app_is_described_and_nothing_else(random_model, tmp_path):
    from streamer.server import create_app

    from .conftest import loopback_config

    app = create_app(loopback_config(data_dir=tmp_path / "data"), random_model)
    assert app_routes(app) == spec_routes(document())


def test_the_description_is_valid_json_schema_throughout():
    spec = document()
    for name, schema in spec["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema)
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', str(spec).replace("'", '"')))
    assert refs <= set(spec["components"]["schemas"])
    for path, ops in spec["paths"].items():
        for name in re.findall(r"\{([^}]+)\}", path):
            for op in ops.values():
                assert any(p["name"] == name and p["in"] == "path" for p in op.get("parameters", [])), (path, name)


async def test_real_responses_validate_against_the_description(random_model, clip, tmp_path):
    async with api_client(random_model, tmp_path / "data") as client:
        spec = await (await client.get("/api/openapi.json")).json()
        assert spec == document()
        check = Checker(spec)
        for path in ("/healthz", "/api/config", "/api/sessions", "/api/openapi.json", "/api/scans", "/api/streams",
                     "/api/alerts", "/metrics", "/", "/replay", "/dashboard", "/static/replay.js"):
            await check(await client.get(path), 200)
        await check(await client.get("/static/nothing.js"), 404)

        scan, _ = await upload_and_wait(client, clip("zidane.jpg"), "zidane.jpg")
        sid = scan["id"]
        for path in (f"/api/scans/{sid}", "/api/scans", f"/api/scans/{sid}/timeline.json",
                     f"/api/scans/{sid}/timeline.csv", f"/api/scans/{sid}/video", f"/api/scans/{sid}/report.html",
                     f"/api/scans/{sid}/events"):
            await check(await client.get(path), 200)
        await check(await client.get(f"/api/scans/{sid}/video", headers={"Range": "bytes=0-99"}), 206)
        await check(await client.get("/api/scans/0123456789abcdef"), 404)
        await check(await client.get("/api/scans/0123456789abcdef/timeline.json"), 404)
        await check(await client.post("/api/scans", data=form(data=b"not media", filename="x.mp4")), 400)
        await check(await client.post("/api/scans", data=form(data=png_declaring(60000, 60000))), 413)
        await check(await client.post("/api/scans", data="x", headers={"Content-Type": "text/plain"}), 415)
        await check(await client.post("/api/scans", json={"path": "a.mp4"}), 403)

        await check(await client.post("/api/streams", json={"name": "cam", "url": "file:///etc/passwd"}), 400)
        await check(await client.post("/api/streams", json={"name": "cam", "url": "rtsp://127.0.0.1:1/x"}), 201)
        await check(await client.post("/api/streams", json={"name": "cam", "url": "rtsp://127.0.0.1:1/x"}), 409)
        await check(await client.get("/api/streams"), 200)
        await check(await client.get("/api/streams/cam/thumbnail.jpg"), 404)
        await check(await client.delete("/api/streams/cam"), 200)
        await check(await client.delete("/api/streams/cam"), 404)
        await check(await client.get("/api/alerts?limit=0"), 400)
        await check(await client.get("/api/alerts/1/snapshot.jpg"), 404)
        await check(await client.post("/api/offer", json={"sdp": "nonsense", "type": "offer"}), 400)
        await check(await client.delete("/api/sessions/nope"), 404)
        await check(await client.post("/api/sessions/nope/close"), 404)
        await check(await client.post("/whip", data="v=0", headers={"Content-Type": "text/plain"}), 415)
        await check(await client.post("/whip", data="hello", headers={"Content-Type": "application/sdp"}), 400)
        await check(await client.patch("/whip/nope", data="a=end-of-candidates",
                                       headers={"Content-Type": "application/trickle-ice-sdpfrag"}), 404)
        await check(await client.delete("/whip/nope"), 404)
        await check(await client.options("/whip"), 204)
        await check(await client.post("/api/streams/nope/restart"), 404)
        await check(await client.get("/signin"), 200)
        await check(await client.get("/api/auth"), 200)
        await check(await client.post("/api/auth/login", json={"token": "any"}), 200)  # an open server
        await check(await client.post("/api/auth/logout"), 200)
        await check(await client.get("/api/scans?limit=0"), 400)
        await check(await client.delete("/api/alerts/999999"), 404)
        await check(await client.delete("/api/scans/0123456789abcdef"), 404)
        await check(await client.post(f"/api/scans/{sid}/retry"), 409)
        await check(await client.post("/api/scans/0123456789abcdef/retry"), 404)
        await check(await client.delete(f"/api/scans/{sid}"), 200)
    async with api_client(random_model, tmp_path / "data2", api_token="s3cret") as client:
        check.spec = spec
        await check(await client.post("/api/scans", data=form(clip("zidane.jpg"))), 401)
        await check(await client.post("/api/streams", json={"name": "cam", "url": "rtsp://127.0.0.1:1/x"}), 401)
        await check(await client.delete("/api/streams/cam"), 401)
        await check(await client.post("/whip", data="v=0", headers={"Content-Type": "application/sdp"}), 401)
        await check(await client.delete("/whip/nope", headers={"Authorization": "Bearer wrong"}), 401)
        await check(await client.post("/api/auth/login", json={"token": "wrong"}), 401)
    documented = {(m.upper(), p, int(c)) for p, ops in spec["paths"].items() for m, op in ops.items()
                  for c in op["responses"]}
    missed = {(m, p) for m, p, _ in documented} - {(m, p) for m, p, _ in check.seen}
    assert missed <= {("GET", "/api/events"), ("POST", "/api/offer")}, missed  # long-lived, or needs WebRTC


def readme_endpoints() -> set[tuple[str, str]]:
    text = README.read_text()
    table = text.split("### HTTP API", 1)[1].split("\n\n", 2)[1]
    found = set()
    for method, path in re.findall(r"`(GET|POST|DELETE|PUT|PATCH|OPTIONS) (/[^`\s?]*)", table):
        for variant in path.replace("\\|", "|").split("|"):
            if variant and not variant.startswith("/"):  # "timeline.json|csv": the second extension
                variant = path.rsplit(".", 1)[0] + "." + variant
            found.add((method, canonical(re.sub(r"\.(json|csv)$", ".{}", variant)) if "timeline." in variant
                       else canonical(variant)))
    return found


def test_the_readme_api_table_lists_every_endpoint_of_the_description():
    spec = {(m, p) for m, p in spec_routes(document()) if p not in PAGES}
    assert readme_endpoints() == spec


async def test_config_gives_the_pages_each_rule_from_its_one_python_definition(random_model, tmp_path):
    async with api_client(random_model, tmp_path / "data") as client:
        config = await (await client.get("/api/config")).json()
    manifest = random_model.manifest
    assert config["verdict"] == {"threshold": manifest.threshold, "uncertain_margin": manifest.uncertain_margin}
    assert config["worst_moments"] == WORST_MOMENTS == worst_moments.__defaults__[0]
    assert config["track_colours"] == TRACK_COLOURS
