"""Logging in for the Schemathesis hooks, kept apart from them: importing a
hooks module registers its auth providers, and a run loads one set only."""

import json
import os
import urllib.request


def login(username: str | None = None) -> dict:
    """A fresh token pair of `username` (the admin unless told)."""
    body = json.dumps({
        "username": username or os.environ["STORES_API_ADMIN"],
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
