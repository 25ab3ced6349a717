from sqlalchemy import select

from api.handling.conditional import check_if_match, conditional_get, with_etag
from api.handling.filters import name_contains
from api.handling.pagination import paginate
from api.handling.persistence import commit_or_409, get_or_404, missing_reference, require
from api.handling.representations import item_json, location, store_json, tag_json
from api.identity.security import token_user_gone
from api.runtime.request_context import db
from models import OWNER, WITH_TAGS, Item, Store, StoreMember, Tag

STORE_NAME_TAKEN = "a store with this name already exists"


def list_stores(user, limit, cursor=None, name=None, member=None):
    query = select(Store)
    if name is not None:
        query = query.where(name_contains(Store, name))
    if member == "me":
        query = query.where(Store.id.in_(
            select(StoreMember.store_id).where(StoreMember.user_id == user)))
    return paginate(query, Store.id, limit, cursor, store_json)


def create_store(body, user):
    # The creator is the store's first owner, in the same transaction.
    store = Store(name=body["name"])
    db().add_all([store, StoreMember(store=store, user_id=user, role=OWNER)])
    # The only key it points with is the creator's: deleted since the token
    # was checked.
    commit_or_409(STORE_NAME_TAKEN, missing=token_user_gone)
    return store_json(store), 201, location("stores", store.id)


def get_store(store_id):
    return conditional_get(store_json(get_or_404(Store, store_id, "store")))


def replace_store(store_id, body, store):
    check_if_match(store, store_json, "store")
    store.name = body["name"]
    commit_or_409(STORE_NAME_TAKEN)
    return with_etag(store_json(store))


def delete_store(store_id, store):
    check_if_match(store, store_json, "store")
    # The database cascades to the store's items, tags and their links.
    db().delete(store)
    db().commit()
    return None, 204


def list_store_items(store_id, limit, cursor=None):
    require(Store, store_id, "store")
    query = select(Item).where(Item.store_id == store_id).options(WITH_TAGS)
    return paginate(query, Item.id, limit, cursor, item_json)


def list_store_tags(store_id, limit, cursor=None):
    require(Store, store_id, "store")
    query = select(Tag).where(Tag.store_id == store_id)
    return paginate(query, Tag.id, limit, cursor, tag_json)


def create_store_tag(store_id, body):
    # The store's existence the role check has seen; a store deleted since
    # fails the foreign key.
    tag = Tag(name=body["name"], store_id=store_id)
    db().add(tag)
    commit_or_409("a tag with this name already exists in the store",
                  missing=lambda: missing_reference("store", store_id))
    return tag_json(tag), 201, location("tags", tag.id)
