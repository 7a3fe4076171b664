"""The client address behind trusted proxies, and the per-IP limit key (IPv6: the /64)."""

from __future__ import annotations

import pytest

from publisher.web.clientip import client_address, limit_key, networks

TRUSTED = networks(["127.0.0.1", "::1", "10.0.0.0/8"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("198.51.100.7", ["1.2.3.4"], "198.51.100.7"),  # not from a proxy: the header is ignored
        ("127.0.0.1", ["1.2.3.4, 198.51.100.7"], "198.51.100.7"),  # nginx appended the client
        ("127.0.0.1", ["1.2.3.4", "198.51.100.7"], "198.51.100.7"),  # two header lines
        ("127.0.0.1", ["1.2.3.4, 198.51.100.7, 10.1.2.3"], "198.51.100.7"),  # two proxies
        ("127.0.0.1", ["garbage, 198.51.100.7"], "198.51.100.7"),
        ("127.0.0.1", ["198.51.100.7, garbage, 10.1.2.3"], "10.1.2.3"),  # stop at garbage
        ("127.0.0.1", [], "127.0.0.1"),  # a local client with no proxy in between
        ("127.0.0.1", ["10.0.0.9, 10.1.2.3"], "10.0.0.9"),  # all trusted: the left-most
        ("127.0.0.1", ["[2001:db8::1]:4711"], "2001:db8::1"),
        ("127.0.0.1", ["198.51.100.7:5555"], "198.51.100.7"),
        ("::ffff:127.0.0.1", ["::ffff:198.51.100.7"], "198.51.100.7"),  # dual-stack sockets
        ("::1", ["2001:db8::1"], "2001:db8::1"),
    ],
)
def test_client_is_the_rightmost_untrusted_hop(
    peer: str, forwarded: list[str], client: str
) -> None:
    assert client_address(peer, forwarded, TRUSTED) == client


def test_no_peer() -> None:
    assert client_address(None, ["1.2.3.4"], TRUSTED) == "unknown"


def test_limit_key_is_the_ipv6_slash_64() -> None:
    assert limit_key("198.51.100.7") == "198.51.100.7"
    a, b = limit_key("2001:db8:1:2::1"), limit_key("2001:db8:1:2:ffff:1:2:3")
    assert a == b == "2001:db8:1:2::/64"
    assert limit_key("2001:db8:1:3::1") != a
    assert limit_key("unknown") == "unknown"
