"""`stores-api serve` as a real server: migrations first, the access log."""

import json

from tests.http import call
from tests.live_server import live_server


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


def test_serve_refuses_a_shared_database_without_a_secret_key(tmp_path):
    import subprocess
    import sys

    from tests.live_server import server_env

    env = server_env(tmp_path, "postgresql+psycopg://nobody@127.0.0.1:1/none")
    del env["JWT_SECRET_KEY"]
    result = subprocess.run([sys.executable, "-m", "api.cli", "serve", "--port", "1"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "JWT_SECRET_KEY is unset" in result.stderr
    assert "Traceback" not in result.stderr
