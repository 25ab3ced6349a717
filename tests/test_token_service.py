"""The token service remembers verified signatures, never verdicts: expiry and
type are checked on every use, and a token it never verified is verified."""

from datetime import timedelta
from types import SimpleNamespace

import jwt
import pytest

from api.identity import tokens
from api.identity.tokens import InvalidToken, TokenService

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
