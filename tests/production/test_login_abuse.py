"""Login under attack, on real servers: a guesser cannot lock the real user
out, and concurrent guesses get no more than the budget."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.http import call, log_in, register_and_login
from tests.live_server import REDIS, SERVICE_HASH_COST, live_server, redis_reachable

PASSWORD = "the-right-password"
GUESSES = 50
USERNAME_BUDGET = 5  # the spec's login-username quota


def login(server, username: str, password: str, address: str, device: str | None = None):
    """A login from `address` (as the trusted proxy tells), with `device`'s token."""
    headers = {"X-Forwarded-For": address, **({"Device-Token": device} if device else {})}
    return log_in(server.api, username, password, headers)


def test_a_guesser_from_many_addresses_cannot_keep_the_real_user_out(tmp_path, new_database):
    with live_server(tmp_path, new_database("lockout"), RATE_LIMIT_SCALE="1",
                     TRUSTED_PROXIES="127.0.0.1") as server:
        device = register_and_login(server.api, "root", PASSWORD)["device_token"]
        # The attack: wrong passwords for root, each from another address.
        guesses = [login(server, "root", "not-the-password", f"203.0.113.{n}").status
                   for n in range(1, 21)]
        assert guesses.count(401) == USERNAME_BUDGET  # the documented guesses, no more
        assert set(guesses[USERNAME_BUDGET:]) == {429}
        # The real user, from the device that logged in before: in at once.
        reply = login(server, "root", PASSWORD, "198.51.100.7", device)
        assert reply.status == 200, reply.body
        assert reply.json()["device_token"]
        # The guesser keeps going; the real user still gets in.
        assert login(server, "root", "still-not-it", "203.0.113.99").status == 429
        assert login(server, "root", PASSWORD, "198.51.100.7", device).status == 200
        # Without a device token the user is an unknown device, held to the username's budget.
        assert login(server, "root", PASSWORD, "198.51.100.7").status == 429
        # A device token is no key for another account, nor is a made-up one.
        register_and_login(server.api, "other", PASSWORD)
        assert login(server, "root", PASSWORD, "198.51.100.8", "not.a.token").status == 429
        assert login(server, "other", "wrong-guess", "198.51.100.9", device).status == 401
        assert login(server, "other", PASSWORD, "198.51.100.9", device).status == 200


def test_a_devices_own_failures_are_limited_too(tmp_path, new_database):
    with live_server(tmp_path, new_database("device"), RATE_LIMIT_SCALE="1") as server:
        device = register_and_login(server.api, "owner", PASSWORD)["device_token"]
        wrong = [login(server, "owner", "typo-typo", "127.0.0.1", device).status
                 for _ in range(USERNAME_BUDGET + 1)]
        assert wrong == [401] * USERNAME_BUDGET + [429]
        # Those were the device's failures: the username's budget is untouched.
        assert login(server, "owner", PASSWORD, "127.0.0.1").status == 200


@pytest.mark.parametrize("workers, shared", [(0, False), (2, True)])
def test_50_concurrent_guesses_get_no_more_than_the_budget(tmp_path, new_database, workers, shared):
    env = {"RATE_LIMIT_SCALE": "1", "TRUSTED_PROXIES": "127.0.0.1"}
    if shared:  # several workers spend one budget only through a shared store
        if not redis_reachable():
            pytest.skip("Redis is not running on 127.0.0.1:6379: the two-worker guess test did not run")
        env |= {"RATE_LIMIT_STORAGE_URL": f"redis://{REDIS[0]}:{REDIS[1]}/0",
                "RATE_LIMIT_KEY_PREFIX": f"stores-api-test-{uuid.uuid4().hex}"}
    with live_server(tmp_path, new_database("guesses"), workers=workers, **env) as server:
        register_and_login(server.api, "target", PASSWORD)

        def guess(n):
            return login(server, "target", f"guess-number-{n}", f"192.0.2.{n + 1}").status

        with ThreadPoolExecutor(max_workers=GUESSES) as pool:
            statuses = list(pool.map(guess, range(GUESSES)))
        assert statuses.count(401) == USERNAME_BUDGET, statuses
        assert statuses.count(429) == GUESSES - USERNAME_BUDGET


def test_logins_past_the_password_threads_and_their_queue_get_503_and_reads_go_on(tmp_path, new_database):
    with live_server(tmp_path, new_database("hash-pool"), PASSWORD_HASH_THREADS="1",
                     PASSWORD_HASH_WAITING="1", **SERVICE_HASH_COST) as server:
        names = [f"crowd{n}" for n in range(8)]
        reader = register_and_login(server.api, "reader", PASSWORD)["access_token"]
        for name in names:
            assert call("POST", f"{server.api}/auth/register",
                        {"username": name, "password": PASSWORD}).status == 201

        def log_in(name):
            return login(server, name, PASSWORD, "127.0.0.1")

        def read(_):
            started = time.monotonic()
            status = call("GET", f"{server.api}/stores", token=reader).status
            return status, time.monotonic() - started

        with ThreadPoolExecutor(max_workers=16) as pool:
            logins = pool.map(log_in, names * 3)
            reads = list(pool.map(read, range(40)))
            logins = list(logins)
        statuses = [reply.status for reply in logins]
        assert set(statuses) == {200, 503}, statuses
        busy = next(reply for reply in logins if reply.status == 503)
        assert busy.headers["retry-after"] == "1"
        assert busy.headers["content-type"] == "application/problem+json"
        assert busy.json()["detail"] == "the server is busy checking other passwords; retry shortly"
        # The handler threads were never the ones hashing: reads were served.
        assert all(status == 200 for status, _ in reads)
