"""Bad input that used to reach a handler's unchecked path (a 500 with a text body) gets a JSON 4xx."""
from __future__ import annotations

from pathlib import Path

from .api import api_client


async def test_a_nul_in_a_static_name_is_a_json_404(random_model, tmp_path):
    async with api_client(random_model, tmp_path / "data") as client:
        for name in ("%00", "a%00.js", "%0d%0a.css", "%7f.js"):
            resp = await client.get(f"/static/{name}")
            assert resp.status == 404 and resp.content_type == "application/json", name
        assert (await client.get("/static/app.css")).status in (200, 404)  # still serving
        assert (await client.get("/healthz")).status == 200


async def test_a_nul_in_a_multipart_file_name_is_a_json_400(random_model, clip, tmp_path):
    photo = Path(clip("single_face.jpg")).read_bytes()
    async with api_client(random_model, tmp_path / "data") as client:
        for disposition in (b'form-data; name="file"; filename="a\x00b.jpg"',
                            b'form-data; name="file"; filename="a\x01\x7fb.jpg"'):
            body = b"--b\r\nContent-Disposition: " + disposition + b"\r\n\r\n" + photo + b"\r\n--b--\r\n"
            resp = await client.post("/api/scans", data=body,
                                     headers={"Content-Type": "multipart/form-data; boundary=b"})
            answer = await resp.json()
            assert 400 <= resp.status < 500 and answer["status"] == resp.status, answer
            assert "multipart" in answer["error"]
        assert list((tmp_path / "data" / "uploads").glob("*.part")) == []
        assert (await client.get("/healthz")).status == 200
