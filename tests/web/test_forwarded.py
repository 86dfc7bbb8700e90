"""The client's address behind reverse proxies: the header read only from a trusted
proxy, from the right, in both of its forms; what a client writes itself is never read."""

from __future__ import annotations

import pytest

from breachclock.web.forwarded import client_address, networks

pytestmark = pytest.mark.domain

PROXIES = networks(["10.0.0.0/8", "::1"])


@pytest.mark.parametrize(
    ("peer", "header", "values", "client"),
    [
        # Not from a proxy: the header is the client's own words, ignored.
        ("203.0.113.7", "x-forwarded-for", ["198.51.100.9"], "203.0.113.7"),
        # Through one proxy: what it appended; a spoofed hop to its left is not read.
        ("10.0.0.2", "x-forwarded-for", ["198.51.100.9, 203.0.113.7"], "203.0.113.7"),
        # Through two proxies, the header over two lines, one hop with a port.
        (
            "10.0.0.2",
            "x-forwarded-for",
            ["198.51.100.9, 203.0.113.7:4711", "10.0.0.5"],
            "203.0.113.7",
        ),
        # RFC 7239: quoted, IPv6 in brackets with a port, other parameters beside.
        (
            "::1",
            "forwarded",
            ['for=198.51.100.9;proto=https, for="[2001:db8:cafe::17]:4711";by=10.0.0.2'],
            "2001:db8:cafe::17",
        ),
        # RFC 7239's obfuscated or unknown hop: the proxy that said so is all we know.
        ("10.0.0.2", "forwarded", ["for=198.51.100.9, for=_hidden"], "10.0.0.2"),
        ("10.0.0.2", "forwarded", ["for=unknown"], "10.0.0.2"),
        # Only proxies on the way: the leftmost.
        ("10.0.0.2", "x-forwarded-for", ["10.0.0.3"], "10.0.0.3"),
        # A proxy that wrote nothing: itself; an IPv4-mapped peer is IPv4.
        ("::ffff:10.0.0.2", "x-forwarded-for", [], "10.0.0.2"),
    ],
)
def test_the_rightmost_hop_that_is_no_trusted_proxy_is_the_client(
    peer: str, header: str, values: list[str], client: str
) -> None:
    assert client_address(peer, header, values, PROXIES) == client
