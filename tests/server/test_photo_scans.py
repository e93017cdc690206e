"""Photos through the scans API: probed by content, scanned as stills, decode bombs refused."""
import jsonschema

from streamer.files.timeline import schema

from ..test_images import png_declaring
from .api import api_client, form
from .test_scans_api import upload_and_wait


async def test_a_photo_upload_scans_to_a_still_timeline(random_model, clip, tmp_path):
    async with api_client(random_model, tmp_path / "data") as client:
        scan, events = await upload_and_wait(client, clip("multi_face.jpg"), "group.bin")  # the name says nothing
        assert scan["info"]["format"] == "image/jpeg" and scan["info"]["width"] == 1000
        assert events[-1]["status"] == "done"
        body = await (await client.get(f"/api/scans/{scan['id']}")).json()
        timeline = body["timeline"]
        jsonschema.validate(timeline, schema())
        assert timeline["video"]["still"] is True and len(timeline["tracks"]) >= 4
        for face in timeline["frames"][0]["faces"]:
            assert face["score"] == face["frame_score"] and face["window_score"] is None
        assert body["summary"]["tracks"] == len(timeline["tracks"])
        media = await client.get(f"/api/scans/{scan['id']}/video")
        assert media.status == 200 and media.headers["Content-Type"] == "image/jpeg"
        assert await media.read() == clip("multi_face.jpg").read_bytes()


async def test_decode_bombs_and_broken_photos_get_a_clear_4xx_and_nothing_is_kept(random_model, clip, tmp_path):
    async with api_client(random_model, tmp_path / "data") as client:
        resp = await client.post("/api/scans", data=form(data=png_declaring(60000, 60000), filename="bomb.png"))
        body = await resp.json()
        assert resp.status == 413 and "60000x60000" in body["error"] and "megapixels" in body["error"]
        resp = await client.post("/api/scans", data=form(data=b"\x89PNG\r\n\x1a\n" + b"\0" * 40, filename="x.png"))
        assert resp.status == 400 and "PNG" in (await resp.json())["error"]
        assert list((tmp_path / "data" / "uploads").iterdir()) == []
        assert (await (await client.get("/api/scans")).json())["scans"] == []
        scan, events = await upload_and_wait(client, clip("biden.jpg"), "biden.jpg")  # still serving
        assert events[-1]["status"] == "done"


async def test_the_report_of_a_scan_is_a_self_contained_page(random_model, clip, tmp_path):
    from ..test_report import assert_self_contained, images_of

    async with api_client(random_model, tmp_path / "data") as client:
        scan, _ = await upload_and_wait(client, clip("zidane.jpg"), "zidane.jpg")
        resp = await client.get(f"/api/scans/{scan['id']}/report.html")
        assert resp.status == 200 and resp.content_type == "text/html"
        assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
        page = await resp.text()
        assert_self_contained(page)
        # two faces, one in profile that the quality gate does not score: one crop, and the reason
        assert len(images_of(page)) == 1 and "extreme_pose: 1 face(s) not scored" in page
        assert "zidane.jpg" in page and str(tmp_path) not in page
        assert (await client.get("/api/scans/0123456789abcdef/report.html")).status == 404
