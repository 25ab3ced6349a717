from decimal import Decimal

from sqlalchemy import bindparam, delete, exists, func, select

from api.contract.problems import conflict, not_found, unprocessable
from api.handling.conditional import check_if_match, conditional_get, with_etag
from api.handling.filters import name_contains
from api.handling.pagination import paginate
from api.handling.persistence import (
    commit_or_409,
    get_or_404,
    insert_ignoring_duplicates,
    missing_reference,
    require,
)
from api.handling.representations import item_json, location
from api.runtime.request_context import db
from models import WITH_TAGS, Item, Tag, item_tags

ITEM_NAME_TAKEN = "an item with this name already exists in the store"
# The spec's `maxItems` of Item.tags: every page's size stays bounded.
MAX_TAGS_PER_ITEM = 20
# What a link needs to know, in one statement built once: whether the tag
# is of the item's store, how many tags the item carries, and whether this
# one already. ORM loads of the item and the tag and a second SELECT cost
# the handler as much again as its store role check.
_LINKED = (item_tags.c.item_id == bindparam("item_id"))
TAG_AND_LINKS = select(
    Tag.store_id == select(Item.store_id).where(Item.id == bindparam("item_id"))
    .scalar_subquery(),
    select(func.count()).where(_LINKED).scalar_subquery(),
    exists().where(_LINKED, item_tags.c.tag_id == Tag.id),
).where(Tag.id == bindparam("tag_id"))


def list_items(limit, cursor=None, store_id=None, tag_id=None, name=None,
               min_price=None, max_price=None):
    query = select(Item).options(WITH_TAGS)
    if store_id is not None:
        query = query.where(Item.store_id == store_id)
    if tag_id is not None:
        query = query.join(item_tags, item_tags.c.item_id == Item.id).where(
            item_tags.c.tag_id == tag_id
        )
    if name is not None:
        query = query.where(name_contains(Item, name))
    if min_price is not None:
        query = query.where(Item.price >= min_price)
    if max_price is not None:
        query = query.where(Item.price <= max_price)
    return paginate(query, Item.id, limit, cursor, item_json)


def create_item(body):
    # The store's existence the role check has read; a store deleted since
    # fails the foreign key.
    store_id = body["store_id"]
    item = Item(
        name=body["name"],
        price=Decimal(body["price"]),
        description=body.get("description"),
        store_id=store_id,
        tags=[],
    )
    db().add(item)
    commit_or_409(ITEM_NAME_TAKEN, missing=lambda: missing_reference("store", store_id))
    return item_json(item), 201, location("items", item.id)


def get_item(item_id):
    return conditional_get(item_json(get_or_404(Item, item_id, "item", WITH_TAGS)))


def replace_item(item_id, body, item):
    check_if_match(item, item_json, "item")
    item.name = body["name"]
    item.price = Decimal(body["price"])
    item.description = body.get("description")
    commit_or_409(ITEM_NAME_TAKEN)
    return with_etag(item_json(item))


def delete_item(item_id, item):
    check_if_match(item, item_json, "item")
    db().delete(item)
    db().commit()
    return None, 204


def link_item_tag(item_id, tag_id):
    # The role check has locked the item (api/policies/store_roles.py), so
    # the links of one item are made one after the other, and its tags are
    # read here, after the lock was granted.
    found = db().execute(TAG_AND_LINKS, {"item_id": item_id, "tag_id": tag_id}).first()
    if found is None:
        raise not_found("tag", tag_id)
    same_store, carried, linked = found
    if not same_store:
        raise unprocessable(f"tag {tag_id} belongs to another store than item {item_id}")
    if linked:
        return None, 204  # idempotent
    if carried >= MAX_TAGS_PER_ITEM:
        raise conflict(f"item {item_id} carries {MAX_TAGS_PER_ITEM} tags, the most an item may")
    db().execute(insert_ignoring_duplicates(item_tags).values(item_id=item_id, tag_id=tag_id))
    db().commit()
    return None, 204


def unlink_item_tag(item_id, tag_id):
    require(Tag, tag_id, "tag")  # the item's existence the role check has seen
    session = db()
    result = session.execute(
        delete(item_tags).where(
            item_tags.c.item_id == item_id, item_tags.c.tag_id == tag_id
        )
    )
    if result.rowcount == 0:
        raise not_found(f"the link of item {item_id} to tag", tag_id)
    session.commit()
    return None, 204

