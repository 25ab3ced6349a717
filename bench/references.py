"""The two references the service is measured against, serving the same JSON
from the same queries: a hand-written Flask app with no validation or security
(what a Flask stack does by hand), and a bare ASGI app (the server's ceiling).

    gunicorn -w 2 -k gthread --threads 10 'bench.references:flask_app()'
    gunicorn -w 2 -k uvicorn_worker.UvicornWorker 'bench.references:asgi_app()'
"""

import json
import os
import re
from decimal import Decimal

from sqlalchemy import select

from api.representations import item_json, store_json
from models import WITH_TAGS, Database, Item, Store, item_tags

PAGE = 20


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
    rows = session.scalars(query.order_by(Item.id).limit(PAGE + 1)).all()
    return {"data": [item_json(row) for row in rows[:PAGE]],
            "next_cursor": "x" if len(rows) > PAGE else None}


def flask_app():
    from flask import Flask, abort, jsonify, request

    app, database = Flask(__name__), _database()

    @app.get("/api/v1/items/<int:item_id>")
    def get_item(item_id):
        with database.session() as session:
            return jsonify(item_by_id(session, item_id) or abort(404))

    @app.get("/api/v1/stores/<int:store_id>")
    def get_store(store_id):
        with database.session() as session:
            return jsonify(store_by_id(session, store_id) or abort(404))

    @app.get("/api/v1/items")
    def list_items():
        with database.session() as session:
            return jsonify(items_page(session, request.args))

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
                with database.session() as session:
                    body = view(session, match, query)
                status = 200 if body is not None else 404
                break
        payload = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": payload})

    return app
