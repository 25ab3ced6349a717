"""Schemathesis auth hooks: two ordinary users, taking turns case by case.

Loaded with SCHEMATHESIS_HOOKS=tests.contract.two_users. One user creates a
store and, in a stateful sequence, the other may be the one who renames or
deletes it: the run meets the 403s of stores that belong to somebody else,
and checks them against the spec like every other answer. The server comes
from STORES_API_URL; the users and their password from STORES_API_USERS
(comma-separated) and STORES_API_PASSWORD.
"""

import itertools
import os
import threading

import schemathesis

import tests.contract.server_issued  # noqa: F401  (registers the data hooks)
from tests.contract.credentials import login, set_bearer

USERS = os.environ.get("STORES_API_USERS", "").split(",")
_turns = itertools.count()
_turns_lock = threading.Lock()


def whose_turn() -> str:
    with _turns_lock:
        return USERS[next(_turns) % len(USERS)]


@schemathesis.auth(refresh_interval=600).apply_to(path_regex="^(?!/auth/refresh)")
class TakingTurnsAccessToken:
    def get(self, case, ctx):
        return {user: login(user)["access_token"] for user in USERS}

    def set(self, case, data, ctx):
        set_bearer(case, data[whose_turn()])


@schemathesis.auth(refresh_interval=None).apply_to(path_regex="^/auth/refresh$")
class TakingTurnsRefreshToken:
    def get(self, case, ctx):
        return login(whose_turn())["refresh_token"]

    def set(self, case, data, ctx):
        set_bearer(case, data)
