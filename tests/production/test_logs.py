"""The logs of a whole flow: one JSON line per request, request ids, user ids,
and not a single token, password or Authorization value anywhere."""

import json
import re

import pytest

from tests.http import call
from tests.live_server import live_server

PASSWORD = "very-secret-password-1"
WRONG_PASSWORD = "wrong-secret-password-2"
SHORT_PASSWORD = "tiny-pw"


def secrets_of(token: str) -> list[str]:
    # The whole token, and its signature alone: neither may be logged.
    return [token, token.rsplit(".", 1)[1]]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_whole_flow_leaves_no_secret_in_any_log(tmp_path, new_database, log_format):
    access_log = tmp_path / "access.log"
    # No reuse leeway: the flow's second refresh is a reuse, refused and logged.
    with live_server(tmp_path, new_database(f"logs_{log_format}"), workers=2,
                     REFRESH_REUSE_SECONDS="0", LOG_LEVEL="DEBUG", LOG_FORMAT=log_format,
                     ACCESS_LOG=str(access_log)) as server:
        api = server.api
        assert call("POST", f"{api}/auth/register",
                    {"username": "logged", "password": SHORT_PASSWORD}).status == 400
        registered = call("POST", f"{api}/auth/register",
                          {"username": "logged", "password": PASSWORD})
        assert registered.status == 201
        user_id = registered.json()["id"]
        assert call("POST", f"{api}/auth/login",
                    {"username": "logged", "password": WRONG_PASSWORD}).status == 401
        pair = call("POST", f"{api}/auth/login", {"username": "logged", "password": PASSWORD}).json()
        access, refresh = pair["access_token"], pair["refresh_token"]
        store = call("POST", f"{api}/stores", {"name": "Logged"}, token=access)
        assert store.status == 201
        tagged = call("GET", f"{api}/stores", token=access, headers={"X-Request-ID": "trace-42"})
        assert tagged.headers["x-request-id"] == "trace-42"
        assert re.fullmatch(r"[0-9a-f]{32}", store.headers["x-request-id"])
        assert call("GET", f"{api}/users/me", token=access + "x").status == 401
        rotated = call("POST", f"{api}/auth/refresh", token=refresh).json()
        assert call("POST", f"{api}/auth/refresh", token=refresh).status == 401  # reuse
        assert call("POST", f"{api}/auth/logout", {"refresh_token": rotated["refresh_token"]},
                    token=rotated["access_token"]).status in (204, 401)
        assert call("POST", f"{api}/auth/register",
                    {"username": "other", "password": PASSWORD}).status == 201

    logs = server.log() + access_log.read_text()
    secrets = [PASSWORD, WRONG_PASSWORD, SHORT_PASSWORD]
    for token in (access, refresh, rotated["access_token"], rotated["refresh_token"]):
        secrets += secrets_of(token)
    for secret in secrets:
        assert secret not in logs
    assert "Bearer " not in logs and "authorization" not in logs.lower()

    lines = [json.loads(line) for line in access_log.read_text().splitlines()]
    requests = [line for line in lines if line["path"] != "/api/v1/health"]
    assert len(requests) == 11
    for line in requests:
        assert {"time", "method", "path", "status", "duration_ms", "request_id", "user_id"} <= set(line)
    by_request_id = {line["request_id"]: line for line in requests}
    assert by_request_id["trace-42"]["path"] == "/api/v1/stores"
    assert by_request_id["trace-42"]["user_id"] == user_id
    assert by_request_id[store.headers["x-request-id"]]["status"] == 201
    # The same lines went to stderr too.
    assert server.log().count('"request_id": "trace-42"') == 1
    if log_format == "json":
        # Every line of the process, gunicorn's and the migrations' included:
        # one JSON object, with its time, level and message.
        objects = [json.loads(line) for line in server.log().splitlines()
                   if line and not line.startswith(" ")]
        assert all({"time", "level"} <= set(line) for line in objects)
        assert any(line.get("logger") == "gunicorn.error" for line in objects)
        assert any(line.get("logger") == "alembic.runtime.migration" for line in objects)
        # The service's own lines within a request name it.
        assert any(line.get("logger", "").startswith(("api", "connexion"))
                   and "request_id" in line for line in objects)
