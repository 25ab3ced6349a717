"""/stores and /stores/{store_id}, with their items and tags."""

from tests.conftest import API, assert_problem, assert_unauthorized, create


def test_create_store_answers_201_with_location_and_counts(client, auth):
    response = client.post(f"{API}/stores", json={"name": "Corner Shop"}, headers=auth)
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"{API}/stores/{body['id']}"
    assert body["name"] == "Corner Shop"
    assert body["item_count"] == 0 and body["tag_count"] == 0
    assert body["created_at"].endswith("Z") and body["updated_at"].endswith("Z")


def test_store_operations_need_a_token(client, store):
    assert_unauthorized(client.get(f"{API}/stores"))
    assert_unauthorized(client.post(f"{API}/stores", json={"name": "X"}))
    assert_unauthorized(client.get(f"{API}/stores/{store['id']}"))
    assert_unauthorized(client.put(f"{API}/stores/{store['id']}", json={"name": "X"}))
    assert_unauthorized(client.delete(f"{API}/stores/{store['id']}"))


def test_a_store_created_by_a_user_deleted_after_the_token_check_is_401_not_409(
        client, gone_auth):
    response = client.post(f"{API}/stores", json={"name": "Orphan"}, headers=gone_auth)
    assert_unauthorized(response, "no longer exists")


def test_a_duplicate_store_name_is_409(client, auth, store):
    response = client.post(f"{API}/stores", json={"name": "Corner Shop"}, headers=auth)
    assert_problem(response, 409, "already exists")


def test_store_bodies_are_strict(client, auth):
    assert_problem(client.post(f"{API}/stores", json={}, headers=auth), 400, "name")
    assert_problem(client.post(f"{API}/stores", json={"name": "A", "x": 1}, headers=auth), 400)
    assert_problem(client.post(f"{API}/stores", json={"name": ""}, headers=auth), 400)
    assert_problem(client.post(f"{API}/stores", json={"name": "   "}, headers=auth), 400)
    assert_problem(client.post(f"{API}/stores", json={"name": "x" * 81}, headers=auth), 400)
    assert_problem(client.post(f"{API}/stores", json={"name": 5}, headers=auth), 400)
    response = client.post(f"{API}/stores", content=b"{nope", headers={
        **auth, "Content-Type": "application/json"})
    assert_problem(response, 400)


def test_get_store_and_404(client, auth, store, item, tag):
    response = client.get(f"{API}/stores/{store['id']}", headers=auth)
    assert response.status_code == 200
    assert response.json()["item_count"] == 1
    assert response.json()["tag_count"] == 1
    assert_problem(client.get(f"{API}/stores/999", headers=auth), 404, "store 999")


def test_out_of_range_store_ids_are_400(client, auth):
    assert_problem(client.get(f"{API}/stores/0", headers=auth), 400)
    assert_problem(client.get(f"{API}/stores/2147483648", headers=auth), 400)
    assert_problem(client.put(f"{API}/stores/99999999999", json={"name": "x"}, headers=auth), 400)


def test_update_store_renames_it(client, auth, store):
    response = client.put(f"{API}/stores/{store['id']}", json={"name": "Deli"}, headers=auth)
    assert response.status_code == 200
    assert response.json()["name"] == "Deli"
    assert response.json()["updated_at"] >= store["updated_at"]
    assert client.get(f"{API}/stores/{store['id']}", headers=auth).json()["name"] == "Deli"


def test_update_store_errors(client, auth, store, other_store):
    path = f"{API}/stores/{store['id']}"
    assert_problem(client.put(path, json={"name": "Market Hall"}, headers=auth), 409)
    assert_problem(client.put(path, json={}, headers=auth), 400)
    assert_problem(client.put(f"{API}/stores/999", json={"name": "Z"}, headers=auth), 404)


def test_list_stores_filters_by_name_substring_ignoring_case(client, auth, store, other_store):
    response = client.get(f"{API}/stores?name=CORNER", headers=auth)
    assert response.status_code == 200
    assert [s["name"] for s in response.json()["data"]] == ["Corner Shop"]
    response = client.get(f"{API}/stores?name=%25", headers=auth)  # a literal %
    assert response.json()["data"] == []


def test_list_stores_rejects_unknown_query_parameters(client, auth):
    assert_problem(client.get(f"{API}/stores?colour=red", headers=auth), 400, "colour")


def test_deleting_a_store_needs_a_fresh_token_of_its_owner_or_an_admin(client, stranger_auth, stale_admin_auth, store):
    assert_problem(client.delete(f"{API}/stores/{store['id']}", headers=stranger_auth), 403, "owner role")
    assert_problem(client.delete(f"{API}/stores/{store['id']}", headers=stale_admin_auth), 403)


def test_deleting_a_store_cascades_to_its_items_and_tags(client, auth, admin_auth, store, item, tag):
    client.put(f"{API}/items/{item['id']}/tags/{tag['id']}", headers=auth)
    response = client.delete(f"{API}/stores/{store['id']}", headers=admin_auth)
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(client.get(f"{API}/stores/{store['id']}", headers=auth), 404)
    assert_problem(client.get(f"{API}/items/{item['id']}", headers=auth), 404)
    assert_problem(client.get(f"{API}/tags/{tag['id']}", headers=auth), 404)


def test_deleting_an_unknown_store_is_404(client, admin_auth):
    assert_problem(client.delete(f"{API}/stores/999", headers=admin_auth), 404)


def test_list_store_items_and_tags(client, auth, store, other_store, item, tag):
    create(client, auth, "/items", {"name": "Elsewhere", "price": "1", "store_id": other_store["id"]})
    items = client.get(f"{API}/stores/{store['id']}/items", headers=auth)
    assert items.status_code == 200
    assert [i["name"] for i in items.json()["data"]] == ["Lamp"]
    tags = client.get(f"{API}/stores/{store['id']}/tags", headers=auth)
    assert tags.status_code == 200
    assert tags.json()["data"][0]["name"] == "on-sale"
    assert_problem(client.get(f"{API}/stores/999/items", headers=auth), 404)
    assert_problem(client.get(f"{API}/stores/999/tags", headers=auth), 404)


def test_create_store_tag(client, auth, store):
    path = f"{API}/stores/{store['id']}/tags"
    response = client.post(path, json={"name": "new"}, headers=auth)
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"{API}/tags/{body['id']}"
    assert body == {**body, "name": "new", "store_id": store["id"], "item_count": 0}
    assert_problem(client.post(path, json={"name": "new"}, headers=auth), 409)
    assert_problem(client.post(path, json={"name": "new", "x": 1}, headers=auth), 400)
    assert_problem(client.post(f"{API}/stores/999/tags", json={"name": "n"}, headers=auth), 404)


def test_the_same_tag_name_in_two_stores_is_fine(client, auth, store, other_store):
    create(client, auth, f"/stores/{store['id']}/tags", {"name": "sale"})
    create(client, auth, f"/stores/{other_store['id']}/tags", {"name": "sale"})


def test_text_with_a_nul_character_is_400(client, auth, store):
    # PostgreSQL cannot store NUL: the spec refuses it on every backend.
    assert_problem(client.post(f"{API}/stores", json={"name": "a\x00b"}, headers=auth), 400)
    assert_problem(client.get(f"{API}/stores?name=a%00", headers=auth), 400)
    body = {"name": "x", "price": "1", "store_id": store["id"], "description": "nul\x00"}
    assert_problem(client.post(f"{API}/items", json=body, headers=auth), 400)
