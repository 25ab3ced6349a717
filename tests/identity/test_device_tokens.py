"""Device tokens: what counts as a known device for a login, and what not."""

from datetime import timedelta

import jwt

from api.identity.device_tokens import DeviceTokens

TOKENS = DeviceTokens.from_secret("device-test-" + "k" * 40, timedelta(days=1))


def test_a_device_token_is_known_for_its_username_in_any_case():
    token = TOKENS.issue("Alice")
    assert TOKENS.device_of(token, "alice") == TOKENS.device_of(token, "ALICE") is not None


def test_anything_else_is_an_unknown_device():
    token = TOKENS.issue("alice")
    other_key = DeviceTokens.from_secret("another-" + "k" * 40, timedelta(days=1))
    expired = DeviceTokens(TOKENS.key, timedelta(seconds=-1)).issue("alice")
    claims = jwt.decode(token, TOKENS.key, algorithms=["HS256"])
    not_a_device = jwt.encode({**claims, "typ": "access"}, TOKENS.key, algorithm="HS256")
    odd_id = jwt.encode({**claims, "jti": 7}, TOKENS.key, algorithm="HS256")
    for presented, username in [
        (token, "bob"),  # another user's
        (other_key.issue("alice"), "alice"),  # signed with another key
        (expired, "alice"),
        (not_a_device, "alice"),
        (odd_id, "alice"),
        ("not.a.token", "alice"),
        ("x" * 2000, "alice"),
        (None, "alice"),
        ("", "alice"),
    ]:
        assert TOKENS.device_of(presented, username) is None, presented


def test_a_device_token_is_no_access_token():
    # Its key is derived for devices alone: the access tokens' key refuses it.
    token = TOKENS.issue("alice")
    try:
        jwt.decode(token, "device-test-" + "k" * 40, algorithms=["HS256"])
    except jwt.InvalidSignatureError:
        return
    raise AssertionError("a device token verified with the JWT secret itself")
