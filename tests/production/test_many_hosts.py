"""Two independent servers over one PostgreSQL database, as two hosts behind a
load balancer: what one revokes, the other refuses within the token view's
bound (TOKEN_VIEW_BOUND_SECONDS, 1 s by default), and refresh tokens at once."""

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import needs_postgres, refused_within
from tests.http import call, register_and_login
from tests.live_server import live_server

pytestmark = needs_postgres
BOUND_SECONDS = 1.0  # the default of TOKEN_VIEW_BOUND_SECONDS, which the servers keep


def me(host, token: str):
    return lambda: call("GET", f"{host.api}/users/me", token=token)


@pytest.fixture(scope="module")
def hosts_database(new_database):
    return new_database("hosts")


@pytest.fixture(scope="module")
def hosts(tmp_path_factory, hosts_database):
    database_url = hosts_database
    # A refresh token's reuse leeway of 1 s (30 by default): a retry within it
    # gets the same pair from either host, a reuse after it ends the chain.
    with live_server(tmp_path_factory.mktemp("a"), database_url, REFRESH_REUSE_SECONDS="1") as a, \
            live_server(tmp_path_factory.mktemp("b"), database_url, REFRESH_REUSE_SECONDS="1") as b:
        yield a, b


def test_a_token_revoked_on_one_host_is_refused_by_the_other(hosts):
    a, b = hosts
    tokens = register_and_login(a.api, "roaming")
    assert call("GET", f"{b.api}/users/me", token=tokens["access_token"]).status == 200
    assert call("POST", f"{a.api}/auth/logout", token=tokens["access_token"]).status == 204
    refused_within(BOUND_SECONDS, me(b, tokens["access_token"]))


def test_a_refresh_token_rotated_on_one_host_cannot_be_reused_on_the_other(hosts):
    a, b = hosts
    tokens = register_and_login(a.api, "rotator")
    rotated = call("POST", f"{a.api}/auth/refresh", token=tokens["refresh_token"])
    assert rotated.status == 200
    # A retry on the other host, within the leeway: the same pair.
    assert call("POST", f"{b.api}/auth/refresh", token=tokens["refresh_token"]).json() == rotated.json()
    time.sleep(2.2)  # past the leeway (whole seconds)
    assert call("POST", f"{b.api}/auth/refresh", token=tokens["refresh_token"]).status == 401
    # The reuse revoked the chain on every host: the rotated pair too. Refresh
    # tokens are checked in the database, at once; access tokens within the bound.
    new_pair = rotated.json()
    assert call("POST", f"{a.api}/auth/refresh", token=new_pair["refresh_token"]).status == 401
    refused_within(BOUND_SECONDS, me(a, new_pair["access_token"]))


def test_the_same_create_sent_to_both_hosts_at_once_succeeds_once(hosts):
    a, b = hosts
    token = register_and_login(a.api, "racer")["access_token"]
    targets = [a, b] * 20

    def create(server):
        return call("POST", f"{server.api}/stores", {"name": "Contested"}, token=token).status

    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        statuses = sorted(pool.map(create, targets))
    assert statuses == [201] + [409] * (len(targets) - 1)


def test_revoke_sessions_from_the_command_line_ends_them_on_every_host(hosts, hosts_database,
                                                                      tmp_path):
    a, b = hosts
    first = register_and_login(a.api, "leaver")
    second = call("POST", f"{b.api}/auth/login",
                  {"username": "leaver", "password": "long-enough-pw"}).json()
    for host in (a, b):
        for pair in (first, second):
            assert call("GET", f"{host.api}/users/me", token=pair["access_token"]).status == 200

    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "users", "revoke-sessions", "leaver"],
        env={**os.environ, "DATABASE_URL": hosts_database, "INSTANCE_PATH": str(tmp_path)},
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr

    # Refresh tokens are checked in the database: refused at once, anywhere.
    for host, pair in ((a, second), (b, first)):
        assert call("POST", f"{host.api}/auth/refresh", token=pair["refresh_token"]).status == 401
    # Access tokens within the token view's bound, on both hosts.
    for host in (a, b):
        for pair in (first, second):
            refused_within(BOUND_SECONDS, me(host, pair["access_token"]))
    # A new login works at once.
    again = call("POST", f"{a.api}/auth/login", {"username": "leaver", "password": "long-enough-pw"})
    assert again.status == 200
    assert call("GET", f"{b.api}/users/me", token=again.json()["access_token"]).status == 200
