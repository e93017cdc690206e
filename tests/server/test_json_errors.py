"""Bad input that used to reach a handler's unchecked path (a 500 with a text body) gets a JSON 4xx; headers
built from user file names stay valid."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from .api import api_client, read_events


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


async def test_report_names_are_encoded_whatever_the_file_is_called(random_model, clip, tmp_path):
    """Quotes, semicolons, UTF-8 and CR/LF in a media-dir file name: the report still opens, the header holds
    an ASCII fallback and the exact name (RFC 6266 filename*)."""
    media = tmp_path / "media"
    media.mkdir()
    photo = Path(clip("single_face.jpg")).read_bytes()
    names = ['quo"te;semi=colon.jpg', "résumé 東京.jpg", "line\r\nbreak.jpg"]
    for name in names:
        (media / name).write_bytes(photo)
    async with api_client(random_model, tmp_path / "data", media_dir=media) as client:
        for name in names:
            resp = await client.post("/api/scans", json={"path": name})
            assert resp.status == 202, await resp.text()
            scan_id = (await resp.json())["id"]
            await read_events(client, f"/api/scans/{scan_id}/events", lambda e: e["status"] in ("done", "failed"))
            report = await client.get(f"/api/scans/{scan_id}/report.html")
            assert report.status == 200, name
            disposition = report.headers["Content-Disposition"]
            stem = name.rsplit(".", 1)[0]
            assert disposition.startswith('inline; filename="') and "\r" not in disposition and "\n" not in disposition
            fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
            assert fallback.isascii() and ";" not in fallback and '"' not in fallback
            assert disposition.endswith("filename*=UTF-8''" + quote(f"{stem}.report.html", safe=""))
            assert len(await report.text()) > 1000


async def test_a_bad_or_unsatisfiable_range_is_a_json_416(random_model, tmp_path):
    """Found by the fuzz test: aiohttp's own 416 carried the file's type and no body."""
    async with api_client(random_model, tmp_path / "data") as client:
        for bad in ("%00", "bytes=x-y", "bytes=999999999-"):
            resp = await client.get("/static/replay.js", headers={"Range": bad})
            assert resp.status == 416 and resp.content_type == "application/json", bad
            assert (await resp.json())["status"] == 416 and resp.headers["Content-Range"].startswith("bytes */")
        assert (await client.get("/static/replay.js", headers={"Range": "bytes=0-9"})).status == 206
