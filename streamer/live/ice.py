"""ICE set-up: the servers both sides use (which local addresses are offered: see ``aiortc_compat``)."""
from __future__ import annotations

from aiortc import RTCConfiguration, RTCIceServer

from ..server.config import ServerConfig


def rtc_configuration(cfg: ServerConfig) -> RTCConfiguration:
    """The server's RTCConfiguration; an explicit empty list keeps aiortc off its default public STUN server."""
    return RTCConfiguration(iceServers=[RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
                                        for s in cfg.ice_servers])
