"""Frame sources: decoded RGB frames with presentation timestamps, from files and PyAV URLs."""
from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

MIN_SIDE = 16
# What a folder's videos are recognised by (the file itself is then probed by content).
VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ts", ".mts", ".mpg", ".mpeg",
                              ".flv", ".wmv", ".3gp", ".ogv"})


class MediaError(RuntimeError):
    """A file or stream cannot be read as video; the message is meant for the user."""


class Frame:
    """One frame to analyse: ``image`` (H, W, 3) uint8 RGB, ``pts`` in seconds and ``index`` in the decoded
    stream (before any fps sampling). Made from a decoded frame (``Frame.decoded``), it converts the pixels on
    first use only (``rgb``), and gives its ``grey`` from the decoder's luma plane without converting them."""

    __slots__ = ("_image", "_video", "pts", "index", "width", "height")

    def __init__(self, image: np.ndarray | None, pts: float, index: int, video: av.VideoFrame | None = None):
        if image is None and video is None:
            raise ValueError("a Frame needs an image or a decoded frame")
        self._image, self._video = image, video
        self.pts, self.index = pts, index
        self.height, self.width = image.shape[:2] if image is not None else (video.height, video.width)

    @classmethod
    def decoded(cls, video: av.VideoFrame, pts: float, index: int) -> Frame:
        return cls(None, pts, index, video)

    @property
    def image(self) -> np.ndarray:
        if self._image is None:
            self._image = rgb(self._video)
        return self._image

    def grey(self, max_width: int) -> tuple[np.ndarray, int]:
        """The frame in grey at most ``max_width`` wide (an integer factor smaller: OpenCV's fast area resize), and
        that factor. Grey as OpenCV's RGB2GRAY of ``image``: where ``rgb`` takes OpenCV's path, the luma plane
        stretched to full range instead (within a level or two of it, and the colours need not be converted)."""
        luma = self._video is not None and _opencv_path(self._video)
        grey = _luma(self._video) if luma else cv2.cvtColor(self.image, cv2.COLOR_RGB2GRAY)
        h, w = grey.shape
        factor = -(-w // max_width)
        if factor > 1:
            grey = cv2.resize(grey[: h - h % factor, : w - w % factor], (w // factor, h // factor),
                              interpolation=cv2.INTER_AREA)
        return (cv2.LUT(grey, _LIMITED_TO_FULL) if luma else grey), factor


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    duration: float | None  # seconds, when the container knows
    frames: int | None
    format: str = ""  # container format names, as FFmpeg gives them


def frame_time(frame: av.VideoFrame, fallback: float) -> float:
    """The one rule for a frame's timestamp: its pts in seconds, else the source's own clock (``fallback``:
    seconds since the first frame, by arrival for live sources, by index and frame rate for files)."""
    return float(frame.time) if frame.time is not None else fallback


# FFmpeg's colour spaces that mean BT.601 (unspecified included: swscale assumes BT.601 for it too)
_BT601 = frozenset({2, 5, 6})
_JPEG_RANGE = 2
# limited-range luma (16-235) to the grey of its RGB pixels (0-255)
_LIMITED_TO_FULL = np.clip(np.round((np.arange(256) - 16) * 255 / 219), 0, 255).astype(np.uint8)


def _opencv_path(frame: av.VideoFrame) -> bool:
    """Limited-range BT.601 4:2:0 with even sides: the frames ``rgb`` converts with OpenCV."""
    return (frame.format.name == "yuv420p" and frame.colorspace in _BT601 and frame.color_range != _JPEG_RANGE
            and frame.width % 2 == 0 and frame.height % 2 == 0)


def _luma(frame: av.VideoFrame) -> np.ndarray:
    """The luma plane, not copied."""
    plane = frame.planes[0]
    return np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)[:, :frame.width]


def rgb(frame: av.VideoFrame) -> np.ndarray:
    """The one rule for a decoded frame's pixels: (H, W, 3) uint8 RGB. Limited-range BT.601 4:2:0 (most video) is
    converted by OpenCV (within a few levels of swscale: chroma is not interpolated); anything else by swscale.
    OpenCV was about three times faster with its own thread pool; on the one thread it now runs on, swscale is
    faster (0.15 against 0.21 ms a 640x480 frame, 2026-12-04), but every evaluated figure of the shipped model was
    made with these pixels, so changing the path means evaluating again."""
    if _opencv_path(frame):
        return cv2.cvtColor(frame.to_ndarray(format="yuv420p"), cv2.COLOR_YUV2RGB_I420)
    return frame.to_ndarray(format="rgb24")


def check_file(path: Path) -> None:
    if not path.exists():
        raise MediaError(f"{path}: no such file")
    if not path.is_file():
        raise MediaError(f"{path}: not a regular file")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: file is empty")


def open_container(url: str, options: dict | None = None, timeout: float | None = None) -> av.container.InputContainer:
    try:
        return av.open(url, mode="r", options=options or {}, timeout=timeout)
    except av.error.FileNotFoundError as exc:
        raise MediaError(f"{url}: no such file") from exc
    except (av.error.InvalidDataError, av.error.EOFError) as exc:
        raise MediaError(f"{url}: not a readable video (unknown format or truncated file)") from exc
    except av.error.FFmpegError as exc:
        raise MediaError(f"{url}: cannot open: {exc.strerror or exc}") from exc


def video_info(container: av.container.InputContainer, name: str) -> VideoInfo:
    if not container.streams.video:
        raise MediaError(f"{name}: has no video stream")
    stream = container.streams.video[0]
    ctx = stream.codec_context
    if ctx.width < MIN_SIDE or ctx.height < MIN_SIDE:
        raise MediaError(f"{name}: video is {ctx.width}x{ctx.height}; at least {MIN_SIDE}x{MIN_SIDE} is needed")
    rate = stream.average_rate or stream.guessed_rate
    duration = float(container.duration / av.time_base) if container.duration else None
    return VideoInfo(ctx.width, ctx.height, float(rate) if rate else 0.0, duration, stream.frames or None,
                     container.format.name)


class UnsupportedMedia(MediaError):
    """A readable file of a kind deliberately not analysed; the message says why and what to send instead."""


def file_info(container: av.container.InputContainer, name: str) -> VideoInfo:
    """``video_info`` of a file, refusing GIF and the picture formats FFmpeg reads as one-frame "videos"
    (TIFF, JPEG 2000...). A GIF's 256-colour palette and dithering erase the traces the model reads and add
    their own, so its score would mean nothing; the photos the model reads are decoded as stills."""
    info = video_info(container, name)
    if info.format == "gif" or info.format.endswith("_pipe") or info.format == "image2":
        why = "GIF files are not analysed (their 256-colour palette erases what the model reads)" \
            if info.format == "gif" else f"{info.format.removesuffix('_pipe').upper()} pictures are not analysed"
        raise UnsupportedMedia(f"{name}: {why}; send the original video, or a JPEG, PNG, WebP or BMP photo")
    return info


def probe(path: Path | str) -> VideoInfo:
    """Validate a video file and describe it, or raise MediaError."""
    path = Path(path)
    check_file(path)
    with open_container(str(path)) as container:
        return file_info(container, str(path))


class Thinning:
    """The fps rule: keep at most ``fps`` frames per second of video time (every frame in order when None).
    A frame is kept when it is due; the next is due one step later, or one step after this one after a gap."""

    def __init__(self, fps: float | None):
        self.step = 1.0 / fps if fps else 0.0
        self.next = float("-inf")

    def keep(self, t: float) -> bool:
        if t + 1e-6 < self.next:
            return False
        self.next = t + self.step if t - self.next > self.step else self.next + self.step
        return True


def single_threaded(stream: av.video.stream.VideoStream) -> None:
    """Decode on the calling thread alone: where the parallelism is elsewhere (a worker per segment, a reader per
    live stream), decoder threads only contend for the cores (and frame threads add a frame of delay each)."""
    stream.thread_type = "NONE"
    stream.codec_context.thread_count = 1


class ReferenceFrames:
    """Live readers decode only the frames other frames refer to (FFmpeg's ``skip_frame`` NONREF: most B-frames)
    while those alone come ``margin`` times as often as the analysis now takes frames: it takes the latest one,
    so the others would be dropped after decoding anyway. Before their rate is measured (over ``window`` seconds
    of skipping), half the stream's frame rate is assumed. Sources without B-frames (most cameras, WebRTC)
    decode every frame either way."""

    def __init__(self, stream: av.video.stream.VideoStream, margin: float = 1.15, window: float = 2.0):
        rate = stream.average_rate or stream.guessed_rate
        self._ctx, self._margin, self._window = stream.codec_context, margin, window
        self.reference_fps = float(rate) / 2 if rate else 0.0  # assumed, then measured
        self.on = False
        self._since, self._count = 0.0, 0

    def decoded(self, now: float, wanted_fps: float) -> None:
        """A frame came out of the decoder at ``now`` (seconds) while the analysis takes ``wanted_fps``."""
        if self.on:
            self._count += 1
            if now - self._since >= self._window:
                self.reference_fps = self._count / (now - self._since)
                self._since, self._count = now, 0
        skip = self.reference_fps >= self._margin * wanted_fps
        if skip != self.on:
            self.on, self._since, self._count = skip, now, 0
            self._ctx.skip_frame = "NONREF" if skip else "DEFAULT"


def decode(container: av.container.InputContainer, name: str, fps: float | None = None) -> Iterator[Frame]:
    """Decode the first video stream; with ``fps``, keep at most that many frames per second."""
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    thinning = Thinning(fps)
    rate = float(stream.average_rate or stream.guessed_rate or 30)
    index = -1
    try:
        for frame in container.decode(stream):
            index += 1
            pts = frame_time(frame, index / rate)
            if thinning.keep(pts):
                yield Frame.decoded(frame, pts, index)
    except av.error.FFmpegError as exc:
        if index < 0:
            raise MediaError(f"{name}: no decodable video frames ({exc.strerror or exc})") from exc
        raise MediaError(f"{name}: decoding failed after frame {index} ({exc.strerror or exc})") from exc
    if index < 0:
        raise MediaError(f"{name}: no decodable video frames")
    if stream.frames and index + 1 < 0.9 * stream.frames:
        raise MediaError(f"{name}: truncated: only {index + 1} of {stream.frames} frames could be decoded")


def file_frames(path: Path | str, fps: float | None = None) -> Iterator[Frame]:
    """Frames of a video file, validated first (MediaError with a clear message)."""
    path = Path(path)
    check_file(path)
    with open_container(str(path)) as container:
        file_info(container, str(path))
        yield from decode(container, str(path), fps)


PREFETCH = 8  # frames decoded ahead of the analysis


def prefetch(frames: Iterator[Frame], depth: int = PREFETCH) -> Iterator[Frame]:
    """``frames`` advanced on their own thread, up to ``depth`` ahead of the caller (a bounded queue: decoding
    waits when the analysis is behind, nothing is dropped), so decoding overlaps the analysis. A decoding error
    is raised here, in order; closing this iterator stops the thread and closes ``frames``."""
    ahead: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for frame in frames:
                if not put(frame):
                    return
            put(end)
        except BaseException as exc:  # handed to the caller, raised there
            put(exc)
        finally:
            close = getattr(frames, "close", None)
            if close:
                close()

    thread = threading.Thread(target=run, name="dfs-decode", daemon=True)
    thread.start()
    try:
        while (item := ahead.get()) is not end:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


async def aiter_frames(frames: Iterator[Frame]) -> AsyncIterator[Frame]:
    """Advance a blocking frame iterator in a worker thread, one frame at a time (files: no drops)."""
    end = object()
    while (frame := await asyncio.to_thread(next, frames, end)) is not end:
        yield frame
