"""Photos: recognised by content (JPEG, PNG, WebP; also BMP and binary PPM/PGM), sized from their header before any decoding, decoded to RGB.

The header check refuses decode bombs (a small file declaring a huge picture) before a single pixel
is allocated.
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np

from .video import MIN_SIDE, MediaError, VideoInfo, check_file

MIME = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "bmp": "image/bmp",
        "pnm": "image/x-portable-anymap"}
EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".ppm", ".pgm"})
MAX_PIXELS = 50_000_000  # 50 megapixels: ~150 MB decoded, more than any camera's photo
MAX_SIDE = 20_000
MAX_ANALYSED_PIXELS = 12_000_000  # larger photos are analysed shrunk to this (faces stay hundreds of pixels)
REDUCED_FLAGS = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                 8: cv2.IMREAD_REDUCED_COLOR_8}


class ImageTooLarge(MediaError):
    """The picture's declared size is beyond the limits; the message is meant for the user."""


def sniff(head: bytes) -> str | None:
    """The image kind (a key of ``MIME``) from a file's first bytes; None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"BM") and len(head) >= 16 and head[14] in (12, 40, 52, 56, 108, 124):  # DIB header size
        return "bmp"
    if head[:2] in (b"P5", b"P6") and head[2:3].isspace():
        return "pnm"
    return None


def image_kind(path: Path | str) -> str | None:
    with open(path, "rb") as fh:
        return sniff(fh.read(16))


def _jpeg_size(fh: BinaryIO) -> tuple[int, int]:
    fh.seek(2)
    while True:
        if fh.read(1) != b"\xff":
            raise MediaError("corrupt segment")
        marker = fh.read(1)
        while marker == b"\xff":  # fill bytes before a marker
            marker = fh.read(1)
        if not marker or marker[0] in (0xD9, 0xDA):  # end of image or scan data before any frame header
            raise MediaError("no frame header")
        if marker[0] == 0x01 or 0xD0 <= marker[0] <= 0xD7:  # markers without a length
            continue
        raw = fh.read(2)
        if len(raw) < 2 or struct.unpack(">H", raw)[0] < 2:
            raise MediaError("truncated header")
        if 0xC0 <= marker[0] <= 0xCF and marker[0] not in (0xC4, 0xC8, 0xCC):  # a start-of-frame segment
            data = fh.read(5)
            if len(data) < 5:
                raise MediaError("truncated frame header")
            height, width = struct.unpack(">HH", data[1:5])
            return width, height
        fh.seek(struct.unpack(">H", raw)[0] - 2, 1)


def _png_size(fh: BinaryIO) -> tuple[int, int]:
    fh.seek(12)
    data = fh.read(12)
    if len(data) < 12 or data[:4] != b"IHDR":
        raise MediaError("no IHDR chunk")
    return struct.unpack(">II", data[4:12])


def _webp_size(fh: BinaryIO) -> tuple[int, int]:
    fh.seek(12)
    data = fh.read(18)
    if len(data) < 18:
        raise MediaError("truncated header")
    chunk = data[:4]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(data[12:15], "little"), 1 + int.from_bytes(data[15:18], "little")
    if chunk == b"VP8L":
        bits = int.from_bytes(data[9:13], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[14:18])
        return width & 0x3FFF, height & 0x3FFF
    raise MediaError(f"unknown WebP chunk {chunk!r}")


def _bmp_size(fh: BinaryIO) -> tuple[int, int]:
    fh.seek(14)
    data = fh.read(12)
    if len(data) < 12:
        raise MediaError("truncated header")
    if struct.unpack("<I", data[:4])[0] == 12:  # OS/2 header: 16-bit sizes
        return struct.unpack("<HH", data[4:8])
    width, height = struct.unpack("<ii", data[4:12])
    return abs(width), abs(height)  # a negative height is a top-down picture


def _pnm_size(fh: BinaryIO) -> tuple[int, int]:
    fh.seek(2)
    fields: list[int] = []
    for line in fh.read(1024).split(b"\n"):
        fields += [int(v) for v in line.split(b"#")[0].split()]
        if len(fields) >= 2:
            return fields[0], fields[1]
    raise MediaError("no size in the header")


SIZE_READERS = {"jpeg": _jpeg_size, "png": _png_size, "webp": _webp_size, "bmp": _bmp_size, "pnm": _pnm_size}


def probe_image(path: Path | str) -> VideoInfo:
    """Validate a photo by content and header size, or raise MediaError (ImageTooLarge for bombs)."""
    path = Path(path)
    check_file(path)
    kind = image_kind(path)
    if kind is None:
        raise MediaError(f"{path}: not a JPEG, PNG, WebP, BMP or PPM image")
    try:
        with open(path, "rb") as fh:
            width, height = SIZE_READERS[kind](fh)
    except (MediaError, struct.error, ValueError) as exc:
        raise MediaError(f"{path}: not a readable {kind.upper()} image ({exc})") from exc
    check_size(str(path), width, height)
    return VideoInfo(width, height, 0.0, None, 1, MIME[kind])


def check_size(name: str, width: int, height: int) -> None:
    if width < MIN_SIDE or height < MIN_SIDE:
        raise MediaError(f"{name}: image is {width}x{height}; at least {MIN_SIDE}x{MIN_SIDE} is needed")
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise ImageTooLarge(f"{name}: image is {width}x{height} ({width * height / 1e6:.0f} megapixels); at most "
                            f"{MAX_PIXELS // 1_000_000} megapixels and {MAX_SIDE} pixels a side are accepted")


@dataclass(frozen=True)
class Still:
    """A photo as analysed: RGB ``image`` at most ``MAX_ANALYSED_PIXELS``, and the photo's own upright size."""
    image: np.ndarray
    width: int
    height: int

    @property
    def scale(self) -> float:
        """Analysed pixels per photo pixel (1.0: full size)."""
        return self.image.shape[1] / self.width


def read_still(path: Path | str, max_pixels: int | None = MAX_ANALYSED_PIXELS) -> Still:
    """The photo as (H, W, 3) uint8 RGB, turned upright by its EXIF orientation as browsers show it, and no
    larger than ``max_pixels`` (None: full size). A large photo is decoded at 1/2, 1/4 or 1/8 size: a JPEG
    by the decoder itself (only the reduced picture is ever in memory), other formats decoded whole and
    shrunk at once by OpenCV. Measured extra peak memory (bench/still_memory.py): about 4 bytes per photo
    pixel for a PNG (~190 MB at 49 megapixels, was ~420 MB analysed whole), less for a JPEG; plus 36 MB for
    the analysed copy. tests/files/test_still.py holds it to 4 bytes per pixel + 48 MB."""
    info = probe_image(path)
    width, height = info.width, info.height
    factor = 1
    if max_pixels:
        while factor < 8 and width * height / (2 * factor) ** 2 >= max_pixels:
            factor *= 2
    bgr = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), REDUCED_FLAGS[factor])
    if bgr is None:
        raise MediaError(f"{path}: the image data cannot be decoded (truncated or corrupt)")
    decoded_h, decoded_w = bgr.shape[:2]
    if width != height and (decoded_w > decoded_h) != (width > height):  # EXIF turned it a quarter
        width, height = height, width
    if max_pixels and decoded_w * decoded_h > max_pixels:
        k = math.sqrt(max_pixels / (decoded_w * decoded_h))
        bgr = cv2.resize(bgr, (max(1, int(decoded_w * k)), max(1, int(decoded_h * k))), interpolation=cv2.INTER_AREA)
    return Still(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=bgr), width, height)


def read_image(path: Path | str) -> np.ndarray:
    """The photo at full size as (H, W, 3) uint8 RGB, upright."""
    return read_still(path, max_pixels=None).image


def is_photo(info: VideoInfo) -> bool:
    """A probe (``probe_image``'s) that describes a photo rather than a video."""
    return info.format.startswith("image/")


def snapshot(image: np.ndarray, box: list[float], margin: float = 0.3, quality: int = 85) -> bytes:
    """JPEG of the face with some context around it, from an RGB frame."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = box
    pad_x, pad_y = (x1 - x0) * margin, (y1 - y0) * margin
    crop = image[max(0, int(y0 - pad_y)):min(h, int(y1 + pad_y)), max(0, int(x0 - pad_x)):min(w, int(x1 + pad_x))]
    if crop.size == 0:
        crop = image
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return data.tobytes() if ok else b""
