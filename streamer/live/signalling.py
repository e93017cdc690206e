"""Validation of the page's WebRTC offer: every way it can be wrong gets a status and a message."""
from __future__ import annotations

import json

from aiortc import RTCSessionDescription


class OfferError(Exception):
    """An offer the server refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class SessionLimitError(OfferError):
    def __init__(self, limit: int):
        super().__init__(503, f"The server is analysing {limit} live session{'s' if limit != 1 else ''}, "
                              "its maximum. Try again in a moment.")


def _sends(section: str) -> bool:
    """Whether an SDP media section offers to send (sendrecv, sendonly, or no direction: sendrecv)."""
    return not any(f"\na={direction}" in section for direction in ("recvonly", "inactive"))


def parse_offer(body: bytes) -> RTCSessionDescription:
    """Check the body is ``{"sdp": "v=0...", "type": "offer"}`` with a video section; raise OfferError."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OfferError(400, f"The offer is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise OfferError(400, "The offer must be a JSON object with 'sdp' and 'type'.")
    missing = [key for key in ("sdp", "type") if key not in data]
    if missing:
        raise OfferError(400, f"The offer is missing {' and '.join(repr(k) for k in missing)}.")
    sdp, kind = data["sdp"], data["type"]
    if kind != "offer":
        raise OfferError(400, f"Expected type 'offer', got {kind!r}.")
    return check_offer_sdp(sdp, data_channel=True)


def check_offer_sdp(sdp: object, data_channel: bool) -> RTCSessionDescription:
    """Check an SDP offer sends video (and, for the page, opens a data channel); raise OfferError."""
    if not isinstance(sdp, str) or not sdp.startswith("v=0"):
        raise OfferError(400, "The 'sdp' field is not a session description (it must start with 'v=0').")
    sections = sdp.replace("\r\n", "\n").split("\nm=")[1:]
    video = [section for section in sections if section.startswith("video ")]
    if not video:
        raise OfferError(400, "The offer has no video: send the camera track.")
    if not any(_sends(section) for section in video):
        raise OfferError(400, "The offer's video is not sent: add the camera track as sendonly or sendrecv.")
    if data_channel and not any(section.startswith("application ") for section in sections):
        raise OfferError(400, "The offer has no data channel for the results.")
    return RTCSessionDescription(sdp=sdp, type="offer")
