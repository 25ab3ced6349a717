"""Whose budget an anonymous request spends: the socket's address, or the
X-Forwarded-For one only when TRUSTED_PROXIES names the proxy."""

import pytest

from tests.http import call
from tests.live_server import live_server

SCALE = "0.5"  # the register policy's 10 an hour, halved
WRITES = 5


def register(server, n: int, forwarded_for: str) -> int:
    return call("POST", f"{server.api}/auth/register",
                {"username": f"user{forwarded_for.replace('.', '').replace(':', '')}x{n}",
                 "password": "long-enough-password"},
                headers={"X-Forwarded-For": forwarded_for}).status


@pytest.mark.parametrize("trusted, shared", [("", True), ("127.0.0.1", False)])
def test_forwarded_addresses_count_only_behind_a_trusted_proxy(tmp_path, new_database,
                                                               trusted, shared):
    with live_server(tmp_path, new_database("addresses"), RATE_LIMIT_SCALE=SCALE,
                     TRUSTED_PROXIES=trusted) as server:
        first = [register(server, n, "203.0.113.7") for n in range(WRITES + 1)]
        assert first == [201] * WRITES + [429]
        # Another client behind the same proxy: its own budget only if the proxy is trusted.
        other = register(server, 0, "198.51.100.9")
        assert other == (429 if shared else 201)


def test_ipv6_callers_are_counted_by_their_64(tmp_path, new_database):
    # One host is given a /64: each of its 2^64 addresses must not be a budget.
    with live_server(tmp_path, new_database("ipv6"), RATE_LIMIT_SCALE=SCALE,
                     TRUSTED_PROXIES="127.0.0.1") as server:
        same_64 = [register(server, n, f"2001:db8:7:1::{n + 1:x}") for n in range(WRITES + 1)]
        assert same_64 == [201] * WRITES + [429]
        assert register(server, 0, "2001:db8:7:1:ffff:ffff:ffff:fffe") == 429
        assert register(server, 0, "2001:db8:7:2::1") == 201  # the next /64 is another host
