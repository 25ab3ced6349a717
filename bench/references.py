"""The two references the service is measured against, serving the same JSON
from the same queries: a hand-written Flask app with no validation or security
(what a Flask stack does by hand; it also makes the same writes), and a bare
ASGI app for the reads (the server's ceiling). Both read as the service does,
in autocommit on the pool of reads (`Database.read_session`).

    gunicorn -w 2 -k gthread --threads 10 'bench.references:flask_app()'
    gunicorn -w 2 -k uvicorn_worker.UvicornWorker 'bench.references:asgi_app()'
"""

import json
import os
import re
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.handling.representations import item_json, store_json
from models import LOCKED_WITH_TAGS, WITH_TAGS, Database, Item, Store, Tag, item_tags

PAGE, LARGEST_PAGE = 20, 100


def _database() -> Database:
    return Database(os.environ["DATABASE_URL"])


def item_by_id(session, item_id: int):
    item = session.get(Item, item_id, options=[WITH_TAGS])
    return item_json(item) if item else None


def store_by_id(session, store_id: int):
    store = session.get(Store, store_id)
    return store_json(store) if store else None


def items_page(session, args: dict):
    query = select(Item).options(WITH_TAGS)
    if "store_id" in args:
        query = query.where(Item.store_id == int(args["store_id"]))
    if "tag_id" in args:
        query = query.join(item_tags, item_tags.c.item_id == Item.id).where(
            item_tags.c.tag_id == int(args["tag_id"]))
    if "min_price" in args:
        query = query.where(Item.price >= Decimal(args["min_price"]))
    if "max_price" in args:
        query = query.where(Item.price <= Decimal(args["max_price"]))
    page = min(int(args.get("limit", PAGE)), LARGEST_PAGE)
    rows = session.scalars(query.order_by(Item.id).limit(page + 1)).all()
    return {"data": [item_json(row) for row in rows[:page]],
            "next_cursor": "x" if len(rows) > page else None}


# The writes, as a Flask stack does them by hand: the same statements as the
# service's handlers (the store must exist, the item is locked while it is
# replaced, a link is inserted unless it is there), with no validation.

def create_item(session, body: dict):
    if session.get(Store, body["store_id"]) is None:
        return None, 422
    item = Item(name=body["name"], price=Decimal(body["price"]),
                description=body.get("description"), store_id=body["store_id"], tags=[])
    session.add(item)
    try:
        session.commit()
    except IntegrityError:
        return None, 409
    return item_json(item), 201


def replace_item(session, item_id: int, body: dict):
    item = session.get(Item, item_id, options=[LOCKED_WITH_TAGS], with_for_update={"of": Item})
    if item is None:
        return None, 404
    item.name, item.price = body["name"], Decimal(body["price"])
    item.description = body.get("description")
    session.commit()
    return item_json(item), 200


def link_item_tag(session, item_id: int, tag_id: int):
    item, tag = session.get(Item, item_id), session.get(Tag, tag_id)
    if item is None or tag is None:
        return 404
    if tag.store_id != item.store_id:
        return 422
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(item_tags).values(item_id=item_id, tag_id=tag_id)
                    .on_conflict_do_nothing())
    session.commit()
    return 204


def flask_app():
    from flask import Flask, abort, jsonify, request

    app, database = Flask(__name__), _database()

    @app.get("/api/v1/items/<int:item_id>")
    def get_item(item_id):
        with database.read_session() as session:
            return jsonify(item_by_id(session, item_id) or abort(404))

    @app.get("/api/v1/stores/<int:store_id>")
    def get_store(store_id):
        with database.read_session() as session:
            return jsonify(store_by_id(session, store_id) or abort(404))

    @app.get("/api/v1/items")
    def list_items():
        with database.read_session() as session:
            return jsonify(items_page(session, request.args))

    @app.post("/api/v1/items")
    def post_item():
        with database.session() as session:
            body, status = create_item(session, request.get_json())
            if body is None:
                abort(status)
            return jsonify(body), 201, {"Location": f"/api/v1/items/{body['id']}"}

    @app.put("/api/v1/items/<int:item_id>")
    def put_item(item_id):
        with database.session() as session:
            body, status = replace_item(session, item_id, request.get_json())
            return jsonify(body) if body is not None else abort(status)

    @app.put("/api/v1/items/<int:item_id>/tags/<int:tag_id>")
    def put_link(item_id, tag_id):
        with database.session() as session:
            status = link_item_tag(session, item_id, tag_id)
            return ("", 204) if status == 204 else abort(status)

    return app


def asgi_app():
    from urllib.parse import parse_qsl

    database = _database()
    routes = [
        (re.compile(r"^/api/v1/items/(\d+)$"), lambda s, m, q: item_by_id(s, int(m[1]))),
        (re.compile(r"^/api/v1/stores/(\d+)$"), lambda s, m, q: store_by_id(s, int(m[1]))),
        (re.compile(r"^/api/v1/items$"), lambda s, m, q: items_page(s, q)),
    ]

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        status, body = 404, None
        for pattern, view in routes:
            if match := pattern.match(scope["path"]):
                query = dict(parse_qsl(scope["query_string"].decode()))
                with database.read_session() as session:
                    body = view(session, match, query)
                status = 200 if body is not None else 404
                break
        payload = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": payload})

    return app
