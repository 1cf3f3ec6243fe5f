"""Where a webhook may be delivered: https to a public address, checked at registration and again
at every delivery, and the connection made to the very address that was checked.

The host is resolved once per check; every address it resolves to must be public (not loopback,
private, link-local, shared, multicast, reserved or unspecified, in IPv4 or IPv6, however the IP
literal is spelt: ``2130706433``, ``0177.0.0.1``, ``127.1``, ``[::ffff:127.0.0.1]``...). The
delivery then connects to the checked address with the name as Host and TLS server name: no
second lookup that a rebinding DNS server could answer differently. ``PORTAL_WEBHOOKS_ALLOW_HTTP_LOOPBACK``
is the only way to allow loopback addresses (and plain http to them), for development.

The resolver and the connector are the app's ``extensions["portal.network"]`` (a :class:`Network`),
so that the tests control them and never open a connection outside loopback.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

from flask import current_app

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: IPv6 prefixes that carry an IPv4 address a gateway would reach (NAT64, 6to4).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_6TO4 = ipaddress.ip_network("2002::/16")
_LOCAL_NAMES = ("localhost", "localhost.localdomain")


class TargetRefused(ValueError):
    """The URL may not receive webhooks; the message says why."""


@dataclass(frozen=True)
class Network:
    """How webhooks reach the outside: ``resolve(host, port)`` -> addresses, ``connect((ip, port), timeout)``."""

    resolve: Callable[[str, int], list[str]]
    connect: Callable[[tuple[str, int], float], socket.socket]


def system_resolve(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for ``host`` (TCP)."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def system_connect(address: tuple[str, int], timeout: float) -> socket.socket:
    """A TCP connection to exactly ``address``."""
    return socket.create_connection(address, timeout=timeout)


SYSTEM = Network(system_resolve, system_connect)


def network() -> Network:
    """The app's network (the system's unless a test installed its own)."""
    return current_app.extensions.get("portal.network", SYSTEM)


@dataclass(frozen=True)
class Target:
    """A checked webhook URL: connect to ``address``, say ``host`` (Host header, TLS server name)."""

    scheme: str
    host: str
    port: int
    address: str
    path: str


def ip_literal(host: str) -> IPAddress | None:
    """The address a host that is an IP literal stands for, in any spelling ``inet_aton`` accepts."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if host and all(char in "0123456789abcdefxABCDEFX." for char in host) and host[0].isdigit():
        try:  # 2130706433, 0177.0.0.1, 0x7f.1, 127.1: what the C library would connect to
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _embedded_v4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _6TO4:
        return address.sixtofour
    return None


def refusal(address: IPAddress, *, allow_loopback: bool) -> str | None:
    """Why ``address`` may not receive webhooks, or None when it may."""
    inner = _embedded_v4(address)
    if inner is not None:
        return refusal(inner, allow_loopback=allow_loopback)
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    for flag, reason in (("is_unspecified", "an unspecified address"), ("is_multicast", "a multicast address"),
                         ("is_link_local", "a link-local address"), ("is_reserved", "a reserved address"),
                         ("is_private", "a private address")):
        if getattr(address, flag):
            return reason
    if not address.is_global:
        return "a non-public address (shared, documentation or special-purpose range)"
    return None


def check(url: str) -> Target:
    """The target of ``url`` after resolving it once and checking every address; TargetRefused otherwise."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise TargetRefused("the url is not a valid URL") from None
    if parts.username is not None or parts.password is not None or not parts.hostname:
        raise TargetRefused("the url needs a host and no credentials")
    allow_loopback = bool(current_app.config.get("PORTAL_WEBHOOKS_ALLOW_HTTP_LOOPBACK"))
    if parts.scheme not in ("https", "http"):
        raise TargetRefused("the url must use https")
    host = parts.hostname.rstrip(".")
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = _addresses(host, port, allow_loopback)
    is_loopback = all(_unwrap(address).is_loopback for address in addresses)
    if parts.scheme == "http" and not (allow_loopback and is_loopback):
        raise TargetRefused("the url must use https")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, str(addresses[0]), path)


def _unwrap(address: IPAddress) -> IPAddress:
    return _embedded_v4(address) or address


def _addresses(host: str, port: int, allow_loopback: bool) -> list[IPAddress]:
    literal = ip_literal(host)
    if literal is not None:
        addresses = [literal]
    elif host.lower() in _LOCAL_NAMES or host.lower().endswith(".localhost"):
        addresses = [ipaddress.ip_address("127.0.0.1")]
    else:
        try:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in network().resolve(host, port)]
        except (OSError, UnicodeError, ValueError):
            raise TargetRefused(f"the host {host[:100]!r} does not resolve") from None
        if not addresses:
            raise TargetRefused(f"the host {host[:100]!r} does not resolve")
    for address in addresses:
        reason = refusal(address, allow_loopback=allow_loopback)
        if reason:
            raise TargetRefused(f"the host {host[:100]!r} is {reason} ({address})")
    return addresses
