"""Rate limits declared in the spec (`x-rate-limits`, `x-rate-limit`),
enforced per caller, with the IETF draft's headers and 429 + Retry-After."""

import logging
import re
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

from api.contract.spec_policy import operation_policies
from openapi import load_spec
from tests.conftest import (
    API,
    PASSWORD,
    assert_problem,
    assert_unauthorized,
    bearer,
    counting_statements,
    login,
    make_user,
    signed_in,
)

SPEC = load_spec()
QUOTAS = SPEC["x-rate-limits"]["policies"]
RATE_LIMIT = re.compile(r'^"(?P<name>[a-z-]+)";r=(?P<r>\d+);t=(?P<t>\d+)$')


def remaining(response) -> int:
    match = RATE_LIMIT.match(response.headers["ratelimit"])
    assert match, response.headers["ratelimit"]
    assert 0 <= int(match["t"]) <= 60
    return int(match["r"])


@pytest.fixture
def scaled_client(app_with):
    """The app with every quota of the spec scaled down 20 times (RATE_LIMIT_SCALE):
    write 6 per minute, read 30, login failures 1 per username and 1 per address."""
    app = app_with(rate_limit_scale=0.05)
    with app.test_client() as client:
        yield client


def test_every_operation_but_health_has_a_quota_and_documents_429():
    policies = operation_policies(SPEC)
    unlimited = sorted(op for op, policy in policies.items() if not policy.quotas)
    assert unlimited == ["getHealth"]
    assert [q.name for q in policies["login"].quotas] == [
        "login-requests", "login-requests-username", "login-username", "login-address", "login-device",
        "login-requests-devices"]
    assert [q.name for q in policies["listStores"].quotas] == ["read"]
    assert [q.name for q in policies["createStore"].quotas] == ["write"]


def test_answers_carry_the_policy_and_what_is_left(client, auth):
    first = client.get(f"{API}/stores", headers=auth)
    assert first.status_code == 200
    assert first.headers["ratelimit-policy"] == f'"read";q={QUOTAS["read"]["quota"]};w=60'
    second = client.get(f"{API}/stores", headers=auth)
    assert remaining(second) == remaining(first) - 1 == QUOTAS["read"]["quota"] - 2
    created = client.post(f"{API}/stores", json={"name": "Kiosk"}, headers=auth)
    assert created.headers["ratelimit-policy"] == f'"write";q={QUOTAS["write"]["quota"]};w=60'
    assert remaining(created) == QUOTAS["write"]["quota"] - 1
    assert "ratelimit" not in client.get(f"{API}/health").headers


def test_problems_of_a_limited_operation_carry_the_budget_they_spent(client, auth, store):
    """Raised by a validator or a handler, a problem never passed back
    through the layer that counted: 0 of 46 carried the headers."""
    read, write = QUOTAS["read"]["quota"], QUOTAS["write"]["quota"]
    store_path = f"{API}/stores/{store['id']}"
    etag = client.get(store_path, headers=auth).headers["etag"]
    answers = [
        (client.get(f"{API}/stores/999999", headers=auth), 404, "read"),
        (client.get(f"{API}/stores?limit=0", headers=auth), 400, "read"),
        (client.get(store_path, headers={**auth, "If-None-Match": etag}), 304, "read"),
        (client.post(f"{API}/stores", json={"name": store["name"]}, headers=auth), 409, "write"),
        (client.post(f"{API}/stores", json={"name": ""}, headers=auth), 400, "write"),
        (client.put(store_path, json={"name": "X"}, headers={**auth, "If-Match": '"old"'}),
         412, "write"),
    ]
    for response, status, policy in answers:
        assert response.status_code == status, response.text
        quota = {"read": read, "write": write}[policy]
        assert response.headers["ratelimit-policy"] == f'"{policy}";q={quota};w=60', status
        assert remaining(response) < quota


def test_a_refused_token_is_told_what_is_left_of_its_refusals(client):
    quota = QUOTAS["auth-failures"]["quota"]
    first = client.get(f"{API}/stores", headers=bearer("not-a-token"))
    second = client.get(f"{API}/stores", headers=bearer("not-a-token"))
    assert_unauthorized(second)
    assert second.headers["ratelimit-policy"] == f'"auth-failures";q={quota};w=60'
    assert remaining(second) == remaining(first) - 1 == quota - 2


def test_a_login_answers_with_its_tightest_budget(client, db):
    """The username's 20 a minute, not the address's 60 that the layer
    before the handler counted (it wrote over the handler's headers)."""
    make_user(db, "counted")
    ok = client.post(f"{API}/auth/login", json={"username": "counted", "password": PASSWORD})
    quota = QUOTAS["login-requests-username"]["quota"]
    assert ok.headers["ratelimit-policy"] == f'"login-requests-username";q={quota};w=60'
    assert remaining(ok) == quota - 1
    wrong = client.post(f"{API}/auth/login", json={"username": "counted", "password": "x" * 8})
    assert_unauthorized(wrong)
    assert wrong.headers["ratelimit-policy"].startswith('"login-')


def test_over_the_budget_is_429_with_retry_after(scaled_client, db, settings):
    make_user(db, "writer")
    auth = bearer(login(scaled_client, "writer")["access_token"])
    for n in range(6):
        response = scaled_client.post(f"{API}/stores", json={"name": f"S{n}"}, headers=auth)
        assert response.status_code == 201, response.text
    refused = scaled_client.post(f"{API}/stores", json={"name": "one too many"}, headers=auth)
    body = assert_problem(refused, 429, "write rate limit")
    assert "one too many" not in body["detail"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert remaining(refused) == 0
    assert refused.headers["ratelimit-policy"] == '"write";q=6;w=60'
    # Reads have a budget of their own; other users a budget each.
    assert scaled_client.get(f"{API}/stores", headers=auth).status_code == 200
    make_user(db, "other")
    other = bearer(login(scaled_client, "other")["access_token"])
    assert scaled_client.post(f"{API}/stores", json={"name": "Theirs"}, headers=other).status_code == 201


def test_registering_is_limited_per_address(client):
    quota = QUOTAS["register"]["quota"]
    for n in range(quota):
        response = client.post(f"{API}/auth/register",
                               json={"username": f"new{n}", "password": PASSWORD})
        assert response.status_code == 201, response.text
    refused = client.post(f"{API}/auth/register", json={"username": "onemore", "password": PASSWORD})
    body = assert_problem(refused, 429, "register rate limit")
    assert "onemore" not in body["detail"]
    assert refused.headers["ratelimit-policy"] == f'"register";q={quota};w=3600'
    assert 1 <= int(refused.headers["retry-after"]) <= 3600
    # Nothing was created past the budget.
    assert client.post(f"{API}/auth/login", json={"username": "onemore", "password": PASSWORD}).status_code == 401


def test_health_is_never_limited(scaled_client):
    for _ in range(40):
        assert scaled_client.get(f"{API}/health").status_code == 200


def test_login_failures_are_limited_per_username(client, db):
    make_user(db, "victim")
    quota = QUOTAS["login-username"]["quota"]
    for _ in range(quota):
        wrong = client.post(f"{API}/auth/login", json={"username": "victim", "password": "wrong-password"})
        assert wrong.status_code == 401
    # Now even the right password waits: the guesser cannot tell which was right.
    refused = client.post(f"{API}/auth/login", json={"username": "Victim", "password": PASSWORD})
    assert_problem(refused, 429, "login-username")
    assert 1 <= int(refused.headers["retry-after"]) <= QUOTAS["login-username"]["window"]
    assert refused.headers["ratelimit-policy"] == f'"login-username";q={quota};w=60'
    # Another account from the same address is not locked out.
    make_user(db, "bystander")
    ok = client.post(f"{API}/auth/login", json={"username": "bystander", "password": PASSWORD})
    assert ok.status_code == 200
    assert "login" in ok.headers["ratelimit-policy"]


def test_successful_logins_do_not_spend_the_failure_budget(client, db):
    make_user(db, "regular")
    for _ in range(QUOTAS["login-username"]["quota"] + 2):
        login(client, "regular")


def test_login_failures_are_limited_per_address(scaled_client, db):
    # Scaled: one failure per username and one per address.
    make_user(db, "first")
    make_user(db, "second")
    wrong = scaled_client.post(f"{API}/auth/login", json={"username": "first", "password": "wrong-password"})
    assert wrong.status_code == 401
    refused = scaled_client.post(f"{API}/auth/login", json={"username": "second", "password": PASSWORD})
    assert_problem(refused, 429, "login-address")


def test_login_form_failures_count_too(client, db):
    make_user(db, "formuser")
    for _ in range(QUOTAS["login-username"]["quota"]):
        response = client.post(f"{API}/auth/login", data={
            "grant_type": "password", "username": "formuser", "password": "wrong-password"})
        assert response.status_code == 401
    refused = client.post(f"{API}/auth/login", data={
        "grant_type": "password", "username": "formuser", "password": PASSWORD})
    assert_problem(refused, 429)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends


def test_with_redis_down_the_service_serves_counts_locally_and_logs(app_with, db):
    app = app_with(rate_limit_scale=0.05,
                   rate_limit_storage_url=f"redis://127.0.0.1:{closed_port()}/0")
    make_user(db, "offline")
    warnings = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage())
    logging.getLogger("api.policies.rate_limits").addHandler(handler)
    try:
        with app.test_client() as client:
            auth = bearer(login(client, "offline")["access_token"])
            answers = [client.post(f"{API}/stores", json={"name": f"S{n}"}, headers=auth
                                   ).status_code for n in range(7)]
    finally:
        logging.getLogger("api.policies.rate_limits").removeHandler(handler)
    assert answers == [201] * 6 + [429]  # never a 500; the budget still holds
    assert any("rate-limit storage unavailable (ConnectionError)" in w for w in warnings)


def test_a_shared_windows_reset_is_never_more_than_the_window(monkeypatch):
    # Redis's expiry read against this host's wall clock, which a clock stepped
    # back (as a virtual machine's can be) turned into t=61 on a 60 s window.
    import asyncio
    import time

    from limits import RateLimitItemPerSecond, WindowStats

    from api.contract.spec_policy import Quota
    from api.policies.rate_limits import RateLimiter

    quota = Quota(name="read", quota=100, window=60, per="caller")
    item = RateLimitItemPerSecond(100, 60)

    class SteppedClockStrategy:
        async def hit(self, *_args):
            return True

        async def get_window_stats(self, *_args):
            return WindowStats(reset_time=time.time() + 60.5, remaining=99)

    verdict = asyncio.run(RateLimiter._shared_verdict(
        SteppedClockStrategy(), quota, item, "someone", True))
    assert verdict.reset_seconds == 60
    assert verdict.headers()["RateLimit"] == '"read";r=99;t=60'


def test_callers_refused_at_authentication_are_limited_per_address(scaled_client, db):
    """scale 0.05: 3 authentication failures a minute per credential."""
    make_user(db, "neighbour")
    neighbour = bearer(login(scaled_client, "neighbour")["access_token"])
    refusals = [scaled_client.get(f"{API}/stores").status_code for _ in range(4)]
    assert refusals == [401, 401, 401, 429]
    refused = scaled_client.get(f"{API}/stores", headers={"Authorization": "Bearer not-a-jwt"})
    body = assert_problem(refused, 429, "auth-failures rate limit")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "not-a-jwt" not in body["detail"]
    # Someone behind the same address, with a token that works, is not refused.
    assert scaled_client.get(f"{API}/stores", headers=neighbour).status_code == 200


def test_a_revoked_token_replayed_is_limited_before_it_is_looked_up(scaled_client, db, services):
    make_user(db, "leaver")
    pair = login(scaled_client, "leaver")
    logout = scaled_client.post(f"{API}/auth/logout", json={"refresh_token": pair["refresh_token"]},
                                headers=bearer(pair["access_token"]))
    assert logout.status_code == 204
    # The refresh token handed in at logout, again and again.
    replays = [scaled_client.post(f"{API}/auth/refresh", headers=bearer(pair["refresh_token"])
                                  ).status_code for _ in range(5)]
    assert replays == [401, 401, 401, 429, 429]
    # Counted for that token, not the address: another caller here is not refused.
    assert scaled_client.get(f"{API}/stores").status_code == 401


def test_a_revoked_token_replayed_at_once_is_looked_up_no_more_than_its_quota(
        threaded_client, db, services):
    """Reserved before the lookup, given back if it was no failure: 200 uses
    of one logged-out refresh token at once cannot all pass a check made
    before any of them failed (120 lookups against a quota of 60 did)."""
    quota = QUOTAS["auth-failures"]["quota"]
    pair = signed_in(services, make_user(db, "leaver"))
    logout = threaded_client.post(f"{API}/auth/logout", json={"refresh_token": pair["refresh_token"]},
                         headers=bearer(pair["access_token"]))
    assert logout.status_code == 204
    with counting_statements(services.database) as statements, \
            ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(lambda _: threaded_client.post(
            f"{API}/auth/refresh", headers=bearer(pair["refresh_token"])).status_code,
            range(200)))
    # The token check's lookup of the token's user and chain, one per request it saw.
    lookups = [s for s in statements if s.startswith("SELECT users.") and "revoked_tokens" in s]
    assert answers.count(401) == quota and answers.count(429) == 200 - quota, answers
    assert len(lookups) <= quota


def test_logins_right_or_wrong_are_limited_per_username(client, db):
    make_user(db, "busy")
    quota = QUOTAS["login-requests-username"]["quota"]
    for _ in range(quota):
        assert client.post(f"{API}/auth/login", json={"username": "busy", "password": PASSWORD}).status_code == 200
    refused = client.post(f"{API}/auth/login", json={"username": "BUSY", "password": PASSWORD})
    assert_problem(refused, 429, "login-requests-username rate limit")
    assert refused.headers["ratelimit-policy"] == f'"login-requests-username";q={quota};w=60'


def test_logins_right_or_wrong_are_limited_per_address(client, db):
    quota = QUOTAS["login-requests"]["quota"]
    names = [f"member{n}" for n in range(quota // QUOTAS["login-requests-username"]["quota"] + 1)]
    for name in names:
        make_user(db, name)
    answers = [client.post(f"{API}/auth/login", json={"username": names[n % len(names)],
                                                      "password": PASSWORD}).status_code
               for n in range(quota + 1)]
    assert answers == [200] * quota + [429]
