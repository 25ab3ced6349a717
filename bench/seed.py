"""Seed a benchmark data set straight into the database (bulk inserts, not the API).

Per store: items, tags, and links from every item to two tags of its store.
The full set is 1,000 stores, 100,000 items, 5,000 tags and 200,000 links.
"""

import random
from decimal import Decimal

from sqlalchemy import insert, select

from api.identity.passwords import PasswordHasher
from api.runtime.config import Settings
from models import Database, Item, Store, Tag, User, item_tags

# The bench user's password, hashed at the service's default cost.
BENCH_HASHER = PasswordHasher.from_settings(Settings.of())

CHUNK = 5_000
BENCH_USER, BENCH_PASSWORD = "bench", "bench-password"


def seed(database_url: str, stores: int = 1_000, items: int = 100_000,
         tags_per_store: int = 5, links_per_item: int = 2) -> dict:
    rng = random.Random(42)
    database = Database(database_url)
    items_per_store = max(1, items // stores)
    with database.engine.begin() as connection:
        connection.execute(insert(User), [{"username": BENCH_USER, "is_admin": True,
                                           "password_hash": BENCH_HASHER.hash(BENCH_PASSWORD)}])
        connection.execute(insert(Store), [{"name": f"Store {n:05}"} for n in range(stores)])
        store_ids = connection.scalars(select(Store.id).order_by(Store.id)).all()
        connection.execute(insert(Tag), [{"name": f"tag {t}", "store_id": store_id}
                                         for store_id in store_ids for t in range(tags_per_store)])
        rows = [{"name": f"Item {n:06}", "store_id": store_ids[n // items_per_store % stores],
                 "price": Decimal(rng.randrange(1, 100_000)) / 100, "description": None}
                for n in range(items)]
        for start in range(0, len(rows), CHUNK):
            connection.execute(insert(Item), rows[start:start + CHUNK])
        tags_of = {}
        for tag_id, store_id in connection.execute(select(Tag.id, Tag.store_id)):
            tags_of.setdefault(store_id, []).append(tag_id)
        links = [{"item_id": item_id, "tag_id": tag_id}
                 for item_id, store_id in connection.execute(select(Item.id, Item.store_id))
                 for tag_id in rng.sample(tags_of[store_id], links_per_item)]
        for start in range(0, len(links), CHUNK):
            connection.execute(insert(item_tags), links[start:start + CHUNK])
        item_id = connection.scalar(select(Item.id).order_by(Item.id).offset(items // 2))
        item_store = connection.scalar(select(Item.store_id).where(Item.id == item_id))
        sample = {
            "store_id": store_ids[len(store_ids) // 2],
            "item_id": item_id,
            "tag_id": connection.scalar(select(Tag.id).order_by(Tag.id).offset(len(tags_of))),
            # A tag of the sample item's own store, for the link scenario.
            "item_tag_id": tags_of[item_store][0],
        }
    with database.engine.begin() as connection:
        # Fresh tables have no statistics: without them the planner guesses.
        connection.exec_driver_sql("ANALYZE")
    database.dispose()
    return sample
