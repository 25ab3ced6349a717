"""`stores-api users`: the admin's commands, checked as the API checks the
same acts, and their effect seen through the API."""

import io

import pytest

import api.cli
from tests.conftest import (
    API,
    PASSWORD,
    answered_within,
    asking,
    assert_unauthorized,
    bearer,
    login,
    make_user,
    refused_within,
)

NEW_PASSWORD = "another-horse-battery"


@pytest.fixture
def cli(settings, monkeypatch, capsys):
    """Run `stores-api ARGS` on the app's database: (status, stdout, stderr)."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("INSTANCE_PATH", str(settings.instance_path))
    monkeypatch.setenv("PASSWORD_HASH_TIME_COST", str(settings.password_hash_time_cost))
    monkeypatch.setenv("PASSWORD_HASH_MEMORY_KIB", str(settings.password_hash_memory_kib))

    def run(*args, stdin=""):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        status = api.cli.main(["users", *args])
        out, err = capsys.readouterr()
        return status, out, err

    return run


@pytest.fixture
def bound(settings) -> float:
    """How soon a command's change reaches the app: on PostgreSQL by NOTIFY,
    within the token view's bound; on SQLite at once."""
    return settings.token_view_bound_seconds + 2


def login_fails(client, username: str, password: str) -> None:
    response = client.post(f"{API}/auth/login", json={"username": username, "password": password})
    assert_unauthorized(response, "wrong")


def test_list_shows_each_user_with_its_role_and_nothing_secret(cli, admin, user):
    status, out, _ = cli("list")
    assert status == 0
    assert out.splitlines() == [
        "id\tusername\tadmin",
        f"{admin.id}\troot\tyes",
        f"{user.id}\talice\tno",
    ]
    assert "$argon2" not in out


def test_promote_gives_the_users_own_tokens_the_admin_role(cli, client, bound, admin, user,
                                                          auth):
    assert client.get(f"{API}/users", headers=auth).status_code == 403
    status, out, _ = cli("promote", "ALICE")  # names regardless of case, as login does
    assert (status, out) == (0, "'alice' is an admin\n")
    answered_within(bound, asking(client, "GET", "/users", auth), 200)
    fresh = bearer(login(client, "alice")["access_token"])
    assert client.get(f"{API}/users", headers=fresh).status_code == 200


def test_promote_of_an_admin_changes_nothing(cli, admin):
    assert cli("promote", "root")[:2] == (0, "'root' is an admin already\n")


def test_demote_takes_the_admin_role_from_the_users_tokens(cli, client, bound, db, admin,
                                                          admin_auth):
    deputy = make_user(db, "deputy", is_admin=True)
    status, out, _ = cli("demote", "root")
    assert (status, out) == (0, "'root' is no longer an admin\n")
    answered_within(bound, asking(client, "GET", "/users", admin_auth), 403)
    assert cli("list")[1].splitlines()[1:] == [f"{admin.id}\troot\tno",
                                               f"{deputy.id}\tdeputy\tyes"]


def test_demote_refuses_the_last_admin(cli, client, admin, admin_auth):
    status, out, err = cli("demote", "root")
    assert (status, out) == (1, "")
    assert "'root' is the last admin" in err
    assert client.get(f"{API}/users", headers=admin_auth).status_code == 200


def test_demote_of_a_user_who_is_no_admin_changes_nothing(cli, admin, user):
    assert cli("demote", "alice")[:2] == (0, "'alice' is not an admin\n")


def test_set_password_replaces_the_password_and_ends_every_login(cli, client, bound, user,
                                                                 tokens):
    status, out, _ = cli("set-password", "alice", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert status == 0 and "password of 'alice' replaced" in out
    assert NEW_PASSWORD not in out
    login_fails(client, "alice", PASSWORD)
    fresh = login(client, "alice", NEW_PASSWORD)
    refused_within(bound, asking(client, "GET", "/users/me", bearer(tokens["access_token"])))
    assert client.get(f"{API}/users/me", headers=bearer(fresh["access_token"])).status_code == 200


def test_revoke_sessions_ends_every_login_access_and_refresh_alike(cli, client, bound, user):
    first, second = login(client, "alice"), login(client, "alice")
    refreshed = client.post(f"{API}/auth/refresh", headers=bearer(second["refresh_token"]))
    assert refreshed.status_code == 200
    status, out, err = cli("revoke-sessions", "alice")
    assert (status, err) == (0, "") and "every login of 'alice' ended" in out
    for pair in (first, refreshed.json()):
        refused_within(bound, asking(client, "GET", "/users/me", bearer(pair["access_token"])))
        refused_within(bound, asking(client, "POST", "/auth/refresh",
                                     bearer(pair["refresh_token"])))
    # The account itself goes on: a new login works, and refreshes.
    again = login(client, "alice")
    assert client.get(f"{API}/users/me", headers=bearer(again["access_token"])).status_code == 200
    assert client.post(f"{API}/auth/refresh",
                       headers=bearer(again["refresh_token"])).status_code == 200


def test_set_password_keeps_spaces_and_strips_only_the_newline(cli, client, user):
    assert cli("set-password", "alice", "--password-stdin", stdin=" padded pass \n")[0] == 0
    login(client, "alice", " padded pass ")


@pytest.mark.parametrize("password", ["x" * 7, "x" * 129], ids=["too-short", "too-long"])
def test_set_password_refuses_a_password_the_api_would_refuse(cli, client, user, password):
    status, out, err = cli("set-password", "alice", "--password-stdin", stdin=password + "\n")
    assert (status, out) == (1, "")
    assert "password" in err and password not in err
    login(client, "alice", PASSWORD)


@pytest.mark.parametrize("args", [("promote",), ("demote",), ("revoke-sessions",),
                                  ("set-password", "--password-stdin")])
def test_an_unknown_user_is_refused(cli, admin, args):
    command, *flags = args
    status, out, err = cli(command, "nobody", *flags, stdin=NEW_PASSWORD + "\n")
    assert (status, out) == (1, "")
    assert "no user named 'nobody'" in err
