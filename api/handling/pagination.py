"""Keyset pagination by id, written once for every list.

A cursor is the last id of a page, signed together with the list it belongs to
(path and filters), so that a cursor that was tampered with, or taken from
another list, is refused with 400 instead of quietly returning the wrong page.
"""

import base64
import hashlib
import hmac
import json
from urllib.parse import urlencode

from starlette.datastructures import URL

from api.contract.problems import api_problem
from api.runtime.request_context import current_scope, db, query_pairs, services

PAGING_ARGS = ("cursor", "limit")


def paginate(query, key, limit: int, cursor: str | None, render) -> tuple:
    """The page of `query` after `cursor`, ordered by `key` (a unique column)."""
    request_scope = current_scope()
    asked = query_pairs(request_scope)
    list_scope = _list_scope(request_scope, asked)
    if cursor is not None:
        query = query.where(key > decode_cursor(cursor, list_scope))
    rows = db().scalars(query.order_by(key).limit(limit + 1)).all()
    page, more = rows[:limit], len(rows) > limit
    next_cursor = encode_cursor(key_of(page[-1], key), list_scope) if more else None
    headers = ({"Link": f'<{_url_with_cursor(request_scope, asked, next_cursor)}>; rel="next"'}
               if more else {})
    return {"data": [render(row) for row in page], "next_cursor": next_cursor}, 200, headers


def key_of(row, key) -> int:
    return getattr(row, key.key)


def encode_cursor(after: int, list_scope: str) -> str:
    payload = _b64(json.dumps({"after": after}, separators=(",", ":")).encode())
    return f"{payload}.{_signature(payload, list_scope)}"


def decode_cursor(cursor: str, list_scope: str) -> int:
    payload, _, signature = cursor.partition(".")
    if not hmac.compare_digest(signature.encode(), _signature(payload, list_scope).encode()):
        raise api_problem(400, "the cursor is malformed or belongs to another list")
    after = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return int(after["after"])


def _signature(payload: str, list_scope: str) -> str:
    message = f"{list_scope}\n{payload}".encode()
    return _b64(hmac.new(services().cursor_key, message, hashlib.sha256).digest()[:16])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _list_scope(request_scope: dict, asked: list[tuple[str, str]]) -> str:
    # The routed path: a list's path holds nothing Starlette's URL would escape.
    filters = sorted((name, value) for name, value in asked if name not in PAGING_ARGS)
    return f"{request_scope['path']}?{urlencode(filters)}"


def _url_with_cursor(request_scope: dict, asked: list[tuple[str, str]], cursor: str) -> str:
    args = [(k, v) for k, v in asked if k != "cursor"]
    return str(URL(scope=request_scope).replace(query=urlencode(args + [("cursor", cursor)])))
