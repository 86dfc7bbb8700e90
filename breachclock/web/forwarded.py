"""The client's address behind reverse proxies: what the sign-in throttle counts and the
audit log records.

Behind a proxy every request comes from the proxy's address, so all clients would
share one sign-in allowance. A proxy appends the address it took the request from to
a header (``X-Forwarded-For``, or RFC 7239's ``Forwarded: for=…``); whatever a client
wrote into that header itself arrives to the left of it. So the header is read only
when the request comes from a trusted proxy (``BREACHCLOCK_TRUSTED_PROXIES``), and
from the right: each hop that is a trusted proxy passes it on to the hop before it,
and the first that is not is the client. Hops further left were written by nobody we
trust and are never read. A hop that is no address (RFC 7239's ``unknown`` or an
obfuscated ``_name``) ends the walk at the proxy that wrote it.

The header is the one the proxies set (``BREACHCLOCK_FORWARDED_HEADER``), never either
of the two: a proxy that writes one passes the other on as the client sent it, and a
client could then choose its own address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

MOST_HOPS = 32
"""Hops read from the right at most (a header is bounded by the server's limits too)."""


def networks(given: Sequence[str]) -> list[Network]:
    """The trusted proxies' addresses and networks (``10.0.0.0/8``, ``::1``)."""
    return [ipaddress.ip_network(g.strip(), strict=False) for g in given]


def parse_address(text: str) -> Address | None:
    """An address as proxies write them: bare, with a port (``192.0.2.1:4711``), in
    brackets (``[2001:db8::1]:4711``) or quoted; IPv4 mapped into IPv6 as IPv4."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        found = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


def split_outside_quotes(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` where not inside a quoted string (RFC 7230)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def hops(header: str, values: Sequence[str]) -> list[str]:
    """The addresses the header lists, leftmost first, over all its lines in order: for
    ``forwarded``, each element's ``for=`` (an element without one says nothing of
    where it came from: ``unknown``)."""
    listed = [part.strip() for value in values for part in split_outside_quotes(value, ",")]
    if header != "forwarded":
        return listed
    found = []
    for element in listed:
        origin = "unknown"
        for pair in split_outside_quotes(element, ";"):
            name, _, value = pair.partition("=")
            if name.strip().lower() == "for":
                origin = value.strip()
        found.append(origin)
    return found


def client_address(
    peer: str | None, header: str, values: Sequence[str], trusted: Sequence[Network]
) -> str:
    """The client's address: ``peer`` (who connected), or where ``peer`` is a trusted
    proxy, the rightmost hop of the ``header`` lines ``values`` that is not one."""
    if peer is None:
        return "unknown"
    here = parse_address(peer)
    if here is None:
        return peer
    for hop in reversed(hops(header, values)[-MOST_HOPS:]):
        if not any(here in network for network in trusted):
            break
        found = parse_address(hop)
        if found is None:
            break  # the proxy did not say: the proxy is all we know
        here = found
    return str(here)
