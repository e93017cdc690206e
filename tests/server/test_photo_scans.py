"""Photos through the scans API: probed by content, scanned as stills, decode bombs refused."""
import jsonschema

from streamer.files.timeline import schema

from tests.media.test_images import png_declaring
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
    from tests.files.test_report import assert_self_contained, images_of

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


def gif_bytes(rgb, frames: int, path) -> bytes:
    """A GIF of ``frames`` copies of ``rgb``, written by FFmpeg (PyAV) as any GIF maker would."""
    import av

    with av.open(str(path), "w", format="gif") as container:
        stream = container.add_stream("gif", rate=10)
        stream.width, stream.height, stream.pix_fmt = rgb.shape[1], rgb.shape[0], "rgb8"
        for _ in range(frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path.read_bytes()


async def test_bmp_is_scanned_as_a_still_and_gif_or_tiff_get_415(random_model, clip, tmp_path):
    """A BMP is a photo like any other (a still, on purpose); a GIF (one frame or many) and FFmpeg's other
    picture formats are refused with a reason, not scored as a one-frame video."""
    import cv2

    bgr = cv2.imread(str(clip("single_face.jpg")))
    bmp = tmp_path / "face.bmp"
    bmp.write_bytes(cv2.imencode(".bmp", bgr)[1].tobytes())
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    async with api_client(random_model, tmp_path / "data") as client:
        scan, events = await upload_and_wait(client, bmp, "face.bmp")
        assert scan["info"]["format"] == "image/bmp" and events[-1]["status"] == "done"
        timeline = (await (await client.get(f"/api/scans/{scan['id']}")).json())["timeline"]
        assert timeline["video"]["still"] is True and len(timeline["tracks"]) == 1
        assert timeline["tracks"][0]["max_score"] is not None  # scored as a photo, not "uncertain" for want of frames
        refused = {"still.gif": gif_bytes(rgb, 1, tmp_path / "a.gif"), "moving.gif": gif_bytes(rgb, 5, tmp_path / "b.gif"),
                   "face.tiff": cv2.imencode(".tiff", bgr)[1].tobytes()}
        for name, data in refused.items():
            resp = await client.post("/api/scans", data=form(data=data, filename=name))
            body = await resp.json()
            assert resp.status == 415 and "not analysed" in body["error"] and "JPEG, PNG" in body["error"], (name, body)
        assert len((await (await client.get("/api/scans")).json())["scans"]) == 1
        assert [p.name for p in (tmp_path / "data" / "uploads").iterdir()] == [scan["id"]]
