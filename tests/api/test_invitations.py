"""Invitations: nobody becomes an owner or an editor of a store without
saying yes (issue 41). An owner invites; the invitee accepts or declines;
an owner may withdraw; an invitation lapses after 7 days."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from api.process.pruning import prune
from models import MAX_PENDING_INVITATIONS, StoreInvitation
from models.base import utcnow
from tests.api.test_members import accept, invite, members_of
from tests.conftest import API, assert_problem, bearer, make_user, signed_in


@pytest.fixture
def bob(db):
    return make_user(db, "bob")


@pytest.fixture
def bob_auth(services, bob) -> dict:
    return bearer(signed_in(services, bob)["access_token"])


def mine(client, headers) -> list[dict]:
    response = client.get(f"{API}/users/me/invitations", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_an_invitation_makes_no_member_until_its_yes(client, auth, user, bob, bob_auth, store):
    invited = invite(client, auth, store, "BOB", "editor")
    assert invited.status_code == 201, invited.text
    invitation = invited.json()
    assert invited.headers["location"] == f"{API}/stores/{store['id']}/invitations/{bob.id}"
    assert {k: invitation[k] for k in ("store_id", "store_name", "user_id", "username", "role",
                                       "invited_by")} == {
        "store_id": store["id"], "store_name": "Corner Shop", "user_id": bob.id,
        "username": "bob", "role": "editor", "invited_by": user.id}
    assert invitation["expires_at"] > invitation["created_at"]
    assert members_of(client, auth, store) == [("alice", "owner")]
    assert_problem(client.put(f"{API}/stores/{store['id']}", json={"name": "Bob's"},
                              headers=bob_auth), 403)
    assert mine(client, bob_auth) == [invitation]
    assert client.get(f"{API}/stores/{store['id']}/invitations",
                      headers=auth).json()["data"] == [invitation]
    accepted = accept(client, store, "bob")
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["role"] == "editor"
    assert accepted.headers["location"] == f"{API}/stores/{store['id']}/members/{bob.id}"
    assert members_of(client, auth, store) == [("alice", "owner"), ("bob", "editor")]
    assert mine(client, bob_auth) == []
    assert_problem(accept(client, store, "bob"), 404, "no pending invitation")


def test_nobody_is_left_with_an_owners_duties_they_did_not_take(client, db, services, user,
                                                                   auth, admin_auth):
    """The attack of issue 41: mallory made alice the owner of a store of
    hers and left; alice could not leave it, nor an admin delete her."""
    mallory = make_user(db, "mallory")
    mallory_auth = bearer(signed_in(services, mallory)["access_token"])
    trap = client.post(f"{API}/stores", json={"name": "Trap"}, headers=mallory_auth).json()
    assert invite(client, mallory_auth, trap, "alice", "owner").status_code == 201
    leave = client.delete(f"{API}/stores/{trap['id']}/members/{mallory.id}", headers=mallory_auth)
    assert_problem(leave, 409, "without an owner")  # mallory keeps what she made
    assert client.get(f"{API}/stores/{trap['id']}", headers=auth).json()["owner_id"] == mallory.id
    assert client.delete(f"{API}/users/{user.id}", headers=admin_auth).status_code == 204


def test_declined_withdrawn_or_lapsed_it_cannot_be_accepted(client, auth, db, bob, bob_auth,
                                                            store):
    base = f"{API}/users/me/invitations/{store['id']}"
    invite(client, auth, store, "bob", "editor")
    assert client.delete(base, headers=bob_auth).status_code == 204
    assert_problem(client.delete(base, headers=bob_auth), 404, "no pending invitation")
    assert_problem(accept(client, store, "bob"), 404)

    invite(client, auth, store, "bob", "editor")
    withdrawn = client.delete(f"{API}/stores/{store['id']}/invitations/{bob.id}", headers=auth)
    assert withdrawn.status_code == 204
    assert_problem(accept(client, store, "bob"), 404)

    invite(client, auth, store, "bob", "editor")
    db.execute(update(StoreInvitation).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    assert mine(client, bob_auth) == []
    assert client.get(f"{API}/stores/{store['id']}/invitations", headers=auth).json()["data"] == []
    assert_problem(accept(client, store, "bob"), 404)
    assert_problem(client.delete(f"{API}/stores/{store['id']}/invitations/{bob.id}",
                                 headers=auth), 404)
    assert invite(client, auth, store, "bob", "owner").status_code == 201  # a lapsed one made room
    assert members_of(client, auth, store) == [("alice", "owner")]


def test_lapsed_invitations_are_pruned(client, auth, services, db, bob, store):
    invite(client, auth, store, "bob", "editor")
    assert prune(services.database)["store_invitations"] == 0
    assert prune(services.database, now=utcnow() + timedelta(days=7, seconds=1)) \
        ["store_invitations"] == 1


def test_who_may_invite_withdraw_list_and_answer(client, auth, db, services, bob, bob_auth,
                                                 store):
    carol = make_user(db, "carol")
    carol_auth = bearer(signed_in(services, carol)["access_token"])
    invitations = f"{API}/stores/{store['id']}/invitations"
    assert_problem(invite(client, bob_auth, store, "carol", "editor"), 403, "owner role")
    assert invite(client, auth, store, "bob", "editor").status_code == 201
    assert_problem(client.get(invitations, headers=carol_auth), 403)
    assert_problem(client.delete(f"{invitations}/{bob.id}", headers=carol_auth), 403)
    # Another user's invitation is nobody else's to answer.
    assert_problem(client.post(f"{API}/users/me/invitations/{store['id']}/accept",
                               headers=carol_auth), 404, "no pending invitation")
    assert_problem(client.delete(f"{API}/users/me/invitations/{store['id']}",
                                 headers=carol_auth), 404)
    # Taking on a role takes a fresh token, as leaving one does.
    stale = bearer(signed_in(services, bob, fresh=False)["access_token"])
    refused = client.post(f"{API}/users/me/invitations/{store['id']}/accept", headers=stale)
    assert refused.status_code == 403 and "fresh" in refused.json()["detail"], refused.text
    assert accept(client, store, "bob").status_code == 201
    assert client.get(invitations, headers=bob_auth).status_code == 200  # now an editor


def test_what_may_be_invited_and_how_many(client, auth, db, bob, store):
    assert_problem(invite(client, auth, store, "nobody-by-this-name", "editor"), 422)
    assert_problem(invite(client, auth, store, "alice", "editor"), 409, "already an owner")
    assert invite(client, auth, store, "bob", "editor").status_code == 201
    assert_problem(invite(client, auth, store, "bob", "owner"), 409, "invited to store")
    for n in range(MAX_PENDING_INVITATIONS - 1):
        make_user(db, f"guest{n}")
        assert invite(client, auth, store, f"guest{n}", "editor").status_code == 201
    make_user(db, "one-too-many")
    assert_problem(invite(client, auth, store, "one-too-many", "editor"), 409,
                   f"{MAX_PENDING_INVITATIONS} pending invitations")


def test_an_editor_invited_to_own_becomes_an_owner_by_accepting(client, auth, bob, store):
    invite(client, auth, store, "bob", "editor")
    accept(client, store, "bob")
    assert_problem(invite(client, auth, store, "bob", "editor"), 409, "already an editor")
    assert invite(client, auth, store, "bob", "owner").status_code == 201
    assert members_of(client, auth, store) == [("alice", "owner"), ("bob", "editor")]
    assert accept(client, store, "bob").json()["role"] == "owner"
    assert members_of(client, auth, store) == [("alice", "owner"), ("bob", "owner")]


def test_accounts_gone_take_their_invitations_or_their_name_with_them(
        client, auth, db, services, admin_auth, bob, bob_auth, store):
    carol = make_user(db, "carol")
    invite(client, auth, store, "carol", "owner")
    accept(client, store, "carol")
    carol_auth = bearer(signed_in(services, carol)["access_token"])
    assert invite(client, carol_auth, store, "bob", "editor").json()["invited_by"] == carol.id
    assert client.delete(f"{API}/users/{carol.id}", headers=admin_auth).status_code == 204
    [left] = mine(client, bob_auth)
    assert left["invited_by"] is None
    assert client.delete(f"{API}/users/{bob.id}", headers=admin_auth).status_code == 204
    assert client.get(f"{API}/stores/{store['id']}/invitations", headers=auth).json()["data"] == []
