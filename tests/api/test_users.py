"""/users/me, /users, /users/{user_id}."""

from tests.conftest import (
    API,
    assert_problem,
    assert_unauthorized,
    bearer,
    login,
    make_user,
)


def test_me_is_the_token_owner_without_the_password_hash(client, user, auth):
    response = client.get(f"{API}/users/me", headers=auth)
    assert response.status_code == 200
    assert response.json() == {
        "id": user.id,
        "username": "alice",
        "is_admin": False,
        "created_at": response.json()["created_at"],
    }


def test_listing_users_is_for_admins(client, auth, admin_auth, user, admin):
    assert_problem(client.get(f"{API}/users", headers=auth), 403)
    response = client.get(f"{API}/users", headers=admin_auth)
    assert response.status_code == 200
    assert [u["username"] for u in response.json()["data"]] == ["alice", "root"]
    assert response.json()["next_cursor"] is None


def test_listing_users_needs_a_token(client):
    assert_unauthorized(client.get(f"{API}/users"))


def test_listing_users_with_a_bad_limit_is_400(client, admin_auth):
    assert_problem(client.get(f"{API}/users?limit=0", headers=admin_auth), 400)
    assert_problem(client.get(f"{API}/users?limit=101", headers=admin_auth), 400)


def test_a_user_may_read_their_own_account(client, user, auth):
    response = client.get(f"{API}/users/{user.id}", headers=auth)
    assert response.status_code == 200
    assert response.json()["username"] == "alice"


def test_a_user_may_not_read_another_account(client, db, auth):
    bob = make_user(db, "bob")
    assert_problem(client.get(f"{API}/users/{bob.id}", headers=auth), 403)


def test_an_admin_may_read_any_account(client, user, admin_auth):
    assert client.get(f"{API}/users/{user.id}", headers=admin_auth).status_code == 200


def test_an_unknown_user_is_404_for_an_admin(client, admin_auth):
    assert_problem(client.get(f"{API}/users/999999", headers=admin_auth), 404, "user 999999")


def test_an_out_of_range_user_id_is_400(client, admin_auth):
    assert_problem(client.get(f"{API}/users/0", headers=admin_auth), 400,
                   "path parameter 'user_id' does not satisfy minimum 1")
    assert_problem(client.get(f"{API}/users/2147483648", headers=admin_auth), 400)
    assert_problem(client.get(f"{API}/users/-1", headers=admin_auth), 400)


def test_a_non_numeric_user_id_names_no_resource(client, admin_auth):
    assert_problem(client.get(f"{API}/users/abc", headers=admin_auth), 404)


def test_deleting_a_user_needs_admin_and_a_fresh_token(client, user, auth, stale_admin_auth):
    assert_problem(client.delete(f"{API}/users/{user.id}", headers=auth), 403)
    assert_problem(client.delete(f"{API}/users/{user.id}", headers=stale_admin_auth), 403)


def test_a_deleted_users_tokens_stop_working(client, user, tokens, auth, admin_auth):
    response = client.delete(f"{API}/users/{user.id}", headers=admin_auth)
    assert response.status_code == 204
    assert response.content == b""
    assert_unauthorized(client.get(f"{API}/users/me", headers=auth))
    assert_unauthorized(client.post(f"{API}/auth/refresh", headers=bearer(tokens["refresh_token"])))
    assert_problem(client.get(f"{API}/users/{user.id}", headers=admin_auth), 404)


def test_a_user_deleted_after_the_token_check_is_401_not_404(client, gone_auth):
    assert_unauthorized(client.get(f"{API}/users/me", headers=gone_auth), "no longer exists")


def test_a_deleted_users_id_is_never_reused(client, user, admin_auth):
    client.delete(f"{API}/users/{user.id}", headers=admin_auth)
    response = client.post(f"{API}/auth/register", json={"username": "carol", "password": "password-123"})
    assert response.json()["id"] > user.id


def test_deleting_an_unknown_user_is_404(client, admin_auth):
    assert_problem(client.delete(f"{API}/users/424242", headers=admin_auth), 404)


def test_the_last_admin_cannot_be_deleted(client, admin, admin_auth):
    assert_problem(client.delete(f"{API}/users/{admin.id}", headers=admin_auth), 409, "last admin")


def test_an_admin_can_be_deleted_while_another_remains(client, db, admin, admin_auth):
    other = make_user(db, "deputy", is_admin=True)
    assert client.delete(f"{API}/users/{other.id}", headers=admin_auth).status_code == 204
    deputy = make_user(db, "deputy2", is_admin=True)
    deputy_auth = bearer(login(client, deputy.username)["access_token"])
    assert client.delete(f"{API}/users/{admin.id}", headers=deputy_auth).status_code == 204


def test_me_with_an_undeclared_query_parameter_is_400(client, auth):
    assert_problem(client.get(f"{API}/users/me?expand=all", headers=auth), 400, "expand")
