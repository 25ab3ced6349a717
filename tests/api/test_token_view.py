"""On PostgreSQL a worker answers token checks from its token view, kept
current by LISTEN/NOTIFY: no database round trip per request, and whatever
another host commits is refused within the bound."""

import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from tests.conftest import TEST_DATABASE_URL, assert_unauthorized, bearer, needs_postgres

pytestmark = needs_postgres


@pytest.fixture
def view(client, services):
    """The app's view, once its listener has confirmed it."""
    deadline = time.monotonic() + 10
    while not services.token_view.is_current():
        assert time.monotonic() < deadline, "the token view never became current"
        time.sleep(0.02)
    return services.token_view


@pytest.fixture
def token_lookups(services):
    """The token lookups run: the statements that ask after revocations, on
    the pool of reads they share with the handlers of GET requests."""
    statements = []

    def count(_conn, _cursor, statement, *_args):
        if "revoked_tokens" in statement:
            statements.append(statement)

    engine = services.database.reads
    event.listen(engine, "before_cursor_execute", count)
    yield statements
    event.remove(engine, "before_cursor_execute", count)


def another_host():
    """A connection of the database's own, as another host's worker has."""
    url = make_url(TEST_DATABASE_URL).set(drivername="postgresql")
    return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)


def refused_within(client, headers: dict, seconds: float) -> float:
    """Seconds until the request is refused; fails past `seconds`."""
    started = time.monotonic()
    while True:
        response = client.get("/api/v1/users/me", headers=headers)
        elapsed = time.monotonic() - started
        if response.status_code == 401:
            assert_unauthorized(response, "revoked or its user no longer exists")
            return elapsed
        assert response.status_code == 200
        assert elapsed < seconds, f"still accepted after {elapsed:.2f} s"
        time.sleep(0.01)


def test_a_current_view_answers_token_checks_without_the_database(client, view, auth,
                                                                  token_lookups):
    assert client.get("/api/v1/users/me", headers=auth).status_code == 200  # learns the user
    token_lookups.clear()
    for _ in range(5):
        assert client.get("/api/v1/users/me", headers=auth).status_code == 200
    assert token_lookups == []


def test_a_revocation_committed_by_another_host_is_refused_within_the_bound(
        client, view, services, user, tokens, auth):
    assert client.get("/api/v1/users/me", headers=auth).status_code == 200
    claims = services.tokens.decode(tokens["access_token"], "access")
    with another_host() as connection:
        connection.execute(
            "INSERT INTO revoked_tokens (jti, user_id, expires_at, revoked_at)"
            " VALUES (%s, %s, %s, now())",
            (claims["jti"], user.id, datetime.now(UTC) + timedelta(minutes=15)))
    assert refused_within(client, auth, view.bound) < view.bound


def test_a_user_deleted_by_another_host_is_refused_within_the_bound(client, view, user, auth):
    assert client.get("/api/v1/users/me", headers=auth).status_code == 200
    assert user.id in view.admins
    with another_host() as connection:
        connection.execute("DELETE FROM users WHERE id = %s", (user.id,))
    refused_within(client, auth, view.bound)


def test_a_logout_here_is_refused_here_at_once(client, view, auth):
    assert client.post("/api/v1/auth/logout", headers=auth).status_code == 204
    assert_unauthorized(client.get("/api/v1/users/me", headers=auth))


def test_a_user_deleted_here_is_refused_here_at_once(client, view, admin_auth, user, auth):
    assert client.get("/api/v1/users/me", headers=auth).status_code == 200
    assert client.delete(f"/api/v1/users/{user.id}", headers=admin_auth).status_code == 204
    assert_unauthorized(client.get("/api/v1/users/me", headers=auth))


def test_a_view_past_its_bound_asks_the_database_and_still_refuses(
        client, view, services, user, tokens, auth, token_lookups, monkeypatch):
    monkeypatch.setattr(view, "is_current", lambda: False)  # as if the listener were lost
    assert client.get("/api/v1/users/me", headers=auth).status_code == 200
    assert token_lookups, "a view that is not current must not answer"
    claims = services.tokens.decode(tokens["access_token"], "access")
    with another_host() as connection:
        # Written with the notification switched off: only the database knows.
        connection.execute("SET session_replication_role = replica")
        connection.execute(
            "INSERT INTO revoked_tokens (jti, user_id, expires_at, revoked_at)"
            " VALUES (%s, %s, now() + interval '15 minutes', now())", (claims["jti"], user.id))
    assert_unauthorized(client.get("/api/v1/users/me", headers=auth))
    assert claims["jti"] not in view.revoked


def test_a_token_unknown_to_the_view_is_checked_in_the_database(client, view, services):
    foreign = services.tokens.issue_pair(
        type("Ghost", (), {"id": 2_000_000_000, "is_admin": False, "session_generation": 0})(), fresh=True)
    assert_unauthorized(client.get("/api/v1/users/me",
                                   headers=bearer(foreign["access_token"])))


def test_the_listener_reloads_what_it_missed_when_it_reconnects(client, view, user, tokens,
                                                                auth):
    jti = str(uuid.uuid4())
    with another_host() as connection:
        connection.execute("SET session_replication_role = replica")  # no notification
        connection.execute(
            "INSERT INTO revoked_tokens (jti, user_id, expires_at, revoked_at)"
            " VALUES (%s, %s, now() + interval '15 minutes', now())", (jti, user.id))
        # The listener's connection is cut: it reconnects and loads the table again.
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE query LIKE 'SELECT pg_notify(%%' AND pid <> pg_backend_pid()")
    deadline = time.monotonic() + 10
    while jti not in view.revoked:
        assert time.monotonic() < deadline, "the listener did not reload the revocations"
        time.sleep(0.05)
