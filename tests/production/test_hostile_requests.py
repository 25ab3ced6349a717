"""Hostile requests against a real server: what the in-process client cannot
send (chunked framing on the wire, a Host of the caller's choosing, forwarded
headers from an untrusted peer) and what only the server writes (its banner)."""

import http.client
import json

from tests.http import call
from tests.live_server import live_server

SECRET = "my-password-1"


def raw_request(server, method: str, path: str, headers: dict, body=None):
    connection = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers, encode_chunked=body is not None
                           and not isinstance(body, bytes))
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_a_real_server_reads_chunked_bodies_and_trusts_no_caller_header(tmp_path, new_database):
    access_log = tmp_path / "access.log"
    with live_server(tmp_path, new_database("hostile"), ACCESS_LOG=str(access_log)) as server:
        body = json.dumps({"username": "chunky", "password": SECRET}).encode()
        status, headers, _ = raw_request(
            server, "POST", "/api/v1/auth/register",
            {"Content-Type": "application/json"}, iter([body[:10], body[10:]]))
        assert status == 201
        assert "server" not in headers
        assert headers["x-content-type-options"] == "nosniff"

        token = call("POST", f"{server.api}/auth/login",
                     {"username": "chunky", "password": SECRET}).json()["access_token"]
        for n in range(2):
            assert call("POST", f"{server.api}/stores", {"name": f"shop {n}"}, token=token).status == 201
        status, headers, _ = raw_request(
            server, "GET", "/api/v1/stores?limit=1",
            {"Host": "evil.example", "X-Forwarded-Host": "evil.example",
             "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9",
             "Authorization": f"Bearer {token}"})
        assert status == 200
        assert headers["link"].startswith(f"<{server.url}/api/v1/stores?")
        status, headers, _ = raw_request(server, "GET", "/api/v1/stores/", {"Host": "evil.example"})
        assert status == 307 and headers["location"].startswith(server.url)

        chunks = iter([b'{"name": "' + b"x" * 65_536] * 5 + [b'"}'])
        status, headers, body = raw_request(
            server, "POST", "/api/v1/stores",
            {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}, chunks)
        assert status == 413 and headers["content-type"] == "application/problem+json"

    log = server.log() + access_log.read_text()
    assert SECRET not in log and token not in log
    assert "203.0.113.9" not in access_log.read_text()  # the peer is not a trusted proxy


def test_a_trusted_proxy_names_the_client(tmp_path, new_database):
    access_log = tmp_path / "access.log"
    with live_server(tmp_path, new_database("proxied"), ACCESS_LOG=str(access_log),
                     TRUSTED_PROXIES="127.0.0.1", PUBLIC_URL="https://shop.example") as server:
        status, _, _ = raw_request(server, "GET", "/api/v1/health", {"X-Forwarded-For": "203.0.113.9"})
        assert status == 200
        status, headers, _ = raw_request(server, "GET", "/api/v1/stores/", {"Host": "evil.example"})
        assert headers["location"].startswith("https://shop.example/api/v1/stores")
    assert "203.0.113.9" in access_log.read_text()
