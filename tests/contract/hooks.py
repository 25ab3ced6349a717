"""Schemathesis auth hooks: log in as the admin, never a pasted token.

Loaded with SCHEMATHESIS_HOOKS=tests.contract.hooks. The server and the admin's
credentials come from STORES_API_URL, STORES_API_ADMIN and STORES_API_PASSWORD.
Access tokens are cached and fetched again after a 401 (a logout or a deleted
user revokes them); the refresh operation gets a refresh token of its own on
every call, since each one works once.
"""

import schemathesis

import tests.contract.server_issued  # noqa: F401  (registers the data hooks)
from tests.contract.credentials import login, set_bearer


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

