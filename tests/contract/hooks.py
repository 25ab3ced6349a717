"""Schemathesis auth hooks: log in as the admin, never a pasted token.

Loaded with SCHEMATHESIS_HOOKS=tests.contract.hooks. The server and the admin's
credentials come from STORES_API_URL, STORES_API_ADMIN and STORES_API_PASSWORD.
Access tokens are cached and fetched again after a 401 (a logout or a deleted
user revokes them); the refresh operation gets a refresh token of its own on
every call, since each one works once.
"""

import json
import os
import urllib.request

import schemathesis

import tests.contract.server_issued  # noqa: F401  (registers the data hooks)


def login() -> dict:
    body = json.dumps({
        "username": os.environ["STORES_API_ADMIN"],
        "password": os.environ["STORES_API_PASSWORD"],
    }).encode()
    request = urllib.request.Request(
        f"{os.environ['STORES_API_URL']}/api/v1/auth/login",
        data=body, method="POST", headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def set_bearer(case, token: str) -> None:
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


@schemathesis.auth(refresh_interval=600).apply_to(path_regex="^(?!/auth/refresh)")
class AdminAccessToken:
    def get(self, case, ctx):
        return login()["access_token"]

    def set(self, case, data, ctx):
        set_bearer(case, data)


@schemathesis.auth(refresh_interval=None).apply_to(path_regex="^/auth/refresh$")
class AdminRefreshToken:
    def get(self, case, ctx):
        return login()["refresh_token"]

    def set(self, case, data, ctx):
        set_bearer(case, data)

