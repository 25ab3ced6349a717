"""The database goes away and comes back: 503 problems meanwhile, and the
service recovers by itself, without a restart."""

import time

import pytest
from sqlalchemy.engine import make_url

from api.process.probes import CHECKS_KEPT_SECONDS
from tests.conftest import answered_within, needs_postgres
from tests.http import call, register_and_login
from tests.live_server import live_server
from tests.tcp_proxy import TCPProxy

pytestmark = needs_postgres
RECOVERY_SECONDS = 30


@pytest.fixture
def proxied(tmp_path, new_database):
    """A server whose database connections all pass through a proxy we control."""
    url = make_url(new_database("outage"))
    proxy = TCPProxy((url.host, url.port or 5432)).start()
    proxied_url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        with live_server(tmp_path, proxied_url, workers=2) as server:
            yield server, proxy
    finally:
        proxy.cut()


def test_requests_are_503_while_the_database_is_away_and_recover_after(proxied):
    server, proxy = proxied
    token = register_and_login(server.api, "survivor")["access_token"]
    assert call("POST", f"{server.api}/stores", {"name": "Before"}, token=token).status == 201

    assert call("GET", f"{server.url}/readyz").status == 200

    proxy.cut()
    # Within the check's own bound of 1 s after a kept result's second, and
    # some slack for the machine.
    ready = answered_within(5, lambda: call("GET", f"{server.url}/readyz"), 503)
    assert ready.json()["checks"]["database"].startswith("unavailable")
    assert ready.json()["checks"]["schema"] == "unknown"
    assert call("GET", f"{server.url}/livez").status == 200
    health = call("GET", f"{server.api}/health")
    assert health.status == 503
    assert health.headers["content-type"] == "application/problem+json"
    assert health.json()["database"] == "unavailable"
    for method, path, body in [("GET", "/stores", None), ("POST", "/stores", {"name": "During"}),
                               ("GET", "/users/me", None)]:
        reply = call(method, f"{server.api}{path}", body, token=token)
        assert reply.status == 503, (path, reply.body)
        assert reply.headers["content-type"] == "application/problem+json"
        assert reply.json()["status"] == 503

    proxy.start()
    deadline = time.monotonic() + RECOVERY_SECONDS
    while call("GET", f"{server.api}/health").status != 200:
        assert time.monotonic() < deadline, "the service did not recover"
        time.sleep(0.2)
    time.sleep(CHECKS_KEPT_SECONDS)  # what /readyz kept of the outage has gone
    # Every worker's pool recovers: enough calls to reach both workers.
    for _ in range(20):
        assert call("GET", f"{server.api}/stores", token=token).status == 200
        assert call("GET", f"{server.url}/readyz").status == 200
    assert call("POST", f"{server.api}/stores", {"name": "After"}, token=token).status == 201
    assert "Traceback" not in server.log()
