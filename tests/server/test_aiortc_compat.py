"""The marker-bit jitter buffer: frames leave on their last packet, and aiortc's rules still hold."""
from __future__ import annotations

from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from streamer.live.aiortc_compat import MarkerJitterBuffer


def packet(seq: int, ts: int, data: bytes, marker: bool = False) -> RtpPacket:
    p = RtpPacket(sequence_number=seq, timestamp=ts, marker=int(marker))
    p._data = data
    return p


def feed(buffer: JitterBuffer, packets: list[RtpPacket]) -> list[tuple[int, bytes]]:
    out = []
    for p in packets:
        _pli, frame = buffer.add(p)
        if frame is not None:
            out.append((frame.timestamp, frame.data))
    return out


def test_frame_leaves_on_its_marker_packet() -> None:
    stream = [packet(10, 900, b"a"), packet(11, 900, b"b"), packet(12, 900, b"c", marker=True)]
    assert feed(MarkerJitterBuffer(capacity=128, is_video=True), stream) == [(900, b"abc")]
    # aiortc's own buffer would still be waiting for the next frame
    assert feed(JitterBuffer(capacity=128, is_video=True), stream) == []


def test_consecutive_frames_each_leave_once() -> None:
    stream = [packet(1, 100, b"a", True), packet(2, 200, b"b"), packet(3, 200, b"c", True), packet(4, 300, b"d", True)]
    assert feed(MarkerJitterBuffer(capacity=128, is_video=True), stream) == [(100, b"a"), (200, b"bc"), (300, b"d")]


def test_gap_waits_for_the_missing_packet() -> None:
    buffer = MarkerJitterBuffer(capacity=128, is_video=True)
    assert feed(buffer, [packet(5, 100, b"a"), packet(7, 100, b"c", True)]) == []
    assert feed(buffer, [packet(6, 100, b"b")]) == [(100, b"abc")]  # the retransmission fills it


def test_frame_without_marker_leaves_when_the_next_begins() -> None:
    buffer = MarkerJitterBuffer(capacity=128, is_video=True)
    assert feed(buffer, [packet(1, 100, b"a"), packet(2, 100, b"b")]) == []
    assert feed(buffer, [packet(3, 200, b"c")]) == [(100, b"ab")]  # aiortc's rule
    assert feed(buffer, [packet(4, 200, b"d", True)]) == [(200, b"cd")]


def test_a_gap_holds_frames_back_until_it_is_filled() -> None:
    buffer = MarkerJitterBuffer(capacity=128, is_video=True)
    assert feed(buffer, [packet(1, 100, b"a"), packet(2, 100, b"b"), packet(4, 200, b"d", True)]) == []
    # The retransmitted packet completes frame 100; one frame leaves per packet, so 200 waits...
    assert feed(buffer, [packet(3, 100, b"c", True)]) == [(100, b"abc")]
    assert feed(buffer, [packet(5, 300, b"e")]) == [(200, b"d")]
    # ...and the next multi-packet frame catches up on its marker.
    assert feed(buffer, [packet(6, 300, b"f", True)]) == [(300, b"ef")]


def test_this_aiortc_still_has_every_internal_the_server_relies_on() -> None:
    """Fails on an aiortc/aioice upgrade that moves what aiortc_compat patches: re-check it, then re-pin."""
    import aioice
    import aiortc

    from streamer.live.aiortc_compat import capabilities

    missing = [name for name, ok in capabilities().items() if not ok]
    assert not missing, f"aiortc {aiortc.__version__} / aioice {aioice.__version__} lack: {missing}"
