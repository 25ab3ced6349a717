"""Whose budget an anonymous request spends: the socket's address, or the
X-Forwarded-For one only when TRUSTED_PROXIES names the proxy."""

import pytest

from tests.http import call
from tests.live_server import live_server

SCALE = "0.05"  # 6 writes a minute per caller
WRITES = 6


def register(server, n: int, forwarded_for: str) -> int:
    return call("POST", f"{server.api}/auth/register",
                {"username": f"user{forwarded_for.replace('.', '')}x{n}",
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
