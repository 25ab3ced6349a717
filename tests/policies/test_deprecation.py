"""Deprecation declared in the spec (`deprecated`, `x-deprecation`) reaches
the wire with no code in the handlers: Deprecation, Sunset and a Link to the
successor, and a mark in the access log."""

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest

from openapi import load_spec
from tests.conftest import API, create

SPEC = load_spec()


def declared(path: str) -> dict:
    operation = SPEC["paths"][path]["get"]
    assert operation["deprecated"] is True
    return operation["x-deprecation"]


@pytest.mark.parametrize("path, kind, successor", [
    ("/stores/{store_id}/items", "store", "/items?store_id={id}"),
    ("/tags/{tag_id}/items", "tag", "/items?tag_id={id}"),
])
def test_deprecated_operations_name_their_sunset_and_successor(client, auth, store, path, kind,
                                                               successor, access_lines):
    tag = create(client, auth, f"/stores/{store['id']}/tags", {"name": "old"})
    id_ = store["id"] if kind == "store" else tag["id"]
    response = client.get(f"{API}{path.format(store_id=id_, tag_id=id_)}", headers=auth)
    assert response.status_code == 200  # still works until the sunset
    notice = declared(path)
    since = datetime.fromisoformat(notice["since"]).replace(tzinfo=UTC)
    assert response.headers["deprecation"] == f"@{int(since.timestamp())}"  # RFC 9745
    sunset = parsedate_to_datetime(response.headers["sunset"])  # RFC 8594: an HTTP-date
    assert sunset == datetime.fromisoformat(notice["sunset"]).replace(tzinfo=UTC)
    assert response.headers["sunset"].endswith(" 00:00:00 GMT")
    assert f'<{API}{successor.format(id=id_)}>; rel="successor-version"' in response.headers["link"]
    # The successor answers the same items.
    successor_page = client.get(f"{API}{successor.format(id=id_)}", headers=auth)
    assert successor_page.json()["data"] == response.json()["data"]
    assert successor_page.headers.get("deprecation") is None
    logged = [line for line in access_lines if line["path"].endswith("/items")]
    assert logged[0]["deprecated"] in ("listStoreItems", "listTagItems")
    assert logged[0]["user_id"] is not None  # who still calls it
    assert "deprecated" not in logged[1]


def test_a_deprecated_page_keeps_its_next_link(client, auth, store):
    for n in range(3):
        create(client, auth, "/items", {"name": f"I{n}", "price": "1", "store_id": store["id"]})
    response = client.get(f"{API}/stores/{store['id']}/items?limit=2", headers=auth)
    links = response.headers.get_list("link")
    assert any('rel="next"' in link for link in links)
    assert any('rel="successor-version"' in link for link in links)
