"""`stores-api serve` as a real server: migrations first, logs, access log."""

import json
import urllib.error
import urllib.request

from tests.live_server import live_server


def request(url, method="GET", body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_serve_upgrades_a_fresh_database_and_answers(tmp_path):
    access_log = tmp_path / "access.log"
    with live_server(tmp_path, ACCESS_LOG=str(access_log), LOG_LEVEL="INFO") as (url, stderr):
        status, _, body = request(f"{url}/api/v1/auth/register", "POST",
                                  {"username": "alice", "password": "long-enough-pw"})
        assert status == 201, body
        status, headers, body = request(f"{url}/api/v1/stores")
        assert status == 401
        assert headers["content-type"] == "application/problem+json"
        assert headers["www-authenticate"] == "Bearer"
    lines = access_log.read_text().splitlines()
    assert len(lines) == 3  # the health check, the register, the refused list
    assert '"POST /api/v1/auth/register" 201' in lines[1]
    assert '"GET /api/v1/stores" 401' in lines[2]
    # Connexion's warnings go through the configured logging, formatted.
    assert "WARNING api.errors: 401" in stderr.read_text()
