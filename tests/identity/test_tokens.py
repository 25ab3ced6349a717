"""Tokens (api/identity/tokens.py): every way a bearer token can be unusable
is a 401 with WWW-Authenticate; the token service remembers verified
signatures, never verdicts: expiry and type are checked on every use, and a
token it never verified is verified."""

import base64
import json
import time
from datetime import timedelta
from types import SimpleNamespace

import jwt
import pytest

from api.identity import tokens
from api.identity.tokens import InvalidToken, TokenService
from tests.conftest import API, assert_unauthorized, bearer


def me(client, headers):
    return client.get(f"{API}/users/me", headers=headers)


def claims_of(token, services):
    return jwt.decode(token, services.tokens.secret_key, algorithms=["HS256"])


def test_a_valid_access_token_is_accepted(client, auth):
    assert me(client, auth).status_code == 200


def test_a_missing_token_is_401(client):
    assert_unauthorized(me(client, {}))


@pytest.mark.parametrize("header", ["Bearer", "Bearer not.a.jwt", "Bearer abc", "Basic Zm9vOmJhcg=="])
def test_a_malformed_token_is_401(client, header):
    assert_unauthorized(me(client, {"Authorization": header}))


def test_a_token_signed_with_another_key_is_401(client, tokens, services):
    forged = jwt.encode(claims_of(tokens["access_token"], services), "another-key-entirely-0123456789abcdef", algorithm="HS256")
    assert_unauthorized(me(client, bearer(forged)), "badly signed")


def test_an_expired_token_is_401(client, tokens, services):
    claims = claims_of(tokens["access_token"], services)
    claims.update(iat=int(time.time()) - 3600, exp=int(time.time()) - 60)
    expired = jwt.encode(claims, services.tokens.secret_key, algorithm="HS256")
    assert_unauthorized(me(client, bearer(expired)), "expired")


def test_an_access_token_ends_access_token_seconds_after_its_issue_whatever_its_exp(
        client, tokens, services):
    # Issued while ACCESS_TOKEN_SECONDS was longer: the token views keep a
    # revoked login only as long as the setting says (api/identity/token_view.py).
    claims = claims_of(tokens["access_token"], services)
    lifetime = int(services.tokens.access_lifetime.total_seconds())
    claims.update(iat=int(time.time()) - lifetime, exp=int(time.time()) + 3600)
    issued_long_ago = jwt.encode(claims, services.tokens.secret_key, algorithm="HS256")
    assert_unauthorized(me(client, bearer(issued_long_ago)), "expired")
    claims.update(iat=int(time.time()) - lifetime + 60)
    still_young = jwt.encode(claims, services.tokens.secret_key, algorithm="HS256")
    assert me(client, bearer(still_young)).status_code == 200


def test_an_alg_none_token_is_401(client, tokens, services):
    claims = claims_of(tokens["access_token"], services)

    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    unsigned = f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."
    assert_unauthorized(me(client, bearer(unsigned)))


def test_a_token_with_another_algorithm_is_401(client, tokens, services):
    claims = claims_of(tokens["access_token"], services)
    other = jwt.encode(claims, services.tokens.secret_key, algorithm="HS512")
    assert_unauthorized(me(client, bearer(other)))


def test_a_revoked_token_is_401(client, auth):
    assert client.post(f"{API}/auth/logout", headers=auth).status_code == 204
    assert_unauthorized(me(client, auth), "revoked")


def test_a_refresh_token_presented_as_access_token_is_401(client, tokens):
    assert_unauthorized(me(client, bearer(tokens["refresh_token"])), "access")


def test_a_token_missing_required_claims_is_401(client, tokens, services):
    claims = claims_of(tokens["access_token"], services)
    del claims["jti"]
    token = jwt.encode(claims, services.tokens.secret_key, algorithm="HS256")
    assert_unauthorized(me(client, bearer(token)))


def test_admin_scope_follows_the_account_not_the_token(client, tokens, services):
    # A token that claims `admin` for a non-admin grants nothing.
    claims = claims_of(tokens["access_token"], services)
    claims["scope"] = "admin fresh"
    token = jwt.encode(claims, services.tokens.secret_key, algorithm="HS256")
    response = client.get(f"{API}/users", headers=bearer(token))
    assert response.status_code == 403


def test_a_refresh_with_an_undeclared_query_parameter_is_400_and_uses_nothing_up(client, tokens):
    refresh = bearer(tokens["refresh_token"])
    response = client.post(f"{API}/auth/refresh?rotate=later", headers=refresh)
    assert response.status_code == 400
    assert "rotate" in response.json()["detail"]
    assert client.post(f"{API}/auth/refresh", headers=refresh).status_code == 200


SERVICE = TokenService("s" * 40, timedelta(minutes=15), timedelta(days=30))
USER = SimpleNamespace(id=7, is_admin=False, session_generation=0)


def test_a_remembered_token_still_expires(monkeypatch):
    token = SERVICE.issue_pair(USER, fresh=True)["access_token"]
    claims = SERVICE.decode(token, "access")
    assert token in SERVICE._verified
    monkeypatch.setattr(tokens.time, "time", lambda: claims["exp"])
    with pytest.raises(InvalidToken, match="expired"):
        SERVICE.decode(token, "access")
    assert SERVICE.decode(token, "access", verify_exp=False) == claims


def test_a_remembered_token_is_still_checked_for_its_type():
    token = SERVICE.issue_pair(USER, fresh=False)["refresh_token"]
    SERVICE.decode(token, "refresh")
    with pytest.raises(InvalidToken, match="type 'access'"):
        SERVICE.decode(token, "access")


def test_refused_tokens_are_not_remembered():
    forged = jwt.encode({"sub": "7"}, "another key that is long enough...", algorithm="HS256")
    for _ in range(2):
        with pytest.raises(InvalidToken, match="badly signed"):
            SERVICE.decode(forged, "access")
    assert forged not in SERVICE._verified


def test_the_memory_of_verified_tokens_is_bounded(monkeypatch):
    monkeypatch.setattr(tokens, "VERIFIED_KEPT", 3)
    service = TokenService("t" * 40, timedelta(minutes=15), timedelta(days=30))
    for _ in range(5):
        service.decode(service.issue_pair(USER, fresh=False)["access_token"], "access")
    assert len(service._verified) <= 3
