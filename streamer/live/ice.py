"""ICE set-up: the servers both sides use (which local addresses are offered: see ``aiortc_compat``)."""
from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from aiortc import RTCConfiguration, RTCIceServer

from . import aiortc_compat


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


@dataclass(frozen=True)
class IcePlan:
    """Where a browser's video can reach this server: the host addresses offered, and whether TURN relays."""
    addresses: tuple[str, ...]
    relayed: bool

    @property
    def local_only(self) -> bool:
        return all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in self.addresses)

    def summary(self) -> str:
        """The start-up line."""
        offered = ", ".join(self.addresses) or "none"
        relay = " (and relayed through the TURN server)" if self.relayed else ""
        return f"webcam video (ICE) offered on: {offered}{relay}"

    def hint(self, client_is_local: bool) -> str | None:
        """Why a browser (on this machine or not) cannot connect its webcam, and what to do; None if it can."""
        if self.relayed:
            return None
        if not self.addresses:
            return ("This server offers no address for webcam video: it has no network interface besides "
                    "loopback and was started without --ice-address, so the connection cannot succeed. Start it "
                    "with --ice-address 127.0.0.1 for a browser on the same machine, or with an address this "
                    "browser can reach.")
        if self.local_only and not client_is_local:
            return (f"This server offers webcam video only on {', '.join(self.addresses)} (loopback), which this "
                    "browser, on another machine, cannot reach. Start it with --ice-address set to an address "
                    "this browser can reach, or with a TURN server.")
        return None


def ice_plan(cfg: PeerSettings) -> IcePlan:
    """What this process offers now (call after ``aiortc_compat.restrict_host_addresses``)."""
    relayed = any(s.urls.lower().startswith("turn") for s in cfg.ice_servers)
    return IcePlan(tuple(aiortc_compat.host_addresses()), relayed)
