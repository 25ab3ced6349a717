"""An id names one resource for ever: a deleted row's id is never given again."""

import pytest

from tests.conftest import API, create


@pytest.mark.parametrize("collection", ["stores", "items", "tags"])
def test_deleting_the_newest_row_and_creating_again_gives_a_new_id(
        collection, client, auth, admin_auth, store):
    make = {
        "stores": lambda n: create(client, auth, "/stores", {"name": f"shop {n}"}),
        "items": lambda n: create(client, auth, "/items",
                                  {"name": f"lamp {n}", "price": "1", "store_id": store["id"]}),
        "tags": lambda n: create(client, auth, f"/stores/{store['id']}/tags", {"name": f"tag {n}"}),
    }[collection]
    newest = make(1)
    deleted = client.delete(f"{API}/{collection}/{newest['id']}", headers=admin_auth)
    assert deleted.status_code == 204
    again = make(2)
    assert again["id"] > newest["id"]
    assert client.get(f"{API}/{collection}/{newest['id']}", headers=auth).status_code == 404


def test_a_deleted_user_id_is_never_given_again(client, admin_auth, db):
    from tests.conftest import make_user

    newest = make_user(db, "short-lived")
    assert client.delete(f"{API}/users/{newest.id}", headers=admin_auth).status_code == 204
    assert make_user(db, "next-one").id > newest.id
