"""The real client address of a webhook request behind nginx, and Telegram's networks.

Forwarded headers are believed only from a trusted proxy (TRUSTED_PROXIES, and a unix-socket
peer, which only local processes such as nginx can reach). Then the client is the right-most
`X-Forwarded-For` entry that is not itself a trusted proxy: every proxy appends the address it
saw, so entries left of it were written by the client and prove nothing. `X-Real-IP` is used
when there is no `X-Forwarded-For`. From anyone else the TCP peer address is the client.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from aiohttp import web

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

# Telegram posts webhooks from these networks only (Bot API docs, "Webhooks").
TELEGRAM_NETWORKS: tuple[IPNetwork, ...] = (
    ip_network("149.154.160.0/20"),
    ip_network("91.108.4.0/22"),
)


def parse_networks(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Addresses or CIDR networks (`127.0.0.1`, `10.0.0.0/8`); ValueError names a bad entry."""
    networks: list[IPNetwork] = []
    for entry in entries:
        try:
            networks.append(ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"TRUSTED_PROXIES entry {entry!r} is not an IP address or network: "
                "use addresses or CIDR networks separated by commas, e.g. 127.0.0.1,::1"
            ) from None
    return tuple(networks)


def parse_address(text: str) -> IPAddress | None:
    """An address from a header entry (`1.2.3.4`, `[::1]`), IPv4-mapped IPv6 unwrapped."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def in_networks(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    """True when `address` belongs to one of `networks`."""
    return any(address in network for network in networks)


def is_telegram_address(address: IPAddress | None) -> bool:
    """True for an address in Telegram's webhook networks."""
    return address is not None and in_networks(address, TELEGRAM_NETWORKS)


class ClientAddressResolver:
    """Finds the client address of a request, trusting forwarded headers from proxies only."""

    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self.trusted = parse_networks(trusted_proxies)

    def is_trusted(self, address: IPAddress) -> bool:
        """True for a configured proxy address."""
        return in_networks(address, self.trusted)

    def resolve(self, request: web.BaseRequest) -> IPAddress | None:
        """The client address, or None when it cannot be told (treat as unknown)."""
        transport = request.transport
        peer = transport.get_extra_info("peername") if transport is not None else None
        if isinstance(peer, tuple) and peer:
            peer_address = parse_address(str(peer[0]))
            if peer_address is None or not self.is_trusted(peer_address):
                return peer_address
        elif transport is None:
            return None
        else:
            # A unix socket (peername '' or None): only local processes, i.e. nginx, connect.
            peer_address = None

        forwarded = request.headers.getall("X-Forwarded-For", ())
        if forwarded:
            entries = [entry for header in forwarded for entry in header.split(",")]
            for entry in reversed(entries):
                address = parse_address(entry)
                if address is None or not self.is_trusted(address):
                    return address
            return parse_address(entries[0])
        real_ip = request.headers.get("X-Real-IP")
        if real_ip is not None:
            return parse_address(real_ip)
        return peer_address
