import struct
import zlib

import cv2
import numpy as np
import pytest

from streamer.media.images import ImageTooLarge, MAX_PIXELS, probe_image, read_image, sniff
from streamer.media.video import MediaError


def png_declaring(width: int, height: int) -> bytes:
    """A valid little PNG whose header claims ``width`` x ``height`` (a decode bomb when large)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp", ".bmp", ".ppm"])
def test_header_size_matches_the_decoded_photo(clip, tmp_path, ext):
    bgr = cv2.imread(str(clip("zidane.jpg")))[:301, :517]  # odd sizes catch swapped or off-by-one fields
    path = tmp_path / f"photo{ext}"
    assert cv2.imwrite(str(path), bgr)
    info = probe_image(path)
    assert (info.width, info.height) == (517, 301) and info.format.startswith("image/")
    rgb = read_image(path)
    assert rgb.shape == (301, 517, 3)
    if ext in (".png", ".bmp", ".ppm"):
        assert np.array_equal(rgb, bgr[:, :, ::-1])


def test_lossless_webp_header_is_read_too(clip, tmp_path):
    path = tmp_path / "lossless.webp"
    cv2.imwrite(str(path), cv2.imread(str(clip("astronaut.png"))), [cv2.IMWRITE_WEBP_QUALITY, 101])
    assert (probe_image(path).width, probe_image(path).height) == (512, 512)


def test_photos_are_told_by_content_not_name(clip, tmp_path):
    disguised = tmp_path / "holiday.mp4"
    disguised.write_bytes(clip("biden.jpg").read_bytes())
    assert probe_image(disguised).format == "image/jpeg"
    assert sniff(b"\x00\x00\x00\x18ftypmp42") is None


def test_a_decode_bomb_is_refused_from_its_header(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_declaring(60000, 60000))
    assert bomb.stat().st_size < 2000
    with pytest.raises(ImageTooLarge, match="60000x60000 .*megapixels"):
        read_image(bomb)
    wide = tmp_path / "wide.png"
    wide.write_bytes(png_declaring(30000, 100))  # few pixels, but too wide
    with pytest.raises(ImageTooLarge):
        probe_image(wide)
    assert 7000 * 7000 <= MAX_PIXELS  # a 49 MP camera photo still passes


@pytest.mark.parametrize("data, why", [(b"\xff\xd8\xff\xe0\x00\x10JFIF", "not a readable JPEG"),
                                       (b"hello, not a photo at all", "not a JPEG, PNG"),
                                       (png_declaring(8, 8), "at least 16x16")])
def test_broken_photos_get_one_clear_message(tmp_path, data, why):
    path = tmp_path / "bad.jpg"
    path.write_bytes(data)
    with pytest.raises(MediaError, match=why):
        read_image(path)


def test_truncated_pixel_data_is_an_error_not_a_crash(clip, tmp_path):
    cut = tmp_path / "cut.png"
    data = clip("astronaut.png").read_bytes()
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(MediaError, match="cannot be decoded"):
        read_image(cut)
