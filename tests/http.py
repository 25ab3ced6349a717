"""A tiny HTTP client for tests against real servers (standard library only)."""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body) if self.body else None

    # As a test client's response names them: tests/conftest.py's checks take either.
    @property
    def status_code(self) -> int:
        return self.status

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


def call(method: str, url: str, body=None, token: str | None = None,
         headers: dict | None = None, timeout: float = 60) -> Reply:
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, {k.lower(): v for k, v in response.headers.items()},
                         response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


def log_in(api: str, username: str, password: str, headers: dict | None = None) -> Reply:
    """POST /auth/login, whatever it answers."""
    return call("POST", f"{api}/auth/login", {"username": username, "password": password},
                headers=headers)


def register_and_login(api: str, username: str, password: str = "long-enough-pw") -> dict:
    reply = call("POST", f"{api}/auth/register", {"username": username, "password": password})
    assert reply.status == 201, reply.body
    reply = log_in(api, username, password)
    assert reply.status == 200, reply.body
    return reply.json()
