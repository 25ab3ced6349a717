"""Device tokens (api/identity/device_tokens.py): what counts as a known
device for a login, and what not; a device's token lives as long as the
account's logins and no longer, and a device holds one."""

import uuid
from datetime import timedelta
from types import SimpleNamespace

import jwt
import pytest

from api.identity.device_tokens import DeviceTokens
from api.identity.tokens import end_sessions
from tests.conftest import API, PASSWORD, assert_problem, make_user

TOKENS = DeviceTokens.from_secret("device-test-" + "k" * 40, timedelta(days=1))
ALICE = SimpleNamespace(id=7, session_generation=0)


def test_a_device_token_is_known_for_its_accounts_current_logins():
    token = TOKENS.issue(ALICE)
    assert uuid.UUID(TOKENS.device_of(token, ALICE))
    renewed = TOKENS.issue(ALICE, TOKENS.device_of(token, ALICE))
    assert TOKENS.device_of(renewed, ALICE) == TOKENS.device_of(token, ALICE)


def test_anything_else_is_an_unknown_device():
    token = TOKENS.issue(ALICE)
    other_key = DeviceTokens.from_secret("another-" + "k" * 40, timedelta(days=1))
    expired = DeviceTokens(TOKENS.key, timedelta(seconds=-1)).issue(ALICE)
    claims = jwt.decode(token, TOKENS.key, algorithms=["HS256"])
    not_a_device = jwt.encode({**claims, "typ": "access"}, TOKENS.key, algorithm="HS256")
    odd_id = jwt.encode({**claims, "jti": 7}, TOKENS.key, algorithm="HS256")
    made_up_id = jwt.encode({**claims, "jti": "devices-of:alice"}, TOKENS.key, algorithm="HS256")
    before_accounts = jwt.encode({k: v for k, v in claims.items() if k != "gen"}, TOKENS.key,
                                 algorithm="HS256")
    for presented, user in [
        (token, SimpleNamespace(id=8, session_generation=0)),  # another account's
        (token, SimpleNamespace(id=7, session_generation=1)),  # its logins since ended
        (token, None),  # no such user
        (other_key.issue(ALICE), ALICE),  # signed with another key
        (expired, ALICE),
        (not_a_device, ALICE),
        (odd_id, ALICE),
        (made_up_id, ALICE),
        (before_accounts, ALICE),
        ("not.a.token", ALICE),
        ("x" * 2000, ALICE),
        (None, ALICE),
        ("", ALICE),
    ]:
        assert TOKENS.device_of(presented, user) is None, presented


def test_a_device_token_is_no_access_token():
    # Its key is derived for devices alone: the access tokens' key refuses it.
    token = TOKENS.issue(ALICE)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "device-test-" + "k" * 40, algorithms=["HS256"])


def log_in(client, username, password=PASSWORD, device=None):
    return client.post(f"{API}/auth/login", json={"username": username, "password": password},
                       headers={"Device-Token": device} if device else {})


def device_id(services, token):
    return jwt.decode(token, services.device_tokens.key, algorithms=["HS256"])["jti"]


def test_a_device_holds_one_token_renewed_at_each_login(client, db, services):
    make_user(db, "alice")
    first = log_in(client, "alice").json()["device_token"]
    again = log_in(client, "alice", device=first).json()["device_token"]
    assert device_id(services, again) == device_id(services, first)
    assert device_id(services, log_in(client, "alice").json()["device_token"]) \
        != device_id(services, first)  # another device


def guesses_then_plain_login(client, username, device):
    """Five wrong guesses sent with `device`, then the right password from no
    device: 429 when the guesses spent the username's budget."""
    for _ in range(5):
        assert log_in(client, username, "wrong-password", device).status_code == 401
    return log_in(client, username)


def test_a_device_token_ends_with_every_login_of_its_account(client, db, services):
    user = make_user(db, "alice")
    device = log_in(client, "alice").json()["device_token"]
    end_sessions(db, user)  # as `users set-password` and `users revoke-sessions` do
    db.commit()
    # The guesses were an unknown device's: the username's budget is spent.
    assert_problem(guesses_then_plain_login(client, "alice", device), 429, "login-username")


def test_a_live_devices_guesses_spend_its_own_budget_not_the_usernames(client, db):
    make_user(db, "alice")
    device = log_in(client, "alice").json()["device_token"]
    assert guesses_then_plain_login(client, "alice", device).status_code == 200


def test_a_name_registered_again_is_another_account_to_its_old_devices(client, db):
    first = make_user(db, "alice")
    device = log_in(client, "alice").json()["device_token"]
    db.delete(first)
    db.commit()
    make_user(db, "alice")
    assert_problem(guesses_then_plain_login(client, "alice", device), 429, "login-username")


def test_a_usernames_devices_share_one_request_budget(client, db):
    make_user(db, "alice")
    devices = [log_in(client, "alice").json()["device_token"] for _ in range(2)]
    quota = 20  # the spec's login-requests-devices
    for n in range(quota):
        assert log_in(client, "alice", device=devices[n % 2]).status_code == 200
    refused = log_in(client, "alice", device=devices[0])
    assert_problem(refused, 429, "login-requests-devices")
    # Guessers, who have no device token, spend another budget than devices.
    assert log_in(client, "alice").status_code == 200
