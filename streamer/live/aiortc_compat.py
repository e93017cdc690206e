"""Every use of aiortc's and aioice's internals, fenced here; ``capabilities`` says which still work.

Three things the public APIs do not offer:

- **Jitter buffer.** aiortc's ``JitterBuffer`` only knows a video frame is complete when the first packet
  of the *next* frame arrives, which holds every frame back by one frame interval (33-42 ms at 24-30 fps)
  before it is even decoded. The RTP marker bit flags the last packet of a video frame (RFC 7741 for VP8,
  RFC 6184 for H.264), so a frame whose packets are all in, up to the marked one, can leave at once.
  Everything else (loss, reordering, overflow, PLI requests) keeps aiortc's rules.
- **RTP timestamp origin.** aiortc hands out frame pts relative to the first frame's RTP timestamp; its
  receiver's timestamp mapper knows that origin, which the page needs to match results to frames.
- **Host addresses.** aioice looks its host candidates up through a module function; the server offers
  only the configured addresses (aioice never offers loopback on its own).

The versions tested are pinned in pyproject.toml; tests/server/test_aiortc_compat.py fails loudly when an
upgrade moves any of these.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import aioice.ice
from aiortc import RTCRtpReceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame

log = logging.getLogger(__name__)
_JITTER_ATTRIBUTE = "_RTCRtpReceiver__jitter_buffer"
_MAPPER_ATTRIBUTE = "_RTCRtpReceiver__timestamp_mapper"
_ORIGINAL_HOST_ADDRESSES: Callable[..., list[str]] = aioice.ice.get_host_addresses


class MarkerJitterBuffer(JitterBuffer):
    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        frame = super()._remove_frame(sequence_number)  # a new frame began: the previous one is done
        if frame is not None or self._origin is None:
            return frame
        packets = []
        for count in range(self.capacity):
            packet = self._packets[(self._origin + count) % self.capacity]
            if packet is None or (packets and packet.timestamp != packets[0].timestamp):
                return None  # a gap (wait for it, or for NACK/retransmission) or a frame without marker
            packets.append(packet)
            if packet.marker:
                self.remove(count + 1)
                return JitterFrame(data=b"".join(p._data for p in packets), timestamp=packet.timestamp)
        return None


def install_marker_jitter_buffer(receiver: RTCRtpReceiver) -> bool:
    """Swap the receiver's video jitter buffer for a ``MarkerJitterBuffer``; call before media flows.

    False (and aiortc's own buffer stays) where this aiortc keeps its buffer elsewhere.
    """
    current = getattr(receiver, _JITTER_ATTRIBUTE, None)
    if type(current) is not JitterBuffer or not getattr(current, "_is_video", False):
        log.warning("aiortc's jitter buffer not found: frames wait for the next frame's first packet")
        return False
    setattr(receiver, _JITTER_ATTRIBUTE, MarkerJitterBuffer(capacity=current.capacity, is_video=True))
    return True


def rtp_origin(receiver: RTCRtpReceiver) -> Callable[[], int | None]:
    """A function giving the RTP timestamp of the receiver's first frame once known (None before, or where
    this aiortc keeps it elsewhere)."""
    mapper = getattr(receiver, _MAPPER_ATTRIBUTE, None)
    return lambda: getattr(mapper, "_origin", None)


def restrict_host_addresses(addresses: Sequence[str]) -> None:
    """Offer only these local addresses as host candidates, process-wide; empty restores aioice's choice."""
    if not addresses:
        restore_host_addresses()
        return
    chosen = list(addresses)

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = host_addresses


def host_addresses() -> list[str]:
    """The local addresses offered as host candidates now: the configured ones, or those aioice finds."""
    return list(aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True))


def restore_host_addresses() -> None:
    aioice.ice.get_host_addresses = _ORIGINAL_HOST_ADDRESSES


def capabilities() -> dict[str, bool]:
    """Which internals this aiortc/aioice still has, checked on a throwaway receiver."""
    from aiortc.rtcdtlstransport import RTCCertificate, RTCDtlsTransport
    from aiortc.rtcicetransport import RTCIceGatherer, RTCIceTransport

    transport = RTCDtlsTransport(RTCIceTransport(RTCIceGatherer()), [RTCCertificate.generateCertificate()])
    receiver = RTCRtpReceiver("video", transport)
    buffer = getattr(receiver, _JITTER_ATTRIBUTE, None)
    mapper = getattr(receiver, _MAPPER_ATTRIBUTE, None)
    return {
        "marker_jitter_buffer": type(buffer) is JitterBuffer and getattr(buffer, "_is_video", False)
        and all(hasattr(buffer, a) for a in ("_origin", "_packets", "remove", "_remove_frame")),
        "rtp_origin": mapper is not None and hasattr(mapper, "_origin"),
        "host_addresses": callable(getattr(aioice.ice, "get_host_addresses", None)),
    }
