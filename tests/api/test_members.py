"""A store's owners and editors: who they are, adding (an invitation
accepted: tests/api/test_invitations.py has the rest of them), changing
and removing them, handing a store over, and the rule that a store keeps an
owner."""

import uuid

import pytest
from sqlalchemy import delete, func, select

from models import StoreMember, User
from tests.conftest import API, assert_problem, bearer, create, login, make_user, signed_in


@pytest.fixture
def bob(db):
    return make_user(db, "bob")


@pytest.fixture
def bob_auth(client, bob) -> dict:
    return bearer(login(client, "bob")["access_token"])


def members_of(client, auth, store) -> list[tuple[str, str]]:
    response = client.get(f"{API}/stores/{store['id']}/members", headers=auth)
    assert response.status_code == 200, response.text
    return [(member["username"], member["role"]) for member in response.json()["data"]]


def invite(client, auth, store, username: str, role: str):
    return client.post(f"{API}/stores/{store['id']}/invitations",
                       json={"username": username, "role": role}, headers=auth)


def accept(client, store, username: str):
    """The invitee's yes, with a fresh token of theirs."""
    services = client.app.services
    with services.database.session() as session:
        invitee = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    return client.post(f"{API}/users/me/invitations/{store['id']}/accept",
                       headers=bearer(signed_in(services, invitee)["access_token"]))


def add(client, auth, store, username: str, role: str):
    """A member as the contract makes one: invited, then saying yes. The
    invitation's answer, when it is refused."""
    invited = invite(client, auth, store, username, role)
    return accept(client, store, username) if invited.status_code == 201 else invited


def test_the_creator_owns_the_store(client, auth, user, store):
    assert store["owner_id"] == user.id
    assert members_of(client, auth, store) == [("alice", "owner")]


def test_only_members_and_admins_read_who_the_members_are(client, auth, bob, bob_auth,
                                                          admin_auth, store):
    """Anyone signed in read every store's members' usernames and ids, where
    GET /users is for admins only."""
    members = f"{API}/stores/{store['id']}/members"
    owner = f"{members}/{store['owner_id']}"
    for path in (members, owner):
        problem = assert_problem(client.get(path, headers=bob_auth), 403)
        assert "alice" not in problem["detail"]
        assert client.get(path).status_code == 401
        assert client.get(path, headers=admin_auth).status_code == 200
    assert add(client, auth, store, "bob", "editor").status_code == 201
    assert members_of(client, bob_auth, store) == [("alice", "owner"), ("bob", "editor")]
    assert client.get(owner, headers=bob_auth).json()["username"] == "alice"
    # What others see: the store and its owner's id, no username.
    assert "username" not in client.get(f"{API}/stores/{store['id']}", headers=admin_auth).text


def test_adding_a_member_answers_201_with_its_location(client, auth, bob, store):
    response = add(client, auth, store, "BOB", "editor")  # usernames match regardless of case
    assert response.status_code == 201, response.text
    member = response.json()
    assert member["user_id"] == bob.id
    assert member["username"] == "bob"
    assert member["role"] == "editor"
    assert response.headers["location"] == f"{API}/stores/{store['id']}/members/{bob.id}"
    assert client.get(response.headers["location"], headers=auth).json() == member


def test_a_user_who_is_already_a_member_is_409(client, auth, bob, user, store):
    assert add(client, auth, store, "bob", "editor").status_code == 201
    assert_problem(add(client, auth, store, "bob", "editor"), 409, "already an editor")
    assert_problem(add(client, auth, store, "alice", "editor"), 409, "already an owner")


def test_an_unknown_username_is_422_and_not_echoed(client, auth, store):
    body = assert_problem(add(client, auth, store, "nobody-by-this-name", "editor"), 422)
    assert "nobody-by-this-name" not in body["detail"]


def test_an_unknown_role_is_400(client, auth, bob, store):
    assert_problem(add(client, auth, store, "bob", "manager"), 400, "role")


def test_members_of_an_unknown_store_are_404(client, auth):
    assert_problem(client.get(f"{API}/stores/999/members", headers=auth), 404)
    assert_problem(add(client, auth, {"id": 999}, "alice", "editor"), 404, "store 999")


def test_a_user_who_is_not_a_member_is_404(client, auth, bob, store):
    path = f"{API}/stores/{store['id']}/members/{bob.id}"
    assert_problem(client.get(path, headers=auth), 404, "not a member")
    assert_problem(client.put(path, json={"role": "owner"}, headers=auth), 404)
    assert_problem(client.delete(path, headers=auth), 404)


def test_an_editor_changes_the_store_but_does_not_manage_members(client, auth, bob_auth, store, db):
    add(client, auth, store, "bob", "editor")
    renamed = client.put(f"{API}/stores/{store['id']}", json={"name": "Bob's too"}, headers=bob_auth)
    assert renamed.status_code == 200
    make_user(db, "carol")
    assert_problem(add(client, bob_auth, store, "carol", "editor"), 403, "owner role")


def test_changing_a_role(client, auth, bob, store):
    """Down by an owner's say; up, to an owner's duties, by the member's own yes."""
    add(client, auth, store, "bob", "editor")
    path = f"{API}/stores/{store['id']}/members/{bob.id}"
    assert_problem(client.put(path, json={"role": "owner"}, headers=auth), 409,
                   "an editor becomes an owner by accepting an invitation")
    assert members_of(client, auth, store) == [("alice", "owner"), ("bob", "editor")]
    response = add(client, auth, store, "bob", "owner")
    assert response.status_code == 201
    assert response.json()["role"] == "owner"
    assert members_of(client, auth, store) == [("alice", "owner"), ("bob", "owner")]
    response = client.put(path, json={"role": "editor"}, headers=auth)
    assert (response.status_code, response.json()["role"]) == (200, "editor")


def test_demoting_or_removing_the_last_owner_is_409(client, auth, user, store):
    path = f"{API}/stores/{store['id']}/members/{user.id}"
    assert_problem(client.put(path, json={"role": "editor"}, headers=auth), 409, "without an owner")
    assert_problem(client.delete(path, headers=auth), 409, "without an owner")
    assert members_of(client, auth, store) == [("alice", "owner")]


def test_handing_a_store_over_is_adding_the_new_owner_then_leaving(client, auth, user, bob, bob_auth, store):
    assert add(client, auth, store, "bob", "owner").status_code == 201
    leave = client.delete(f"{API}/stores/{store['id']}/members/{user.id}", headers=auth)
    assert leave.status_code == 204
    assert leave.content == b""
    assert members_of(client, bob_auth, store) == [("bob", "owner")]
    assert client.get(f"{API}/stores/{store['id']}", headers=bob_auth).json()["owner_id"] == bob.id
    # alice is no one to this store any more.
    assert_problem(client.put(f"{API}/stores/{store['id']}", json={"name": "Mine"}, headers=auth), 403)


def test_an_editor_may_leave(client, auth, bob, bob_auth, store):
    add(client, auth, store, "bob", "editor")
    response = client.delete(f"{API}/stores/{store['id']}/members/{bob.id}", headers=bob_auth)
    assert response.status_code == 204
    assert members_of(client, auth, store) == [("alice", "owner")]


def test_an_editor_may_not_remove_another_member(client, auth, db, user, bob_auth, store):
    add(client, auth, store, "bob", "editor")
    carol = make_user(db, "carol")
    add(client, auth, store, "carol", "editor")
    for target in (carol.id, user.id):
        path = f"{API}/stores/{store['id']}/members/{target}"
        assert_problem(client.delete(path, headers=bob_auth), 403, "removing yourself")
    assert len(members_of(client, auth, store)) == 3


def test_an_ownerless_store_is_managed_by_admins_only(client, db, auth, admin_auth, bob, store):
    # As the migration leaves a store made before owners, when no admin existed.
    db.execute(delete(StoreMember))
    db.commit()
    assert client.get(f"{API}/stores/{store['id']}", headers=auth).json()["owner_id"] is None
    assert_problem(client.put(f"{API}/stores/{store['id']}", json={"name": "Taken"}, headers=auth), 403)
    # An admin hands it over by adding an owner.
    assert add(client, admin_auth, store, "bob", "owner").status_code == 201
    assert client.get(f"{API}/stores/{store['id']}", headers=auth).json()["owner_id"] == bob.id


def test_member_me_lists_the_stores_the_caller_may_edit(client, auth, bob_auth, store, other_store):
    def names(headers):
        response = client.get(f"{API}/stores?member=me", headers=headers)
        assert response.status_code == 200, response.text
        return [s["name"] for s in response.json()["data"]]

    assert names(bob_auth) == []
    add(client, auth, other_store, "bob", "editor")
    assert names(bob_auth) == ["Market Hall"]
    assert names(auth) == ["Corner Shop", "Market Hall"]
    assert_problem(client.get(f"{API}/stores?member=you", headers=auth), 400, "member")


def test_deleting_a_user_removes_their_memberships(client, auth, admin_auth, bob, store):
    add(client, auth, store, "bob", "editor")
    assert client.delete(f"{API}/users/{bob.id}", headers=admin_auth).status_code == 204
    assert members_of(client, auth, store) == [("alice", "owner")]


def test_deleting_a_stores_last_owner_is_409(client, auth, admin_auth, user, store):
    assert_problem(client.delete(f"{API}/users/{user.id}", headers=admin_auth), 409,
                   f"last owner of store {store['id']}")
    add(client, auth, store, "root", "owner")
    assert client.delete(f"{API}/users/{user.id}", headers=admin_auth).status_code == 204
    assert members_of(client, admin_auth, store) == [("root", "owner")]


def test_a_replayed_create_is_refused_once_the_role_is_gone(client, auth, bob, bob_auth, store):
    add(client, auth, store, "bob", "editor")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"name": "Kept", "price": "1", "store_id": store["id"]}
    first = client.post(f"{API}/items", json=body, headers={**bob_auth, **key})
    assert first.status_code == 201
    again = client.post(f"{API}/items", json=body, headers={**bob_auth, **key})
    assert (again.status_code, again.json()) == (201, first.json())  # a replay while still an editor
    client.delete(f"{API}/stores/{store['id']}/members/{bob.id}", headers=auth)
    refused = client.post(f"{API}/items", json=body, headers={**bob_auth, **key})
    assert_problem(refused, 403, "owner or editor role")
    # A tag, whose store is in the path, alike.
    add(client, auth, store, "bob", "editor")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    tag_path = f"{API}/stores/{store['id']}/tags"
    assert client.post(tag_path, json={"name": "t"}, headers={**bob_auth, **key}).status_code == 201
    client.delete(f"{API}/stores/{store['id']}/members/{bob.id}", headers=auth)
    assert_problem(client.post(tag_path, json={"name": "t"}, headers={**bob_auth, **key}), 403)


def test_a_replay_for_a_store_since_deleted_gets_the_first_answer(client, auth, admin_auth, store):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"name": "Gone soon", "price": "1", "store_id": store["id"]}
    first = client.post(f"{API}/items", json=body, headers={**auth, **key})
    assert client.delete(f"{API}/stores/{store['id']}", headers=admin_auth).status_code == 204
    again = client.post(f"{API}/items", json=body, headers={**auth, **key})
    assert (again.status_code, again.json()) == (201, first.json())


def test_adding_members_is_limited_like_every_write(client, auth, bob, store):
    response = add(client, auth, store, "bob", "editor")
    assert response.headers["ratelimit-policy"].startswith('"write"')


def test_a_new_store_lists_as_the_creators(client, bob_auth, bob):
    created = create(client, bob_auth, "/stores", {"name": "Bob's"})
    assert created["owner_id"] == bob.id
    listed = client.get(f"{API}/stores?member=me", headers=bob_auth).json()["data"]
    assert [s["id"] for s in listed] == [created["id"]]
