"""ICE set-up: the servers both sides use (which local addresses are offered: see ``aiortc_compat``)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiortc import RTCConfiguration, RTCIceServer

if TYPE_CHECKING:  # the server's settings, read by duck type: live/ sits below server/
    from ..server.config import ServerConfig


def rtc_configuration(cfg: ServerConfig) -> RTCConfiguration:
    """The server's RTCConfiguration; an explicit empty list keeps aiortc off its default public STUN server."""
    return RTCConfiguration(iceServers=[RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
                                        for s in cfg.ice_servers])
