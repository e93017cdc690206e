"""ICE set-up: the servers both sides use, and which local addresses become host candidates."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer

from .config import ServerConfig

_ORIGINAL: Callable[..., list[str]] = aioice.ice.get_host_addresses


def rtc_configuration(cfg: ServerConfig) -> RTCConfiguration:
    """The server's RTCConfiguration; an explicit empty list keeps aiortc off its default public STUN server."""
    return RTCConfiguration(iceServers=[RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
                                        for s in cfg.ice_servers])


def restrict_host_addresses(addresses: Sequence[str]) -> None:
    """Offer only these local addresses as host candidates (aioice never offers loopback on its own).

    aioice looks its host addresses up through a module function, so this applies to the whole process;
    an empty sequence restores aioice's own choice.
    """
    if not addresses:
        aioice.ice.get_host_addresses = _ORIGINAL
        return
    chosen = list(addresses)

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = host_addresses


def restore_host_addresses() -> None:
    aioice.ice.get_host_addresses = _ORIGINAL
