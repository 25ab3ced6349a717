"""/items and /items/{item_id}, prices and filters."""

from decimal import Decimal

import pytest

from tests.conftest import API, assert_problem, assert_unauthorized, create


def new_item(client, auth, store, **fields):
    body = {"name": "Lamp", "price": "19.99", "store_id": store["id"], **fields}
    return client.post(f"{API}/items", json=body, headers=auth)


def test_create_item_answers_201_with_location(client, auth, store):
    response = new_item(client, auth, store, description="Warm light")
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"{API}/items/{body['id']}"
    assert body == {
        "id": body["id"],
        "name": "Lamp",
        "price": "19.99",
        "description": "Warm light",
        "store_id": store["id"],
        "tags": [],
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }


def test_the_description_is_optional_and_nullable(client, auth, store):
    assert new_item(client, auth, store).json()["description"] is None
    response = new_item(client, auth, store, name="Chair", description=None)
    assert response.status_code == 201
    assert_problem(new_item(client, auth, store, name="Desk", description="x" * 1001), 400)


@pytest.mark.parametrize(("price", "answered"), [
    ("0.1", "0.10"), ("12.34", "12.34"), ("0", "0.00"), ("0.29", "0.29"), ("5.", None),
    ("1000000000", "1000000000.00"), ("1000000000.0", "1000000000.00"),
    ("999999999.99", "999999999.99"), ("0.00", "0.00"),
])
def test_prices_come_back_exactly_with_two_places(client, auth, store, price, answered):
    created = new_item(client, auth, store, price=price)
    if answered is None:
        assert_problem(created, 400)
        return
    assert created.status_code == 201, created.text
    assert created.json()["price"] == answered
    fetched = client.get(f"{API}/items/{created.json()['id']}", headers=auth)
    assert fetched.json()["price"] == answered
    assert Decimal(answered) == Decimal(price)


@pytest.mark.parametrize("price", [
    "12.345", "0.001", "-0.01", "1000000000.01", "1000000001", "01.5", "1e3", " 1", "1,5",
    "\uff11", "NaN", "", 12.34, 0, None,
])
def test_bad_prices_are_400_naming_the_rule_never_rounded(client, auth, store, price):
    problem = assert_problem(new_item(client, auth, store, price=price), 400)
    assert problem["detail"] in (
        "'price' does not satisfy pattern (a decimal from 0 to 1000000000 with at most two "
        "places)", "'price' does not satisfy type string")


def test_the_handler_gets_the_body_validation_parsed_with_its_price_a_decimal(
        client, auth, store, monkeypatch):
    import starlette.requests

    import api.items

    made = []
    monkeypatch.setattr(api.items, "Item", lambda **fields: _item(made, fields))

    def parsed_again(_request):
        raise AssertionError("the body was parsed a second time")

    monkeypatch.setattr(starlette.requests.Request, "json", parsed_again)
    body = f'{{"name": "Exact", "price": "0.30", "store_id": {store["id"]}}}'
    response = client.post(f"{API}/items", content=body,
                           headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    assert made[0]["price"] == Decimal("0.30") and isinstance(made[0]["price"], Decimal)


def _item(made, fields):
    from models import Item

    made.append(fields)
    return Item(**fields)


def test_a_number_query_parameter_reaches_the_handler_as_written(client, auth, monkeypatch):
    import api.items

    bounds = []
    paginate = api.items.paginate

    def spying(query, *args):
        bounds.extend(query.compile().params.values())
        return paginate(query, *args)

    monkeypatch.setattr(api.items, "paginate", spying)
    assert client.get(f"{API}/items?min_price=0.1&max_price=-0", headers=auth).status_code == 200
    assert Decimal("0.1") in bounds and all(isinstance(b, Decimal) for b in bounds)
    assert str(bounds[-1]) == "0"  # -0 is 0


def test_an_item_in_a_missing_store_is_422(client, auth):
    response = client.post(
        f"{API}/items", json={"name": "Lamp", "price": "1", "store_id": 4242}, headers=auth
    )
    assert_problem(response, 422, "store 4242")


def test_duplicate_item_name_in_same_store_is_409(client, auth, store, item):
    assert_problem(new_item(client, auth, store), 409, "already exists")


def test_the_same_item_name_in_two_stores_is_fine(client, auth, item, other_store):
    assert new_item(client, auth, other_store).status_code == 201


def test_item_bodies_are_strict(client, auth, store):
    assert_problem(new_item(client, auth, store, colour="red"), 400)
    response = client.post(f"{API}/items", json={"name": "Lamp", "price": "1"}, headers=auth)
    assert_problem(response, 400, "store_id")
    assert_problem(new_item(client, auth, store, store_id=0), 400)
    assert_problem(new_item(client, auth, store, store_id=2147483648), 400)


def test_get_item_with_its_tags(client, auth, item, tag):
    client.put(f"{API}/items/{item['id']}/tags/{tag['id']}", headers=auth)
    response = client.get(f"{API}/items/{item['id']}", headers=auth)
    assert response.status_code == 200
    assert response.json()["tags"] == [{"id": tag["id"], "name": "on-sale"}]
    assert_problem(client.get(f"{API}/items/999", headers=auth), 404, "item 999")
    assert_problem(client.get(f"{API}/items/0", headers=auth), 400)


def test_update_item_replaces_name_price_and_description(client, auth, item):
    path = f"{API}/items/{item['id']}"
    response = client.put(path, json={"name": "Big lamp", "price": "17.5"}, headers=auth)
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["price"], body["description"]) == ("Big lamp", "17.50", None)
    assert body["store_id"] == item["store_id"]


def test_update_item_errors(client, auth, store, item):
    new_item(client, auth, store, name="Chair")
    path = f"{API}/items/{item['id']}"
    assert_problem(client.put(path, json={"name": "Chair", "price": "1"}, headers=auth), 409)
    assert_problem(client.put(path, json={"name": "Chair"}, headers=auth), 400)
    body = {"name": "X", "price": "1", "store_id": 2}
    assert_problem(client.put(path, json=body, headers=auth), 400)
    assert_problem(client.put(f"{API}/items/999", json={"name": "X", "price": "1"}, headers=auth), 404)


def test_deleting_an_item_needs_an_editor_of_its_store_or_an_admin(client, auth, stranger_auth, admin_auth, item):
    path = f"{API}/items/{item['id']}"
    assert_unauthorized(client.delete(path))
    assert_problem(client.delete(path, headers=stranger_auth), 403, "owner or editor role")
    response = client.delete(path, headers=admin_auth)
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(client.get(path, headers=auth), 404)
    assert_problem(client.delete(path, headers=admin_auth), 404)


def names(response):
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["data"]]


def test_list_items_filters(client, auth, store, other_store, tag):
    cheap = create(client, auth, "/items", {"name": "Pencil", "price": "0.5", "store_id": store["id"]})
    create(client, auth, "/items", {"name": "Lamp", "price": "20", "store_id": store["id"]})
    create(client, auth, "/items", {"name": "Desk lamp", "price": "90", "store_id": other_store["id"]})
    client.put(f"{API}/items/{cheap['id']}/tags/{tag['id']}", headers=auth)

    def items(query):
        return names(client.get(f"{API}/items?{query}", headers=auth))

    assert items("") == ["Pencil", "Lamp", "Desk lamp"]
    assert items(f"store_id={other_store['id']}") == ["Desk lamp"]
    assert items(f"tag_id={tag['id']}") == ["Pencil"]
    assert items("name=LAMP") == ["Lamp", "Desk lamp"]
    assert items("min_price=20") == ["Lamp", "Desk lamp"]
    assert items("max_price=20") == ["Pencil", "Lamp"]
    assert items("min_price=1&max_price=50") == ["Lamp"]
    assert items(f"name=lamp&store_id={store['id']}") == ["Lamp"]


def test_list_items_rejects_bad_filters(client, auth):
    for query in ["min_price=-1", "max_price=abc", "store_id=0", "tag_id=x", "limit=500", "foo=1"]:
        assert_problem(client.get(f"{API}/items?{query}", headers=auth), 400)
