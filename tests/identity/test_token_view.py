"""The token view (api/identity/token_view.py). On PostgreSQL a worker answers
token checks from it, kept current by LISTEN/NOTIFY: no database round trip
per request, and whatever another host commits is refused within the bound.
Its rules alone, without a database: when it may answer, and what it learns
from notifications and from this worker's own commits."""

import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from api.identity.token_view import USERS_KEPT, TokenView
from tests.conftest import asking, assert_unauthorized, bearer, needs_postgres, refused_within

REVOKED = "revoked or its user no longer exists"


@pytest.fixture
def client(threaded_client):
    """The app in a thread of its own, as a server runs it: its listener
    keeps the view current between requests."""
    return threaded_client


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


@pytest.fixture
def another_host(database_url):
    """A factory of connections of the database's own, as another host's worker has."""
    url = make_url(database_url).set(drivername="postgresql")
    return lambda: psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)




@needs_postgres
def test_a_current_view_answers_token_checks_without_the_database(client, view, auth,
                                                                  token_lookups):
    assert client.get("/api/v1/users/me", headers=auth).status_code == 200  # learns the user
    token_lookups.clear()
    for _ in range(5):
        assert client.get("/api/v1/users/me", headers=auth).status_code == 200
    assert token_lookups == []


@needs_postgres
def test_a_revocation_committed_by_another_host_is_refused_within_the_bound(
        client, view, services, user, tokens, auth, another_host):
    assert client.get("/api/v1/users/me", headers=auth).status_code == 200
    claims = services.tokens.decode(tokens["access_token"], "access")
    with another_host() as connection:
        connection.execute(
            "INSERT INTO revoked_tokens (jti, user_id, expires_at, revoked_at)"
            " VALUES (%s, %s, %s, now())",
            (claims["jti"], user.id, datetime.now(UTC) + timedelta(minutes=15)))
    assert refused_within(view.bound, asking(client, "GET", "/users/me", auth), REVOKED) \
        < view.bound


@needs_postgres
def test_a_user_deleted_by_another_host_is_refused_within_the_bound(client, view, user, auth,
                                                                   another_host):
    assert client.get("/api/v1/users/me", headers=auth).status_code == 200
    assert user.id in view.admins
    with another_host() as connection:
        connection.execute("DELETE FROM users WHERE id = %s", (user.id,))
    refused_within(view.bound, asking(client, "GET", "/users/me", auth), REVOKED)


@needs_postgres
def test_a_logout_here_is_refused_here_at_once(client, view, auth):
    assert client.post("/api/v1/auth/logout", headers=auth).status_code == 204
    assert_unauthorized(client.get("/api/v1/users/me", headers=auth))


@needs_postgres
def test_a_user_deleted_here_is_refused_here_at_once(client, view, admin_auth, user, auth):
    assert client.get("/api/v1/users/me", headers=auth).status_code == 200
    assert client.delete(f"/api/v1/users/{user.id}", headers=admin_auth).status_code == 204
    assert_unauthorized(client.get("/api/v1/users/me", headers=auth))


@needs_postgres
def test_a_view_past_its_bound_asks_the_database_and_still_refuses(
        client, view, services, user, tokens, auth, token_lookups, monkeypatch, another_host):
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


@needs_postgres
def test_a_token_unknown_to_the_view_is_checked_in_the_database(client, view, services):
    foreign = services.tokens.issue_pair(
        type("Ghost", (), {"id": 2_000_000_000, "is_admin": False, "session_generation": 0})(), fresh=True)
    assert_unauthorized(client.get("/api/v1/users/me",
                                   headers=bearer(foreign["access_token"])))


@needs_postgres
def test_the_listener_reloads_what_it_missed_when_it_reconnects(client, view, user, tokens,
                                                                auth, another_host):
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


def applied_up_to_now(view) -> None:
    """Wait until everything committed so far has reached the view: a beat
    sent from now on has come back."""
    sent = view.clock()
    deadline = time.monotonic() + 10
    while view.trusted_until < sent + view.bound:
        assert time.monotonic() < deadline, "no beat came back"
        time.sleep(0.02)


@needs_postgres
def test_refreshes_leave_nothing_in_the_view(client, view, tokens, database_url):
    before = dict(view.revoked)
    refresh = tokens["refresh_token"]
    for _ in range(20):
        answer = client.post("/api/v1/auth/refresh", headers=bearer(refresh))
        assert answer.status_code == 200
        refresh = answer.json()["refresh_token"]
    applied_up_to_now(view)
    assert view.revoked == before
    with psycopg.connect(make_url(database_url).set(drivername="postgresql")
                         .render_as_string(hide_password=False)) as connection:
        kinds = connection.execute("SELECT kind, count(*) FROM revoked_tokens"
                                   " GROUP BY kind").fetchall()
    assert dict(kinds) == {"refresh": 20}  # the table keeps what reuse detection needs


@needs_postgres
def test_a_login_ended_by_reuse_is_kept_only_as_long_as_its_access_tokens_live(
        client, view, services, tokens, auth):
    second = client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"])).json()
    assert client.post("/api/v1/auth/logout", headers=bearer(second["access_token"]),
                       json={"refresh_token": second["refresh_token"]}).status_code == 204
    # Handed back at the logout, then presented again: a copy; the login ends.
    assert_unauthorized(client.post("/api/v1/auth/refresh",
                                    headers=bearer(second["refresh_token"])))
    login = services.tokens.decode(tokens["access_token"], "access")["sid"]
    assert login in view.revoked
    assert view.revoked[login] <= time.time() + view.keep_seconds  # not the login's 30 days
    assert_unauthorized(client.get("/api/v1/users/me", headers=auth))


@needs_postgres
def test_a_reloaded_view_holds_only_recent_revocations_an_access_check_can_ask_about(
        client, view, user, another_host):
    rows = {  # jti: (kind, revoked so long ago, expires in)
        "access-now": ("access", "0 seconds", "15 minutes"),
        "chain-now": ("chain", "0 seconds", "30 days"),
        "chain-old": ("chain", "2 hours", "29 days"),
        "refresh-now": ("refresh", "0 seconds", "30 days"),
        "unknown-now": (None, "0 seconds", "30 days"),
    }
    with another_host() as connection:
        connection.execute("SET session_replication_role = replica")  # no notification
        for jti, (kind, ago, expires) in rows.items():
            connection.execute(
                "INSERT INTO revoked_tokens (jti, user_id, kind, revoked_at, expires_at)"
                " VALUES (%s, %s, %s, now() - %s::interval, now() + %s::interval)",
                (jti, user.id, kind, ago, expires))
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE query LIKE 'SELECT pg_notify(%%' AND pid <> pg_backend_pid()")
    deadline = time.monotonic() + 10
    while "access-now" not in view.revoked:
        assert time.monotonic() < deadline, "the listener did not reload the revocations"
        time.sleep(0.05)
    assert {"access-now", "chain-now", "unknown-now"} <= set(view.revoked)
    assert not {"chain-old", "refresh-now"} & set(view.revoked)
    assert view.revoked["chain-now"] <= time.time() + view.keep_seconds


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def claims(jti="j1", sid="s1", sub="7"):
    return {"jti": jti, "sid": sid, "sub": sub}


def test_a_view_is_trusted_only_for_the_bound_after_the_last_beat_was_sent():
    clock = Clock()
    view = TokenView(bound=1.0, keep_seconds=960, clock=clock)
    assert not view.is_current()
    view.confirm(beat_sent_at=100.0)
    clock.now = 100.99
    assert view.is_current()
    clock.now = 101.0
    assert not view.is_current()


def test_a_late_beat_never_shortens_the_trust_and_distrust_ends_it():
    clock = Clock()
    view = TokenView(bound=1.0, keep_seconds=960, clock=clock)
    view.confirm(100.5)
    view.confirm(100.0)  # an older beat arriving late
    clock.now = 101.2
    assert view.is_current()
    view.distrust()
    assert not view.is_current()


def test_revocations_of_a_token_or_its_chain_come_from_notifications():
    view = TokenView(bound=1.0, keep_seconds=960)
    view.apply("revoked j1 2000000000.5")
    view.apply("revoked s2 2000000000")
    assert view.is_revoked(claims(jti="j1"))
    assert view.is_revoked(claims(jti="other", sid="s2"))
    assert not view.is_revoked(claims(jti="j3", sid="s3"))


def test_expired_revocations_are_dropped():
    view = TokenView(bound=1.0, keep_seconds=960)
    view.apply("revoked old 1000")
    view.apply("revoked new 3000")
    view.drop_expired(now=2000)
    assert set(view.revoked) == {"new"}


def test_a_user_change_forgets_the_user():
    view = TokenView(bound=1.0, keep_seconds=960)
    view.remember_user(7, (True, 0), view.user_changes())
    assert view.admins == {7: (True, 0)}
    view.apply("user 7")
    assert view.admins == {}


def test_what_the_database_said_is_not_kept_when_a_user_changed_meanwhile():
    view = TokenView(bound=1.0, keep_seconds=960)
    before = view.user_changes()
    view.apply("user 9")  # arrives while user 7 is being looked up
    view.remember_user(7, (False, 0), before)
    assert view.admins == {}


def test_payloads_that_are_not_ours_change_nothing():
    view = TokenView(bound=1.0, keep_seconds=960)
    view.apply("hello")
    view.apply("")
    assert view.revoked == {} and view.admins == {}


def test_this_workers_commits_apply_at_once():
    view = TokenView(bound=1.0, keep_seconds=960)
    view.remember_user(5, (True, 0), view.user_changes())
    view.apply_committed({"revoked": {"j9": 2e9}, "users": {5}})
    assert view.is_revoked(claims(jti="j9"))
    assert 5 not in view.admins


def test_a_new_snapshot_replaces_revocations_and_forgets_users():
    view = TokenView(bound=1.0, keep_seconds=960)
    view.apply("revoked gone 2000000000")
    view.remember_user(1, (False, 0), view.user_changes())
    view.replace({"kept": 2e9})
    assert set(view.revoked) == {"kept"} and view.admins == {}


def test_the_users_remembered_are_bounded():
    view = TokenView(bound=1.0, keep_seconds=960)
    for user_id in range(USERS_KEPT + 1):
        view.remember_user(user_id, (False, 0), view.user_changes())
    assert len(view.admins) <= USERS_KEPT


def test_a_revocation_is_kept_no_longer_than_an_access_token_lives():
    view = TokenView(bound=1.0, keep_seconds=960)
    view.apply(f"revoked chain {time.time() + 30 * 86400}")  # a login's 30 days
    view.apply_committed({"revoked": {"other": time.time() + 30 * 86400}})
    assert all(until <= time.time() + 960 for until in view.revoked.values())
