"""POST /auth/register, /auth/login, /auth/refresh, /auth/logout."""


import jwt
import pytest
from passlib.hash import pbkdf2_sha256
from sqlalchemy import select

from models import User
from tests.conftest import (
    API,
    PASSWORD,
    assert_problem,
    assert_unauthorized,
    bearer,
    login,
    make_user,
)


def register(client, username="alice", password=PASSWORD, **extra):
    return client.post(
        f"{API}/auth/register", json={"username": username, "password": password, **extra}
    )


def test_register_creates_a_user_with_location(client):
    response = register(client)
    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "alice"
    assert body["is_admin"] is False
    assert body["created_at"].endswith("Z")
    assert set(body) == {"id", "username", "is_admin", "created_at"}
    assert response.headers["location"] == f"{API}/users/{body['id']}"


def test_register_stores_an_argon2id_hash_never_the_password(client, db):
    register(client)
    stored = db.scalar(select(User.password_hash).where(User.username == "alice"))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_usernames_differing_only_in_case_are_409(client):
    assert register(client, "Alice").status_code == 201
    assert_problem(register(client, "alice"), 409, "taken")


def test_register_rejects_bad_usernames_and_passwords_with_400(client):
    assert_problem(register(client, "al"), 400)
    assert_problem(register(client, "a" * 81), 400)
    assert_problem(register(client, "bad name!"), 400)
    assert_problem(register(client, password="short"), 400)
    assert_problem(register(client, password="x" * 129), 400)


def test_register_with_unknown_or_missing_fields_is_400(client):
    assert_problem(register(client, is_admin=True), 400)
    response = client.post(f"{API}/auth/register", json={"username": "alice"})
    assert_problem(response, 400, "password")


def test_login_returns_a_fresh_token_pair(client, user, services):
    pair = login(client, "alice")
    assert pair["token_type"] == "Bearer"
    assert pair["expires_in"] == 15 * 60
    claims = jwt.decode(
        pair["access_token"], services.tokens.secret_key, algorithms=["HS256"]
    )
    assert claims["sub"] == str(user.id)
    assert claims["type"] == "access"
    assert claims["fresh"] is True
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert {"jti", "scope", "iat", "exp"} <= set(claims)
    refresh = jwt.decode(
        pair["refresh_token"], services.tokens.secret_key, algorithms=["HS256"]
    )
    assert refresh["type"] == "refresh"
    assert refresh["exp"] - refresh["iat"] == 30 * 24 * 3600


def test_login_is_case_insensitive_on_username(client, user):
    assert login(client, "ALICE")["access_token"]


def test_login_failure_says_the_same_for_unknown_user_and_wrong_password(client, user):
    wrong_password = client.post(
        f"{API}/auth/login", json={"username": "alice", "password": "wrong-password"}
    )
    unknown_user = client.post(
        f"{API}/auth/login", json={"username": "nobody", "password": "wrong-password"}
    )
    assert assert_unauthorized(wrong_password) == assert_unauthorized(unknown_user)


def test_login_of_unknown_user_still_spends_a_password_hash(client, services, monkeypatch):
    # Same work, so about the same time, as a wrong password (no timing in tests).
    calls = []
    context = services.passwords.context
    original = context.dummy_verify
    monkeypatch.setattr(context, "dummy_verify", lambda: calls.append(1) or original())
    response = client.post(
        f"{API}/auth/login", json={"username": "nobody", "password": "wrong-password"}
    )
    assert_unauthorized(response)
    assert calls == [1]


def test_login_accepts_the_oauth2_password_form_of_swagger_ui(client, user):
    response = client.post(
        f"{API}/auth/login",
        data={"grant_type": "password", "username": "alice", "password": PASSWORD,
              "scope": "", "client_id": ""},
    )
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"


@pytest.mark.parametrize(("field", "bound"), [("scope", 1024), ("client_id", 256),
                                              ("client_secret", 256)])
def test_the_forms_ignored_fields_have_their_bound(client, user, field, bound):
    form = {"grant_type": "password", "username": "alice", "password": PASSWORD}
    response = client.post(f"{API}/auth/login", data={**form, field: "x" * bound})
    assert response.status_code == 200, response.text
    response = client.post(f"{API}/auth/login", data={**form, field: "x" * (bound + 1)})
    assert assert_problem(response, 400)["detail"] == \
        f"'{field}' does not satisfy maxLength {bound}"


def test_a_refresh_token_at_logout_longer_than_any_token_is_400(client, auth):
    response = client.post(f"{API}/auth/logout", json={"refresh_token": "x" * 2049}, headers=auth)
    assert assert_problem(response, 400)["detail"] == \
        "'refresh_token' does not satisfy maxLength 2048"


def test_login_with_missing_fields_is_400(client):
    assert_problem(client.post(f"{API}/auth/login", json={"username": "alice"}), 400)


def test_pbkdf2_hashes_still_verify_and_are_rehashed_to_argon2id(client, db):
    make_user(db, "legacy")
    legacy = db.scalar(select(User).where(User.username == "legacy"))
    legacy.password_hash = pbkdf2_sha256.hash(PASSWORD)
    db.commit()
    login(client, "legacy")
    db.expire_all()
    assert db.scalar(select(User.password_hash).where(User.username == "legacy")).startswith(
        "$argon2id$"
    )


def refresh(client, refresh_token):
    return client.post(f"{API}/auth/refresh", headers=bearer(refresh_token))


def test_refresh_returns_a_new_pair_with_a_non_fresh_access_token(client, tokens, services):
    response = refresh(client, tokens["refresh_token"])
    assert response.status_code == 200
    pair = response.json()
    assert pair["refresh_token"] != tokens["refresh_token"]
    claims = jwt.decode(
        pair["access_token"], services.tokens.secret_key, algorithms=["HS256"]
    )
    assert claims["fresh"] is False
    assert client.get(f"{API}/users/me", headers=bearer(pair["access_token"])).status_code == 200


def test_refresh_with_an_access_token_is_401(client, tokens):
    assert_unauthorized(refresh(client, tokens["access_token"]), "refresh")


def test_refresh_without_a_token_is_401(client):
    assert_unauthorized(client.post(f"{API}/auth/refresh"))


@pytest.fixture
def client_without_leeway(app_with):
    """The app with REFRESH_REUSE_SECONDS=0: a refresh token works once."""
    with app_with(refresh_reuse_seconds=0).test_client() as client:
        yield client


def test_a_refresh_retried_within_the_leeway_gets_the_same_pair(client, tokens):
    first = refresh(client, tokens["refresh_token"])
    again = refresh(client, tokens["refresh_token"])  # the first answer was lost, say
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    # The chain lives on, with one refresh token: the one both answers carried.
    rotated = first.json()
    assert client.get(f"{API}/users/me", headers=bearer(rotated["access_token"])).status_code == 200
    assert refresh(client, rotated["refresh_token"]).status_code == 200


def test_a_rotated_refresh_token_presented_after_the_leeway_revokes_the_whole_chain(
        client_without_leeway, user):
    client = client_without_leeway
    tokens = login(client, "alice")
    first_rotation = refresh(client, tokens["refresh_token"]).json()
    assert_unauthorized(refresh(client, tokens["refresh_token"]), "already used")
    # Every token of that login is gone: the pair issued by the rotation too.
    assert_unauthorized(refresh(client, first_rotation["refresh_token"]))
    assert_unauthorized(
        client.get(f"{API}/users/me", headers=bearer(first_rotation["access_token"]))
    )
    assert_unauthorized(client.get(f"{API}/users/me", headers=bearer(tokens["access_token"])))


def test_a_refresh_token_handed_in_at_logout_ends_its_chain_when_presented(client, tokens, auth):
    body = {"refresh_token": tokens["refresh_token"]}
    assert client.post(f"{API}/auth/logout", json=body, headers=auth).status_code == 204
    assert_unauthorized(refresh(client, tokens["refresh_token"]))  # no leeway for a logout


def test_reuse_revokes_only_its_own_chain(client_without_leeway, user):
    client = client_without_leeway
    laptop = login(client, "alice")
    phone = login(client, "alice")
    refresh(client, laptop["refresh_token"])
    refresh(client, laptop["refresh_token"])
    assert client.get(f"{API}/users/me", headers=bearer(phone["access_token"])).status_code == 200
    assert refresh(client, phone["refresh_token"]).status_code == 200


def test_logout_revokes_the_access_token(client, tokens, auth):
    response = client.post(f"{API}/auth/logout", headers=auth)
    assert response.status_code == 204
    assert response.content == b""
    assert_unauthorized(client.get(f"{API}/users/me", headers=auth), "revoked")
    # The refresh token was not handed in, so it still works.
    assert refresh(client, tokens["refresh_token"]).status_code == 200


def test_logout_with_the_refresh_token_revokes_both(client, tokens, auth):
    response = client.post(
        f"{API}/auth/logout", headers=auth, json={"refresh_token": tokens["refresh_token"]}
    )
    assert response.status_code == 204
    assert_unauthorized(refresh(client, tokens["refresh_token"]))


def test_logout_with_a_foreign_or_broken_refresh_token_is_400(client, db, auth):
    make_user(db, "bob")
    bobs = login(client, "bob")
    response = client.post(
        f"{API}/auth/logout", headers=auth, json={"refresh_token": bobs["refresh_token"]}
    )
    assert_problem(response, 400, "another user")
    response = client.post(f"{API}/auth/logout", headers=auth, json={"refresh_token": "nonsense"})
    assert_problem(response, 400, "refresh_token")
    response = client.post(
        f"{API}/auth/logout", headers=auth, json={"refresh_token": bobs["access_token"]}
    )
    assert_problem(response, 400, "refresh")


def test_logout_with_unknown_fields_is_400(client, auth):
    assert_problem(client.post(f"{API}/auth/logout", headers=auth, json={"all": True}), 400)


def test_logout_without_a_token_is_401(client):
    assert_unauthorized(client.post(f"{API}/auth/logout"))


def test_a_refused_password_is_never_repeated_back(client):
    response = register(client, password="hunter2")
    body = assert_problem(response, 400, "'password' does not satisfy minLength 8")
    assert "hunter2" not in response.text and body
    form = client.post(f"{API}/auth/login", data={"username": "alice", "password": "hunter2"})
    assert_problem(form, 400, "'password' does not satisfy minLength 8")
    assert "hunter2" not in form.text


def test_a_hash_of_another_cost_still_verifies_and_is_rehashed(client, db):
    from api.identity.passwords import PasswordHasher

    make_user(db, "costly")
    costly = db.scalar(select(User).where(User.username == "costly"))
    costly.password_hash = PasswordHasher(time_cost=2, memory_kib=4096).hash(PASSWORD)
    db.commit()
    login(client, "costly")
    db.expire_all()
    stored = db.scalar(select(User.password_hash).where(User.username == "costly"))
    assert "m=8192,t=1" in stored  # the configured cost from now on
