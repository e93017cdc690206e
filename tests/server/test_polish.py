"""Small things a new user meets first: JSON error bodies everywhere, Unicode stream names, any upload name."""
from __future__ import annotations

import aiohttp

from .api import api_client
from .test_scans_api import upload_and_wait


async def test_every_error_has_a_json_body(random_model, tmp_path):
    async with api_client(random_model, tmp_path / "data") as client:
        cases = [
            await client.post("/api/streams", data=b"{" + b" " * 70_000 + b"}",
                              headers={"Content-Type": "application/json"}),  # past the 64 KB body limit
            await client.get("/api/nothing-here"),
            await client.get("/static/missing.js"),
            await client.put("/api/streams"),
            await client.post("/api/scans", data=b"x", headers={"Content-Type": "text/plain"}),
        ]
        statuses = [r.status for r in cases]
        assert statuses == [413, 404, 404, 405, 415]
        for resp in cases:
            assert resp.content_type == "application/json", resp.status
            body = await resp.json()
            assert body["status"] == resp.status and body["error"]
        assert "too large" in (await cases[0].json())["error"]
        assert "Allow" in cases[3].headers


async def test_unicode_stream_names_unique_by_case_and_spacing(random_model, tmp_path):
    async with api_client(random_model, tmp_path / "data") as client:
        url = "rtsp://127.0.0.1:9/none"
        made = await client.post("/api/streams", json={"name": "Café  Eingang Nord", "url": url})
        assert made.status == 201 and (await made.json())["name"] == "Café Eingang Nord"
        for twin in ("café eingang nord", " CAFÉ Eingang   NORD ", "Cafe\u0301 Eingang Nord"):
            resp = await client.post("/api/streams", json={"name": twin, "url": url})
            assert resp.status == 409, twin
        for other in ("東京 カメラ 1", "Lobby (west) #2"):
            assert (await client.post("/api/streams", json={"name": other, "url": url})).status == 201, other
        for bad in ("", "   ", "-leading", "a" * 65, "bell\x07", "<script>", "a/b", 42):
            resp = await client.post("/api/streams", json={"name": bad, "url": url})
            assert resp.status == 400 and "name" in (await resp.json())["error"], bad
        names = {s["name"] for s in (await (await client.get("/api/streams")).json())["streams"]}
        assert names == {"Café Eingang Nord", "東京 カメラ 1", "Lobby (west) #2"}
        assert (await client.delete("/api/streams/東京 カメラ 1")).status == 200


async def test_upload_names_with_any_characters(random_model, clip, tmp_path):
    async with api_client(random_model, tmp_path / "data") as client:
        for name in ("clip;v2;final.mp4", 'say "cheese".mp4', "résumé, 2024 = final.mp4"):
            scan, _ = await upload_and_wait(client, clip("single_face.mp4"), name)
            assert scan["filename"] == name
            export = await client.get(f"/api/scans/{scan['id']}/timeline.json")
            assert export.status == 200
            disposition = export.headers["Content-Disposition"]
            assert "filename*=UTF-8''" in disposition and "\n" not in disposition
            assert aiohttp.helpers.parse_mimetype("text/plain")  # header parsed without error above
