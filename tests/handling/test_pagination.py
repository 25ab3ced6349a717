"""Cursor pagination, the same on every list."""

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import insert

from models import Item
from tests.conftest import API, assert_problem


@pytest.fixture
def many_items(db, store):
    db.execute(
        insert(Item),
        [{"name": f"item {n:03}", "price": str(n), "store_id": store["id"]} for n in range(250)],
    )
    db.commit()


def test_walking_250_items_in_pages_of_100_has_no_duplicate_or_gap(client, auth, many_items):
    seen, pages, url = [], 0, f"{API}/items?limit=100"
    while url:
        response = client.get(url, headers=auth)
        assert response.status_code == 200
        page = response.json()
        seen += [item["id"] for item in page["data"]]
        pages += 1
        if page["next_cursor"] is None:
            assert "link" not in response.headers
            url = None
        else:
            link = response.headers["link"]
            assert link.endswith('>; rel="next"')
            next_url = link[1 : link.index(">")]
            query = parse_qs(urlsplit(next_url).query)
            assert query == {"limit": ["100"], "cursor": [page["next_cursor"]]}
            url = f"{urlsplit(next_url).path}?{urlsplit(next_url).query}"
    assert pages == 3
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 250


def test_the_default_page_holds_20(client, auth, many_items):
    page = client.get(f"{API}/items", headers=auth).json()
    assert len(page["data"]) == 20 and page["next_cursor"]


def test_filters_are_kept_in_the_next_link(client, auth, store, many_items):
    response = client.get(f"{API}/items?limit=5&store_id={store['id']}&name=item", headers=auth)
    query = parse_qs(urlsplit(response.headers["link"][1:].split(">")[0]).query)
    assert query["store_id"] == [str(store["id"])] and query["name"] == ["item"]


def test_a_forged_cursor_is_400(client, auth, many_items):
    cursor = client.get(f"{API}/items?limit=10", headers=auth).json()["next_cursor"]
    payload, signature = cursor.split(".")
    forged = f"eyJhZnRlciI6MjAwfQ.{signature}"  # {"after":200} with the old signature
    assert_problem(client.get(f"{API}/items?cursor={forged}", headers=auth), 400, "cursor")
    for garbage in ["abc", "....", "eyJ9", "%00", "abc.%C3%A9"]:
        assert_problem(client.get(f"{API}/items?cursor={garbage}", headers=auth), 400)


def test_a_cursor_from_another_list_is_400(client, auth, store, many_items):
    cursor = client.get(f"{API}/items?limit=10", headers=auth).json()["next_cursor"]
    path = f"{API}/stores/{store['id']}/items?cursor={cursor}"
    assert_problem(client.get(path, headers=auth), 400, "another list")
    filtered = f"{API}/items?cursor={cursor}&name=item"
    assert_problem(client.get(filtered, headers=auth), 400, "another list")


def test_the_page_size_may_change_between_pages(client, auth, many_items):
    first = client.get(f"{API}/items?limit=10", headers=auth).json()
    second = client.get(f"{API}/items?limit=50&cursor={first['next_cursor']}", headers=auth)
    assert second.status_code == 200
    assert second.json()["data"][0]["id"] == first["data"][-1]["id"] + 1


@pytest.mark.parametrize("limit", ["0", "101", "-5", "ten"])
def test_a_limit_out_of_bounds_is_400(client, auth, limit):
    assert_problem(client.get(f"{API}/stores?limit={limit}", headers=auth), 400)


def test_every_list_is_paginated(client, auth, admin_auth, store, item, tag):
    client.put(f"{API}/items/{item['id']}/tags/{tag['id']}", headers=auth)
    for path, headers in [
        ("/stores", auth), ("/items", auth), (f"/stores/{store['id']}/items", auth),
        (f"/stores/{store['id']}/tags", auth), (f"/tags/{tag['id']}/items", auth),
        ("/users", admin_auth),
    ]:
        page = client.get(f"{API}{path}?limit=1", headers=headers).json()
        assert len(page["data"]) == 1 and "next_cursor" in page, path


def test_a_cursor_without_its_signature_is_refused_as_such(client, auth, many_items):
    cursor = client.get(f"{API}/items?limit=10", headers=auth).json()["next_cursor"]
    payload = cursor.split(".")[0]  # well-formed, as the service wrote it
    for unsigned in (payload, f"{payload}."):
        assert_problem(client.get(f"{API}/items?cursor={unsigned}", headers=auth), 400,
                       "the cursor is malformed or belongs to another list")
