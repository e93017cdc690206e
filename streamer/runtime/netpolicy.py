"""Outbound address rules for stream and webhook URLs: resolve the host, then check every address.

Always refused: link-local (169.254/16, fe80::/10, where cloud metadata lives), known metadata addresses,
multicast, unspecified, broadcast and reserved. Loopback, private and other non-global addresses only when
an allowed network covers them. Public addresses are allowed. The caller gets one generic message
(``REFUSED``); the reason goes to the server log, so the API cannot be used to map a network.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

log = logging.getLogger(__name__)
REFUSED = "the stream address is not allowed or cannot be resolved"
REDIRECT = "the stream's server redirected it elsewhere; redirects are not followed (use the final address)"
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
METADATA = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "168.63.129.16"))
LOOPBACK = ("127.0.0.0/8", "::1/128")


class PolicyError(ValueError):
    """A URL's host is refused by the rules; ``str()`` is the generic message, ``reason`` the detail."""

    def __init__(self, reason: str):
        super().__init__(REFUSED)
        self.reason = reason


def parse_networks(values: list[str] | tuple[str, ...]) -> tuple[Network, ...]:
    out = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value, strict=False))
        except ValueError as exc:
            raise PolicyError(f"{value!r} is not a network (CIDR such as 192.168.1.0/24 or an address)") from exc
    return tuple(out)


def always_refused(address: Address) -> str | None:
    """Why ``address`` may never be reached, or None."""
    if address in METADATA:
        return "a cloud metadata address"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_unspecified:
        return "unspecified"
    if address.version == 4 and address.is_reserved:  # 240/4 and the broadcast address
        return "reserved"
    return None


def _unwrap(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address):
        for inner in (address.ipv4_mapped, address.sixtofour):
            if inner is not None:
                return inner
        if address in ipaddress.ip_network("64:ff9b::/96"):  # NAT64 of an IPv4 address
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


@dataclass(frozen=True)
class AddressPolicy:
    allowed: tuple[Network, ...] = field(default=())

    @classmethod
    def from_cidrs(cls, values: list[str] | tuple[str, ...]) -> "AddressPolicy":
        return cls(parse_networks(values))

    @classmethod
    def loopback_only(cls) -> "AddressPolicy":
        return cls.from_cidrs(LOOPBACK)

    @classmethod
    def trusting(cls) -> "AddressPolicy":
        """Loopback and private networks allowed (URLs from the operator's own command line)."""
        return cls.from_cidrs((*LOOPBACK, "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                               "fc00::/7"))

    def check_address(self, address: Address) -> None:
        address = _unwrap(address)
        if why := always_refused(address):
            raise PolicyError(f"{address} is {why}")
        if address.is_global:
            return
        if any(address.version == net.version and address in net for net in self.allowed):
            return
        raise PolicyError(f"{address} is loopback or private and not in --allow-stream-hosts")

    def check_addresses(self, host: str, addresses: list[str]) -> list[Address]:
        if not addresses:
            raise PolicyError(f"{host} resolves to no address")
        parsed = [ipaddress.ip_address(a.split("%", 1)[0]) for a in addresses]
        for address in parsed:
            self.check_address(address)
        return parsed


def url_host(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    if "\\" in parts.netloc or not parts.hostname:
        raise PolicyError(f"cannot tell the host of {parts.scheme}://{parts.hostname or ''}")
    try:
        port = parts.port
    except ValueError as exc:
        raise PolicyError("bad port") from exc
    return parts.hostname, port


def check_url_host(url: str, policy: AddressPolicy) -> list[Address]:
    """Resolve (blocking) and check the host of ``url``; PolicyError if refused. Logs the reason."""
    host, port = url_host(url)
    return _judge(host, _resolve(host, port or 0), policy)


def connect_checked(host: str, port: int, policy: AddressPolicy, timeout: float) -> socket.socket:
    """A TCP connection to ``host``: resolved once, every address checked, then one of those very addresses
    connected, so a name that resolves elsewhere a moment later (DNS rebinding) changes nothing.
    PolicyError if refused, OSError if no address answers."""
    infos = _resolve(host, port)
    _judge(host, infos, policy)
    error: OSError = OSError(f"cannot connect to {host}")
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error


def _resolve(host: str, port: int) -> list | Exception:
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        return exc


async def check_url_host_async(url: str, policy: AddressPolicy) -> list[Address]:
    """As ``check_url_host``, without blocking the event loop."""
    host, port = url_host(url)
    try:
        infos: list | Exception = await asyncio.get_running_loop().getaddrinfo(host, port or 0,
                                                                               type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        infos = exc
    return _judge(host, infos, policy)


def _judge(host: str, infos: list | Exception, policy: AddressPolicy) -> list[Address]:
    try:
        if isinstance(infos, Exception):
            raise PolicyError(f"cannot resolve {host}: {infos}")
        return policy.check_addresses(host, sorted({info[4][0] for info in infos}))
    except PolicyError as exc:
        log.warning("outbound address refused for host %s: %s", host, exc.reason)
        raise
