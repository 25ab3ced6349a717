"""The `stores-api` command line (api/cli.py); `serve` as a real server:
migrations first, the access log."""

import json
import os
import subprocess
import sys

import pytest
import yaml
from sqlalchemy import select

import api.cli
from api.contract import spec_checks
from api.contract.spec_policy import MAX_WINDOW_SECONDS, policy_problems, store_role_problems
from api.process import account_commands, migrate
from models import Database, User
from openapi import load_spec
from tests.conftest import run_cli
from tests.http import call
from tests.live_server import live_server, server_env


@pytest.fixture
def env(cli_env):
    return cli_env


def users(url):
    database = Database(url)
    with database.session() as session:
        found = [(u.username, u.is_admin) for u in session.scalars(select(User))]
    database.dispose()
    return found


@pytest.mark.slow
def test_db_upgrade_current_and_downgrade(env):
    assert run_cli(env, "db", "upgrade").returncode == 0
    current = run_cli(env, "db", "current")
    assert current.returncode == 0 and "(head)" in current.stdout
    assert run_cli(env, "db", "downgrade", "base").returncode == 0
    current = run_cli(env, "db", "current")
    assert current.returncode == 0 and current.stdout.strip() == ""


@pytest.mark.slow
def test_create_admin_reads_the_password_from_stdin(env):
    migrate.upgrade(env["DATABASE_URL"])
    result = run_cli(env, "create-admin", "boss", "--password-stdin", stdin="long-enough-pw\n")
    assert result.returncode == 0, result.stderr
    assert "created admin 'boss'" in result.stdout
    assert users(env["DATABASE_URL"]) == [("boss", True)]


@pytest.mark.slow
def test_create_admin_refuses_a_taken_name_and_a_short_password(env):
    migrate.upgrade(env["DATABASE_URL"])
    run_cli(env, "create-admin", "boss", "--password-stdin", stdin="long-enough-pw\n")
    taken = run_cli(env, "create-admin", "BOSS", "--password-stdin", stdin="long-enough-pw\n")
    assert taken.returncode == 1 and "taken" in taken.stderr
    short = run_cli(env, "create-admin", "other", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "password" in short.stderr
    bad_name = run_cli(env, "create-admin", "no spaces", "--password-stdin", stdin="long-enough-pw\n")
    assert bad_name.returncode == 1 and "username" in bad_name.stderr
    assert users(env["DATABASE_URL"]) == [("boss", True)]


def answer_prompts(monkeypatch, *answers):
    answers = iter(answers)
    monkeypatch.setattr(account_commands.getpass, "getpass", lambda prompt: next(answers))


def test_create_admin_prompts_twice_without_the_flag(env, monkeypatch):
    migrate.upgrade(env["DATABASE_URL"])
    answer_prompts(monkeypatch, "long-enough-pw", "long-enough-pw")
    assert api.cli.main(["create-admin", "boss"]) == 0
    assert users(env["DATABASE_URL"]) == [("boss", True)]


def test_create_admin_refuses_two_different_passwords(env, monkeypatch, capsys):
    migrate.upgrade(env["DATABASE_URL"])
    answer_prompts(monkeypatch, "long-enough-pw", "another-password")
    assert api.cli.main(["create-admin", "boss"]) == 1
    assert "differ" in capsys.readouterr().err
    assert users(env["DATABASE_URL"]) == []


def test_openapi_check_passes_on_the_spec():
    assert api.cli.main(["openapi", "check"]) == 0


def test_openapi_check_finds_a_handler_the_spec_does_not_use(monkeypatch, capsys):
    import api.stores

    def forgotten_handler():
        pass

    forgotten_handler.__module__ = "api.stores"
    monkeypatch.setattr(api.stores, "forgotten_handler", forgotten_handler, raising=False)
    assert api.cli.main(["openapi", "check"]) == 1
    assert "api.stores.forgotten_handler" in capsys.readouterr().err


def test_openapi_check_finds_an_operation_without_a_handler():
    spec = {"paths": {"/x": {"get": {"operationId": "noSuchFunction",
                                     "x-openapi-router-controller": "api.stores"}}}}
    assert spec_checks.unresolved_operations(spec) == [
        "operationId noSuchFunction does not resolve to a function "
        "(api.stores.no_such_function): `stores-api openapi scaffold` writes its stub"
    ]


def test_openapi_check_wants_public_camel_case_operation_ids_used_once():
    spec = {"paths": {"/x": {"get": {"operationId": "api.stores.list_stores"},
                             "put": {"operationId": "listStores"},
                             "post": {"operationId": "listStores"}}}}
    assert spec_checks.badly_named_operations(spec) == [
        "operationId api.stores.list_stores is not camelCase",
        "operationId listStores is used twice",
    ]


def spec_without(tmp_path, monkeypatch, change) -> None:
    """The spec as `openapi check` reads it, changed by `change(spec)`."""
    import openapi

    spec = yaml.safe_load(openapi.SPEC_PATH.read_text())
    change(spec)
    changed = tmp_path / "swagger.yaml"
    changed.write_text(yaml.safe_dump(spec, sort_keys=False))
    monkeypatch.setattr(openapi, "SPEC_PATH", changed)


def test_openapi_check_fails_on_a_store_change_that_declares_no_role(tmp_path, monkeypatch, capsys):
    spec_without(tmp_path, monkeypatch,
                 lambda spec: spec["paths"]["/items/{item_id}"]["put"].pop("x-store-role"))
    assert api.cli.main(["openapi", "check"]) == 1
    assert "replaceItem changes a store's things but declares no x-store-role" \
        in capsys.readouterr().err


def test_openapi_check_wants_the_rule_shown_where_users_read_it():
    operation = {
        "operationId": "renameThing",
        "x-store-role": {"store": "path.store_id", "role": "owner"},
        "description": "Renames it.",
        "responses": {"403": {"$ref": "#/components/responses/Forbidden"}},
    }
    assert store_role_problems("/stores/{store_id}", "put", operation) == [
        "renameThing: its description must say who may: "
        "**Who may:** the store's owners and admins, with a fresh token.",
        "renameThing: its 403 must be #/components/responses/NotStoreOwner",
        "renameThing: the owner role goes with a fresh token (security: accessToken: [fresh])",
    ]
    operation["x-store-role"] = {"store": "somewhere", "role": "editor"}
    assert "x-store-role needs store" in store_role_problems("/x", "put", operation)[0]
    operation["x-store-role"] = {"store": "item", "role": "owner", "self": "path.user_id"}
    assert store_role_problems("/stores/{store_id}", "put", operation)[:2] == [
        "renameThing: x-store-role's self names no parameter of /stores/{store_id}",
        "renameThing: x-store-role's store item is not in /stores/{store_id}",
    ]


def test_the_command_is_installed():
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "stores-api"), "--help"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0
    for command in ("serve", "db", "create-admin", "openapi"):
        assert command in result.stdout


@pytest.mark.live
def test_serve_upgrades_a_fresh_database_and_answers(tmp_path, new_database):
    access_log = tmp_path / "access.log"
    with live_server(tmp_path, new_database("serve"), ACCESS_LOG=str(access_log)) as server:
        reply = call("POST", f"{server.api}/auth/register",
                     {"username": "alice", "password": "long-enough-pw"})
        assert reply.status == 201, reply.body
        reply = call("GET", f"{server.api}/stores")
        assert reply.status == 401
        assert reply.headers["content-type"] == "application/problem+json"
        assert reply.headers["www-authenticate"] == "Bearer"
    lines = [json.loads(line) for line in access_log.read_text().splitlines()]
    # After the readiness probes: the register and the refused list, a line each.
    # A line is written once its response has gone out, so the client may send
    # the next request first: the order of the two lines is not fixed.
    assert sorted((line["method"], line["path"], line["status"]) for line in lines
                  if line["path"] != "/api/v1/health") == [
        ("GET", "/api/v1/stores", 401),
        ("POST", "/api/v1/auth/register", 201),
    ]
    # Connexion's warnings go through the configured logging, formatted.
    assert "WARNING api.contract.problems: 401" in server.log()


@pytest.mark.slow
def test_serve_refuses_a_shared_database_without_a_secret_key(tmp_path):

    env = server_env(tmp_path, "postgresql+psycopg://nobody@127.0.0.1:1/none")
    del env["JWT_SECRET_KEY"]
    result = subprocess.run([sys.executable, "-m", "api.cli", "serve", "--port", "1"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "JWT_SECRET_KEY is unset" in result.stderr
    assert "Traceback" not in result.stderr


def test_openapi_check_fails_on_a_string_without_its_bound(tmp_path, monkeypatch, capsys):
    spec_without(tmp_path, monkeypatch, lambda spec: spec["components"]["schemas"]["Token"]
                 .pop("maxLength"))
    assert api.cli.main(["openapi", "check"]) == 1
    assert "#/components/schemas/Token: a string without maxLength" in capsys.readouterr().err


def test_openapi_check_fails_on_a_limited_answer_that_declares_no_rate_limit_headers(
        tmp_path, monkeypatch, capsys):
    spec_without(tmp_path, monkeypatch, lambda spec: spec["paths"]["/stores"]["get"]
                 ["responses"]["200"]["headers"].pop("RateLimit"))
    assert api.cli.main(["openapi", "check"]) == 1
    assert "listStores is rate limited but its answers 200 do not declare RateLimit and " \
           "RateLimit-Policy" in capsys.readouterr().err


def test_openapi_check_wants_no_window_longer_than_the_longest_retry_after():
    policy = {"quota": 1, "window": MAX_WINDOW_SECONDS + 1, "per": "caller"}
    assert policy_problems({"x-rate-limits": {"policies": {"slow": policy}}, "paths": {}}) == [
        "x-rate-limits policy slow: a window of at most 86400 seconds, the longest "
        "Retry-After declares"]
    retry_after = load_spec()["components"]["headers"]["RetryAfter"]["schema"]
    assert retry_after["maximum"] == MAX_WINDOW_SECONDS
