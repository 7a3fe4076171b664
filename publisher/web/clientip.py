"""Who the client is: its address behind trusted proxies, and the key every per-IP limit uses.

X-Forwarded-For is a list every hop appends to (nginx's ``$proxy_add_x_forwarded_for``), so
its first entries are whatever the client sent. Only the entries added by proxies we trust
are believed: walking from the right, skip trusted hops; the first address that is not a
trusted proxy is the client.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from functools import lru_cache

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPV6_PREFIX = 64  # one subscriber line gets a whole /64: its addresses are one client


def networks(values: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values)


@lru_cache(maxsize=8192)  # the same clients and proxies again and again; parsing costs µs
def parse(text: str) -> Address | None:
    """An address as a proxy may write it (``1.2.3.4``, ``1.2.3.4:5678``, ``[::1]:443``)."""
    text = text.strip()
    if text.count(".") == 3 and ":" not in text:  # plain IPv4: a third of ip_address's cost
        try:
            return ipaddress.IPv4Address(socket.inet_pton(socket.AF_INET, text))
        except OSError:
            return None
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # IPv4 with a port; a bare IPv6 address has two or more
        text = text.split(":")[0]
    try:
        found = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped  # ::ffff:1.2.3.4 is 1.2.3.4 (dual-stack sockets)
    return found


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address.version == n.version and address in n for n in trusted)


def client_address(peer: str | None, forwarded: Sequence[str], trusted: Sequence[Network]) -> str:
    """The client as the nearest trusted proxy saw it.

    ``peer`` is the connecting socket's address; ``forwarded`` the X-Forwarded-For header
    values in the order received. A peer that is not a trusted proxy is the client itself,
    whatever it wrote in the header.
    """
    current = parse(peer) if peer else None
    if current is None:
        return peer or "unknown"
    if not _trusted(current, trusted):
        return str(current)
    hops = [hop for value in forwarded for hop in value.split(",")]
    for hop in reversed(hops):
        found = parse(hop)
        if found is None:  # not an address: written by the client, never by our proxy
            break
        current = found
        if not _trusted(found, trusted):
            break
    return str(current)


def limit_key(address: str) -> str:
    """The key per-IP limits count on: an IPv4 address, or an IPv6 address's /64 network.

    ``address`` is a socket's address or one client_address returned (both already clean),
    so IPv4 passes through unparsed: this runs on every view hit."""
    if ":" not in address:
        return address
    return _ipv6_key(address)


@lru_cache(maxsize=4096)
def _ipv6_key(address: str) -> str:
    found = parse(address)
    if isinstance(found, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((found, IPV6_PREFIX), strict=False))
    return str(found) if found is not None else address
