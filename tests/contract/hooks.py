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


# Values only the server can issue. A schema can say what a cursor or a token
# looks like, never which ones exist: a random one is rightly refused with 400
# (the contract says so), so it is not "valid data". Positive cases leave these
# optional fields out; negative cases still send malformed ones and expect 400.
SERVER_ISSUED_QUERY = {"cursor"}
SERVER_ISSUED_BODY = {"/auth/logout": {"refresh_token"}}


@schemathesis.hook
def before_call(ctx, case, kwargs):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    if isinstance(case.query, dict):
        for name in SERVER_ISSUED_QUERY & case.query.keys():
            del case.query[name]
    fields = SERVER_ISSUED_BODY.get(case.operation.path, set())
    if fields and isinstance(case.body, dict):
        case.body = {k: v for k, v in case.body.items() if k not in fields}
