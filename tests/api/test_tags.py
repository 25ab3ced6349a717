"""/tags/{tag_id} and linking items to tags."""

import importlib

from api.items import MAX_TAGS_PER_ITEM
from openapi import load_spec
from tests.conftest import API, assert_problem, assert_unauthorized, create

migration_0012 = importlib.import_module("migrations.versions.20261207_0012_tags_per_item_bounded")


def link(client, auth, item, tag):
    return client.put(f"{API}/items/{item['id']}/tags/{tag['id']}", headers=auth)


def unlink(client, auth, item, tag):
    return client.delete(f"{API}/items/{item['id']}/tags/{tag['id']}", headers=auth)


def test_get_tag_and_404(client, auth, tag):
    response = client.get(f"{API}/tags/{tag['id']}", headers=auth)
    assert response.status_code == 200
    assert response.json()["name"] == "on-sale"
    assert_problem(client.get(f"{API}/tags/999", headers=auth), 404, "tag 999")
    assert_unauthorized(client.get(f"{API}/tags/{tag['id']}"))


def test_linking_is_idempotent_and_counted(client, auth, item, tag):
    first = link(client, auth, item, tag)
    assert first.status_code == 204 and first.content == b""
    assert link(client, auth, item, tag).status_code == 204
    assert client.get(f"{API}/tags/{tag['id']}", headers=auth).json()["item_count"] == 1
    assert len(client.get(f"{API}/items/{item['id']}", headers=auth).json()["tags"]) == 1


def test_linking_a_tag_of_another_store_is_422(client, auth, item, other_store):
    foreign = create(client, auth, f"/stores/{other_store['id']}/tags", {"name": "x"})
    assert_problem(link(client, auth, item, foreign), 422, "another store")


def test_an_item_carries_at_most_the_specs_tags_and_a_link_past_them_is_409(
        client, auth, store, item):
    tags = [create(client, auth, f"/stores/{store['id']}/tags", {"name": f"t{n}"})
            for n in range(MAX_TAGS_PER_ITEM + 1)]
    for tag in tags[:-1]:
        assert link(client, auth, item, tag).status_code == 204
    assert_problem(link(client, auth, item, tags[-1]), 409,
                   f"item {item['id']} carries 20 tags, the most an item may")
    assert link(client, auth, item, tags[0]).status_code == 204  # still idempotent
    assert unlink(client, auth, item, tags[0]).status_code == 204
    assert link(client, auth, item, tags[-1]).status_code == 204
    shown = client.get(f"{API}/items/{item['id']}", headers=auth).json()["tags"]
    assert len(shown) == MAX_TAGS_PER_ITEM


def test_the_tags_an_item_may_carry_are_the_specs():
    item_tags = load_spec()["components"]["schemas"]["Item"]["properties"]["tags"]
    assert item_tags["maxItems"] == MAX_TAGS_PER_ITEM == migration_0012.MAX_TAGS_PER_ITEM


def test_linking_missing_things_is_404(client, auth, item, tag):
    assert_problem(link(client, auth, {"id": 999}, tag), 404, "item 999")
    assert_problem(link(client, auth, item, {"id": 999}), 404, "tag 999")


def test_unlinking(client, auth, item, tag):
    link(client, auth, item, tag)
    response = unlink(client, auth, item, tag)
    assert response.status_code == 204 and response.content == b""
    assert client.get(f"{API}/items/{item['id']}", headers=auth).json()["tags"] == []
    assert_problem(unlink(client, auth, item, tag), 404, "link")
    assert_problem(unlink(client, auth, {"id": 999}, tag), 404, "item 999")
    assert_problem(unlink(client, auth, item, {"id": 999}), 404, "tag 999")


def test_list_tag_items(client, auth, store, item, tag):
    other = create(client, auth, "/items", {"name": "Bulb", "price": "2", "store_id": store["id"]})
    link(client, auth, other, tag)
    link(client, auth, item, tag)
    response = client.get(f"{API}/tags/{tag['id']}/items", headers=auth)
    assert response.status_code == 200
    assert [i["name"] for i in response.json()["data"]] == ["Lamp", "Bulb"]
    assert_problem(client.get(f"{API}/tags/999/items", headers=auth), 404)


def test_deleting_a_tag_needs_a_fresh_token_of_its_stores_owner_or_an_admin(client, stranger_auth, stale_admin_auth, tag):
    assert_problem(client.delete(f"{API}/tags/{tag['id']}", headers=stranger_auth), 403, "owner role")
    assert_problem(client.delete(f"{API}/tags/{tag['id']}", headers=stale_admin_auth), 403)


def test_a_tag_still_carried_by_items_cannot_be_deleted(client, auth, admin_auth, item, tag):
    link(client, auth, item, tag)
    assert_problem(client.delete(f"{API}/tags/{tag['id']}", headers=admin_auth), 409, "carried")
    unlink(client, auth, item, tag)
    response = client.delete(f"{API}/tags/{tag['id']}", headers=admin_auth)
    assert response.status_code == 204
    assert_problem(client.get(f"{API}/tags/{tag['id']}", headers=auth), 404)
    assert_problem(client.delete(f"{API}/tags/{tag['id']}", headers=admin_auth), 404)


def test_deleting_an_item_removes_its_links(client, auth, admin_auth, item, tag):
    link(client, auth, item, tag)
    client.delete(f"{API}/items/{item['id']}", headers=admin_auth)
    assert client.get(f"{API}/tags/{tag['id']}", headers=auth).json()["item_count"] == 0
