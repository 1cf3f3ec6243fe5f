"""The webhooks' network in the tests: a resolver the test controls, and a connector that only
ever reaches loopback (and records every attempt), so that no test connects outside 127.0.0.0/8."""
from __future__ import annotations

import ipaddress
import socket

#: What a name resolves to when the test did not say: a public address, never connected to.
PUBLIC = "93.184.215.14"


class TestNetwork:
    """``names`` maps a host to its addresses; ``resolved`` and ``connections`` record the calls."""

    __test__ = False

    def __init__(self):
        self.names: dict[str, list[str]] = {}
        self.resolved: list[str] = []
        self.connections: list[tuple[str, int]] = []

    def resolve(self, host: str, port: int) -> list[str]:
        self.resolved.append(host)
        if host in self.names:
            addresses = self.names[host]
            if not addresses:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return list(addresses)
        return [PUBLIC]

    def connect(self, address: tuple[str, int], timeout: float) -> socket.socket:
        self.connections.append(address)
        if not ipaddress.ip_address(address[0]).is_loopback:
            raise ConnectionRefusedError(f"test network: no connection outside loopback ({address[0]})")
        return socket.create_connection(address, timeout=timeout)
