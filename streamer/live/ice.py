"""ICE set-up: the servers both sides use (which local addresses are offered: see ``aiortc_compat``)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from aiortc import RTCConfiguration, RTCIceServer


class IceServer(Protocol):
    urls: str
    username: str | None
    credential: str | None


class PeerSettings(Protocol):
    """What a peer connection needs of the server's settings (``ServerConfig`` has it)."""
    ice_servers: Sequence[IceServer]
    connect_timeout: float


def rtc_configuration(cfg: PeerSettings) -> RTCConfiguration:
    """The server's RTCConfiguration; an explicit empty list keeps aiortc off its default public STUN server."""
    return RTCConfiguration(iceServers=[RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
                                        for s in cfg.ice_servers])
