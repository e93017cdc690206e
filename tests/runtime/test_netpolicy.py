"""Outbound address rules, on addresses alone (no lookup, no connection)."""
from __future__ import annotations

import ipaddress
import socket
import time

import pytest

from streamer.runtime.netpolicy import REFUSED, AddressPolicy, PolicyError, connect_checked, parse_networks, url_host
from tests.server.bad_servers import Listener

ALWAYS = ["169.254.169.254", "169.254.0.1", "fe80::1", "fd00:ec2::254", "100.100.100.200", "224.0.0.1", "ff02::1",
          "0.0.0.0", "::", "255.255.255.255", "240.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe",
          "2002:a9fe:a9fe::1"]
NON_GLOBAL = ["127.0.0.1", "127.1.2.3", "::1", "10.0.0.5", "172.16.3.4", "192.168.1.20", "100.64.0.1", "fc00::1",
              "::ffff:10.0.0.5"]


@pytest.mark.parametrize("address", ALWAYS)
def test_always_refused_even_when_allowed(address):
    everything = AddressPolicy.from_cidrs(["0.0.0.0/0", "::/0"])
    with pytest.raises(PolicyError) as info:
        everything.check_address(ipaddress.ip_address(address))
    assert str(info.value) == REFUSED and info.value.reason


@pytest.mark.parametrize("address", NON_GLOBAL)
def test_loopback_and_private_need_an_allowed_network(address):
    with pytest.raises(PolicyError):
        AddressPolicy().check_address(ipaddress.ip_address(address))
    AddressPolicy.from_cidrs(["127.0.0.0/8", "::1", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                              "100.64.0.0/10", "fc00::/7"]).check_address(ipaddress.ip_address(address))


def test_loopback_only_allows_loopback_and_public_addresses():
    policy = AddressPolicy.loopback_only()
    for address in ("127.0.0.1", "::1", "8.8.8.8", "2001:4860:4860::8888"):
        policy.check_address(ipaddress.ip_address(address))
    with pytest.raises(PolicyError):
        policy.check_address(ipaddress.ip_address("192.168.1.1"))


def test_every_resolved_address_must_pass():
    with pytest.raises(PolicyError):
        AddressPolicy.loopback_only().check_addresses("two.example", ["127.0.0.1", "10.0.0.1"])
    with pytest.raises(PolicyError):
        AddressPolicy.loopback_only().check_addresses("none.example", [])


def test_bad_networks_and_hosts_are_explained():
    with pytest.raises(PolicyError) as info:
        parse_networks(["192.168.1.0/33"])
    assert "not a network" in info.value.reason
    with pytest.raises(PolicyError):
        url_host("rtsp://evil.example\\@169.254.169.254/")
    assert url_host("rtsp://u:p@[::1]:8554/x") == ("::1", 8554)


def test_connect_checked_connects_to_the_very_address_it_checked(monkeypatch):
    """A name that resolves to an allowed address once and to a refused one from then on (DNS rebinding):
    the connection goes to the address that was checked, never to a later answer."""
    allowed = Listener("127.0.0.2")
    refused = Listener("127.0.0.1", allowed.port)
    answers = iter(["127.0.0.2"])
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host == "cam.rebind.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers, "127.0.0.1"), port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    policy = AddressPolicy.from_cidrs(["127.0.0.2/32"])
    try:
        connect_checked("cam.rebind.test", allowed.port, policy, 2.0).close()
        with pytest.raises(PolicyError):  # the next resolution says 127.0.0.1: refused, not connected
            connect_checked("cam.rebind.test", allowed.port, policy, 2.0)
        for _ in range(50):
            if allowed.connections:
                break
            time.sleep(0.02)
    finally:
        allowed.close()
        refused.close()
    assert allowed.connections == 1 and refused.connections == 0
