"""A video jitter buffer that hands a frame to the decoder as soon as its last packet is in.

aiortc's ``JitterBuffer`` only knows a video frame is complete when the first packet of the *next*
frame arrives, which holds every frame back by one frame interval (33-42 ms at 24-30 fps) before it
is even decoded. The RTP marker bit flags the last packet of a video frame (RFC 7741 for VP8, RFC 6184
for H.264), so a frame whose packets are all in, up to the marked one, can leave at once. Everything
else (loss, reordering, overflow, PLI requests) keeps aiortc's rules.
"""
from __future__ import annotations

import logging

from aiortc import RTCRtpReceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame

log = logging.getLogger(__name__)
_ATTRIBUTE = "_RTCRtpReceiver__jitter_buffer"


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


def install(receiver: RTCRtpReceiver) -> bool:
    """Swap the receiver's video jitter buffer for a ``MarkerJitterBuffer``; call before media flows.

    False (and aiortc's own buffer stays) where this aiortc keeps its buffer elsewhere.
    """
    current = getattr(receiver, _ATTRIBUTE, None)
    if type(current) is not JitterBuffer or not getattr(current, "_is_video", False):
        log.warning("aiortc's jitter buffer not found: frames wait for the next frame's first packet")
        return False
    setattr(receiver, _ATTRIBUTE, MarkerJitterBuffer(capacity=current.capacity, is_video=True))
    return True
