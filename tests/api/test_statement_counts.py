"""No N+1: the SQL statements a request costs do not grow with its rows."""

import pytest
from sqlalchemy import insert

from models import Item, Store, Tag, item_tags
from tests.conftest import API, counting_statements


def seed(db, label: str, stores: int, items_per_store: int):
    """Stores with items, each item carrying two tags of its store; the last
    store's (store id, tag id, item id)."""
    store_ids = [db.scalar(insert(Store).values(name=f"{label} {n}").returning(Store.id))
                 for n in range(stores)]
    for store_id in store_ids:
        tag_ids = [db.scalar(insert(Tag).values(name=f"T{n}", store_id=store_id).returning(Tag.id))
                   for n in range(2)]
        item_ids = db.scalars(insert(Item).returning(Item.id), [
            {"name": f"I{n}", "price": str(n), "store_id": store_id} for n in range(items_per_store)
        ]).all()
        db.execute(insert(item_tags), [
            {"item_id": item_id, "tag_id": tag_id} for item_id in item_ids for tag_id in tag_ids
        ])
    db.commit()
    return store_id, tag_ids[0], item_ids[0]


def statements_for(client, services, auth, path: str) -> int:
    """The handler's statements. The token check's, one at most, is left out:
    on PostgreSQL the token view answers it, once it knows the user."""
    with counting_statements(services.database) as statements:
        response = client.get(f"{API}{path}", headers=auth)
    assert response.status_code == 200, response.text
    return len([s for s in statements if "revoked_tokens" not in s])


PATHS = ["/stores?limit=100", "/items?limit=100", "/stores/{store}/items?limit=100",
         "/stores/{store}/tags?limit=100", "/tags/{tag}/items?limit=100",
         "/items?limit=100&tag_id={tag}", "/stores/{store}", "/items/{item}", "/tags/{tag}"]


@pytest.mark.parametrize("template", PATHS)
def test_statements_per_request_do_not_grow_with_rows(client, services, auth, db, template):
    store, tag, item = seed(db, "few", stores=1, items_per_store=2)
    few = statements_for(client, services, auth, template.format(store=store, tag=tag, item=item))
    store, tag, item = seed(db, "many", stores=30, items_per_store=40)
    many = statements_for(client, services, auth, template.format(store=store, tag=tag, item=item))
    assert many == few
    assert few <= 3  # the parent's existence, the page, its tags


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_an_item_is_read_with_its_tags_in_one_statement_under_its_lock(
        client, services, admin_auth, db, method):
    # The row lock is held until commit: a second round trip for the tags
    # would make every other writer of the item wait that much longer.
    _store, _tag, item = seed(db, "locked", stores=1, items_per_store=1)
    body = {"name": "Replaced", "price": "1.5"} if method == "PUT" else None
    with counting_statements(services.database) as statements:
        response = client.request(method, f"{API}/items/{item}", json=body, headers=admin_auth)
    assert response.status_code == (200 if method == "PUT" else 204), response.text
    # All but the token check (SQLite has no token view: it asks the database).
    reads = [s for s in statements if s.startswith("SELECT") and "FROM users" not in s]
    assert len(reads) == 1, reads
    if method == "PUT":
        assert [tag["name"] for tag in response.json()["tags"]] == ["T0", "T1"]


@pytest.mark.parametrize("linked", [True, False], ids=["again", "new"])
def test_a_link_reads_the_tag_and_the_items_links_in_one_statement_after_its_lock(
        client, services, admin_auth, db, linked):
    store, tag, item = seed(db, "links", stores=1, items_per_store=1)
    if not linked:
        tag = db.scalar(insert(Tag).values(name="T new", store_id=store).returning(Tag.id))
        db.commit()
    with counting_statements(services.database) as statements:
        response = client.put(f"{API}/items/{item}/tags/{tag}", headers=admin_auth)
    assert response.status_code == 204, response.text
    reads = [s for s in statements if s.startswith("SELECT") and "FROM users" not in s]
    assert len(reads) == 2, reads  # the item under its lock, then what the link needs
    assert "FOR NO KEY UPDATE" in reads[0] or services.database.engine.dialect.name == "sqlite"
    writes = [s for s in statements if s.startswith("INSERT")]
    assert len(writes) == (0 if linked else 1)
