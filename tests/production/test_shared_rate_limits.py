"""Two servers, each with two workers, on one Redis spend one budget: what
four processes count together is the spec's quota, not four times it."""

import uuid

import pytest

from api.identity.accounts import new_user
from api.identity.passwords import PasswordHasher
from models import Database
from tests.http import call, log_in
from tests.live_server import REDIS, live_server, redis_reachable

SCALE = "0.05"  # the spec's quotas / 20: 6 writes a minute, 1 login failure per username
PASSWORD = "the-right-password"


@pytest.fixture(scope="module")
def two_hosts(tmp_path_factory, new_database):
    if not redis_reachable():
        pytest.skip("Redis is not running on 127.0.0.1:6379: the shared-budget test did not run")
    database = new_database("shared-limits")
    env = {"RATE_LIMIT_STORAGE_URL": f"redis://{REDIS[0]}:{REDIS[1]}/0",
           "RATE_LIMIT_KEY_PREFIX": f"stores-api-test-{uuid.uuid4().hex}",
           "RATE_LIMIT_SCALE": SCALE}
    with live_server(tmp_path_factory.mktemp("a"), database, workers=2, **env) as a, \
            live_server(tmp_path_factory.mktemp("b"), database, workers=2, **env) as b:
        # Accounts made in the database: at this scale registering allows one an hour.
        accounts = Database(database)
        with accounts.session() as session:
            session.add_all([new_user(name, PasswordHasher(1, 8192).hash(PASSWORD))
                             for name in ("shared", "guarded")])
            session.commit()
        accounts.dispose()
        yield a, b


def login(host, username: str) -> str:
    reply = log_in(host.api, username, PASSWORD)
    assert reply.status == 200, reply.body
    return reply.json()["access_token"]


def test_two_servers_with_two_workers_share_one_write_budget(two_hosts):
    a, b = two_hosts
    token = login(a, "shared")
    replies = [call("POST", f"{host.api}/stores", {"name": f"S{n}"}, token=token)
               for n, host in enumerate([a, b] * 6)]
    statuses = [reply.status for reply in replies]
    assert statuses == [201] * 6 + [429] * 6, statuses
    assert all(r.headers["ratelimit-policy"] == '"write";q=6;w=60' for r in replies)
    assert [r.headers["ratelimit"].split(";")[1] for r in replies[:6]] == [
        f"r={left}" for left in range(5, -1, -1)]  # counted down across both hosts
    assert int(replies[-1].headers["retry-after"]) >= 1


def test_a_login_failure_on_one_host_counts_on_the_other(two_hosts):
    a, b = two_hosts
    wrong = call("POST", f"{a.api}/auth/login", {"username": "guarded", "password": "wrong-one"})
    assert wrong.status == 401
    refused = call("POST", f"{b.api}/auth/login",
                   {"username": "guarded", "password": PASSWORD})
    assert refused.status == 429 and "retry-after" in refused.headers
