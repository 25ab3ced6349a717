from sqlalchemy import select

from api.contract.problems import conflict
from api.handling.conditional import check_if_match, conditional_get
from api.handling.pagination import paginate
from api.handling.persistence import commit_or_409, get_or_404, require
from api.handling.representations import item_json, tag_json
from api.runtime.request_context import db
from models import WITH_TAGS, Item, Tag, item_tags


def get_tag(tag_id):
    return conditional_get(tag_json(get_or_404(Tag, tag_id, "tag")))


def list_tag_items(tag_id, limit, cursor=None):
    require(Tag, tag_id, "tag")
    query = (
        select(Item)
        .join(item_tags, item_tags.c.item_id == Item.id)
        .where(item_tags.c.tag_id == tag_id)
        .options(WITH_TAGS)
    )
    return paginate(query, Item.id, limit, cursor, item_json)


def delete_tag(tag_id, tag):
    check_if_match(tag, tag_json, "tag")
    in_use = f"tag {tag_id} is still carried by {{}} item(s); take it off them first"
    if tag.item_count:
        raise conflict(in_use.format(tag.item_count))
    db().delete(tag)
    # The foreign key from the links refuses the delete if an item was tagged meanwhile.
    commit_or_409(in_use.format("some"))
    return None, 204
